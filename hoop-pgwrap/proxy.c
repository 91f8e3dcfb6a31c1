/*
 * The proxy: a PostgreSQL server to psql on the private socket, a client
 * of the target, and one poll loop relaying between them.
 *
 * To psql: SSLRequest and GSSENCRequest are answered 'N' (the socket is
 * private), the login is SCRAM-SHA-256 with the one-time password, only
 * a few harmless startup parameters pass (options and replication never:
 * they would set server options or open a replication session that no
 * statement policy sees), and psql gets a backend key of hoop's own: a
 * CancelRequest with it is passed to the target with the target's key.
 *
 * Order of answers: hoop answers some messages itself (refusals). Such an
 * answer waits in a queue until the server has answered everything sent
 * before it, counted in ReadyForQuery messages (the server sends exactly
 * one per Query, FunctionCall and Sync), so the client sees answers in
 * the order it asked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hoop_log.h"
#include "hoop_util.h"
#include "pgwrap.h"

#define STARTUP_TIMEOUT_US	(30 * 1000000LL)
#define UPSTREAM_TIMEOUT_MS	15000
#define READ_CHUNK		(64 * 1024)
/* After psql exits, how long other connections may stay. */
#define CHILD_GRACE_US		(2 * 1000000LL)
/* Failed logins a pg_dump run may make before the socket refuses all. */
#define MAX_AUTH_FAILURES	3

int64_t
pgwrap_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- Answers of hoop's own, in order ---- */

static void
flush_local(struct pgwrap_conn *c)
{
	struct pgwrap_local *l;
	hoop_err_t err = HOOP_OK;

	while ((l = c->local_head) != NULL && l->after_z <= c->z_seen) {
		if (l->bytes.len > 0)
			err = hoop_pg_buf_reserve(&c->cout, l->bytes.len);
		if (err == HOOP_OK && l->bytes.len > 0) {
			memcpy(c->cout.data + c->cout.len, l->bytes.data,
			    l->bytes.len);
			c->cout.len += l->bytes.len;
		}
		if (err == HOOP_OK && l->ready)
			err = hoop_pg_put_ready(&c->cout, c->status);
		if (err != HOOP_OK)
			c->state = CONN_CLOSING;
		c->local_head = l->next;
		if (c->local_head == NULL)
			c->local_tail = NULL;
		hoop_pg_buf_free(&l->bytes);
		free(l);
	}
}

static struct pgwrap_local *
local_new(struct pgwrap_conn *c)
{
	struct pgwrap_local *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->after_z = c->z_expected;
	if (c->local_tail != NULL)
		c->local_tail->next = l;
	else
		c->local_head = l;
	c->local_tail = l;
	return l;
}

int
pgwrap_local_error(struct pgwrap_conn *c, const char *severity,
    const char *sqlstate, const char *message, const char *detail,
    const char *hint, int ready)
{
	struct pgwrap_local *l;

	if ((l = local_new(c)) == NULL)
		return -1;
	l->ready = ready;
	if (hoop_pg_put_error(&l->bytes, severity, sqlstate, message, detail,
	    hint) != HOOP_OK)
		return -1;
	flush_local(c);
	return 0;
}

int
pgwrap_local_ready(struct pgwrap_conn *c)
{
	struct pgwrap_local *l;

	if ((l = local_new(c)) == NULL)
		return -1;
	l->ready = 1;
	flush_local(c);
	return 0;
}

void
pgwrap_conn_fatal(struct pgwrap *pw, struct pgwrap_conn *c,
    const char *sqlstate, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(void)pw;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hoop_log(LOG_NOTICE, "target %s: ending a connection: %s",
	    pw->target->name, msg);
	(void)hoop_pg_put_error(&c->cout, "FATAL", sqlstate, msg, NULL, NULL);
	c->state = CONN_CLOSING;
}

/* ---- Connections ---- */

static void
conn_free(struct pgwrap *pw, struct pgwrap_conn *c)
{
	struct pgwrap_local *l;
	size_t i;

	/* Its last results are on record before it is gone (a failure
	 * ends the other connections whose results were lost too). */
	(void)pgwrap_audit_flush(pw);
	if (c->up_open) {
		/* Tell the server the session is over. */
		struct hoop_pg_buf t = { 0 };

		if (hoop_pg_put_empty(&t, HOOP_PG_F_TERMINATE) == HOOP_OK)
			(void)upstream_write(&c->up, t.data, t.len);
		hoop_pg_buf_free(&t);
		upstream_close(&c->up);
	}
	if (c->cfd != -1)
		close(c->cfd);
	hoop_pg_buf_free(&c->cin);
	hoop_pg_buf_free(&c->cout);
	hoop_pg_buf_free(&c->sin);
	hoop_pg_buf_free(&c->sout);
	while ((l = c->local_head) != NULL) {
		c->local_head = l->next;
		hoop_pg_buf_free(&l->bytes);
		free(l);
	}
	pgwrap_conn_forget(c);
	pgwrap_expect_clear(c);
	hoop_mask_plan_free(c->plan);
	hoop_pg_row_description_release(&c->rd);
	hoop_pg_buf_free(&c->mbuf);
	for (i = 0; i < c->n_poison; i++)
		free(c->poison[i].msg);
	hoop_pg_scram_server_free(c->scram);
	memset(c, 0, sizeof(*c));
	c->cfd = -1;
}

