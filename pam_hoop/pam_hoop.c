/* pam_hoop: OIDC token authentication for sshd.
 *
 *   auth     required pam_hoop.so [config=/etc/hoop/hoop.conf] [debug]
 *   account  required pam_hoop.so
 *   session  required pam_hoop.so [nssdb=/var/lib/hoop-nss/passwd.db]
 *
 * auth reads the token over keyboard-interactive prompts (in parts, see
 * hoop_tokenread.h), verifies it and maps it to the login name. OpenSSH
 * runs keyboard-interactive authentication in a child process and carries
 * only the PAM environment back, and other modules can write that
 * environment too; so auth keeps its decision in the store (a grant,
 * used once) and passes on only the grant's random id, HOOP_AUTH_ID.
 * account and session read the grant back; the session writes the
 * HOOP_* environment from it. The token is never kept or logged. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "hoop_audit.h"
#include "hoop_auth.h"
#include "hoop_config.h"
#include "hoop_lease.h"
#include "hoop_log.h"
#include "hoop_nssdb.h"
#include "hoop_reap.h"
#include "hoop_store.h"
#include "hoop_tokenread.h"
#include "hoop_util.h"
#include "store_internal.h"

struct module {
	pam_handle_t *pamh;
	const char *config_path;
	const char *nssdb_path;
	const char *user;
	const char *rhost;
	hoop_config_t *cfg;
	hoop_store_t *store;
	int debug;
	int no_reason;		/* auth tells the client nothing */
	char refusal[256];	/* why a stage said no, for the audit event */
};

static void
parse_args(struct module *m, int argc, const char **argv)
{
	int i;

	m->config_path = hoop_config_default_path();
	m->nssdb_path = hoop_nssdb_default_path();
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0)
			m->config_path = argv[i] + 7;
		else if (strncmp(argv[i], "nssdb=", 6) == 0)
			m->nssdb_path = argv[i] + 6;
		else if (strcmp(argv[i], "debug") == 0)
			m->debug = 1;
		else if (strcmp(argv[i], "noreason") == 0)
			m->no_reason = 1;
		else
			pam_syslog(m->pamh, LOG_ERR, "unknown option: %s",
			    argv[i]);
	}
}

/* Logs why a stage refuses and keeps the reason for its audit event. */
static void __attribute__((format(printf, 2, 3)))
refuse(struct module *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->refusal, sizeof(m->refusal), fmt, ap);
	va_end(ap);
	pam_syslog(m->pamh, LOG_ERR, "refusing %s: %s", m->user, m->refusal);
}

static void
config_diag(void *arg, const char *message)
{
	pam_syslog(arg, LOG_ERR, "config: %s", message);
}

/* Loads what every stage needs; on failure the stage fails closed. */
static int
module_open(struct module *m, pam_handle_t *pamh, int argc, const char **argv)
{
	hoop_err_t err;

	memset(m, 0, sizeof(*m));
	m->pamh = pamh;
	hoop_log_init("pam_hoop", LOG_AUTHPRIV, 0);
	parse_args(m, argc, argv);
	if (pam_get_user(pamh, &m->user, NULL) != PAM_SUCCESS ||
	    m->user == NULL || *m->user == '\0') {
		pam_syslog(pamh, LOG_ERR, "no user name");
		return -1;
	}
	if (pam_get_item(pamh, PAM_RHOST, (const void **)&m->rhost) !=
	    PAM_SUCCESS || m->rhost == NULL)
		m->rhost = "-";
	if ((err = hoop_config_load(m->config_path, 0, &m->cfg, config_diag,
	    pamh)) != HOOP_OK) {
		pam_syslog(pamh, LOG_ERR, "refusing %s: configuration %s: %s",
		    m->user, m->config_path, hoop_strerror(err));
		return -1;
	}
	if ((err = hoop_store_open(hoop_config_store_path(m->cfg), 0,
	    &m->store)) != HOOP_OK) {
		pam_syslog(pamh, LOG_ERR, "refusing %s: store %s: %s",
		    m->user, hoop_config_store_path(m->cfg),
		    hoop_strerror(err));
		return -1;
	}
	return 0;
}

