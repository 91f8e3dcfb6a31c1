/*
 * hoopctl sessions: list, show, verify and grep sessions and their
 * recordings, for auditors. Looking at what a session recorded is itself
 * an audit event, written before anything recorded is shown.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_audit.h"
#include "hoop_rec_export.h"
#include "hoop_recording.h"
#include "hoop_util.h"
#include "hoopctl.h"
#include "store_internal.h"

#define SESSION_COLUMNS "id, lease_id, login, identity, principal, " \
	"remote, command, pid, started_at, ended_at, end_reason, recording, " \
	"seal"

/* ---- shared with cmd_replay.c ---- */

/* Accepts @EPOCH, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[Z], or a duration
 * ("15m", "2h") meaning that long ago. */
int
hoopctl_parse_when(const char *text, int64_t *us)
{
	struct tm tm;
	const char *end;
	char *num_end;
	long ago;
	long long epoch;

	if (text[0] == '@') {
		errno = 0;
		epoch = strtoll(text + 1, &num_end, 10);
		if (errno != 0 || *num_end != '\0' || num_end == text + 1 ||
		    epoch < 0 || epoch > INT64_MAX / 1000000)
			return -1;
		*us = (int64_t)epoch * 1000000;
		return 0;
	}
	if (hoop_parse_duration(text, &ago) == 0) {
		if (ago > time(NULL))
			return -1;
		*us = ((int64_t)time(NULL) - ago) * 1000000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(text, "%Y-%m-%d", &tm);
	}
	if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0))
		return -1;
	*us = (int64_t)timegm(&tm) * 1000000;
	return 0;
}

void
hoopctl_format_offset(int64_t us, char *buf, size_t size)
{
	if (us < 0)
		us = 0;
	snprintf(buf, size, "+%" PRId64 ":%02d:%02d.%03d", us / 3600000000,
	    (int)(us / 60000000 % 60), (int)(us / 1000000 % 60),
	    (int)(us / 1000 % 1000));
}

/* UTC, to the second (store times) or the microsecond (frames). */
static void
format_time(int64_t us, int micro, char *buf, size_t size)
{
	struct tm tm;
	time_t sec = (time_t)(us / 1000000);
	char base[32];

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "%" PRId64, us);
		return;
	}
	if (micro)
		snprintf(buf, size, "%s.%06dZ", base, (int)(us % 1000000));
	else
		snprintf(buf, size, "%sZ", base);
}

static void
put_str(FILE *out, const char *s)
{
	hoop_put_safe(out, s, s != NULL ? strlen(s) : 0);
}

/* A JSON string of bytes a principal chose: repaired to UTF-8 first. */
static json_t *
json_bytes(const char *s, size_t len)
{
	struct hoop_rec_export_utf8 u8 = { .n_held = 0 };
	json_t *v;
	char *fixed;
	size_t n;

	if (s == NULL)
		return json_null();
	if ((fixed = malloc(HOOP_REC_EXPORT_UTF8_ROOM(len))) == NULL)
		return NULL;
	n = hoop_rec_export_utf8(&u8, s, len, 1, fixed);
	v = json_stringn(fixed, n);
	free(fixed);
	return v;
}

static json_t *
json_str(const char *s)
{
	return json_bytes(s, s != NULL ? strlen(s) : 0);
}

static json_t *
json_rec_str(const struct hoop_rec_str *s)
{
	return json_bytes(s->len > 0 ? s->ptr : "", s->len);
}

/* Prints one JSON Lines record and frees it. */
static int
json_line(FILE *out, json_t *obj)
{
	int ret = -1;

	if (obj != NULL && json_dumpf(obj, out, JSON_COMPACT |
	    JSON_PRESERVE_ORDER) == 0 && putc('\n', out) != EOF)
		ret = 0;
	json_decref(obj);
	return ret;
}

static char *
col_dup(sqlite3_stmt *st, int col, int *failed)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	char *d;

	if (v == NULL)
		return NULL;
	if ((d = strdup((const char *)v)) == NULL)
		*failed = 1;
	return d;
}

static struct hoopctl_session *
session_from_row(sqlite3_stmt *st)
{
	struct hoopctl_session *s;
	int failed = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = col_dup(st, 0, &failed);
	s->has_lease_id = sqlite3_column_type(st, 1) != SQLITE_NULL;
	s->lease_id = sqlite3_column_int64(st, 1);
	s->login = col_dup(st, 2, &failed);
	s->identity = col_dup(st, 3, &failed);
	s->principal = col_dup(st, 4, &failed);
	s->remote = col_dup(st, 5, &failed);
	s->command = col_dup(st, 6, &failed);
	s->has_pid = sqlite3_column_type(st, 7) != SQLITE_NULL;
	s->pid = sqlite3_column_int64(st, 7);
	s->started_at = sqlite3_column_int64(st, 8);
	s->live = sqlite3_column_type(st, 9) == SQLITE_NULL;
	s->ended_at = sqlite3_column_int64(st, 9);
	s->end_reason = col_dup(st, 10, &failed);
	s->recording = col_dup(st, 11, &failed);
	s->seal = col_dup(st, 12, &failed);
	if (failed || s->id == NULL) {
		hoopctl_session_free(s);
		return NULL;
	}
	return s;
}

void
hoopctl_session_free(struct hoopctl_session *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->login);
	free(s->identity);
	free(s->principal);
	free(s->remote);
	free(s->command);
	free(s->end_reason);
	free(s->recording);
	free(s->seal);
	free(s);
}

