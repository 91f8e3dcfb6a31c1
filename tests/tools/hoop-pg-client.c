/*
 * Test tool: a PostgreSQL client, and a one-connection server, made of
 * lib/pgproto.c and lib/pgauth.c only (no libpq), for
 * tests/bats/pgproto.bats.
 *
 * Client:
 *   hoop-pg-client [-h HOST | -S SOCKDIR] [-p PORT] -U USER [-d DB]
 *       [--ssl-request] [--gssenc-request] [--allow-cleartext]
 *       [--cancel-after MS] [-v] [-c SQL | -x SQL [-a VALUE|-N]...]...
 *   The password comes from HOOP_PG_PASSWORD (never the command line).
 *   -c runs a simple Query, -x the extended protocol (Parse, Bind with
 *   the -a/-N values after it, Describe, Execute, Sync). Prints, one per
 *   line: "auth: METHOD", "ready: S", "field: ...", "row: a|b|\N",
 *   "complete: TAG", "error: SEVERITY CODE message", "notice: ...",
 *   "copy-out: ...", "copy: DATA", "copy-done" (COPY FROM STDIN is
 *   answered with CopyFail). --cancel-after sends a CancelRequest when
 *   the first statement has not answered within MS milliseconds.
 *   Exit 0; 1 if a statement failed; 2 if the connection, the
 *   authentication or the protocol failed.
 *
 *   --script FILE runs the steps of FILE instead, one per line (for the
 *   extended protocol message by message, as a pipeline would send it):
 *     startup NAME VALUE     a startup parameter (sent with the others)
 *     query SQL              a simple Query, then its results
 *     parse NAME SQL         Parse ("-" is the unnamed statement)
 *     bind PORTAL STATEMENT  Bind without parameters ("-": unnamed)
 *     describe S|P NAME      Describe
 *     execute PORTAL         Execute, no row limit
 *     close S|P NAME         Close
 *     flush                  Flush
 *     sync                   Sync, then the results to ReadyForQuery
 *     call OID               FunctionCall without arguments, then results
 *     x SQL                  Parse, Bind, Describe, Execute, Sync of SQL
 *   Empty lines and lines starting with # are skipped.
 *
 * Server:
 *   hoop-pg-client --serve -S SOCKDIR -p PORT
 *   Accepts one connection on SOCKDIR/.s.PGSQL.PORT, answers SSLRequest
 *   and GSSENCRequest with 'N', authenticates with SCRAM-SHA-256 against
 *   HOOP_PG_PASSWORD, and answers each Query with one row holding the
 *   query text, until Terminate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hoop_pgauth.h"
#include "hoop_pgproto.h"

#define MAX_PARAMS	32
#define MAX_STEPS	32
#define MAX_STARTUP	8

struct conn {
	int fd;
	struct hoop_pg_buf in, out;
	size_t pending;		/* bytes of the last message, to drop */
	uint32_t pid, secret;
};

struct step {
	int extended;
	const char *sql;
	struct hoop_pg_value params[MAX_PARAMS];
	size_t nparams;
};