static void
module_close(struct module *m)
{
	hoop_store_close(m->store);
	hoop_config_free(m->cfg);
}

/* One audit event per decision. If it cannot be written the decision
 * cannot stand: the caller turns any grant into a refusal. */
static int
audit(struct module *m, const char *kind, const char *action,
    const char *decision, const char *identity, const char *reason,
    const char *session_id)
{
	struct hoop_audit_event ev = {
		.kind = kind, .action = action, .decision = decision,
		.principal = m->user, .identity = identity, .reason = reason,
		.session_id = session_id, .target = NULL,
	};
	char detail[256];
	hoop_err_t err;

	snprintf(detail, sizeof(detail), "{\"rhost\":\"%s\"}",
	    strspn(m->rhost, "0123456789abcdefABCDEF.:-") == strlen(m->rhost) ?
	    m->rhost : "?");
	ev.detail = detail;
	if ((err = hoop_audit_append(m->store, &ev, NULL)) != HOOP_OK) {
		pam_syslog(m->pamh, LOG_ERR, "cannot write audit event (%s): "
		    "refusing", hoop_strerror(err));
		return -1;
	}
	return 0;
}

static int
ask(void *arg, const char *prompt, char **answer)
{
	char *resp = NULL;

	if (pam_prompt(arg, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt) !=
	    PAM_SUCCESS || resp == NULL)
		return -1;
	*answer = resp;
	return 0;
}

static int
put_env(pam_handle_t *pamh, const char *name, const char *value)
{
	char buf[1024];

	if (snprintf(buf, sizeof(buf), "%s=%s", name, value) >=
	    (int)sizeof(buf))
		return -1;
	return pam_putenv(pamh, buf) == PAM_SUCCESS ? 0 : -1;
}

/*
 * What auth decided, kept in the store under an unguessable id that is
 * the only thing handed on in the PAM environment: other modules (pam_env
 * with user_readenv, for one) can write that environment, so account and
 * session never take an identity, subject or group from it.
 */
struct grant {
	char id[33];
	char *identity, *issuer, *subject, *digest, *groups;
	long long token_exp, created_at;
};

/* How long after auth its grant may open a session. */
#define GRANT_LIFETIME 600

static void
grant_clear(struct grant *g)
{
	free(g->identity);
	free(g->issuer);
	free(g->subject);
	free(g->digest);
	free(g->groups);
	memset(g, 0, sizeof(*g));
}