int
hoopctl_session_get(struct hoopctl *ctx, const char *id,
    struct hoopctl_session **out)
{
	sqlite3 *db = hoop_store_db(ctx->store);
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*out = NULL;
	if (sqlite3_prepare_v2(db, "SELECT " SESSION_COLUMNS " FROM sessions "
	    "WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		fputs("hoopctl: no session ", stderr);
		put_str(stderr, id);
		fputs("\n", stderr);
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto db_error;
	if ((*out = session_from_row(st)) == NULL) {
		fprintf(stderr, "hoopctl: out of memory\n");
		goto out;
	}
	ret = 0;
	goto out;
db_error:
	fprintf(stderr, "hoopctl: store: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return ret;
}

int
hoopctl_view_event(struct hoopctl *ctx, const struct hoopctl_session *s,
    const char *action, const char *detail)
{
	struct hoop_audit_event ev = {
		.session_id = s != NULL ? s->id : NULL,
		.principal = hoopctl_caller(),
		.kind = "session",
		.action = action,
		.decision = "info",
		.detail = detail,
	};
	hoop_err_t err;

	if ((err = hoop_audit_append(ctx->store, &ev, NULL)) != HOOP_OK) {
		fprintf(stderr, "hoopctl: cannot record the audit event for "
		    "this %s (%s): refusing to show recorded data\n", action,
		    hoop_strerror(err));
		return -1;
	}
	return 0;
}

const char *
hoopctl_session_recordings(struct hoopctl *ctx,
    const struct hoopctl_session *s)
{
	if (s->recording == NULL) {
		fputs("hoopctl: session ", stderr);
		put_str(stderr, s->id);
		fputs(" has no recording\n", stderr);
		return NULL;
	}
	if (hoopctl_config(ctx) == -1)
		return NULL;
	return hoop_config_recordings_dir(ctx->cfg);
}

/* ---- opening ---- */

/* The store, read-only unless views are recorded into it. */
static int
open_store(struct hoopctl *ctx, int writable)
{
	if (hoopctl_config(ctx) == -1)
		return -1;
	return hoopctl_store(ctx, writable ? 0 : HOOP_STORE_READONLY);
}

static pcre2_code *
compile_pattern(const char *pattern, int caseless)
{
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	pcre2_code *re;
	int code;

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | (caseless ? PCRE2_CASELESS : 0), &code, &off, NULL);
	if (re == NULL) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		fprintf(stderr, "hoopctl: bad pattern at offset %zu: %s\n",
		    (size_t)off, (const char *)msg);
	}
	return re;
}

/* 1 match, 0 none; subject is valid UTF-8. */
static int
re_match(const pcre2_code *re, pcre2_match_data *md, const char *s,
    size_t len)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK,
	    md, NULL);

	if (rc >= 0)
		return 1;
	if (rc != PCRE2_ERROR_NOMATCH)
		fprintf(stderr, "hoopctl: warning: pattern gave up on a line "
		    "(error %d)\n", rc);
	return 0;
}

/* Repairs bytes to UTF-8 and matches them. */
static int
re_match_bytes(const pcre2_code *re, pcre2_match_data *md, const char *s,
    size_t len)
{
	struct hoop_rec_export_utf8 u8 = { .n_held = 0 };
	char *fixed;
	size_t n;
	int m;

	if ((fixed = malloc(HOOP_REC_EXPORT_UTF8_ROOM(len))) == NULL)
		return 0;
	n = hoop_rec_export_utf8(&u8, s, len, 1, fixed);
	m = re_match(re, md, fixed, n);
	free(fixed);
	return m;
}

/* ---- filters, shared by list, verify and grep ---- */

struct filter {
	const char *principal, *identity, *target, *session;
	const char *command;		/* pattern */
	int64_t since_us, until_us;	/* 0: none */
	int live;
	pcre2_code *command_re;
	pcre2_match_data *md;
};

#define FILTER_OPTIONS \
	{ "principal", required_argument, NULL, 'p' }, \
	{ "identity", required_argument, NULL, 'I' }, \
	{ "target", required_argument, NULL, 't' }, \
	{ "command", required_argument, NULL, 'C' }, \
	{ "session", required_argument, NULL, 'S' }, \
	{ "since", required_argument, NULL, 'a' }, \
	{ "until", required_argument, NULL, 'b' }, \
	{ "live", no_argument, NULL, 'L' }

