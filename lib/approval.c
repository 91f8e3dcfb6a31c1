/*
 * Just-in-time approvals (see hoop_approval.h).
 *
 * State lives in the store's approvals and approval_votes tables; every
 * change is one BEGIN IMMEDIATE transaction whose conditions (status
 * still 'pending', still 'approved') make concurrent callers agree: a
 * once-approval is used exactly once, a request is decided once.
 * hoop_audit_append runs its own transaction, so each step's audit event
 * follows the change it records; where an operation would run on the
 * strength of the change (used), a failed event refuses it.
 *
 * Waiters sleep in poll() on an inotify watch of the store's directory
 * (the database and its -wal file): a commit by any process wakes them
 * at once. A commit's pages reach the -wal file a moment before readers
 * can see them, so a wake that shows nothing new is followed by a few
 * quick rechecks; beyond that only a 1 s safety poll runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "hoop_approval.h"
#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_notify.h"
#include "hoop_util.h"
#include "store_internal.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define SAFETY_POLL_MS 1000
#define NO_WATCH_POLL_MS 250		/* when inotify is unavailable */
#define AUDIT_REQUEST_MAX 8192		/* request text kept in an event */
#define TEXT_EXCERPT 300		/* request text in chat messages */
#define LIST_EXCERPT 60
#define LIST_MAX 1000
#define PROGRESS_LINE_EVERY 10		/* seconds, when not a terminal */
#define SESSION_ID_MAX 128
#define TARGET_MAX 64

static const char id_alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
static const char *const status_names[] = {
	"pending", "approved", "denied", "expired", "cancelled", "used"
};
/* Milliseconds between rechecks after a wake that showed no change. */
static const int recheck_ms[] = { 2, 5, 10, 25, 50, 100 };

#define ROW_SELECT "SELECT id, session_id, principal, identity, issuer, " \
	"subject, target, kind, fingerprint, request, policy, rule, status, " \
	"covers, approvers, approval_mode, reason, approvals_required, " \
	"created_at, expires_at, decided_at, grant_until, used_at " \
	"FROM approvals"

enum {
	R_ID, R_SESSION, R_PRINCIPAL, R_IDENTITY, R_ISSUER, R_SUBJECT,
	R_TARGET, R_KIND, R_FINGERPRINT, R_REQUEST, R_POLICY, R_RULE,
	R_STATUS, R_COVERS, R_APPROVERS, R_MODE, R_REASON, R__TEXT
};

/* One request as stored. */
struct row {
	char *s[R__TEXT];		/* NULL where the column is NULL */
	long required;
	int64_t created_at, expires_at, decided_at, grant_until, used_at;
	enum hoop_approval_status status;
};

#define S(r, f) ((r)->s[f] != NULL ? (r)->s[f] : "")

/* A notification being sent by a thread of its own, so that a slow or
 * dead sink never holds up a requester or an approver. */
struct notify_job {
	struct notify_job *next;
	pthread_t thread;
	const hoop_config_t *cfg;
	char *store_path;
	hoop_store_t *store;		/* the thread's own connection */
	struct row row;
	char *event, *actor, *actor_identity, *json, *text;
};

struct hoop_approval {
	hoop_store_t *store;
	const hoop_config_t *cfg;
	hoop_approval_clock_fn clock;
	void *clock_arg;
	struct notify_job *jobs;
};

struct tally {
	unsigned votes, needed;
	int satisfied;
	char approved_by[512];
	char denied_by[512];
};

/*
 * Small helpers.
 */

const char *
hoop_approval_status_name(enum hoop_approval_status status)
{
	return (size_t)status < nitems(status_names) ? status_names[status] :
	    "unknown";
}

static int
status_from_name(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < nitems(status_names); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (int)i;
	return -1;
}

static int64_t
svc_now(const hoop_approval_t *svc)
{
	return svc->clock != NULL ? svc->clock(svc->clock_arg) :
	    (int64_t)time(NULL);
}

int
hoop_approval_id_valid(const char *id)
{
	size_t i;

	if (id == NULL)
		return 0;
	for (i = 0; i < HOOP_APPROVAL_ID_LEN; i++)
		if (id[i] == '\0' || strchr(id_alphabet, id[i]) == NULL)
			return 0;
	return id[i] == '\0';
}

static hoop_err_t
new_id(char id[HOOP_APPROVAL_ID_LEN + 1])
{
	unsigned char rnd[8];
	uint64_t bits = 0;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return HOOP_ERR_CRYPTO;
	for (i = 0; i < sizeof(rnd); i++)
		bits = bits << 8 | rnd[i];
	for (i = 0; i < HOOP_APPROVAL_ID_LEN; i++, bits >>= 5)
		id[i] = id_alphabet[bits & 31];
	id[i] = '\0';
	return HOOP_OK;
}

/* A copy of s with every byte that is not valid UTF-8 made '?' (the
 * audit log and JSON carry UTF-8 only). */
static char *
clean_utf8(const char *s)
{
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;
	char *out;

	if ((out = strdup(s)) == NULL)
		return NULL;
	while (i < len) {
		n = hoop_utf8_next((unsigned char *)out + i, len - i, &cp);
		if (n == 0) {
			out[i++] = '?';
			continue;
		}
		i += n;
	}
	return out;
}

/* How many bytes of s fit in max without cutting a character. */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

enum put_mode {
	PUT_LINE,		/* one line: \n and \t escaped too */
	PUT_BLOCK,		/* lines kept, each indented */
	PUT_FLAT,		/* whitespace as spaces (chat and list) */
};

/* Writes text a principal chose, escaped for a terminal. At most max
 * bytes of s (0: all), then "...". */
static void
put_safe(FILE *out, const char *s, enum put_mode mode, const char *indent,
    size_t max)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "-");
	size_t len = strlen((const char *)p), i = 0, n;

	if (max > 0 && len > max)
		len = utf8_cut((const char *)p, max);
	while (i < len) {
		if ((p[i] == '\n' || p[i] == '\t' || p[i] == '\r') &&
		    mode == PUT_FLAT) {
			fputc(' ', out);
			i++;
			continue;
		}
		if (p[i] == '\n' && mode == PUT_BLOCK) {
			fputc('\n', out);
			fputs(indent, out);
			i++;
			continue;
		}
		if (p[i] == '\t' && mode == PUT_BLOCK) {
			fputc('\t', out);
			i++;
			continue;
		}
		/* Up to the next character the mode handles itself. */
		n = i;
		while (n < len && p[n] != '\n' && p[n] != '\t' && p[n] != '\r')
			n++;
		if (n == i)
			n++;	/* \n, \t or \r outside its mode: escaped */
		hoop_put_safe_ex(out, (const char *)p + i, n - i, 1);
		i = n;
	}
	if (len < strlen((const char *)p))
		fputs("...", out);
}

/* put_safe into a string (for chat text). */
static char *
safe_string(const char *s, size_t max)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &size)) == NULL)
		return NULL;
	put_safe(fp, s, PUT_FLAT, "", max);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
}

static void
fmt_span(int64_t secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(buf, size, "%" PRId64 "d%" PRId64 "h", secs / 86400,
		    secs % 86400 / 3600);
	else if (secs >= 3600)
		snprintf(buf, size, "%" PRId64 "h%" PRId64 "m", secs / 3600,
		    secs % 3600 / 60);
	else if (secs >= 60)
		snprintf(buf, size, "%" PRId64 "m%" PRId64 "s", secs / 60,
		    secs % 60);
	else
		snprintf(buf, size, "%" PRId64 "s", secs);
}

/* Next item of a comma-separated list into buf; 0 at the end. */
static int
list_next(const char **p, char *buf, size_t size)
{
	const char *s = *p, *end;
	size_t n;

	if (s == NULL || *s == '\0')
		return 0;
	end = strchr(s, ',');
	n = end != NULL ? (size_t)(end - s) : strlen(s);
	*p = end != NULL ? end + 1 : s + n;
	snprintf(buf, size, "%.*s", (int)n, s);
	return 1;
}

