/* hoop.conf loading: a complete file, then one test per way to get it
 * wrong, each checking the FILE:LINE: of the message. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hoop_config.h"
#include "tap.h"

#define MAX_DIAGS 32

struct diags {
	int count;
	char msg[MAX_DIAGS][512];
};

static void
collect(void *arg, const char *message)
{
	struct diags *d = arg;

	if (d->count < MAX_DIAGS)
		snprintf(d->msg[d->count], sizeof(d->msg[0]), "%s", message);
	d->count++;
}

static void
show(const struct diags *d)
{
	int i;

	for (i = 0; i < d->count && i < MAX_DIAGS; i++)
		printf("#   diag: %s\n", d->msg[i]);
}

static hoop_err_t
load(const char *text, unsigned flags, hoop_config_t **cfg, struct diags *d)
{
	memset(d, 0, sizeof(*d));
	return hoop_config_load_buf(text, strlen(text), "t.conf", flags, cfg,
	    collect, d);
}

/* Whether one message starts with where and contains what. */
static int
said(const struct diags *d, const char *where, const char *what)
{
	int i;

	for (i = 0; i < d->count && i < MAX_DIAGS; i++) {
		if (strncmp(d->msg[i], where, strlen(where)) == 0 &&
		    strstr(d->msg[i], what) != NULL)
			return 1;
	}
	return 0;
}

/* The text must be refused, with a message at where saying what. */
static void
fails_with(const char *text, unsigned flags, const char *where,
    const char *what, const char *name)
{
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;

	err = load(text, flags, &cfg, &d);
	if (!ok(err == HOOP_ERR_CONFIG && cfg == NULL && said(&d, where, what),
	    "%s", name)) {
		printf("#   want \"%s ... %s\", err %d\n", where, what, err);
		show(&d);
	}
	hoop_config_free(cfg);
}

static void
fails(const char *text, const char *where, const char *what, const char *name)
{
	fails_with(text, HOOP_CONFIG_NO_FS_CHECKS, where, what, name);
}

static void
loads_with(const char *text, unsigned flags, const char *name)
{
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;

	err = load(text, flags, &cfg, &d);
	if (!ok(err == HOOP_OK && cfg != NULL && d.count == 0, "%s", name))
		show(&d);
	hoop_config_free(cfg);
}

static void
loads(const char *text, const char *name)
{
	loads_with(text, HOOP_CONFIG_NO_FS_CHECKS, name);
}

/* Five lines that load; tests add theirs from line 6 on. */
#define BASE \
	"issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n" \
	"identity \"ci\" { issuer = \"gh\" claim \"sub\" { equals = {\"x\"} } login = \"deploy\" }\n" \
	"target \"db\" { type = \"postgres\" host = \"db\" user = \"u\" }\n" \
	"policy \"p\" { identities = {\"ci\"} targets = {\"db\"}\n" \
	"  rule \"r\" { action = \"allow\" commands = {\"psql\"} } }\n"

static const char complete[] =
    "store = \"/srv/hoop/state.db\"\n"
    "recordings = \"/srv/hoop/rec\"\n"
    "clock_skew = \"2m\"\n"
    "uid_min = 70000\n"
    "uid_max = 70999\n"
    "issuer \"gh\" {\n"
    "  url = \"https://token.actions.githubusercontent.com\"\n"
    "  audience = {\"hoop\", \"https://bastion\"}\n"
    "  max_token_age = \"10m\"\n"
    "  ca_file = \"/etc/hoop/gh-ca.pem\"\n"
    "  single_use_jti = true\n"
    "}\n"
    "issuer \"sso\" {\n"
    "  url = \"http://127.0.0.1:8080/realm\"\n"
    "  jwks_file = \"/etc/hoop/sso.jwks\"\n"
    "  audience = {\"hoop\"}\n"
    "  algorithms = {\"ES256\", \"EdDSA\"}\n"
    "  clock_skew = \"30s\"\n"
    "  jwks_cache = \"5m\"\n"
    "}\n"
    "identity \"deploy\" {\n"
    "  issuer = \"gh\"\n"
    "  claim \"repository\" { equals = {\"acme/shop\", \"acme/api\"} }\n"
    "  claim \"sub\" { matches = 'repo:acme/[a-z]+:ref:refs/heads/main' }\n"
    "  login = \"deploy\"\n"
    "  groups = {\"deployers\", \"ci\"}\n"
    "  max_session = \"1h\"\n"
    "  idle_timeout = \"0s\"\n"
    "  home = false\n"
    "}\n"
    "identity \"staff\" {\n"
    "  issuer = \"sso\"\n"
    "  claim \"email_verified\" { equals = {\"true\"} }\n"
    "  login_template = \"sso-${preferred_username}\"\n"
    "  groups_claim = \"groups\"\n"
    "  disabled = yes\n"
    "}\n"
    "target \"pg\" {\n"
    "  type = \"postgres\"\n"
    "  host = \"/var/run/postgresql\"\n"
    "  database = \"shop\"\n"
    "  user = \"hoop\"\n"
    "  secret_file = \"/etc/hoop/secrets/pg\"\n"
    "}\n"
    "target \"k8s\" {\n"
    "  type = \"kubernetes\"\n"
    "  server = \"https://k8s.example:6443\"\n"
    "  ca_file = \"/etc/hoop/k8s-ca.pem\"\n"
    "  tls = \"require\"\n"
    "}\n"
    "target \"box\" { type = \"ssh\" host = \"10.0.0.7\" user = \"ops\" }\n"
    "policy \"main\" {\n"
    "  identities = {\"deploy\"}\n"
    "  groups = {\"dba\"}\n"
    "  targets = {\"pg\", \"k8s\"}\n"
    "  rule \"tools\" { action = \"allow\" commands = {\"psql\", \"kubectl\"} }\n"
    "  rule \"reads\" {\n"
    "    action = \"allow\"\n"
    "    statements = {\"read\", \"write\"}\n"
    "    functions = {\"PG_READ_FILE\", \"pg_catalog.now\"}\n"
    "  }\n"
    "  rule \"writes\" {\n"
    "    action = \"approve\"\n"
    "    reason = \"four eyes\"\n"
    "    statements = {\"ddl\"}\n"
    "    approvers = {\"dba\", \"security\"}\n"
    "    approvals_required = 2\n"
    "    approval_mode = \"all\"\n"
    "    approval_covers = \"grant\"\n"
    "    approval_grant = \"30m\"\n"
    "  }\n"
    "  rule \"kube\" {\n"
    "    action = \"deny\"\n"
    "    verbs = {\"*\"}\n"
    "    api_groups = {\"\"}\n"
    "    resources = {\"secrets\", \"pods/exec\"}\n"
    "    namespaces = {\"kube-system\"}\n"
    "  }\n"
    "  mask \"cards\" { columns = {\"Billing.Cards.Number\"} strategy = \"partial\" }\n"
    "  mask \"mails\" { pattern = '[a-z]+@[a-z.]+' strategy = \"hash\" }\n"
    "}\n"
    "policy \"other\" {\n"
    "  identities = {\"staff\"}\n"
    "  targets = {\"box\"}\n"
    "  rule \"tools\" { action = \"allow\" commands = {\"*\"} }\n"
    "}\n";