/* 1: a filter option, taken; 0: not one; -1: a bad value. */
static int
filter_option(struct filter *f, int ch, const char *arg)
{
	switch (ch) {
	case 'p': f->principal = arg; return 1;
	case 'I': f->identity = arg; return 1;
	case 't': f->target = arg; return 1;
	case 'C': f->command = arg; return 1;
	case 'S': f->session = arg; return 1;
	case 'L': f->live = 1; return 1;
	case 'a':
	case 'b':
		if (hoopctl_parse_when(arg, ch == 'a' ? &f->since_us :
		    &f->until_us) == -1) {
			fprintf(stderr, "hoopctl: bad time '%s' (use "
			    "YYYY-MM-DD[THH:MM:SSZ], @EPOCH or a duration "
			    "such as 2h)\n", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

static int
filter_ready(struct filter *f)
{
	if (f->command == NULL)
		return 0;
	if ((f->command_re = compile_pattern(f->command, 0)) == NULL ||
	    (f->md = pcre2_match_data_create_from_pattern(f->command_re,
	    NULL)) == NULL)
		return -1;
	return 0;
}

static void
filter_free(struct filter *f)
{
	pcre2_match_data_free(f->md);
	pcre2_code_free(f->command_re);
}

/* Whether the session ran a command that matches: its row's command or
 * a command its recording holds. */
static int
command_matches(struct hoopctl *ctx, const struct filter *f,
    const struct hoopctl_session *s)
{
	struct hoop_rec_frame fr;
	hoop_rec_reader_t *r = NULL;
	int found = 0;

	if (s->command != NULL && re_match_bytes(f->command_re, f->md,
	    s->command, strlen(s->command)))
		return 1;
	if (s->recording == NULL || hoop_rec_reader_open(
	    hoop_config_recordings_dir(ctx->cfg), s->recording, &r) != HOOP_OK)
		return 0;
	while (!found && hoop_rec_next(r, &fr) == HOOP_OK &&
	    fr.type != HOOP_REC_EOF) {
		if (fr.type == HOOP_REC_COMMAND)
			found = re_match_bytes(f->command_re, f->md,
			    fr.u.command.line.ptr, fr.u.command.line.len);
	}
	hoop_rec_reader_free(r);
	return found;
}

typedef int (*session_fn)(struct hoopctl *ctx, struct hoopctl_session *s,
    void *arg);

/*
 * Calls fn for every session the filter selects, oldest first. A time
 * range selects the sessions active during it. fn returns 0 to go on,
 * -1 to stop (the result then).
 */
static int
sessions_each(struct hoopctl *ctx, const struct filter *f, session_fn fn,
    void *arg)
{
	sqlite3 *db = hoop_store_db(ctx->store);
	sqlite3_stmt *st = NULL;
	struct hoopctl_session *s;
	int rc, ret = -1;
	/* Placeholders are always there; a NULL binding disables one. */
	const char *sql = "SELECT " SESSION_COLUMNS " FROM sessions s WHERE"
	    " (?1 IS NULL OR principal = ?1) AND (?2 IS NULL OR identity = ?2)"
	    " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM audit_events a"
	    "   WHERE a.session_id = s.id AND a.target = ?3))"
	    " AND (?4 IS NULL OR ended_at IS NULL OR ended_at >= ?4)"
	    " AND (?5 IS NULL OR started_at <= ?5)"
	    " AND (?6 = 0 OR ended_at IS NULL)"
	    " AND (?7 IS NULL OR id = ?7)"
	    " ORDER BY started_at, id";

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, f->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->identity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->target, -1, SQLITE_STATIC);
	if (f->since_us > 0)
		sqlite3_bind_int64(st, 4, f->since_us / 1000000);
	if (f->until_us > 0)
		sqlite3_bind_int64(st, 5, f->until_us / 1000000);
	sqlite3_bind_int(st, 6, f->live);
	sqlite3_bind_text(st, 7, f->session, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((s = session_from_row(st)) == NULL) {
			fprintf(stderr, "hoopctl: out of memory\n");
			goto out;
		}
		if (f->command_re != NULL && !command_matches(ctx, f, s)) {
			hoopctl_session_free(s);
			continue;
		}
		rc = fn(ctx, s, arg);
		hoopctl_session_free(s);
		if (rc != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		goto db_error;
	ret = 0;
	goto out;
db_error:
	fprintf(stderr, "hoopctl: store: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return ret;
}

/* The targets the session's audit events name, in order. */
static json_t *
session_targets(struct hoopctl *ctx, const struct hoopctl_session *s)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();

	if (arr == NULL || sqlite3_prepare_v2(hoop_store_db(ctx->store),
	    "SELECT DISTINCT target FROM audit_events WHERE session_id = ?1 "
	    "AND target IS NOT NULL ORDER BY target", -1, &st, NULL) !=
	    SQLITE_OK) {
		json_decref(arr);
		return NULL;
	}
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, json_str((const char *)
		    sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	return arr;
}

static json_t *
session_json(struct hoopctl *ctx, const struct hoopctl_session *s)
{
	json_t *o = json_object();
	char when[48];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_str(s->id));
	json_object_set_new(o, "login", json_str(s->login));
	json_object_set_new(o, "principal", json_str(s->principal));
	json_object_set_new(o, "identity", json_str(s->identity));
	json_object_set_new(o, "remote", json_str(s->remote));
	json_object_set_new(o, "command", json_str(s->command));
	json_object_set_new(o, "lease_id", s->has_lease_id ?
	    json_integer(s->lease_id) : json_null());
	json_object_set_new(o, "pid", s->has_pid ? json_integer(s->pid) :
	    json_null());
	format_time(s->started_at * 1000000, 0, when, sizeof(when));
	json_object_set_new(o, "started", json_string(when));
	json_object_set_new(o, "started_at", json_integer(s->started_at));
	if (s->live) {
		json_object_set_new(o, "ended", json_null());
		json_object_set_new(o, "ended_at", json_null());
	} else {
		format_time(s->ended_at * 1000000, 0, when, sizeof(when));
		json_object_set_new(o, "ended", json_string(when));
		json_object_set_new(o, "ended_at", json_integer(s->ended_at));
	}
	json_object_set_new(o, "end_reason", json_str(s->end_reason));
	json_object_set_new(o, "live", json_boolean(s->live));
	json_object_set_new(o, "recording", json_str(s->recording));
	json_object_set_new(o, "seal", json_str(s->seal));
	json_object_set_new(o, "targets", session_targets(ctx, s));
	return o;
}

static void
format_duration(int64_t sec, char *buf, size_t size)
{
	if (sec < 0)
		sec = 0;
	if (sec < 60)
		snprintf(buf, size, "%" PRId64 "s", sec);
	else if (sec < 3600)
		snprintf(buf, size, "%" PRId64 "m%02ds", sec / 60,
		    (int)(sec % 60));
	else
		snprintf(buf, size, "%" PRId64 "h%02dm%02ds", sec / 3600,
		    (int)(sec / 60 % 60), (int)(sec % 60));
}

/* ---- list ---- */

static int
list_one(struct hoopctl *ctx, struct hoopctl_session *s, void *arg)
{
	const int *json = arg;
	char when[48], dur[32];
	json_t *targets;
	size_t i;

	if (*json)
		return json_line(stdout, session_json(ctx, s));
	format_time(s->started_at * 1000000, 0, when, sizeof(when));
	if (s->live)
		snprintf(dur, sizeof(dur), "live");
	else
		format_duration(s->ended_at - s->started_at, dur, sizeof(dur));
	put_str(stdout, s->id);
	printf(" %s %s ", when, dur);
	put_str(stdout, s->login);
	fputs(" principal=", stdout);
	put_str(stdout, s->principal);
	fputs(" identity=", stdout);
	put_str(stdout, s->identity);
	fputs(" remote=", stdout);
	put_str(stdout, s->remote);
	fputs(" targets=", stdout);
	targets = session_targets(ctx, s);
	for (i = 0; targets != NULL && i < json_array_size(targets); i++) {
		if (i > 0)
			putchar(',');
		put_str(stdout, json_string_value(json_array_get(targets, i)));
	}
	if (targets == NULL || json_array_size(targets) == 0)
		putchar('-');
	json_decref(targets);
	if (!s->live) {
		fputs(" end=", stdout);
		put_str(stdout, s->end_reason);
	}
	if (s->command != NULL) {
		fputs(" command=", stdout);
		put_str(stdout, s->command);
	}
	putchar('\n');
	return ferror(stdout) ? -1 : 0;
}

static int
sessions_list(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		FILTER_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct filter f = { 0 };
	int ch, json = 0, ret = 1;

	optind = 0;	/* afresh: options may follow the ID */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (filter_option(&f, ch, optarg) != 1)
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "hoopctl: sessions list: unexpected '%s'\n",
		    argv[optind]);
		return 2;
	}
	if (filter_ready(&f) == -1) {
		ret = 2;
		goto out;
	}
	if (open_store(ctx, 0) == -1 ||
	    sessions_each(ctx, &f, list_one, &json) == -1)
		goto out;
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	filter_free(&f);
	return ret;
}

/* ---- verify ---- */

/* A recording's state against the seal its row holds. */
struct seal_state {
	const char *status;	/* intact, live, broken, ... */
	int bad;
	char problem[512];
	struct hoop_rec_verify_result res;
};

static void
seal_check(struct hoopctl *ctx, const struct hoopctl_session *s,
    struct seal_state *st)
{
	const char *dir = hoop_config_recordings_dir(ctx->cfg);
	hoop_err_t err;

	memset(st, 0, sizeof(*st));
	st->bad = 1;
	if (s->recording == NULL) {
		st->status = "no-recording";
		snprintf(st->problem, sizeof(st->problem), "the session has "
		    "no recording");
		return;
	}
	err = hoop_rec_verify(dir, s->recording, s->seal, &st->res);
	if (err == HOOP_ERR_REC_BROKEN) {
		st->status = "broken";
		snprintf(st->problem, sizeof(st->problem), "%s",
		    st->res.problem);
	} else if (err == HOOP_ERR_NOTFOUND) {
		st->status = "missing";
		snprintf(st->problem, sizeof(st->problem), "%s/%s is missing",
		    dir, s->recording);
	} else if (err != HOOP_OK) {
		st->status = "error";
		snprintf(st->problem, sizeof(st->problem), "cannot verify: %s",
		    hoop_strerror(err));
	} else if (s->seal != NULL) {
		st->status = "intact";
		st->bad = 0;
	} else if (s->live) {
		st->status = "live";
		st->bad = 0;
	} else if (st->res.sealed) {
		/* Sealed on disk, but the store never got the head: the
		 * recording could have been replaced whole. */
		st->status = "unanchored";
		snprintf(st->problem, sizeof(st->problem), "sealed, but the "
		    "store holds no seal to check it against");
	} else {
		st->status = "unsealed";
		snprintf(st->problem, sizeof(st->problem), "the session ended "
		    "without a seal (its recorder died?): intact up to chunk "
		    "%" PRIu64 ", but a truncation cannot be detected",
		    st->res.chunks);
	}
}

static json_t *
seal_json(const struct hoopctl_session *s, const struct seal_state *st)
{
	const struct hoop_rec_verify_result *res = &st->res;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "session", json_str(s->id));
	json_object_set_new(o, "status", json_string(st->status));
	json_object_set_new(o, "ok", json_boolean(!st->bad));
	json_object_set_new(o, "live", json_boolean(s->live));
	json_object_set_new(o, "sealed", json_boolean(res->sealed));
	json_object_set_new(o, "chunks", json_integer((json_int_t)res->chunks));
	json_object_set_new(o, "broken_chunk", res->broken_chunk > 0 ?
	    json_integer((json_int_t)res->broken_chunk) : json_null());
	json_object_set_new(o, "output_bytes",
	    json_integer((json_int_t)res->output_bytes));
	json_object_set_new(o, "head", res->head[0] != '\0' ?
	    json_string(res->head) : json_null());
	json_object_set_new(o, "seal", json_str(s->seal));
	json_object_set_new(o, "problem", st->problem[0] != '\0' ?
	    json_str(st->problem) : json_null());
	return o;
}

/* "ID: state" on one line. */
static void
seal_print(FILE *out, const struct hoopctl_session *s,
    const struct seal_state *st)
{
	const struct hoop_rec_verify_result *res = &st->res;
	const char *status = st->status;

	put_str(out, s->id);
	if (strcmp(status, "intact") == 0)
		fprintf(out, ": intact (sealed; %" PRIu64 " chunks, %" PRIu64
		    " bytes of output)\n", res->chunks, res->output_bytes);
	else if (strcmp(status, "live") == 0)
		fprintf(out, ": live, intact so far (%" PRIu64 " chunks; not "
		    "sealed yet, so checked without a head)\n", res->chunks);
	else if (strcmp(status, "broken") == 0)
		fprintf(out, ": BROKEN at chunk %" PRIu64 ": %s\n",
		    res->broken_chunk, st->problem);
	else if (strcmp(status, "missing") == 0)
		fprintf(out, ": BROKEN: recording %s\n", st->problem);
	else if (strcmp(status, "error") == 0)
		fprintf(out, ": ERROR: %s\n", st->problem);
	else if (strcmp(status, "no-recording") == 0)
		fprintf(out, ": NO RECORDING\n");
	else
		fprintf(out, ": %s: %s\n", strcmp(status, "unsealed") == 0 ?
		    "NOT SEALED" : "NO SEAL IN THE STORE", st->problem);
}

void
hoopctl_session_check_seal(struct hoopctl *ctx,
    const struct hoopctl_session *s)
{
	struct seal_state st;

	if (hoopctl_config(ctx) == -1)
		return;
	seal_check(ctx, s, &st);
	if (st.bad) {
		fputs("hoopctl: warning: ", stderr);
		seal_print(stderr, s, &st);
	}
}

struct verify_totals {
	int json;
	unsigned checked, bad;
};

static int
verify_one(struct hoopctl *ctx, struct hoopctl_session *s, void *arg)
{
	struct verify_totals *tot = arg;
	struct seal_state st;

	tot->checked++;
	seal_check(ctx, s, &st);
	tot->bad += st.bad;
	if (tot->json)
		return json_line(stdout, seal_json(s, &st));
	seal_print(stdout, s, &st);
	return ferror(stdout) ? -1 : 0;
}

static int
sessions_verify(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		FILTER_OPTIONS,
		{ "all", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_totals tot = { 0 };
	struct filter f = { 0 };
	int ch, all = 0, filtered = 0, ret = 1;

	optind = 0;	/* afresh: options may follow the ID */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j')
			tot.json = 1;
		else if (ch == 'A')
			all = 1;
		else if (filter_option(&f, ch, optarg) == 1)
			filtered = 1;
		else
			return 2;
	}
	if (all == (optind < argc) || optind + 1 < argc ||
	    (filtered && !all)) {
		fprintf(stderr, "usage: hoopctl sessions verify [--json] "
		    "ID | --all [filters]\n");
		return 2;
	}
	if (!all)
		f.session = argv[optind];
	if (filter_ready(&f) == -1) {
		ret = 2;
		goto out;
	}
	if (open_store(ctx, 0) == -1 ||
	    sessions_each(ctx, &f, verify_one, &tot) == -1)
		goto out;
	if (!all && tot.checked == 0) {
		fputs("hoopctl: no session ", stderr);
		put_str(stderr, f.session);
		fputs("\n", stderr);
		goto out;
	}
	if (all && !tot.json)
		fprintf(stderr, "hoopctl: %u sessions checked, %u not intact\n",
		    tot.checked, tot.bad);
	ret = fflush(stdout) == 0 && tot.bad == 0 ? 0 : 1;
out:
	filter_free(&f);
	return ret;
}

/* ---- show ---- */

struct started_cmd {
	uint32_t id;
	int64_t time_us;
};

struct show {
	FILE *out;
	int json;
	int64_t t0;
	int have_t0, ended;
	struct started_cmd *cmds;
	size_t ncmds, cap;
	uint64_t output_bytes, input_bytes;
};

static void
remember_command(struct show *sh, uint32_t id, int64_t t)
{
	struct started_cmd *n;

	if (sh->ncmds == sh->cap) {
		size_t cap = sh->cap ? sh->cap * 2 : 16;

		if ((n = realloc(sh->cmds, cap * sizeof(*n))) == NULL)
			return;
		sh->cmds = n;
		sh->cap = cap;
	}
	sh->cmds[sh->ncmds].id = id;
	sh->cmds[sh->ncmds++].time_us = t;
}

/* When the command with this id started; -1 if unknown. */
static int64_t
command_start(const struct show *sh, uint32_t id)
{
	size_t i;

	for (i = sh->ncmds; i > 0; i--) {
		if (sh->cmds[i - 1].id == id)
			return sh->cmds[i - 1].time_us;
	}
	return -1;
}

static const char *
direction(unsigned d)
{
	return d == 0 ? "output" : "input";
}

static int
show_text(struct show *sh, const struct hoop_rec_frame *f, const char *off)
{
	FILE *out = sh->out;
	int64_t begun;

	switch (f->type) {
	case HOOP_REC_START:
		fprintf(out, "%s start (input %s)\n", off,
		    f->u.start.flags & 1 ? "recorded" : "not recorded");
		break;
	case HOOP_REC_WINSIZE:
		fprintf(out, "%s window %ux%u\n", off, f->u.winsize.cols,
		    f->u.winsize.rows);
		break;
	case HOOP_REC_INPUT_WITHHELD:
		fprintf(out, "%s input withheld (terminal echo off)\n", off);
		break;
	case HOOP_REC_COMMAND:
		fprintf(out, "%s command #%" PRIu32 " ", off, f->u.command.id);
		hoop_put_safe(out, f->u.command.line.ptr,
		    f->u.command.line.len);
		fputs(" => ", out);
		hoop_put_safe(out, f->u.command.decision.ptr,
		    f->u.command.decision.len);
		if (f->u.command.rule.len > 0 || f->u.command.reason.len > 0) {
			fputs(" (", out);
			if (f->u.command.rule.len > 0) {
				fputs("rule ", out);
				hoop_put_safe(out,
				    f->u.command.rule.ptr,
				    f->u.command.rule.len);
			}
			if (f->u.command.rule.len > 0 &&
			    f->u.command.reason.len > 0)
				fputs(": ", out);
			hoop_put_safe(out, f->u.command.reason.ptr,
			    f->u.command.reason.len);
			putc(')', out);
		}
		putc('\n', out);
		break;
	case HOOP_REC_EXIT:
		fprintf(out, "%s exit #%" PRIu32 " %s %" PRIu32, off,
		    f->u.exit.id, f->u.exit.signaled ? "killed by signal" :
		    "status", f->u.exit.value);
		if ((begun = command_start(sh, f->u.exit.id)) >= 0 &&
		    f->time_us >= begun)
			fprintf(out, " after %" PRId64 ".%03ds",
			    (f->time_us - begun) / 1000000,
			    (int)((f->time_us - begun) / 1000 % 1000));
		putc('\n', out);
		break;
	case HOOP_REC_PAUSE:
		fprintf(out, "%s recording of %s paused (size limit)\n", off,
		    direction(f->u.pause.direction));
		break;
	case HOOP_REC_RESUME:
		fprintf(out, "%s recording of %s resumed (%" PRIu64 " bytes "
		    "not recorded)\n", off, direction(f->u.pause.direction),
		    f->u.pause.skipped);
		break;
	case HOOP_REC_LIMIT:
		fprintf(out, "%s size limit of %" PRIu64 " bytes reached: "
		    "session ended\n", off, f->u.limit.limit);
		break;
	case HOOP_REC_NOTE:
		fprintf(out, "%s note: ", off);
		hoop_put_safe(out, (const char *)f->data, f->len);
		putc('\n', out);
		break;
	case HOOP_REC_END:
		fprintf(out, "%s end (sealed)\n", off);
		break;
	default:
		break;
	}
	return ferror(out) ? -1 : 0;
}

static int
show_json(struct show *sh, const struct hoop_rec_frame *f, const char *off)
{
	json_t *o = json_object();
	const char *type = NULL;
	char when[48];
	int64_t begun;

	if (o == NULL)
		return -1;
	switch (f->type) {
	case HOOP_REC_START:
		type = "start";
		json_object_set_new(o, "input_recorded",
		    json_boolean(f->u.start.flags & 1));
		break;
	case HOOP_REC_WINSIZE:
		type = "window";
		json_object_set_new(o, "cols", json_integer(f->u.winsize.cols));
		json_object_set_new(o, "rows", json_integer(f->u.winsize.rows));
		break;
	case HOOP_REC_INPUT_WITHHELD:
		type = "input_withheld";
		break;
	case HOOP_REC_COMMAND:
		type = "command";
		json_object_set_new(o, "id", json_integer(f->u.command.id));
		json_object_set_new(o, "line",
		    json_rec_str(&f->u.command.line));
		json_object_set_new(o, "decision",
		    json_rec_str(&f->u.command.decision));
		json_object_set_new(o, "rule",
		    json_rec_str(&f->u.command.rule));
		json_object_set_new(o, "reason",
		    json_rec_str(&f->u.command.reason));
		break;
	case HOOP_REC_EXIT:
		type = "exit";
		json_object_set_new(o, "id", json_integer(f->u.exit.id));
		json_object_set_new(o, f->u.exit.signaled ? "signal" :
		    "status", json_integer(f->u.exit.value));
		if ((begun = command_start(sh, f->u.exit.id)) >= 0 &&
		    f->time_us >= begun)
			json_object_set_new(o, "duration_us",
			    json_integer(f->time_us - begun));
		break;
	case HOOP_REC_PAUSE:
	case HOOP_REC_RESUME:
		type = f->type == HOOP_REC_PAUSE ? "pause" : "resume";
		json_object_set_new(o, "direction",
		    json_string(direction(f->u.pause.direction)));
		if (f->type == HOOP_REC_RESUME)
			json_object_set_new(o, "skipped", json_integer(
			    (json_int_t)f->u.pause.skipped));
		break;
	case HOOP_REC_LIMIT:
		type = "limit";
		json_object_set_new(o, "limit", json_integer(
		    (json_int_t)f->u.limit.limit));
		break;
	case HOOP_REC_NOTE:
		type = "note";
		json_object_set_new(o, "text", json_bytes((const char *)
		    f->data, f->len));
		break;
	case HOOP_REC_END:
		type = "end";
		break;
	default:
		break;
	}
	if (type == NULL) {
		json_decref(o);
		return 0;
	}
	/* Fields first in a fixed order, then the type's own. */
	{
		json_t *line = json_object();

		format_time(f->time_us, 1, when, sizeof(when));
		json_object_set_new(line, "offset", json_string(off));
		json_object_set_new(line, "offset_us",
		    json_integer(f->time_us - sh->t0));
		json_object_set_new(line, "time", json_string(when));
		json_object_set_new(line, "type", json_string(type));
		json_object_update(line, o);
		json_decref(o);
		return json_line(sh->out, line);
	}
}

static int
show_frame(struct show *sh, const struct hoop_rec_frame *f)
{
	char off[32];

	if (!sh->have_t0) {
		sh->t0 = f->time_us;
		sh->have_t0 = 1;
	}
	if (f->type == HOOP_REC_OUTPUT) {
		sh->output_bytes += f->len;
		return 0;
	}
	if (f->type == HOOP_REC_INPUT) {
		sh->input_bytes += f->len;
		return 0;
	}
	if (f->type == HOOP_REC_COMMAND)
		remember_command(sh, f->u.command.id, f->time_us);
	if (f->type == HOOP_REC_END)
		sh->ended = 1;
	hoopctl_format_offset(f->time_us - sh->t0, off, sizeof(off));
	return sh->json ? show_json(sh, f, off) : show_text(sh, f, off);
}

static void
show_header(struct hoopctl *ctx, const struct hoopctl_session *s)
{
	const struct { const char *label, *value; } rows[] = {
		{ "login", s->login }, { "principal", s->principal },
		{ "identity", s->identity }, { "remote", s->remote },
		{ "command", s->command },
	};
	char when[48];
	json_t *targets;
	size_t i;

	fputs("session   ", stdout);
	put_str(stdout, s->id);
	putchar('\n');
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		printf("%-10s", rows[i].label);
		put_str(stdout, rows[i].value);
		putchar('\n');
	}
	format_time(s->started_at * 1000000, 0, when, sizeof(when));
	printf("started   %s\n", when);
	if (s->live) {
		printf("ended     - (live)\n");
	} else {
		format_time(s->ended_at * 1000000, 0, when, sizeof(when));
		printf("ended     %s (", when);
		put_str(stdout, s->end_reason);
		puts(")");
	}
	fputs("targets   ", stdout);
	targets = session_targets(ctx, s);
	for (i = 0; targets != NULL && i < json_array_size(targets); i++) {
		if (i > 0)
			fputs(", ", stdout);
		put_str(stdout, json_string_value(json_array_get(targets, i)));
	}
	if (targets == NULL || json_array_size(targets) == 0)
		putchar('-');
	putchar('\n');
	json_decref(targets);
}

/* The seal, as sessions verify reports it: 0 intact (or live so far),
 * 1 not. */
static int
show_seal(struct hoopctl *ctx, const struct hoopctl_session *s, json_t *obj)
{
	struct seal_state st;

	seal_check(ctx, s, &st);
	if (obj != NULL) {
		json_object_set_new(obj, "verify", seal_json(s, &st));
	} else {
		fputs("recording ", stdout);
		seal_print(stdout, s, &st);
	}
	return st.bad;
}

static int
sessions_show(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct hoopctl_session *s = NULL;
	struct show sh = { .out = stdout };
	struct hoop_rec_frame f;
	hoop_rec_reader_t *r = NULL;
	const char *dir;
	hoop_err_t err;
	json_t *obj = NULL;
	int ch, ret = 1, broken;

	optind = 0;	/* afresh: options may follow the ID */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return 2;
		sh.json = 1;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: hoopctl sessions show [--json] ID\n");
		return 2;
	}
	if (open_store(ctx, 1) == -1 ||
	    hoopctl_session_get(ctx, argv[optind], &s) == -1 ||
	    hoopctl_view_event(ctx, s, "show", NULL) == -1)
		goto out;
	if (sh.json) {
		if ((obj = session_json(ctx, s)) == NULL)
			goto out;
		broken = show_seal(ctx, s, obj);
		if (json_line(stdout, obj) == -1)
			goto out;
	} else {
		show_header(ctx, s);
		broken = show_seal(ctx, s, NULL);
	}
	if (s->recording == NULL) {
		fflush(stdout);
		goto out;
	}
	dir = hoop_config_recordings_dir(ctx->cfg);
	if ((err = hoop_rec_reader_open(dir, s->recording, &r)) != HOOP_OK) {
		fflush(stdout);
		fprintf(stderr, "hoopctl: cannot read the recording: %s\n",
		    hoop_strerror(err));
		goto out;
	}
	if (!sh.json)
		putchar('\n');
	while ((err = hoop_rec_next(r, &f)) == HOOP_OK &&
	    f.type != HOOP_REC_EOF) {
		if (show_frame(&sh, &f) == -1)
			goto out;
	}
	if (!sh.json) {
		printf("\n%" PRIu64 " bytes of output, %" PRIu64 " bytes of "
		    "input recorded", sh.output_bytes, sh.input_bytes);
		if (!sh.ended && err == HOOP_OK)
			fputs(s->live ? "; live: the recording goes on" :
			    "; the recording stops without an END frame",
			    stdout);
		putchar('\n');
	}
	fflush(stdout);
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: the recording is damaged: %s\n",
		    hoop_rec_reader_problem(r));
		goto out;
	}
	ret = ferror(stdout) || broken ? 1 : 0;
