#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hoop_audit.h"
#include "hoop_lease.h"
#include "hoop_util.h"
#include "hoop_log.h"
#include "hoop_nssdb.h"
#include "hoop_reap.h"
#include "hoop_recording.h"
#include "store_internal.h"

#define GROUPS_MAX 64
#define GROUPS_TEXT (GROUPS_MAX * 33)
#define KILL_TIMEOUT_MS 5000

uint32_t
hoop_lease_uid(const hoop_config_t *cfg, const char *login)
{
	return hoop_nssdb_login_uid(login, (uint32_t)hoop_config_uid_min(cfg),
	    (uint32_t)hoop_config_uid_max(cfg));
}

/* Appends name to the comma-separated list out unless it is there. */
static void
list_add(char *out, size_t size, const char *name, size_t n)
{
	size_t have = strlen(out);
	const char *p = out;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	if (have + n + 2 > size)
		return;
	if (have > 0)
		out[have++] = ',';
	memcpy(out + have, name, n);
	out[have + n] = '\0';
}

/* The valid group names of list, each once; those also in keep (if not
 * NULL) only. */
static void
normalize_groups(const char *list, const char *keep, int intersect,
    char *out, size_t size)
{
	char name[40];
	const char *p = list, *end;
	size_t n;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (hoop_nssdb_valid_name(name) && (!intersect ||
			    (keep != NULL && hoop_list_has(keep, name, n))))
				list_add(out, size, name, n);
		}
		p = end != NULL ? end + 1 : NULL;
	}
}

static hoop_err_t
step_err(int rc)
{
	hoop_err_t err = hoop_store_err(rc);

	return err == HOOP_OK ? HOOP_ERR_STORE : err;
}

/* The name NSS gives uid, if it is not login (a local account, or a
 * lease the file still shows). */
static void
nss_owner(uint32_t uid, const char *login, char *other, size_t size)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	other[0] = '\0';
	rc = getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res);
	if (rc == 0 && res != NULL && strcmp(res->pw_name, login) != 0)
		snprintf(other, size, "%s", res->pw_name);
	/* A lookup that failed (a directory down, ERANGE) cannot say the
	 * uid is free: count it as taken. */
	else if (rc != 0 && rc != ENOENT && rc != ESRCH)
		snprintf(other, size, "(unknown: uid lookup failed: %s)",
		    strerror(rc));
}

/* A failed statement: the store's message for the log. */
static hoop_err_t
store_failed(struct hoop_lease_grant *grant, sqlite3 *db, int rc)
{
	snprintf(grant->reason, sizeof(grant->reason), "store: %s",
	    sqlite3_errmsg(db));
	return step_err(rc);
}

