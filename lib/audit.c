#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_util.h"
#include "store_internal.h"

#define AUDIT_NFIELDS 10
#define AUDIT_DOMAIN "hoop-audit-v1"

static const char genesis_hash[HOOP_AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Column order shared by the INSERT, the SELECTs and the hash. */
#define AUDIT_COLUMNS "seq, time_us, session_id, principal, identity, " \
	"target, kind, action, decision, reason, rule, detail, prev_hash, hash"

static void
event_fields(const struct hoop_audit_event *ev,
    const char *fields[AUDIT_NFIELDS])
{
	fields[0] = ev->session_id;
	fields[1] = ev->principal;
	fields[2] = ev->identity;
	fields[3] = ev->target;
	fields[4] = ev->kind;
	fields[5] = ev->action;
	fields[6] = ev->decision;
	fields[7] = ev->reason;
	fields[8] = ev->rule;
	fields[9] = ev->detail;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* Unambiguous encoding: every field length-prefixed, NULL distinct from
 * the empty string, so no two different events hash alike. */
static hoop_err_t
audit_hash(int64_t seq, const struct hoop_audit_event *ev,
    const char *prev_hash, char out[HOOP_AUDIT_HASH_HEX + 1])
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	const char *fields[AUDIT_NFIELDS];
	unsigned char num[8], md[EVP_MAX_MD_SIZE], present;
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	size_t len;
	int i;

	event_fields(ev, fields);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, AUDIT_DOMAIN, sizeof(AUDIT_DOMAIN)) != 1)
		goto out;
	put_be64(num, (uint64_t)seq);
	if (EVP_DigestUpdate(ctx, num, 8) != 1)
		goto out;
	put_be64(num, (uint64_t)ev->time_us);
	if (EVP_DigestUpdate(ctx, num, 8) != 1)
		goto out;
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		present = fields[i] != NULL;
		len = present ? strlen(fields[i]) : 0;
		put_be64(num, len);
		if (EVP_DigestUpdate(ctx, &present, 1) != 1 ||
		    EVP_DigestUpdate(ctx, num, 8) != 1 ||
		    (len > 0 && EVP_DigestUpdate(ctx, fields[i], len) != 1))
			goto out;
	}
	if (EVP_DigestUpdate(ctx, prev_hash, HOOP_AUDIT_HASH_HEX) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	hoop_hex_encode(md, mdlen, out);
	ret = HOOP_OK;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static hoop_err_t
check_event(const struct hoop_audit_event *ev)
{
	const char *fields[AUDIT_NFIELDS];
	json_t *detail;
	int i;

	if (ev->kind == NULL || *ev->kind == '\0' || ev->decision == NULL ||
	    *ev->decision == '\0')
		return HOOP_ERR_INVAL;
	event_fields(ev, fields);
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		if (fields[i] == NULL)
			continue;
		if (strnlen(fields[i], HOOP_AUDIT_MAX_FIELD + 1) >
		    HOOP_AUDIT_MAX_FIELD)
			return HOOP_ERR_TOOBIG;
		/* JSON Lines output must be able to carry every field
		 * exactly; jansson refuses invalid UTF-8. */
		json_t *s = json_string(fields[i]);
		if (s == NULL)
			return HOOP_ERR_INVAL;
		json_decref(s);
	}
	if (ev->detail != NULL) {
		detail = json_loads(ev->detail, JSON_REJECT_DUPLICATES, NULL);
		if (detail == NULL || !json_is_object(detail)) {
			json_decref(detail);
			return HOOP_ERR_INVAL;
		}
		json_decref(detail);
	}
	return HOOP_OK;
}

static void
bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static void
log_auth_event(const struct hoop_audit_event *ev, int64_t seq)
{
	if (strcmp(ev->kind, "auth") != 0)
		return;
	hoop_log_auth(strcmp(ev->decision, "allow") == 0 ? LOG_INFO :
	    LOG_WARNING, "auth %s: principal=%s identity=%s "
	    "action=%s reason=%s session=%s audit_seq=%" PRId64,
	    ev->decision, ev->principal ? ev->principal : "-",
	    ev->identity ? ev->identity : "-",
	    ev->action ? ev->action : "-", ev->reason ? ev->reason : "-",
	    ev->session_id ? ev->session_id : "-", seq);
}

