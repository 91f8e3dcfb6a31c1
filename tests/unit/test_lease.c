/*
 * Leases and the nss_hoop data file, below the module: the uid function,
 * the file builder and reader, configuration of ephemeral users, lease
 * acquisition (uid collisions), hoop_nssdb_sync (also from concurrent
 * writers), lease listing, and the reaper's home removal and gc.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hoop_config.h"
#include "hoop_lease.h"
#include "hoop_log.h"
#include "hoop_nssdb.h"
#include "hoop_reap.h"
#include "hoop_store.h"
#include "store_internal.h"
#include "tap.h"
#include "testdb.h"

#define UID_MIN 60000
#define UID_MAX 60999

static char dir[] = "/tmp/hoop-test-lease.XXXXXX";
static char store_path[256], db_path[256], home_base[256];
static int64_t now;

static void
test_uid_function(void)
{
	uint32_t u, seen[1000];
	size_t i, distinct = 0, j;
	char name[40];
	int in_range = 1;

	/* Pinned: these values are part of the on-disk contract (homes and
	 * files on existing bastions belong to them). */
	is_int(hoop_nssdb_login_uid("deploy", 60000, 60999),
	    hoop_nssdb_login_uid("deploy", 60000, 60999),
	    "the same name, the same uid");
	u = hoop_nssdb_login_uid("deploy", 60000, 60999);
	printf("# uid(deploy) = %lu, uid(sso-alice) = %lu\n",
	    (unsigned long)u,
	    (unsigned long)hoop_nssdb_login_uid("sso-alice", 60000, 60999));
	is_int(u, 60498, "uid of deploy in 60000..60999 is pinned");
	is_int(hoop_nssdb_login_uid("sso-alice", 60000, 60999), 60651,
	    "uid of sso-alice is pinned");
	is_int(hoop_nssdb_login_uid("x", 70000, 70000), 70000,
	    "a one-uid range");
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "sso-user%zu", i);
		u = hoop_nssdb_login_uid(name, UID_MIN, UID_MAX);
		if (u < UID_MIN || u > UID_MAX)
			in_range = 0;
		for (j = 0; j < distinct && seen[j] != u; j++)
			;
		if (j == distinct)
			seen[distinct++] = u;
	}
	ok(in_range, "1000 names: every uid in the range");
	/* 1000 names into 1000 uids: about 632 distinct if uniform. */
	ok(distinct > 580 && distinct < 690, "spread like a random function "
	    "(%zu distinct)", distinct);
	ok(hoop_nssdb_pattern_match("sso-*", "sso-bob") &&
	    hoop_nssdb_pattern_match("sso-*", "sso-") &&
	    !hoop_nssdb_pattern_match("sso-*", "ssx-bob") &&
	    hoop_nssdb_pattern_match("ci-*-*", "ci-a-b-c") &&
	    !hoop_nssdb_pattern_match("ci-*-x", "ci-a-b") &&
	    hoop_nssdb_pattern_match("*", "anything") &&
	    hoop_nssdb_pattern_match("*-ro", "team-a-ro"),
	    "template patterns");
}