static int
conn_count(struct pgwrap *pw)
{
	int i, n = 0;

	for (i = 0; i < PGWRAP_MAX_CONNS; i++)
		n += pw->conns[i].used;
	return n;
}

static void
accept_one(struct pgwrap *pw)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct pgwrap_conn *c = NULL;
	int fd, i;

	fd = accept4(pw->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1)
		return;
	/* Only the user's own processes (the directory is theirs and 0700;
	 * this holds even if they loosen it). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != getuid()) {
		close(fd);
		return;
	}
	for (i = 0; i < PGWRAP_MAX_CONNS; i++)
		if (!pw->conns[i].used) {
			c = &pw->conns[i];
			break;
		}
	if (c == NULL) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->cfd = fd;
	c->up.fd = -1;
	c->state = CONN_STARTUP;
	c->status = 'I';
	c->deadline_us = pgwrap_now_us() + STARTUP_TIMEOUT_US;
}

/* Is this encoding one the parser reads as the server does? */
static const char *
safe_encoding(const char *v)
{
	char norm[32];
	size_t i, n = 0;

	for (i = 0; v[i] != '\0' && n + 1 < sizeof(norm); i++)
		if (v[i] != '-' && v[i] != '_')
			norm[n++] = v[i];
	norm[n] = '\0';
	if (strcasecmp(norm, "UTF8") == 0 || strcasecmp(norm, "UNICODE") == 0)
		return "UTF8";
	if (strcasecmp(norm, "SQLASCII") == 0)
		return "SQL_ASCII";
	return NULL;
}

static int
printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * A server parameter hoop must agree on with the server: the parser
 * reads statements with standard conforming strings and in an
 * ASCII-safe encoding. NULL if fine, else why the session must end.
 */
static const char *
check_parameter(const char *name, const char *value)
{
	if (strcasecmp(name, "standard_conforming_strings") == 0 &&
	    strcmp(value, "on") != 0)
		return "the target reports standard_conforming_strings off: "
		    "hoop would read statements differently from the server";
	if (strcasecmp(name, "client_encoding") == 0 &&
	    safe_encoding(value) == NULL)
		return "the target reports a client_encoding other than UTF8 "
		    "or SQL_ASCII: hoop would read statements differently "
		    "from the server";
	return NULL;
}

static void
refuse_startup(struct pgwrap *pw, struct pgwrap_conn *c, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse_startup(struct pgwrap *pw, struct pgwrap_conn *c, const char *code,
    const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)pgwrap_audit(pw, "connect", "deny", NULL, msg, NULL, NULL);
	pgwrap_conn_fatal(pw, c, code, "hoop: %s", msg);
}

/* A CancelRequest: passed on with the target's key if the key is one of
 * ours and the server is busy with something of that connection. */
static void
on_cancel(struct pgwrap *pw, const struct hoop_pg_startup *st)
{
	struct pgwrap_conn *c;
	int i, match;

	for (i = 0; i < PGWRAP_MAX_CONNS; i++) {
		c = &pw->conns[i];
		if (!c->used || c->state != CONN_READY)
			continue;
		match = (CRYPTO_memcmp(&c->key_pid, &st->pid, 4) == 0) &
		    (CRYPTO_memcmp(&c->key_secret, &st->secret, 4) == 0);
		if (match && c->z_expected > c->z_seen) {
			upstream_cancel(pw->target, c->up.pid, c->up.secret);
			return;
		}
	}
}

static int
negotiate_version(struct pgwrap_conn *c, const struct hoop_pg_startup *st)
{
	struct hoop_pg_buf body = { 0 };
	uint32_t n = 0, v;
	size_t i;
	int ret = -1;

	for (i = 0; i < st->nparams; i++)
		n += strncmp(st->params[i].name, "_pq_.", 5) == 0;
	if ((st->version & 0xffff) == 0 && n == 0)
		return 0;
	if (hoop_pg_buf_reserve(&body, 8) != HOOP_OK)
		goto out;
	v = htonl(0);
	memcpy(body.data, &v, 4);
	v = htonl(n);
	memcpy(body.data + 4, &v, 4);
	body.len = 8;
	for (i = 0; i < st->nparams; i++) {
		size_t len = strlen(st->params[i].name) + 1;

		if (strncmp(st->params[i].name, "_pq_.", 5) != 0)
			continue;
		if (hoop_pg_buf_reserve(&body, len) != HOOP_OK)
			goto out;
		memcpy(body.data + body.len, st->params[i].name, len);
		body.len += len;
	}
	if (hoop_pg_put_message(&c->cout, HOOP_PG_B_NEGOTIATE_VERSION,
	    body.data, body.len) != HOOP_OK)
		goto out;
	ret = 0;
out:
	hoop_pg_buf_free(&body);
	return ret;
}