out:
	hoop_rec_reader_free(r);
	hoopctl_session_free(s);
	free(sh.cmds);
	return ret;
}

/* ---- grep ---- */

struct grep {
	struct hoopctl *ctx;
	const struct hoopctl_session *s;
	const char *detail;
	pcre2_code *re;
	pcre2_match_data *md;
	int json, viewed, refused;
	int64_t t0;
	unsigned matches;
};

static int
grep_print(struct grep *g, int64_t time_us, const char *source,
    const char *line, size_t len)
{
	char off[32], when[48];
	json_t *o;

	/* The first thing shown of a session is recorded first. */
	if (!g->viewed) {
		if (hoopctl_view_event(g->ctx, g->s, "grep", g->detail) ==
		    -1) {
			g->refused = 1;
			return -1;
		}
		g->viewed = 1;
	}
	g->matches++;
	hoopctl_format_offset(time_us - g->t0, off, sizeof(off));
	if (g->json) {
		format_time(time_us, 1, when, sizeof(when));
		if ((o = json_object()) == NULL)
			return -1;
		json_object_set_new(o, "session", json_str(g->s->id));
		json_object_set_new(o, "offset", json_string(off));
		json_object_set_new(o, "offset_us", json_integer(time_us -
		    g->t0));
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "source", json_string(source));
		json_object_set_new(o, "line", json_bytes(line, len));
		return json_line(stdout, o);
	}
	put_str(stdout, g->s->id);
	printf(" %s %s: ", off, source);
	hoop_put_safe(stdout, line, len);
	putchar('\n');
	return ferror(stdout) ? -1 : 0;
}

