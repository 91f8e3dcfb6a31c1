/* hoop.conf: issuers, identities, targets and policies (libconfuse). */
#ifndef HOOP_CONFIG_H
#define HOOP_CONFIG_H

#include <stddef.h>

#include "hoop_err.h"

typedef struct hoop_config hoop_config_t;

/* Called once per problem found, with "FILE:LINE: message" text. */
typedef void (*hoop_config_diag_fn)(void *arg, const char *message);

enum hoop_config_flags {
	/* Skip checks that look at the filesystem (secret file modes);
	 * for fuzzing and for tools that only parse. */
	HOOP_CONFIG_NO_FS_CHECKS = 1 << 0,
};

/* Largest configuration file accepted. */
#define HOOP_CONFIG_MAX_SIZE (1024 * 1024)

const char *hoop_config_default_path(void);

/* Loads and validates. On any problem, every problem found is reported
 * through diag (if not NULL), nothing is returned and the result is
 * HOOP_ERR_CONFIG (or the I/O error): callers fail closed. */
hoop_err_t hoop_config_load(const char *path, unsigned flags,
    hoop_config_t **out, hoop_config_diag_fn diag, void *arg);
/* The same from memory; name is used in messages in place of the path. */
hoop_err_t hoop_config_load_buf(const char *buf, size_t len, const char *name,
    unsigned flags, hoop_config_t **out, hoop_config_diag_fn diag, void *arg);
void hoop_config_free(hoop_config_t *cfg);

/* Global settings. */
const char *hoop_config_store_path(const hoop_config_t *cfg);
const char *hoop_config_recordings_dir(const hoop_config_t *cfg);
/* The secret key of hash masks (read when a hash mask applies). */
const char *hoop_config_mask_key_file(const hoop_config_t *cfg);

/*
 * Notes on loading (additions to the API above):
 *  - buf need not be NUL-terminated and is never read past len; a NUL
 *    byte inside it is an error.
 *  - Loads are serialised internally (libconfuse's scanner is global), so
 *    the functions may be called from several threads.
 *  - "${NAME}" is never taken from the environment: inside double quotes
 *    it is literal text, outside quotes it is an error.
 */

/*
 * Read-only views of a loaded configuration. Everything they point to
 * (strings, arrays, other views) is owned by the hoop_config_t and lives
 * until hoop_config_free(). Lists are an array and a count; a list not
 * given in the file has count 0. Durations are in seconds. Sections keep
 * the order of the file.
 */

/* A compiled PCRE2 pattern: a pcre2_code with PCRE2_CODE_UNIT_WIDTH 8. */
struct pcre2_real_code_8;

struct hoop_issuer {
	const char *name;
	const char *url;		/* the expected "iss" claim */
	const char *jwks_file;		/* offline keys, or NULL: fetch */
	const char *ca_file;		/* CAs for fetching, or NULL: system's */
	const char *const *audiences;	/* token "aud" must hold one */
	size_t n_audiences;
	const char *const *algorithms;	/* accepted "alg" values */
	size_t n_algorithms;
	long clock_skew;		/* this issuer's or the global one */
	long max_token_age;		/* now - iat limit; 0: none */
	long jwks_cache;
	long jwks_refresh_interval;	/* least time between kid refreshes */
	int single_use_jti;		/* refuse a jti seen before */
};

/* One claim condition of an identity: the claim (any element of it, for
 * an array) equals one of the values, or matches the pattern. */
struct hoop_claim_rule {
	const char *claim;
	const char *const *equals;	/* n_equals == 0: pattern is used */
	size_t n_equals;
	const char *pattern;		/* source text, or NULL */
	/* Anchored at both ends: it must match the whole value. */
	const struct pcre2_real_code_8 *regex;
};

/* A local group that sessions get as a supplementary group when the
 * principal holds a group ("*": every session of the identity). */
struct hoop_group_map {
	const char *group;		/* the principal's group, or "*" */
	const char *local;		/* a group of the bastion (/etc/group) */
};

/* What a session whose recording reaches recording_max_size gets. */
enum hoop_recording_limit {
	HOOP_RECORDING_LIMIT_END,	/* the session is ended */
	HOOP_RECORDING_LIMIT_SKIP,	/* bulk output stops being recorded */
};

struct hoop_identity {
	const char *name;
	const struct hoop_issuer *issuer;
	const struct hoop_claim_rule *claims;	/* all must hold */
	size_t n_claims;
	const char *login;		/* fixed login, or NULL */
	const char *login_template;	/* "sso-${claim}", or NULL */
	const char *const *groups;	/* granted to every session */
	size_t n_groups;
	const char *groups_claim;	/* claim holding more groups, or NULL */
	long max_session;
	long token_grace;		/* lease may outlive the token by this */
	long idle_timeout;		/* 0: no idle limit */
	int home;			/* create a home directory */
	int disabled;
	const struct hoop_group_map *local_groups;
	size_t n_local_groups;
	/* hoop-shell's recording of the identity's sessions. */
	int record_input;		/* keystrokes and piped stdin */
	unsigned long long recording_max_size;	/* bytes; 0: no limit */
	enum hoop_recording_limit recording_limit;
};