/* The StartupMessage: parameters checked, then SCRAM begins. */
static void
on_startup_message(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_startup *st)
{
	static const char *const keep[] = { "datestyle", "timezone",
	    "intervalstyle", "extra_float_digits" };
	static const char *const mechs[] = { HOOP_PG_SCRAM_MECHANISM };
	const char *name, *value, *enc;
	char why[256];
	size_t i, k;

	if (pw->client == PGWRAP_PSQL && pw->otp_used) {
		refuse_startup(pw, c, "53300", "this psql already has its "
		    "connection to %s (one per run)", pw->target->name);
		return;
	}
	if (pw->auth_failures >= MAX_AUTH_FAILURES) {
		refuse_startup(pw, c, "28000", "too many failed logins on this "
		    "proxy");
		return;
	}
	snprintf(c->client_encoding, sizeof(c->client_encoding), "UTF8");
	for (i = 0; i < st->nparams; i++) {
		name = st->params[i].name;
		value = st->params[i].value;
		if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0 ||
		    strncmp(name, "_pq_.", 5) == 0)
			continue;
		if (strcmp(name, "options") == 0 ||
		    strcmp(name, "replication") == 0) {
			refuse_startup(pw, c, "42501", "the startup parameter "
			    "\"%s\" is not allowed (it would reach past "
			    "statement policy)", name);
			return;
		}
		if (strcasecmp(name, "client_encoding") == 0) {
			if ((enc = safe_encoding(value)) == NULL) {
				refuse_startup(pw, c, "42501", "client_encoding "
				    "\"%.32s\" is not allowed: use UTF8 (a "
				    "UTF-8 locale)", value);
				return;
			}
			snprintf(c->client_encoding,
			    sizeof(c->client_encoding), "%s", enc);
			continue;
		}
		if (!printable(value, 63)) {
			refuse_startup(pw, c, "42501", "the startup parameter "
			    "\"%.32s\" has a value that is too long or not "
			    "printable", name);
			return;
		}
		if (strcasecmp(name, "application_name") == 0) {
			snprintf(c->app_name, sizeof(c->app_name), "%s", value);
			continue;
		}
		for (k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (strcasecmp(name, keep[k]) == 0)
				break;
		if (k == sizeof(keep) / sizeof(keep[0]) || c->n_extra == 4) {
			refuse_startup(pw, c, "42501", "the startup parameter "
			    "\"%.32s\" is not allowed", name);
			return;
		}
		snprintf(c->extra[c->n_extra][0], 64, "%s", keep[k]);
		snprintf(c->extra[c->n_extra][1], 64, "%s", value);
		c->n_extra++;
	}
	if (negotiate_version(c, st) == -1 ||
	    hoop_pg_scram_server_create(pw->otp, 0, &c->scram, why,
	    sizeof(why)) != HOOP_OK ||
	    hoop_pg_put_auth_sasl(&c->cout, mechs, 1) != HOOP_OK) {
		pgwrap_conn_fatal(pw, c, "XX000", "hoop: cannot start the "
		    "login");
		return;
	}
	/* psql's one password: one try, whatever its outcome. */
	if (pw->client == PGWRAP_PSQL) {
		pw->otp_used = 1;
		(void)unlinkat(pw->dir_fd, "pgpass", 0);
	}
	c->auth_step = 1;
}

/* Logged in with psql: the target's login, then psql's
 * AuthenticationOk, the target's parameters and our key. */
