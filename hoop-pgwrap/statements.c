/*
 * Statement policy: what psql sends is parsed (lib/sql.c), decided per
 * statement, audited, and only then passed on, exactly as it came.
 *
 * Simple Query: every statement of the message is decided; one refusal
 * refuses the whole message (nothing of it runs), answered with
 * ErrorResponse 42501 and ReadyForQuery with the transaction status the
 * server last gave, so the session and an open transaction go on.
 *
 * Extended protocol: a statement is decided at Parse; hoop keeps which
 * prepared statements (and portals) it allowed, so Bind and Execute need
 * no new decision and Bind to a statement hoop does not know is refused.
 * After a refusal, messages up to Sync are discarded. If messages of the
 * same batch were already passed on, the server must answer those first:
 * hoop then sends a Bind to a statement that cannot exist (named with a
 * random nonce) in place of the refused message, so the server fails the
 * batch at exactly that point, and the server's error is rewritten into
 * hoop's refusal.
 *
 * Prepared statements are one namespace on the server (PREPARE and the
 * protocol's named statements); EXECUTE is decided as the statement it
 * runs, from what hoop kept of it. The FunctionCall message calls a
 * function by OID, which no statement rule can describe: refused.
 *
 * Audit: every statement gets a decision event before it is sent (fail
 * closed: a decision that cannot be recorded is not acted on) and a
 * result event when the server answers it (rows, duration). Result
 * events wait, with their own copies, for the next decision's
 * transaction (the decision last, so its seq is known), or at most
 * PGWRAP_PENDING_MAX_US, or the end of their connection: one fsync per
 * statement instead of two.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "hoop_approval.h"
#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_util.h"
#include "pgwrap.h"

struct verdict {
	enum hoop_rule_action action;
	const struct hoop_rule *rule;
	const struct hoop_policy *policy;
	char reason[512];
	struct hoop_sql_decision d;
	const struct pgwrap_prepared *via;	/* EXECUTE of this */
};

/* ---- Audit ---- */

static void
pending_free(struct pgwrap_pending *p)
{
	free(p->action);
	free(p->reason);
	free(p->detail);
	free(p);
}

/* Writes the waiting result events and then last (NULL: none) in one
 * transaction. On failure nothing is written: every connection whose
 * result was lost ends (a decision's own connection is its caller's). */
static int
audit_write(struct pgwrap *pw, const struct hoop_audit_event *last,
    int64_t *seq)
{
	struct hoop_audit_event *evs = NULL;
	struct pgwrap_pending *p;
	int64_t *seqs = NULL;
	size_t n = pw->n_pending + (last != NULL), i = 0;
	hoop_err_t err = HOOP_ERR_NOMEM;
	int ret = -1;

	if (n == 0)
		return 0;
	if ((evs = calloc(n, sizeof(*evs))) == NULL ||
	    (seqs = calloc(n, sizeof(*seqs))) == NULL)
		goto out;
	for (p = pw->pend_head; p != NULL; p = p->next, i++) {
		evs[i].time_us = p->time_us;
		evs[i].session_id = pw->session_id;
		evs[i].principal = pw->who.login;
		evs[i].identity = pw->who.identity->name;
		evs[i].target = pw->target->name;
		evs[i].kind = "sql";
		evs[i].action = p->action;
		evs[i].decision = "info";
		evs[i].reason = p->reason;
		evs[i].detail = p->detail;
	}
	if (last != NULL)
		evs[i] = *last;
	if ((err = hoop_audit_append_batch(pw->store, evs, n, seqs)) !=
	    HOOP_OK) {
		/* A decision refused for its own contents (the results
		 * repeat texts already written) fails alone, as before. */
		if (last != NULL && pw->n_pending > 0 &&
		    (err == HOOP_ERR_INVAL || err == HOOP_ERR_TOOBIG))
			(void)audit_write(pw, NULL, NULL);
		goto out;
	}
	if (last != NULL && seq != NULL)
		*seq = seqs[n - 1];
	ret = 0;
out:
	if (ret == -1) {
		pw->audit_failed = 1;
		hoop_log(LOG_ERR, "cannot write the audit log: %s",
		    hoop_strerror(err));
	}
	while ((p = pw->pend_head) != NULL) {
		pw->pend_head = p->next;
		/* The statement ran: a lost result event changes nothing
		 * now, but the session ends rather than go on unrecorded. */
		if (ret == -1 && p->conn->used &&
		    p->conn->state != CONN_CLOSING)
			pgwrap_conn_fatal(pw, p->conn, "58000", "hoop: cannot "
			    "write the audit log: ending the session");
		pending_free(p);
	}
	pw->pend_tail = NULL;
	pw->n_pending = 0;
	free(evs);
	free(seqs);
	return ret;
}

int
pgwrap_audit(struct pgwrap *pw, const char *action, const char *decision,
    const char *rule, const char *reason, const char *detail, int64_t *seq)
{
	struct hoop_audit_event ev = { 0 };

	ev.session_id = pw->session_id;
	ev.principal = pw->who.login;
	ev.identity = pw->who.identity->name;
	ev.target = pw->target->name;
	ev.kind = "sql";
	ev.action = action;
	ev.decision = decision;
	ev.rule = rule;
	ev.reason = reason;
	ev.detail = detail;
	return audit_write(pw, &ev, seq);
}

int
pgwrap_audit_flush(struct pgwrap *pw)
{
	return audit_write(pw, NULL, NULL);
}

/* Queues a result event (action and detail taken over) for the next
 * batch. 0, or -1 out of memory (nothing queued, both freed). */