hoop_err_t
hoop_lease_acquire(hoop_store_t *store, const hoop_config_t *cfg,
    const struct hoop_lease_request *req, struct hoop_lease_grant *grant)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	sqlite3 *db = hoop_store_db(store);
	sqlite3_stmt *st = NULL;
	char groups[GROUPS_TEXT], merged[GROUPS_TEXT], local[64];
	const char *reason, *old;
	uint32_t want;
	int64_t lease_id = 0, expires;
	int own = 0, rc;

	memset(grant, 0, sizeof(*grant));
	if (req->login == NULL || !hoop_nssdb_valid_name(req->login) ||
	    req->identity == NULL || req->issuer == NULL ||
	    req->subject == NULL || req->claims_digest == NULL) {
		snprintf(grant->reason, sizeof(grant->reason), "bad lease "
		    "request");
		goto out;
	}
	want = hoop_lease_uid(cfg, req->login);
	if (req->uid != want) {
		snprintf(grant->reason, sizeof(grant->reason), "%s resolves "
		    "to uid %lu, but hoop gives it uid %lu: a local account of "
		    "that name shadows it", req->login,
		    (unsigned long)req->uid, (unsigned long)want);
		goto out;
	}
	/* NSS first, outside the lock: it may be slow (LDAP...). */
	nss_owner(req->uid, req->login, local, sizeof(local));
	normalize_groups(req->groups, NULL, 0, groups, sizeof(groups));
	if (sqlite3_get_autocommit(db)) {
		if ((ret = hoop_store_begin(store)) != HOOP_OK)
			goto out;
		own = 1;
	}

	/* The login's live lease, if any. */
	if ((rc = sqlite3_prepare_v2(db, "SELECT id, uid, end_reason, groups, "
	    "identity FROM leases WHERE login = ? AND ended_at IS NULL", -1,
	    &st, NULL)) != SQLITE_OK) {
		ret = store_failed(grant, db, rc);
		goto out;
	}
	sqlite3_bind_text(st, 1, req->login, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		lease_id = sqlite3_column_int64(st, 0);
		reason = (const char *)sqlite3_column_text(st, 2);
		if (reason != NULL && strcmp(reason, "reaping") == 0) {
			snprintf(grant->reason, sizeof(grant->reason), "the "
			    "expired lease of %s is being reaped by hoopctl "
			    "gc: try again in a moment", req->login);
			ret = HOOP_ERR_STORE_BUSY;
			goto out;
		}
		if ((uint32_t)sqlite3_column_int64(st, 1) != req->uid) {
			snprintf(grant->reason, sizeof(grant->reason), "the "
			    "live lease of %s has uid %lld, not %lu",
			    req->login, (long long)sqlite3_column_int64(st, 1),
			    (unsigned long)req->uid);
			ret = HOOP_ERR_INVAL;
			goto out;
		}
		/* Sessions share a uid, its home and its processes: only
		 * principals of one identity may share a lease. */
		old = (const char *)sqlite3_column_text(st, 4);
		if (old == NULL || strcmp(old, req->identity) != 0) {
			snprintf(grant->reason, sizeof(grant->reason), "%s is "
			    "leased to identity %.64s; identity %.64s must wait "
			    "for that lease to end", req->login,
			    old != NULL ? old : "?", req->identity);
			ret = HOOP_ERR_UID_TAKEN;
			goto out;
		}
		old = (const char *)sqlite3_column_text(st, 3);
		normalize_groups(groups, old, 1, merged, sizeof(merged));
	} else if (rc != SQLITE_DONE) {
		ret = store_failed(grant, db, rc);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	if (lease_id != 0) {
		/* Join it. */
		rc = sqlite3_prepare_v2(db, "UPDATE leases SET expires_at = "
		    "max(expires_at, ?), groups = ? WHERE id = ?", -1, &st,
		    NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, req->expires_at);
			sqlite3_bind_text(st, 2, merged, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, lease_id);
			rc = sqlite3_step(st);
		}
		if (rc != SQLITE_DONE) {
			ret = store_failed(grant, db, rc);
			goto out;
		}
	} else {
		/* A new lease: is the uid free? */
		if ((rc = sqlite3_prepare_v2(db, "SELECT login, expires_at "
		    "FROM leases WHERE uid = ? AND ended_at IS NULL", -1, &st,
		    NULL)) != SQLITE_OK) {
			ret = store_failed(grant, db, rc);
			goto out;
		}
		sqlite3_bind_int64(st, 1, req->uid);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			expires = sqlite3_column_int64(st, 1);
			snprintf(grant->reason, sizeof(grant->reason), "uid %lu "
			    "of %s already leased to %.40s%s",
			    (unsigned long)req->uid, req->login,
			    (const char *)sqlite3_column_text(st, 0),
			    expires <= req->now ? " (expired, not yet reaped "
			    "by hoopctl gc)" : "");
			ret = HOOP_ERR_UID_TAKEN;
			goto out;
		}
		if (rc != SQLITE_DONE) {
			ret = store_failed(grant, db, rc);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (local[0] != '\0') {
			snprintf(grant->reason, sizeof(grant->reason), "uid %lu "
			    "of %s belongs to %s (getpwuid): not leased",
			    (unsigned long)req->uid, req->login, local);
			ret = HOOP_ERR_UID_TAKEN;
			goto out;
		}
		if ((rc = sqlite3_prepare_v2(db, "INSERT INTO leases (login, "
		    "uid, identity, issuer, subject, claims_digest, created_at, "
		    "expires_at, groups) VALUES (?,?,?,?,?,?,?,?,?)", -1, &st,
		    NULL)) != SQLITE_OK) {
			ret = store_failed(grant, db, rc);
			goto out;
		}
		sqlite3_bind_text(st, 1, req->login, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, req->uid);
		sqlite3_bind_text(st, 3, req->identity, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, req->issuer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, req->subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, req->claims_digest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, req->now);
		sqlite3_bind_int64(st, 8, req->expires_at);
		sqlite3_bind_text(st, 9, groups, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
			/* The unique index: the check above should have
			 * seen it first. */
			if ((rc & 0xff) == SQLITE_CONSTRAINT) {
				snprintf(grant->reason, sizeof(grant->reason),
				    "uid %lu of %s already leased",
				    (unsigned long)req->uid, req->login);
				ret = HOOP_ERR_UID_TAKEN;
			} else
				ret = store_failed(grant, db, rc);
			goto out;
		}
		lease_id = sqlite3_last_insert_rowid(db);
		grant->created = 1;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (own && (ret = hoop_store_commit(store)) != HOOP_OK) {
		snprintf(grant->reason, sizeof(grant->reason), "store: commit: "
		    "%s", hoop_strerror(ret));
		goto out;
	}
	own = 0;
	grant->lease_id = lease_id;
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	if (own)
		hoop_store_rollback(store);
	if (ret != HOOP_OK)
		grant->created = 0;
	return ret;
}