static void
finish_login(struct pgwrap *pw, struct pgwrap_conn *c, const char *final,
    size_t final_len)
{
	struct upstream_params up = { 0 };
	const char *extra[8];
	struct hoop_pg_param ps;
	struct hoop_pg_msg m;
	char why[256], sqlstate[6], w[128], detail[160];
	const char *bad;
	unsigned char key[8];
	size_t i, off;
	hoop_err_t err;

	for (i = 0; i < c->n_extra; i++) {
		extra[2 * i] = c->extra[i][0];
		extra[2 * i + 1] = c->extra[i][1];
	}
	up.application_name = c->app_name[0] ? c->app_name : NULL;
	up.client_encoding = c->client_encoding;
	up.extra = extra;
	up.n_extra = c->n_extra;
	err = upstream_open(pw->target, pw->secret, &up, UPSTREAM_TIMEOUT_MS,
	    &c->up, sqlstate, why, sizeof(why));
	snprintf(detail, sizeof(detail), "{\"client\":\"%s\"}",
	    pw->client == PGWRAP_PSQL ? "psql" : "pg_dump");
	if (err != HOOP_OK) {
		c->up.fd = -1;
		hoop_log(LOG_WARNING, "target %s: %s", pw->target->name, why);
		(void)pgwrap_audit(pw, "connect", "error", NULL, why, detail,
		    NULL);
		pgwrap_conn_fatal(pw, c, sqlstate, "hoop: target %s: %s",
		    pw->target->name, why);
		return;
	}
	c->up_open = 1;
	/* The server's parameters, checked before anything runs. */
	for (off = 0; off < c->up.params.len; off += m.size) {
		if (hoop_pg_frame(c->up.params.data + off, c->up.params.len -
		    off, 0, &m, NULL, w, sizeof(w)) != HOOP_PG_FRAME_OK ||
		    hoop_pg_parse_parameter_status(&m, &ps, w, sizeof(w)) !=
		    HOOP_OK) {
			pgwrap_conn_fatal(pw, c, "08P01", "hoop: malformed "
			    "parameter from the target");
			return;
		}
		if ((bad = check_parameter(ps.name, ps.value)) != NULL) {
			(void)pgwrap_audit(pw, "connect", "deny", NULL, bad,
			    detail, NULL);
			pgwrap_conn_fatal(pw, c, "42501", "hoop: %s", bad);
			return;
		}
	}
	if (pgwrap_audit(pw, "connect", "allow", NULL, "connected", detail,
	    NULL) != 0) {
		pgwrap_conn_fatal(pw, c, "58000", "hoop: cannot write the "
		    "audit log: refusing the connection");
		return;
	}
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		pgwrap_conn_fatal(pw, c, "XX000", "hoop: no randomness");
		return;
	}
	memcpy(&c->key_pid, key, 4);
	memcpy(&c->key_secret, key + 4, 4);
	c->key_pid = (c->key_pid & 0x3fffffff) | 1;
	if (hoop_pg_put_auth_data(&c->cout, HOOP_PG_AUTH_SASL_FINAL, final,
	    final_len) != HOOP_OK ||
	    hoop_pg_put_auth(&c->cout, HOOP_PG_AUTH_OK) != HOOP_OK ||
	    hoop_pg_buf_reserve(&c->cout, c->up.params.len) != HOOP_OK) {
		c->state = CONN_CLOSING;
		return;
	}
	memcpy(c->cout.data + c->cout.len, c->up.params.data,
	    c->up.params.len);
	c->cout.len += c->up.params.len;
	if (hoop_pg_put_backend_key(&c->cout, c->key_pid, c->key_secret) !=
	    HOOP_OK || hoop_pg_put_ready(&c->cout, 'I') != HOOP_OK) {
		c->state = CONN_CLOSING;
		return;
	}
	c->state = CONN_READY;
}

/* One message of the login with psql. */
static void
on_login_message(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_sasl_initial si;
	const char *out;
	size_t outlen;
	char why[256];
	hoop_err_t err;

	if (m->type != HOOP_PG_F_PASSWORD) {
		pgwrap_conn_fatal(pw, c, "08P01", "hoop: expected a SASL "
		    "message");
		return;
	}
	if (c->auth_step == 1) {
		if (hoop_pg_parse_sasl_initial(m, &si, why, sizeof(why)) !=
		    HOOP_OK || strcmp(si.mechanism, HOOP_PG_SCRAM_MECHANISM) !=
		    0 || si.data_len < 0 ||
		    hoop_pg_scram_server_first(c->scram, si.data,
		    (size_t)si.data_len, &out, &outlen, why, sizeof(why)) !=
		    HOOP_OK ||
		    hoop_pg_put_auth_data(&c->cout, HOOP_PG_AUTH_SASL_CONTINUE,
		    out, outlen) != HOOP_OK) {
			pw->auth_failures++;
			pgwrap_conn_fatal(pw, c, "28P01", "hoop: password "
			    "authentication failed");
			return;
		}
		c->auth_step = 2;
		return;
	}
	err = hoop_pg_scram_server_final(c->scram, m->body, m->len, &out,
	    &outlen, why, sizeof(why));
	if (err != HOOP_OK) {
		pw->auth_failures++;
		(void)pgwrap_audit(pw, "connect", "deny", NULL, "wrong one-time "
		    "password on the proxy socket", NULL, NULL);
		pgwrap_conn_fatal(pw, c, "28P01", "hoop: password "
		    "authentication failed (the one-time password is good for "
		    "one login)");
		return;
	}
	c->auth_step = 3;
	finish_login(pw, c, out, outlen);
	hoop_pg_scram_server_free(c->scram);
	c->scram = NULL;
}