static int
pending_push(struct pgwrap *pw, struct pgwrap_conn *c, char *action,
    const char *reason, char *detail)
{
	struct pgwrap_pending *p;
	struct timespec ts;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->reason = strdup(reason)) == NULL) {
		free(p);
		free(action);
		free(detail);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	p->time_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	p->conn = c;
	p->action = action;
	p->detail = detail;
	if (pw->pend_tail != NULL)
		pw->pend_tail->next = p;
	else {
		pw->pend_head = p;
		pw->pending_since = pgwrap_now_us();
	}
	pw->pend_tail = p;
	pw->n_pending++;
	return 0;
}

/* The statement's text for events and requests: capped, on a UTF-8
 * character boundary. */
static char *
cap_text(const char *text, size_t len)
{
	size_t n = len;
	char *out;

	if (n > PGWRAP_AUDIT_TEXT_MAX) {
		n = PGWRAP_AUDIT_TEXT_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	if ((out = malloc(n + 4)) == NULL)
		return NULL;
	memcpy(out, text, n);
	if (n < len)
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	return out;
}

static char *
decision_detail(const struct hoop_sql_stmt *st, const char *protocol,
    const char *name)
{
	char classes[160];
	json_t *o;
	char *s;

	if (st != NULL)
		hoop_sql_classes_format(st->classes, classes, sizeof(classes));
	o = json_pack("{s:s,s:s*,s:s*,s:s*,s:s*}", "protocol", protocol,
	    "fingerprint", st != NULL ? st->fingerprint : NULL,
	    "tag", st != NULL ? st->tag : NULL,
	    "classes", st != NULL ? classes : NULL,
	    "statement", name);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int
audit_decision(struct pgwrap *pw, const struct hoop_sql_stmt *st,
    const char *text, size_t len, const char *decision,
    const struct verdict *v, const char *reason, const char *protocol,
    const char *name, int64_t *seq)
{
	char *action = cap_text(text, len), *detail;
	int r;

	detail = decision_detail(st, protocol, name);
	r = action == NULL || detail == NULL ? -1 : pgwrap_audit(pw, action,
	    decision, v != NULL && v->rule != NULL ? v->rule->name : NULL,
	    reason, detail, seq);
	free(action);
	free(detail);
	return r;
}

/* ---- Prepared statements and portals ---- */

static void
entry_free(struct pgwrap_prepared *e)
{
	free(e->name);
	hoop_sql_free(e->sql);
	free(e->text);
	hoop_pg_buf_free(&e->desc);
	pgwrap_rplan_release(e->rplan);
	memset(e, 0, sizeof(*e));
}

static struct pgwrap_prepared *
entry_find(struct pgwrap_prepared *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void
entry_drop(struct pgwrap_prepared *v, size_t *n, const char *name)
{
	struct pgwrap_prepared *e = entry_find(v, *n, name);

	if (e == NULL)
		return;
	entry_free(e);
	*e = v[--*n];
}

static void
entry_clear(struct pgwrap_prepared *v, size_t *n)
{
	while (*n > 0)
		entry_free(&v[--*n]);
}

/* Puts e (ownership taken) under its name, replacing one there. */
static int
entry_set(struct pgwrap_prepared **v, size_t *n, size_t *cap,
    struct pgwrap_prepared *e)
{
	struct pgwrap_prepared *old = entry_find(*v, *n, e->name), *nv;

	if (old != NULL) {
		entry_free(old);
		*old = *e;
		return 0;
	}
	if (*n == PGWRAP_MAX_PREPARED)
		return -1;
	if (*n == *cap) {
		nv = realloc(*v, (*cap ? *cap * 2 : 16) * sizeof(**v));
		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = *cap ? *cap * 2 : 16;
	}
	(*v)[(*n)++] = *e;
	return 0;
}

static void
results_free(struct pgwrap_conn *c)
{
	struct pgwrap_result *r;

	while ((r = c->res_head) != NULL) {
		c->res_head = r->next;
		free(r->tag);
		free(r->text);
		free(r);
	}
	c->res_tail = NULL;
}

void
pgwrap_conn_forget(struct pgwrap_conn *c)
{
	entry_clear(c->prepared, &c->n_prepared);
	entry_clear(c->portals, &c->n_portals);
	free(c->prepared);
	free(c->portals);
	c->prepared = c->portals = NULL;
	c->cap_prepared = c->cap_portals = 0;
	results_free(c);
}

int
pgwrap_describe_done(struct pgwrap_conn *c, const char *name,
    const struct hoop_pg_msg *m)
{
	struct pgwrap_prepared *e = entry_find(c->prepared, c->n_prepared,
	    name);

	if (e == NULL)
		return 0;
	e->desc.len = 0;
	e->described = 2;
	return m != NULL ? pgwrap_forward(&e->desc, m) : 0;
}

void
pgwrap_describe_reset(struct pgwrap_conn *c, const char *name)
{
	struct pgwrap_prepared *e = entry_find(c->prepared, c->n_prepared,
	    name);

	if (e != NULL && e->described == 1)
		e->described = 0;
}

void
pgwrap_describe_forget(struct pgwrap_conn *c)
{
	size_t i;

	for (i = 0; i < c->n_prepared; i++)
		if (c->prepared[i].described == 2)
			c->prepared[i].described = 0;
}

/* A copy of a statement hoop allowed, to keep under name. sql is taken
 * (it may be NULL: an empty statement). */
static int
remember(struct pgwrap_conn *c, int portal, const char *name, hoop_sql_t *sql,
    const char *text, size_t len, const char *fingerprint, const char *tag,
    int64_t seq)
{
	struct pgwrap_prepared e = { 0 };

	e.sql = sql;
	e.name = strdup(name);
	e.text = cap_text(text, len);
	if (fingerprint != NULL)
		snprintf(e.fingerprint, sizeof(e.fingerprint), "%s",
		    fingerprint);
	e.tag = tag;
	if (sql != NULL && hoop_sql_count(sql) > 0)
		e.tag = hoop_sql_stmt_at(sql, 0)->tag;
	e.decision_seq = seq;
	if (e.name == NULL || e.text == NULL || (portal ?
	    entry_set(&c->portals, &c->n_portals, &c->cap_portals, &e) :
	    entry_set(&c->prepared, &c->n_prepared, &c->cap_prepared, &e))) {
		e.sql = NULL;
		entry_free(&e);
		hoop_sql_free(sql);
		return -1;
	}
	return 0;
}

/* What an allowed statement does to the server's prepared statements:
 * PREPARE adds one (decided again at EXECUTE from what is kept here),
 * DEALLOCATE and DISCARD ALL take them away. */
static int
track_effects(struct pgwrap_conn *c, const struct hoop_sql_stmt *st,
    int64_t seq)
{
	hoop_sql_t *alone = NULL;
	char why[128];

	if (strcmp(st->tag, "PREPARE") == 0 && st->prepared != NULL) {
		if (hoop_sql_parse(st->text, st->text_len, &alone, why,
		    sizeof(why)) != HOOP_OK || hoop_sql_count(alone) != 1) {
			hoop_sql_free(alone);
			return -1;
		}
		return remember(c, 0, st->prepared, alone, st->text,
		    st->text_len, st->fingerprint, NULL, seq);
	}
	if (strcmp(st->tag, "DEALLOCATE") == 0) {
		if (st->prepared != NULL)
			entry_drop(c->prepared, &c->n_prepared, st->prepared);
		else
			entry_clear(c->prepared, &c->n_prepared);
	} else if (strcmp(st->tag, "DISCARD ALL") == 0) {
		entry_clear(c->prepared, &c->n_prepared);
		entry_clear(c->portals, &c->n_portals);
	}
	return 0;
}

/* ---- Decisions ---- */

static const struct hoop_policy *
policy_of(const hoop_config_t *cfg, const struct hoop_rule *rule)
{
	const struct hoop_policy *pol;
	size_t i;

	for (i = 0; i < hoop_config_policy_count(cfg); i++) {
		pol = hoop_config_policy_at(cfg, i);
		if (pol->n_rules > 0 && rule >= pol->rules &&
		    rule < pol->rules + pol->n_rules)
			return pol;
	}
	return NULL;
}

/* EXECUTE of a prepared statement: the parse gives it class unknown,
 * since what it runs was prepared earlier. */
static int
is_execute(const struct hoop_sql_stmt *st)
{
	return strcmp(st->tag, "EXECUTE") == 0 && st->prepared != NULL;
}

static void
decide(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_sql_stmt *st, struct verdict *v)
{
	const struct hoop_sql_stmt *target_st = st;

	memset(v, 0, sizeof(*v));
	v->action = HOOP_ACTION_DENY;
	if (is_execute(st)) {
		/* Its parameters are expressions: anything but constants
		 * would be decided nowhere. */
		if (st->n_functions > 0 || st->classes != HOOP_SQL_UNKNOWN ||
		    st->flags != 0) {
			hoop_why(v->reason, sizeof(v->reason), "EXECUTE with "
			    "function calls in its parameters is not "
			    "supported");
			return;
		}
		v->via = entry_find(c->prepared, c->n_prepared, st->prepared);
		if (v->via == NULL) {
			hoop_why(v->reason, sizeof(v->reason), "prepared "
			    "statement \"%.64s\" is not one hoop allowed",
			    st->prepared);
			return;
		}
		if (v->via->sql == NULL || hoop_sql_count(v->via->sql) == 0) {
			v->action = HOOP_ACTION_ALLOW;
			hoop_why(v->reason, sizeof(v->reason), "an empty "
			    "prepared statement");
			return;
		}
		target_st = hoop_sql_stmt_at(v->via->sql, 0);
	}
	hoop_sql_decide(pw->cfg, &pw->who, pw->target->name, target_st, &v->d);
	v->action = v->d.d.action;
	v->rule = v->d.d.rule;
	v->policy = v->d.d.policy;
	if (v->via != NULL)
		hoop_why(v->reason, sizeof(v->reason), "%s (prepared as %s)",
		    v->d.d.reason, v->via->tag != NULL ? v->via->tag : "?");
	else
		hoop_why(v->reason, sizeof(v->reason), "%s", v->d.d.reason);
}

/* What a once-approval of a statement is bound to: the parser's
 * fingerprint (the statement's shape) and a digest of its exact text
 * (the fingerprint ignores constants). */
static int
statement_fingerprint(const char *fp16, const char *text, size_t len,
    char out[HOOP_APPROVAL_MAX_FINGERPRINT + 1])
{
	unsigned char md[32];
	char hex[65];
	unsigned int mdlen = 0;

	if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	hoop_hex_encode(md, 32, hex);
	snprintf(out, HOOP_APPROVAL_MAX_FINGERPRINT + 1, "sql:%s:%s", fp16,
	    hex);
	return 0;
}

/* Every approve rule the statement met must approve it. */
static void
obtain_approval(struct pgwrap *pw, const struct hoop_sql_stmt *st,
    struct verdict *v)
{
	char fp[HOOP_APPROVAL_MAX_FINGERPRINT + 1], ids[160] = "";
	struct hoop_approval_op op = { 0 };
	struct hoop_approval_result res;
	hoop_approval_t *svc = NULL;
	char *request = NULL;
	size_t i, off = 0;
	hoop_err_t err = HOOP_ERR_INVAL;

	v->action = HOOP_ACTION_DENY;
	if (v->via != NULL) {
		if (asprintf(&request, "%s\n-- %s: %s", st->text, v->via->name,
		    v->via->text) == -1)
			request = NULL;
	} else {
		request = strdup(st->text);
	}
	if (request == NULL || strlen(request) > HOOP_APPROVAL_MAX_REQUEST) {
		hoop_why(v->reason, sizeof(v->reason), "needs approval (rule "
		    "%s), and the statement is too long to ask for it",
		    v->rule->name);
		goto out;
	}
	if (statement_fingerprint(v->via != NULL ? v->via->fingerprint :
	    st->fingerprint, request, strlen(request), fp) == -1 ||
	    hoop_approval_create(pw->store, pw->cfg, &svc) != HOOP_OK) {
		hoop_why(v->reason, sizeof(v->reason), "needs approval (rule "
		    "%s), and the approval service is not available",
		    v->rule->name);
		goto out;
	}
	op.session_id = pw->session_id;
	op.target = pw->target->name;
	op.request = request;
	op.fingerprint = fp;
	for (i = 0; i < v->d.n_approve_rules; i++) {
		memset(&res, 0, sizeof(res));
		op.rule = v->d.approve_rules[i];
		op.policy = policy_of(pw->cfg, op.rule);
		err = hoop_approval_obtain(svc, &pw->who, &op,
		    hoop_approval_wait_limit(pw->interactive), stderr, &res);
		if (err != HOOP_OK) {
			hoop_why(v->reason, sizeof(v->reason), "not approved "
			    "(request %s: %.200s)", res.id[0] ? res.id : "-",
			    res.reason[0] ? res.reason :
			    hoop_approval_status_name(res.status));
			v->rule = op.rule;
			goto out;
		}
		off += (size_t)snprintf(ids + off, off < sizeof(ids) ?
		    sizeof(ids) - off : 0, "%s%s", i ? ", " : "", res.id);
	}
	v->action = HOOP_ACTION_ALLOW;
	hoop_why(v->reason, sizeof(v->reason), "approved (request %s, rule "
	    "%s)", ids, v->rule->name);
out:
	hoop_approval_free(svc);
	free(request);
}

/* The message psql shows: the statement's tag and the rule. */
static void
refusal_text(char *buf, size_t len, const char *tag, const struct verdict *v)
{
	if (v->rule != NULL)
		snprintf(buf, len, "hoop: %s refused by rule \"%s\"%s%s%s: %s",
		    tag, v->rule->name, v->policy != NULL ? " of policy \"" :
		    "", v->policy != NULL ? v->policy->name : "",
		    v->policy != NULL ? "\"" : "", v->reason);
	else
		snprintf(buf, len, "hoop: %s refused: %s", tag, v->reason);
}

/* A statement the policy allows that masking cannot follow. */
static void
copy_refusal(struct verdict *v, const char *why)
{
	v->action = HOOP_ACTION_DENY;
	v->rule = NULL;
	v->policy = NULL;
	hoop_why(v->reason, sizeof(v->reason), "%s", why);
}

/* ---- Refusals ---- */

/* A refusal in the extended protocol: in order with what the server still
 * owes for this batch, then nothing more until Sync. */
static int
refuse_extended(struct pgwrap *pw, struct pgwrap_conn *c, const char *msg)
{
	char name[64];
	struct hoop_pg_buf *b = &c->sout;

	c->discard_until_sync = 1;
	if (!c->batch_open) {
		c->discard_poisoned = 0;
		return pgwrap_local_error(c, "ERROR", "42501", msg, NULL,
		    NULL, 0);
	}
	if (c->n_poison == sizeof(c->poison) / sizeof(c->poison[0])) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: too many "
		    "refusals waiting for the server");
		return -1;
	}
	snprintf(name, sizeof(name), "hoop_refused_%s", pw->nonce);
	if (hoop_pg_put_bind(b, "", name, NULL, 0, NULL, 0, NULL, 0) !=
	    HOOP_OK || pgwrap_expect_push(pw, c, EXPECT_BIND, OWNER_CLIENT,
	    NULL) == -1 || (c->poison[c->n_poison].msg = strdup(msg)) == NULL)
		return -1;
	c->poison[c->n_poison++].z = c->z_expected + 1;
	c->discard_poisoned = 1;
	return 0;
}

/* A refusal of a Query or FunctionCall: error and ReadyForQuery. */
static int
refuse_simple(struct pgwrap_conn *c, const char *sqlstate, const char *msg)
{
	return pgwrap_local_error(c, "ERROR", sqlstate, msg, NULL, NULL, 1);
}

static int
audit_failed(struct pgwrap_conn *c)
{
	snprintf(c->why_end, sizeof(c->why_end), "hoop: cannot write the "
	    "audit log: ending the session");
	return -1;
}

/* A query hoop cannot parse or check. */
static int
unparsable(struct pgwrap *pw, struct pgwrap_conn *c, const char *text,
    size_t len, hoop_err_t err, const char *why, int extended)
{
	char msg[512];
	const char *code = err == HOOP_ERR_INVAL ? "42601" :
	    err == HOOP_ERR_TOOBIG ? "54000" : "XX000";

	snprintf(msg, sizeof(msg), "hoop: cannot check the statement: %s",
	    why);
	if (audit_decision(pw, NULL, text, len, "deny", NULL, why,
	    extended ? "extended" : "simple", NULL, NULL) == -1)
		return audit_failed(c);
	if (extended) {
		/* The same order rule as any refusal; the SQLSTATE is the
		 * parser's. */
		if (!c->batch_open) {
			c->discard_until_sync = 1;
			c->discard_poisoned = 0;
			return pgwrap_local_error(c, "ERROR", code, msg, NULL,
			    NULL, 0);
		}
		return refuse_extended(pw, c, msg);
	}
	return refuse_simple(c, code, msg);
}

static int
push_result(struct pgwrap_conn *c, const struct hoop_sql_stmt *st,
    const struct pgwrap_prepared *p, int64_t seq, uint64_t z)
{
	struct pgwrap_result *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->z = z;
	r->decision_seq = seq;
	r->start_us = pgwrap_now_us();
	if (st != NULL) {
		snprintf(r->fingerprint, sizeof(r->fingerprint), "%s",
		    st->fingerprint);
		r->text = cap_text(st->text, st->text_len);
	} else {
		snprintf(r->fingerprint, sizeof(r->fingerprint), "%s",
		    p->fingerprint);
		r->text = strdup(p->text);
	}
	if (r->text == NULL) {
		free(r);
		return -1;
	}
	if (c->res_tail != NULL)
		c->res_tail->next = r;
	else
		c->res_head = r;
	c->res_tail = r;
	return 0;
}

/* ---- Simple Query ---- */

/* A COPY TO STDOUT whose data must go through the masks. */
static int
copy_out_masked(const struct pgwrap *pw, const struct hoop_sql_stmt *st)
{
	return pw->mask != NULL && (st->flags & HOOP_SQL_F_COPY_OUT) != 0;
}

int
pgwrap_on_query(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_query q;
	hoop_sql_t *sql = NULL;
	struct verdict *v = NULL;
	const struct hoop_sql_stmt *st;
	struct pgwrap_copy_slot *slots = NULL;
	struct pgwrap_expect *x;
	int64_t *seq = NULL;
	char why[512], msg[1024];
	size_t i, n, refused = (size_t)-1, n_copies = 0;
	hoop_err_t err;
	int ret = -1;

	if (c->discard_until_sync)
		return 0;	/* the server would skip it too */
	if (c->batch_open) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: a simple Query "
		    "inside an unfinished extended-protocol batch is not "
		    "supported");
		return -1;
	}
	if (hoop_pg_parse_query(m, &q, why, sizeof(why)) != HOOP_OK) {
		hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s", why);
		return -1;
	}
	if ((err = hoop_sql_parse(q.sql, q.sql_len, &sql, why, sizeof(why))) !=
	    HOOP_OK)
		return unparsable(pw, c, q.sql, q.sql_len, err, why, 0);
	n = hoop_sql_count(sql);
	if (n > 0 && ((v = calloc(n, sizeof(*v))) == NULL ||
	    (seq = calloc(n, sizeof(*seq))) == NULL))
		goto out;
	for (i = 0; i < n; i++)
		n_copies += copy_out_masked(pw, hoop_sql_stmt_at(sql, i));
	if (n_copies > 0 && (slots = calloc(n_copies, sizeof(*slots))) ==
	    NULL)
		goto out;
	for (i = 0, n_copies = 0; i < n; i++) {
		st = hoop_sql_stmt_at(sql, i);
		decide(pw, c, st, &v[i]);
		if (copy_out_masked(pw, st) && (err = hoop_mask_copy_statement(
		    st->text, st->text_len, &slots[n_copies++].st, why,
		    sizeof(why))) != HOOP_OK) {
			if (err == HOOP_ERR_NOMEM)
				goto out;
			snprintf(msg, sizeof(msg), "COPY TO STDOUT while masks "
			    "apply: %s", why);
			copy_refusal(&v[i], msg);
		}
		if (v[i].action == HOOP_ACTION_DENY && refused == (size_t)-1)
			refused = i;
	}
	/* Approvals only for a message nothing refuses. */
	for (i = 0; refused == (size_t)-1 && i < n; i++) {
		if (v[i].action != HOOP_ACTION_APPROVE)
			continue;
		obtain_approval(pw, hoop_sql_stmt_at(sql, i), &v[i]);
		if (v[i].action != HOOP_ACTION_ALLOW)
			refused = i;
	}
	if (refused != (size_t)-1) {
		for (i = 0; i < n; i++) {
			st = hoop_sql_stmt_at(sql, i);
			if (i != refused)
				snprintf(why, sizeof(why), "not run: statement "
				    "%zu of the query was refused", refused + 1);
			if (audit_decision(pw, st, st->text, st->text_len,
			    "deny", i == refused ? &v[i] : NULL, i == refused ?
			    v[i].reason : why, "simple", NULL, NULL) == -1) {
				ret = audit_failed(c);
				goto out;
			}
		}
		st = hoop_sql_stmt_at(sql, refused);
		refusal_text(msg, sizeof(msg), st->tag, &v[refused]);
		ret = refuse_simple(c, "42501", msg);
		goto out;
	}
	for (i = 0; i < n; i++) {
		st = hoop_sql_stmt_at(sql, i);
		if (audit_decision(pw, st, st->text, st->text_len, "allow",
		    &v[i], v[i].reason, "simple", NULL, &seq[i]) == -1) {
			ret = audit_failed(c);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		st = hoop_sql_stmt_at(sql, i);
		if (track_effects(c, st, seq[i]) == -1 ||
		    push_result(c, st, NULL, seq[i], c->z_expected + 1) == -1)
			goto out;
	}
	/* Masks: the columns of each COPY TO STDOUT, described first. */
	if (pgwrap_copy_describe(pw, c, slots, n_copies) == -1 ||
	    pgwrap_forward(&c->sout, m) == -1 ||
	    pgwrap_expect_push(pw, c, EXPECT_QUERY, OWNER_CLIENT, &x) == -1)
		goto out;
	if (x != NULL) {
		x->copies = slots;
		x->n_copies = n_copies;
		slots = NULL;
	}
	c->z_expected++;
	ret = 0;
out:
	if (ret == -1 && c->why_end[0] == '\0')
		snprintf(c->why_end, sizeof(c->why_end), "hoop: out of memory");
	for (i = 0; slots != NULL && i < n_copies; i++)
		hoop_mask_copy_statement_release(&slots[i].st);
	free(slots);
	free(v);
	free(seq);
	hoop_sql_free(sql);
	return ret;
}

