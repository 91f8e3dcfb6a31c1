/* hoop-pgwrap: psql and pg_dump through a PostgreSQL protocol proxy that
 * holds the target's credentials and decides every statement (see
 * hoop-pgwrap(1)). */
#ifndef HOOP_PGWRAP_H
#define HOOP_PGWRAP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "hoop_config.h"
#include "hoop_mask.h"
#include "hoop_pgauth.h"
#include "hoop_pgproto.h"
#include "hoop_policy.h"
#include "hoop_sql.h"
#include "hoop_store.h"

/* The real clients (the test build points these into its build
 * directory). */
#ifndef HOOP_PGWRAP_PSQL
#define HOOP_PGWRAP_PSQL "/usr/bin/psql"
#endif
#ifndef HOOP_PGWRAP_PG_DUMP
#define HOOP_PGWRAP_PG_DUMP "/usr/bin/pg_dump"
#endif

/* Connections one pg_dump may open (-j N opens N + 1). */
#define PGWRAP_MAX_CONNS	17
/* The port number in the proxy socket's name (.s.PGSQL.N). */
#define PGWRAP_PORT		"5432"
/* A statement's text in audit events and approval requests. */
#define PGWRAP_AUDIT_TEXT_MAX	4096
/* Prepared statements and portals tracked per connection. */
#define PGWRAP_MAX_PREPARED	4096
/* Bytes buffered toward one side before reading from the other stops. */
#define PGWRAP_HIGH_WATER	(1024 * 1024)
/* Result events wait for the next decision's transaction, at most this
 * long and this many. */
#define PGWRAP_PENDING_MAX_US	(20 * 1000)
#define PGWRAP_PENDING_MAX	256

enum pgwrap_client {
	PGWRAP_PSQL,
	PGWRAP_PG_DUMP,
};

/* ---- args.c ---- */

struct pgwrap_args {
	enum pgwrap_client client;
	const char *target;	/* NULL: none named */
	char **argv;		/* for the real client, NULL-terminated */
	size_t argc;
	int info_only;		/* --help or --version without a target */
};

/* The client's command line: the target taken out, options that would
 * point the client elsewhere refused. 0, or -1 with why. */
int pgwrap_parse_args(enum pgwrap_client client, int argc, char **argv,
    struct pgwrap_args *out, char *why, size_t whylen);
void pgwrap_args_free(struct pgwrap_args *a);
/* An environment variable that would change where or how the client
 * connects: its name, or NULL. */
const char *pgwrap_refused_env(char **envp);

/* ---- upstream.c: hoop as a client of the target ---- */

struct upstream {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint32_t pid, secret;		/* the target's backend key */
	/* ParameterStatus from the login, replayed to the client. */
	struct hoop_pg_buf params;
};

/* The startup parameters forwarded from the client (already checked). */
struct upstream_params {
	const char *application_name;
	const char *client_encoding;
	const char *const *extra;	/* name, value, name, value... */
	size_t n_extra;
};

/*
 * Connects to the target and logs in with secret (NULL: none): TCP or
 * a socket directory, TLS as the target says, SCRAM-SHA-256, md5,
 * trust, cleartext over TLS only. Blocks at most timeout_ms for each
 * step. On failure, *sqlstate and why say what the user may be told:
 * never the host, the user or the secret.
 */
hoop_err_t upstream_open(const struct hoop_target *t, const char *secret,
    const struct upstream_params *p, int timeout_ms, struct upstream *u,
    char sqlstate[6], char *why, size_t whylen);
void upstream_close(struct upstream *u);
/* Non-blocking I/O: > 0 bytes, 0 end of stream, -1 error, -2 again. */
ssize_t upstream_read(struct upstream *u, void *buf, size_t n);
ssize_t upstream_write(struct upstream *u, const void *buf, size_t n);
/* Bytes already decrypted and waiting (poll cannot see them). */
int upstream_pending(struct upstream *u);
/*
 * A Simple Query on a connection of hoop's own, blocking at most
 * timeout_ms: each DataRow goes to row (which returns 0, or -1 to fail
 * the query). HOOP_ERR_IO: the connection failed (time out, closed,
 * a message other than a query's answer); any other error: the server
 * answered with an error or row refused a row. why says which.
 */
