/*
 * Results on their way to the client while masks apply (lib/mask.c).
 *
 * The server answers every message in order, so hoop keeps a queue of
 * what it still owes: for each message sent, its kind and who sent it.
 * That is how each result finds its plan (a simple Query's rows by the
 * RowDescription before them; an Execute's rows by the plan its portal
 * got at Bind), and how the answers to hoop's own messages are kept
 * from the client:
 *
 *  - Bind: the plan needs the statement's columns, with their table
 *    and attribute numbers, and the Bind's result formats. Before the
 *    first Bind of a statement hoop sends its own Describe and a Flush,
 *    and the Bind waits for the answer; a plan that must be refused
 *    (a masked column in binary, mask_computed = refuse) refuses the
 *    Bind, so the server fails the batch there and nothing of it runs
 *    after. The answer is kept until the statement goes or DDL runs.
 *  - COPY ... TO STDOUT in a simple Query: its options are read
 *    (hoop_mask_copy_statement) and its columns described before the
 *    Query is sent, with a Parse, Describe, Close and Sync of hoop's
 *    own (a batch of its own: every answer kept, the ReadyForQuery
 *    too); the CopyData rows are then masked by column.
 *
 * After an error the server skips the rest of the batch up to Sync:
 * what the queue holds for it is dropped. Anything that does not fit
 * the queue ends the connection: a row must never meet the wrong plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_log.h"
#include "pgwrap.h"

/* ---- The queue ---- */

static void
slots_free(struct pgwrap_copy_slot *s, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		hoop_mask_copy_statement_release(&s[i].st);
		hoop_pg_buf_free(&s[i].desc);
	}
	free(s);
}

void
pgwrap_rplan_release(struct pgwrap_rplan *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	hoop_mask_plan_free(r->plan);
	free(r);
}

static void
expect_free(struct pgwrap_expect *x)
{
	free(x->statement);
	pgwrap_rplan_release(x->rplan);
	slots_free(x->copies, x->n_copies);
	free(x);
}

int
pgwrap_expect_push(struct pgwrap *pw, struct pgwrap_conn *c,
    enum pgwrap_expect_kind kind, enum pgwrap_owner owner,
    struct pgwrap_expect **out)
{
	struct pgwrap_expect *x;

	if (out != NULL)
		*out = NULL;
	if (pw->mask == NULL)
		return 0;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->kind = kind;
	x->owner = owner;
	if (c->exp_tail != NULL)
		c->exp_tail->next = x;
	else
		c->exp_head = x;
	c->exp_tail = x;
	if (out != NULL)
		*out = x;
	return 0;
}

/* A Describe of hoop's own that will never be answered (the server
 * skips it): the Bind waiting for it goes on, and the server skips it
 * too. */
static void
skipped(struct pgwrap_conn *c, struct pgwrap_expect *x)
{
	if (x->kind == EXPECT_DESCRIBE && x->owner == OWNER_HOOP) {
		pgwrap_describe_reset(c, x->statement);
		c->waiting = 0;
	}
}

static void
expect_pop(struct pgwrap_conn *c)
{
	struct pgwrap_expect *x = c->exp_head;

	c->exp_head = x->next;
	if (c->exp_head == NULL)
		c->exp_tail = NULL;
	expect_free(x);
}

void
pgwrap_expect_clear(struct pgwrap_conn *c)
{
	while (c->exp_head != NULL)
		expect_pop(c);
	hoop_mask_copy_free(c->copy);
	c->copy = NULL;
}

/* ---- Refusals ---- */

void
pgwrap_plan_end(struct pgwrap_conn *c)
{
	hoop_mask_plan_free(c->plan);
	c->plan = NULL;
	hoop_mask_copy_free(c->copy);
	c->copy = NULL;
}

/* The result on its way is refused: hoop's error in its place, its
 * rows and CommandComplete dropped. */