/* ---- Extended protocol ---- */

/* What the server answers each extended message with. */
static int
expect_of(unsigned char type, enum pgwrap_expect_kind *kind)
{
	switch (type) {
	case HOOP_PG_F_PARSE:		*kind = EXPECT_PARSE; return 1;
	case HOOP_PG_F_BIND:		*kind = EXPECT_BIND; return 1;
	case HOOP_PG_F_DESCRIBE:	*kind = EXPECT_DESCRIBE; return 1;
	case HOOP_PG_F_EXECUTE:		*kind = EXPECT_EXECUTE; return 1;
	case HOOP_PG_F_CLOSE:		*kind = EXPECT_CLOSE; return 1;
	case HOOP_PG_F_SYNC:		*kind = EXPECT_SYNC; return 1;
	default:			return 0;	/* Flush */
	}
}

static int
pass(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m,
    struct pgwrap_expect **x)
{
	enum pgwrap_expect_kind kind;

	if (x != NULL)
		*x = NULL;
	if (pgwrap_forward(&c->sout, m) == -1 || (expect_of(m->type, &kind) &&
	    pgwrap_expect_push(pw, c, kind, OWNER_CLIENT, x) == -1)) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: out of memory");
		return -1;
	}
	if (m->type == HOOP_PG_F_SYNC) {
		c->z_expected++;
		c->batch_open = 0;
		c->batch_failed = 0;
	} else {
		c->batch_open = 1;
	}
	return 0;
}