enum hoop_target_type {
	HOOP_TARGET_POSTGRES,
	HOOP_TARGET_KUBERNETES,
	HOOP_TARGET_SSH,
};

enum hoop_tls_mode {
	HOOP_TLS_VERIFY_FULL,
	HOOP_TLS_REQUIRE,
	HOOP_TLS_DISABLE,
};

struct hoop_target {
	const char *name;
	enum hoop_target_type type;
	const char *host;		/* postgres: may be a socket directory */
	long port;			/* given, or 5432 / 22; 0 for kubernetes */
	const char *database;
	const char *user;
	const char *server;		/* kubernetes API URL */
	const char *ca_file;
	enum hoop_tls_mode tls;
	const char *secret_file;	/* password, token or key; or NULL */
};

enum hoop_rule_action {
	HOOP_ACTION_ALLOW,
	HOOP_ACTION_DENY,
	HOOP_ACTION_APPROVE,
};

enum hoop_approval_mode {
	HOOP_APPROVAL_ANY,		/* approvals from any approver group */
	HOOP_APPROVAL_ALL,		/* approvals from each approver group */
};

enum hoop_approval_covers {
	HOOP_APPROVAL_ONCE,		/* the one command or statement */
	HOOP_APPROVAL_GRANT,		/* like requests for approval_grant */
};

/*
 * Matcher kinds. A rule has matchers of exactly one kind; a new kind adds
 * a value here, a struct and a union member below, and a row in the kind
 * table of config.c (its options and their checks).
 */
enum hoop_rule_kind {
	HOOP_RULE_SHELL,
	HOOP_RULE_SQL,
	HOOP_RULE_KUBE,
	HOOP_RULE__COUNT
};

struct hoop_shell_match {
	const char *const *commands;	/* command names; "*": any */
	size_t n_commands;
};

/* SQL statement classes (bits of hoop_sql_match.statements). */
enum hoop_sql_class {
	HOOP_SQL_READ = 1 << 0,		/* SELECT, TABLE, VALUES, SHOW, EXPLAIN */
	HOOP_SQL_WRITE = 1 << 1,	/* INSERT, UPDATE, DELETE, MERGE */
	HOOP_SQL_DDL = 1 << 2,		/* CREATE, ALTER, DROP, TRUNCATE, ... */
	HOOP_SQL_DCL = 1 << 3,		/* GRANT, REVOKE, role changes */
	HOOP_SQL_ADMIN = 1 << 4,	/* VACUUM, ANALYZE, REINDEX, ... */
	HOOP_SQL_TRANSACTION = 1 << 5,	/* BEGIN, COMMIT, ROLLBACK, ... */
	HOOP_SQL_SESSION = 1 << 6,	/* SET, RESET, DISCARD, LISTEN, ... */
	HOOP_SQL_COPY = 1 << 7,		/* COPY */
	HOOP_SQL_CALL = 1 << 8,		/* CALL, DO */
	HOOP_SQL_UNKNOWN = 1 << 9,	/* anything not classified */
};

struct hoop_sql_match {
	unsigned statements;		/* hoop_sql_class bits; 0: none */
	const char *const *functions;	/* lower case, maybe "schema.name" */
	size_t n_functions;
};

/* Kubernetes verbs (bits of hoop_kube_match.verbs); "*" sets them all. */
enum hoop_kube_verb {
	HOOP_KUBE_GET = 1 << 0,
	HOOP_KUBE_LIST = 1 << 1,
	HOOP_KUBE_WATCH = 1 << 2,
	HOOP_KUBE_CREATE = 1 << 3,
	HOOP_KUBE_UPDATE = 1 << 4,
	HOOP_KUBE_PATCH = 1 << 5,
	HOOP_KUBE_DELETE = 1 << 6,
	HOOP_KUBE_DELETECOLLECTION = 1 << 7,
};
#define HOOP_KUBE_ALL_VERBS 0xffu

/* Empty api_groups, namespaces or names lists match anything. */
struct hoop_kube_match {
	unsigned verbs;
	const char *const *api_groups;	/* "" is the core group; "*" any */
	size_t n_api_groups;
	const char *const *resources;	/* "pods", "pods/exec", "*" */
	size_t n_resources;
	const char *const *namespaces;
	size_t n_namespaces;
	const char *const *names;
	size_t n_names;
};