static int
mask_refuse(struct pgwrap *pw, struct pgwrap_conn *c, const char *why)
{
	char msg[512];

	pgwrap_plan_end(c);
	c->mask_refusing = 1;
	snprintf(msg, sizeof(msg), "hoop: result refused by masking: %s", why);
	hoop_log(LOG_NOTICE, "target %s: %s", pw->target->name, msg);
	if (hoop_pg_put_error(&c->cout, "ERROR", "42501", msg, NULL, NULL) !=
	    HOOP_OK)
		return -1;
	pgwrap_on_server_error(pw, c, "42501", msg);
	return 0;
}

static int
lost(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m)
{
	pgwrap_conn_fatal(pw, c, "08P01", "hoop: unexpected message '%c' from "
	    "the target while masks apply: ending the session", m->type);
	return PGWRAP_ANSWER_KEEP;
}

/* A message that may come only where fits says. */
static int
go_on_if(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m,
    int fits)
{
	return fits ? PGWRAP_ANSWER_GO_ON : lost(pw, c, m);
}

/* ---- Answers ---- */

/* A COPY's description failed in hoop's own batch: the slots not
 * described say why. */
static void
copy_describe_failed(struct pgwrap_conn *c, const char *sqlstate)
{
	struct pgwrap_expect *x;

	for (x = c->exp_head; x != NULL && x->kind != EXPECT_SYNC; x = x->next)
		if (x->slot != NULL && x->slot->desc.len == 0 &&
		    x->slot->why[0] == '\0')
			snprintf(x->slot->why, sizeof(x->slot->why), "hoop "
			    "could not describe the COPY's columns before it ran "
			    "(SQLSTATE %.5s): run it in a query of its own",
			    sqlstate != NULL ? sqlstate : "?");
}

/* ErrorResponse: the server skips the rest of an extended batch. */
static int
answer_error(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct pgwrap_expect *x = c->exp_head;
	struct hoop_pg_notice n;
	char why[128];
	int own;

	if (x == NULL)
		return PGWRAP_ANSWER_GO_ON;	/* FATAL at any time */
	if (x->kind == EXPECT_QUERY)
		return PGWRAP_ANSWER_GO_ON;
	own = x->owner == OWNER_HOOP_BATCH;
	if (own) {
		if (hoop_pg_parse_notice(m, &n, why, sizeof(why)) != HOOP_OK)
			return lost(pw, c, m);
		copy_describe_failed(c, n.field['C']);
	}
	while (c->exp_head != NULL && c->exp_head->kind != EXPECT_SYNC) {
		skipped(c, c->exp_head);
		expect_pop(c);
	}
	/* Nothing more of this batch was sent yet: what comes until the
	 * client's Sync is skipped too. */
	if (c->exp_head == NULL)
		c->batch_failed = 1;
	return own ? PGWRAP_ANSWER_KEEP : PGWRAP_ANSWER_GO_ON;
}

/* ReadyForQuery ends a Query or a batch, answered or skipped. */
static int
answer_ready(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct pgwrap_expect *x;
	int own;

	for (;;) {
		if ((x = c->exp_head) == NULL)
			return lost(pw, c, m);
		if (x->kind == EXPECT_SYNC || x->kind == EXPECT_QUERY)
			break;
		skipped(c, x);
		expect_pop(c);
	}
	own = x->owner == OWNER_HOOP_BATCH;
	expect_pop(c);
	return own ? PGWRAP_ANSWER_KEEP : PGWRAP_ANSWER_GO_ON;
}