static int
on_parse(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m)
{
	struct hoop_pg_parse p = { 0 };
	const struct hoop_sql_stmt *st;
	hoop_sql_t *sql = NULL;
	struct verdict v;
	int64_t seq = 0;
	char why[512], msg[1024];
	hoop_err_t err;
	int ret = -1;

	if (hoop_pg_parse_parse(m, &p, why, sizeof(why)) != HOOP_OK) {
		hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s", why);
		goto out;
	}
	if ((err = hoop_sql_parse(p.query, p.query_len, &sql, why,
	    sizeof(why))) != HOOP_OK) {
		ret = unparsable(pw, c, p.query, p.query_len, err, why, 1);
		goto out;
	}
	if (hoop_sql_count(sql) > 1) {
		ret = unparsable(pw, c, p.query, p.query_len, HOOP_ERR_INVAL,
		    "a prepared statement holds one statement", 1);
		goto out;
	}
	if (p.name[0] != '\0' && c->n_prepared >= PGWRAP_MAX_PREPARED &&
	    entry_find(c->prepared, c->n_prepared, p.name) == NULL) {
		ret = unparsable(pw, c, p.query, p.query_len, HOOP_ERR_TOOBIG,
		    "too many prepared statements", 1);
		goto out;
	}
	if (hoop_sql_count(sql) == 0) {
		/* An empty statement runs nothing. */
		if (remember(c, 0, p.name, NULL, "", 0, NULL, "EMPTY", 0) ==
		    -1 || pass(pw, c, m, NULL) == -1)
			goto out;
		ret = 0;
		goto out;
	}
	st = hoop_sql_stmt_at(sql, 0);
	decide(pw, c, st, &v);
	if (v.action == HOOP_ACTION_APPROVE)
		obtain_approval(pw, st, &v);
	if (v.action == HOOP_ACTION_ALLOW && pw->mask != NULL &&
	    (st->flags & HOOP_SQL_F_COPY_OUT))
		copy_refusal(&v, "COPY TO STDOUT through the extended protocol "
		    "is not masked: send it as a simple query (psql's \\copy)");
	if (v.action != HOOP_ACTION_ALLOW) {
		if (audit_decision(pw, st, st->text, st->text_len, "deny", &v,
		    v.reason, "extended", p.name, NULL) == -1) {
			ret = audit_failed(c);
			goto out;
		}
		refusal_text(msg, sizeof(msg), st->tag, &v);
		ret = refuse_extended(pw, c, msg);
		goto out;
	}
	if (audit_decision(pw, st, st->text, st->text_len, "allow", &v,
	    v.reason, "extended", p.name, &seq) == -1) {
		ret = audit_failed(c);
		goto out;
	}
	if (track_effects(c, st, seq) == -1)
		goto out;
	/* Kept as parsed: an EXECUTE of it is decided from this (an
	 * EXECUTE kept here decides as unknown). */
	err = remember(c, 0, p.name, sql, st->text, st->text_len,
	    st->fingerprint, NULL, seq) == -1 ? HOOP_ERR_NOMEM : HOOP_OK;
	sql = NULL;
	if (err != HOOP_OK)
		goto out;
	ret = pass(pw, c, m, NULL);
out:
	if (ret == -1 && c->why_end[0] == '\0')
		snprintf(c->why_end, sizeof(c->why_end), "hoop: out of memory");
	hoop_pg_parse_release(&p);
	hoop_sql_free(sql);
	return ret;
}