static void
test_builder(void)
{
	hoop_nssdb_builder_t *b = NULL;
	hoop_nssdb_t *db = NULL;
	struct hoop_nssdb_user u;
	void *image = NULL;
	size_t len = 0, i, found = 0;
	char name[40];

	ok(hoop_nssdb_builder_create(0, 100, "/h", "/s", 0, &b) ==
	    HOOP_ERR_INVAL, "builder refuses a uid range from 0");
	ok(hoop_nssdb_builder_create(60000, 70000, "/h", "/s", 0, &b) ==
	    HOOP_ERR_INVAL, "and one over nobody");
	ok(hoop_nssdb_builder_create(60000, 60999, "relative", "/s", 0, &b) ==
	    HOOP_ERR_INVAL, "and a relative home base");
	ok(hoop_nssdb_builder_create(60000, 60999, "/h:x", "/s", 0, &b) ==
	    HOOP_ERR_INVAL, "and ':' in a path");
	ok(hoop_nssdb_builder_create(60000, 60999, "/h", "/s", 0, &b) ==
	    HOOP_OK, "builder");
	ok(hoop_nssdb_builder_add_lease(b, "root", 0, now, "g", 0, NULL, 0) ==
	    HOOP_ERR_INVAL, "a lease for uid 0 is refused");
	ok(hoop_nssdb_builder_add_lease(b, "Bad", 60001, now, "g", 0, NULL,
	    0) == HOOP_ERR_INVAL, "a lease for a bad name is refused");
	ok(hoop_nssdb_builder_add_template(b, "Bad-${x}", "g", 0) ==
	    HOOP_ERR_INVAL, "a bad template is refused");
	/* 10,000 leases: every one found by name and by uid. */
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "u%zu", i);
		if (hoop_nssdb_builder_add_lease(b, name, (uint32_t)(100000 + i),
		    now + 60, "hoop identity bulk", HOOP_NSSDB_HOME, NULL,
		    0) != HOOP_OK)
			break;
	}
	ok(i == 10000, "10,000 leases added");
	ok(hoop_nssdb_builder_add_login(b, "u7", "hoop identity fixed", 0) ==
	    HOOP_OK, "a fixed login with the name of a lease");
	ok(hoop_nssdb_builder_finish(b, now, &image, &len) == HOOP_OK,
	    "built %zu bytes", len);
	ok(hoop_nssdb_open_buf(image, len, &db) == HOOP_OK, "read back");
	for (i = 0; db != NULL && i < 10000; i++) {
		snprintf(name, sizeof(name), "u%zu", i);
		if (hoop_nssdb_by_name(db, name, now, &u) == HOOP_OK &&
		    u.uid == 100000 + i &&
		    hoop_nssdb_by_uid(db, (uint32_t)(100000 + i), now, &u) ==
		    HOOP_OK && strcmp(u.name, name) == 0)
			found++;
	}
	is_int(found, 10000, "every lease by name and by uid");
	ok(db != NULL && hoop_nssdb_by_name(db, "u7", now, &u) == HOOP_OK &&
	    (u.flags & HOOP_NSSDB_LEASE) && (u.flags & HOOP_NSSDB_LOGIN) &&
	    strcmp(u.gecos, "hoop identity bulk") == 0,
	    "a lease and a fixed login of one name merge (lease wins)");
	ok(db != NULL && hoop_nssdb_by_uid(db, 100007, now + 61, &u) ==
	    HOOP_ERR_NOTFOUND, "after expiry the uid is gone");
	ok(db != NULL && hoop_nssdb_by_name(db, "u7", now + 61, &u) ==
	    HOOP_OK && !(u.flags & HOOP_NSSDB_LEASE) &&
	    u.uid == hoop_nssdb_login_uid("u7", 60000, 60999),
	    "the fixed login still resolves, with its own uid");
	ok(db != NULL && hoop_nssdb_by_name(db, "u8", now + 61, &u) ==
	    HOOP_ERR_NOTFOUND, "an expired lease with no identity: gone");
	hoop_nssdb_free(db);
	free(image);
	hoop_nssdb_builder_free(b);

	b = NULL;
	ok(hoop_nssdb_builder_create(60000, 60999, "/h", "/s", 0, &b) ==
	    HOOP_OK && hoop_nssdb_builder_add_lease(b, "a", 60001, now, "g", 0,
	    NULL, 0) == HOOP_OK && hoop_nssdb_builder_add_lease(b, "b", 60001,
	    now, "g", 0, NULL, 0) == HOOP_OK, "two leases, one uid");
	image = NULL;
	is_int(hoop_nssdb_builder_finish(b, now, &image, &len),
	    HOOP_ERR_UID_TAKEN, "the builder refuses to write them");
	free(image);
	hoop_nssdb_builder_free(b);
}