/* Startup packets and the login, from what psql sent so far. */
static void
process_startup(struct pgwrap *pw, struct pgwrap_conn *c)
{
	struct hoop_pg_startup st;
	struct hoop_pg_msg m;
	char why[256];
	int rc;

	while (c->state == CONN_STARTUP && c->cin.len > 0) {
		if (c->auth_step == 0)
			rc = hoop_pg_frame_startup(c->cin.data, c->cin.len, &m,
			    NULL, why, sizeof(why));
		else
			rc = hoop_pg_frame(c->cin.data, c->cin.len, 16384, &m,
			    NULL, why, sizeof(why));
		if (rc == HOOP_PG_FRAME_MORE)
			return;
		if (rc == HOOP_PG_FRAME_ERROR) {
			pgwrap_conn_fatal(pw, c, "08P01", "hoop: %s", why);
			return;
		}
		if (c->auth_step > 0) {
			on_login_message(pw, c, &m);
			hoop_pg_buf_consume(&c->cin, m.size);
			continue;
		}
		if (hoop_pg_parse_startup(&m, &st, why, sizeof(why)) !=
		    HOOP_OK) {
			pgwrap_conn_fatal(pw, c, "08P01", "hoop: %s", why);
			return;
		}
		switch (st.kind) {
		case HOOP_PG_STARTUP_SSL:
		case HOOP_PG_STARTUP_GSSENC:
			/* A private socket: no encryption. 'N', then a new
			 * startup packet. */
			if (hoop_pg_buf_reserve(&c->cout, 1) != HOOP_OK) {
				c->state = CONN_CLOSING;
				return;
			}
			c->cout.data[c->cout.len++] = 'N';
			break;
		case HOOP_PG_STARTUP_CANCEL:
			on_cancel(pw, &st);
			c->state = CONN_CLOSING;
			break;
		case HOOP_PG_STARTUP_MESSAGE:
			on_startup_message(pw, c, &st);
			break;
		}
		/* Nothing may follow a request before its answer is read. */
		if (st.kind != HOOP_PG_STARTUP_MESSAGE && c->cin.len != m.size &&
		    c->state == CONN_STARTUP) {
			pgwrap_conn_fatal(pw, c, "08P01", "hoop: data after a "
			    "startup request");
			return;
		}
		hoop_pg_buf_consume(&c->cin, m.size);
	}
}

/* ---- The relay ---- */

int
pgwrap_forward(struct hoop_pg_buf *to, const struct hoop_pg_msg *m)
{
	if (hoop_pg_buf_reserve(to, m->size) != HOOP_OK)
		return -1;
	memcpy(to->data + to->len, m->body - 5, m->size);
	to->len += m->size;
	return 0;
}

/* The messages of b from off on (handled ones are dropped at once
 * when the pass ends, not one by one). */
static int
frame_at(const struct hoop_pg_buf *b, size_t off, struct hoop_pg_msg *m,
    char *why, size_t whylen)
{
	return hoop_pg_frame(off > 0 ? b->data + off : b->data, b->len - off,
	    0, m, NULL, why, whylen);
}

static void
client_messages(struct pgwrap *pw, struct pgwrap_conn *c, size_t *off)
{
	struct hoop_pg_msg m;
	char why[256];
	int rc, r;

	while (c->state == CONN_READY && c->sout.len < PGWRAP_HIGH_WATER &&
	    !c->waiting) {
		rc = frame_at(&c->cin, *off, &m, why, sizeof(why));
		if (rc == HOOP_PG_FRAME_MORE)
			return;
		if (rc == HOOP_PG_FRAME_ERROR) {
			pgwrap_conn_fatal(pw, c, "08P01", "hoop: %s", why);
			return;
		}
		switch (m.type) {
		case HOOP_PG_F_QUERY:
			r = pgwrap_on_query(pw, c, &m);
			break;
		case HOOP_PG_F_PARSE:
		case HOOP_PG_F_BIND:
		case HOOP_PG_F_DESCRIBE:
		case HOOP_PG_F_EXECUTE:
		case HOOP_PG_F_CLOSE:
		case HOOP_PG_F_FLUSH:
		case HOOP_PG_F_SYNC:
			r = pgwrap_on_extended(pw, c, &m);
			break;
		case HOOP_PG_F_FUNCTION_CALL:
			r = pgwrap_on_function_call(pw, c, &m);
			break;
		case HOOP_PG_F_COPY_DATA:
		case HOOP_PG_F_COPY_DONE:
		case HOOP_PG_F_COPY_FAIL:
			/* Data for a COPY FROM STDIN hoop allowed; the server
			 * ignores it otherwise. */
			r = pgwrap_forward(&c->sout, &m);
			break;
		case HOOP_PG_F_TERMINATE:
			r = pgwrap_forward(&c->sout, &m);
			c->state = CONN_CLOSING;
			break;
		default:
			snprintf(c->why_end, sizeof(c->why_end), "hoop: "
			    "unexpected message type 0x%02x", m.type);
			r = -1;
			break;
		}
		/* A Bind waiting for hoop's Describe stays where it is. */
		if (r == 1)
			return;
		*off += m.size;
		if (r == -1) {
			/* A failed audit batch may have ended it already. */
			if (c->state != CONN_CLOSING)
				pgwrap_conn_fatal(pw, c, "08P01", "%s",
				    c->why_end[0] ? c->why_end :
				    "hoop: cannot go on");
			return;
		}
	}
}