/* "a,b" as "a, b". */
static void
list_display(const char *list, char *out, size_t size)
{
	char item[64];
	size_t o = 0;
	int n;

	out[0] = '\0';
	while (list_next(&list, item, sizeof(item)) && o < size) {
		n = snprintf(out + o, size - o, "%s%s", o > 0 ? ", " : "",
		    item);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static void
list_append(char *out, size_t size, const char *item)
{
	size_t o = strlen(out);

	if (o < size)
		snprintf(out + o, size - o, "%s%s", o > 0 ? ", " : "", item);
}

/* 1..max printable ASCII characters, no spaces. */
static int
printable_word(const char *s, size_t max)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0;
}

static int
principal_valid(const struct hoop_principal *p)
{
	return p != NULL && p->login[0] != '\0' && p->issuer[0] != '\0' &&
	    p->subject[0] != '\0' && p->identity != NULL &&
	    p->identity->name != NULL;
}

static int
is_requester(const struct row *r, const struct hoop_principal *p)
{
	return strcmp(S(r, R_PRINCIPAL), p->login) == 0 &&
	    strcmp(S(r, R_ISSUER), p->issuer) == 0 &&
	    strcmp(S(r, R_SUBJECT), p->subject) == 0;
}

/* The same person, for the self-approval check: the same login (one
 * login is one identity's), or the same issuer and subject. */
static int
same_person(const struct row *r, const struct hoop_principal *p)
{
	return strcmp(S(r, R_PRINCIPAL), p->login) == 0 ||
	    (strcmp(S(r, R_ISSUER), p->issuer) == 0 &&
	    strcmp(S(r, R_SUBJECT), p->subject) == 0);
}

/* The request's approver groups p holds, "a,b" ("" for none). */
static void
held_groups(const struct row *r, const struct hoop_principal *p, char *out,
    size_t size)
{
	const char *list = r->s[R_APPROVERS];
	char item[64];
	size_t o;

	out[0] = '\0';
	while (list_next(&list, item, sizeof(item))) {
		if (!hoop_principal_in_group(p, item))
			continue;
		o = strlen(out);
		snprintf(out + o, size - o, "%s%s", o > 0 ? "," : "", item);
	}
}

static void
rule_label(const struct row *r, char *buf, size_t size)
{
	if (r->s[R_POLICY] != NULL)
		snprintf(buf, size, "%s/%s", r->s[R_POLICY], S(r, R_RULE));
	else
		snprintf(buf, size, "%s", S(r, R_RULE));
}

/*
 * Store access.
 */

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		hoop_log(LOG_ERR, "approval: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void
bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

static hoop_err_t
step_err(sqlite3 *db, int rc)
{
	hoop_err_t err = hoop_store_err(rc);

	hoop_log(LOG_ERR, "approval: %s", sqlite3_errmsg(db));
	return err == HOOP_OK ? HOOP_ERR_STORE : err;
}

static void
row_clear(struct row *r)
{
	size_t i;

	for (i = 0; i < R__TEXT; i++)
		free(r->s[i]);
	memset(r, 0, sizeof(*r));
}

static hoop_err_t
row_read(sqlite3_stmt *st, struct row *r)
{
	const unsigned char *t;
	int status;
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < R__TEXT; i++) {
		t = sqlite3_column_text(st, (int)i);
		if (t != NULL && (r->s[i] = strdup((const char *)t)) == NULL) {
			row_clear(r);
			return HOOP_ERR_NOMEM;
		}
	}
	r->required = (long)sqlite3_column_int64(st, R__TEXT);
	r->created_at = sqlite3_column_int64(st, R__TEXT + 1);
	r->expires_at = sqlite3_column_int64(st, R__TEXT + 2);
	r->decided_at = sqlite3_column_int64(st, R__TEXT + 3);
	r->grant_until = sqlite3_column_int64(st, R__TEXT + 4);
	r->used_at = sqlite3_column_int64(st, R__TEXT + 5);
	if ((status = status_from_name(r->s[R_STATUS])) == -1) {
		row_clear(r);
		return HOOP_ERR_STORE;
	}
	r->status = (enum hoop_approval_status)status;
	return HOOP_OK;
}

static hoop_err_t
row_load(sqlite3 *db, const char *id, struct row *r)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((st = prep(db, ROW_SELECT " WHERE id = ?1")) == NULL)
		return HOOP_ERR_STORE;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = row_read(st, r);
	else if (rc == SQLITE_DONE)
		ret = HOOP_ERR_NOTFOUND;
	else
		ret = step_err(db, rc);
	sqlite3_finalize(st);
	return ret;
}

static hoop_err_t
row_dup(const struct row *src, struct row *dst)
{
	size_t i;

	*dst = *src;
	for (i = 0; i < R__TEXT; i++) {
		dst->s[i] = NULL;
		if (src->s[i] != NULL && (dst->s[i] = strdup(src->s[i])) ==
		    NULL) {
			row_clear(dst);
			return HOOP_ERR_NOMEM;
		}
	}
	return HOOP_OK;
}

/* Has v (by login, or issuer and subject) voted on r? */
static hoop_err_t
has_voted(sqlite3 *db, const struct row *r, const struct hoop_principal *v,
    int *voted)
{
	sqlite3_stmt *st;
	int rc;

	*voted = 0;
	if ((st = prep(db, "SELECT 1 FROM approval_votes WHERE approval_id = "
	    "?1 AND (approver = ?2 OR (issuer = ?3 AND subject = ?4))")) ==
	    NULL)
		return HOOP_ERR_STORE;
	bind_text(st, 1, S(r, R_ID));
	bind_text(st, 2, v->login);
	bind_text(st, 3, v->issuer);
	bind_text(st, 4, v->subject);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_err(db, rc);
	*voted = rc == SQLITE_ROW;
	return HOOP_OK;
}

/* Counts r's votes toward what it needs: approvals_required distinct
 * approvers (mode any), or that many holding each approver group (all). */
static hoop_err_t
tally(sqlite3 *db, const struct row *r, struct tally *t)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	sqlite3_stmt *st = NULL;
	const char *list, *approver, *groups;
	char item[64];
	unsigned count[64] = { 0 }, n_groups = 0, approvals = 0, i;
	long required = r->required > 0 ? r->required : 1;
	int rc;

	memset(t, 0, sizeof(*t));
	if ((st = prep(db, "SELECT approver, decision, groups FROM "
	    "approval_votes WHERE approval_id = ?1 ORDER BY decided_at, "
	    "rowid")) == NULL)
		goto out;
	bind_text(st, 1, S(r, R_ID));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		approver = (const char *)sqlite3_column_text(st, 0);
		groups = (const char *)sqlite3_column_text(st, 2);
		if (strcmp((const char *)sqlite3_column_text(st, 1),
		    "approve") != 0) {
			list_append(t->denied_by, sizeof(t->denied_by),
			    approver != NULL ? approver : "?");
			continue;
		}
		approvals++;
		list_append(t->approved_by, sizeof(t->approved_by),
		    approver != NULL ? approver : "?");
		list = r->s[R_APPROVERS];
		for (i = 0; list_next(&list, item, sizeof(item)) &&
		    i < nitems(count); i++)
			if (groups != NULL && hoop_list_has(groups, item,
			    strlen(item)))
				count[i]++;
	}
	if (rc != SQLITE_DONE) {
		ret = step_err(db, rc);
		goto out;
	}
	if (strcmp(S(r, R_MODE), "all") == 0) {
		list = r->s[R_APPROVERS];
		while (list_next(&list, item, sizeof(item)) &&
		    n_groups < nitems(count))
			n_groups++;
		t->satisfied = n_groups > 0;
		for (i = 0; i < n_groups; i++) {
			t->votes += count[i] < (unsigned)required ? count[i] :
			    (unsigned)required;
			t->needed += (unsigned)required;
			if (count[i] < (unsigned)required)
				t->satisfied = 0;
		}
	} else {
		t->votes = approvals < (unsigned)required ? approvals :
		    (unsigned)required;
		t->needed = (unsigned)required;
		t->satisfied = approvals >= (unsigned)required;
	}
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

static hoop_err_t
fill_result(hoop_approval_t *svc, const struct row *r,
    struct hoop_approval_result *res)
{
	struct tally t;
	hoop_err_t err;

	snprintf(res->id, sizeof(res->id), "%s", S(r, R_ID));
	res->status = r->status;
	res->expires_at = r->expires_at;
	res->valid_until = r->grant_until;
	res->required = r->required;
	snprintf(res->mode, sizeof(res->mode), "%s", S(r, R_MODE));
	list_display(r->s[R_APPROVERS], res->approvers,
	    sizeof(res->approvers));
	snprintf(res->reason, sizeof(res->reason), "%s", S(r, R_REASON));
	if ((err = tally(hoop_store_db(svc->store), r, &t)) != HOOP_OK)
		return err;
	res->votes = t.votes;
	res->needed = t.needed;
	snprintf(res->decided_by, sizeof(res->decided_by), "%s",
	    r->status == HOOP_APPROVAL_DENIED ? t.denied_by : t.approved_by);
	return HOOP_OK;
}

/*
 * Audit events and notifications.
 */