/*
 * While masks apply: the plan of a portal's rows, from its statement's
 * columns and the Bind's result formats. The first Bind of a statement
 * sends hoop's Describe of it (and a Flush, so that the answer comes
 * now) and waits: 1. 0: *out set (NULL while no mask applies, or when
 * the server skips this batch anyway); -1: refused, msg says why; -2:
 * out of memory.
 */
static int
bind_plan(struct pgwrap *pw, struct pgwrap_conn *c, struct pgwrap_prepared *e,
    const struct hoop_pg_bind *b, struct pgwrap_rplan **out, char *msg,
    size_t msglen)
{
	struct hoop_pg_row_description rd = { 0 };
	struct pgwrap_rplan *rp = NULL;
	struct pgwrap_expect *x;
	char why[256];
	hoop_err_t err;
	int ret = -2;

	*out = NULL;
	if (pw->mask == NULL || c->batch_failed)
		return 0;
	if (e->sql != NULL && e->described == 0) {
		if (hoop_pg_put_target(&c->sout, HOOP_PG_F_DESCRIBE, 'S',
		    e->name) != HOOP_OK ||
		    hoop_pg_put_empty(&c->sout, HOOP_PG_F_FLUSH) != HOOP_OK ||
		    pgwrap_expect_push(pw, c, EXPECT_DESCRIBE, OWNER_HOOP, &x) ==
		    -1 || (x->statement = strdup(e->name)) == NULL)
			return -2;
		/* A refusal now must go through the server, after it. */
		c->batch_open = 1;
		e->described = 1;
	}
	if (e->sql != NULL && e->described == 1) {
		c->waiting = 1;
		return 1;
	}
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		goto out;
	rp->refs = 1;
	if (e->sql != NULL && e->desc.len > 0) {
		if (pgwrap_kept_description(&e->desc, &rd, why, sizeof(why)) ==
		    -1) {
			err = HOOP_ERR_INVAL;
		} else {
			err = hoop_mask_plan_create(pw->mask, rd.fields,
			    rd.nfields, b->result_formats, (int)b->nresults,
			    &rp->plan, why, sizeof(why));
		}
		if (err == HOOP_ERR_NOMEM)
			goto out;
		if (err != HOOP_OK) {
			snprintf(msg, msglen, "hoop: BIND refused: result "
			    "refused by masking: %s", why);
			ret = -1;
			goto out;
		}
	}
	*out = rp;
	rp = NULL;
	ret = 0;
out:
	pgwrap_rplan_release(rp);
	hoop_pg_row_description_release(&rd);
	return ret;
}