static int
grep_line(void *arg, int64_t time_us, const char *line, size_t len)
{
	struct grep *g = arg;

	if (!re_match(g->re, g->md, line, len))
		return 0;
	return grep_print(g, time_us, "output", line, len);
}

static int
grep_one(struct hoopctl *ctx, struct hoopctl_session *s, void *arg)
{
	struct grep *g = arg;
	struct hoop_rec_frame f;
	struct hoop_rec_export_utf8 u8;
	hoop_rec_reader_t *r = NULL;
	hoop_rec_export_text_t *text = NULL;
	hoop_err_t err;
	char *fixed;
	size_t n;
	int ret = -1, have_t0 = 0;

	if (s->recording == NULL)
		return 0;
	g->s = s;
	g->viewed = 0;
	if ((err = hoop_rec_reader_open(hoop_config_recordings_dir(ctx->cfg),
	    s->recording, &r)) != HOOP_OK) {
		fputs("hoopctl: warning: cannot read the recording of ",
		    stderr);
		put_str(stderr, s->id);
		fprintf(stderr, ": %s\n", hoop_strerror(err));
		return 0;
	}
	if (hoop_rec_export_text_new(grep_line, g, &text) != HOOP_OK)
		goto out;
	while ((err = hoop_rec_next(r, &f)) == HOOP_OK &&
	    f.type != HOOP_REC_EOF) {
		if (!have_t0) {
			g->t0 = f.time_us;
			have_t0 = 1;
		}
		if (f.type == HOOP_REC_OUTPUT &&
		    hoop_rec_export_text_feed(text, f.time_us, f.data,
		    f.len) != HOOP_OK)
			goto out;
		if (f.type != HOOP_REC_COMMAND)
			continue;
		memset(&u8, 0, sizeof(u8));
		if ((fixed = malloc(HOOP_REC_EXPORT_UTF8_ROOM(
		    f.u.command.line.len))) == NULL)
			goto out;
		n = hoop_rec_export_utf8(&u8, f.u.command.line.ptr,
		    f.u.command.line.len, 1, fixed);
		if (re_match(g->re, g->md, fixed, n) &&
		    grep_print(g, f.time_us, "command", fixed, n) == -1) {
			free(fixed);
			goto out;
		}
		free(fixed);
	}
	if (hoop_rec_export_text_finish(text) != HOOP_OK)
		goto out;
	if (err != HOOP_OK) {
		fputs("hoopctl: warning: the recording of ", stderr);
		put_str(stderr, s->id);
		fprintf(stderr, " is damaged: %s\n",
		    hoop_rec_reader_problem(r));
	}
	ret = 0;
out:
	hoop_rec_export_text_free(text);
	hoop_rec_reader_free(r);
	return ret;
}

