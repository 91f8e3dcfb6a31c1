/*
 * hoop as a client of the target: the connection (TCP, or a socket
 * directory for a server on the bastion), TLS through OpenSSL as the
 * target's tls mode says, and the login with the target's secret.
 *
 * What the user is told when this fails never names the host, the port,
 * the target's user or anything of the secret: the server's own error
 * text can hold the user name, so only its SQLSTATE is passed on (the
 * whole message goes to the log).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "hoop_log.h"
#include "hoop_util.h"
#include "pgwrap.h"

/* Server messages during the login are small; anything bigger is not a
 * PostgreSQL server. */
#define LOGIN_MAX_MESSAGE	(64 * 1024)

static int
wait_fd(int fd, short events, int64_t deadline_us)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = (deadline_us - pgwrap_now_us()) / 1000;
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* A non-blocking connect, bounded in time. */
static int
connect_addr(int fd, const struct sockaddr *sa, socklen_t len,
    int64_t deadline_us)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -1;
	if (wait_fd(fd, POLLOUT, deadline_us) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

static int
open_socket(const struct hoop_target *t, int64_t deadline_us, char *why,
    size_t whylen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	struct sockaddr_un sun = { 0 };
	char port[16];
	int fd = -1, saved = 0, one = 1;

	snprintf(port, sizeof(port), "%ld", t->port);
	if (t->host[0] == '/') {
		sun.sun_family = AF_UNIX;
		if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
		    "%s/.s.PGSQL.%s", t->host, port) >= sizeof(sun.sun_path)) {
			hoop_why(why, whylen, "the target's socket path is too "
			    "long");
			return -1;
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1 || connect_addr(fd,
		    (struct sockaddr *)&sun, sizeof(sun), deadline_us) == -1) {
			saved = errno;
			goto fail;
		}
		return fd;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo(t->host, port, &hints, &res) != 0) {
		hoop_why(why, whylen, "the target's host name does not "
		    "resolve");
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol)) == -1) {
			saved = errno;
			continue;
		}
		if (connect_addr(fd, ai->ai_addr, ai->ai_addrlen,
		    deadline_us) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		goto fail;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
fail:
	if (fd != -1)
		close(fd);
	hoop_why(why, whylen, "cannot reach the target (%s)",
	    strerror(saved != 0 ? saved : EIO));
	return -1;
}