/* One audit event about request r, by actor (NULL: the requester). */
static hoop_err_t
record(hoop_store_t *store, const struct row *r, const char *action,
    const char *decision, const char *actor, const char *actor_identity,
    const char *reason, json_t *detail)
{
	struct hoop_audit_event ev = { 0 };
	hoop_err_t ret = HOOP_ERR_NOMEM;
	char label[160], *text = NULL;
	json_t *d;

	d = detail != NULL ? json_incref(detail) : json_object();
	if (d == NULL || json_object_set_new(d, "id",
	    json_string(S(r, R_ID))) != 0)
		goto out;
	if (actor != NULL && strcmp(actor, S(r, R_PRINCIPAL)) != 0 &&
	    json_object_set_new(d, "requester",
	    json_string(S(r, R_PRINCIPAL))) != 0)
		goto out;
	if ((text = json_dumps(d, JSON_COMPACT)) == NULL)
		goto out;
	rule_label(r, label, sizeof(label));
	ev.session_id = r->s[R_SESSION];
	ev.principal = actor != NULL ? actor : r->s[R_PRINCIPAL];
	ev.identity = actor != NULL ? actor_identity : r->s[R_IDENTITY];
	ev.target = r->s[R_TARGET];
	ev.kind = "approval";
	ev.action = action;
	ev.decision = decision;
	ev.reason = reason;
	ev.rule = label;
	ev.detail = text;
	ret = hoop_audit_append(store, &ev, NULL);
out:
	if (ret != HOOP_OK)
		hoop_log(LOG_ERR, "approval %s: cannot record '%s': %s",
		    S(r, R_ID), action, hoop_strerror(ret));
	free(text);
	json_decref(d);
	return ret;
}

static int
set_str(json_t *o, const char *key, const char *value)
{
	return json_object_set_new(o, key, value != NULL ? json_string(value) :
	    json_null());
}

/* The JSON event sent to webhooks and hooks. */
static char *
event_json(const struct row *r, const char *event, const char *actor,
    const char *reason, int64_t now)
{
	json_t *o = NULL, *groups = NULL;
	const char *list = r->s[R_APPROVERS];
	char item[64], show[64], *out = NULL;

	snprintf(show, sizeof(show), "hoopctl approvals show %s", S(r, R_ID));
	if ((o = json_object()) == NULL || (groups = json_array()) == NULL)
		goto out;
	while (list_next(&list, item, sizeof(item)))
		if (json_array_append_new(groups, json_string(item)) != 0)
			goto out;
	if (set_str(o, "event", event) || set_str(o, "id", r->s[R_ID]) ||
	    set_str(o, "status", r->s[R_STATUS]) ||
	    set_str(o, "principal", r->s[R_PRINCIPAL]) ||
	    set_str(o, "identity", r->s[R_IDENTITY]) ||
	    set_str(o, "session", r->s[R_SESSION]) ||
	    set_str(o, "target", r->s[R_TARGET]) ||
	    set_str(o, "kind", r->s[R_KIND]) ||
	    set_str(o, "request", r->s[R_REQUEST]) ||
	    set_str(o, "fingerprint", r->s[R_FINGERPRINT]) ||
	    set_str(o, "policy", r->s[R_POLICY]) ||
	    set_str(o, "rule", r->s[R_RULE]) ||
	    json_object_set(o, "approvers", groups) ||
	    json_object_set_new(o, "approvals_required",
	    json_integer(r->required)) ||
	    set_str(o, "approval_mode", r->s[R_MODE]) ||
	    set_str(o, "covers", r->s[R_COVERS]) ||
	    json_object_set_new(o, "created_at", json_integer(r->created_at)) ||
	    json_object_set_new(o, "expires_at", json_integer(r->expires_at)) ||
	    (r->decided_at > 0 && json_object_set_new(o, "decided_at",
	    json_integer(r->decided_at))) ||
	    (r->grant_until > 0 && json_object_set_new(o, "valid_until",
	    json_integer(r->grant_until))) ||
	    (actor != NULL && set_str(o, "by", actor)) ||
	    (reason != NULL && set_str(o, "reason", reason)) ||
	    json_object_set_new(o, "time", json_integer(now)) ||
	    set_str(o, "show", show))
		goto out;
	out = json_dumps(o, JSON_COMPACT);
out:
	json_decref(groups);
	json_decref(o);
	return out;
}

/* One line for chat. */
static char *
event_text(const struct row *r, const char *event, const char *actor,
    const char *reason)
{
	char *req = NULL, *why = NULL, *out = NULL, label[160], groups[512];
	const char *target = r->s[R_TARGET] != NULL ? r->s[R_TARGET] :
	    "the bastion";
	int n = -1;

	rule_label(r, label, sizeof(label));
	list_display(r->s[R_APPROVERS], groups, sizeof(groups));
	if ((req = safe_string(S(r, R_REQUEST), TEXT_EXCERPT)) == NULL ||
	    (why = safe_string(reason != NULL ? reason : "", 200)) == NULL)
		goto out;
	if (strcmp(event, "requested") == 0)
		n = asprintf(&out, "hoop: %s asks for approval (%s on %s, rule "
		    "%s): %s -- approvers: %s; request %s: hoopctl approvals "
		    "show %s", S(r, R_PRINCIPAL), S(r, R_KIND), target, label,
		    req, groups, S(r, R_ID), S(r, R_ID));
	else
		n = asprintf(&out, "hoop: request %s of %s (%s on %s: %s) %s%s"
		    "%s%s%s", S(r, R_ID), S(r, R_PRINCIPAL), S(r, R_KIND),
		    target, req, event, actor != NULL ? " by " : "",
		    actor != NULL ? actor : "", *why != '\0' ? ": " : "", why);
	if (n < 0)
		out = NULL;
out:
	free(req);
	free(why);
	return out;
}

static void
job_free(struct notify_job *job)
{
	row_clear(&job->row);
	free(job->store_path);
	free(job->event);
	free(job->actor);
	free(job->actor_identity);
	free(job->json);
	free(job->text);
	free(job);
}

static void
notified(void *arg, const struct hoop_notify *sink, int ok, const char *why)
{
	struct notify_job *job = arg;
	json_t *d;

	if (job->store == NULL)
		return;
	d = json_pack("{s:s,s:s,s:b,s:s}", "event", job->event, "sink",
	    sink->name, "ok", ok, "result", why);
	if (d != NULL)
		(void)record(job->store, &job->row, "notified", ok ? "info" :
		    "error", job->actor, job->actor_identity, ok ? NULL : why,
		    d);
	json_decref(d);
}

static void *
notify_thread(void *arg)
{
	struct notify_job *job = arg;
	struct hoop_notify_message msg = { .json = job->json,
	    .text = job->text };
	hoop_err_t err;

	if ((err = hoop_store_open(job->store_path, 0, &job->store)) !=
	    HOOP_OK)
		hoop_log(LOG_ERR, "approval %s: notifications are not "
		    "recorded: store: %s", S(&job->row, R_ID),
		    hoop_strerror(err));
	hoop_notify_send(job->cfg, &msg, notified, job);
	hoop_store_close(job->store);
	job->store = NULL;
	return NULL;
}

/* Announces an event about r to the notify sinks, in the background. */
static void
announce(hoop_approval_t *svc, const struct row *r, const char *event,
    const char *actor, const char *actor_identity, const char *reason)
{
	struct notify_job *job;
	const char *path;

	if (svc->cfg == NULL || hoop_config_notify_count(svc->cfg) == 0)
		return;
	path = sqlite3_db_filename(hoop_store_db(svc->store), "main");
	if ((job = calloc(1, sizeof(*job))) == NULL)
		goto fail;
	job->cfg = svc->cfg;
	if (row_dup(r, &job->row) != HOOP_OK ||
	    (job->store_path = strdup(path != NULL ? path : "")) == NULL ||
	    (job->event = strdup(event)) == NULL ||
	    (actor != NULL && (job->actor = strdup(actor)) == NULL) ||
	    (actor_identity != NULL &&
	    (job->actor_identity = strdup(actor_identity)) == NULL) ||
	    (job->json = event_json(r, event, actor, reason,
	    (int64_t)time(NULL))) == NULL ||
	    (job->text = event_text(r, event, actor, reason)) == NULL)
		goto fail;
	if (pthread_create(&job->thread, NULL, notify_thread, job) != 0) {
		notify_thread(job);
		job_free(job);
		return;
	}
	job->next = svc->jobs;
	svc->jobs = job;
	return;
fail:
	hoop_log(LOG_ERR, "approval %s: cannot send notifications: out of "
	    "memory", S(r, R_ID));
	if (job != NULL)
		job_free(job);
}

/*
 * The service.
 */

hoop_err_t
hoop_approval_create(hoop_store_t *store, const hoop_config_t *cfg,
    hoop_approval_t **out)
{
	hoop_approval_t *svc;

	*out = NULL;
	if (store == NULL)
		return HOOP_ERR_INVAL;
	if ((svc = calloc(1, sizeof(*svc))) == NULL)
		return HOOP_ERR_NOMEM;
	svc->store = store;
	svc->cfg = cfg;
	*out = svc;
	return HOOP_OK;
}

void
hoop_approval_free(hoop_approval_t *svc)
{
	struct notify_job *job, *next;

	if (svc == NULL)
		return;
	for (job = svc->jobs; job != NULL; job = next) {
		next = job->next;
		pthread_join(job->thread, NULL);
		job_free(job);
	}
	free(svc);
}

void
hoop_approval_set_clock(hoop_approval_t *svc, hoop_approval_clock_fn fn,
    void *arg)
{
	svc->clock = fn;
	svc->clock_arg = arg;
}