static int
regex_matches(const struct pcre2_real_code_8 *re, const char *subject)
{
	pcre2_match_data *md;
	int rc;

	if (re == NULL)
		return 0;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md,
	    NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static void
test_complete(void)
{
	const struct hoop_issuer *gh, *sso;
	const struct hoop_identity *deploy, *staff;
	const struct hoop_target *pg, *k8s, *box;
	const struct hoop_policy *p;
	const struct hoop_rule *r;
	const struct hoop_mask *m;
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;

	err = load(complete, HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d);
	if (!ok(err == HOOP_OK && cfg != NULL, "complete config loads")) {
		show(&d);
		return;
	}
	ok(strcmp(hoop_config_store_path(cfg), "/srv/hoop/state.db") == 0,
	    "store");
	ok(strcmp(hoop_config_recordings_dir(cfg), "/srv/hoop/rec") == 0,
	    "recordings");
	is_int(hoop_config_clock_skew(cfg), 120, "global clock_skew");
	is_int(hoop_config_uid_min(cfg), 70000, "uid_min");
	is_int(hoop_config_uid_max(cfg), 70999, "uid_max");

	is_int(hoop_config_issuer_count(cfg), 2, "two issuers");
	gh = hoop_config_issuer(cfg, "gh");
	sso = hoop_config_issuer(cfg, "sso");
	ok(gh != NULL && gh == hoop_config_issuer_at(cfg, 0) &&
	    sso == hoop_config_issuer_at(cfg, 1), "issuers by name and index");
	ok(hoop_config_issuer_at(cfg, 2) == NULL &&
	    hoop_config_issuer(cfg, "nope") == NULL, "no such issuer");
	ok(strcmp(gh->url, "https://token.actions.githubusercontent.com") == 0 &&
	    gh->jwks_file == NULL, "issuer url");
	ok(strcmp(gh->ca_file, "/etc/hoop/gh-ca.pem") == 0 &&
	    sso->ca_file == NULL, "issuer ca_file");
	ok(gh->n_audiences == 2 && strcmp(gh->audiences[1],
	    "https://bastion") == 0, "audiences");
	ok(gh->n_algorithms == 1 && strcmp(gh->algorithms[0], "RS256") == 0,
	    "algorithms default to RS256");
	is_int(gh->clock_skew, 120, "issuer inherits clock_skew");
	is_int(gh->max_token_age, 600, "max_token_age");
	is_int(gh->jwks_cache, 3600, "jwks_cache default");
	ok(gh->single_use_jti, "single_use_jti");
	ok(sso->n_algorithms == 2 && strcmp(sso->algorithms[1], "EdDSA") == 0,
	    "algorithms given");
	ok(strcmp(sso->jwks_file, "/etc/hoop/sso.jwks") == 0 &&
	    strncmp(sso->url, "http://", 7) == 0, "http url with jwks_file");
	is_int(sso->clock_skew, 30, "clock_skew override");
	is_int(sso->max_token_age, 0, "max_token_age unset");
	is_int(sso->jwks_cache, 300, "jwks_cache");
	ok(!sso->single_use_jti, "single_use_jti default");

	is_int(hoop_config_identity_count(cfg), 2, "two identities");
	deploy = hoop_config_identity(cfg, "deploy");
	staff = hoop_config_identity_at(cfg, 1);
	ok(deploy != NULL && deploy->issuer == gh && staff != NULL &&
	    staff->issuer == sso, "identities point to their issuer");
	ok(deploy->n_claims == 2 &&
	    strcmp(deploy->claims[0].claim, "repository") == 0 &&
	    deploy->claims[0].n_equals == 2 &&
	    strcmp(deploy->claims[0].equals[1], "acme/api") == 0 &&
	    deploy->claims[0].regex == NULL, "claim equals");
	ok(deploy->claims[1].regex != NULL && strcmp(deploy->claims[1].pattern,
	    "repo:acme/[a-z]+:ref:refs/heads/main") == 0, "claim matches");
	ok(regex_matches(deploy->claims[1].regex,
	    "repo:acme/shop:ref:refs/heads/main"), "claim pattern matches");
	ok(!regex_matches(deploy->claims[1].regex,
	    "repo:evil/x:repo:acme/shop:ref:refs/heads/main") &&
	    !regex_matches(deploy->claims[1].regex,
	    "repo:acme/shop:ref:refs/heads/main2"),
	    "claim pattern is anchored at both ends");
	ok(strcmp(deploy->login, "deploy") == 0 &&
	    deploy->login_template == NULL, "login");
	ok(deploy->n_groups == 2 && strcmp(deploy->groups[0], "deployers") == 0,
	    "groups");
	is_int(deploy->max_session, 3600, "max_session");
	is_int(deploy->idle_timeout, 0, "idle_timeout 0s");
	ok(!deploy->home && !deploy->disabled, "home, disabled");
	ok(staff->login == NULL && strcmp(staff->login_template,
	    "sso-${preferred_username}") == 0, "login_template kept literally");
	ok(strcmp(staff->groups_claim, "groups") == 0 && staff->n_groups == 0,
	    "groups_claim");
	is_int(staff->max_session, 8 * 3600, "max_session default");
	is_int(staff->idle_timeout, 1800, "idle_timeout default");
	ok(staff->home && staff->disabled, "home default, disabled = yes");

	is_int(hoop_config_target_count(cfg), 3, "three targets");
	pg = hoop_config_target(cfg, "pg");
	k8s = hoop_config_target(cfg, "k8s");
	box = hoop_config_target(cfg, "box");
	ok(pg != NULL && pg->type == HOOP_TARGET_POSTGRES &&
	    strcmp(pg->host, "/var/run/postgresql") == 0 && pg->port == 5432 &&
	    strcmp(pg->database, "shop") == 0 && strcmp(pg->user, "hoop") == 0 &&
	    pg->tls == HOOP_TLS_VERIFY_FULL &&
	    strcmp(pg->secret_file, "/etc/hoop/secrets/pg") == 0,
	    "postgres target");
	ok(k8s != NULL && k8s->type == HOOP_TARGET_KUBERNETES &&
	    strcmp(k8s->server, "https://k8s.example:6443") == 0 &&
	    k8s->port == 0 && k8s->tls == HOOP_TLS_REQUIRE &&
	    strcmp(k8s->ca_file, "/etc/hoop/k8s-ca.pem") == 0,
	    "kubernetes target");
	ok(box != NULL && box->type == HOOP_TARGET_SSH && box->port == 22 &&
	    strcmp(box->user, "ops") == 0 && box->secret_file == NULL,
	    "ssh target");
	ok(strcmp(hoop_target_type_name(box->type), "ssh") == 0,
	    "target type name");

	is_int(hoop_config_policy_count(cfg), 2, "two policies");
	p = hoop_config_policy(cfg, "main");
	ok(p != NULL && p == hoop_config_policy_at(cfg, 0) &&
	    hoop_config_policy_at(cfg, 2) == NULL, "policy lookup");
	ok(p->n_identities == 1 && p->identities[0] == deploy &&
	    p->n_groups == 1 && strcmp(p->groups[0], "dba") == 0 &&
	    p->n_targets == 2 && p->targets[0] == pg && p->targets[1] == k8s,
	    "policy references resolved");
	is_int(p->n_rules, 4, "four rules");
	r = &p->rules[0];
	ok(strcmp(r->name, "tools") == 0 && r->kind == HOOP_RULE_SHELL &&
	    r->action == HOOP_ACTION_ALLOW && r->match.shell.n_commands == 2 &&
	    strcmp(r->match.shell.commands[1], "kubectl") == 0, "shell rule");
	r = &p->rules[1];
	ok(r->kind == HOOP_RULE_SQL && r->match.sql.statements ==
	    (HOOP_SQL_READ | HOOP_SQL_WRITE) && r->match.sql.n_functions == 2 &&
	    strcmp(r->match.sql.functions[0], "pg_read_file") == 0 &&
	    strcmp(r->match.sql.functions[1], "pg_catalog.now") == 0,
	    "sql rule, function names in lower case");
	ok(r->n_approvers == 0 && r->approvals_required == 1 &&
	    r->approval_mode == HOOP_APPROVAL_ANY &&
	    r->approval_covers == HOOP_APPROVAL_ONCE &&
	    r->approval_grant == 3600 && r->approval_timeout == 900,
	    "approval defaults");
	r = &p->rules[2];
	ok(r->action == HOOP_ACTION_APPROVE && r->kind == HOOP_RULE_SQL &&
	    r->match.sql.statements == HOOP_SQL_DDL &&
	    strcmp(r->reason, "four eyes") == 0 && r->n_approvers == 2 &&
	    strcmp(r->approvers[1], "security") == 0 &&
	    r->approvals_required == 2 && r->approval_mode == HOOP_APPROVAL_ALL &&
	    r->approval_covers == HOOP_APPROVAL_GRANT &&
	    r->approval_grant == 1800 && r->approval_timeout == 900,
	    "approve rule");
	ok(strcmp(hoop_rule_action_name(r->action), "approve") == 0,
	    "action name");
	r = &p->rules[3];
	ok(r->kind == HOOP_RULE_KUBE && r->action == HOOP_ACTION_DENY &&
	    r->match.kube.verbs == HOOP_KUBE_ALL_VERBS &&
	    r->match.kube.n_api_groups == 1 &&
	    r->match.kube.api_groups[0][0] == '\0' &&
	    r->match.kube.n_resources == 2 &&
	    strcmp(r->match.kube.resources[1], "pods/exec") == 0 &&
	    r->match.kube.n_namespaces == 1 && r->match.kube.n_names == 0,
	    "kube rule");
	ok(strcmp(hoop_rule_kind_name(r->kind), "kube") == 0, "kind name");
	is_int(p->n_masks, 2, "two masks");
	m = &p->masks[0];
	ok(strcmp(m->name, "cards") == 0 && m->n_columns == 1 &&
	    strcmp(m->columns[0], "billing.cards.number") == 0 &&
	    m->strategy == HOOP_MASK_PARTIAL && m->keep == 4 &&
	    m->regex == NULL, "column mask");
	m = &p->masks[1];
	ok(m->strategy == HOOP_MASK_HASH && m->n_columns == 0 &&
	    regex_matches(m->regex, "mail: bob@example.com"),
	    "pattern mask, unanchored");
	p = hoop_config_policy(cfg, "other");
	ok(p != NULL && p->n_identities == 1 && p->identities[0] == staff &&
	    p->targets[0] == box && p->n_masks == 0, "second policy");
	hoop_config_free(cfg);
}

static void
test_defaults(void)
{
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;

	err = load("", 0, &cfg, &d);
	if (!ok(err == HOOP_OK && cfg != NULL && d.count == 0,
	    "empty buffer is a valid config"))
		return;
	ok(strcmp(hoop_config_store_path(cfg), "/var/lib/hoop/hoop.db") == 0 &&
	    strcmp(hoop_config_recordings_dir(cfg), "/var/lib/hoop/recordings") ==
	    0, "default paths");
	is_int(hoop_config_clock_skew(cfg), 60, "default clock_skew");
	ok(hoop_config_uid_min(cfg) == 60000 && hoop_config_uid_max(cfg) ==
	    60999, "default uid range");
	ok(hoop_config_issuer_count(cfg) == 0 &&
	    hoop_config_identity_count(cfg) == 0 &&
	    hoop_config_target_count(cfg) == 0 &&
	    hoop_config_policy_count(cfg) == 0, "no sections");
	hoop_config_free(cfg);
	ok(strcmp(hoop_config_default_path(), "/etc/hoop/hoop.conf") == 0,
	    "default path");
	loads(BASE, "the base of the tests loads");
	loads("# only a comment\n/* and another */\n", "comments only");
}

static void
test_syntax(void)
{
	fails(BASE "store = \"/x\"\n= \"y\"\n", "t.conf:7:", "unexpected token",
	    "syntax error");
	fails(BASE "issuer \"x\" {\n  url \"https://a\"\n}\n", "t.conf:7:",
	    "missing equal sign", "syntax error in a section");
	fails(BASE "colour = \"blue\"\n", "t.conf:6:", "no such option 'colour'",
	    "unknown top-level option");
	fails(BASE "issuer \"x\" {\n  url = \"https://a\"\n  urll = \"b\"\n}\n",
	    "t.conf:8:", "no such option 'urll' (in issuer \"x\")",
	    "unknown option in a section");
	fails(BASE "issuer \"x\" {\n  \"line|\" = \"1\"\n}\n", "t.conf:7:",
	    "line", "the hidden line option cannot be set");
	fails(BASE "\"issuer=gh|url\" = \"https://elsewhere\"\n", "t.conf:6:",
	    "set outside its section", "option set through a path");
	fails(BASE "\"policy=p|rule\" \"extra\" {\n  action = \"allow\"\n"
	    "  commands = {\"sh\"}\n}\n", "t.conf:6:",
	    "policy \"p\" rule \"extra\": written outside its policy",
	    "section added through a path");
	fails(BASE "policy \"q\" {\n  \"x\" = \"1\"\n", "t.conf:6:",
	    "'{' is never closed", "unclosed section");
	fails(BASE "\n\nstore = \"/x\n", "t.conf:8:", "unterminated string",
	    "unterminated double-quoted string");
	fails(BASE "store = '/x\n", "t.conf:6:", "unterminated string",
	    "unterminated single-quoted string");
	fails(BASE "/* open\n\n", "t.conf:6:", "unterminated comment",
	    "unterminated comment");
	fails("store = \"/a\"\n}\n", "t.conf:2:", "unexpected closing brace",
	    "stray closing brace");
	fails(BASE "store = \"/x\\0y\"\n", "t.conf:6:", "NUL byte",
	    "\\0 escape");
	fails(BASE "store = \"/x\\x00\"\n", "t.conf:6:", "NUL byte",
	    "\\x00 escape");
	fails(BASE "uid_min = 0x1000\n", "t.conf:6:", "not an integer",
	    "hexadecimal integer");
}

static void
test_values(void)
{
	fails(BASE "target \"t2\" {\n  type = \"postgres\"\n  port = \"abc\"\n}\n",
	    "t.conf:8:", "port: \"abc\" is not an integer", "wrong type: port");
	fails(BASE "target \"t2\" {\n  type = \"ssh\" host = \"h\"\n"
	    "  port = 70000\n}\n", "t.conf:8:", "out of range",
	    "port out of range");
	fails(BASE "identity \"x\" {\n  home = maybe\n}\n", "t.conf:7:",
	    "not a boolean", "wrong type: boolean");
	fails(BASE "clock_skew = \"10x\"\n", "t.conf:6:", "invalid duration",
	    "bad duration 10x");
	fails(BASE "clock_skew = \"\"\n", "t.conf:6:", "invalid duration",
	    "bad duration: empty");
	fails(BASE "clock_skew = \"1h1\"\n", "t.conf:6:", "invalid duration",
	    "bad duration 1h1");
	fails(BASE "clock_skew = \"99999999999999999999s\"\n", "t.conf:6:",
	    "invalid duration", "bad duration: overflow");
	fails(BASE "clock_skew = \"-5s\"\n", "t.conf:6:", "invalid duration",
	    "bad duration: negative");
	fails(BASE "identity \"x\" {\n\n  max_session = \"0s\"\n}\n", "t.conf:8:",
	    "longer than 0s", "zero max_session");
	fails(BASE "issuer \"x\" {\n  algorithms = {\"RS256\", \"none\"}\n}\n",
	    "t.conf:7:", "algorithm \"none\" is not allowed", "algorithm none");
	fails(BASE "issuer \"x\" {\n  algorithms = {\n\"HS256\"}\n}\n",
	    "t.conf:8:", "algorithm \"HS256\" is not allowed",
	    "algorithm HS256");
	fails(BASE "issuer \"x\" {\n  url = \"ftp://a\"\n}\n", "t.conf:7:",
	    "must start with https://", "issuer url scheme");
	fails(BASE "issuer \"x\" {\n  url = \"http://a\"\n  audience = {\"a\"}\n}\n",
	    "t.conf:6:", "url must start with https://",
	    "http url without jwks_file");
	fails(BASE "issuer \"x\" {\n  url = \"https://a\" audience = {\"a\"}\n"
	    "  jwks_file = \"/k\" ca_file = \"/c\"\n}\n", "t.conf:6:",
	    "ca_file is for fetching keys", "issuer ca_file with jwks_file");
	fails(BASE "issuer \"x\" {\n  url = \"https://a/?x=1\"\n}\n",
	    "t.conf:7:", "no query or fragment", "issuer url with a query");
	fails(BASE "identity \"x\" {\n  login = \"Admin\"\n}\n", "t.conf:7:",
	    "invalid user name \"Admin\"", "bad login name");
	fails(BASE "identity \"x\" {\n  login = \"9lives\"\n}\n", "t.conf:7:",
	    "invalid user name", "login starting with a digit");
	fails(BASE "identity \"x\" {\n  login = \"root\"\n}\n", "t.conf:7:",
	    "never log in as root", "login root");
	fails(BASE "identity \"x\" {\n  login_template = \"gh-${run_id\"\n}\n",
	    "t.conf:7:", "malformed template", "template: unterminated ${");
	fails(BASE "identity \"x\" {\n  login_template = \"gh-$run_id\"\n}\n",
	    "t.conf:7:", "malformed template", "template: $ without {");
	fails(BASE "identity \"x\" {\n  login_template = \"gh-${}\"\n}\n",
	    "t.conf:7:", "malformed template", "template: empty claim");
	fails(BASE "identity \"x\" {\n  login_template = \"gh-${a.b}\"\n}\n",
	    "t.conf:7:", "malformed template", "template: bad claim name");
	fails(BASE "identity \"x\" {\n  login_template = \"GH-${a}\"\n}\n",
	    "t.conf:7:", "malformed template", "template: upper case");
	fails(BASE "identity \"x\" {\n  login_template = \"-${a}\"\n}\n",
	    "t.conf:7:", "malformed template", "template: starts with -");
	fails(BASE "identity \"x\" {\n  login_template = \"deploy\"\n}\n",
	    "t.conf:7:", "has no ${claim}", "template without a claim");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"y\"} }\n"
	    "  login_template = \"x-${a}-${b}\"\n}\n", "t.conf:9:",
	    "one only", "template with two claims");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"y\"} }\n"
	    "  login = \"deploy\"\n}\n", "t.conf:6:",
	    "can both log in as the same name", "one fixed login, two identities");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"y\"} }\n"
	    "  login_template = \"dep${a}\"\n}\n", "t.conf:6:",
	    "can both log in as the same name", "a template that can make a fixed login");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"y\"} }\n"
	    "  login_template = \"gh-${a}\"\n}\n"
	    "identity \"z\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"w\"} }\n"
	    "  login_template = \"gh-${b}-ci\"\n}\n", "t.conf:11:",
	    "can both log in as the same name", "two templates whose names meet");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"y\"} }\n"
	    "  login_template = \"${a}-ci\"\n}\n"
	    "identity \"z\" {\n  issuer = \"gh\"\n  claim \"sub\" { equals = {\"w\"} }\n"
	    "  login_template = \"run-${b}\"\n}\n", "t.conf:11:",
	    "can both log in as the same name", "a tail and a head that meet");
	fails(BASE "identity \"x\" {\n  groups = {\"ok\", \"Not Ok\"}\n}\n",
	    "t.conf:7:", "invalid group name", "bad group name");
	fails(BASE "identity \"x\" {\n  claim \"sub\" {\n"
	    "    matches = '(unclosed'\n  }\n}\n", "t.conf:8:",
	    "invalid regular expression \"(unclosed\": missing closing "
	    "parenthesis at offset 9", "invalid claim regex");
	fails(BASE "policy \"q\" {\n  mask \"m\" { pattern = '[a-' }\n}\n",
	    "t.conf:7:", "invalid regular expression", "invalid mask regex");
	fails(BASE "target \"t\" {\n  type = \"oracle\"\n}\n", "t.conf:7:",
	    "invalid value \"oracle\" (expected one of: postgres, kubernetes, "
	    "ssh)", "bad target type");
	fails(BASE "target \"t\" {\n  tls = \"maybe\"\n}\n", "t.conf:7:",
	    "invalid value \"maybe\"", "bad tls mode");
	fails(BASE "policy \"q\" {\n  rule \"r\" {\n    action = \"permit\"\n"
	    "  }\n}\n", "t.conf:8:", "invalid value \"permit\"", "bad action");
	fails(BASE "policy \"q\" {\n  mask \"m\" {\n    strategy = \"scramble\"\n"
	    "  }\n}\n", "t.conf:8:", "invalid value \"scramble\"",
	    "bad strategy");
	fails(BASE "policy \"q\" {\n  rule \"r\" { statements = {\"select\"} }\n"
	    "}\n", "t.conf:7:", "invalid value \"select\"", "bad statement class");
	fails(BASE "policy \"q\" {\n  rule \"r\" { verbs = {\"exec\"} }\n}\n",
	    "t.conf:7:", "invalid value \"exec\"", "bad kube verb");
	fails(BASE "policy \"q\" {\n  rule \"r\" { resources = {\"pods/\"} }\n}\n",
	    "t.conf:7:", "invalid resource", "bad kube resource");
	fails(BASE "policy \"q\" {\n  rule \"r\" { commands = {\"/bin/sh\"} }\n"
	    "}\n", "t.conf:7:", "invalid command name", "command with a path");
	fails(BASE "policy \"q\" {\n  mask \"m\" { columns = {\"card\"} }\n}\n",
	    "t.conf:7:", "invalid column", "column without a table");
	fails(BASE "store = \"relative/path\"\n", "t.conf:6:",
	    "not an absolute path", "relative store path");
	fails(BASE "uid_min = 500\n", "t.conf:6:", "out of range",
	    "uid_min below 1000");
	fails(BASE "\nuid_min = 5000\nuid_max = 4000\n", "t.conf:8:",
	    "must be below uid_max", "uid_min above uid_max");
	fails(BASE "target \"bad name\" { type = \"ssh\" host = \"h\" }\n",
	    "t.conf:6:", "invalid name", "bad section name");
}