/*
 * Listing.
 */

/* Names and groups come from tokens: inert in the reader's terminal. */
static void
put_escaped(FILE *out, const char *s)
{
	if (s != NULL)
		hoop_put_safe(out, s, strlen(s));
}

static const char *
lease_state(sqlite3_stmt *st, int64_t now)
{
	const char *reason = (const char *)sqlite3_column_text(st, 10);

	if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		return "ended";
	if (reason != NULL && strcmp(reason, "reaping") == 0)
		return "reaping";
	return sqlite3_column_int64(st, 8) <= now ? "expired" : "live";
}

static void
format_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "@%" PRId64, t);
}

static int
print_json(sqlite3_stmt *st, int64_t now, FILE *out)
{
	static const char *const names[] = { "id", "login", "uid", "identity",
	    "issuer", "subject", "groups", "created_at", "expires_at",
	    "ended_at", "end_reason" };
	json_t *obj, *v, *arr;
	const char *text, *p, *end;
	char *dump;
	int i, rc = -1;

	if ((obj = json_object()) == NULL)
		return -1;
	for (i = 0; i < 11; i++) {
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			v = json_null();
		else if (i == 6) {
			v = arr = json_array();
			text = (const char *)sqlite3_column_text(st, i);
			for (p = text; arr != NULL && p != NULL && *p != '\0';
			    p = end != NULL ? end + 1 : NULL) {
				end = strchr(p, ',');
				json_array_append_new(arr, json_stringn(p,
				    end != NULL ? (size_t)(end - p) :
				    strlen(p)));
			}
		} else if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
			v = json_integer(sqlite3_column_int64(st, i));
		else
			v = json_string((const char *)
			    sqlite3_column_text(st, i));
		/* Not UTF-8 (a subject from some token): shown as null
		 * rather than dropped silently with the whole line. */
		if (v == NULL)
			v = json_null();
		json_object_set_new(obj, names[i], v);
	}
	json_object_set_new(obj, "state", json_string(lease_state(st, now)));
	if ((dump = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) !=
	    NULL) {
		fprintf(out, "%s\n", dump);
		free(dump);
		rc = 0;
	}
	json_decref(obj);
	return rc;
}

static void
print_text(sqlite3_stmt *st, int64_t now, FILE *out)
{
	char expires[32];
	const char *groups = (const char *)sqlite3_column_text(st, 6);

	format_time(sqlite3_column_int64(st, 8), expires, sizeof(expires));
	fprintf(out, "%-6lld %-20s %-10lld %-8s %-20s ",
	    (long long)sqlite3_column_int64(st, 0),
	    (const char *)sqlite3_column_text(st, 1),
	    (long long)sqlite3_column_int64(st, 2), lease_state(st, now),
	    expires);
	put_escaped(out, (const char *)sqlite3_column_text(st, 3));
	fputc(' ', out);
	put_escaped(out, (const char *)sqlite3_column_text(st, 5));
	fputc(' ', out);
	put_escaped(out, groups != NULL && *groups != '\0' ? groups : "-");
	fputc('\n', out);
}