/* Expires pending requests past their time (only id's, if not NULL). */
static hoop_err_t
expire_due(hoop_approval_t *svc, int64_t now, const char *only,
    unsigned *count)
{
	sqlite3 *db = hoop_store_db(svc->store);
	hoop_err_t ret = HOOP_ERR_STORE, err;
	sqlite3_stmt *st = NULL;
	char (*ids)[HOOP_APPROVAL_ID_LEN + 1] = NULL, (*more)[
	    HOOP_APPROVAL_ID_LEN + 1];
	size_t n = 0, cap = 0, i;
	struct row r;
	int rc;

	if (count != NULL)
		*count = 0;
	/* Readers should not queue for the write lock for nothing. */
	if ((st = prep(db, "SELECT 1 FROM approvals WHERE status = "
	    "'pending' AND expires_at <= ?1 AND (?2 IS NULL OR id = ?2) "
	    "LIMIT 1")) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, only);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_DONE) {
		ret = HOOP_OK;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = step_err(db, rc);
		goto out;
	}
	if ((st = prep(db, "UPDATE approvals SET status = 'expired', "
	    "decided_at = ?1, reason = 'no decision in time' WHERE status = "
	    "'pending' AND expires_at <= ?1 AND (?2 IS NULL OR id = ?2) "
	    "RETURNING id")) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap > 0 ? cap * 2 : 8;
			if ((more = reallocarray(ids, cap, sizeof(*ids))) ==
			    NULL) {
				ret = HOOP_ERR_NOMEM;
				goto out;
			}
			ids = more;
		}
		snprintf(ids[n++], sizeof(ids[0]), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE) {
		ret = step_err(db, rc);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	ret = HOOP_OK;
	for (i = 0; i < n; i++) {
		if ((err = row_load(db, ids[i], &r)) != HOOP_OK) {
			ret = err;
			continue;
		}
		if ((err = record(svc->store, &r, "expired", "deny", NULL, NULL,
		    "no decision within approval_timeout", NULL)) != HOOP_OK)
			ret = err;
		announce(svc, &r, "expired", NULL, NULL, NULL);
		row_clear(&r);
	}
	if (count != NULL)
		*count = (unsigned)n;
out:
	sqlite3_finalize(st);
	free(ids);
	return ret;
}

hoop_err_t
hoop_approval_expire(hoop_approval_t *svc, unsigned *count)
{
	return expire_due(svc, svc_now(svc), NULL, count);
}

static hoop_err_t
check_request(const struct hoop_principal *p,
    const struct hoop_approval_op *op)
{
	const struct hoop_rule *rule = op != NULL ? op->rule : NULL;

	if (!principal_valid(p) || rule == NULL || op->request == NULL ||
	    rule->name == NULL)
		return HOOP_ERR_INVAL;
	if (rule->action != HOOP_ACTION_APPROVE || rule->n_approvers == 0 ||
	    rule->approvals_required < 1 || rule->approval_timeout <= 0 ||
	    (rule->approval_covers == HOOP_APPROVAL_GRANT &&
	    rule->approval_grant <= 0))
		return HOOP_ERR_INVAL;
	if (strnlen(op->request, HOOP_APPROVAL_MAX_REQUEST + 1) >
	    HOOP_APPROVAL_MAX_REQUEST)
		return HOOP_ERR_TOOBIG;
	if (!printable_word(op->fingerprint, HOOP_APPROVAL_MAX_FINGERPRINT) ||
	    (op->session_id != NULL && !printable_word(op->session_id,
	    SESSION_ID_MAX)) ||
	    (op->target != NULL && !printable_word(op->target, TARGET_MAX)))
		return HOOP_ERR_INVAL;
	return HOOP_OK;
}

/* The rule's approver groups, "a,b" (group names hold no comma). */
static char *
join_groups(const struct hoop_rule *rule)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < rule->n_approvers; i++)
		len += strlen(rule->approvers[i]) + 1;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	for (i = 0; i < rule->n_approvers; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, rule->approvers[i]);
	}
	return s;
}

/* The request text kept in an audit event: enough to know what ran. */
static json_t *
request_detail(const char *fingerprint, const char *request)
{
	size_t cut = utf8_cut(request, AUDIT_REQUEST_MAX);

	return json_pack("{s:s,s:s%,s:I}", "fingerprint", fingerprint,
	    "request", request, cut, "request_bytes",
	    (json_int_t)strlen(request));
}

enum found { FOUND_NONE, FOUND_COVER, FOUND_PENDING };

/* Under the write lock: an approval covering the operation (a grant not
 * ended, or an unused once-approval of this fingerprint), else the same
 * operation pending. */
static hoop_err_t
find_existing(sqlite3 *db, const struct hoop_principal *p,
    const struct hoop_approval_op *op, const char *policy, int64_t now,
    char id[HOOP_APPROVAL_ID_LEN + 1], enum found *found)
{
	static const char *const sql[] = {
		"SELECT id FROM approvals WHERE principal = ?1 AND issuer = ?2 "
		"AND subject = ?3 AND target IS ?4 AND policy IS ?5 AND rule = "
		"?6 AND status = 'approved' AND grant_until > ?7 AND (covers = "
		"'grant' OR fingerprint = ?8) ORDER BY covers = 'grant' DESC, "
		"grant_until DESC LIMIT 1",
		"SELECT id FROM approvals WHERE principal = ?1 AND issuer = ?2 "
		"AND subject = ?3 AND target IS ?4 AND policy IS ?5 AND rule = "
		"?6 AND status = 'pending' AND expires_at > ?7 AND fingerprint "
		"= ?8 ORDER BY created_at LIMIT 1",
	};
	sqlite3_stmt *st = NULL;
	hoop_err_t ret = HOOP_OK;
	size_t i;
	int rc;

	*found = FOUND_NONE;
	for (i = 0; i < nitems(sql) && *found == FOUND_NONE; i++) {
		if ((st = prep(db, sql[i])) == NULL)
			return HOOP_ERR_STORE;
		bind_text(st, 1, p->login);
		bind_text(st, 2, p->issuer);
		bind_text(st, 3, p->subject);
		bind_text(st, 4, op->target);
		bind_text(st, 5, policy);
		bind_text(st, 6, op->rule->name);
		sqlite3_bind_int64(st, 7, now);
		bind_text(st, 8, op->fingerprint);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(id, HOOP_APPROVAL_ID_LEN + 1, "%s",
			    (const char *)sqlite3_column_text(st, 0));
			*found = i == 0 ? FOUND_COVER : FOUND_PENDING;
		} else if (rc != SQLITE_DONE)
			ret = step_err(db, rc);
		sqlite3_finalize(st);
		if (ret != HOOP_OK)
			return ret;
	}
	return HOOP_OK;
}

/* Under the write lock: a once-approval becomes used (no-op for a grant).
 * *changed: whether this call is the one that used it. */
static hoop_err_t
mark_used(sqlite3 *db, const char *id, int64_t now, int *changed)
{
	sqlite3_stmt *st;
	int rc;

	*changed = 0;
	if ((st = prep(db, "UPDATE approvals SET status = 'used', used_at = "
	    "?2 WHERE id = ?1 AND status = 'approved' AND covers = 'once' "
	    "AND grant_until > ?2")) == NULL)
		return HOOP_ERR_STORE;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return step_err(db, rc);
	*changed = sqlite3_changes(db) == 1;
	return HOOP_OK;
}

static hoop_err_t
insert_request(sqlite3 *db, const struct hoop_principal *p,
    const struct hoop_approval_op *op, const char *policy, const char *text,
    const char *approvers, int64_t now, char id[HOOP_APPROVAL_ID_LEN + 1])
{
	const struct hoop_rule *rule = op->rule;
	hoop_err_t ret = HOOP_ERR_STORE;
	sqlite3_stmt *st = NULL;
	int tries, rc = SQLITE_ERROR;

	if ((st = prep(db, "INSERT INTO approvals (id, session_id, principal, "
	    "identity, issuer, subject, target, kind, fingerprint, request, "
	    "policy, rule, status, covers, approvers, approvals_required, "
	    "approval_mode, grant_seconds, created_at, expires_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', "
	    "?13, ?14, ?15, ?16, ?17, ?18, ?19)")) == NULL)
		goto out;
	/* A clash of 60 random bits is next to impossible; still, never
	 * take over another request. */
	for (tries = 0; tries < 4; tries++) {
		if ((ret = new_id(id)) != HOOP_OK)
			goto out;
		sqlite3_reset(st);
		bind_text(st, 1, id);
		bind_text(st, 2, op->session_id);
		bind_text(st, 3, p->login);
		bind_text(st, 4, p->identity->name);
		bind_text(st, 5, p->issuer);
		bind_text(st, 6, p->subject);
		bind_text(st, 7, op->target);
		bind_text(st, 8, hoop_rule_kind_name(rule->kind));
		bind_text(st, 9, op->fingerprint);
		bind_text(st, 10, text);
		bind_text(st, 11, policy);
		bind_text(st, 12, rule->name);
		bind_text(st, 13, rule->approval_covers == HOOP_APPROVAL_GRANT ?
		    "grant" : "once");
		bind_text(st, 14, approvers);
		sqlite3_bind_int64(st, 15, rule->approvals_required);
		bind_text(st, 16, rule->approval_mode == HOOP_APPROVAL_ALL ?
		    "all" : "any");
		sqlite3_bind_int64(st, 17, rule->approval_covers ==
		    HOOP_APPROVAL_GRANT ? rule->approval_grant : 0);
		sqlite3_bind_int64(st, 18, now);
		sqlite3_bind_int64(st, 19, now + rule->approval_timeout);
		if ((rc = sqlite3_step(st)) != SQLITE_CONSTRAINT)
			break;
	}
	ret = rc == SQLITE_DONE ? HOOP_OK : step_err(db, rc);
out:
	sqlite3_finalize(st);
	return ret;
}