ssize_t
upstream_read(struct upstream *u, void *buf, size_t n)
{
	ssize_t r;
	int e;

	if (u->ssl == NULL) {
		r = read(u->fd, buf, n);
		if (r == -1)
			return errno == EAGAIN || errno == EINTR ? -2 : -1;
		return r;
	}
	ERR_clear_error();
	r = SSL_read(u->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (r > 0)
		return r;
	e = SSL_get_error(u->ssl, (int)r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return -2;
	return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

ssize_t
upstream_write(struct upstream *u, const void *buf, size_t n)
{
	ssize_t r;
	int e;

	if (u->ssl == NULL) {
		r = write(u->fd, buf, n);
		if (r == -1)
			return errno == EAGAIN || errno == EINTR ? -2 : -1;
		return r;
	}
	ERR_clear_error();
	r = SSL_write(u->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (r > 0)
		return r;
	e = SSL_get_error(u->ssl, (int)r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -2 : -1;
}

int
upstream_pending(struct upstream *u)
{
	return u->ssl != NULL && SSL_pending(u->ssl) > 0;
}

/* All of buf, waiting as needed, by the deadline. */
static int
write_all_by(struct upstream *u, const void *buf, size_t len,
    int64_t deadline_us)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = upstream_write(u, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n != -2 || wait_fd(u->fd, POLLOUT | POLLIN, deadline_us) !=
		    1)
			return -1;
	}
	return 0;
}

static int
send_buf(struct upstream *u, struct hoop_pg_buf *b, int64_t deadline_us)
{
	int r = write_all_by(u, b->data, b->len, deadline_us);

	/* What was sent may be a password answer. */
	hoop_pg_buf_wipe(b);
	return r;
}

/* The next whole message into in (startup answers are single bytes and
 * read apart). 1, or 0 on end of stream / time out / refusal. */
static int
read_message(struct upstream *u, struct hoop_pg_buf *in, size_t *pending,
    struct hoop_pg_msg *m, int64_t deadline_us, char *why, size_t whylen)
{
	size_t need = 0;
	ssize_t n;
	int rc;

	hoop_pg_buf_consume(in, *pending);
	*pending = 0;
	for (;;) {
		rc = hoop_pg_frame(in->data, in->len, LOGIN_MAX_MESSAGE, m,
		    &need, why, whylen);
		if (rc == HOOP_PG_FRAME_OK) {
			*pending = m->size;
			return 1;
		}
		if (rc == HOOP_PG_FRAME_ERROR)
			return 0;
		if (hoop_pg_buf_reserve(in, need > in->len ? need - in->len :
		    4096) != HOOP_OK) {
			hoop_why(why, whylen, "out of memory");
			return 0;
		}
		n = upstream_read(u, in->data + in->len, in->cap - in->len);
		if (n > 0) {
			in->len += (size_t)n;
			continue;
		}
		if (n == -2 && wait_fd(u->fd, POLLIN, deadline_us) == 1)
			continue;
		hoop_why(why, whylen, n == -2 ? "the target did not answer in "
		    "time" : "the target closed the connection");
		return 0;
	}
}

/* ---- TLS ---- */

static int
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

static void
tls_error(char *why, size_t whylen, const char *what, SSL *ssl)
{
	unsigned long e = ERR_peek_last_error();
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (vr != X509_V_OK)
		hoop_why(why, whylen, "%s: the target's certificate is not "
		    "trusted (%s)", what, X509_verify_cert_error_string(vr));
	else
		hoop_why(why, whylen, "%s: %s", what, e != 0 ?
		    ERR_reason_error_string(e) : "TLS failed");
}

/* SSLRequest, 'S', then the handshake with the checks of the target's
 * mode. A socket directory never has TLS (the server offers none). */
static int
start_tls(const struct hoop_target *t, struct upstream *u, int64_t deadline_us,
    char *why, size_t whylen)
{
	struct hoop_pg_buf b = { 0 };
	unsigned char answer;
	ssize_t n;
	int r, verify = t->tls == HOOP_TLS_VERIFY_FULL || t->ca_file != NULL;

	if (hoop_pg_put_request(&b, HOOP_PG_SSL_CODE) != HOOP_OK ||
	    send_buf(u, &b, deadline_us) == -1) {
		hoop_pg_buf_free(&b);
		hoop_why(why, whylen, "cannot reach the target (write failed)");
		return -1;
	}
	hoop_pg_buf_free(&b);
	/* One byte, read alone: anything after it belongs to TLS. */
	for (;;) {
		n = read(u->fd, &answer, 1);
		if (n == 1)
			break;
		if (n == -1 && (errno == EAGAIN || errno == EINTR) &&
		    wait_fd(u->fd, POLLIN, deadline_us) == 1)
			continue;
		hoop_why(why, whylen, "the target closed the connection during "
		    "TLS negotiation");
		return -1;
	}
	if (answer != 'S') {
		hoop_why(why, whylen, "the target does not offer TLS, which "
		    "its tls mode requires");
		return -1;
	}
	if ((u->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(u->ctx, TLS1_2_VERSION) != 1) {
		tls_error(why, whylen, "TLS set-up", NULL);
		return -1;
	}
	SSL_CTX_set_mode(u->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (verify) {
		r = t->ca_file != NULL ? SSL_CTX_load_verify_locations(u->ctx,
		    t->ca_file, NULL) : SSL_CTX_set_default_verify_paths(u->ctx);
		if (r != 1) {
			tls_error(why, whylen, "cannot load the target's CA "
			    "file", NULL);
			return -1;
		}
		SSL_CTX_set_verify(u->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(u->ctx, SSL_VERIFY_NONE, NULL);
	}
	if ((u->ssl = SSL_new(u->ctx)) == NULL ||
	    SSL_set_fd(u->ssl, u->fd) != 1) {
		tls_error(why, whylen, "TLS set-up", NULL);
		return -1;
	}
	if (t->tls == HOOP_TLS_VERIFY_FULL) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(u->ssl);

		if (is_ip_literal(t->host)) {
			r = X509_VERIFY_PARAM_set1_ip_asc(vp, t->host);
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			r = SSL_set1_host(u->ssl, t->host) == 1 &&
			    SSL_set_tlsext_host_name(u->ssl, t->host) == 1;
		}
		if (r != 1) {
			tls_error(why, whylen, "TLS set-up", NULL);
			return -1;
		}
	}
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(u->ssl);
		if (r == 1)
			return 0;
		n = SSL_get_error(u->ssl, r);
		if ((n == SSL_ERROR_WANT_READ || n == SSL_ERROR_WANT_WRITE) &&
		    wait_fd(u->fd, n == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline_us) == 1)
			continue;
		tls_error(why, whylen, "TLS handshake with the target failed",
		    u->ssl);
		return -1;
	}
}

/* ---- Login ---- */

struct login {
	const struct hoop_target *t;
	const char *secret;
	hoop_pg_scram_client_t *scram;
	int verified, authed;
};

static int
need_secret(struct login *l, char *why, size_t whylen)
{
	if (l->secret != NULL)
		return 0;
	hoop_why(why, whylen, "the target asks for a password and none is "
	    "configured (secret_file)");
	return -1;
}

/* One authentication request answered; 1 when AuthenticationOk came. */
static int
answer_auth(struct upstream *u, struct login *l, const struct hoop_pg_auth *a,
    int64_t deadline_us, char *why, size_t whylen)
{
	char md5[HOOP_PG_MD5_ANSWER_LEN + 1];
	struct hoop_pg_buf b = { 0 };
	const char *out;
	size_t outlen;
	hoop_err_t err = HOOP_ERR_INVAL;
	int ret = -1;

	if (l->authed) {
		hoop_why(why, whylen, "the target asked for authentication "
		    "twice");
		return -1;
	}
	switch (a->code) {
	case HOOP_PG_AUTH_OK:
		/* SCRAM proves the server too: Ok before that is refused. */
		if (l->scram != NULL && !l->verified) {
			hoop_why(why, whylen, "the target did not prove it "
			    "knows the password (SCRAM)");
			return -1;
		}
		l->authed = 1;
		return 1;
	case HOOP_PG_AUTH_CLEARTEXT:
		if (u->ssl == NULL) {
			hoop_why(why, whylen, "the target asks for a cleartext "
			    "password without TLS: refused");
			return -1;
		}
		if (need_secret(l, why, whylen) == -1)
			return -1;
		err = hoop_pg_put_password(&b, l->secret);
		break;
	case HOOP_PG_AUTH_MD5:
		if (need_secret(l, why, whylen) == -1)
			return -1;
		err = hoop_pg_md5_password(l->t->user, l->secret, a->salt, md5);
		if (err == HOOP_OK)
			err = hoop_pg_put_password(&b, md5);
		explicit_bzero(md5, sizeof(md5));
		break;
	case HOOP_PG_AUTH_SASL:
		if (need_secret(l, why, whylen) == -1)
			return -1;
		if (l->scram != NULL ||
		    !hoop_pg_auth_has_mechanism(a, HOOP_PG_SCRAM_MECHANISM)) {
			hoop_why(why, whylen, "the target offers no SASL "
			    "mechanism hoop speaks (SCRAM-SHA-256)");
			return -1;
		}
		if (hoop_pg_scram_client_create(l->secret, &l->scram, why,
		    whylen) != HOOP_OK)
			return -1;
		err = hoop_pg_scram_client_first(l->scram, &out, &outlen);
		if (err == HOOP_OK)
			err = hoop_pg_put_sasl_initial(&b,
			    HOOP_PG_SCRAM_MECHANISM, out, outlen);
		break;
	case HOOP_PG_AUTH_SASL_CONTINUE:
		if (l->scram == NULL) {
			hoop_why(why, whylen, "SASLContinue out of order");
			return -1;
		}
		if (hoop_pg_scram_client_final(l->scram, a->data, a->data_len,
		    &out, &outlen, why, whylen) != HOOP_OK)
			return -1;
		err = hoop_pg_put_sasl_response(&b, out, outlen);
		break;
	case HOOP_PG_AUTH_SASL_FINAL:
		if (l->scram == NULL || hoop_pg_scram_client_verify(l->scram,
		    a->data, a->data_len, why, whylen) != HOOP_OK) {
			if (l->scram == NULL)
				hoop_why(why, whylen, "SASLFinal out of order");
			return -1;
		}
		l->verified = 1;
		return 0;
	default:
		hoop_why(why, whylen, "the target asks for an authentication "
		    "method hoop does not speak (%u)", a->code);
		return -1;
	}
	if (err != HOOP_OK) {
		hoop_why(why, whylen, "cannot answer the target's "
		    "authentication (%s)", hoop_strerror(err));
		goto out;
	}
	if (send_buf(u, &b, deadline_us) == -1) {
		hoop_why(why, whylen, "the target closed the connection");
		goto out;
	}
	ret = 0;
out:
	hoop_pg_buf_free(&b);
	return ret;
}

/* An ErrorResponse during the login: the SQLSTATE for the user, the
 * whole message for the log. */
static void
login_error(const struct hoop_target *t, const struct hoop_pg_msg *m,
    char sqlstate[6], char *why, size_t whylen)
{
	struct hoop_pg_notice n;
	char w[128];
	const char *code;

	if (hoop_pg_parse_notice(m, &n, w, sizeof(w)) != HOOP_OK) {
		hoop_why(why, whylen, "the target sent a malformed error");
		return;
	}
	code = n.field['C'];
	hoop_log(LOG_WARNING, "target %s refused the login: %s: %s", t->name,
	    code, n.field['M']);
	if (strlen(code) == 5)
		memcpy(sqlstate, code, 6);
	if (strcmp(code, "28P01") == 0 || strcmp(code, "28000") == 0)
		hoop_why(why, whylen, "the target refused hoop's credentials "
		    "(SQLSTATE %s): its secret or access rules are wrong; tell "
		    "an administrator", code);
	else if (strcmp(code, "57P03") == 0 || strcmp(code, "53300") == 0)
		hoop_why(why, whylen, "the target cannot take the connection "
		    "now (SQLSTATE %s)", code);
	else if (strcmp(code, "3D000") == 0)
		hoop_why(why, whylen, "the target's database does not exist "
		    "(SQLSTATE %s); tell an administrator", code);
	else
		hoop_why(why, whylen, "the target refused the login "
		    "(SQLSTATE %s)", code);
}

hoop_err_t
upstream_open(const struct hoop_target *t, const char *secret,
    const struct upstream_params *p, int timeout_ms, struct upstream *u,
    char sqlstate[6], char *why, size_t whylen)
{
	struct hoop_pg_param sp[16];
	struct hoop_pg_buf b = { 0 }, in = { 0 };
	struct login l = { .t = t, .secret = secret };
	struct hoop_pg_auth a;
	struct hoop_pg_msg m;
	int64_t deadline = pgwrap_now_us() + (int64_t)timeout_ms * 1000;
	size_t nsp = 0, i, pending = 0;
	hoop_err_t ret = HOOP_ERR_IO;
	char w[256], status;
	int r;

	memset(u, 0, sizeof(*u));
	memcpy(sqlstate, "08006", 6);
	if ((u->fd = open_socket(t, deadline, why, whylen)) == -1) {
		memcpy(sqlstate, "08001", 6);
		return HOOP_ERR_IO;
	}
	if (t->host[0] != '/' && t->tls != HOOP_TLS_DISABLE &&
	    start_tls(t, u, deadline, why, whylen) == -1) {
		memcpy(sqlstate, "08001", 6);
		goto out;
	}
	sp[nsp++] = (struct hoop_pg_param){ "user", t->user };
	sp[nsp++] = (struct hoop_pg_param){ "database", t->database != NULL ?
	    t->database : t->user };
	sp[nsp++] = (struct hoop_pg_param){ "client_encoding",
	    p->client_encoding };
	if (p->application_name != NULL)
		sp[nsp++] = (struct hoop_pg_param){ "application_name",
		    p->application_name };
	for (i = 0; i + 1 < p->n_extra * 2 && nsp < 16; i += 2)
		sp[nsp++] = (struct hoop_pg_param){ p->extra[i],
		    p->extra[i + 1] };
	if (hoop_pg_put_startup(&b, sp, nsp) != HOOP_OK ||
	    send_buf(u, &b, deadline) == -1) {
		hoop_why(why, whylen, "the target closed the connection");
		goto out;
	}
	for (;;) {
		if (!read_message(u, &in, &pending, &m, deadline, why, whylen))
			goto out;
		switch (m.type) {
		case HOOP_PG_B_AUTH:
			if (hoop_pg_parse_auth(&m, &a, w, sizeof(w)) != HOOP_OK) {
				hoop_why(why, whylen, "the target sent a "
				    "malformed authentication request");
				goto out;
			}
			r = answer_auth(u, &l, &a, deadline, why, whylen);
			if (r == -1) {
				memcpy(sqlstate, "28000", 6);
				goto out;
			}
			break;
		case HOOP_PG_B_ERROR:
			login_error(t, &m, sqlstate, why, whylen);
			goto out;
		case HOOP_PG_B_NOTICE:
			break;
		case HOOP_PG_B_PARAMETER_STATUS:
			if (!l.authed || hoop_pg_put_message(&u->params, m.type,
			    m.body, m.len) != HOOP_OK) {
				hoop_why(why, whylen, "unexpected parameter "
				    "from the target");
				goto out;
			}
			break;
		case HOOP_PG_B_BACKEND_KEY:
			if (!l.authed || hoop_pg_parse_backend_key(&m, &u->pid,
			    &u->secret, w, sizeof(w)) != HOOP_OK) {
				hoop_why(why, whylen, "malformed backend key "
				    "from the target");
				goto out;
			}
			break;
		case HOOP_PG_B_READY:
			if (!l.authed || hoop_pg_parse_ready(&m, &status, w,
			    sizeof(w)) != HOOP_OK) {
				hoop_why(why, whylen, "the target was ready "
				    "before the login ended");
				goto out;
			}
			if (in.len != pending) {
				hoop_why(why, whylen, "the target sent more "
				    "than a login");
				goto out;
			}
			ret = HOOP_OK;
			goto out;
		default:
			hoop_why(why, whylen, "unexpected message '%c' from "
			    "the target during the login", m.type >= 0x20 &&
			    m.type < 0x7f ? m.type : '?');
			goto out;
		}
	}
out:
	hoop_pg_scram_client_free(l.scram);
	hoop_pg_buf_free(&b);
	hoop_pg_buf_free(&in);
	if (ret != HOOP_OK)
		upstream_close(u);
	return ret;
}

hoop_err_t
upstream_query(struct upstream *u, const char *sql, int timeout_ms,
    int (*row)(void *arg, const struct hoop_pg_msg *m), void *arg,
    char *why, size_t whylen)
{
	struct hoop_pg_buf b = { 0 }, in = { 0 };
	struct hoop_pg_notice n;
	struct hoop_pg_msg m;
	int64_t deadline = pgwrap_now_us() + (int64_t)timeout_ms * 1000;
	size_t pending = 0;
	hoop_err_t ret = HOOP_ERR_IO, err = HOOP_OK;
	char w[128];

	if (hoop_pg_put_query(&b, sql) != HOOP_OK ||
	    write_all_by(u, b.data, b.len, deadline) == -1) {
		hoop_why(why, whylen, "cannot send the lookup");
		goto out;
	}
	for (;;) {
		if (!read_message(u, &in, &pending, &m, deadline, why, whylen))
			goto out;
		switch (m.type) {
		case HOOP_PG_B_DATA_ROW:
			if (err == HOOP_OK && row(arg, &m) == -1) {
				hoop_why(why, whylen, "an unexpected answer to "
				    "the lookup");
				err = HOOP_ERR_INVAL;
			}
			break;
		case HOOP_PG_B_ERROR:
			if (hoop_pg_parse_notice(&m, &n, w, sizeof(w)) ==
			    HOOP_OK)
				hoop_log(LOG_WARNING, "catalog lookup: %s: %s",
				    n.field['C'], n.field['M']);
			hoop_why(why, whylen, "the catalog lookup failed");
			err = HOOP_ERR_INVAL;
			break;
		case HOOP_PG_B_READY:
			ret = err;
			goto out;
		case HOOP_PG_B_ROW_DESCRIPTION:
		case HOOP_PG_B_COMMAND_COMPLETE:
		case HOOP_PG_B_NOTICE:
		case HOOP_PG_B_PARAMETER_STATUS:
			break;
		default:
			hoop_why(why, whylen, "an unexpected message from the "
			    "target during a lookup");
			goto out;
		}
	}
out:
	hoop_pg_buf_free(&b);
	hoop_pg_buf_free(&in);
	return ret;
}

void
upstream_close(struct upstream *u)
{
	if (u->ssl != NULL) {
		(void)SSL_shutdown(u->ssl);
		SSL_free(u->ssl);
	}
	SSL_CTX_free(u->ctx);
	if (u->fd > 0)
		close(u->fd);
	hoop_pg_buf_free(&u->params);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

void
upstream_cancel(const struct hoop_target *t, uint32_t pid, uint32_t secret)
{
	struct upstream u = { 0 };
	struct hoop_pg_buf b = { 0 };
	int64_t deadline = pgwrap_now_us() + 5 * 1000000;
	char why[128], c;

	/* The server reads a CancelRequest before any TLS, and answers
	 * nothing. */
	if ((u.fd = open_socket(t, deadline, why, sizeof(why))) == -1) {
		hoop_log(LOG_WARNING, "cancel for target %s: %s", t->name, why);
		return;
	}
	if (hoop_pg_put_cancel(&b, pid, secret) == HOOP_OK &&
	    write_all_by(&u, b.data, b.len, deadline) == 0)
		while (wait_fd(u.fd, POLLIN, deadline) == 1 &&
		    read(u.fd, &c, 1) > 0)
			;
	hoop_pg_buf_free(&b);
	close(u.fd);
}