static int
grant_record(struct module *m, const struct hoop_auth_result *r)
{
	sqlite3 *db = hoop_store_db(m->store);
	sqlite3_stmt *st = NULL;
	unsigned char raw[16];
	char id[33], groups[512] = "", env[64];
	long long now = (long long)time(NULL);
	size_t i, used = 0;
	int n, ret = -1;

	for (i = 0; i < r->n_groups; i++) {
		n = snprintf(groups + used, sizeof(groups) - used, "%s%s",
		    i ? "," : "", r->groups[i]);
		if (n < 0 || (size_t)n >= sizeof(groups) - used) {
			groups[used] = '\0';	/* whole names only */
			break;
		}
		used += (size_t)n;
	}
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		goto out;
	hoop_hex_encode(raw, sizeof(raw), id);
	if (hoop_store_begin(m->store) != HOOP_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "DELETE FROM auth_grants WHERE created_at "
	    "< ?", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, now - 86400);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "INSERT INTO auth_grants (id, login, "
	    "identity, issuer, subject, claims_digest, token_exp, groups, "
	    "created_at) VALUES (?,?,?,?,?,?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->identity->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->issuer->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->claims_digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->token_exp);
	sqlite3_bind_text(st, 8, groups, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (hoop_store_commit(m->store) != HOOP_OK)
		goto fail;
	snprintf(env, sizeof(env), "HOOP_AUTH_ID=%s", id);
	ret = pam_putenv(m->pamh, env) == PAM_SUCCESS ? 0 : -1;
	goto out;
fail:
	pam_syslog(m->pamh, LOG_ERR, "cannot record authentication: %s",
	    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	st = NULL;
	hoop_store_rollback(m->store);
out:
	sqlite3_finalize(st);
	return ret;
}

static char *
column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return strdup(t != NULL ? (const char *)t : "");
}

/* The grant auth left for this login; refuses (with the reason kept)
 * one of another login, a used one or a stale one. */
static int
grant_load(struct module *m, struct grant *g)
{
	const char *id = pam_getenv(m->pamh, "HOOP_AUTH_ID");
	sqlite3_stmt *st = NULL;
	long long now = (long long)time(NULL);
	int ret = -1, rc;

	memset(g, 0, sizeof(*g));
	if (id == NULL || strlen(id) != 32 ||
	    strspn(id, "0123456789abcdef") != 32) {
		refuse(m, "not authenticated by pam_hoop");
		goto out;
	}
	if (sqlite3_prepare_v2(hoop_store_db(m->store), "SELECT identity, "
	    "issuer, subject, claims_digest, token_exp, groups, created_at "
	    "FROM auth_grants WHERE id = ? AND login = ? AND used_at IS NULL",
	    -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->user, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		refuse(m, "no unused authentication of this login");
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto db_error;
	snprintf(g->id, sizeof(g->id), "%s", id);
	g->identity = column_dup(st, 0);
	g->issuer = column_dup(st, 1);
	g->subject = column_dup(st, 2);
	g->digest = column_dup(st, 3);
	g->token_exp = sqlite3_column_int64(st, 4);
	g->groups = column_dup(st, 5);
	g->created_at = sqlite3_column_int64(st, 6);
	if (g->identity == NULL || g->issuer == NULL || g->subject == NULL ||
	    g->digest == NULL || g->groups == NULL) {
		refuse(m, "out of memory");
		goto out;
	}
	if (now - g->created_at > GRANT_LIFETIME || now < g->created_at) {
		refuse(m, "authentication too old");
		goto out;
	}
	ret = 0;
	goto out;
db_error:
	refuse(m, "cannot read authentication: %s",
	    sqlite3_errmsg(hoop_store_db(m->store)));
out:
	sqlite3_finalize(st);
	if (ret == -1)
		grant_clear(g);
	return ret;
}

/* Marks the grant used: one session per authentication. */
static int
grant_use(struct module *m, const struct grant *g)
{
	sqlite3 *db = hoop_store_db(m->store);
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(db, "UPDATE auth_grants SET used_at = ? WHERE "
	    "id = ? AND login = ? AND used_at IS NULL", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (long long)time(NULL));
	sqlite3_bind_text(st, 2, g->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1)
		ret = 0;
out:
	if (ret == -1)
		refuse(m, "authentication already used");
	sqlite3_finalize(st);
	return ret;
}

/*
 * What the client is told when auth refuses: the kind of refusal, so
 * that a CI job's log says what to fix, and nothing more. Claim values,
 * identity and issuer names, key ids and configuration stay in syslog
 * and the audit event. The detailed reasons (lib/auth.c, lib/jwt.c,
 * lib/tokenread.c) begin with these words; one not listed is told as
 * "not accepted".
 */
static const struct {
	const char *starts;
	const char *told;
} refusal_kinds[] = {
	{ "expired", "expired" },
	{ "not yet valid", "not yet valid" },
	{ "issued in the future", "not yet valid" },
	{ "too old", "issued too long ago" },
	{ "exp more than", "expiry too far ahead" },
	{ "bad signature", "signature not valid" },
	{ "empty signature", "signature not valid" },
	{ "unknown kid", "signature not valid" },
	{ "no key for alg", "signature not valid" },
	{ "ambiguous key", "signature not valid" },
	{ "key type mismatch", "signature not valid" },
	{ "alg ", "signing algorithm not accepted" },
	{ "bad issuer", "issuer not accepted" },
	{ "bad audience", "audience not accepted" },
	{ "issuer keys unavailable", "issuer keys unavailable, try again "
	    "later" },
	{ "replayed token", "token already used" },
	{ "claim value mismatch", "no identity accepts this token for this "
	    "login" },
	{ "login name mismatch", "no identity accepts this token for this "
	    "login" },
	{ "claims give no valid login name", "no identity accepts this token "
	    "for this login" },
	{ "identity ", "identity disabled" },
	{ "missing claim", "missing or malformed claim" },
	{ "claim type", "missing or malformed claim" },
	{ "subject longer", "missing or malformed claim" },
	{ "no token given", "no token given" },
	{ "token too large", "token too large" },
	{ "too large", "token too large" },
	/* sshd answers for a login name it cannot resolve with a fixed
	 * string of control characters: the same words for both, so that
	 * they tell no one which names exist. */
	{ "token has characters", "malformed token (or unknown login "
	    "name)" },
	{ "malformed", "malformed token" },
	{ "not JWS", "malformed token" },
	{ "bad base64url", "malformed token" },
	{ "header not JSON", "malformed token" },
	{ "payload not JSON", "malformed token" },
	{ "duplicate JSON key", "malformed token" },
	{ "bad header", "malformed token" },
	{ "crit header", "malformed token" },
	{ "internal error", "internal error on the bastion" },
	{ "out of memory", "internal error on the bastion" },
	{ "cannot record", "internal error on the bastion" },
};

static const char *
refusal_kind(const char *reason)
{
	size_t i;

	for (i = 0; i < sizeof(refusal_kinds) / sizeof(refusal_kinds[0]); i++)
		if (strncmp(reason, refusal_kinds[i].starts,
		    strlen(refusal_kinds[i].starts)) == 0)
			return refusal_kinds[i].told;
	return "not accepted";
}

/* sshd shows a PAM_ERROR_MSG sent before the failure to the client as
 * the instruction of a keyboard-interactive round without prompts (the
 * stock ssh prints it; hoop-ssh puts it in its error). */
static void
tell_refusal(struct module *m, const char *kind)
{
	if (m->no_reason || m->pamh == NULL)
		return;
	(void)pam_error(m->pamh, "hoop: token refused: %s", kind);
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct hoop_auth_result result;
	enum hoop_tokenread_result tr;
	struct module m;
	char *token = NULL, reason[128];
	const char *told = "internal error on the bastion";
	unsigned parts = 0;
	int ret = PAM_AUTHINFO_UNAVAIL;
	hoop_err_t err;

	(void)flags;
	memset(&result, 0, sizeof(result));
	if (module_open(&m, pamh, argc, argv) == -1) {
		told = "the bastion cannot check tokens now (its log says why)";
		goto out;
	}
	ret = PAM_AUTH_ERR;
	tr = hoop_tokenread(ask, pamh, &token, &parts);
	if (tr != HOOP_TOKENREAD_OK) {
		snprintf(reason, sizeof(reason), "%s",
		    hoop_tokenread_result_str(tr));
		pam_syslog(pamh, LOG_WARNING, "auth deny: user=%s rhost=%s "
		    "reason=%s", m.user, m.rhost, reason);
		(void)audit(&m, "auth", "login", "deny", NULL, reason, NULL);
		told = refusal_kind(reason);
		goto out;
	}
	err = hoop_auth_token(m.cfg, m.store, m.user, token, time(NULL),
	    &result);
	if (err != HOOP_OK && err != HOOP_ERR_DENIED && result.reason[0] == 0)
		snprintf(result.reason, sizeof(result.reason),
		    "internal error: %s", hoop_strerror(err));
	pam_syslog(pamh, err == HOOP_OK ? LOG_INFO : LOG_WARNING,
	    "auth %s: user=%s rhost=%s parts=%u reason=%s",
	    err == HOOP_OK ? "allow" : "deny", m.user, m.rhost, parts,
	    result.reason);
	if (err != HOOP_OK)
		told = refusal_kind(result.reason);
	if (audit(&m, "auth", "login", err == HOOP_OK ? "allow" : "deny",
	    result.identity != NULL ? result.identity->name : NULL,
	    result.reason, NULL) == -1 || err != HOOP_OK)
		goto out;
	if (grant_record(&m, &result) == -1)
		goto out;
	ret = PAM_SUCCESS;
out:
	if (ret != PAM_SUCCESS)
		tell_refusal(&m, told);
	hoop_tokenread_free(token);
	hoop_auth_result_clear(&result);
	if (m.pamh != NULL)
		module_close(&m);
	return ret;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* Tokens carry no credentials to establish. */
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_SUCCESS;
}

/* The identity auth found, provided it still exists and is enabled. */
static const struct hoop_identity *
authenticated_identity(struct module *m, const struct grant *g)
{
	const struct hoop_identity *id;

	if ((id = hoop_config_identity(m->cfg, g->identity)) == NULL) {
		refuse(m, "identity %s is no longer configured", g->identity);
		return NULL;
	}
	if (id->disabled) {
		refuse(m, "identity %s is disabled", g->identity);
		return NULL;
	}
	return id;
}

/* Time may pass between auth and account (a slow conversation): a token
 * that has expired since is no longer good for a new session. */
static int
token_still_valid(struct module *m, const struct hoop_identity *id,
    const struct grant *g)
{
	if (g->token_exp <= (long long)time(NULL) - id->issuer->clock_skew) {
		refuse(m, "token expired before the session");
		return 0;
	}
	return 1;
}

/* Two names can hash to one uid; while another name holds it, this login
 * must wait. Checked here so that the refusal comes before a session is
 * attempted; hoop_lease_acquire checks again under the write lock. */
static int
uid_free_for(struct module *m)
{
	sqlite3_stmt *st = NULL;
	uint32_t uid = hoop_lease_uid(m->cfg, m->user);
	int ret = 0, rc;

	if (sqlite3_prepare_v2(hoop_store_db(m->store), "SELECT login FROM "
	    "leases WHERE uid = ? AND login != ? AND ended_at IS NULL", -1,
	    &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_text(st, 2, m->user, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		refuse(m, "uid %u of %s already leased to %s", uid, m->user,
		    (const char *)sqlite3_column_text(st, 0));
		goto out;
	}
	ret = rc == SQLITE_DONE;
out:
	if (!ret && st == NULL)
		refuse(m, "cannot read leases: %s",
		    sqlite3_errmsg(hoop_store_db(m->store)));
	sqlite3_finalize(st);
	return ret;
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct hoop_identity *id;
	struct grant g = { 0 };
	struct module m;
	int ret = PAM_AUTHINFO_UNAVAIL;

	(void)flags;
	if (module_open(&m, pamh, argc, argv) == -1)
		goto out;
	if (grant_load(&m, &g) == 0 &&
	    (id = authenticated_identity(&m, &g)) != NULL &&
	    token_still_valid(&m, id, &g) && uid_free_for(&m))
		ret = PAM_SUCCESS;
	else {
		ret = PAM_PERM_DENIED;
		(void)audit(&m, "auth", "account", "deny", g.identity,
		    m.refusal, NULL);
	}
out:
	grant_clear(&g);
	if (m.pamh != NULL)
		module_close(&m);
	return ret;
}

static int
new_session_id(char out[33])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -1;
	hoop_hex_encode(raw, sizeof(raw), out);
	return 0;
}

/* A lease per login: concurrent sessions of one identity (parallel CI
 * jobs) share it, and it lives as long as the longest of them may. The
 * lease and the session row go in together, then nss_hoop's file is
 * rewritten so that the uid resolves for the session's lifetime. */
static int
record_session(struct module *m, const struct hoop_identity *id,
    const struct grant *g, const char *session_id, uid_t uid,
    struct hoop_lease_grant *grant)
{
	sqlite3 *db = hoop_store_db(m->store);
	sqlite3_stmt *st = NULL;
	struct hoop_lease_request req = {
		.login = m->user, .uid = (uint32_t)uid, .identity = id->name,
		.issuer = g->issuer, .subject = g->subject,
		.claims_digest = g->digest, .groups = g->groups,
		.now = (int64_t)time(NULL),
	};
	hoop_err_t err;
	int ret = -1, began = 0, refused = 0;

	memset(grant, 0, sizeof(*grant));
	/* The token's life (plus grace) bounds the lease, and so does the
	 * identity's longest session; compared first so nothing overflows. */
	if (g->token_exp >= req.now + id->max_session - id->token_grace)
		req.expires_at = req.now + id->max_session;
	else
		req.expires_at = g->token_exp + id->token_grace;
	if (hoop_store_begin(m->store) != HOOP_OK)
		goto out;
	began = 1;
	if ((err = hoop_lease_acquire(m->store, m->cfg, &req, grant)) !=
	    HOOP_OK) {
		if (grant->reason[0] == '\0')
			snprintf(grant->reason, sizeof(grant->reason), "%s",
			    hoop_strerror(err));
		pam_syslog(m->pamh, LOG_ERR, "refusing session of %s: %s",
		    m->user, grant->reason);
		refused = 1;
		goto out;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO sessions (id, lease_id, login, "
	    "identity, principal, remote, pid, started_at) VALUES "
	    "(?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, grant->lease_id);
	sqlite3_bind_text(st, 3, m->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, id->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, req.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, m->rhost, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, getpid());
	sqlite3_bind_int64(st, 8, req.now);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto db_error;
	sqlite3_finalize(st);
	st = NULL;
	if (hoop_store_commit(m->store) != HOOP_OK)
		goto db_error;
	began = 0;
	/* After the commit: a file without the lease refuses the session
	 * (the uid would not resolve); a lease without the file is ended
	 * by hoopctl gc. */
	if ((err = hoop_nssdb_sync(m->cfg, m->store, m->nssdb_path)) !=
	    HOOP_OK) {
		snprintf(grant->reason, sizeof(grant->reason), "cannot write %s: "
		    "%s", m->nssdb_path, hoop_strerror(err));
		pam_syslog(m->pamh, LOG_ERR, "refusing session of %s: %s",
		    m->user, grant->reason);
		refused = 1;
		goto out;
	}
	if (m->debug)
		pam_syslog(m->pamh, LOG_DEBUG, "lease %lld of %s (%s); %s "
		    "rewritten", (long long)grant->lease_id, m->user,
		    grant->created ? "new" : "joined", m->nssdb_path);
	ret = 0;
	goto out;
db_error:
	pam_syslog(m->pamh, LOG_ERR, "cannot record session: %s",
	    sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	if (began)
		hoop_store_rollback(m->store);
	if (refused)
		(void)audit(m, "session", "open", "deny", id->name,
		    grant->reason, NULL);
	return ret;
}

/*
 * The home, home_base/LOGIN, made after the lease is held: a new lease
 * finds any directory left there stale (an earlier holder of the uid may
 * have planted files) and removes it first; a joined lease's home must be
 * a directory owned by the uid that only it can write. Created through
 * the home base's descriptor, never following a link.
 */
static int
make_home(struct module *m, const struct passwd *pw, int new_lease)
{
	const char *base = hoop_config_home_base(m->cfg);
	enum hoop_reap_home gone;
	struct stat st;
	char want[4096];
	int basefd = -1, fd = -1, ret = -1;

	if (snprintf(want, sizeof(want), "%s/%s", base, m->user) >=
	    (int)sizeof(want) || strcmp(pw->pw_dir, want) != 0) {
		refuse(m, "home %s is not %s", pw->pw_dir, want);
		goto out;
	}
	if (new_lease && (hoop_reap_home(base, m->user, pw->pw_uid, &gone) !=
	    HOOP_OK || gone == HOOP_REAP_HOME_NOT_OURS)) {
		refuse(m, "cannot clear a stale home %s", want);
		goto out;
	}
	if ((basefd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		refuse(m, "home base %s: %s", base, strerror(errno));
		goto out;
	}
	if (mkdirat(basefd, m->user, 0700) == -1 && errno != EEXIST) {
		refuse(m, "cannot create home %s: %s", want, strerror(errno));
		goto out;
	}
	if ((fd = openat(basefd, m->user, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		refuse(m, "home %s: %s", want, strerror(errno));
		goto out;
	}
	/* Ours if root made it just now, or the uid already owns it. */
	if (st.st_uid == 0 && fchown(fd, pw->pw_uid, pw->pw_gid) == 0 &&
	    fchmod(fd, 0700) == 0 && fstat(fd, &st) == -1)
		goto out;
	if (st.st_uid != pw->pw_uid || (st.st_mode & 022) != 0) {
		refuse(m, "home %s is not a private directory of uid %u", want,
		    (unsigned)pw->pw_uid);
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (basefd != -1)
		close(basefd);
	return ret;
}

/* The session's environment, from the grant and the store, replacing
 * anything another module may have put under these names. */
static int
export_session(struct module *m, const struct grant *g, const char *sid)
{
	char exp[32];

	snprintf(exp, sizeof(exp), "%lld", g->token_exp);
	return put_env(m->pamh, "HOOP_SESSION_ID", sid) ||
	    put_env(m->pamh, "HOOP_PRINCIPAL", m->user) ||
	    put_env(m->pamh, "HOOP_IDENTITY", g->identity) ||
	    put_env(m->pamh, "HOOP_ISSUER", g->issuer) ||
	    put_env(m->pamh, "HOOP_SUBJECT", g->subject) ||
	    put_env(m->pamh, "HOOP_GROUPS", g->groups) ||
	    put_env(m->pamh, "HOOP_TOKEN_EXP", exp) ? -1 : 0;
}

PAM_EXTERN int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct hoop_identity *id;
	struct hoop_lease_grant lease;
	struct grant g = { 0 };
	struct passwd *pw;
	struct module m;
	char session_id[33];
	int ret = PAM_SESSION_ERR;

	(void)flags;
	if (module_open(&m, pamh, argc, argv) == -1)
		goto out;
	if (grant_load(&m, &g) == -1 ||
	    (id = authenticated_identity(&m, &g)) == NULL ||
	    grant_use(&m, &g) == -1)
		goto refused;
	if ((pw = getpwnam(m.user)) == NULL) {
		refuse(&m, "%s does not resolve", m.user);
		goto refused;
	}
	if (pw->pw_uid != hoop_lease_uid(m.cfg, m.user)) {
		refuse(&m, "%s resolves to uid %u, not hoop's %u", m.user,
		    (unsigned)pw->pw_uid, hoop_lease_uid(m.cfg, m.user));
		goto refused;
	}
	if (new_session_id(session_id) == -1 ||
	    record_session(&m, id, &g, session_id, pw->pw_uid, &lease) == -1)
		goto out;
	if (id->home && make_home(&m, pw, lease.created) == -1)
		goto refused;
	if (export_session(&m, &g, session_id) == -1 ||
	    audit(&m, "session", "open", "allow", id->name, NULL,
	    session_id) == -1)
		goto out;
	ret = PAM_SUCCESS;
	goto out;
refused:
	(void)audit(&m, "session", "open", "deny", g.identity, m.refusal,
	    NULL);
out:
	grant_clear(&g);
	if (m.pamh != NULL)
		module_close(&m);
	return ret;
}

PAM_EXTERN int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const char *session_id = pam_getenv(pamh, "HOOP_SESSION_ID");
	sqlite3_stmt *st = NULL;
	struct module m;
	int ret = PAM_SESSION_ERR;

	(void)flags;
	if (module_open(&m, pamh, argc, argv) == -1 || session_id == NULL)
		goto out;
	/* Only a session of this login: the id comes from the environment. */
	/* hoop-shell closes the row it records before it exits: one still
	 * open with a recording lost its recorder (killed). */
	if (sqlite3_prepare_v2(hoop_store_db(m.store), "UPDATE sessions SET "
	    "ended_at = ?, end_reason = CASE WHEN recording IS NULL THEN "
	    "'closed' ELSE 'recorder gone' END WHERE id = ? AND login = ? "
	    "AND ended_at IS NULL", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (long long)time(NULL));
	sqlite3_bind_text(st, 2, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m.user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	if (sqlite3_changes(hoop_store_db(m.store)) == 1 &&
	    audit(&m, "session", "close", "info", NULL, NULL,
	    session_id) == -1)
		goto out;
	ret = PAM_SUCCESS;
out:
	sqlite3_finalize(st);
	if (m.pamh != NULL)
		module_close(&m);
	return ret;
}

PAM_EXTERN int
pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* Identity tokens are issued elsewhere; there is nothing to change. */
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_AUTHTOK_ERR;
}