hoop_err_t
hoop_approval_request(hoop_approval_t *svc, const struct hoop_principal *p,
    const struct hoop_approval_op *op, struct hoop_approval_result *res)
{
	sqlite3 *db = hoop_store_db(svc->store);
	const char *policy = op != NULL && op->policy != NULL ?
	    op->policy->name : NULL;
	char id[HOOP_APPROVAL_ID_LEN + 1], *text = NULL, *approvers = NULL;
	int64_t now = svc_now(svc);
	hoop_err_t ret;
	enum found found = FOUND_NONE;
	struct row r = { 0 };
	json_t *detail = NULL;
	int in_tx = 0, used = 0;

	memset(res, 0, sizeof(*res));
	res->status = HOOP_APPROVAL_DENIED;
	if ((ret = check_request(p, op)) != HOOP_OK)
		goto out;
	if ((text = clean_utf8(op->request)) == NULL ||
	    (approvers = join_groups(op->rule)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((ret = expire_due(svc, now, NULL, NULL)) != HOOP_OK)
		goto out;
	if ((ret = hoop_store_begin(svc->store)) != HOOP_OK)
		goto out;
	in_tx = 1;
	if ((ret = find_existing(db, p, op, policy, now, id, &found)) !=
	    HOOP_OK)
		goto out;
	if (found == FOUND_COVER)
		ret = mark_used(db, id, now, &used);
	else if (found == FOUND_NONE)
		ret = insert_request(db, p, op, policy, text, approvers, now,
		    id);
	if (ret != HOOP_OK || (ret = hoop_store_commit(svc->store)) != HOOP_OK)
		goto out;
	in_tx = 0;
	if ((ret = row_load(db, id, &r)) != HOOP_OK ||
	    (ret = fill_result(svc, &r, res)) != HOOP_OK)
		goto out;
	res->reused = found != FOUND_NONE;
	if (found == FOUND_PENDING)
		goto out;
	/* Under the lock the once-approval found must have become ours. */
	if (found == FOUND_COVER && r.status != HOOP_APPROVAL_APPROVED &&
	    !used) {
		ret = HOOP_ERR_STORE;
		goto out;
	}
	if (found == FOUND_COVER) {
		/* The operation runs on the strength of this event. */
		res->status = HOOP_APPROVAL_APPROVED;
		if ((detail = request_detail(op->fingerprint, text)) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		ret = record(svc->store, &r, "used", "allow", NULL, NULL, NULL,
		    detail);
		goto out;
	}
	if ((detail = request_detail(op->fingerprint, text)) == NULL ||
	    json_object_set_new(detail, "approvers", json_string(approvers)) ||
	    json_object_set_new(detail, "approvals_required",
	    json_integer(op->rule->approvals_required)) ||
	    set_str(detail, "approval_mode", S(&r, R_MODE)) ||
	    set_str(detail, "covers", S(&r, R_COVERS)) ||
	    json_object_set_new(detail, "expires_at",
	    json_integer(r.expires_at))) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((ret = record(svc->store, &r, "requested", "info", NULL, NULL,
	    NULL, detail)) != HOOP_OK) {
		/* Unrecorded, it must not be decided either. */
		(void)hoop_approval_cancel(svc, p, id,
		    &(struct hoop_approval_result){ 0 });
		goto out;
	}
	announce(svc, &r, "requested", NULL, NULL, NULL);
out:
	if (in_tx)
		hoop_store_rollback(svc->store);
	if (ret != HOOP_OK && res->status == HOOP_APPROVAL_APPROVED)
		res->status = HOOP_APPROVAL_DENIED;
	json_decref(detail);
	row_clear(&r);
	free(text);
	free(approvers);
	return ret;
}

hoop_err_t
hoop_approval_cancel(hoop_approval_t *svc, const struct hoop_principal *p,
    const char *id_in, struct hoop_approval_result *res)
{
	sqlite3 *db = hoop_store_db(svc->store);
	hoop_err_t ret = HOOP_ERR_NOTFOUND;
	sqlite3_stmt *st = NULL;
	struct row r = { 0 };
	int64_t now = svc_now(svc);
	char id[HOOP_APPROVAL_ID_LEN + 1];
	int rc, changed;

	/* id may point into res. */
	snprintf(id, sizeof(id), "%s", id_in != NULL ? id_in : "");
	memset(res, 0, sizeof(*res));
	res->status = HOOP_APPROVAL_DENIED;
	if (!principal_valid(p) || !hoop_approval_id_valid(id))
		goto out;
	if ((st = prep(db, "UPDATE approvals SET status = 'cancelled', "
	    "decided_at = ?2, reason = 'cancelled by the requester' WHERE id "
	    "= ?1 AND status = 'pending' AND principal = ?3 AND issuer = ?4 "
	    "AND subject = ?5")) == NULL) {
		ret = HOOP_ERR_STORE;
		goto out;
	}
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	bind_text(st, 3, p->login);
	bind_text(st, 4, p->issuer);
	bind_text(st, 5, p->subject);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		ret = step_err(db, rc);
		goto out;
	}
	changed = sqlite3_changes(db) == 1;
	if ((ret = row_load(db, id, &r)) != HOOP_OK)
		goto out;
	if (!is_requester(&r, p)) {
		ret = HOOP_ERR_NOTFOUND;
		goto out;
	}
	if ((ret = fill_result(svc, &r, res)) != HOOP_OK)
		goto out;
	if (changed) {
		ret = record(svc->store, &r, "cancelled", "info", NULL, NULL,
		    "cancelled by the requester", NULL);
		announce(svc, &r, "cancelled", NULL, NULL, NULL);
	}
out:
	sqlite3_finalize(st);
	row_clear(&r);
	return ret;
}

/* The requester's side of an approved request: a once-approval is used
 * now (by this caller only); a grant is checked for its end. */
static hoop_err_t
consume(hoop_approval_t *svc, const struct row *r, int64_t now,
    struct hoop_approval_result *res)
{
	sqlite3 *db = hoop_store_db(svc->store);
	hoop_err_t ret;
	struct row after = { 0 };
	int changed = 0;

	if (strcmp(S(r, R_COVERS), "grant") == 0) {
		if (r->grant_until <= now) {
			res->status = HOOP_APPROVAL_EXPIRED;
			snprintf(res->reason, sizeof(res->reason), "the grant "
			    "has ended");
			return HOOP_OK;
		}
		res->status = HOOP_APPROVAL_APPROVED;
		return record(svc->store, r, "used", "allow", NULL, NULL, NULL,
		    NULL);
	}
	if ((ret = hoop_store_begin(svc->store)) != HOOP_OK)
		return ret;
	if ((ret = mark_used(db, S(r, R_ID), now, &changed)) != HOOP_OK ||
	    (ret = hoop_store_commit(svc->store)) != HOOP_OK) {
		hoop_store_rollback(svc->store);
		return ret;
	}
	if ((ret = row_load(db, S(r, R_ID), &after)) != HOOP_OK)
		return ret;
	ret = fill_result(svc, &after, res);
	if (ret == HOOP_OK && changed) {
		res->status = HOOP_APPROVAL_APPROVED;
		ret = record(svc->store, &after, "used", "allow", NULL, NULL,
		    NULL, NULL);
	} else if (ret == HOOP_OK && after.status == HOOP_APPROVAL_APPROVED) {
		res->status = HOOP_APPROVAL_EXPIRED;
		snprintf(res->reason, sizeof(res->reason), "the approval was "
		    "not used in time");
	} else if (ret == HOOP_OK)
		snprintf(res->reason, sizeof(res->reason), "already used by "
		    "another run");
	row_clear(&after);
	if (ret != HOOP_OK)
		res->status = HOOP_APPROVAL_DENIED;
	return ret;
}

/* One look at request id for its requester; *done when it is decided. */
static hoop_err_t
check_once(hoop_approval_t *svc, const struct hoop_principal *p,
    const char *id, struct hoop_approval_result *res, int *done)
{
	sqlite3 *db = hoop_store_db(svc->store);
	int64_t now = svc_now(svc);
	struct row r = { 0 };
	hoop_err_t ret;

	*done = 1;
	if ((ret = row_load(db, id, &r)) != HOOP_OK)
		goto out;
	if (!is_requester(&r, p)) {
		ret = HOOP_ERR_NOTFOUND;
		goto out;
	}
	if (r.status == HOOP_APPROVAL_PENDING && r.expires_at <= now) {
		if ((ret = expire_due(svc, now, id, NULL)) != HOOP_OK)
			goto out;
		row_clear(&r);
		if ((ret = row_load(db, id, &r)) != HOOP_OK)
			goto out;
	}
	if ((ret = fill_result(svc, &r, res)) != HOOP_OK)
		goto out;
	if (r.status == HOOP_APPROVAL_APPROVED) {
		ret = consume(svc, &r, now, res);
		goto out;
	}
	*done = r.status != HOOP_APPROVAL_PENDING;
out:
	row_clear(&r);
	return ret;
}

/* Store changes, seen through an inotify watch of its directory. */
struct watch {
	int fd;
	char base[NAME_MAX + 1];
	char wal[NAME_MAX + 5];
};

static void
watch_open(hoop_approval_t *svc, struct watch *w)
{
	const char *path = sqlite3_db_filename(hoop_store_db(svc->store),
	    "main"), *slash;
	char dir[PATH_MAX];

	w->fd = -1;
	if (path == NULL || (slash = strrchr(path, '/')) == NULL ||
	    strlen(slash + 1) > NAME_MAX || (size_t)(slash - path) >=
	    sizeof(dir))
		return;
	snprintf(w->base, sizeof(w->base), "%s", slash + 1);
	snprintf(w->wal, sizeof(w->wal), "%s-wal", slash + 1);
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
	    (int)(slash - path), path);
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return;
	/* The directory, not the files: the -wal file comes and goes. */
	if (inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE |
	    IN_MOVED_TO | IN_CLOSE_WRITE) == -1) {
		hoop_log(LOG_WARNING, "approval: cannot watch %s (%s): polling",
		    dir, strerror(errno));
		close(w->fd);
		w->fd = -1;
	}
}