static int
on_bind(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m)
{
	struct hoop_pg_bind b = { 0 };
	struct pgwrap_prepared *e;
	struct pgwrap_rplan *rp = NULL;
	const char *reason;
	char why[256], msg[512];
	int ret = -1, r;

	if (hoop_pg_parse_bind(m, &b, why, sizeof(why)) != HOOP_OK) {
		hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s", why);
		goto out;
	}
	e = entry_find(c->prepared, c->n_prepared, b.statement);
	reason = NULL;
	if (e == NULL) {
		snprintf(msg, sizeof(msg), "hoop: BIND refused: prepared "
		    "statement \"%.64s\" is not one hoop allowed",
		    b.statement);
		reason = "unknown prepared statement";
	} else if ((r = bind_plan(pw, c, e, &b, &rp, msg, sizeof(msg))) ==
	    1) {
		ret = 1;
		goto out;
	} else if (r == -2) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: out of memory");
		goto out;
	} else if (r == -1) {
		reason = "result refused by masking";
	}
	if (reason != NULL) {
		if (audit_decision(pw, NULL, msg + 6, strlen(msg + 6), "deny",
		    NULL, reason, "extended", b.statement, NULL) == -1) {
			ret = audit_failed(c);
			goto out;
		}
		ret = refuse_extended(pw, c, msg);
		goto out;
	}
	if (remember(c, 1, b.portal, NULL, e->text, strlen(e->text),
	    e->fingerprint, NULL, e->decision_seq) == -1) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: too many "
		    "portals");
		goto out;
	}
	entry_find(c->portals, c->n_portals, b.portal)->rplan = rp;
	rp = NULL;
	ret = pass(pw, c, m, NULL);