static void
test_structure(void)
{
	fails(BASE "issuer \"gh\" {\n  url = \"https://b\"\n}\n", "t.conf:6:",
	    "duplicate title 'gh'", "duplicate issuer");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"a\" { action = \"allow\" commands = {\"ls\"} }\n"
	    "  rule \"a\" { action = \"deny\" commands = {\"rm\"} }\n}\n",
	    "t.conf:8:", "duplicate title 'a' (in policy \"q\")",
	    "duplicate rule in a policy");
	loads(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" { action = \"deny\" commands = {\"rm\"} } }\n",
	    "same rule name in two policies");
	fails(BASE "identity \"x\" {\n  claim \"a\" { equals = {\"1\"} }\n"
	    "  claim \"a\" { equals = {\"2\"} }\n}\n", "t.conf:8:",
	    "duplicate title 'a'", "duplicate claim");
	fails(BASE "identity \"x\" {\n  issuer = \"nope\"\n"
	    "  claim \"sub\" { equals = {\"1\"} }\n  login = \"x\"\n}\n",
	    "t.conf:6:", "identity \"x\": issuer \"nope\" is not declared",
	    "dangling identity issuer");
	fails(BASE "policy \"q\" {\n  identities = {\"ci\", \"ghost\"}\n"
	    "  targets = {\"db\"}\n}\n", "t.conf:6:",
	    "policy \"q\": identity \"ghost\" is not declared",
	    "dangling policy identity");
	fails(BASE "policy \"q\" {\n  identities = {\"ci\"}\n"
	    "  targets = {\"nowhere\"}\n}\n", "t.conf:6:",
	    "policy \"q\": target \"nowhere\" is not declared",
	    "dangling policy target");
	fails(BASE "issuer \"x\" {\n  audience = {\"a\"}\n}\n", "t.conf:6:",
	    "missing required option 'url'", "issuer without url");
	fails(BASE "issuer \"x\" {\n  url = \"https://a\"\n}\n", "t.conf:6:",
	    "missing required option 'audience'", "issuer without audience");
	fails(BASE "issuer \"x\" {\n  url = \"https://a\"\n  audience = {}\n}\n",
	    "t.conf:6:", "missing required option 'audience'",
	    "issuer with an empty audience");
	fails(BASE "issuer \"x\" {\n  url = \"https://a\" audience = {\"a\"}\n"
	    "  algorithms = {}\n}\n", "t.conf:6:", "algorithms must not be empty",
	    "empty algorithms");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n"
	    "  claim \"sub\" { equals = {\"1\"} }\n  login = \"a\"\n"
	    "  login_template = \"b-${c}\"\n}\n", "t.conf:6:",
	    "has both login and login_template", "both login and template");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n"
	    "  claim \"sub\" { equals = {\"1\"} }\n}\n", "t.conf:6:",
	    "needs login or login_template", "neither login nor template");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\"\n  login = \"a\"\n}\n",
	    "t.conf:6:", "no claim rules", "identity without claims");
	fails(BASE "identity \"x\" {\n  login = \"a\"\n"
	    "  claim \"sub\" { equals = {\"1\"} }\n}\n", "t.conf:6:",
	    "missing required option 'issuer'", "identity without issuer");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\" login = \"a\"\n"
	    "  claim \"sub\" {\n    equals = {\"1\"}\n    matches = 'x'\n  }\n}\n",
	    "t.conf:8:", "has both equals and matches", "claim with both");
	fails(BASE "identity \"x\" {\n  issuer = \"gh\" login = \"a\"\n"
	    "  claim \"sub\" {\n  }\n}\n", "t.conf:8:", "needs equals or matches",
	    "claim with neither");
	fails(BASE "target \"t\" {\n  host = \"h\"\n}\n", "t.conf:6:",
	    "missing required option 'type'", "target without type");
	fails(BASE "target \"t\" {\n  type = \"postgres\"\n  host = \"h\"\n}\n",
	    "t.conf:6:", "a postgres target needs user", "postgres without user");
	fails(BASE "target \"t\" {\n  type = \"postgres\"\n  user = \"u\"\n}\n",
	    "t.conf:6:", "a postgres target needs host", "postgres without host");
	fails(BASE "target \"t\" {\n  type = \"kubernetes\"\n}\n", "t.conf:6:",
	    "a kubernetes target needs server", "kubernetes without server");
	fails(BASE "target \"t\" {\n  type = \"kubernetes\"\n"
	    "  server = \"http://k\"\n}\n", "t.conf:8:", "must start with https://",
	    "kubernetes server over http");
	fails(BASE "target \"t\" {\n  type = \"kubernetes\"\n"
	    "  server = \"https://k\" database = \"x\"\n}\n", "t.conf:6:",
	    "do not apply to a kubernetes target", "option for another type");
	fails(BASE "target \"t\" {\n  type = \"ssh\"\n}\n", "t.conf:6:",
	    "an ssh target needs host", "ssh without host");
	fails(BASE "policy \"q\" {\n  identities = {\"ci\"}\n}\n", "t.conf:6:",
	    "needs targets", "policy without targets");
	fails(BASE "policy \"q\" {\n  targets = {\"db\"}\n}\n", "t.conf:6:",
	    "needs identities or groups", "policy without identities or groups");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" {\n    action = \"allow\"\n  }\n}\n", "t.conf:7:",
	    "policy \"q\" rule \"r\": no matcher", "rule without a matcher");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" {\n    action = \"allow\"\n    commands = {\"psql\"}\n"
	    "    verbs = {\"get\"}\n  }\n}\n", "t.conf:7:",
	    "mixes matchers of several kinds (shell, kube)",
	    "rule mixing two kinds");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" { commands = {\"psql\"} }\n}\n", "t.conf:7:",
	    "missing required option 'action'", "rule without action");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" { action = \"allow\" commands = {} }\n}\n", "t.conf:7:",
	    "commands must not be empty", "empty commands");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" { action = \"allow\" resources = {\"pods\"} }\n}\n",
	    "t.conf:7:", "a kube rule needs verbs", "kube rule without verbs");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" {\n    action = \"approve\"\n"
	    "    statements = {\"write\"}\n  }\n}\n", "t.conf:7:",
	    "action approve needs approvers", "approve without approvers");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" { action = \"deny\" statements = {\"write\"}\n"
	    "    approvers = {\"dba\"} }\n}\n", "t.conf:7:",
	    "approvers only applies with action = approve",
	    "approvers on a deny rule");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  rule \"r\" { action = \"approve\" statements = {\"write\"}\n"
	    "    approvers = {\"dba\"} approval_grant = \"2h\" }\n}\n",
	    "t.conf:7:", "approval_grant only applies with approval_covers",
	    "approval_grant without grant");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask \"m\" { strategy = \"hash\" }\n}\n", "t.conf:7:",
	    "needs columns or pattern", "mask without columns or pattern");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask \"m\" { columns = {\"t.c\"} keep = 2 }\n}\n", "t.conf:7:",
	    "keep only applies to strategy = partial", "keep with redact");
}