/* Messages from psql, while the server side is not backed up. */
static void
process_client(struct pgwrap *pw, struct pgwrap_conn *c)
{
	size_t off = 0;

	client_messages(pw, c, &off);
	hoop_pg_buf_consume(&c->cin, off);
}

/* Is this ErrorResponse the one a poisoned Bind caused? Then it becomes
 * hoop's refusal. */
static int
rewrite_poison(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_notice *n)
{
	char *msg;

	if (c->n_poison == 0 || n->field['M'] == NULL ||
	    strstr(n->field['M'], pw->nonce) == NULL)
		return 0;
	msg = c->poison[0].msg;
	memmove(c->poison, c->poison + 1, (c->n_poison - 1) *
	    sizeof(c->poison[0]));
	c->n_poison--;
	(void)hoop_pg_put_error(&c->cout, "ERROR", "42501", msg, NULL, NULL);
	free(msg);
	return 1;
}

/* One message from the server: tracked, checked, passed on. */
static int
on_server_message(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_notice n;
	struct hoop_pg_param ps;
	const char *s, *bad;
	char why[256], st;

	if (pw->mask != NULL) {
		switch (pgwrap_answer(pw, c, m)) {
		case PGWRAP_ANSWER_KEEP:
			return 0;
		case PGWRAP_ANSWER_PASS:
			return pgwrap_forward(&c->cout, m);
		case PGWRAP_ANSWER_GO_ON:
			break;
		default:
			return -1;
		}
	}
	switch (m->type) {
	case HOOP_PG_B_READY:
		if (hoop_pg_parse_ready(m, &st, why, sizeof(why)) != HOOP_OK)
			goto malformed;
		c->status = st;
		c->z_seen++;
		pgwrap_plan_end(c);
		c->mask_refusing = 0;
		pgwrap_on_ready(pw, c);
		if (pgwrap_forward(&c->cout, m) == -1)
			return -1;
		flush_local(c);
		return 0;
	case HOOP_PG_B_PARAMETER_STATUS:
		if (hoop_pg_parse_parameter_status(m, &ps, why, sizeof(why)) !=
		    HOOP_OK)
			goto malformed;
		if ((bad = check_parameter(ps.name, ps.value)) != NULL) {
			(void)pgwrap_audit(pw, "parameter", "deny", NULL, bad,
			    NULL, NULL);
			pgwrap_conn_fatal(pw, c, "42501", "hoop: %s: ending the "
			    "session", bad);
			return 0;
		}
		break;
	case HOOP_PG_B_COMMAND_COMPLETE:
		if (hoop_pg_parse_string(m, m->type, &s, NULL, why,
		    sizeof(why)) != HOOP_OK)
			goto malformed;
		if (pw->mask != NULL && pgwrap_is_ddl(s)) {
			hoop_mask_set_forget(pw->mask);
			pgwrap_describe_forget(c);
		}
		if (c->mask_refusing) {
			/* Its result event went with hoop's error. */
			c->mask_refusing = 0;
			c->masked = 0;
			return 0;
		}
		pgwrap_plan_end(c);
		pgwrap_on_complete(pw, c, s, 0);
		c->masked = 0;
		break;
	case HOOP_PG_B_PORTAL_SUSPENDED:
		if (c->mask_refusing)
			return 0;
		pgwrap_on_complete(pw, c, NULL, 1);
		break;
	case HOOP_PG_B_COPY_DONE:
		if (c->mask_refusing)
			return 0;
		return pgwrap_mask_message(pw, c, m);
	case HOOP_PG_B_NOTICE:
		return pgwrap_forward_notice(pw, c, m);
	case HOOP_PG_B_NOTIFICATION:
		return pgwrap_forward_notification(pw, c, m);
	case HOOP_PG_B_ERROR:
		if (hoop_pg_parse_notice(m, &n, why, sizeof(why)) != HOOP_OK)
			goto malformed;
		if (rewrite_poison(pw, c, &n)) {
			pgwrap_on_server_error(pw, c, "42501", "refused by hoop");
			return 0;
		}
		pgwrap_plan_end(c);
		if (!c->mask_refusing)
			pgwrap_on_server_error(pw, c, n.field['C'],
			    n.field['M']);
		c->mask_refusing = 0;
		c->masked = 0;
		if (strcmp(n.field['S'], "FATAL") == 0 ||
		    strcmp(n.field['S'], "PANIC") == 0) {
			if (pgwrap_forward_notice(pw, c, m) == -1)
				return -1;
			c->state = CONN_CLOSING;
			return 0;
		}
		return pgwrap_forward_notice(pw, c, m);
	case HOOP_PG_B_DATA_ROW:
		c->rows++;
		return pgwrap_mask_message(pw, c, m);
	case HOOP_PG_B_ROW_DESCRIPTION:
	case HOOP_PG_B_COPY_OUT:
	case HOOP_PG_B_COPY_DATA:
		return pgwrap_mask_message(pw, c, m);
	case HOOP_PG_B_COPY_IN:
		c->copy_in = 1;
		break;
	case HOOP_PG_B_COPY_BOTH:
	case HOOP_PG_B_AUTH:
	case HOOP_PG_B_BACKEND_KEY:
	case HOOP_PG_B_NEGOTIATE_VERSION:
		pgwrap_conn_fatal(pw, c, "08P01", "hoop: unexpected message "
		    "'%c' from the target: ending the session", m->type);
		return 0;
	default:
		break;
	}
	return pgwrap_forward(&c->cout, m);
malformed:
	pgwrap_conn_fatal(pw, c, "08P01", "hoop: malformed message from the "
	    "target (%s)", why);
	return 0;
}