out:
	pgwrap_rplan_release(rp);
	hoop_pg_bind_release(&b);
	return ret;
}

static int
on_execute(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_execute x;
	const struct pgwrap_prepared *e;
	struct pgwrap_expect *ex;
	char why[256], msg[512];

	if (hoop_pg_parse_execute(m, &x, why, sizeof(why)) != HOOP_OK) {
		hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s", why);
		return -1;
	}
	e = entry_find(c->portals, c->n_portals, x.portal);
	if (e == NULL) {
		snprintf(msg, sizeof(msg), "hoop: EXECUTE refused: portal "
		    "\"%.64s\" is not one hoop allowed", x.portal);
		if (audit_decision(pw, NULL, msg + 6, strlen(msg + 6), "deny",
		    NULL, "unknown portal", "extended", x.portal, NULL) == -1)
			return audit_failed(c);
		return refuse_extended(pw, c, msg);
	}
	/* An empty statement gives EmptyQueryResponse, nothing to track. */
	if (e->text[0] != '\0' && push_result(c, NULL, e, e->decision_seq,
	    c->z_expected + 1) == -1) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: out of memory");
		return -1;
	}
	if (pass(pw, c, m, &ex) == -1)
		return -1;
	/* Its rows go by the plan the portal got at its Bind. */
	if (ex != NULL && (ex->rplan = e->rplan) != NULL)
		ex->rplan->refs++;
	return 0;
}

