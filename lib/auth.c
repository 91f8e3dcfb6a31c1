#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hoop_auth.h"
#include "hoop_jwt.h"
#include "hoop_log.h"
#include "hoop_oidc.h"
#include "hoop_util.h"
#include "store_internal.h"

static void
set_reason(struct hoop_auth_result *r, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	/* Parts of the reason come from the token: keep logs one line, free
	 * of terminal controls, and ASCII (a cut UTF-8 sequence would make
	 * the audit event invalid and the refusal unrecorded). */
	for (p = r->reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

void
hoop_auth_result_clear(struct hoop_auth_result *r)
{
	size_t i;

	for (i = 0; i < r->n_groups; i++)
		free(r->groups[i]);
	memset(r, 0, sizeof(*r));
}

static int
valid_group(const char *g)
{
	size_t i, len = strlen(g);

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!((g[i] >= 'a' && g[i] <= 'z') || (g[i] >= 'A' &&
		    g[i] <= 'Z') || (g[i] >= '0' && g[i] <= '9') ||
		    strchr("_.-", g[i]) != NULL))
			return 0;
	return 1;
}

static hoop_err_t
add_group(struct hoop_auth_result *r, const char *g)
{
	size_t i;

	for (i = 0; i < r->n_groups; i++)
		if (strcmp(r->groups[i], g) == 0)
			return HOOP_OK;
	if (r->n_groups == HOOP_AUTH_MAX_GROUPS)
		return HOOP_OK;	/* the configured groups come first */
	if ((r->groups[r->n_groups] = strdup(g)) == NULL)
		return HOOP_ERR_NOMEM;
	r->n_groups++;
	return HOOP_OK;
}

/* The identity's groups, then those of its groups claim that look like
 * group names (others are ignored, not trusted into a log or a list). */
static hoop_err_t
collect_groups(struct hoop_auth_result *r, json_t *claims)
{
	const struct hoop_identity *id = r->identity;
	json_t *list, *v;
	size_t i;
	hoop_err_t err;

	for (i = 0; i < id->n_groups; i++)
		if ((err = add_group(r, id->groups[i])) != HOOP_OK)
			return err;
	if (id->groups_claim == NULL)
		return HOOP_OK;
	list = json_object_get(claims, id->groups_claim);
	json_array_foreach(list, i, v) {
		if (json_is_string(v) && valid_group(json_string_value(v)) &&
		    (err = add_group(r, json_string_value(v))) != HOOP_OK)
			return err;
	}
	return HOOP_OK;
}

static hoop_err_t
claims_digest(json_t *claims, char out[HOOP_AUDIT_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *text;
	int ok;

	/* Sorted keys: the same claims always give the same digest. */
	if ((text = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return HOOP_ERR_NOMEM;
	ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
	free(text);
	if (!ok || mdlen != 32)
		return HOOP_ERR_CRYPTO;
	hoop_hex_encode(md, mdlen, out);
	return HOOP_OK;
}

/* Records the jti; a second use while the token lives is a replay. */
static hoop_err_t
consume_jti(hoop_store_t *store, const struct hoop_issuer *iss,
    const char *jti, long long exp, time_t now, struct hoop_auth_result *r)
{
	sqlite3 *db = hoop_store_db(store);
	sqlite3_stmt *st = NULL;
	hoop_err_t ret = HOOP_ERR_STORE;
	int rc;

	if ((ret = hoop_store_begin(store)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_STORE;
	/* Rows of tokens that can no longer be used are dead weight. */
	if (sqlite3_prepare_v2(db, "DELETE FROM jti_seen WHERE expires_at < ?",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (long long)now - iss->clock_skew);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "INSERT INTO jti_seen (issuer, jti, "
	    "expires_at) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, iss->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, jti, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, exp + iss->clock_skew);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		set_reason(r, "replayed token (jti already used)");
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	ret = hoop_store_commit(store);
out:
	if (ret == HOOP_ERR_STORE)
		set_reason(r, "cannot record jti: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (ret != HOOP_OK)
		hoop_store_rollback(store);
	return ret;
}

/* Signature and claims against one issuer's keys. */
static hoop_err_t
verify_for_issuer(const hoop_jwt_t *jwt, const struct hoop_issuer *iss,
    hoop_store_t *store, time_t now, struct hoop_auth_result *r)
{
	struct hoop_jwt_expect expect = {
		.issuer = iss->url, .audiences = iss->audiences,
		.n_audiences = iss->n_audiences, .clock_skew = iss->clock_skew,
		.max_age = iss->max_token_age, .now = now,
	};
	enum hoop_jwt_reason why = HOOP_JWT_OK;
	hoop_jwks_t *keys = NULL;
	const char *source = "";
	char kwhy[256] = "";
	hoop_err_t ret;

	if ((ret = hoop_oidc_keys(store, iss, 0, &keys, &source, kwhy,
	    sizeof(kwhy))) != HOOP_OK) {
		set_reason(r, "issuer keys unavailable: %s", kwhy);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	ret = hoop_jwt_verify(jwt, keys, iss->algorithms, iss->n_algorithms,
	    &why);
	if (why == HOOP_JWT_UNKNOWN_KID) {
		/* Perhaps the issuer rotated its keys: ask again, once. */
		hoop_jwks_free(keys);
		keys = NULL;
		if (hoop_oidc_keys(store, iss, HOOP_OIDC_REFRESH, &keys,
		    &source, kwhy, sizeof(kwhy)) == HOOP_OK)
			ret = hoop_jwt_verify(jwt, keys, iss->algorithms,
			    iss->n_algorithms, &why);
	}
	if (ret != HOOP_OK || why != HOOP_JWT_OK) {
		set_reason(r, "%s (alg %s, kid %s, keys from %s)",
		    hoop_jwt_reason_str(why), hoop_jwt_alg(jwt) ?
		    hoop_jwt_alg(jwt) : "-", hoop_jwt_kid(jwt) ?
		    hoop_jwt_kid(jwt) : "-", source);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if (hoop_jwt_check_claims(jwt, &expect, &why) != HOOP_OK ||
	    why != HOOP_JWT_OK) {
		set_reason(r, "%s", hoop_jwt_reason_str(why));
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	ret = HOOP_OK;
out:
	hoop_jwks_free(keys);
	return ret;
}

hoop_err_t
hoop_auth_token(const hoop_config_t *cfg, hoop_store_t *store,
    const char *login, const char *token, time_t now,
    struct hoop_auth_result *r)
{
	hoop_err_t ret = HOOP_ERR_DENIED;
	const struct hoop_issuer *iss = NULL, *cand;
	const struct hoop_identity *id;
	enum hoop_jwt_reason why = HOOP_JWT_OK;
	hoop_jwt_t *jwt = NULL;
	json_t *claims;
	const struct hoop_identity *closest = NULL;
	const char *tok_iss, *sub, *jti, *failed = NULL, *closest_failed = NULL;
	char mapped[HOOP_LOGIN_MAX + 1], mismatch[HOOP_LOGIN_MAX + 1] = "";
	size_t i;
	int claims_matched = 0, verified = 0, fits, closest_fits = 0;

	memset(r, 0, sizeof(*r));
	if (hoop_jwt_parse(token, strlen(token), &jwt, &why) != HOOP_OK) {
		set_reason(r, "%s", hoop_jwt_reason_str(why));
		goto out;
	}
	claims = hoop_jwt_claims(jwt);
	if ((tok_iss = hoop_jwt_claim_str(jwt, "iss")) == NULL) {
		set_reason(r, "missing claim (iss)");
		goto out;
	}
	/* Several issuer blocks may share a URL (different audiences). */
	for (i = 0; i < hoop_config_issuer_count(cfg) && !verified; i++) {
		cand = hoop_config_issuer_at(cfg, i);
		if (strcmp(cand->url, tok_iss) != 0)
			continue;
		iss = cand;
		ret = verify_for_issuer(jwt, cand, store, now, r);
		if (ret == HOOP_OK)
			verified = 1;
		else if (ret != HOOP_ERR_DENIED)
			goto out;
	}
	if (iss == NULL) {
		set_reason(r, "bad issuer (no issuer configured for '%.128s')",
		    tok_iss);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if (!verified)
		goto out;	/* reason set by verify_for_issuer */
	r->issuer = iss;
	ret = HOOP_ERR_DENIED;
	for (i = 0; i < hoop_config_identity_count(cfg); i++) {
		id = hoop_config_identity_at(cfg, i);
		if (id->issuer != iss)
			continue;
		if (!hoop_identity_claims_match(id, claims, &failed)) {
			/* Report the identity this login was most likely
			 * meant for: one with this fixed login, or else the
			 * first of the issuer's. */
			fits = id->login != NULL && strcmp(id->login, login) == 0;
			if (closest == NULL || (fits && !closest_fits)) {
				closest = id;
				closest_failed = failed;
				closest_fits = fits;
			}
			continue;
		}
		claims_matched = 1;
		if (hoop_identity_login(id, claims, mapped, sizeof(mapped)) !=
		    HOOP_OK)
			continue;
		if (strcmp(mapped, login) != 0) {
			if (mismatch[0] == '\0')
				snprintf(mismatch, sizeof(mismatch), "%s",
				    mapped);
			continue;
		}
		if (id->disabled) {
			set_reason(r, "identity %s is disabled", id->name);
			goto out;
		}
		r->identity = id;
		break;
	}
	if (r->identity == NULL) {
		if (mismatch[0] != '\0')
			set_reason(r, "login name mismatch (token maps to %s, "
			    "not %.32s)", mismatch, login);
		else if (claims_matched)
			set_reason(r, "claims give no valid login name");
		else
			set_reason(r, "claim value mismatch (no identity of "
			    "issuer %s matches; identity %s: first failing "
			    "claim: %s)", iss->name, closest != NULL ?
			    closest->name : "-", closest_failed != NULL ?
			    closest_failed : "-");
		goto out;
	}
	snprintf(r->login, sizeof(r->login), "%s", login);
	sub = hoop_jwt_claim_str(jwt, "sub");
	/* Kept whole or not at all: a cut subject could stand for another. */
	if (sub != NULL && strlen(sub) >= sizeof(r->subject)) {
		set_reason(r, "subject longer than %zu bytes",
		    sizeof(r->subject) - 1);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	snprintf(r->subject, sizeof(r->subject), "%s", sub != NULL ? sub : "");
	r->token_exp = json_integer_value(json_object_get(claims, "exp"));
	if (json_is_real(json_object_get(claims, "exp")))
		r->token_exp = (long long)json_real_value(json_object_get(
		    claims, "exp"));
	/* ID tokens live minutes or hours; a far exp is a mistake or an
	 * attack on the arithmetic that follows (leases, jti expiry). */
	if (r->token_exp > (long long)now + HOOP_AUTH_MAX_TOKEN_LIFE) {
		set_reason(r, "exp more than %d days ahead",
		    HOOP_AUTH_MAX_TOKEN_LIFE / 86400);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if ((ret = claims_digest(claims, r->claims_digest)) != HOOP_OK ||
	    (ret = collect_groups(r, claims)) != HOOP_OK) {
		set_reason(r, "internal error: %s", hoop_strerror(ret));
		goto out;
	}
	if (iss->single_use_jti) {
		if ((jti = hoop_jwt_claim_str(jwt, "jti")) == NULL ||
		    *jti == '\0') {
			set_reason(r, "missing claim (jti, required for single "
			    "use)");
			ret = HOOP_ERR_DENIED;
			goto out;
		}
		if ((ret = consume_jti(store, iss, jti, r->token_exp, now, r)) !=
		    HOOP_OK)
			goto out;
	}
	set_reason(r, "accepted: identity %s, issuer %s", r->identity->name,
	    iss->name);
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		r->identity = NULL;
	hoop_jwt_free(jwt);
	return ret;
}