static int
sessions_grep(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		FILTER_OPTIONS,
		{ "ignore-case", no_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct filter f = { 0 };
	struct grep g = { .ctx = ctx };
	char *detail = NULL;
	json_t *d = NULL;
	int ch, caseless = 0, ret = 2;

	optind = 0;	/* afresh: options may follow the ID */
	while ((ch = getopt_long(argc, argv, "i", opts, NULL)) != -1) {
		if (ch == 'j')
			g.json = 1;
		else if (ch == 'i')
			caseless = 1;
		else if (filter_option(&f, ch, optarg) != 1)
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: hoopctl sessions grep [-i] [--json] "
		    "[filters] PATTERN\n");
		return 2;
	}
	if (filter_ready(&f) == -1 ||
	    (g.re = compile_pattern(argv[optind], caseless)) == NULL ||
	    (g.md = pcre2_match_data_create_from_pattern(g.re, NULL)) == NULL)
		goto out;
	/* What was searched for, whatever it finds. */
	if ((d = json_pack("{s:s, s:b}", "pattern", argv[optind],
	    "ignore_case", caseless)) == NULL ||
	    (detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	g.detail = detail;
	if (open_store(ctx, 1) == -1 ||
	    hoopctl_view_event(ctx, NULL, "grep", detail) == -1)
		goto out;
	if (sessions_each(ctx, &f, grep_one, &g) == -1 || g.refused)
		goto out;
	/* As grep: 0 found, 1 nothing found, 2 trouble. */
	ret = fflush(stdout) != 0 ? 2 : g.matches > 0 ? 0 : 1;
out:
	json_decref(d);
	free(detail);
	pcre2_match_data_free(g.md);
	pcre2_code_free(g.re);
	filter_free(&f);
	return ret;
}

int
cmd_sessions(struct hoopctl *ctx, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hoopctl sessions "
		    "list|show|verify|grep ...\n");
		return 2;
	}
	if (hoopctl_require_admin(ctx, "sessions"))
		return 1;
	if (strcmp(argv[1], "list") == 0)
		return sessions_list(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return sessions_show(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return sessions_verify(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "grep") == 0)
		return sessions_grep(ctx, argc - 1, argv + 1);
	fprintf(stderr, "hoopctl: unknown sessions command '%s'\n", argv[1]);
	return 2;
}