/* RowDescription or NoData answering a Describe. */
static int
answer_describe(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct pgwrap_expect *x = c->exp_head;
	int r = PGWRAP_ANSWER_KEEP;

	if (x->owner == OWNER_CLIENT) {
		expect_pop(c);
		return PGWRAP_ANSWER_PASS;
	}
	if (x->slot != NULL) {
		if (m->type == HOOP_PG_B_NO_DATA)
			snprintf(x->slot->why, sizeof(x->slot->why), "the "
			    "COPY's query returns no rows");
		else if (pgwrap_forward(&x->slot->desc, m) == -1)
			r = -1;
	} else if (x->statement != NULL) {
		if (pgwrap_describe_done(c, x->statement,
		    m->type == HOOP_PG_B_NO_DATA ? NULL : m) == -1)
			r = -1;
		c->waiting = 0;
	}
	expect_pop(c);
	(void)pw;
	return r;
}

int
pgwrap_answer(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct pgwrap_expect *x = c->exp_head;
	enum pgwrap_expect_kind want;
	int own;

	switch (m->type) {
	case HOOP_PG_B_PARSE_COMPLETE:
	case HOOP_PG_B_BIND_COMPLETE:
	case HOOP_PG_B_CLOSE_COMPLETE:
		want = m->type == HOOP_PG_B_PARSE_COMPLETE ? EXPECT_PARSE :
		    m->type == HOOP_PG_B_BIND_COMPLETE ? EXPECT_BIND :
		    EXPECT_CLOSE;
		if (x == NULL || x->kind != want)
			return lost(pw, c, m);
		own = x->owner != OWNER_CLIENT;
		expect_pop(c);
		return own ? PGWRAP_ANSWER_KEEP : PGWRAP_ANSWER_PASS;
	case HOOP_PG_B_PARAMETER_DESCRIPTION:
		if (x == NULL || x->kind != EXPECT_DESCRIBE)
			return lost(pw, c, m);
		return x->owner != OWNER_CLIENT ? PGWRAP_ANSWER_KEEP :
		    PGWRAP_ANSWER_PASS;
	case HOOP_PG_B_NO_DATA:
	case HOOP_PG_B_ROW_DESCRIPTION:
		if (x != NULL && x->kind == EXPECT_DESCRIBE)
			return answer_describe(pw, c, m);
		return go_on_if(pw, c, m, x != NULL && x->kind == EXPECT_QUERY &&
		    m->type == HOOP_PG_B_ROW_DESCRIPTION);
	case HOOP_PG_B_COMMAND_COMPLETE:
	case HOOP_PG_B_EMPTY_QUERY:
	case HOOP_PG_B_PORTAL_SUSPENDED:
		if (x != NULL && x->kind == EXPECT_EXECUTE) {
			expect_pop(c);
			return PGWRAP_ANSWER_GO_ON;
		}
		return go_on_if(pw, c, m, x != NULL && x->kind == EXPECT_QUERY &&
		    m->type != HOOP_PG_B_PORTAL_SUSPENDED);
	case HOOP_PG_B_DATA_ROW:
	case HOOP_PG_B_COPY_OUT:
	case HOOP_PG_B_COPY_IN:
	case HOOP_PG_B_COPY_DATA:
	case HOOP_PG_B_COPY_DONE:
		return go_on_if(pw, c, m, x != NULL && (x->kind ==
		    EXPECT_EXECUTE || x->kind == EXPECT_QUERY));
	case HOOP_PG_B_ERROR:
		return answer_error(pw, c, m);
	case HOOP_PG_B_READY:
		return answer_ready(pw, c, m);
	default:
		return PGWRAP_ANSWER_GO_ON;
	}
}

/* ---- COPY ... TO STDOUT ---- */

int
pgwrap_copy_describe(struct pgwrap *pw, struct pgwrap_conn *c,
    struct pgwrap_copy_slot *slots, size_t n)
{
	static const enum pgwrap_expect_kind kinds[] = { EXPECT_PARSE,
	    EXPECT_DESCRIBE, EXPECT_CLOSE };
	struct pgwrap_expect *x;
	char name[64];
	size_t i, k;

