/*
 * The principal of a uid (hoop_policy_principal): the live lease only,
 * and its groups as the lease holds them, never one cut short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hoop_config.h"
#include "hoop_policy.h"
#include "hoop_store.h"
#include "store_internal.h"
#include "tap.h"

static const char config_text[] =
    "issuer \"ci\" {\n"
    "  url = \"https://ci.example.test\"\n"
    "  audience = {\"hoop\"}\n"
    "}\n"
    "identity \"deploy\" {\n"
    "  issuer = \"ci\"\n"
    "  claim \"repository\" { equals = {\"acme/app\"} }\n"
    "  login = \"deploy\"\n"
    "}\n";

static hoop_store_t *store;
static hoop_config_t *cfg;

static int
add_lease(unsigned uid, const char *groups, long long expires_at,
    const char *end_reason)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hoop_store_db(store), "INSERT INTO leases "
	    "(login, uid, identity, issuer, subject, claims_digest, "
	    "created_at, expires_at, groups, end_reason) VALUES ('u' || ?1, "
	    "?1, 'deploy', 'ci', 'repo:acme/app', 'x', ?2, ?3, ?4, ?5)", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, (long long)time(NULL));
	sqlite3_bind_int64(st, 3, expires_at);
	sqlite3_bind_text(st, 4, groups, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, end_reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * "<one long filler group>,NAME,ops" with the filler sized so that the
 * lease's groups buffer (room bytes, room - 1 of text) keeps exactly
 * `kept` bytes of NAME.
 */
static char *
groups_cut_at(size_t room, const char *name, size_t kept)
{
	size_t filler = room - 1 - kept;	/* bytes before NAME */
	char *s = malloc(room * 2);

	if (s == NULL)
		return NULL;
	memset(s, 'g', filler - 1);
	s[filler - 1] = ',';
	snprintf(s + filler, room * 2 - filler, "%s,ops", name);
	return s;
}

static int
holds(const struct hoop_principal *p, const char *group)
{
	return hoop_principal_in_group(p, group);
}

static void
test_groups_never_cut_short(void)
{
	struct hoop_principal p;
	size_t room = sizeof(p.groups_buf);
	char *text = groups_cut_at(room, "sre-oncall", strlen("sre"));
	hoop_err_t err;

	if (text == NULL) {
		ok(0, "memory");
		return;
	}
	ok(strncmp(text + room - 1 - 3, "sre-oncall", 10) == 0,
	    "the buffer's end falls inside sre-oncall, after \"sre\"");
	ok(add_lease(61001, text, time(NULL) + 3600, NULL) == 0, "lease");
	err = hoop_policy_principal(store, cfg, 61001, time(NULL), &p);
	ok(err == HOOP_OK, "principal: %s", hoop_strerror(err));
	ok(!holds(&p, "sre"), "a name cut short is not taken for another "
	    "group");
	ok(!holds(&p, "sre-oncall") && !holds(&p, "ops"), "the cut name and "
	    "what follows are dropped (fewer groups, fewer rights)");
	is_int(p.n_groups, 1, "the whole name before the cut is kept");
	free(text);
}

static void
test_cut_on_a_comma_keeps_the_last_name(void)
{
	struct hoop_principal p;
	size_t room = sizeof(p.groups_buf);
	char *text = groups_cut_at(room, "sre-oncall", strlen("sre-oncall"));
	hoop_err_t err;

	if (text == NULL) {
		ok(0, "memory");
		return;
	}
	ok(text[room - 1] == ',', "the cut falls on a comma");
	ok(add_lease(61002, text, time(NULL) + 3600, NULL) == 0, "lease");
	err = hoop_policy_principal(store, cfg, 61002, time(NULL), &p);
	ok(err == HOOP_OK, "principal: %s", hoop_strerror(err));
	ok(holds(&p, "sre-oncall"), "a whole name at the cut is kept");
	ok(!holds(&p, "ops"), "names past the room are dropped");
	free(text);
}

static void
test_one_name_longer_than_the_room(void)
{
	struct hoop_principal p;
	size_t room = sizeof(p.groups_buf);
	char *text = malloc(room + 8);

	if (text == NULL) {
		ok(0, "memory");
		return;
	}
	memset(text, 'a', room + 6);
	text[room + 6] = '\0';
	ok(add_lease(61006, text, time(NULL) + 3600, NULL) == 0, "lease");
	ok(hoop_policy_principal(store, cfg, 61006, time(NULL), &p) ==
	    HOOP_OK && p.n_groups == 0, "a single name past the room gives "
	    "no group at all");
	free(text);
}

static void
test_live_lease_only(void)
{
	struct hoop_principal p;

	ok(add_lease(61003, "deployers", time(NULL) - 1, NULL) == 0, "lease");
	ok(hoop_policy_principal(store, cfg, 61003, time(NULL), &p) ==
	    HOOP_ERR_NOTFOUND, "an expired lease speaks for no one");
	ok(add_lease(61004, "deployers", time(NULL) + 3600, "reaped") == 0,
	    "lease");
	ok(hoop_policy_principal(store, cfg, 61004, time(NULL), &p) ==
	    HOOP_ERR_NOTFOUND, "a lease being reaped speaks for no one");
	ok(add_lease(61005, "a,,b", time(NULL) + 3600, NULL) == 0, "lease");
	ok(hoop_policy_principal(store, cfg, 61005, time(NULL), &p) ==
	    HOOP_OK && p.n_groups == 2 && holds(&p, "b") && !holds(&p, ""),
	    "empty names are skipped");
}

int
main(void)
{
	char dir[] = "/tmp/hoop-test-policy.XXXXXX", path[256];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/hoop.db", dir);
	if (hoop_config_load_buf(config_text, strlen(config_text), "t.conf", 0,
	    &cfg, NULL, NULL) != HOOP_OK ||
	    hoop_store_open(path, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE,
	    &store) != HOOP_OK || hoop_store_migrate(store, NULL, NULL) !=
	    HOOP_OK) {
		printf("Bail out! set-up\n");
		return 1;
	}
	test_groups_never_cut_short();
	test_cut_on_a_comma_keeps_the_last_name();
	test_one_name_longer_than_the_room();
	test_live_lease_only();
	hoop_store_close(store);
	hoop_config_free(cfg);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