/* Several independent problems: each one reported, once. */
static void
test_all_reported(void)
{
	static const char text[] =
	    "clock_skew = \"10x\"\n"
	    "issuer \"a\" { url = \"https://a\" audience = {\"x\"}\n"
	    "  algorithms = {\"none\"} }\n"
	    "target \"t\" { type = \"postgres\" host = \"h\" }\n"
	    "identity \"i\" { issuer = \"zz\" claim \"sub\" { equals = {\"1\"} }\n"
	    "  login = \"x\" }\n"
	    "policy \"p\" { identities = {\"i\"} targets = {\"t\"}\n"
	    "  rule \"r\" { action = \"allow\" }\n"
	    "}\n";
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;

	err = load(text, HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d);
	ok(err == HOOP_ERR_CONFIG && cfg == NULL, "five problems: refused");
	is_int(d.count, 5, "five problems: five messages");
	if (d.count != 5)
		show(&d);
	ok(said(&d, "t.conf:1:", "invalid duration") &&
	    said(&d, "t.conf:3:", "\"none\" is not allowed") &&
	    said(&d, "t.conf:4:", "needs user") &&
	    said(&d, "t.conf:5:", "\"zz\" is not declared") &&
	    said(&d, "t.conf:8:", "no matcher"), "five problems: each at its line");
}