hoop_err_t upstream_query(struct upstream *u, const char *sql, int timeout_ms,
    int (*row)(void *arg, const struct hoop_pg_msg *m), void *arg,
    char *why, size_t whylen);
/* Sends CancelRequest with the target's key on a new connection. */
void upstream_cancel(const struct hoop_target *t, uint32_t pid,
    uint32_t secret);

/* ---- the proxy (proxy.c, statements.c) ---- */

struct pgwrap;

/* A statement hoop allowed, as the server holds it (prepared statements
 * and portals). */
struct pgwrap_prepared {
	char *name;
	hoop_sql_t *sql;		/* the statement alone; NULL: empty */
	char *text;			/* capped, for audit events */
	char fingerprint[17];
	const char *tag;
	int64_t decision_seq;
	/* While masks apply: a statement's columns as the server described
	 * them to hoop (0 not asked, 1 asked, 2 kept in desc, which is
	 * empty when it returns no rows), and a portal's plan. */
	int described;
	struct hoop_pg_buf desc;
	struct pgwrap_rplan *rplan;
};

/* ---- results.c: what the server owes, while masks apply ---- */

enum pgwrap_expect_kind {
	EXPECT_PARSE,
	EXPECT_BIND,
	EXPECT_DESCRIBE,
	EXPECT_EXECUTE,
	EXPECT_CLOSE,
	EXPECT_SYNC,
	EXPECT_QUERY,
};

/* Who sent the message: the client (answers passed on), hoop inside the
 * client's batch (answers kept; an error is the batch's and goes on),
 * or hoop in a batch of its own (everything kept). */
enum pgwrap_owner {
	OWNER_CLIENT,
	OWNER_HOOP,
	OWNER_HOOP_BATCH,
};

/* A portal's plan, shared with the Executes on their way. plan NULL:
 * the statement returns no rows. */
struct pgwrap_rplan {
	hoop_mask_plan_t *plan;
	int refs;
};

/* A COPY TO STDOUT of a Query: its options, and the description hoop
 * obtained for its columns before the Query ran (empty: why says why). */
struct pgwrap_copy_slot {
	struct hoop_mask_copy_statement st;
	struct hoop_pg_buf desc;
	char why[192];
};

struct pgwrap_expect {
	enum pgwrap_expect_kind kind;
	enum pgwrap_owner owner;
	char *statement;		/* hoop's Describe: of this statement */
	struct pgwrap_copy_slot *slot;	/* hoop's batch: for this COPY */
	struct pgwrap_rplan *rplan;	/* Execute: its portal's plan */
	struct pgwrap_copy_slot *copies;	/* Query: its COPYs, owned */
	size_t n_copies, next_copy;
	struct pgwrap_expect *next;
};

/* An answer of hoop's own, sent once the server has answered everything
 * sent before it (after_z ReadyForQuery messages). */
struct pgwrap_local {
	uint64_t after_z;
	int ready;			/* ReadyForQuery with the status then */
	struct hoop_pg_buf bytes;
	struct pgwrap_local *next;
};

/* A statement on its way: its result becomes an audit event. */
struct pgwrap_result {
	uint64_t z;			/* ends by this ReadyForQuery at most */
	int64_t decision_seq;
	int64_t start_us;
	char fingerprint[17];
	char *tag;
	char *text;
	struct pgwrap_result *next;
};

/* A result event not yet written: its strings are its own. */
struct pgwrap_pending {
	struct pgwrap_conn *conn;	/* ended if the event is lost */
	int64_t time_us;		/* when the result came */
	char *action, *reason, *detail;
	struct pgwrap_pending *next;
};