/* Reads the pending events: 1 if one concerned the store. */
static int
watch_drain(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	size_t off;
	int hit = 0;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(*ev) <= (size_t)n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if ((ev->mask & IN_Q_OVERFLOW) || (ev->len > 0 &&
			    (strcmp(ev->name, w->base) == 0 ||
			    strcmp(ev->name, w->wal) == 0)))
				hit = 1;
		}
	}
	return hit;
}

static int
wants_cancel(const struct hoop_approval_wait_opts *o)
{
	return (o->cancel_flag != NULL && *o->cancel_flag) ||
	    (o->cancelled != NULL && o->cancelled(o->arg));
}

hoop_err_t
hoop_approval_wait(hoop_approval_t *svc, const struct hoop_principal *p,
    const char *id_in, const struct hoop_approval_wait_opts *opts,
    struct hoop_approval_result *res)
{
	static const struct hoop_approval_wait_opts none;
	struct hoop_approval_progress pr;
	struct watch w = { .fd = -1 };
	struct pollfd pfd;
	int64_t start = hoop_mono_ms(), last_progress = start, now_ms, left;
	hoop_err_t ret = HOOP_ERR_NOTFOUND;
	int timeout, recheck = -1, done = 0;
	char id[HOOP_APPROVAL_ID_LEN + 1];

	/* id may point into res. */
	snprintf(id, sizeof(id), "%s", id_in != NULL ? id_in : "");
	memset(res, 0, sizeof(*res));
	res->status = HOOP_APPROVAL_DENIED;
	if (opts == NULL)
		opts = &none;
	if (!principal_valid(p) || !hoop_approval_id_valid(id))
		goto out;
	watch_open(svc, &w);
	for (;;) {
		if (wants_cancel(opts)) {
			ret = hoop_approval_cancel(svc, p, id, res);
			/* Decided meanwhile: the caller still gave up. */
			res->status = HOOP_APPROVAL_CANCELLED;
			goto out;
		}
		if ((ret = check_once(svc, p, id, res, &done)) != HOOP_OK ||
		    done)
			goto out;
		now_ms = hoop_mono_ms();
		if (opts->max_wait > 0 && now_ms - start >=
		    (int64_t)opts->max_wait * 1000) {
			res->status = HOOP_APPROVAL_PENDING;
			goto out;
		}
		if (opts->progress != NULL && now_ms - last_progress >= 1000) {
			pr.id = id;
			pr.elapsed = (long)((now_ms - start) / 1000);
			pr.remaining = (long)(res->expires_at - svc_now(svc));
			pr.votes = res->votes;
			pr.needed = res->needed;
			opts->progress(opts->arg, &pr);
			last_progress = now_ms;
		}
		timeout = w.fd != -1 ? SAFETY_POLL_MS : NO_WATCH_POLL_MS;
		if (opts->progress != NULL &&
		    (left = 1000 - (now_ms - last_progress)) < timeout)
			timeout = (int)(left > 0 ? left : 0);
		if (recheck >= 0 && recheck_ms[recheck] < timeout)
			timeout = recheck_ms[recheck];
		if (opts->max_wait > 0 && (left = (int64_t)opts->max_wait *
		    1000 - (now_ms - start)) < timeout)
			timeout = (int)(left > 0 ? left : 0);
		pfd.fd = w.fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		switch (poll(&pfd, w.fd != -1 ? 1 : 0, timeout)) {
		case -1:
			if (errno != EINTR) {
				ret = HOOP_ERR_IO;
				goto out;
			}
			break;
		case 0:
			if (recheck >= 0 && (size_t)++recheck >=
			    nitems(recheck_ms))
				recheck = -1;
			break;
		default:
			if (watch_drain(&w))
				recheck = 0;
			break;
		}
	}
out:
	if (w.fd != -1)
		close(w.fd);
	return ret;
}

hoop_err_t
hoop_approval_decide(hoop_approval_t *svc, const struct hoop_principal *a,
    const char *id_in, int approve, const char *reason_in,
    struct hoop_approval_result *res, char *why, size_t whylen)
{
	sqlite3 *db = hoop_store_db(svc->store);
	hoop_err_t ret = HOOP_ERR_INVAL;
	sqlite3_stmt *st = NULL;
	int64_t now = svc_now(svc), until;
	char held[512], *reason = NULL;
	const char *action;
	struct row r = { 0 };
	struct tally t = { 0 };
	json_t *detail = NULL;
	int in_tx = 0, rc, voted;
	char id[HOOP_APPROVAL_ID_LEN + 1];