static int verbose;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "hoop-pg-client: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void
send_out(struct conn *c)
{
	size_t off = 0;
	ssize_t n;

	while (off < c->out.len) {
		n = write(c->fd, c->out.data + off, c->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", strerror(errno));
		off += (size_t)n;
	}
	/* What was sent may be a password. */
	hoop_pg_buf_wipe(&c->out);
}

static void
check(hoop_err_t err, const char *what)
{
	if (err != HOOP_OK)
		die("cannot build %s", what);
}

/* Reads more bytes; 0 at end of stream. */
static int
fill(struct conn *c, size_t need)
{
	ssize_t n;

	if (hoop_pg_buf_reserve(&c->in, need > c->in.len ? need - c->in.len :
	    4096) != HOOP_OK)
		die("%s", "out of memory");
	do
		n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("read: %s", strerror(errno));
	c->in.len += (size_t)n;
	return n > 0;
}

/* The next message (typed, or a startup packet); NULL at end of stream. */
static int
next(struct conn *c, struct hoop_pg_msg *m, int startup)
{
	char why[256];
	size_t need = 0;
	int rc;

	hoop_pg_buf_consume(&c->in, c->pending);
	c->pending = 0;
	for (;;) {
		rc = startup ? hoop_pg_frame_startup(c->in.data, c->in.len, m,
		    &need, why, sizeof(why)) : hoop_pg_frame(c->in.data,
		    c->in.len, 0, m, &need, why, sizeof(why));
		if (rc == HOOP_PG_FRAME_OK) {
			c->pending = m->size;
			return 1;
		}
		if (rc == HOOP_PG_FRAME_ERROR)
			die("protocol: %s", why);
		if (!fill(c, need)) {
			if (c->in.len > 0)
				die("%s", "connection closed in a message");
			return 0;
		}
	}
}

static void
need_ok(hoop_err_t err, const char *why)
{
	if (err != HOOP_OK)
		die("protocol: %s", why);
}

static int
connect_to(const char *host, const char *sockdir, const char *port)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	struct sockaddr_un sun = { 0 };
	int fd = -1;

	if (sockdir != NULL) {
		sun.sun_family = AF_UNIX;
		if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
		    "%s/.s.PGSQL.%s", sockdir, port) >= sizeof(sun.sun_path))
			die("socket path too long: %s", sockdir);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			die("connect: %s", strerror(errno));
		return fd;
	}
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("cannot resolve %s", host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		die("connect: %s", strerror(errno));
	return fd;
}

/* A printable line for a value: bytes outside printable ASCII, '|' and
 * '\' escaped, NULL as \N. */