struct hoop_rule {
	const char *name;
	enum hoop_rule_action action;
	const char *reason;		/* or NULL */
	/* Approval settings: meaningful for HOOP_ACTION_APPROVE only. */
	const char *const *approvers;	/* group names */
	size_t n_approvers;
	long approvals_required;
	enum hoop_approval_mode approval_mode;
	enum hoop_approval_covers approval_covers;
	long approval_grant;
	long approval_timeout;
	enum hoop_rule_kind kind;
	union {
		struct hoop_shell_match shell;
		struct hoop_sql_match sql;
		struct hoop_kube_match kube;
	} match;
};

enum hoop_mask_strategy {
	HOOP_MASK_REDACT,
	HOOP_MASK_PARTIAL,
	HOOP_MASK_HASH,
};

struct hoop_mask {
	const char *name;
	const char *const *columns;	/* "table.column", "schema.table.column";
					 * lower case */
	size_t n_columns;
	const char *pattern;		/* or NULL */
	/* Unanchored; NULL for a built-in pattern ("builtin:NAME"). */
	const struct pcre2_real_code_8 *regex;
	const char *builtin;		/* NAME of "builtin:NAME", or NULL */
	enum hoop_mask_strategy strategy;
	long keep;			/* partial: characters left visible */
};

/* What a policy's masks do with a result column that is not a table
 * column (an expression): lib/hoop_mask.h. */
enum hoop_mask_computed {
	HOOP_MASK_COMPUTED_PATTERNS,	/* every mask's pattern applies */
	HOOP_MASK_COMPUTED_REFUSE,	/* the result is refused */
};

struct hoop_policy {
	const char *name;
	const struct hoop_identity *const *identities;
	size_t n_identities;
	const char *const *groups;
	size_t n_groups;
	const struct hoop_target *const *targets;
	size_t n_targets;
	const struct hoop_rule *rules;	/* in file order */
	size_t n_rules;
	const struct hoop_mask *masks;
	size_t n_masks;
	enum hoop_mask_computed mask_computed;
};

long hoop_config_clock_skew(const hoop_config_t *cfg);
long hoop_config_uid_min(const hoop_config_t *cfg);
long hoop_config_uid_max(const hoop_config_t *cfg);
/* Ephemeral users: homes are home_base/LOGIN; the login shell; whether
 * nss_hoop lists live leases to getpwent (off by default). */
const char *hoop_config_home_base(const hoop_config_t *cfg);
const char *hoop_config_login_shell(const hoop_config_t *cfg);
int hoop_config_nss_enumerate(const hoop_config_t *cfg);
/* Directories hoop-shell finds allowed commands in, in order (the
 * wrappers' directory first, so that psql is hoop-pgwrap). */
const char *const *hoop_config_shell_path(const hoop_config_t *cfg,
    size_t *n);

/* Lookup by name (NULL if none), and iteration: index < count. */
size_t hoop_config_issuer_count(const hoop_config_t *cfg);
const struct hoop_issuer *hoop_config_issuer_at(const hoop_config_t *cfg,
    size_t index);
const struct hoop_issuer *hoop_config_issuer(const hoop_config_t *cfg,
    const char *name);

size_t hoop_config_identity_count(const hoop_config_t *cfg);
const struct hoop_identity *hoop_config_identity_at(const hoop_config_t *cfg,
    size_t index);
const struct hoop_identity *hoop_config_identity(const hoop_config_t *cfg,
    const char *name);

size_t hoop_config_target_count(const hoop_config_t *cfg);
const struct hoop_target *hoop_config_target_at(const hoop_config_t *cfg,
    size_t index);
const struct hoop_target *hoop_config_target(const hoop_config_t *cfg,
    const char *name);

size_t hoop_config_policy_count(const hoop_config_t *cfg);
const struct hoop_policy *hoop_config_policy_at(const hoop_config_t *cfg,
    size_t index);
const struct hoop_policy *hoop_config_policy(const hoop_config_t *cfg,
    const char *name);

/* Where approval requests and decisions are announced (lib/notify.c):
 * a webhook (url) or a command hook (command), never both. */
enum hoop_notify_format {
	HOOP_NOTIFY_JSON,		/* the event object itself */
	HOOP_NOTIFY_SLACK,		/* {"text": "..."} */
};

struct hoop_notify {
	const char *name;
	const char *url;		/* webhook, or NULL */
	const char *secret_file;	/* HMAC key for the signature, or NULL */
	const char *ca_file;		/* or NULL: the system's CAs */
	enum hoop_notify_format format;
	const char *const *command;	/* argv (absolute program), or NULL */
	size_t n_command;
	long timeout;			/* seconds, 1 to 60 */
};

size_t hoop_config_notify_count(const hoop_config_t *cfg);
const struct hoop_notify *hoop_config_notify_at(const hoop_config_t *cfg,
    size_t index);

/* Names as written in hoop.conf, for messages and logs. */
const char *hoop_target_type_name(enum hoop_target_type type);
const char *hoop_rule_action_name(enum hoop_rule_action action);
const char *hoop_rule_kind_name(enum hoop_rule_kind kind);

#endif