	snprintf(name, sizeof(name), "hoop_copy_%s", pw->nonce);
	for (i = 0; i < n; i++) {
		if (hoop_pg_put_parse(&c->sout, name, slots[i].st.describe,
		    NULL, 0) != HOOP_OK ||
		    hoop_pg_put_target(&c->sout, HOOP_PG_F_DESCRIBE, 'S',
		    name) != HOOP_OK ||
		    hoop_pg_put_target(&c->sout, HOOP_PG_F_CLOSE, 'S', name) !=
		    HOOP_OK)
			return -1;
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (pgwrap_expect_push(pw, c, kinds[k],
			    OWNER_HOOP_BATCH, &x) == -1)
				return -1;
			x->slot = &slots[i];
		}
	}
	if (n == 0)
		return 0;
	if (hoop_pg_put_empty(&c->sout, HOOP_PG_F_SYNC) != HOOP_OK ||
	    pgwrap_expect_push(pw, c, EXPECT_SYNC, OWNER_HOOP_BATCH, NULL) ==
	    -1)
		return -1;
	return 0;
}

/* The columns of a description hoop kept (a whole RowDescription). */
int
pgwrap_kept_description(const struct hoop_pg_buf *b,
    struct hoop_pg_row_description *rd, char *why, size_t whylen)
{
	struct hoop_pg_msg m;

	if (hoop_pg_frame(b->data, b->len, 0, &m, NULL, why, whylen) !=
	    HOOP_PG_FRAME_OK || hoop_pg_parse_row_description(&m, rd, why,
	    whylen) != HOOP_OK)
		return -1;
	return 0;
}

static int
copy_out(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m)
{
	struct pgwrap_expect *x = c->exp_head;
	struct hoop_pg_copy_response cr = { 0 };
	struct pgwrap_copy_slot *slot;
	char why[256];
	hoop_err_t err;
	int r = -1;

	pgwrap_plan_end(c);
	c->mask_refusing = 0;
	if (x->kind != EXPECT_QUERY) {
		pgwrap_conn_fatal(pw, c, "42501", "hoop: COPY TO STDOUT through "
		    "the extended protocol is not masked: ending the session");
		return 0;
	}
	if (x->next_copy >= x->n_copies)
		return mask_refuse(pw, c, "a COPY TO STDOUT hoop did not see in "
		    "the query");
	slot = &x->copies[x->next_copy++];
	if (slot->desc.len == 0)
		return mask_refuse(pw, c, slot->why[0] ? slot->why : "the "
		    "COPY's columns are not known");
	if (hoop_pg_parse_copy_response(m, &cr, why, sizeof(why)) != HOOP_OK ||
	    pgwrap_kept_description(&slot->desc, &c->rd, why, sizeof(why)) ==
	    -1) {
		r = mask_refuse(pw, c, why);
		goto out;
	}
	if (cr.ncols != c->rd.nfields || (cr.format != 0) !=
	    (slot->st.fmt.kind == HOOP_MASK_COPY_BINARY)) {
		snprintf(why, sizeof(why), "the COPY sends %u columns in %s, "
		    "hoop expected %u in %s (generated columns are left out "
		    "of a COPY without a column list: name the columns)",
		    (unsigned)cr.ncols, cr.format ? "binary" : "text",
		    (unsigned)c->rd.nfields, slot->st.fmt.kind ==
		    HOOP_MASK_COPY_BINARY ? "binary" : "text");
		r = mask_refuse(pw, c, why);
		goto out;
	}
	err = hoop_mask_copy_start(pw->mask, c->rd.fields, c->rd.nfields,
	    &slot->st.fmt, &c->copy, why, sizeof(why));
	if (err == HOOP_ERR_NOMEM)
		goto out;
	if (err != HOOP_OK) {
		r = mask_refuse(pw, c, why);
		goto out;
	}
	c->masked = hoop_mask_copy_masked(c->copy);
	r = pgwrap_forward(&c->cout, m);
out:
	hoop_pg_copy_response_release(&cr);
	return r;
}