hoop_err_t
hoop_lease_list(hoop_store_t *store, unsigned flags,
    enum hoop_lease_format format, int64_t now, FILE *out)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(hoop_store_db(store), (flags &
	    HOOP_LEASE_LIST_ALL) ? "SELECT id, login, uid, identity, issuer, "
	    "subject, groups, created_at, expires_at, ended_at, end_reason "
	    "FROM leases ORDER BY id" : "SELECT id, login, uid, identity, "
	    "issuer, subject, groups, created_at, expires_at, ended_at, "
	    "end_reason FROM leases WHERE ended_at IS NULL ORDER BY id", -1,
	    &st, NULL);
	if (rc != SQLITE_OK) {
		ret = step_err(rc);
		goto out;
	}
	if (format == HOOP_LEASE_TEXT)
		fprintf(out, "%-6s %-20s %-10s %-8s %-20s %s\n", "ID", "LOGIN",
		    "UID", "STATE", "EXPIRES", "IDENTITY SUBJECT GROUPS");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (format == HOOP_LEASE_TEXT)
			print_text(st, now, out);
		else if (print_json(st, now, out) == -1) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = step_err(rc);
		goto out;
	}
	ret = ferror(out) ? HOOP_ERR_IO : HOOP_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * The reaper.
 */

struct expired {
	int64_t		 id;
	uint32_t	 uid;
	char		 login[40];
	char		 identity[72];
};

static hoop_err_t
exec_bound(hoop_store_t *store, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st = NULL;
	hoop_err_t ret = HOOP_ERR_STORE;
	int rc;

	if ((rc = sqlite3_prepare_v2(hoop_store_db(store), sql, -1, &st,
	    NULL)) != SQLITE_OK) {
		ret = step_err(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int64(st, 2, b);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		ret = step_err(rc);
		goto out;
	}
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Marks the expired leases 'reaping' and returns those (new or left
 * from an earlier run). */
static hoop_err_t
claim_expired(hoop_store_t *store, int64_t now, struct expired **out,
    size_t *count)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	sqlite3_stmt *st = NULL;
	struct expired *list = NULL, *tmp;
	const char *s;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if ((ret = hoop_store_begin(store)) != HOOP_OK)
		goto out;
	if ((ret = exec_bound(store, "UPDATE leases SET end_reason = "
	    "'reaping' WHERE ended_at IS NULL AND end_reason IS NULL AND "
	    "expires_at <= ?", now, 0)) != HOOP_OK)
		goto out;
	if ((rc = sqlite3_prepare_v2(hoop_store_db(store), "SELECT id, uid, "
	    "login, identity FROM leases WHERE ended_at IS NULL AND "
	    "end_reason = 'reaping' ORDER BY id", -1, &st, NULL)) !=
	    SQLITE_OK) {
		ret = step_err(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = realloc(list, cap * sizeof(*list))) ==
			    NULL) {
				ret = HOOP_ERR_NOMEM;
				goto out;
			}
			list = tmp;
		}
		memset(&list[n], 0, sizeof(list[n]));
		list[n].id = sqlite3_column_int64(st, 0);
		list[n].uid = sqlite3_column_int64(st, 1) < 0 ||
		    sqlite3_column_int64(st, 1) > UINT32_MAX ? 0 :
		    (uint32_t)sqlite3_column_int64(st, 1);
		if ((s = (const char *)sqlite3_column_text(st, 2)) != NULL)
			snprintf(list[n].login, sizeof(list[n].login), "%s", s);
		if ((s = (const char *)sqlite3_column_text(st, 3)) != NULL)
			snprintf(list[n].identity, sizeof(list[n].identity),
			    "%s", s);
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = step_err(rc);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((ret = hoop_store_commit(store)) != HOOP_OK)
		goto out;
	*out = list;
	*count = n;
	list = NULL;
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	if (ret != HOOP_OK)
		hoop_store_rollback(store);
	free(list);
	return ret;
}