/* What libconfuse's scanner would do behind the file's back. */
static void
test_scanner_traps(void)
{
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;
	const struct hoop_identity *id;
	char nul[] = BASE "store = \"/x\"\n\0\n";

	setenv("run_id", "evil", 1);
	err = load(BASE
	    "identity \"x\" { issuer = \"gh\" claim \"sub\" { equals = {\"1\"} }\n"
	    "  login_template = \"gh-${run_id}\" }\n",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d);
	id = err == HOOP_OK ? hoop_config_identity(cfg, "x") : NULL;
	ok(id != NULL && strcmp(id->login_template, "gh-${run_id}") == 0,
	    "${...} in double quotes is literal, not the environment");
	hoop_config_free(cfg);
	unsetenv("run_id");

	fails(BASE "store = ${HOME}\n", "t.conf:6:", "outside quotes",
	    "${...} outside quotes is refused");
	loads(BASE "issuer \"x\" {\n  url = \"https://a\"  # the url\n"
	    "  audience = {\"a\", # first\n    \"b\" // second\n  }\n}\n",
	    "comments inside a list");
	fails(BASE "/* one\n   two\n   three */ /* four */\n/* five */\n"
	    "colour = 1\n", "t.conf:10:", "no such option",
	    "C comments keep line numbers right");
	loads(BASE "store = \"/a//b\"\nrecordings = /srv//rec\n",
	    "// inside values is not a comment");

	memset(&d, 0, sizeof(d));
	err = hoop_config_load_buf(nul, sizeof(nul) - 1, "t.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, collect, &d);
	ok(err == HOOP_ERR_CONFIG && cfg == NULL &&
	    said(&d, "t.conf:7:", "NUL byte"), "NUL byte in the file");

	/* Not NUL-terminated: the buffer ends where len says. */
	memset(&d, 0, sizeof(d));
	err = hoop_config_load_buf("store = \"/x\"\nstore = \"/y\"", 12,
	    "t.conf", 0, &cfg, collect, &d);
	ok(err == HOOP_OK && cfg != NULL &&
	    strcmp(hoop_config_store_path(cfg), "/x") == 0,
	    "buffer read up to len only");
	hoop_config_free(cfg);
}

static char tmpdir[] = "/tmp/hoop-test-config.XXXXXX";

static void
write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL || fwrite(data, 1, len, f) != len ||
	    fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	chmod(path, mode);
}