static int
copy_data(struct pgwrap *pw, struct pgwrap_conn *c, const struct hoop_pg_msg *m)
{
	char why[256];
	hoop_err_t err;

	if (c->mask_refusing)
		return 0;
	if (c->copy == NULL)
		return mask_refuse(pw, c, "COPY data without a COPY");
	if (m->type == HOOP_PG_B_COPY_DATA)
		err = hoop_mask_copy_data(c->copy, m->body, m->len, &c->cout,
		    why, sizeof(why));
	else
		err = hoop_mask_copy_end(c->copy, &c->cout, why, sizeof(why));
	if (err == HOOP_ERR_NOMEM)
		return -1;
	/* The client is in COPY mode: an ErrorResponse ends it there. */
	if (err != HOOP_OK)
		return mask_refuse(pw, c, why);
	if (m->type == HOOP_PG_B_COPY_DONE) {
		pgwrap_plan_end(c);
		return pgwrap_forward(&c->cout, m);
	}
	return 0;
}

/* ---- Rows ---- */

/* The plan for the rows on their way: a Query's own, or the portal's. */
static hoop_mask_plan_t *
row_plan(struct pgwrap_conn *c)
{
	struct pgwrap_expect *x = c->exp_head;

	if (x->kind == EXPECT_QUERY)
		return c->plan;
	if (x->rplan == NULL || x->rplan->plan == NULL)
		return NULL;
	c->masked = hoop_mask_plan_masked(x->rplan->plan);
	return x->rplan->plan;
}

/*
 * RowDescription (of a Query) gives the plan of the DataRows that
 * follow; CopyOutResponse starts a COPY stream; DataRow and CopyData
 * go through them.
 */
int
pgwrap_mask_message(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	hoop_mask_plan_t *plan;
	char why[256];
	hoop_err_t err;

	if (pw->mask == NULL)
		return pgwrap_forward(&c->cout, m);
	switch (m->type) {
	case HOOP_PG_B_ROW_DESCRIPTION:
		pgwrap_plan_end(c);
		c->mask_refusing = 0;
		if (hoop_pg_parse_row_description(m, &c->rd, why, sizeof(why)) !=
		    HOOP_OK)
			return mask_refuse(pw, c, why);
		err = hoop_mask_plan_create(pw->mask, c->rd.fields,
		    c->rd.nfields, NULL, -1, &c->plan, why, sizeof(why));
		if (err == HOOP_ERR_NOMEM)
			return -1;
		if (err != HOOP_OK)
			return mask_refuse(pw, c, why);
		c->masked = hoop_mask_plan_masked(c->plan);
		return pgwrap_forward(&c->cout, m);
	case HOOP_PG_B_DATA_ROW:
		if (c->mask_refusing)
			return 0;
		if ((plan = row_plan(c)) == NULL)
			return mask_refuse(pw, c, "rows came without a "
			    "description hoop could plan them by");
		if (hoop_mask_plan_passes(plan))
			return pgwrap_forward(&c->cout, m);
		err = hoop_mask_data_row(plan, m, &c->cout, why, sizeof(why));
		if (err == HOOP_ERR_NOMEM)
			return -1;
		if (err != HOOP_OK)
			return mask_refuse(pw, c, why);
		return 0;
	case HOOP_PG_B_COPY_OUT:
		return copy_out(pw, c, m);
	default:	/* CopyData, CopyDone */
		return copy_data(pw, c, m);
	}
}

/* ---- Text beside the results ---- */

/* One field of an error, a notice or a notification, through the masks'
 * patterns (redacted when the search cannot finish). */