/* Ends the lease and closes its sessions, in one transaction. */
static hoop_err_t
end_lease(hoop_store_t *store, int64_t id, int64_t now, const char *reason)
{
	hoop_err_t ret;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((ret = hoop_store_begin(store)) != HOOP_OK)
		goto out;
	if ((rc = sqlite3_prepare_v2(hoop_store_db(store), "UPDATE leases SET "
	    "ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
	    -1, &st, NULL)) != SQLITE_OK) {
		ret = step_err(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		ret = step_err(rc);
		goto out;
	}
	if ((ret = exec_bound(store, "UPDATE sessions SET ended_at = ?1, "
	    "end_reason = 'lease ended' WHERE lease_id = ?2 AND ended_at IS "
	    "NULL", now, id)) != HOOP_OK)
		goto out;
	ret = hoop_store_commit(store);
out:
	sqlite3_finalize(st);
	if (ret != HOOP_OK)
		hoop_store_rollback(store);
	return ret;
}

static hoop_err_t
gc_audit(hoop_store_t *store, const struct expired *l, const char *action,
    const char *decision, const char *reason, const char *actor,
    const char *home, unsigned killed)
{
	struct hoop_audit_event ev = {
		.kind = "lease", .action = action, .decision = decision,
		.principal = l->login, .identity = l->identity[0] != '\0' ?
		    l->identity : NULL, .reason = reason,
	};
	char *detail = NULL;
	json_t *obj;
	hoop_err_t ret = HOOP_ERR_NOMEM;

	if ((obj = json_pack("{s:I, s:I, s:s, s:s, s:i}", "lease",
	    (json_int_t)l->id, "uid", (json_int_t)l->uid, "actor",
	    actor != NULL ? actor : "-", "home", home,
	    "killed", (int)killed)) == NULL)
		goto out;
	if ((detail = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL)
		goto out;
	ev.detail = detail;
	ret = hoop_audit_append(store, &ev, NULL);
	if (ret != HOOP_OK)
		hoop_log(LOG_ERR, "gc: cannot write audit event for %s: %s",
		    l->login, hoop_strerror(ret));
out:
	free(detail);
	json_decref(obj);
	return ret;
}

static const char *
home_word(enum hoop_reap_home h)
{
	switch (h) {
	case HOOP_REAP_HOME_REMOVED:
		return "removed";
	case HOOP_REAP_HOME_ABSENT:
		return "absent";
	case HOOP_REAP_HOME_NOT_OURS:
		return "kept: not a directory owned by the uid";
	}
	return "?";
}

/* One expired lease. HOOP_OK when handled (ended, or left 'reaping'
 * with an error event); anything else stops the run. */
static hoop_err_t
reap_one(const hoop_config_t *cfg, hoop_store_t *store,
    const struct expired *l, int64_t now, const char *actor,
    struct hoop_gc_stats *stats)
{
	enum hoop_reap_home home = HOOP_REAP_HOME_ABSENT;
	char reason[160];
	unsigned killed = 0;
	hoop_err_t err;

	/* Never a uid that is not ours to kill: not root, not a system
	 * user, not a uid outside the range hoop hands out. */
	if (l->uid < HOOP_NSSDB_UID_FLOOR ||
	    l->uid < (uint32_t)hoop_config_uid_min(cfg) ||
	    l->uid > (uint32_t)hoop_config_uid_max(cfg) ||
	    !hoop_nssdb_valid_name(l->login)) {
		snprintf(reason, sizeof(reason), "uid %lu is outside "
		    "uid_min..uid_max (or the login is invalid): nothing "
		    "killed, home kept", (unsigned long)l->uid);
		hoop_log(LOG_ERR, "gc: lease %" PRId64 " of %s: %s", l->id,
		    l->login, reason);
		if ((err = end_lease(store, l->id, now,
		    "expired (not reaped)")) != HOOP_OK)
			return err;
		stats->ended++;
		return gc_audit(store, l, "end", "error", reason, actor,
		    "kept", 0);
	}
	if ((err = hoop_reap_uid(l->uid, KILL_TIMEOUT_MS, &killed)) !=
	    HOOP_OK) {
		snprintf(reason, sizeof(reason), "cannot kill the processes of "
		    "uid %lu: %s; lease kept for the next run",
		    (unsigned long)l->uid, hoop_strerror(err));
		hoop_log(LOG_ERR, "gc: %s: %s", l->login, reason);
		stats->failed++;
		return gc_audit(store, l, "reap", "error", reason, actor,
		    "kept", killed);
	}
	stats->killed += killed;
	if ((err = hoop_reap_home(hoop_config_home_base(cfg), l->login, l->uid,
	    &home)) != HOOP_OK) {
		/* The uid stays taken: another name with this uid must not
		 * inherit the files. */
		snprintf(reason, sizeof(reason), "cannot remove %s/%s: %s; "
		    "lease kept for the next run", hoop_config_home_base(cfg),
		    l->login, hoop_strerror(err));
		hoop_log(LOG_ERR, "gc: %s: %s", l->login, reason);
		stats->failed++;
		return gc_audit(store, l, "reap", "error", reason, actor,
		    "kept", killed);
	}
	if ((err = end_lease(store, l->id, now, "expired")) != HOOP_OK)
		return err;
	stats->ended++;
	hoop_log(LOG_INFO, "gc: lease of %s (uid %lu) ended: %u processes "
	    "killed, home %s", l->login, (unsigned long)l->uid, killed,
	    home_word(home));
	return gc_audit(store, l, "end", "info", "expired", actor,
	    home_word(home), killed);
}

/* Is pid a live hoop-shell? A pid since reused by another program is
 * not (the recorder is gone). */
static int
recorder_alive(int64_t pid)
{
	char path[64], comm[32] = "";
	ssize_t n;
	int fd;

	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%lld/comm", (long long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno != ENOENT && errno != ESRCH;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "hoop-shell") == 0;
}

/* Closes the rows of sessions whose recorder was killed: the recording
 * stays unsealed, intact up to its last chunk. Each row is closed by a
 * conditional update (a recorder that ends meanwhile closes it first),
 * then audited; the audit log takes its own transaction. */
static hoop_err_t
close_orphan_sessions(hoop_store_t *store, int64_t now, const char *actor,
    struct hoop_gc_stats *stats)
{
	sqlite3 *db = hoop_store_db(store);
	sqlite3_stmt *st = NULL, *up = NULL;
	struct hoop_audit_event ev = { .kind = "session",
	    .action = "close", .decision = "info",
	    .reason = "recorder gone" };
	char detail[128], id[HOOP_REC_MAX_SESSION_ID + 1], login[64];
	hoop_err_t ret = HOOP_ERR_STORE;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, pid, login FROM sessions WHERE "
	    "ended_at IS NULL AND recording IS NOT NULL", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "UPDATE sessions SET "
	    "ended_at = ?1, end_reason = 'recorder gone' WHERE id = ?2 AND "
	    "ended_at IS NULL", -1, &up, NULL) != SQLITE_OK)
		goto out;
	for (;;) {
		/* One row at a time, the read finished before the writes. */
		sqlite3_reset(st);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
		    recorder_alive(sqlite3_column_int64(st, 1)))
			;
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			goto out;
		snprintf(id, sizeof(id), "%s", sqlite3_column_text(st, 0));
		snprintf(login, sizeof(login), "%s",
		    (const char *)sqlite3_column_text(st, 2));
		sqlite3_reset(st);
		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, now);
		sqlite3_bind_text(up, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(up) != SQLITE_DONE)
			goto out;
		if (sqlite3_changes(db) != 1)
			continue;
		ev.session_id = id;
		ev.principal = login;
		snprintf(detail, sizeof(detail), "{\"actor\":\"%s\"}",
		    actor != NULL && strlen(actor) < 64 &&
		    strpbrk(actor, "\"\\") == NULL ? actor : "-");
		ev.detail = detail;
		if ((ret = hoop_audit_append(store, &ev, NULL)) != HOOP_OK)
			goto out;
		ret = HOOP_ERR_STORE;
		stats->orphans++;
	}
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return ret;
}

hoop_err_t
hoop_lease_gc(const hoop_config_t *cfg, hoop_store_t *store,
    const char *nssdb_path, int64_t now, const char *actor,
    struct hoop_gc_stats *stats)
{
	hoop_err_t ret, err;
	struct expired *list = NULL;
	size_t i, n = 0;

	memset(stats, 0, sizeof(*stats));
	if ((ret = claim_expired(store, now, &list, &n)) != HOOP_OK)
		goto out;
	stats->expired = (unsigned)n;
	for (i = 0; i < n; i++) {
		if ((ret = reap_one(cfg, store, &list[i], now, actor, stats)) !=
		    HOOP_OK)
			break;
	}
	if (ret == HOOP_OK)
		ret = close_orphan_sessions(store, now, actor, stats);
	/* Even after a failure: what did end must stop resolving, and a
	 * changed configuration reaches nss_hoop within a timer period. */
	if (nssdb_path != NULL &&
	    (err = hoop_nssdb_sync(cfg, store, nssdb_path)) != HOOP_OK &&
	    ret == HOOP_OK)
		ret = err;
out:
	free(list);
	return ret;
}