enum conn_state {
	CONN_STARTUP,		/* startup packet, SCRAM with psql */
	CONN_READY,		/* relaying */
	CONN_CLOSING,		/* flush what is left to the client, close */
};

struct pgwrap_conn {
	int used;
	enum conn_state state;
	int cfd;
	struct upstream up;
	int up_open;
	struct hoop_pg_buf cin, cout, sin, sout;
	size_t cin_pending;		/* framed bytes of cin to drop */
	int64_t deadline_us;		/* startup must finish by then */
	uint32_t key_pid, key_secret;	/* psql's BackendKeyData */
	char status;			/* transaction status: I, T, E */
	uint64_t z_expected, z_seen;	/* ReadyForQuery to come, come */
	int batch_open;			/* extended messages since Sync */
	int discard_until_sync;		/* after an extended refusal */
	int discard_poisoned;		/* ... answered by the server */
	struct pgwrap_local *local_head, *local_tail;
	struct pgwrap_result *res_head, *res_tail;
	uint64_t rows;			/* DataRows of the head result */
	/* Refusals whose ErrorResponse the server gives in order: a Bind
	 * to a statement named after the nonce; its error is rewritten. */
	struct {
		char *msg;
		uint64_t z;		/* its batch ends with this Z */
	} poison[8];
	size_t n_poison;
	struct pgwrap_prepared *prepared;	/* statements */
	size_t n_prepared, cap_prepared;
	struct pgwrap_prepared *portals;
	size_t n_portals, cap_portals;
	int copy_in;			/* the server waits for CopyData */
	/* While masks apply: what the server still owes (results.c); the
	 * batch the server is skipping after an error; a Bind waiting for
	 * hoop's Describe of its statement; the COPY on its way. */
	struct pgwrap_expect *exp_head, *exp_tail;
	int batch_failed;
	int waiting;
	hoop_mask_copy_t *copy;
	/* Masking: the plan of the result on its way, and a result being
	 * refused (its rows and CommandComplete dropped). */
	hoop_mask_plan_t *plan;
	int mask_refusing;
	size_t masked;			/* masked columns, for the event */
	struct hoop_pg_row_description rd;
	struct hoop_pg_buf mbuf;
	char why_end[256];
	/* The login with psql, before the relay starts. */
	int auth_step;			/* 0 startup, 1 SASL initial, 2 final */
	hoop_pg_scram_server_t *scram;
	char app_name[64];
	char client_encoding[16];
	char extra[4][2][64];		/* DateStyle, TimeZone... */
	size_t n_extra;
};

struct pgwrap {
	hoop_config_t *cfg;
	hoop_store_t *store;
	struct hoop_principal who;
	const struct hoop_target *target;
	const char *session_id;		/* checked against the store, or NULL */
	char session_buf[33];
	enum pgwrap_client client;
	char *secret;			/* the target's; NULL: none */
	char otp[HOOP_PG_OTP_LEN + 1];
	int otp_used;
	int auth_failures;
	int dir_fd;
	char dir[64];
	int listen_fd;
	int signal_fd;
	pid_t child;
	int child_status;
	int child_done;
	int interactive;		/* approvals may wait with a spinner */
	int terminate;			/* SIGTERM, SIGHUP */
	char nonce[33];			/* poison statement names */
	int audit_failed;
	/* Result events waiting for the next batch (oldest first). */
	struct pgwrap_pending *pend_head, *pend_tail;
	size_t n_pending;
	int64_t pending_since;		/* pgwrap_now_us of the oldest */
	/* Masking: the session's set (NULL: no mask applies) and the
	 * connection its catalog lookups use, opened on the first one. */
	hoop_mask_set_t *mask;
	struct upstream lookup;
	int lookup_open;
	struct pgwrap_conn conns[PGWRAP_MAX_CONNS];
};