static void
secret_test(const char *name, unsigned flags, const char *want,
    const char *test)
{
	char text[1024];

	snprintf(text, sizeof(text), BASE
	    "target \"t\" {\n  type = \"ssh\" host = \"h\"\n"
	    "  secret_file = \"%s/%s\"\n}\n", tmpdir, name);
	if (want == NULL)
		loads_with(text, flags, test);
	else
		fails_with(text, flags, "t.conf:8:", want, test);
}

static void
test_files(void)
{
	char path[256], link[256], text[1024], *big;
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;
	size_t len = HOOP_CONFIG_MAX_SIZE + 1;

	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	write_file("open", "pw\n", 3, 0644);
	write_file("private", "pw\n", 3, 0640);
	write_file("writable-key", "{}", 2, 0666);
	snprintf(path, sizeof(path), "%s/private", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	if (symlink(path, link) == -1 || mkdir(strcat(strcpy(path, tmpdir),
	    "/dir"), 0700) == -1) {
		printf("Bail out! cannot set up %s\n", tmpdir);
		exit(1);
	}

	secret_test("open", 0, "accessible by other users (mode 0644)",
	    "secret_file mode 0644 is refused");
	secret_test("private", 0, NULL, "secret_file mode 0640 loads");
	secret_test("missing", 0, "no such file", "secret_file missing");
	secret_test("link", 0, "symbolic link", "secret_file symlink");
	secret_test("dir", 0, "not a regular file", "secret_file directory");
	secret_test("missing", HOOP_CONFIG_NO_FS_CHECKS, NULL,
	    "HOOP_CONFIG_NO_FS_CHECKS skips the file checks");
	snprintf(text, sizeof(text), BASE
	    "issuer \"x\" {\n  url = \"http://127.0.0.1\" audience = {\"a\"}\n"
	    "  jwks_file = \"%s/writable-key\"\n}\n", tmpdir);
	fails_with(text, 0, "t.conf:8:", "writable by other users",
	    "world-writable jwks_file");

	/* Files: size limit, empty, missing, symlink. */
	if ((big = malloc(len)) == NULL)
		exit(1);
	memset(big, '#', len);
	big[len - 1] = '\n';
	write_file("big.conf", big, len, 0644);
	write_file("limit.conf", big + 1, len - 1, 0644);
	free(big);
	write_file("empty.conf", "", 0, 0644);

	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	memset(&d, 0, sizeof(d));
	err = hoop_config_load(path, 0, &cfg, collect, &d);
	ok(err == HOOP_ERR_CONFIG && cfg == NULL && d.count == 1 &&
	    strstr(d.msg[0], "larger than 1048576 bytes") != NULL &&
	    strncmp(d.msg[0], path, strlen(path)) == 0,
	    "file over 1 MiB is refused");
	snprintf(path, sizeof(path), "%s/limit.conf", tmpdir);
	err = hoop_config_load(path, 0, &cfg, collect, &d);
	ok(err == HOOP_OK && cfg != NULL, "file of exactly 1 MiB loads");
	hoop_config_free(cfg);
	memset(&d, 0, sizeof(d));
	err = hoop_config_load_buf("", HOOP_CONFIG_MAX_SIZE + 1, "t.conf", 0,
	    &cfg, collect, &d);
	ok(err == HOOP_ERR_CONFIG && said(&d, "t.conf:", "larger than"),
	    "buffer over 1 MiB is refused");

	snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
	memset(&d, 0, sizeof(d));
	err = hoop_config_load(path, 0, &cfg, collect, &d);
	ok(err == HOOP_OK && cfg != NULL && d.count == 0,
	    "empty file is a valid config");
	hoop_config_free(cfg);

	snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
	memset(&d, 0, sizeof(d));
	err = hoop_config_load(path, 0, &cfg, collect, &d);
	ok(err == HOOP_ERR_NOTFOUND && cfg == NULL && d.count == 1 &&
	    strstr(d.msg[0], "cannot read") != NULL, "missing file");

	snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
	snprintf(link, sizeof(link), "%s/link.conf", tmpdir);
	memset(&d, 0, sizeof(d));
	if (symlink(path, link) == -1)
		exit(1);
	err = hoop_config_load(link, 0, &cfg, collect, &d);
	ok(err == HOOP_ERR_CONFIG && cfg == NULL && d.count == 1 &&
	    strstr(d.msg[0], "symbolic link") != NULL,
	    "symlinked config is refused");

	/* Clean up. */
	{
		static const char *const names[] = {
			"open", "private", "writable-key", "link", "big.conf",
			"limit.conf", "empty.conf", "link.conf", NULL
		};
		int i;

		for (i = 0; names[i] != NULL; i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/dir", tmpdir);
		rmdir(path);
		ok(rmdir(tmpdir) == 0, "temporary files removed");
	}
}

/* The shipped example must stay valid. */
static void
test_example(void)
{
	const struct hoop_identity *id;
	const struct hoop_policy *p;
	hoop_config_t *cfg = NULL;
	struct diags d;
	hoop_err_t err;

	memset(&d, 0, sizeof(d));
	err = hoop_config_load("etc/hoop.conf", HOOP_CONFIG_NO_FS_CHECKS, &cfg,
	    collect, &d);
	if (!ok(err == HOOP_OK && cfg != NULL, "etc/hoop.conf loads")) {
		show(&d);
		return;
	}
	ok(hoop_config_issuer_count(cfg) == 3 &&
	    hoop_config_identity_count(cfg) == 4 &&
	    hoop_config_target_count(cfg) == 3 &&
	    hoop_config_policy_count(cfg) == 5, "etc/hoop.conf: sections");
	id = hoop_config_identity(cfg, "staff");
	ok(id != NULL && strcmp(id->login_template, "sso-${preferred_username}")
	    == 0 && strcmp(id->groups_claim, "groups") == 0,
	    "etc/hoop.conf: staff identity");
	id = hoop_config_identity(cfg, "github-deploy");
	ok(id != NULL && strcmp(id->login, "deploy") == 0 && id->n_claims == 4 &&
	    regex_matches(id->claims[3].regex, "example/webshop/.github/"
	    "workflows/deploy.yml@refs/heads/main") &&
	    !regex_matches(id->claims[3].regex, "example/webshop/x.github/"
	    "workflows/deploy.yml@refs/heads/main"),
	    "etc/hoop.conf: deploy identity, pattern in single quotes");
	p = hoop_config_policy(cfg, "staff-databases");
	ok(p != NULL && p->n_rules == 5 && p->n_masks == 2 &&
	    p->rules[2].action == HOOP_ACTION_APPROVE &&
	    p->rules[2].approval_grant == 1800, "etc/hoop.conf: staff policy");
	hoop_config_free(cfg);
}

/* hoop-shell's keys: recording per identity, and shell_path. */
static void
test_shell_keys(void)
{
	const struct hoop_identity *id;
	const char *const *dirs;
	hoop_config_t *cfg = NULL;
	struct diags d;
	size_t n;

	ok(load(BASE, HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d) == HOOP_OK,
	    "shell keys: defaults load");
	id = hoop_config_identity(cfg, "ci");
	ok(id != NULL && id->record_input == 1 &&
	    id->recording_max_size == 1ULL << 30 &&
	    id->recording_limit == HOOP_RECORDING_LIMIT_END,
	    "recording defaults: input recorded, 1G, end");
	dirs = hoop_config_shell_path(cfg, &n);
	ok(n == 4 && strcmp(dirs[0], HOOP_WRAPPERDIR) == 0 &&
	    strcmp(dirs[3], "/bin") == 0, "shell_path default: wrappers first");
	hoop_config_free(cfg);

	ok(load("shell_path = {\"/opt/tools\"}\n" BASE
	    "identity \"rec\" { issuer = \"gh\" claim \"sub\" { equals = "
	    "{\"y\"} } login = \"rec\" record_input = false "
	    "recording_max_size = \"64K\" recording_limit = \"skip\" }\n",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d) == HOOP_OK, "shell keys set");
	id = hoop_config_identity(cfg, "rec");
	ok(id != NULL && id->record_input == 0 &&
	    id->recording_max_size == 65536 &&
	    id->recording_limit == HOOP_RECORDING_LIMIT_SKIP,
	    "record_input false, 64K, skip");
	dirs = hoop_config_shell_path(cfg, &n);
	ok(n == 1 && strcmp(dirs[0], "/opt/tools") == 0, "shell_path set");
	hoop_config_free(cfg);

	fails(BASE "identity \"r\" { issuer = \"gh\" claim \"sub\" { equals "
	    "= {\"y\"} } login = \"r\" recording_max_size = \"12Q\" }\n",
	    "t.conf:6:", "invalid size", "recording_max_size with a bad unit");
	fails(BASE "identity \"r\" { issuer = \"gh\" claim \"sub\" { equals "
	    "= {\"y\"} } login = \"r\" recording_max_size = \"-1\" }\n",
	    "t.conf:6:", "invalid size", "negative recording_max_size");
	fails(BASE "identity \"r\" { issuer = \"gh\" claim \"sub\" { equals "
	    "= {\"y\"} } login = \"r\" recording_max_size = "
	    "\"99999999999999999999\" }\n", "t.conf:6:", "invalid size",
	    "overflowing recording_max_size");
	fails(BASE "identity \"r\" { issuer = \"gh\" claim \"sub\" { equals "
	    "= {\"y\"} } login = \"r\" recording_limit = \"truncate\" }\n",
	    "t.conf:6:", "expected one of: end, skip",
	    "unknown recording_limit");
	fails("shell_path = {\"bin\"}\n" BASE, "t.conf:1:",
	    "not an absolute path", "relative shell_path");
}

/* Masking keys: mask_computed, built-in patterns, the hash key file. */
static void
test_mask_keys(void)
{
	char dir[] = "/tmp/hoop-test-maskkey.XXXXXX", key[256], text[2048];
	const struct hoop_policy *p;
	hoop_config_t *cfg = NULL;
	struct diags d;
	FILE *f;

	ok(load(BASE, HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d) == HOOP_OK &&
	    strcmp(hoop_config_mask_key_file(cfg),
	    "/etc/hoop/secrets/mask-key") == 0 &&
	    hoop_config_policy(cfg, "p")->mask_computed ==
	    HOOP_MASK_COMPUTED_PATTERNS, "mask defaults: key file, patterns");
	hoop_config_free(cfg);
	cfg = NULL;
	ok(load(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask_computed = \"refuse\"\n"
	    "  mask \"c\" { columns = {\"t.c\"} pattern = \"builtin:card\" }\n"
	    "}\n", HOOP_CONFIG_NO_FS_CHECKS, &cfg, &d) == HOOP_OK,
	    "mask_computed and a built-in pattern load");
	p = cfg != NULL ? hoop_config_policy(cfg, "q") : NULL;
	ok(p != NULL && p->mask_computed == HOOP_MASK_COMPUTED_REFUSE &&
	    p->n_masks == 1 && p->masks[0].builtin != NULL &&
	    strcmp(p->masks[0].builtin, "card") == 0 &&
	    strcmp(p->masks[0].pattern, "builtin:card") == 0 &&
	    p->masks[0].regex == NULL, "refuse; builtin:card, not a regex");
	hoop_config_free(cfg);
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask_computed = \"drop\"\n}\n", "t.conf:7:",
	    "expected one of: patterns, refuse", "unknown mask_computed");
	fails(BASE "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask \"m\" { pattern = \"builtin:cards\" }\n}\n", "t.conf:7:",
	    "unknown built-in pattern \"cards\" (known: email, card",
	    "unknown built-in pattern");
	fails("mask_key_file = \"keys/mask\"\n" BASE, "t.conf:1:",
	    "not an absolute path", "relative mask_key_file");

	/* The key file is checked when a hash mask exists. */
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	snprintf(key, sizeof(key), "%s/mask-key", dir);
	snprintf(text, sizeof(text), "mask_key_file = \"%s\"\n" BASE
	    "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask \"a\" { columns = {\"t.a\"} strategy = \"hash\" }\n"
	    "  mask \"b\" { columns = {\"t.b\"} strategy = \"hash\" }\n}\n",
	    key);
	fails_with(text, 0, "t.conf:8:", "strategy = hash needs the mask key: "
	    "mask_key_file: \"", "hash mask without the key file");
	load(text, 0, &cfg, &d);
	is_int(d.count, 1, "reported once, not per hash mask");
	if ((f = fopen(key, "w")) == NULL || fputs("0123456789abcdef0123456789"
	    "abcdef\n", f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", key);
		exit(1);
	}
	chmod(key, 0644);
	fails_with(text, 0, "t.conf:8:", "accessible by other users",
	    "key file readable by all: refused");
	chmod(key, 0640);
	loads_with(text, 0, "private key file: loads");
	unlink(key);
	snprintf(text, sizeof(text), "mask_key_file = \"%s\"\n" BASE
	    "policy \"q\" { identities = {\"ci\"} targets = {\"db\"}\n"
	    "  mask \"a\" { columns = {\"t.a\"} strategy = \"partial\" }\n}\n",
	    key);
	loads_with(text, 0, "no hash mask: no key file needed");
	rmdir(dir);
}

int
main(void)
{
	test_complete();
	test_defaults();
	test_syntax();
	test_values();
	test_structure();
	test_all_reported();
	test_scanner_traps();
	test_files();
	test_example();
	test_shell_keys();
	test_mask_keys();
	return done_testing();
}