static void
print_value(const struct hoop_pg_value *v)
{
	int32_t i;

	if (v->len < 0) {
		fputs("\\N", stdout);
		return;
	}
	for (i = 0; i < v->len; i++) {
		unsigned char ch = v->data[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '|' || ch == '\\')
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

static void
print_notice(const struct hoop_pg_msg *m)
{
	struct hoop_pg_notice n;
	char why[256];

	need_ok(hoop_pg_parse_notice(m, &n, why, sizeof(why)), why);
	printf("%s: %s %s %s\n", m->type == 'E' ? "error" : "notice",
	    n.field['S'], n.field['C'], n.field['M']);
}

/* Negotiation bytes: one byte of answer, 'N' lets us go on in clear. */
static void
negotiate(struct conn *c, uint32_t code, const char *name)
{
	unsigned char answer;
	ssize_t n;

	check(hoop_pg_put_request(&c->out, code), name);
	send_out(c);
	do
		n = read(c->fd, &answer, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		die("no answer to %s", name);
	printf("%s: %c\n", name, answer);
	if (answer != 'N')
		die("server accepts %s: not supported here", name);
}

/* Where the login stands. */
struct login {
	const char *user, *pw, *method;
	int allow_cleartext, verified, authed;
	hoop_pg_scram_client_t *scram;
};

/* Answers one authentication request. */
static void
answer_auth(struct conn *c, struct login *l, const struct hoop_pg_auth *a)
{
	char md5[HOOP_PG_MD5_ANSWER_LEN + 1], why[256];
	const char *out;
	size_t outlen;

	if (l->authed)
		die("%s", "authentication request after Ok");
	if (a->code != HOOP_PG_AUTH_OK && l->pw == NULL)
		die("%s", "password needed: set HOOP_PG_PASSWORD");
	switch (a->code) {
	case HOOP_PG_AUTH_OK:
		/* SCRAM proves the server too: Ok before that is a lie. */
		if (l->scram != NULL && !l->verified)
			die("%s", "AuthenticationOk before the server proved "
			    "it knows the password");
		l->authed = 1;
		printf("auth: %s\n", l->method);
		return;
	case HOOP_PG_AUTH_CLEARTEXT:
		if (!l->allow_cleartext)
			die("%s", "server asks for a cleartext password: "
			    "refused");
		l->method = "cleartext";
		check(hoop_pg_put_password(&c->out, l->pw), "password");
		break;
	case HOOP_PG_AUTH_MD5:
		l->method = "md5";
		check(hoop_pg_md5_password(l->user, l->pw, a->salt, md5),
		    "md5 answer");
		check(hoop_pg_put_password(&c->out, md5), "password");
		explicit_bzero(md5, sizeof(md5));
		break;
	case HOOP_PG_AUTH_SASL:
		if (l->scram != NULL ||
		    !hoop_pg_auth_has_mechanism(a, HOOP_PG_SCRAM_MECHANISM))
			die("%s", "no SCRAM-SHA-256 offered");
		l->method = "scram-sha-256";
		if (hoop_pg_scram_client_create(l->pw, &l->scram, why,
		    sizeof(why)) != HOOP_OK)
			die("scram: %s", why);
		check(hoop_pg_scram_client_first(l->scram, &out, &outlen),
		    "client-first");
		check(hoop_pg_put_sasl_initial(&c->out,
		    HOOP_PG_SCRAM_MECHANISM, out, outlen),
		    "SASLInitialResponse");
		break;
	case HOOP_PG_AUTH_SASL_CONTINUE:
		if (l->scram == NULL)
			die("%s", "SASLContinue out of order");
		if (hoop_pg_scram_client_final(l->scram, a->data, a->data_len,
		    &out, &outlen, why, sizeof(why)) != HOOP_OK)
			die("scram: %s", why);
		check(hoop_pg_put_sasl_response(&c->out, out, outlen),
		    "SASLResponse");
		break;
	case HOOP_PG_AUTH_SASL_FINAL:
		if (l->scram == NULL)
			die("%s", "SASLFinal out of order");
		if (hoop_pg_scram_client_verify(l->scram, a->data,
		    a->data_len, why, sizeof(why)) != HOOP_OK)
			die("scram: %s", why);
		l->verified = 1;
		return;
	default:
		fprintf(stderr, "hoop-pg-client: unsupported authentication "
		    "request %u\n", a->code);
		exit(2);
	}
	send_out(c);
}

static struct hoop_pg_param extra_params[MAX_STARTUP];
static size_t n_extra_params;

static void
authenticate(struct conn *c, const char *user, const char *db,
    int allow_cleartext)
{
	struct login l = {
		.user = user, .pw = getenv("HOOP_PG_PASSWORD"),
		.method = "trust", .allow_cleartext = allow_cleartext,
	};
	struct hoop_pg_param sp[3 + MAX_STARTUP], ps;
	struct hoop_pg_auth a;
	struct hoop_pg_msg m;
	char why[256], status;
	size_t nsp = 0;

	sp[nsp++] = (struct hoop_pg_param){ "user", user };
	if (db != NULL)
		sp[nsp++] = (struct hoop_pg_param){ "database", db };
	sp[nsp++] = (struct hoop_pg_param){ "application_name",
	    "hoop-pg-client" };
	for (size_t k = 0; k < n_extra_params; k++)
		sp[nsp++] = extra_params[k];
	check(hoop_pg_put_startup(&c->out, sp, nsp), "startup");
	send_out(c);
	while (next(c, &m, 0)) {
		switch (m.type) {
		case HOOP_PG_B_AUTH:
			need_ok(hoop_pg_parse_auth(&m, &a, why, sizeof(why)),
			    why);
			answer_auth(c, &l, &a);
			break;
		case HOOP_PG_B_ERROR:
			print_notice(&m);
			exit(2);
		case HOOP_PG_B_NOTICE:
			print_notice(&m);
			break;
		case HOOP_PG_B_PARAMETER_STATUS:
			need_ok(hoop_pg_parse_parameter_status(&m, &ps, why,
			    sizeof(why)), why);
			if (verbose)
				printf("parameter: %s=%s\n", ps.name,
				    ps.value);
			break;
		case HOOP_PG_B_BACKEND_KEY:
			need_ok(hoop_pg_parse_backend_key(&m, &c->pid,
			    &c->secret, why, sizeof(why)), why);
			break;
		case HOOP_PG_B_READY:
			need_ok(hoop_pg_parse_ready(&m, &status, why,
			    sizeof(why)), why);
			if (!l.authed)
				die("%s", "ReadyForQuery before "
				    "authentication");
			printf("ready: %c\n", status);
			hoop_pg_scram_client_free(l.scram);
			return;
		default:
			die("unexpected message '%s' during startup",
			    (char[]){ (char)m.type, 0 });
		}
	}
	die("%s", "connection closed during startup");
}

static void
send_cancel(const char *host, const char *sockdir, const char *port,
    uint32_t pid, uint32_t secret)
{
	struct conn k = { 0 };

	k.fd = connect_to(host, sockdir, port);
	check(hoop_pg_put_cancel(&k.out, pid, secret), "CancelRequest");
	send_out(&k);
	/* The server answers nothing and closes. */
	while (fill(&k, 1))
		;
	close(k.fd);
	hoop_pg_buf_free(&k.in);
	hoop_pg_buf_free(&k.out);
	printf("cancel: sent\n");
}

/* Messages until ReadyForQuery; returns 1 if an error came. */
static int
results(struct conn *c, int cancel_ms, const char *host,
    const char *sockdir, const char *port)
{
	struct hoop_pg_row_description rd = { 0 };
	struct hoop_pg_parameter_description pd = { 0 };
	struct hoop_pg_copy_response cr = { 0 };
	struct hoop_pg_data_row row = { 0 };
	struct hoop_pg_value v;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	struct hoop_pg_msg m;
	char why[256], status;
	const char *s;
	int failed = 0;
	uint16_t i;

	/* Nothing from the server within cancel_ms: cancel the statement. */
	if (cancel_ms > 0 && c->in.len == c->pending &&
	    poll(&pfd, 1, cancel_ms) == 0)
		send_cancel(host, sockdir, port, c->pid, c->secret);
	while (next(c, &m, 0)) {
		switch (m.type) {
		case HOOP_PG_B_ROW_DESCRIPTION:
			need_ok(hoop_pg_parse_row_description(&m, &rd, why,
			    sizeof(why)), why);
			for (i = 0; i < rd.nfields; i++) {
				const struct hoop_pg_field *f = &rd.fields[i];

				printf("field: %s table=%u attnum=%d type=%u "
				    "typlen=%d typmod=%d format=%d\n", f->name,
				    f->table_oid, f->attnum, f->type_oid,
				    f->typlen, f->typmod, f->format);
			}
			break;
		case HOOP_PG_B_DATA_ROW:
			need_ok(hoop_pg_parse_data_row(&m, &row, why,
			    sizeof(why)), why);
			fputs("row: ", stdout);
			for (i = 0; i < row.ncols; i++) {
				if (i > 0)
					putchar('|');
				print_value(&row.values[i]);
			}
			putchar('\n');
			break;
		case HOOP_PG_B_COMMAND_COMPLETE:
			need_ok(hoop_pg_parse_string(&m, m.type, &s, NULL, why,
			    sizeof(why)), why);
			printf("complete: %s\n", s);
			break;
		case HOOP_PG_B_EMPTY_QUERY:
		case HOOP_PG_B_PARSE_COMPLETE:
		case HOOP_PG_B_BIND_COMPLETE:
		case HOOP_PG_B_NO_DATA:
		case HOOP_PG_B_CLOSE_COMPLETE:
			need_ok(hoop_pg_parse_empty(&m, m.type, why,
			    sizeof(why)), why);
			printf("%s\n", m.type == 'I' ? "empty" :
			    m.type == '1' ? "parse-complete" :
			    m.type == '2' ? "bind-complete" :
			    m.type == 'n' ? "no-data" : "close-complete");
			break;
		case HOOP_PG_B_PARAMETER_DESCRIPTION:
			need_ok(hoop_pg_parse_parameter_description(&m, &pd,
			    why, sizeof(why)), why);
			printf("parameters: %u\n", pd.nparams);
			break;
		case HOOP_PG_B_ERROR:
			failed = 1;
			/* fall through */
		case HOOP_PG_B_NOTICE:
			print_notice(&m);
			break;
		case HOOP_PG_B_COPY_OUT:
		case HOOP_PG_B_COPY_IN:
			need_ok(hoop_pg_parse_copy_response(&m, &cr, why,
			    sizeof(why)), why);
			printf("copy-%s: format=%d columns=%u\n",
			    m.type == 'H' ? "out" : "in", cr.format, cr.ncols);
			/* Nothing to send: refuse, the server ends the copy. */
			if (m.type == HOOP_PG_B_COPY_IN) {
				check(hoop_pg_put_message(&c->out,
				    HOOP_PG_F_COPY_FAIL, "no data here", 13),
				    "CopyFail");
				send_out(c);
			}
			break;
		case HOOP_PG_B_COPY_DATA:
			v.data = m.body;
			v.len = (int32_t)m.len;
			fputs("copy: ", stdout);
			print_value(&v);
			putchar('\n');
			break;
		case HOOP_PG_B_COPY_DONE:
			need_ok(hoop_pg_parse_empty(&m, m.type, why,
			    sizeof(why)), why);
			printf("copy-done\n");
			break;
		case HOOP_PG_B_PARAMETER_STATUS:
			break;
		case HOOP_PG_B_PORTAL_SUSPENDED:
			printf("suspended\n");
			break;
		case HOOP_PG_B_FUNCTION_RESULT:
			need_ok(hoop_pg_parse_function_result(&m, &v, why,
			    sizeof(why)), why);
			fputs("function-result: ", stdout);
			print_value(&v);
			putchar('\n');
			break;
		case HOOP_PG_B_READY:
			need_ok(hoop_pg_parse_ready(&m, &status, why,
			    sizeof(why)), why);
			printf("ready: %c\n", status);
			hoop_pg_copy_response_release(&cr);
			hoop_pg_row_description_release(&rd);
			hoop_pg_data_row_release(&row);
			hoop_pg_parameter_description_release(&pd);
			return failed;
		default:
			die("unexpected message '%s'",
			    (char[]){ (char)m.type, 0 });
		}
	}
	die("%s", "connection closed before ReadyForQuery");
	return 2;
}

static void
usage(void)
{
	fprintf(stderr, "usage: hoop-pg-client [-h HOST | -S SOCKDIR] "
	    "[-p PORT] -U USER [-d DB] [--ssl-request] [--gssenc-request] "
	    "[--allow-cleartext] [--cancel-after MS] [-v] "
	    "[-c SQL | -x SQL [-a VALUE | -N]...]... | --script FILE\n"
	    "       hoop-pg-client --serve -S SOCKDIR -p PORT\n");
	exit(2);
}

/* ---- Scripts ---- */

/* "-" is the unnamed statement or portal. */
static const char *
unnamed(const char *name)
{
	return strcmp(name, "-") == 0 ? "" : name;
}

/* The next space-separated word of *p (NUL-terminated there). */
static char *
word(char **p)
{
	char *w = *p, *end;

	if (w == NULL || *w == '\0')
		usage();
	end = strchr(w, ' ');
	if (end != NULL) {
		*end = '\0';
		*p = end + 1;
	} else {
		*p = w + strlen(w);
	}
	return w;
}

static char **
script_lines(const char *path, size_t *n)
{
	static char buf[1 << 20];
	char **lines = NULL, *p, *nl;
	size_t len, cap = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		die("cannot open %s", path);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	*n = 0;
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((lines = realloc(lines, cap * sizeof(*lines))) ==
			    NULL)
				die("%s", "out of memory");
		}
		lines[(*n)++] = p;
	}
	return lines;
}

/* Startup parameters come first: they go with the StartupMessage. */
static void
script_startup(char **lines, size_t n)
{
	size_t i;
	char *p, *name;

	for (i = 0; i < n; i++) {
		if (strncmp(lines[i], "startup ", 8) != 0)
			continue;
		if (n_extra_params == MAX_STARTUP)
			usage();
		p = lines[i] + 8;
		name = word(&p);
		extra_params[n_extra_params].name = name;
		extra_params[n_extra_params++].value = p;
	}
}

static int
run_script(struct conn *c, char **lines, size_t n)
{
	unsigned char body[10];
	uint32_t oid;
	size_t i;
	char *p, *cmd, *a, *b;
	int failed = 0;

	for (i = 0; i < n; i++) {
		p = lines[i];
		cmd = word(&p);
		printf("> %s %s\n", cmd, p);
		if (strcmp(cmd, "startup") == 0) {
			continue;
		} else if (strcmp(cmd, "query") == 0) {
			check(hoop_pg_put_query(&c->out, p), "Query");
		} else if (strcmp(cmd, "parse") == 0) {
			a = word(&p);
			check(hoop_pg_put_parse(&c->out, unnamed(a), p, NULL,
			    0), "Parse");
		} else if (strcmp(cmd, "bind") == 0) {
			a = word(&p);
			check(hoop_pg_put_bind(&c->out, unnamed(a),
			    unnamed(word(&p)), NULL, 0, NULL, 0, NULL, 0),
			    "Bind");
		} else if (strcmp(cmd, "describe") == 0 ||
		    strcmp(cmd, "close") == 0) {
			a = word(&p);
			b = word(&p);
			check(hoop_pg_put_target(&c->out, cmd[0] == 'd' ?
			    HOOP_PG_F_DESCRIBE : HOOP_PG_F_CLOSE, a[0],
			    unnamed(b)), cmd);
		} else if (strcmp(cmd, "execute") == 0) {
			check(hoop_pg_put_execute(&c->out, unnamed(word(&p)),
			    0), "Execute");
		} else if (strcmp(cmd, "flush") == 0) {
			check(hoop_pg_put_empty(&c->out, HOOP_PG_F_FLUSH),
			    "Flush");
		} else if (strcmp(cmd, "sync") == 0) {
			check(hoop_pg_put_empty(&c->out, HOOP_PG_F_SYNC),
			    "Sync");
		} else if (strcmp(cmd, "call") == 0) {
			oid = htonl((uint32_t)strtoul(p, NULL, 10));
			memcpy(body, &oid, 4);
			memset(body + 4, 0, 6);
			check(hoop_pg_put_message(&c->out,
			    HOOP_PG_F_FUNCTION_CALL, body, sizeof(body)),
			    "FunctionCall");
		} else if (strcmp(cmd, "x") == 0) {
			check(hoop_pg_put_parse(&c->out, "", p, NULL, 0),
			    "Parse");
			check(hoop_pg_put_bind(&c->out, "", "", NULL, 0, NULL, 0,
			    NULL, 0), "Bind");
			check(hoop_pg_put_target(&c->out, HOOP_PG_F_DESCRIBE,
			    'P', ""), "Describe");
			check(hoop_pg_put_execute(&c->out, "", 0), "Execute");
			check(hoop_pg_put_empty(&c->out, HOOP_PG_F_SYNC),
			    "Sync");
			cmd = "sync";
		} else {
			usage();
		}
		send_out(c);
		if (strcmp(cmd, "query") == 0 || strcmp(cmd, "sync") == 0 ||
		    strcmp(cmd, "call") == 0)
			failed |= results(c, 0, NULL, NULL, NULL);
	}
	return failed;
}

/* ---- Server mode ---- */

static void
serve_reply(struct conn *c, const char *sql)
{
	struct hoop_pg_field f = { "echo", 0, 0, 25, -1, -1, 0 };
	struct hoop_pg_value v = { (const unsigned char *)sql,
	    (int32_t)strlen(sql) };

	check(hoop_pg_put_row_description(&c->out, &f, 1), "RowDescription");
	check(hoop_pg_put_data_row(&c->out, &v, 1), "DataRow");
	check(hoop_pg_put_command_complete(&c->out, "SELECT 1"), "tag");
	check(hoop_pg_put_ready(&c->out, 'I'), "ReadyForQuery");
	send_out(c);
}

static int
serve(const char *sockdir, const char *port)
{
	static const char *const mechs[] = { HOOP_PG_SCRAM_MECHANISM };
	static const char *const params[][2] = {
		{ "server_version", "15.0" }, { "server_encoding", "UTF8" },
		{ "client_encoding", "UTF8" }, { "DateStyle", "ISO, MDY" },
		{ "integer_datetimes", "on" },
		{ "standard_conforming_strings", "on" },
	};
	struct sockaddr_un sun = { 0 };
	hoop_pg_scram_server_t *scram = NULL;
	struct hoop_pg_sasl_initial si;
	struct hoop_pg_startup st;
	struct hoop_pg_query q;
	static struct conn c;
	static char user[128];
	struct hoop_pg_msg m;
	const char *pw = getenv("HOOP_PG_PASSWORD"), *u, *out;
	char why[256], msg[320];
	size_t outlen, i;
	hoop_err_t err;
	int lfd;

	if (pw == NULL || sockdir == NULL)
		usage();
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/.s.PGSQL.%s",
	    sockdir, port);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(lfd, 1) != 0)
		die("listen: %s", strerror(errno));
	printf("listening\n");
	fflush(stdout);
	if ((c.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		die("accept: %s", strerror(errno));
	close(lfd);
	unlink(sun.sun_path);
	for (;;) {
		if (!next(&c, &m, 1))
			return 2;
		need_ok(hoop_pg_parse_startup(&m, &st, why, sizeof(why)), why);
		if (st.kind == HOOP_PG_STARTUP_MESSAGE)
			break;
		if (st.kind == HOOP_PG_STARTUP_CANCEL)
			return 0;
		/* Refuse encryption: one byte, then a new startup packet. */
		if (write(c.fd, "N", 1) != 1)
			die("write: %s", strerror(errno));
	}
	if (st.version != HOOP_PG_PROTOCOL_3_0 ||
	    (u = hoop_pg_startup_get(&st, "user")) == NULL)
		die("%s", "unsupported startup packet");
	snprintf(user, sizeof(user), "%s", u);
	if (hoop_pg_scram_server_create(pw, 0, &scram, why, sizeof(why)) !=
	    HOOP_OK)
		die("scram: %s", why);
	check(hoop_pg_put_auth_sasl(&c.out, mechs, 1), "AuthenticationSASL");
	send_out(&c);
	if (!next(&c, &m, 0) || m.type != HOOP_PG_F_PASSWORD ||
	    hoop_pg_parse_sasl_initial(&m, &si, why, sizeof(why)) != HOOP_OK ||
	    strcmp(si.mechanism, HOOP_PG_SCRAM_MECHANISM) != 0 ||
	    si.data_len < 0)
		die("%s", "bad SASLInitialResponse");
	if (hoop_pg_scram_server_first(scram, si.data, (size_t)si.data_len,
	    &out, &outlen, why, sizeof(why)) != HOOP_OK)
		die("scram: %s", why);
	check(hoop_pg_put_auth_data(&c.out, HOOP_PG_AUTH_SASL_CONTINUE, out,
	    outlen), "SASLContinue");
	send_out(&c);
	if (!next(&c, &m, 0) || m.type != HOOP_PG_F_PASSWORD)
		die("%s", "no SASLResponse");
	err = hoop_pg_scram_server_final(scram, m.body, m.len, &out, &outlen,
	    why, sizeof(why));
	if (err != HOOP_OK) {
		fprintf(stderr, "hoop-pg-client: %s\n", why);
		snprintf(msg, sizeof(msg), "password authentication failed "
		    "for user \"%.200s\"", user);
		check(hoop_pg_put_error(&c.out, "FATAL", "28P01", msg, NULL,
		    NULL), "ErrorResponse");
		send_out(&c);
		hoop_pg_scram_server_free(scram);
		return 1;
	}
	check(hoop_pg_put_auth_data(&c.out, HOOP_PG_AUTH_SASL_FINAL, out,
	    outlen), "SASLFinal");
	check(hoop_pg_put_auth(&c.out, HOOP_PG_AUTH_OK), "AuthenticationOk");
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		check(hoop_pg_put_parameter_status(&c.out, params[i][0],
		    params[i][1]), "ParameterStatus");
	check(hoop_pg_put_backend_key(&c.out, (uint32_t)getpid(), 1),
	    "BackendKeyData");
	check(hoop_pg_put_ready(&c.out, 'I'), "ReadyForQuery");
	send_out(&c);
	hoop_pg_scram_server_free(scram);
	printf("authenticated: %s\n", user);
	while (next(&c, &m, 0)) {
		if (m.type == HOOP_PG_F_TERMINATE)
			return 0;
		if (m.type != HOOP_PG_F_QUERY ||
		    hoop_pg_parse_query(&m, &q, why, sizeof(why)) != HOOP_OK) {
			check(hoop_pg_put_error(&c.out, "ERROR", "0A000",
			    "only simple queries here", NULL, NULL), "error");
			check(hoop_pg_put_ready(&c.out, 'I'), "ready");
			send_out(&c);
			continue;
		}
		printf("query: %s\n", q.sql);
		fflush(stdout);
		serve_reply(&c, q.sql);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ssl-request", no_argument, NULL, 'L' },
		{ "gssenc-request", no_argument, NULL, 'G' },
		{ "allow-cleartext", no_argument, NULL, 'C' },
		{ "cancel-after", required_argument, NULL, 'K' },
		{ "serve", no_argument, NULL, 'R' },
		{ "script", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL, *sockdir = NULL, *port = "5432", *user = NULL;
	const char *db = NULL, *script = NULL;
	char **lines = NULL;
	size_t nlines = 0;
	struct step steps[MAX_STEPS], *cur = NULL;
	int opt, ssl = 0, gss = 0, cleartext = 0, cancel_ms = 0, server = 0;
	int failed = 0;
	size_t nsteps = 0, i;
	struct conn c = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "h:S:p:U:d:c:x:a:Nv", longopts,
	    NULL)) != -1) {
		switch (opt) {
		case 'h': host = optarg; break;
		case 'S': sockdir = optarg; break;
		case 'p': port = optarg; break;
		case 'U': user = optarg; break;
		case 'd': db = optarg; break;
		case 'v': verbose = 1; break;
		case 'L': ssl = 1; break;
		case 'G': gss = 1; break;
		case 'C': cleartext = 1; break;
		case 'K': cancel_ms = atoi(optarg); break;
		case 'R': server = 1; break;
		case 'F': script = optarg; break;
		case 'c':
		case 'x':
			if (nsteps == MAX_STEPS)
				usage();
			cur = &steps[nsteps++];
			memset(cur, 0, sizeof(*cur));
			cur->extended = opt == 'x';
			cur->sql = optarg;
			break;
		case 'a':
		case 'N':
			if (cur == NULL || !cur->extended ||
			    cur->nparams == MAX_PARAMS)
				usage();
			cur->params[cur->nparams].data = opt == 'a' ?
			    (const unsigned char *)optarg : NULL;
			cur->params[cur->nparams].len = opt == 'a' ?
			    (int32_t)strlen(optarg) : -1;
			cur->nparams++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (server)
		return serve(sockdir, port);
	if (user == NULL || (host == NULL) == (sockdir == NULL))
		usage();
	if (script != NULL) {
		lines = script_lines(script, &nlines);
		script_startup(lines, nlines);
	}
	c.fd = connect_to(host, sockdir, port);
	if (gss)
		negotiate(&c, HOOP_PG_GSSENC_CODE, "gssenc");
	if (ssl)
		negotiate(&c, HOOP_PG_SSL_CODE, "ssl");
	authenticate(&c, user, db, cleartext);
	if (script != NULL)
		failed |= run_script(&c, lines, nlines);
	free(lines);
	for (i = 0; i < nsteps; i++) {
		if (steps[i].extended) {
			check(hoop_pg_put_parse(&c.out, "", steps[i].sql, NULL,
			    0), "Parse");
			check(hoop_pg_put_bind(&c.out, "", "", NULL, 0,
			    steps[i].params, steps[i].nparams, NULL, 0),
			    "Bind");
			check(hoop_pg_put_target(&c.out, HOOP_PG_F_DESCRIBE,
			    'P', ""), "Describe");
			check(hoop_pg_put_execute(&c.out, "", 0), "Execute");
			check(hoop_pg_put_empty(&c.out, HOOP_PG_F_SYNC),
			    "Sync");
		} else
			check(hoop_pg_put_query(&c.out, steps[i].sql), "Query");
		send_out(&c);
		failed |= results(&c, i == 0 ? cancel_ms : 0, host, sockdir,
		    port);
	}
	check(hoop_pg_put_empty(&c.out, HOOP_PG_F_TERMINATE), "Terminate");
	send_out(&c);
	close(c.fd);
	hoop_pg_buf_free(&c.in);
	hoop_pg_buf_free(&c.out);
	return failed;
}