hoop_err_t
hoop_audit_append_batch(hoop_store_t *store,
    const struct hoop_audit_event *events, size_t n, int64_t *seqs)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	struct hoop_audit_event ev;
	const char *fields[AUDIT_NFIELDS];
	char prev[HOOP_AUDIT_HASH_HEX + 1], hash[HOOP_AUDIT_HASH_HEX + 1];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = hoop_store_db(store);
	int64_t seq = 1, now;
	size_t k;
	int rc, i, in_tx = 0;

	if (n == 0) {
		ret = HOOP_OK;
		goto out;
	}
	if (events == NULL) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	/* All or nothing: every event is checked before the transaction. */
	for (k = 0; k < n; k++)
		if ((ret = check_event(&events[k])) != HOOP_OK)
			goto out;
	now = now_us();
	if ((ret = hoop_store_begin(store)) != HOOP_OK)
		goto out;
	in_tx = 1;
	/* Under the write lock: no other writer can take the same seq. */
	rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_events "
	    "ORDER BY seq DESC LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	memcpy(prev, genesis_hash, sizeof(prev));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 1);

		seq = sqlite3_column_int64(st, 0) + 1;
		if (h == NULL || strlen((const char *)h) != HOOP_AUDIT_HASH_HEX) {
			ret = HOOP_ERR_AUDIT_CHAIN;
			goto out;
		}
		memcpy(prev, h, sizeof(prev));
	} else if (rc != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	st = NULL;

	rc = sqlite3_prepare_v2(db, "INSERT INTO audit_events (" AUDIT_COLUMNS
	    ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	for (k = 0; k < n; k++, seq++) {
		ev = events[k];
		if (ev.time_us == 0)
			ev.time_us = now;
		if ((ret = audit_hash(seq, &ev, prev, hash)) != HOOP_OK)
			goto out;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_int64(st, 2, ev.time_us);
		event_fields(&ev, fields);
		for (i = 0; i < AUDIT_NFIELDS; i++)
			bind_text(st, 3 + i, fields[i]);
		bind_text(st, 13, prev);
		bind_text(st, 14, hash);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			goto sqlfail;
		memcpy(prev, hash, sizeof(prev));
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((ret = hoop_store_commit(store)) != HOOP_OK)
		goto out;
	in_tx = 0;
	seq -= (int64_t)n;
	for (k = 0; k < n; k++) {
		log_auth_event(&events[k], seq + (int64_t)k);
		if (seqs != NULL)
			seqs[k] = seq + (int64_t)k;
	}
	ret = HOOP_OK;
	goto out;
sqlfail:
	hoop_log(LOG_ERR, "audit: cannot record event: %s", sqlite3_errmsg(db));
	ret = hoop_store_err(rc) == HOOP_OK ? HOOP_ERR_STORE :
	    hoop_store_err(rc);
out:
	sqlite3_finalize(st);
	if (in_tx)
		hoop_store_rollback(store);
	return ret;
}

hoop_err_t
hoop_audit_append(hoop_store_t *store, const struct hoop_audit_event *event,
    int64_t *seq_out)
{
	return hoop_audit_append_batch(store, event, 1, seq_out);
}

static const char *
col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* Reads the event at the statement's current row (AUDIT_COLUMNS order). */
static void
row_event(sqlite3_stmt *st, struct hoop_audit_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_us = sqlite3_column_int64(st, 1);
	ev->session_id = col_text(st, 2);
	ev->principal = col_text(st, 3);
	ev->identity = col_text(st, 4);
	ev->target = col_text(st, 5);
	ev->kind = col_text(st, 6);
	ev->action = col_text(st, 7);
	ev->decision = col_text(st, 8);
	ev->reason = col_text(st, 9);
	ev->rule = col_text(st, 10);
	ev->detail = col_text(st, 11);
}

static int
well_formed_hash(const char *h)
{
	size_t i;

	if (h == NULL || strlen(h) != HOOP_AUDIT_HASH_HEX)
		return 0;
	for (i = 0; i < HOOP_AUDIT_HASH_HEX; i++)
		if (strchr("0123456789abcdef", h[i]) == NULL)
			return 0;
	return 1;
}

hoop_err_t
hoop_audit_verify(hoop_store_t *store, int64_t anchor_seq,
    const char *anchor_hash, struct hoop_audit_verify_result *res)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	struct hoop_audit_event ev;
	char prev[HOOP_AUDIT_HASH_HEX + 1], hash[HOOP_AUDIT_HASH_HEX + 1];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = hoop_store_db(store);
	int64_t expect = 1, seq;
	const char *stored_prev, *stored_hash;
	int rc, anchor_seen = 0;

	memset(res, 0, sizeof(*res));
	memcpy(prev, genesis_hash, sizeof(prev));
	/* One read transaction: a consistent snapshot while writers go on. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	rc = sqlite3_prepare_v2(db, "SELECT " AUDIT_COLUMNS
	    " FROM audit_events ORDER BY seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		row_event(st, &ev);
		stored_prev = col_text(st, 12);
		stored_hash = col_text(st, 13);
		if (seq != expect) {
			res->broken_seq = expect;
			snprintf(res->problem, sizeof(res->problem),
			    "event %" PRId64 " is missing (next present is %"
			    PRId64 ")", expect, seq);
			ret = HOOP_ERR_AUDIT_CHAIN;
			goto out;
		}
		if (!well_formed_hash(stored_prev) ||
		    strcmp(stored_prev, prev) != 0) {
			res->broken_seq = seq;
			snprintf(res->problem, sizeof(res->problem),
			    "event %" PRId64 " does not link to event %" PRId64
			    " (previous hash differs)", seq, seq - 1);
			ret = HOOP_ERR_AUDIT_CHAIN;
			goto out;
		}
		if (ev.kind == NULL || ev.decision == NULL ||
		    audit_hash(seq, &ev, prev, hash) != HOOP_OK ||
		    !well_formed_hash(stored_hash) ||
		    strcmp(stored_hash, hash) != 0) {
			res->broken_seq = seq;
			snprintf(res->problem, sizeof(res->problem),
			    "event %" PRId64 " was altered (its hash does not "
			    "match its contents)", seq);
			ret = HOOP_ERR_AUDIT_CHAIN;
			goto out;
		}
		if (seq == anchor_seq) {
			anchor_seen = 1;
			if (anchor_hash == NULL ||
			    strcmp(anchor_hash, hash) != 0) {
				res->broken_seq = seq;
				snprintf(res->problem, sizeof(res->problem),
				    "event %" PRId64 " differs from the anchor "
				    "(the chain was rewritten)", seq);
				ret = HOOP_ERR_AUDIT_CHAIN;
				goto out;
			}
		}
		memcpy(prev, hash, sizeof(prev));
		res->events++;
		res->head_seq = seq;
		expect = seq + 1;
	}
	if (rc != SQLITE_DONE)
		goto out;
	memcpy(res->head_hash, prev, sizeof(res->head_hash));
	if (anchor_seq > 0 && !anchor_seen) {
		res->broken_seq = res->head_seq + 1;
		snprintf(res->problem, sizeof(res->problem),
		    "anchor event %" PRId64 " is missing: events after %" PRId64
		    " were deleted", anchor_seq, res->head_seq);
		ret = HOOP_ERR_AUDIT_CHAIN;
		goto out;
	}
	ret = HOOP_OK;
out:
	if (ret == HOOP_ERR_STORE)
		hoop_log(LOG_ERR, "audit verify: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return ret;
}

static void
format_time(int64_t us, char *buf, size_t size)
{
	struct tm tm;
	time_t sec = (time_t)(us / 1000000);
	char base[32];

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "%" PRId64, us);
		return;
	}
	snprintf(buf, size, "%s.%06dZ", base, (int)(us % 1000000));
}

/* Text output goes to an auditor's terminal: a principal must not be able
 * to smuggle escape sequences into it through a recorded field. */
static void
put_safe(FILE *out, const char *s)
{
	hoop_put_safe(out, s, s != NULL ? strlen(s) : 0);
}

static hoop_err_t
print_json(FILE *out, int64_t seq, const struct hoop_audit_event *ev,
    const char *prev_hash, const char *hash)
{
	hoop_err_t ret = HOOP_ERR_NOMEM;
	const char *names[AUDIT_NFIELDS] = { "session", "principal",
	    "identity", "target", "kind", "action", "decision", "reason",
	    "rule", "detail" };
	const char *fields[AUDIT_NFIELDS];
	char when[48];
	json_t *obj = NULL, *v;
	int i;

	if ((obj = json_object()) == NULL)
		goto out;
	format_time(ev->time_us, when, sizeof(when));
	if (json_object_set_new(obj, "seq", json_integer(seq)) != 0 ||
	    json_object_set_new(obj, "time", json_string(when)) != 0 ||
	    json_object_set_new(obj, "time_us", json_integer(ev->time_us)) != 0)
		goto out;
	event_fields(ev, fields);
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		if (fields[i] == NULL)
			continue;
		/* detail is a JSON object: embed it, not its text. */
		v = i == 9 ? json_loads(fields[i], 0, NULL) :
		    json_string(fields[i]);
		if (v == NULL)
			v = json_string("(unreadable)");
		if (json_object_set_new(obj, names[i], v) != 0)
			goto out;
	}
	if (json_object_set_new(obj, "prev_hash", json_string(prev_hash)) != 0 ||
	    json_object_set_new(obj, "hash", json_string(hash)) != 0)
		goto out;
	if (json_dumpf(obj, out, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
		ret = HOOP_ERR_IO;
		goto out;
	}
	fputc('\n', out);
	ret = HOOP_OK;
out:
	json_decref(obj);
	return ret;
}

hoop_err_t
hoop_audit_list(hoop_store_t *store, const struct hoop_audit_filter *f,
    enum hoop_audit_format format, FILE *out)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	struct hoop_audit_event ev;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = hoop_store_db(store);
	char when[48];
	int rc, idx = 1;
	/* Placeholders are always present; a NULL binding disables the
	 * condition, so the statement text never depends on input. */
	const char *sql = "SELECT " AUDIT_COLUMNS " FROM audit_events WHERE"
	    " (?1 IS NULL OR principal = ?1) AND (?2 IS NULL OR session_id = ?2)"
	    " AND (?3 IS NULL OR target = ?3) AND (?4 IS NULL OR decision = ?4)"
	    " AND (?5 IS NULL OR kind = ?5) AND (?6 IS NULL OR time_us >= ?6)"
	    " AND (?7 IS NULL OR time_us <= ?7)"
	    " ORDER BY seq LIMIT ?8";

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	bind_text(st, idx++, f->principal);
	bind_text(st, idx++, f->session_id);
	bind_text(st, idx++, f->target);
	bind_text(st, idx++, f->decision);
	bind_text(st, idx++, f->kind);
	if (f->since_us > 0)
		sqlite3_bind_int64(st, idx, f->since_us);
	idx++;
	if (f->until_us > 0)
		sqlite3_bind_int64(st, idx, f->until_us);
	idx++;
	sqlite3_bind_int64(st, idx, f->limit > 0 ? f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_event(st, &ev);
		if (format == HOOP_AUDIT_JSON_LINES) {
			if ((ret = print_json(out, sqlite3_column_int64(st, 0),
			    &ev, col_text(st, 12), col_text(st, 13))) != HOOP_OK)
				goto out;
			continue;
		}
		format_time(ev.time_us, when, sizeof(when));
		fprintf(out, "%" PRId64 " %s ", (int64_t)sqlite3_column_int64(st,
		    0), when);
		put_safe(out, ev.kind);
		fputc(' ', out);
		put_safe(out, ev.decision);
		const struct { const char *label, *value; } shown[] = {
			{ "principal", ev.principal }, { "target", ev.target },
			{ "action", ev.action }, { "reason", ev.reason },
			{ "session", ev.session_id },
		};
		for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
			fprintf(out, " %s=", shown[i].label);
			put_safe(out, shown[i].value);
		}
		fputc('\n', out);
	}
	if (rc != SQLITE_DONE)
		goto out;
	ret = ferror(out) ? HOOP_ERR_IO : HOOP_OK;
out:
	if (ret == HOOP_ERR_STORE)
		hoop_log(LOG_ERR, "audit list: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return ret;
}