int
pgwrap_on_extended(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_target t;
	char why[256];

	if (c->discard_until_sync) {
		if (m->type != HOOP_PG_F_SYNC)
			return 0;
		c->discard_until_sync = 0;
		if (c->discard_poisoned) {
			/* The server fails the batch at the poisoned Bind;
			 * its ReadyForQuery closes it. */
			c->discard_poisoned = 0;
			return pass(pw, c, m, NULL);
		}
		c->batch_open = 0;
		return pgwrap_local_ready(c);
	}
	switch (m->type) {
	case HOOP_PG_F_PARSE:
		return on_parse(pw, c, m);
	case HOOP_PG_F_BIND:
		return on_bind(pw, c, m);
	case HOOP_PG_F_EXECUTE:
		return on_execute(pw, c, m);
	case HOOP_PG_F_CLOSE:
		if (hoop_pg_parse_close(m, &t, why, sizeof(why)) != HOOP_OK) {
			hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s",
			    why);
			return -1;
		}
		if (t.kind == 'S')
			entry_drop(c->prepared, &c->n_prepared, t.name);
		else
			entry_drop(c->portals, &c->n_portals, t.name);
		return pass(pw, c, m, NULL);
	case HOOP_PG_F_DESCRIBE:
		if (hoop_pg_parse_describe(m, &t, why, sizeof(why)) != HOOP_OK) {
			hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s",
			    why);
			return -1;
		}
		return pass(pw, c, m, NULL);
	default:	/* Flush, Sync */
		return pass(pw, c, m, NULL);
	}
}

int
pgwrap_on_function_call(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_function_call f = { 0 };
	char why[256], action[64];
	int ret = -1;

	if (c->discard_until_sync)
		return 0;
	if (hoop_pg_parse_function_call(m, &f, why, sizeof(why)) != HOOP_OK) {
		hoop_why(c->why_end, sizeof(c->why_end), "hoop: %s", why);
		goto out;
	}
	snprintf(action, sizeof(action), "FunctionCall %u", f.oid);
	if (pgwrap_audit(pw, action, "deny", NULL, "the FunctionCall message "
	    "is refused: no rule can allow it", "{\"protocol\":\"function\"}",
	    NULL) == -1) {
		ret = audit_failed(c);
		goto out;
	}
	if (c->batch_open) {
		snprintf(c->why_end, sizeof(c->why_end), "hoop: FunctionCall "
		    "refused");
		goto out;
	}
	ret = refuse_simple(c, "42501", "hoop: the FunctionCall message is "
	    "refused (call the function in a statement)");
out:
	hoop_pg_function_call_release(&f);
	return ret;
}

/* ---- Results ---- */

static void
result_event(struct pgwrap *pw, struct pgwrap_conn *c, const char *reason,
    const char *tag)
{
	struct pgwrap_result *r = c->res_head;
	const char *num;
	json_t *o;
	char *detail = NULL;
	long long rows = -1;

	if (r == NULL)
		return;
	c->res_head = r->next;
	if (c->res_head == NULL)
		c->res_tail = NULL;
	if (tag != NULL && (num = strrchr(tag, ' ')) != NULL &&
	    num[1] != '\0' && strspn(num + 1, "0123456789") ==
	    strlen(num + 1))
		rows = strtoll(num + 1, NULL, 10);
	else if (tag == NULL)
		rows = (long long)c->rows;
	o = json_pack("{s:s,s:s?,s:o,s:f,s:I,s:I}", "fingerprint",
	    r->fingerprint, "tag", tag, "rows", rows >= 0 ? json_integer(rows) :
	    json_null(), "duration_ms", (double)(pgwrap_now_us() -
	    r->start_us) / 1000.0, "decision_seq", (json_int_t)r->decision_seq,
	    "masked", (json_int_t)c->masked);
	if (o != NULL) {
		detail = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
		json_decref(o);
	}
	/* Written with the next decision, or when the loop is idle or the
	 * connection closes. */
	if (pending_push(pw, c, r->text, reason, detail) == -1 ||
	    (pw->n_pending >= PGWRAP_PENDING_MAX &&
	    pgwrap_audit_flush(pw) == -1)) {
		if (c->state != CONN_CLOSING)
			pgwrap_conn_fatal(pw, c, "58000", "hoop: cannot "
			    "write the audit log: ending the session");
	}
	free(r->tag);
	free(r);
	c->rows = 0;
}

void
pgwrap_on_complete(struct pgwrap *pw, struct pgwrap_conn *c, const char *tag,
    int suspended)
{
	if (c->res_head == NULL || c->res_head->z != c->z_seen + 1)
		return;
	result_event(pw, c, suspended ? "suspended" : "completed", tag);
}

void
pgwrap_on_server_error(struct pgwrap *pw, struct pgwrap_conn *c,
    const char *sqlstate, const char *message)
{
	char reason[160];

	(void)message;
	if (c->res_head == NULL || c->res_head->z != c->z_seen + 1)
		return;
	snprintf(reason, sizeof(reason), "failed: SQLSTATE %s", sqlstate);
	result_event(pw, c, reason, NULL);
}

void
pgwrap_on_ready(struct pgwrap *pw, struct pgwrap_conn *c)
{
	struct pgwrap_result *r;

	(void)pw;
	/* What the server skipped after an error never ran. */
	while ((r = c->res_head) != NULL && r->z <= c->z_seen) {
		c->res_head = r->next;
		free(r->tag);
		free(r->text);
		free(r);
	}
	if (c->res_head == NULL)
		c->res_tail = NULL;
	/* A poisoned Bind the server skipped (an earlier error of its
	 * batch) refused nothing it would have run. */
	while (c->n_poison > 0 && c->poison[0].z <= c->z_seen) {
		free(c->poison[0].msg);
		memmove(c->poison, c->poison + 1, (c->n_poison - 1) *
		    sizeof(c->poison[0]));
		c->n_poison--;
	}
	c->rows = 0;
	c->copy_in = 0;
}
