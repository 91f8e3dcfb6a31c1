#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoop_log.h"
#include "store_internal.h"

/* Long enough to ride out a burst of concurrent writers; short enough that
 * a wedged store turns into a clear failure instead of a hung login. */
#define STORE_BUSY_TIMEOUT_MS 15000

struct hoop_store {
	sqlite3 *db;
};

/* migrations[i] takes the schema from version i to i + 1. Append only:
 * never edit a migration that has shipped. */
static const char *const migrations[HOOP_STORE_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE leases ("
	"  id INTEGER PRIMARY KEY,"
	"  login TEXT NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  identity TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  claims_digest TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  ended_at INTEGER,"
	"  end_reason TEXT);"
	/* Two live leases never share a uid or a login name. */
	"CREATE UNIQUE INDEX leases_live_uid ON leases(uid)"
	"  WHERE ended_at IS NULL;"
	"CREATE UNIQUE INDEX leases_live_login ON leases(login)"
	"  WHERE ended_at IS NULL;"
	"CREATE INDEX leases_expiry ON leases(expires_at)"
	"  WHERE ended_at IS NULL;"
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY,"
	"  lease_id INTEGER REFERENCES leases(id),"
	"  login TEXT NOT NULL,"
	"  identity TEXT,"
	"  principal TEXT,"
	"  remote TEXT,"
	"  command TEXT,"
	"  pid INTEGER,"
	"  started_at INTEGER NOT NULL,"
	"  ended_at INTEGER,"
	"  end_reason TEXT,"
	"  recording TEXT,"
	"  seal TEXT);"
	"CREATE INDEX sessions_login ON sessions(login);"
	"CREATE INDEX sessions_started ON sessions(started_at);"
	"CREATE TABLE audit_events ("
	"  seq INTEGER PRIMARY KEY,"
	"  time_us INTEGER NOT NULL,"
	"  session_id TEXT,"
	"  principal TEXT,"
	"  identity TEXT,"
	"  target TEXT,"
	"  kind TEXT NOT NULL,"
	"  action TEXT,"
	"  decision TEXT NOT NULL,"
	"  reason TEXT,"
	"  rule TEXT,"
	"  detail TEXT,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE INDEX audit_principal ON audit_events(principal);"
	"CREATE INDEX audit_session ON audit_events(session_id);"
	"CREATE INDEX audit_time ON audit_events(time_us);"
	"CREATE TABLE approvals ("
	"  id TEXT PRIMARY KEY,"
	"  session_id TEXT,"
	"  principal TEXT NOT NULL,"
	"  target TEXT,"
	"  kind TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  request TEXT NOT NULL,"
	"  policy TEXT,"
	"  rule TEXT,"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('pending','approved','denied','expired','cancelled','used')),"
	"  covers TEXT NOT NULL DEFAULT 'once',"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  decided_at INTEGER,"
	"  grant_until INTEGER);"
	"CREATE INDEX approvals_status ON approvals(status);"
	"CREATE TABLE approval_votes ("
	"  approval_id TEXT NOT NULL REFERENCES approvals(id),"
	"  approver TEXT NOT NULL,"
	"  decision TEXT NOT NULL CHECK (decision IN ('approve','deny')),"
	"  reason TEXT,"
	"  decided_at INTEGER NOT NULL,"
	"  PRIMARY KEY (approval_id, approver));"
	"CREATE TABLE jwks_cache ("
	"  issuer TEXT PRIMARY KEY,"
	"  jwks TEXT NOT NULL,"
	"  fetched_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  last_attempt INTEGER);"
	"CREATE TABLE jti_seen ("
	"  issuer TEXT NOT NULL,"
	"  jti TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  PRIMARY KEY (issuer, jti));",
	/* 1 -> 2: the principal's groups (comma-separated names) behind a
	 * lease's local supplementary groups; end_reason 'reaping' while
	 * hoopctl gc kills what is left and removes the home. */
	"ALTER TABLE leases ADD COLUMN groups TEXT;",
	/* 2 -> 3: what pam_hoop's auth stage decided, for account and
	 * session to read back by an unguessable id (the PAM environment can
	 * be written by other modules, pam_env among them); used once. */
	"CREATE TABLE auth_grants ("
	"  id TEXT PRIMARY KEY,"
	"  login TEXT NOT NULL,"
	"  identity TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  claims_digest TEXT NOT NULL,"
	"  token_exp INTEGER NOT NULL,"
	"  groups TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  used_at INTEGER);",
	/* 3 -> 4: just-in-time approvals (lib/approval.c). A request keeps
	 * who asked (issuer and subject, for the self-approval check) and a
	 * snapshot of its rule's approver settings, so that a later change
	 * of hoop.conf never changes what was asked; grant_until is when an
	 * approval stops covering anything (a grant's end, or the time a
	 * once-approval may still be used). A vote keeps the voter's issuer,
	 * subject and the approver groups it held: one vote per person. */
	"ALTER TABLE approvals ADD COLUMN identity TEXT;"
	"ALTER TABLE approvals ADD COLUMN issuer TEXT;"
	"ALTER TABLE approvals ADD COLUMN subject TEXT;"
	"ALTER TABLE approvals ADD COLUMN approvers TEXT;"
	"ALTER TABLE approvals ADD COLUMN approvals_required INTEGER;"
	"ALTER TABLE approvals ADD COLUMN approval_mode TEXT;"
	"ALTER TABLE approvals ADD COLUMN grant_seconds INTEGER;"
	"ALTER TABLE approvals ADD COLUMN used_at INTEGER;"
	"ALTER TABLE approvals ADD COLUMN reason TEXT;"
	"CREATE INDEX approvals_cover ON approvals(principal, target, rule,"
	"  status);"
	"ALTER TABLE approval_votes ADD COLUMN issuer TEXT;"
	"ALTER TABLE approval_votes ADD COLUMN subject TEXT;"
	"ALTER TABLE approval_votes ADD COLUMN groups TEXT;"
	"CREATE UNIQUE INDEX approval_votes_person ON approval_votes("
	"  approval_id, issuer, subject);",
};