static const char *config_fmt =
    "store = \"%s\"\n"
    "home_base = \"%s\"\n"
    "login_shell = \"/usr/bin/hoop-shell\"\n"
    "uid_min = %d\nuid_max = %d\n"
    "issuer \"ci\" { url = \"https://ci.example.test\" "
    "audience = {\"hoop\"} }\n"
    "identity \"deploy\" { issuer = \"ci\" claim \"repo\" { equals = "
    "{\"a/b\"} } login = \"deploy\" home = false "
    "local_groups = {\"*:adm\"} }\n"
    "identity \"staff\" { issuer = \"ci\" claim \"role\" { equals = "
    "{\"staff\"} } login_template = \"sso-${user}\" "
    "local_groups = {\"dba:users\", \"ops:adm\", \"*:no-such-group-x\"} }\n"
    "identity \"gone\" { issuer = \"ci\" claim \"role\" { equals = "
    "{\"x\"} } login = \"offline\" disabled = true }\n"
    "%s";

static hoop_config_t *
load_config(const char *extra, int *problems)
{
	hoop_config_t *cfg = NULL;
	char *text;
	int n;

	*problems = 0;
	n = snprintf(NULL, 0, config_fmt, store_path, home_base, UID_MIN,
	    UID_MAX, extra);
	if ((text = malloc((size_t)n + 1)) == NULL)
		return NULL;
	snprintf(text, (size_t)n + 1, config_fmt, store_path, home_base,
	    UID_MIN, UID_MAX, extra);
	if (hoop_config_load_buf(text, strlen(text), "test.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		*problems = 1;
	free(text);
	return cfg;
}

static void
diag_count(void *arg, const char *message)
{
	(*(int *)arg)++;
	printf("#   %s\n", message);
}

static int
config_refused(const char *text)
{
	hoop_config_t *cfg = NULL;
	int n = 0;
	hoop_err_t err;

	err = hoop_config_load_buf(text, strlen(text), "bad.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, diag_count, &n);
	hoop_config_free(cfg);
	return err == HOOP_ERR_CONFIG && n > 0;
}

static void
test_config(void)
{
	const struct hoop_identity *id;
	hoop_config_t *cfg;
	char a[40], b[40], text[1024];
	int problems, i, j;

	cfg = load_config("", &problems);
	ok(cfg != NULL, "a configuration with ephemeral-user options");
	if (cfg == NULL)
		return;
	ok(strcmp(hoop_config_home_base(cfg), home_base) == 0 &&
	    strcmp(hoop_config_login_shell(cfg), "/usr/bin/hoop-shell") == 0 &&
	    !hoop_config_nss_enumerate(cfg), "home_base, login_shell, "
	    "nss_enumerate (off by default)");
	id = hoop_config_identity(cfg, "staff");
	ok(id != NULL && id->n_local_groups == 3 &&
	    strcmp(id->local_groups[0].group, "dba") == 0 &&
	    strcmp(id->local_groups[0].local, "users") == 0 &&
	    strcmp(id->local_groups[2].group, "*") == 0,
	    "local_groups parsed into GROUP -> LOCAL");
	hoop_config_free(cfg);
	cfg = load_config("", &problems);
	hoop_config_free(cfg);

	ok(config_refused("home_base = \"/\"\n"), "home_base \"/\" refused");
	ok(config_refused("home_base = \"/home/a:b\"\n"),
	    "':' in home_base refused");
	ok(config_refused("login_shell = \"/bin/../bin/sh\"\n"),
	    "'..' in login_shell refused");
	ok(config_refused("uid_min = 65000\nuid_max = 66000\n"),
	    "a uid range over 65534 (nobody) refused");
	ok(config_refused("nss_enumerate = maybe\n"),
	    "nss_enumerate must be a boolean");
	for (i = 0; i < 4; i++) {
		static const char *const bad[] = { "adm", "*:root", "a:B",
		    "x:y:z" };

		snprintf(text, sizeof(text), "issuer \"ci\" { url = "
		    "\"https://ci.example.test\" audience = {\"hoop\"} }\n"
		    "identity \"d\" { issuer = \"ci\" claim \"r\" { equals = "
		    "{\"x\"} } login = \"d\" local_groups = {\"%s\"} }\n",
		    bad[i]);
		ok(config_refused(text), "local_groups \"%s\" refused", bad[i]);
	}
	/* Two fixed logins with one uid. */
	snprintf(a, sizeof(a), "ci-a");
	b[0] = '\0';
	for (j = 0; j < 100000 && b[0] == '\0'; j++) {
		snprintf(b, sizeof(b), "ci-b%d", j);
		if (hoop_nssdb_login_uid(a, 60000, 60999) !=
		    hoop_nssdb_login_uid(b, 60000, 60999))
			b[0] = '\0';
	}
	snprintf(text, sizeof(text), "issuer \"ci\" { url = "
	    "\"https://ci.example.test\" audience = {\"hoop\"} }\n"
	    "identity \"a\" { issuer = \"ci\" claim \"r\" { equals = {\"x\"} } "
	    "login = \"%s\" }\n"
	    "identity \"b\" { issuer = \"ci\" claim \"r\" { equals = {\"y\"} } "
	    "login = \"%s\" }\n", a, b);
	ok(b[0] != '\0' && config_refused(text), "fixed logins %s and %s "
	    "share uid %lu: refused", a, b,
	    (unsigned long)hoop_nssdb_login_uid(a, 60000, 60999));
}

static hoop_store_t *
open_store(void)
{
	hoop_store_t *store = NULL;

	if (hoop_store_open(store_path, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE,
	    &store) != HOOP_OK)
		return NULL;
	return store;
}

static hoop_err_t
acquire(hoop_store_t *store, hoop_config_t *cfg, const char *login,
    const char *groups, int64_t expires, struct hoop_lease_grant *g)
{
	struct hoop_lease_request req = {
		.login = login, .uid = hoop_lease_uid(cfg, login),
		.identity = strncmp(login, "sso-", 4) == 0 ? "staff" : login, .issuer = "ci", .subject = "sub-1",
		.claims_digest = "00", .groups = groups, .expires_at = expires,
		.now = now,
	};

	return hoop_lease_acquire(store, cfg, &req, g);
}

/* A name whose uid is that of other. */
static void
colliding_name(const char *other, char *out, size_t size)
{
	uint32_t want = hoop_nssdb_login_uid(other, UID_MIN, UID_MAX);
	int i;

	for (i = 0; i < 1000000; i++) {
		snprintf(out, size, "sso-c%d", i);
		if (hoop_nssdb_login_uid(out, UID_MIN, UID_MAX) == want)
			return;
	}
	out[0] = '\0';
}

static gid_t
gid_of(const char *name)
{
	struct group *gr = getgrnam(name);

	return gr != NULL ? gr->gr_gid : 0;
}

static void
test_acquire_and_sync(void)
{
	struct hoop_lease_grant g;
	struct hoop_lease_request req;
	struct hoop_nssdb_user u;
	hoop_config_t *cfg;
	hoop_store_t *store;
	hoop_nssdb_t *db = NULL;
	char other[40], expect[128];
	int problems, from, to;
	struct stat st;

	cfg = load_config("", &problems);
	store = open_store();
	ok(cfg != NULL && store != NULL && hoop_store_migrate(store, &from,
	    &to) == HOOP_OK && to == HOOP_STORE_SCHEMA_VERSION,
	    "store migrated to %d", to);
	if (cfg == NULL || store == NULL)
		goto out;

	is_int(acquire(store, cfg, "sso-alice", "dba,ops,Bad Name,dba",
	    now + 600, &g), HOOP_OK, "a new lease");
	ok(g.created == 1 && g.lease_id > 0, "created (id %lld)",
	    (long long)g.lease_id);
	is_int(query_long(store, "SELECT count(*) FROM leases WHERE groups = "
	    "'dba,ops'"), 1, "groups kept valid and once each");
	is_int(acquire(store, cfg, "sso-alice", "dba,sre", now + 1200, &g),
	    HOOP_OK, "the same login again joins the lease");
	ok(g.created == 0, "not a new lease");
	is_int(query_long(store, "SELECT count(*) FROM leases WHERE login = "
	    "'sso-alice' AND groups = 'dba'"), 1,
	    "groups narrowed to those both sessions hold");
	is_int(query_long(store, "SELECT expires_at FROM leases WHERE login = "
	    "'sso-alice'"), now + 1200, "expiry extended to the later one");

	colliding_name("sso-alice", other, sizeof(other));
	ok(other[0] != '\0', "%s shares sso-alice's uid", other);
	is_int(acquire(store, cfg, other, NULL, now + 600, &g),
	    HOOP_ERR_UID_TAKEN, "a second live lease of the uid is refused");
	snprintf(expect, sizeof(expect), "uid %lu of %s already leased to "
	    "sso-alice", (unsigned long)hoop_lease_uid(cfg, "sso-alice"),
	    other);
	ok(strcmp(g.reason, expect) == 0, "reason: %s", g.reason);

	memset(&req, 0, sizeof(req));
	req.login = "sso-bob";
	req.uid = hoop_lease_uid(cfg, "sso-bob") + 1;
	req.identity = req.issuer = req.subject = req.claims_digest = "x";
	req.expires_at = now + 60;
	req.now = now;
	is_int(hoop_lease_acquire(store, cfg, &req, &g), HOOP_ERR_INVAL,
	    "a uid that is not the name's is refused");
	ok(strstr(g.reason, "shadows") != NULL, "reason: %s", g.reason);

	/* The data file. */
	is_int(acquire(store, cfg, "deploy", "", now + 600, &g), HOOP_OK,
	    "a lease for the fixed login");
	is_int(hoop_nssdb_sync(cfg, store, db_path), HOOP_OK, "sync");
	ok(stat(db_path, &st) == 0 && (st.st_mode & 07777) == 0644,
	    "the file is world-readable (0644)");
	ok(hoop_nssdb_open_file(db_path, &db, NULL) == HOOP_OK, "and valid");
	if (db == NULL)
		goto out;
	ok(hoop_nssdb_by_uid(db, hoop_lease_uid(cfg, "sso-alice"), now, &u) ==
	    HOOP_OK && strcmp(u.name, "sso-alice") == 0 &&
	    strcmp(u.gecos, "hoop identity staff") == 0 &&
	    (u.flags & HOOP_NSSDB_HOME) && strcmp(u.home_base, home_base) == 0,
	    "sso-alice by uid, home under home_base");
	ok(u.n_groups == (gid_of("users") ? 1u : 0u) &&
	    (u.n_groups == 0 || hoop_nssdb_user_group(&u, 0) ==
	    gid_of("users")), "local groups: dba -> users only (ops was "
	    "narrowed away, the missing group skipped)");
	ok(hoop_nssdb_by_uid(db, hoop_lease_uid(cfg, "deploy"), now, &u) ==
	    HOOP_OK && !(u.flags & HOOP_NSSDB_HOME) && u.n_groups ==
	    (gid_of("adm") ? 1u : 0u), "deploy: no home, \"*:adm\" granted");
	ok(hoop_nssdb_by_name(db, "sso-zed", now, &u) == HOOP_OK &&
	    u.uid == hoop_lease_uid(cfg, "sso-zed"), "template from config");
	ok(hoop_nssdb_by_name(db, "offline", now, &u) == HOOP_ERR_NOTFOUND,
	    "a disabled identity's login does not resolve");
	hoop_nssdb_free(db);
	db = NULL;

	/* Expired but not reaped: the uid stays taken. */
	sqlite3_exec(hoop_store_db(store), "UPDATE leases SET expires_at = 1 "
	    "WHERE login = 'sso-alice'", NULL, NULL, NULL);
	is_int(acquire(store, cfg, other, NULL, now + 600, &g),
	    HOOP_ERR_UID_TAKEN, "an expired lease not yet reaped keeps its uid");
	ok(strstr(g.reason, "not yet reaped") != NULL, "reason: %s", g.reason);
	sqlite3_exec(hoop_store_db(store), "UPDATE leases SET end_reason = "
	    "'reaping' WHERE login = 'sso-alice'", NULL, NULL, NULL);
	is_int(acquire(store, cfg, "sso-alice", NULL, now + 600, &g),
	    HOOP_ERR_STORE_BUSY, "a lease being reaped cannot be rejoined");
	sqlite3_exec(hoop_store_db(store), "UPDATE leases SET ended_at = 2 "
	    "WHERE login = 'sso-alice'", NULL, NULL, NULL);
	is_int(acquire(store, cfg, other, NULL, now + 600, &g), HOOP_OK,
	    "once ended, the uid goes to the next name");
	ok(hoop_nssdb_sync(cfg, store, db_path) == HOOP_OK &&
	    hoop_nssdb_open_file(db_path, &db, NULL) == HOOP_OK &&
	    hoop_nssdb_by_uid(db, hoop_lease_uid(cfg, other), now, &u) ==
	    HOOP_OK && strcmp(u.name, other) == 0,
	    "and the file says so");
	hoop_nssdb_free(db);
	db = NULL;

	/* Within a caller's transaction: nothing visible before commit. */
	ok(hoop_store_begin(store) == HOOP_OK &&
	    acquire(store, cfg, "sso-tx", NULL, now + 60, &g) == HOOP_OK,
	    "acquire inside the caller's transaction");
	hoop_store_rollback(store);
	is_int(query_long(store, "SELECT count(*) FROM leases WHERE login = "
	    "'sso-tx'"), 0, "rolled back with it");
out:
	hoop_store_close(store);
	hoop_config_free(cfg);
}

/* Writers in separate processes, each recording a lease and syncing:
 * the file ends up with every lease. */
static void
test_concurrent_sync(void)
{
	hoop_config_t *cfg;
	hoop_store_t *store;
	hoop_nssdb_t *db = NULL;
	struct hoop_nssdb_user u;
	struct hoop_lease_grant g;
	char names[12][40];
	uint32_t uids[12];
	int problems, n = 0, i, j, status, good = 0, found = 0;
	pid_t pids[12];

	cfg = load_config("", &problems);
	for (i = 0; n < 12 && i < 10000; i++) {
		snprintf(names[n], sizeof(names[n]), "sso-w%d", i);
		uids[n] = hoop_lease_uid(cfg, names[n]);
		for (j = 0; j < n && uids[j] != uids[n]; j++)
			;
		if (j == n && (store = open_store()) != NULL) {
			/* Skip uids a lease already holds. */
			char sql[128];

			snprintf(sql, sizeof(sql), "SELECT count(*) FROM leases"
			    " WHERE uid = %lu AND ended_at IS NULL",
			    (unsigned long)uids[n]);
			if (query_long(store, sql) == 0)
				n++;
			hoop_store_close(store);
		}
	}
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			hoop_store_t *s = open_store();
			int rc = s != NULL && acquire(s, cfg, names[i], NULL,
			    now + 600, &g) == HOOP_OK &&
			    hoop_nssdb_sync(cfg, s, db_path) == HOOP_OK;

			hoop_store_close(s);
			_exit(rc ? 0 : 1);
		}
	}
	for (i = 0; i < n; i++) {
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			good++;
	}
	is_int(good, n, "%d processes recorded a lease and synced", n);
	if (hoop_nssdb_open_file(db_path, &db, NULL) == HOOP_OK) {
		for (i = 0; i < n; i++)
			found += hoop_nssdb_by_uid(db, uids[i], now, &u) ==
			    HOOP_OK && strcmp(u.name, names[i]) == 0;
	}
	is_int(found, n, "the last file written holds every one of them");
	hoop_nssdb_free(db);
	hoop_config_free(cfg);
}

static void
test_list(void)
{
	hoop_store_t *store = open_store();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	json_t *j;
	int lines = 0, good = 0;
	char *line, *save = NULL;

	if (store == NULL || (f = open_memstream(&buf, &len)) == NULL) {
		ok(0, "list set-up");
		hoop_store_close(store);
		return;
	}
	ok(hoop_lease_list(store, 0, HOOP_LEASE_JSON_LINES, now, f) == HOOP_OK,
	    "leases list --json");
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lines++;
		j = json_loads(line, 0, NULL);
		if (j != NULL && json_is_string(json_object_get(j, "login")) &&
		    json_is_integer(json_object_get(j, "uid")) &&
		    json_is_array(json_object_get(j, "groups")) &&
		    json_is_string(json_object_get(j, "state")))
			good++;
		json_decref(j);
	}
	ok(lines > 0 && good == lines, "%d JSON lines, all with login, uid, "
	    "groups, state", lines);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	ok(hoop_lease_list(store, HOOP_LEASE_LIST_ALL, HOOP_LEASE_TEXT, now,
	    f) == HOOP_OK, "leases list --all (text)");
	fclose(f);
	ok(strstr(buf, "ended") != NULL && strstr(buf, "live") != NULL,
	    "shows live and ended leases");
	free(buf);
	hoop_store_close(store);
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void
test_reap_home(void)
{
	enum hoop_reap_home r;
	char home[512], path[600], outside[512];
	struct stat st;
	uint32_t uid = 60777;

	if (geteuid() != 0) {
		ok(1, "# SKIP home removal tests need root");
		return;
	}
	snprintf(home, sizeof(home), "%s/sso-gone", home_base);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	mkdir(home_base, 0755);
	mkdir(outside, 0700);
	write_file(strcat(strcpy(path, outside), "/precious"), "keep me");
	mkdir(home, 0700);
	snprintf(path, sizeof(path), "%s/.ssh", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.ssh/known_hosts", home);
	write_file(path, "x");
	snprintf(path, sizeof(path), "%s/link-to-outside", home);
	symlink(outside, path);
	snprintf(path, sizeof(path), "%s/link-to-file", home);
	symlink("/etc/passwd", path);
	snprintf(path, sizeof(path), "%s/fifo", home);
	mkfifo(path, 0600);
	snprintf(path, sizeof(path), "%s/a/b/c/d", home);
	{
		char p[600];

		snprintf(p, sizeof(p), "%s/a", home);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/a/b", home);
		mkdir(p, 0000);
		snprintf(p, sizeof(p), "%s/a/b/c", home);
		mkdir(p, 0700);
		mkdir(path, 0700);
	}
	snprintf(path, sizeof(path), "chown -hR %lu:%lu '%s'",
	    (unsigned long)uid, (unsigned long)uid, home);
	ok(system(path) == 0, "a home owned by uid %lu", (unsigned long)uid);

	is_int(hoop_reap_home(home_base, "sso-gone", uid + 1, &r), HOOP_OK,
	    "another uid's home:");
	is_int(r, HOOP_REAP_HOME_NOT_OURS, "not ours: kept");
	ok(stat(home, &st) == 0, "still there");
	is_int(hoop_reap_home(home_base, "../x", uid, &r), HOOP_ERR_INVAL,
	    "a login with '/' is refused");
	is_int(hoop_reap_home(home_base, "sso-gone", 0, &r), HOOP_ERR_INVAL,
	    "uid 0 is refused");
	is_int(hoop_reap_home(home_base, "sso-gone", uid, &r), HOOP_OK,
	    "remove the home");
	is_int(r, HOOP_REAP_HOME_REMOVED, "removed");
	ok(lstat(home, &st) == -1 && errno == ENOENT, "gone");
	snprintf(path, sizeof(path), "%s/precious", outside);
	ok(stat(path, &st) == 0 && stat("/etc/passwd", &st) == 0,
	    "what symlinks inside pointed to is untouched");
	is_int(hoop_reap_home(home_base, "sso-gone", uid, &r), HOOP_OK,
	    "again");
	is_int(r, HOOP_REAP_HOME_ABSENT, "absent");

	/* The home itself a symlink (to a directory the uid owns). */
	snprintf(path, sizeof(path), "chown %lu '%s'", (unsigned long)uid,
	    outside);
	system(path);
	symlink(outside, home);
	is_int(hoop_reap_home(home_base, "sso-gone", uid, &r), HOOP_OK,
	    "a home that is a symlink");
	is_int(r, HOOP_REAP_HOME_NOT_OURS, "is not followed");
	snprintf(path, sizeof(path), "%s/precious", outside);
	ok(stat(path, &st) == 0, "its target is untouched");
	unlink(home);
}

static void
test_gc(void)
{
	struct hoop_gc_stats stats;
	struct hoop_lease_grant g;
	struct hoop_nssdb_user u;
	hoop_nssdb_t *db = NULL;
	hoop_config_t *cfg;
	hoop_store_t *store;
	char home[512], sql[256];
	int problems;
	uint32_t uid;

	if (geteuid() != 0) {
		ok(1, "# SKIP gc tests need root");
		return;
	}
	cfg = load_config("", &problems);
	store = open_store();
	if (cfg == NULL || store == NULL) {
		ok(0, "gc set-up");
		goto out;
	}
	uid = hoop_lease_uid(cfg, "sso-gc");
	ok(acquire(store, cfg, "sso-gc", NULL, now - 5, &g) == HOOP_OK,
	    "an expired lease (uid %lu)", (unsigned long)uid);
	snprintf(sql, sizeof(sql), "INSERT INTO sessions (id, lease_id, login, "
	    "started_at) VALUES ('s-gc', %lld, 'sso-gc', 1)",
	    (long long)g.lease_id);
	sqlite3_exec(hoop_store_db(store), sql, NULL, NULL, NULL);
	snprintf(home, sizeof(home), "%s/sso-gc", home_base);
	mkdir(home_base, 0755);
	ok(mkdir(home, 0700) == 0 && chown(home, uid, uid) == 0, "its home");
	/* A lease outside the range: never killed. */
	sqlite3_exec(hoop_store_db(store), "INSERT INTO leases (login, uid, "
	    "identity, issuer, subject, claims_digest, created_at, expires_at) "
	    "VALUES ('sso-low', 1500, 'staff', 'ci', 's', 'd', 1, 2)", NULL,
	    NULL, NULL);
	is_int(hoop_lease_gc(cfg, store, db_path, now, "test", &stats),
	    HOOP_OK, "gc");
	ok(stats.expired >= 2 && stats.ended == stats.expired &&
	    stats.failed == 0, "%u expired, %u ended, %u failed",
	    stats.expired, stats.ended, stats.failed);
	ok(access(home, F_OK) == -1, "the home is removed");
	is_int(query_long(store, "SELECT count(*) FROM leases WHERE login = "
	    "'sso-gc' AND ended_at IS NOT NULL AND end_reason = 'expired'"), 1,
	    "the lease is ended");
	is_int(query_long(store, "SELECT count(*) FROM sessions WHERE id = "
	    "'s-gc' AND ended_at IS NOT NULL"), 1, "its session closed");
	is_int(query_long(store, "SELECT count(*) FROM leases WHERE login = "
	    "'sso-low' AND end_reason = 'expired (not reaped)'"), 1,
	    "the out-of-range lease is ended without killing anything");
	ok(query_long(store, "SELECT count(*) FROM audit_events WHERE kind = "
	    "'lease' AND principal = 'sso-gc' AND action = 'end'") == 1 &&
	    query_long(store, "SELECT count(*) FROM audit_events WHERE kind = "
	    "'lease' AND principal = 'sso-low' AND decision = 'error'") == 1,
	    "audit events for both");
	ok(hoop_nssdb_open_file(db_path, &db, NULL) == HOOP_OK &&
	    hoop_nssdb_by_uid(db, uid, now - 100, &u) == HOOP_ERR_NOTFOUND,
	    "the uid is gone from the data file");
	hoop_nssdb_free(db);
	ok(acquire(store, cfg, "sso-gc", NULL, now + 60, &g) == HOOP_OK &&
	    g.created == 1, "a new login gets a fresh lease");
out:
	hoop_store_close(store);
	hoop_config_free(cfg);
}

int
main(void)
{
	char cmd[300];

	hoop_log_init("test_lease", LOG_USER, HOOP_LOG_NO_SYSLOG);
	now = (int64_t)time(NULL);
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	chmod(dir, 0755);
	snprintf(store_path, sizeof(store_path), "%s/hoop.db", dir);
	snprintf(db_path, sizeof(db_path), "%s/nss/passwd.db", dir);
	snprintf(home_base, sizeof(home_base), "%s/home", dir);
	test_uid_function();
	test_builder();
	test_config();
	test_acquire_and_sync();
	test_concurrent_sync();
	test_list();
	test_reap_home();
	test_gc();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