	/* id may point into res. */
	snprintf(id, sizeof(id), "%s", id_in != NULL ? id_in : "");
	memset(res, 0, sizeof(*res));
	res->status = HOOP_APPROVAL_DENIED;
	if (!principal_valid(a)) {
		hoop_why(why, whylen, "no approver");
		goto out;
	}
	if (!hoop_approval_id_valid(id)) {
		hoop_why(why, whylen, "no request %.32s", id);
		ret = HOOP_ERR_NOTFOUND;
		goto out;
	}
	if (reason_in != NULL && strlen(reason_in) > HOOP_APPROVAL_MAX_REASON) {
		hoop_why(why, whylen, "the reason is longer than %d bytes",
		    HOOP_APPROVAL_MAX_REASON);
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if (!approve && (reason_in == NULL ||
	    reason_in[strspn(reason_in, " \t\r\n")] == '\0')) {
		hoop_why(why, whylen, "a denial needs a reason");
		goto out;
	}
	if (reason_in != NULL && reason_in[strspn(reason_in, " \t\r\n")] !=
	    '\0' && (reason = clean_utf8(reason_in)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((ret = expire_due(svc, now, NULL, NULL)) != HOOP_OK)
		goto out;
	if ((ret = hoop_store_begin(svc->store)) != HOOP_OK)
		goto out;
	in_tx = 1;
	if ((ret = row_load(db, id, &r)) != HOOP_OK) {
		hoop_why(why, whylen, "no request %s", id);
		goto out;
	}
	ret = HOOP_ERR_DENIED;
	if (r.status != HOOP_APPROVAL_PENDING) {
		hoop_why(why, whylen, "request %s is %s, not pending", id,
		    S(&r, R_STATUS));
		goto out;
	}
	if (r.expires_at <= now) {
		hoop_why(why, whylen, "request %s has expired", id);
		goto out;
	}
	if (r.s[R_APPROVERS] == NULL || r.required < 1) {
		hoop_why(why, whylen, "request %s names no approvers", id);
		goto out;
	}
	if (same_person(&r, a)) {
		hoop_why(why, whylen, "no one approves or denies their own "
		    "request");
		goto out;
	}
	held_groups(&r, a, held, sizeof(held));
	if (held[0] == '\0') {
		hoop_why(why, whylen, "%s holds none of the approver groups of "
		    "request %s (%s)", a->login, id, S(&r, R_APPROVERS));
		goto out;
	}
	if ((ret = has_voted(db, &r, a, &voted)) != HOOP_OK)
		goto out;
	if (voted) {
		ret = HOOP_ERR_DENIED;
		hoop_why(why, whylen, "%s has voted on request %s already",
		    a->login, id);
		goto out;
	}
	if ((st = prep(db, "INSERT INTO approval_votes (approval_id, "
	    "approver, decision, reason, decided_at, issuer, subject, groups) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")) == NULL) {
		ret = HOOP_ERR_STORE;
		goto out;
	}
	bind_text(st, 1, id);
	bind_text(st, 2, a->login);
	bind_text(st, 3, approve ? "approve" : "deny");
	bind_text(st, 4, reason);
	sqlite3_bind_int64(st, 5, now);
	bind_text(st, 6, a->issuer);
	bind_text(st, 7, a->subject);
	bind_text(st, 8, held);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		ret = step_err(db, rc);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((ret = tally(db, &r, &t)) != HOOP_OK)
		goto out;
	if (!approve || t.satisfied) {
		/* A once-approval may be used for as long as the request
		 * could wait; a grant lasts its grant_seconds. */
		until = now + (r.expires_at - r.created_at);
		if ((st = prep(db, "UPDATE approvals SET status = ?2, "
		    "decided_at = ?3, reason = ?4, grant_until = CASE WHEN ?2 "
		    "= 'approved' THEN (CASE covers WHEN 'grant' THEN ?3 + "
		    "grant_seconds ELSE ?5 END) END WHERE id = ?1 AND status = "
		    "'pending'")) == NULL) {
			ret = HOOP_ERR_STORE;
			goto out;
		}
		bind_text(st, 1, id);
		bind_text(st, 2, approve ? "approved" : "denied");
		sqlite3_bind_int64(st, 3, now);
		bind_text(st, 4, approve ? NULL : reason);
		sqlite3_bind_int64(st, 5, until);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE ||
		    sqlite3_changes(db) != 1) {
			ret = step_err(db, rc);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if ((ret = hoop_store_commit(svc->store)) != HOOP_OK)
		goto out;
	in_tx = 0;
	row_clear(&r);
	if ((ret = row_load(db, id, &r)) != HOOP_OK ||
	    (ret = fill_result(svc, &r, res)) != HOOP_OK)
		goto out;
	action = !approve ? "denied" : t.satisfied ? "approved" : "voted";
	if ((detail = json_pack("{s:s,s:i,s:i}", "groups", held, "votes",
	    (int)res->votes, "needed", (int)res->needed)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((ret = record(svc->store, &r, action, !approve ? "deny" :
	    t.satisfied ? "approve" : "info", a->login, a->identity->name,
	    reason, detail)) != HOOP_OK)
		hoop_why(why, whylen, "the decision is made but its audit event "
		    "could not be recorded");
	if (!approve || t.satisfied)
		announce(svc, &r, action, a->login, a->identity->name, reason);
out:
	if (in_tx)
		hoop_store_rollback(svc->store);
	sqlite3_finalize(st);
	json_decref(detail);
	row_clear(&r);
	free(reason);
	return ret;
}

/*
 * Listing, for approvers and auditors.
 */

/* Root (NULL) sees every request; a principal its own, and those it
 * holds an approver group of. */
static int
may_see(const struct row *r, const struct hoop_principal *v)
{
	char held[512];

	if (v == NULL || is_requester(r, v))
		return 1;
	held_groups(r, v, held, sizeof(held));
	return held[0] != '\0';
}

/* A name for a column: anything but printable ASCII becomes '?'. */
static void
word(const char *s, char *buf, size_t size)
{
	size_t i;

	s = s != NULL ? s : "-";
	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] > 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

static void
list_line(FILE *out, const struct row *r, int64_t now)
{
	char principal[64], target[72], kind[16], label[160], rule[160];
	char when[48], span[32];

	word(r->s[R_PRINCIPAL], principal, sizeof(principal));
	word(r->s[R_TARGET], target, sizeof(target));
	word(r->s[R_KIND], kind, sizeof(kind));
	rule_label(r, label, sizeof(label));
	word(label, rule, sizeof(rule));
	if (r->status == HOOP_APPROVAL_PENDING) {
		fmt_span(r->expires_at - now, span, sizeof(span));
		snprintf(when, sizeof(when), "expires in %s", span);
	} else
		fmt_time(r->decided_at > 0 ? r->decided_at : r->created_at,
		    when, sizeof(when));
	fprintf(out, "%-12s  %-9s  %-16s  %-12s  %-5s  %-20s  %-20s  ",
	    S(r, R_ID), S(r, R_STATUS), principal, target, kind, rule, when);
	put_safe(out, r->s[R_REQUEST], PUT_FLAT, "", LIST_EXCERPT);
	fputc('\n', out);
}

hoop_err_t
hoop_approval_list(hoop_approval_t *svc,
    const struct hoop_principal *viewer, unsigned flags, FILE *out)
{
	sqlite3 *db = hoop_store_db(svc->store);
	int all = (flags & HOOP_APPROVAL_LIST_ALL) != 0, header = 0, voted, rc;
	int64_t now = svc_now(svc);
	hoop_err_t ret;
	sqlite3_stmt *st = NULL;
	struct row r = { 0 };

	if (viewer != NULL && !principal_valid(viewer))
		return HOOP_ERR_INVAL;
	if ((ret = expire_due(svc, now, NULL, NULL)) != HOOP_OK)
		return ret;
	if ((st = prep(db, ROW_SELECT " WHERE (?1 OR status = 'pending') "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?2")) == NULL)
		return HOOP_ERR_STORE;
	sqlite3_bind_int(st, 1, all);
	sqlite3_bind_int(st, 2, LIST_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = row_read(st, &r)) != HOOP_OK)
			goto out;
		if (!may_see(&r, viewer))
			goto next;
		/* Without --all: what the viewer may still decide. */
		if (!all && viewer != NULL) {
			if (same_person(&r, viewer))
				goto next;
			if ((ret = has_voted(db, &r, viewer, &voted)) !=
			    HOOP_OK)
				goto out;
			if (voted)
				goto next;
		}
		if (!header++)
			fprintf(out, "%-12s  %-9s  %-16s  %-12s  %-5s  %-20s  "
			    "%-20s  %s\n", "ID", "STATUS", "PRINCIPAL",
			    "TARGET", "KIND", "RULE", "WHEN", "REQUEST");
		list_line(out, &r, now);
next:
		row_clear(&r);
	}
	ret = rc == SQLITE_DONE ? HOOP_OK : step_err(db, rc);
	if (ret == HOOP_OK && ferror(out))
		ret = HOOP_ERR_IO;
out:
	row_clear(&r);
	sqlite3_finalize(st);
	return ret;
}

static void
show_field(FILE *out, const char *label, const char *value)
{
	fprintf(out, "%-13s", label);
	put_safe(out, value, PUT_LINE, "", 0);
	fputc('\n', out);
}

static void
show_time(FILE *out, const char *label, int64_t t, int64_t now)
{
	char when[48], span[32];

	if (t <= 0)
		return;
	fmt_time(t, when, sizeof(when));
	fmt_span(t > now ? t - now : now - t, span, sizeof(span));
	fprintf(out, "%-13s%s (%s %s)\n", label, when, t > now ? "in" : span,
	    t > now ? span : "ago");
}

static hoop_err_t
show_votes(FILE *out, sqlite3 *db, const struct row *r)
{
	sqlite3_stmt *st;
	char when[48];
	int rc;

	if ((st = prep(db, "SELECT approver, decision, reason, decided_at, "
	    "groups FROM approval_votes WHERE approval_id = ?1 ORDER BY "
	    "decided_at, rowid")) == NULL)
		return HOOP_ERR_STORE;
	bind_text(st, 1, S(r, R_ID));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fmt_time(sqlite3_column_int64(st, 3), when, sizeof(when));
		fprintf(out, "%-13s%s ", "vote:", when);
		put_safe(out, (const char *)sqlite3_column_text(st, 0),
		    PUT_LINE, "", 0);
		fputc(' ', out);
		put_safe(out, (const char *)sqlite3_column_text(st, 1),
		    PUT_LINE, "", 0);
		fputs(" as ", out);
		put_safe(out, (const char *)sqlite3_column_text(st, 4),
		    PUT_LINE, "", 0);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
			fputs(": ", out);
			put_safe(out, (const char *)sqlite3_column_text(st, 2),
			    PUT_LINE, "", 0);
		}
		fputc('\n', out);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? HOOP_OK : step_err(db, rc);
}

hoop_err_t
hoop_approval_show(hoop_approval_t *svc,
    const struct hoop_principal *viewer, const char *id, FILE *out)
{
	sqlite3 *db = hoop_store_db(svc->store);
	int64_t now = svc_now(svc);
	char label[160], buf[1024], groups[512];
	struct row r = { 0 };
	struct tally t;
	hoop_err_t ret;

	if (viewer != NULL && !principal_valid(viewer))
		return HOOP_ERR_INVAL;
	if (!hoop_approval_id_valid(id))
		return HOOP_ERR_NOTFOUND;
	if ((ret = expire_due(svc, now, id, NULL)) != HOOP_OK)
		return ret;
	if ((ret = row_load(db, id, &r)) != HOOP_OK)
		goto out;
	if (!may_see(&r, viewer)) {
		ret = HOOP_ERR_NOTFOUND;
		goto out;
	}
	if ((ret = tally(db, &r, &t)) != HOOP_OK)
		goto out;
	show_field(out, "id:", r.s[R_ID]);
	show_field(out, "status:", r.s[R_STATUS]);
	snprintf(buf, sizeof(buf), "%s (identity %s, issuer %s, subject %s)",
	    S(&r, R_PRINCIPAL), S(&r, R_IDENTITY), S(&r, R_ISSUER),
	    S(&r, R_SUBJECT));
	show_field(out, "principal:", buf);
	show_field(out, "session:", r.s[R_SESSION]);
	show_field(out, "target:", r.s[R_TARGET]);
	show_field(out, "kind:", r.s[R_KIND]);
	rule_label(&r, label, sizeof(label));
	show_field(out, "rule:", label);
	list_display(r.s[R_APPROVERS], groups, sizeof(groups));
	snprintf(buf, sizeof(buf), "%s (%ld approval%s from %s group; %u of "
	    "%u so far)", groups, r.required, r.required == 1 ? "" : "s",
	    strcmp(S(&r, R_MODE), "all") == 0 ? "each" : "any", t.votes,
	    t.needed);
	show_field(out, "approvers:", buf);
	show_field(out, "covers:", r.s[R_COVERS]);
	show_time(out, "requested:", r.created_at, now);
	if (r.status == HOOP_APPROVAL_PENDING)
		show_time(out, "expires:", r.expires_at, now);
	show_time(out, "decided:", r.decided_at, now);
	if (r.status == HOOP_APPROVAL_APPROVED)
		show_time(out, "valid until:", r.grant_until, now);
	show_time(out, "used:", r.used_at, now);
	if (r.s[R_REASON] != NULL)
		show_field(out, "reason:", r.s[R_REASON]);
	show_field(out, "fingerprint:", r.s[R_FINGERPRINT]);
	if ((ret = show_votes(out, db, &r)) != HOOP_OK)
		goto out;
	fputs("request:\n    ", out);
	put_safe(out, r.s[R_REQUEST], PUT_BLOCK, "    ", 0);
	fputc('\n', out);
	ret = ferror(out) ? HOOP_ERR_IO : HOOP_OK;
out:
	row_clear(&r);
	return ret;
}

/*
 * The wrappers' whole flow.
 */

static volatile sig_atomic_t obtain_interrupted;

static void
obtain_sigint(int sig)
{
	(void)sig;
	obtain_interrupted = 1;
}

struct obtain_ui {
	FILE *out;
	int tty;
	unsigned tick;
	long last_line;
};

static void
obtain_progress(void *arg, const struct hoop_approval_progress *pr)
{
	static const char spin[] = "|/-\\";
	struct obtain_ui *ui = arg;
	char left[32];

	fmt_span(pr->remaining, left, sizeof(left));
	if (ui->tty)
		fprintf(ui->out, "\r%c waiting for approval %s: %lds, %s left, "
		    "%u of %u approvals\033[K", spin[ui->tick++ % 4], pr->id,
		    pr->elapsed, left, pr->votes, pr->needed);
	else if (pr->elapsed - ui->last_line >= PROGRESS_LINE_EVERY) {
		fprintf(ui->out, "hoop: still waiting for approval %s (%lds, "
		    "%s left, %u of %u approvals)\n", pr->id, pr->elapsed,
		    left, pr->votes, pr->needed);
		ui->last_line = pr->elapsed;
	}
	fflush(ui->out);
}

static void
obtain_outcome(FILE *out, const struct hoop_approval_result *res)
{
	switch (res->status) {
	case HOOP_APPROVAL_APPROVED:
		fprintf(out, "hoop: request %s approved by ", res->id);
		put_safe(out, res->decided_by, PUT_LINE, "", 0);
		fputc('\n', out);
		break;
	case HOOP_APPROVAL_DENIED:
		fprintf(out, "hoop: request %s denied by ", res->id);
		put_safe(out, res->decided_by, PUT_LINE, "", 0);
		fputs(": ", out);
		put_safe(out, res->reason, PUT_LINE, "", 0);
		fputc('\n', out);
		break;
	case HOOP_APPROVAL_EXPIRED:
		fprintf(out, "hoop: request %s expired: %s\n", res->id,
		    res->reason[0] != '\0' ? res->reason : "no decision in "
		    "time");
		break;
	case HOOP_APPROVAL_CANCELLED:
		fprintf(out, "hoop: request %s cancelled\n", res->id);
		break;
	case HOOP_APPROVAL_USED:
		fprintf(out, "hoop: the approval of request %s was used by "
		    "another run\n", res->id);
		break;
	case HOOP_APPROVAL_PENDING:
		fprintf(out, "hoop: no decision on request %s yet: run this "
		    "again once it is approved\n", res->id);
		break;
	}
}

hoop_err_t
hoop_approval_obtain(hoop_approval_t *svc, const struct hoop_principal *p,
    const struct hoop_approval_op *op, long wait_limit, FILE *out,
    struct hoop_approval_result *res)
{
	struct hoop_approval_wait_opts wo = { 0 };
	struct obtain_ui ui = { .out = out };
	struct sigaction sa, old;
	char id[HOOP_APPROVAL_ID_LEN + 1], span[32], until[48];
	int64_t wait_for;
	hoop_err_t ret;
	int handler;

	if ((ret = hoop_approval_request(svc, p, op, res)) != HOOP_OK) {
		fprintf(out, "hoop: cannot ask for approval: %s\n",
		    hoop_strerror(ret));
		return ret;
	}
	if (res->status == HOOP_APPROVAL_APPROVED) {
		fmt_time(res->valid_until, until, sizeof(until));
		fprintf(out, "hoop: allowed by approval %s%s%s%s\n", res->id,
		    op->rule->approval_covers == HOOP_APPROVAL_GRANT ?
		    " (granted until " : "", op->rule->approval_covers ==
		    HOOP_APPROVAL_GRANT ? until : "", op->rule->approval_covers
		    == HOOP_APPROVAL_GRANT ? ")" : "");
		return HOOP_OK;
	}
	snprintf(id, sizeof(id), "%s", res->id);
	fprintf(out, "hoop: this needs approval: request %s, %ld approval%s "
	    "from %s%s\nhoop: an approver runs: hoopctl approvals approve "
	    "%s\n", id, res->required, res->required == 1 ? "" : "s",
	    strcmp(res->mode, "all") == 0 ? "each of " : "", res->approvers,
	    id);
	if (wait_limit < 0) {
		fprintf(out, "hoop: not waiting: run this again once request "
		    "%s is approved\n", id);
		fflush(out);
		return HOOP_ERR_DENIED;
	}
	wait_for = res->expires_at - svc_now(svc);
	if (wait_limit > 0 && wait_limit < wait_for)
		wait_for = wait_limit;
	fmt_span(wait_for, span, sizeof(span));
	fprintf(out, "hoop: waiting up to %s; Ctrl-C cancels the request\n",
	    span);
	fflush(out);
	obtain_interrupted = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = obtain_sigint;
	sigemptyset(&sa.sa_mask);
	handler = sigaction(SIGINT, &sa, &old) == 0;
	ui.tty = isatty(fileno(out));
	wo.cancel_flag = &obtain_interrupted;
	wo.progress = obtain_progress;
	wo.arg = &ui;
	wo.max_wait = wait_limit;
	ret = hoop_approval_wait(svc, p, id, &wo, res);
	if (handler)
		sigaction(SIGINT, &old, NULL);
	if (ui.tty)
		fputs("\r\033[K", out);
	if (ret != HOOP_OK) {
		fprintf(out, "hoop: waiting for request %s failed: %s\n", id,
		    hoop_strerror(ret));
		fflush(out);
		return ret;
	}
	obtain_outcome(out, res);
	fflush(out);
	return res->status == HOOP_APPROVAL_APPROVED ? HOOP_OK :
	    HOOP_ERR_DENIED;
}

long
hoop_approval_wait_limit(int interactive)
{
	const char *v = getenv("HOOP_APPROVAL_WAIT");
	long n;

	if (interactive || v == NULL || hoop_parse_duration(v, &n) == -1)
		return 0;
	return n == 0 ? -1 : n;
}