static void
process_server(struct pgwrap *pw, struct pgwrap_conn *c)
{
	struct hoop_pg_msg m;
	char why[256];
	size_t off = 0;
	int rc;

	while (c->state == CONN_READY && c->cout.len < PGWRAP_HIGH_WATER) {
		rc = frame_at(&c->sin, off, &m, why, sizeof(why));
		if (rc == HOOP_PG_FRAME_MORE)
			break;
		if (rc == HOOP_PG_FRAME_ERROR) {
			pgwrap_conn_fatal(pw, c, "08P01", "hoop: the target "
			    "sent a malformed message (%s)", why);
			break;
		}
		if (on_server_message(pw, c, &m) == -1) {
			pgwrap_conn_fatal(pw, c, "53200", "hoop: out of memory");
			break;
		}
		off += m.size;
	}
	hoop_pg_buf_consume(&c->sin, off);
}

/* ---- I/O ---- */

static int
read_client(struct pgwrap_conn *c)
{
	ssize_t n;

	if (hoop_pg_buf_reserve(&c->cin, READ_CHUNK) != HOOP_OK)
		return -1;
	n = read(c->cfd, c->cin.data + c->cin.len, c->cin.cap - c->cin.len);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->cin.len += (size_t)n;
	return 0;
}

static int
read_server(struct pgwrap_conn *c)
{
	ssize_t n;

	do {
		if (hoop_pg_buf_reserve(&c->sin, READ_CHUNK) != HOOP_OK)
			return -1;
		n = upstream_read(&c->up, c->sin.data + c->sin.len,
		    c->sin.cap - c->sin.len);
		if (n == -2)
			return 0;
		if (n <= 0)
			return -1;
		c->sin.len += (size_t)n;
	} while (upstream_pending(&c->up));
	return 0;
}

static int
write_client(struct pgwrap_conn *c)
{
	ssize_t n;

	while (c->cout.len > 0) {
		n = write(c->cfd, c->cout.data, c->cout.len);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		hoop_pg_buf_consume(&c->cout, (size_t)n);
	}
	return 0;
}

static int
write_server(struct pgwrap_conn *c)
{
	ssize_t n;

	while (c->sout.len > 0) {
		n = upstream_write(&c->up, c->sout.data, c->sout.len);
		if (n == -2)
			return 0;
		if (n < 0)
			return -1;
		hoop_pg_buf_consume(&c->sout, (size_t)n);
	}
	return 0;
}