/* results.c. pgwrap_answer: what a server message is to the queue. */
enum {
	PGWRAP_ANSWER_GO_ON,	/* handled as any message */
	PGWRAP_ANSWER_KEEP,	/* hoop's own (or the session ends) */
	PGWRAP_ANSWER_PASS,	/* passed on as it is */
};
int pgwrap_answer(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
/* One more answer owed (nothing while no mask applies); *out may be
 * NULL. 0, or -1 out of memory. */
int pgwrap_expect_push(struct pgwrap *pw, struct pgwrap_conn *c,
    enum pgwrap_expect_kind kind, enum pgwrap_owner owner,
    struct pgwrap_expect **out);
void pgwrap_expect_clear(struct pgwrap_conn *c);
void pgwrap_rplan_release(struct pgwrap_rplan *r);
/* Parse, Describe and Close of each COPY's query, then Sync: hoop's
 * own batch, sent before the Query. */
int pgwrap_copy_describe(struct pgwrap *pw, struct pgwrap_conn *c,
    struct pgwrap_copy_slot *slots, size_t n);
int pgwrap_kept_description(const struct hoop_pg_buf *b,
    struct hoop_pg_row_description *rd, char *why, size_t whylen);
/* Result data, errors, notices and notifications on their way to the
 * client. */
int pgwrap_mask_message(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
int pgwrap_forward_notice(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
int pgwrap_forward_notification(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
void pgwrap_plan_end(struct pgwrap_conn *c);
int pgwrap_is_ddl(const char *tag);

/* masking.c: the session's masks (0, or -1 with why), and their end. */
int pgwrap_mask_start(struct pgwrap *pw, char *why, size_t whylen);
void pgwrap_mask_end(struct pgwrap *pw);

/* proxy.c */
int pgwrap_proxy_run(struct pgwrap *pw);
/* Queues hoop's own ErrorResponse (and, if ready, ReadyForQuery) for
 * the client, in order after what the server still owes. */
int pgwrap_local_error(struct pgwrap_conn *c, const char *severity,
    const char *sqlstate, const char *message, const char *detail,
    const char *hint, int ready);
int pgwrap_local_ready(struct pgwrap_conn *c);
/* Appends message m as it came (header and body) to a buffer. */
int pgwrap_forward(struct hoop_pg_buf *to, const struct hoop_pg_msg *m);
/* Ends a connection: FATAL message to the client, then close. */
void pgwrap_conn_fatal(struct pgwrap *pw, struct pgwrap_conn *c,
    const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int64_t pgwrap_now_us(void);

/* statements.c: what the client sends, decided. Each returns 0, or -1
 * when the connection must end (c->why_end says why). */
int pgwrap_on_query(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
int pgwrap_on_extended(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
int pgwrap_on_function_call(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m);
/* What the server sends that ends or counts a statement. */
void pgwrap_on_complete(struct pgwrap *pw, struct pgwrap_conn *c,
    const char *tag, int suspended);
void pgwrap_on_server_error(struct pgwrap *pw, struct pgwrap_conn *c,
    const char *sqlstate, const char *message);
void pgwrap_on_ready(struct pgwrap *pw, struct pgwrap_conn *c);
void pgwrap_conn_forget(struct pgwrap_conn *c);
/* hoop's Describe of a statement: answered (m: its RowDescription, NULL:
 * NoData), or skipped by the server (asked again at the next Bind). */
int pgwrap_describe_done(struct pgwrap_conn *c, const char *name,
    const struct hoop_pg_msg *m);
void pgwrap_describe_reset(struct pgwrap_conn *c, const char *name);
/* After DDL: every statement is described again before its next Bind. */
void pgwrap_describe_forget(struct pgwrap_conn *c);
/* An audit event of kind sql for this session and target, written in
 * one transaction after the result events still waiting (so it is the
 * batch's last, *seq its own). 0, or -1: nothing of the batch was
 * written and the connections whose results were lost are ending. */
int pgwrap_audit(struct pgwrap *pw, const char *action, const char *decision,
    const char *rule, const char *reason, const char *detail,
    int64_t *seq);
/* Writes the result events still waiting: 0, or -1 as pgwrap_audit. */
int pgwrap_audit_flush(struct pgwrap *pw);

#endif
