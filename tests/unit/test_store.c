/* State store: creation, migrations, refusal of newer schemas, pragmas,
 * schema invariants, and 16 concurrent writers losing nothing. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_store.h"
#include "store_internal.h"
#include "tap.h"
#include "testdb.h"

#define WRITERS 16
#define EVENTS_PER_WRITER 200

static char dir[] = "/tmp/hoop-test-store.XXXXXX";

static const char *
query_text(hoop_store_t *store, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(hoop_store_db(store), sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, size, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
test_create_and_migrate(const char *path)
{
	hoop_store_t *store = NULL;
	struct stat st;
	char buf[64];
	int from = -1, to = -1, version = -1;

	is_int(hoop_store_open(path, 0, &store), HOOP_ERR_NOTFOUND,
	    "a missing store is not created without being asked");
	is_int(hoop_store_open(path, HOOP_STORE_CREATE, &store),
	    HOOP_ERR_STORE_OLD, "a fresh store must be migrated before use");
	ok(store == NULL, "nothing is returned on failure");
	umask(077);
	unlink(path);
	is_int(hoop_store_open(path, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE,
	    &store), HOOP_OK, "open for migration");
	is_int(hoop_store_migrate(store, &from, &to), HOOP_OK, "migrate");
	ok(from == 0 && to == HOOP_STORE_SCHEMA_VERSION,
	    "migrated from 0 to %d (got %d -> %d)", HOOP_STORE_SCHEMA_VERSION,
	    from, to);
	is_int(hoop_store_migrate(store, &from, &to), HOOP_OK,
	    "migrating again is a no-op");
	ok(from == to, "second migration changes nothing");
	hoop_store_close(store);
	store = NULL;
	if (stat(path, &st) == -1)
		st.st_mode = 0;
	ok((st.st_mode & 0777) == 0660,
	    "store file is 0660 whatever the umask (got %o)", st.st_mode & 0777);
	umask(022);

	is_int(hoop_store_open(path, 0, &store), HOOP_OK, "reopen migrated");
	ok(strcmp(query_text(store, "PRAGMA journal_mode", buf, sizeof(buf)),
	    "wal") == 0, "journal mode is WAL (%s)", buf);
	is_int(query_long(store, "PRAGMA foreign_keys"), 1, "foreign keys on");
	is_int(query_long(store, "PRAGMA synchronous"), 2, "synchronous FULL");
	ok(hoop_store_schema_version(store, &version) == HOOP_OK &&
	    version == HOOP_STORE_SCHEMA_VERSION, "schema version reported");
	is_int(query_long(store, "SELECT count(*) FROM sqlite_master WHERE "
	    "type='table' AND name IN ('leases','sessions','audit_events',"
	    "'approvals','approval_votes','jwks_cache','jti_seen')"), 7,
	    "all tables exist");
	hoop_store_close(store);
}

static void
test_invariants(const char *path)
{
	hoop_store_t *store = NULL;
	sqlite3 *db;

	if (hoop_store_open(path, 0, &store) != HOOP_OK) {
		ok(0, "open for invariants");
		return;
	}
	db = hoop_store_db(store);
	ok(sqlite3_exec(db, "INSERT INTO leases (login, uid, identity, issuer,"
	    " subject, claims_digest, created_at, expires_at) VALUES "
	    "('a', 60001, 'i', 'iss', 's', 'd', 1, 2)", NULL, NULL, NULL) ==
	    SQLITE_OK, "insert a live lease");
	ok(sqlite3_exec(db, "INSERT INTO leases (login, uid, identity, issuer,"
	    " subject, claims_digest, created_at, expires_at) VALUES "
	    "('b', 60001, 'i', 'iss', 's', 'd', 1, 2)", NULL, NULL, NULL) !=
	    SQLITE_OK, "two live leases cannot share a uid");
	ok(sqlite3_exec(db, "INSERT INTO leases (login, uid, identity, issuer,"
	    " subject, claims_digest, created_at, expires_at) VALUES "
	    "('a', 60002, 'i', 'iss', 's', 'd', 1, 2)", NULL, NULL, NULL) !=
	    SQLITE_OK, "two live leases cannot share a login");
	ok(sqlite3_exec(db, "UPDATE leases SET ended_at = 3;"
	    "INSERT INTO leases (login, uid, identity, issuer,"
	    " subject, claims_digest, created_at, expires_at) VALUES "
	    "('b', 60001, 'i', 'iss', 's', 'd', 1, 2)", NULL, NULL, NULL) ==
	    SQLITE_OK, "an ended lease frees its uid");
	ok(sqlite3_exec(db, "INSERT INTO sessions (id, lease_id, login, "
	    "started_at) VALUES ('x', 999, 'b', 1)", NULL, NULL, NULL) !=
	    SQLITE_OK, "foreign keys are enforced");
	ok(sqlite3_exec(db, "INSERT INTO approvals (id, principal, kind, "
	    "fingerprint, request, status, created_at, expires_at) VALUES "
	    "('r', 'p', 'sql', 'f', 'q', 'maybe', 1, 2)", NULL, NULL, NULL) !=
	    SQLITE_OK, "approval status is a closed set");
	sqlite3_exec(db, "DELETE FROM leases", NULL, NULL, NULL);
	hoop_store_close(store);
}

static void
test_refusals(const char *path)
{
	hoop_store_t *store = NULL;
	char link[256], newer[256];
	FILE *fp;

	snprintf(link, sizeof(link), "%s/link.db", dir);
	ok(symlink(path, link) == 0, "make a symlink to the store");
	is_int(hoop_store_open(link, 0, &store), HOOP_ERR_INVAL,
	    "a symlinked store is refused");

	snprintf(newer, sizeof(newer), "%s/newer.db", dir);
	ok(raw_exec(newer, "PRAGMA user_version=99") == 0,
	    "make a store from a newer program");
	is_int(hoop_store_open(newer, 0, &store), HOOP_ERR_STORE_TOO_NEW,
	    "a newer schema is refused");
	is_int(hoop_store_open(newer, HOOP_STORE_MIGRATE, &store),
	    HOOP_ERR_STORE_TOO_NEW, "and cannot be 'migrated' backwards");

	snprintf(newer, sizeof(newer), "%s/garbage.db", dir);
	fp = fopen(newer, "w");
	fputs("this is not a database, just some text that is long enough "
	    "to fill a header page of a database file........................"
	    "..................................................", fp);
	fclose(fp);
	ok(hoop_store_open(newer, 0, &store) != HOOP_OK && store == NULL,
	    "a corrupt store is refused, not used");
}

static int
writer(const char *path, int id)
{
	struct hoop_audit_event ev = { .kind = "test", .decision = "allow" };
	hoop_store_t *store = NULL;
	char principal[32], action[32];
	int i;

	if (hoop_store_open(path, 0, &store) != HOOP_OK)
		return 1;
	snprintf(principal, sizeof(principal), "writer-%d", id);
	ev.principal = principal;
	for (i = 0; i < EVENTS_PER_WRITER; i++) {
		snprintf(action, sizeof(action), "event %d", i);
		ev.action = action;
		if (hoop_audit_append(store, &ev, NULL) != HOOP_OK)
			return 2;
	}
	hoop_store_close(store);
	return 0;
}

static void
test_concurrent_writers(const char *path)
{
	struct hoop_audit_verify_result res;
	hoop_store_t *store = NULL;
	pid_t pids[WRITERS];
	char sql[128];
	int i, status, clean = 1, per_writer_ok = 1;

	for (i = 0; i < WRITERS; i++) {
		if ((pids[i] = fork()) == 0)
			_exit(writer(path, i));
	}
	for (i = 0; i < WRITERS; i++)
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			clean = 0;
	ok(clean, "%d writers appended %d events each without error",
	    WRITERS, EVENTS_PER_WRITER);
	if (hoop_store_open(path, 0, &store) != HOOP_OK) {
		ok(0, "reopen after writers");
		return;
	}
	is_int(query_long(store, "SELECT count(*) FROM audit_events"),
	    WRITERS * EVENTS_PER_WRITER, "no event lost");
	for (i = 0; i < WRITERS; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(DISTINCT action) FROM "
		    "audit_events WHERE principal = 'writer-%d'", i);
		if (query_long(store, sql) != EVENTS_PER_WRITER)
			per_writer_ok = 0;
	}
	ok(per_writer_ok, "every writer's every event is there once");
	is_int(hoop_audit_verify(store, 0, NULL, &res), HOOP_OK,
	    "the chain is intact after concurrent appends");
	is_int(res.events, WRITERS * EVENTS_PER_WRITER, "verify saw them all");
	hoop_store_close(store);
}

int
main(void)
{
	char path[256];

	hoop_log_init("test_store", LOG_USER, HOOP_LOG_NO_SYSLOG);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/hoop.db", dir);
	test_create_and_migrate(path);
	test_invariants(path);
	test_refusals(path);
	test_concurrent_writers(path);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	(void)!system(path);
	return done_testing();
}