hoop_err_t
hoop_store_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return HOOP_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return HOOP_ERR_STORE_BUSY;
	case SQLITE_NOMEM:
		return HOOP_ERR_NOMEM;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:
		return HOOP_ERR_PERM;
	case SQLITE_CANTOPEN:
		return HOOP_ERR_NOTFOUND;
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return HOOP_ERR_IO;
	default:
		return HOOP_ERR_STORE;
	}
}

sqlite3 *
hoop_store_db(hoop_store_t *store)
{
	return store->db;
}

const char *
hoop_store_errmsg(hoop_store_t *store)
{
	return store != NULL && store->db != NULL ?
	    sqlite3_errmsg(store->db) : "no store";
}

static hoop_err_t
store_exec(hoop_store_t *store, const char *sql)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(store->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		hoop_log(LOG_ERR, "store: %s", msg != NULL ? msg :
		    sqlite3_errstr(rc));
		sqlite3_free(msg);
		return hoop_store_err(rc) == HOOP_OK ? HOOP_ERR_STORE :
		    hoop_store_err(rc);
	}
	return HOOP_OK;
}

hoop_err_t
hoop_store_begin(hoop_store_t *store)
{
	return store_exec(store, "BEGIN IMMEDIATE");
}

hoop_err_t
hoop_store_commit(hoop_store_t *store)
{
	return store_exec(store, "COMMIT");
}

void
hoop_store_rollback(hoop_store_t *store)
{
	if (!sqlite3_get_autocommit(store->db))
		(void)sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

hoop_err_t
hoop_store_schema_version(hoop_store_t *store, int *version)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st,
	    NULL);
	if (rc != SQLITE_OK) {
		ret = hoop_store_err(rc);
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		ret = hoop_store_err(rc) == HOOP_OK ? HOOP_ERR_STORE :
		    hoop_store_err(rc);
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Creates the database file ourselves so that its mode never depends on
 * the caller's umask: 0660, group of the directory (setgid hoop dir). */
static hoop_err_t
store_precreate(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0660);
	if (fd == -1)
		return errno == EEXIST ? HOOP_OK :
		    errno == EACCES ? HOOP_ERR_PERM : HOOP_ERR_IO;
	(void)fchmod(fd, 0660);
	close(fd);
	return HOOP_OK;
}