static void
handle_signals(struct pgwrap *pw)
{
	struct signalfd_siginfo si;
	int status;

	while (read(pw->signal_fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
			pw->terminate = 1;
	if (!pw->child_done && waitpid(pw->child, &status, WNOHANG) ==
	    pw->child) {
		pw->child_done = 1;
		pw->child_status = status;
	}
}

/* A whole message waits in b (the loop must not sleep on it). */
static int
has_message(const struct hoop_pg_buf *b)
{
	struct hoop_pg_msg m;

	return b->len >= 5 && hoop_pg_frame(b->data, b->len, 0, &m, NULL,
	    NULL, 0) == HOOP_PG_FRAME_OK;
}

/* Messages held back while the other side was backed up, now free to
 * go. */
static int
has_work(const struct pgwrap_conn *c)
{
	return c->used && c->state == CONN_READY &&
	    ((c->sout.len < PGWRAP_HIGH_WATER && !c->waiting &&
	    has_message(&c->cin)) ||
	    (c->cout.len < PGWRAP_HIGH_WATER && has_message(&c->sin)));
}

/* After a pass of the loop: what a connection still wants. */
static void
step_conn(struct pgwrap *pw, struct pgwrap_conn *c)
{
	if (c->state == CONN_STARTUP) {
		process_startup(pw, c);
		if (c->state == CONN_STARTUP && pgwrap_now_us() > c->deadline_us)
			pgwrap_conn_fatal(pw, c, "08006", "hoop: the login took "
			    "too long");
	}
	if (c->state == CONN_READY) {
		process_client(pw, c);
		process_server(pw, c);
	}
	if (write_client(c) == -1) {
		conn_free(pw, c);
		return;
	}
	if (c->up_open && c->state != CONN_STARTUP && write_server(c) == -1) {
		if (c->state == CONN_READY)
			pgwrap_conn_fatal(pw, c, "08006", "hoop: the connection "
			    "to the target was lost");
		(void)write_client(c);
	}
	if (c->state == CONN_CLOSING && c->cout.len == 0) {
		if (c->up_open)
			(void)write_server(c);
		conn_free(pw, c);
	}
}

int
pgwrap_proxy_run(struct pgwrap *pw)
{
	struct pollfd pfd[2 + 2 * PGWRAP_MAX_CONNS];
	int cslot[PGWRAP_MAX_CONNS], sslot[PGWRAP_MAX_CONNS];
	int64_t child_done_at = 0, now;
	int n, i, timeout;
	struct pgwrap_conn *c;

	for (i = 0; i < PGWRAP_MAX_CONNS; i++)
		pw->conns[i].cfd = -1;
	for (;;) {
		now = pgwrap_now_us();
		if (pw->terminate)
			break;
		if (pw->child_done) {
			if (child_done_at == 0)
				child_done_at = now;
			if (conn_count(pw) == 0 ||
			    now - child_done_at > CHILD_GRACE_US)
				break;
		}
		n = 0;
		pfd[n].fd = pw->signal_fd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = pw->listen_fd;
		pfd[n++].events = pw->child_done ? 0 : POLLIN;
		timeout = 1000;
		for (i = 0; i < PGWRAP_MAX_CONNS; i++) {
			c = &pw->conns[i];
			cslot[i] = sslot[i] = -1;
			if (!c->used)
				continue;
			if (has_work(c))
				timeout = 0;
			pfd[n].fd = c->cfd;
			pfd[n].events = 0;
			if (c->state != CONN_CLOSING &&
			    c->sout.len < PGWRAP_HIGH_WATER &&
			    c->cin.len < 2 * HOOP_PG_MAX_MESSAGE_DEFAULT)
				pfd[n].events |= POLLIN;
			if (c->cout.len > 0)
				pfd[n].events |= POLLOUT;
			cslot[i] = n++;
			if (c->up_open && c->state == CONN_READY) {
				pfd[n].fd = c->up.fd;
				pfd[n].events = 0;
				if (c->cout.len < PGWRAP_HIGH_WATER)
					pfd[n].events |= POLLIN;
				if (c->sout.len > 0)
					pfd[n].events |= POLLOUT;
				sslot[i] = n++;
			}
		}
		/* Result events wait for the next decision, but not long. */
		if (pw->n_pending > 0) {
			int64_t left = PGWRAP_PENDING_MAX_US -
			    (now - pw->pending_since);

			left = left > 0 ? (left + 999) / 1000 : 0;
			if (left < timeout)
				timeout = (int)left;
		}
		if (poll(pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			hoop_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pw->n_pending > 0 && pgwrap_now_us() - pw->pending_since >=
		    PGWRAP_PENDING_MAX_US)
			(void)pgwrap_audit_flush(pw);
		if (pfd[0].revents)
			handle_signals(pw);
		if (pfd[1].revents & POLLIN)
			accept_one(pw);
		for (i = 0; i < PGWRAP_MAX_CONNS; i++) {
			c = &pw->conns[i];
			if (!c->used || cslot[i] == -1)
				continue;
			if ((pfd[cslot[i]].revents & (POLLIN | POLLHUP |
			    POLLERR)) && c->state != CONN_CLOSING &&
			    read_client(c) == -1) {
				conn_free(pw, c);
				continue;
			}
			if (sslot[i] != -1 && (pfd[sslot[i]].revents &
			    (POLLIN | POLLHUP | POLLERR)) &&
			    read_server(c) == -1) {
				process_server(pw, c);
				if (c->state == CONN_READY)
					pgwrap_conn_fatal(pw, c, "08006",
					    "hoop: the target closed the "
					    "connection");
			}
			step_conn(pw, c);
		}
		/* A dead child may not have been signalled yet. */
		if (!pw->child_done)
			handle_signals(pw);
	}
	(void)pgwrap_audit_flush(pw);
	for (i = 0; i < PGWRAP_MAX_CONNS; i++)
		if (pw->conns[i].used) {
			(void)write_client(&pw->conns[i]);
			conn_free(pw, &pw->conns[i]);
		}
	return 0;
}