static int
put_masked(struct pgwrap *pw, struct hoop_pg_buf *b, const unsigned char *p,
    size_t len)
{
	const unsigned char *res = p;
	size_t rlen = len;
	int changed;

	if (hoop_mask_set_text(pw->mask, p, len, &res, &rlen, &changed) !=
	    HOOP_OK) {
		res = (const unsigned char *)HOOP_MASK_REDACTED;
		rlen = strlen(HOOP_MASK_REDACTED);
	}
	if (hoop_pg_buf_reserve(b, rlen + 1) != HOOP_OK)
		return -1;
	memcpy(b->data + b->len, res, rlen);
	b->len += rlen;
	b->data[b->len++] = '\0';
	return 0;
}

/* ErrorResponse and NoticeResponse: message, detail, hint and context
 * through the masks' patterns; DETAIL dropped while column masks apply
 * (it may quote a row, as a unique violation does). */
int
pgwrap_forward_notice(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	const unsigned char *p = m->body, *end = m->body + m->len, *z;
	struct hoop_pg_buf *b = &c->mbuf;
	size_t len;

	if (pw->mask == NULL)
		return pgwrap_forward(&c->cout, m);
	b->len = 0;
	while (p < end && *p != '\0') {
		if ((z = memchr(p + 1, '\0', (size_t)(end - p - 1))) == NULL)
			return pgwrap_forward(&c->cout, m);	/* parsed before */
		len = (size_t)(z - p - 1);
		if (*p == 'D' && hoop_mask_set_has_columns(pw->mask)) {
			p = z + 1;
			continue;
		}
		if (hoop_pg_buf_reserve(b, 1) != HOOP_OK)
			return -1;
		b->data[b->len++] = *p;
		if (*p == 'M' || *p == 'D' || *p == 'H' || *p == 'W') {
			if (put_masked(pw, b, p + 1, len) == -1)
				return -1;
		} else {
			if (hoop_pg_buf_reserve(b, len + 1) != HOOP_OK)
				return -1;
			memcpy(b->data + b->len, p + 1, len + 1);
			b->len += len + 1;
		}
		p = z + 1;
	}
	if (hoop_pg_buf_reserve(b, 1) != HOOP_OK)
		return -1;
	b->data[b->len++] = '\0';
	return hoop_pg_put_message(&c->cout, m->type, b->data, b->len) ==
	    HOOP_OK ? 0 : -1;
}

/* NotificationResponse (LISTEN/NOTIFY): the payload through the masks'
 * patterns, as for a computed column. */
int
pgwrap_forward_notification(struct pgwrap *pw, struct pgwrap_conn *c,
    const struct hoop_pg_msg *m)
{
	struct hoop_pg_notification n;
	struct hoop_pg_buf *b = &c->mbuf;
	char why[128];
	size_t clen;

	if (pw->mask == NULL)
		return pgwrap_forward(&c->cout, m);
	if (hoop_pg_parse_notification(m, &n, why, sizeof(why)) != HOOP_OK) {
		pgwrap_conn_fatal(pw, c, "08P01", "hoop: malformed message "
		    "from the target (%s)", why);
		return 0;
	}
	clen = strlen(n.channel) + 1;
	b->len = 0;
	if (hoop_pg_buf_reserve(b, 4 + clen) != HOOP_OK)
		return -1;
	memcpy(b->data, m->body, 4);		/* the notifying backend */
	memcpy(b->data + 4, n.channel, clen);
	b->len = 4 + clen;
	if (put_masked(pw, b, (const unsigned char *)n.payload,
	    strlen(n.payload)) == -1)
		return -1;
	return hoop_pg_put_message(&c->cout, m->type, b->data, b->len) ==
	    HOOP_OK ? 0 : -1;
}

/* Statements that may change what a table oid or a view stands for. */
int
pgwrap_is_ddl(const char *tag)
{
	return strncmp(tag, "CREATE", 6) == 0 || strncmp(tag, "ALTER", 5) ==
	    0 || strncmp(tag, "DROP", 4) == 0 || strncmp(tag, "COMMENT", 7) ==
	    0 || strcmp(tag, "ROLLBACK") == 0;
}