hoop_err_t
hoop_store_open(const char *path, unsigned flags, hoop_store_t **out)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	hoop_store_t *store = NULL;
	struct stat st;
	int rc, oflags, version;

	if (path == NULL || *path == '\0') {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	if ((store = calloc(1, sizeof(*store))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((flags & HOOP_STORE_CREATE) && !(flags & HOOP_STORE_READONLY) &&
	    (ret = store_precreate(path)) != HOOP_OK)
		goto out;
	/* A symlinked store could be pointed anywhere by whoever controls
	 * the link: refuse it. */
	if (lstat(path, &st) == -1) {
		ret = errno == ENOENT ? HOOP_ERR_NOTFOUND : HOOP_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	oflags = SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
	    ((flags & HOOP_STORE_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE);
	rc = sqlite3_open_v2(path, &store->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		hoop_log(LOG_ERR, "store %s: %s", path, store->db != NULL ?
		    sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
		ret = hoop_store_err(rc);
		goto out;
	}
	sqlite3_extended_result_codes(store->db, 0);
	if (sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
		goto out;
	/* synchronous=FULL: an audit event acknowledged is an audit event
	 * kept, even across a power cut. */
	if (!(flags & HOOP_STORE_READONLY) &&
	    (ret = store_exec(store, "PRAGMA journal_mode=WAL")) != HOOP_OK)
		goto out;
	if ((ret = store_exec(store, "PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=FULL;")) != HOOP_OK)
		goto out;
	if ((ret = hoop_store_schema_version(store, &version)) != HOOP_OK)
		goto out;
	if (version > HOOP_STORE_SCHEMA_VERSION) {
		hoop_log(LOG_ERR, "store %s: schema version %d is newer than "
		    "this program's %d; refusing to use it", path, version,
		    HOOP_STORE_SCHEMA_VERSION);
		ret = HOOP_ERR_STORE_TOO_NEW;
		goto out;
	}
	if (version < HOOP_STORE_SCHEMA_VERSION &&
	    !(flags & HOOP_STORE_MIGRATE)) {
		hoop_log(LOG_ERR, "store %s: schema version %d, need %d: run "
		    "'hoopctl db migrate'", path, version,
		    HOOP_STORE_SCHEMA_VERSION);
		ret = HOOP_ERR_STORE_OLD;
		goto out;
	}
	*out = store;
	store = NULL;
	ret = HOOP_OK;
out:
	hoop_store_close(store);
	return ret;
}

void
hoop_store_close(hoop_store_t *store)
{
	if (store == NULL)
		return;
	sqlite3_close_v2(store->db);
	free(store);
}

hoop_err_t
hoop_store_migrate(hoop_store_t *store, int *from, int *to)
{
	hoop_err_t ret = HOOP_ERR_STORE;
	char pragma[64];
	int version;

	if ((ret = hoop_store_begin(store)) != HOOP_OK)
		goto out;
	/* Read the version under the write lock: two concurrent migrators
	 * must not both apply the same step. */
	if ((ret = hoop_store_schema_version(store, &version)) != HOOP_OK)
		goto out;
	if (from != NULL)
		*from = version;
	if (version > HOOP_STORE_SCHEMA_VERSION) {
		ret = HOOP_ERR_STORE_TOO_NEW;
		goto out;
	}
	while (version < HOOP_STORE_SCHEMA_VERSION) {
		if ((ret = store_exec(store, migrations[version])) != HOOP_OK)
			goto out;
		version++;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d",
		    version);
		if ((ret = store_exec(store, pragma)) != HOOP_OK)
			goto out;
	}
	if ((ret = hoop_store_commit(store)) != HOOP_OK)
		goto out;
	if (to != NULL)
		*to = version;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		hoop_store_rollback(store);
	return ret;
}
