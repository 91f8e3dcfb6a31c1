/* The authentication decision for one login: is this token, presented
 * for this login name, good enough? Everything pam_hoop decides that does
 * not need PAM, so that it can be tested without sshd. */
#ifndef HOOP_AUTH_H
#define HOOP_AUTH_H

#include <time.h>

#include "hoop_audit.h"
#include "hoop_config.h"
#include "hoop_identity.h"
#include "hoop_store.h"

#define HOOP_AUTH_MAX_GROUPS 64
/* Tokens whose exp is further ahead than this are refused. */
#define HOOP_AUTH_MAX_TOKEN_LIFE (366 * 86400)

struct hoop_auth_result {
	const struct hoop_identity *identity;	/* on success */
	const struct hoop_issuer *issuer;
	char reason[256];	/* why it was refused, or how it was accepted */
	char login[HOOP_LOGIN_MAX + 1];	/* what the claims map to */
	char subject[256];
	char claims_digest[HOOP_AUDIT_HASH_HEX + 1];
	long long token_exp;
	char *groups[HOOP_AUTH_MAX_GROUPS];
	size_t n_groups;
};

/* HOOP_OK: accepted. HOOP_ERR_DENIED: refused, result->reason says why.
 * Anything else: we could not decide (store, memory): refused as well.
 * The token is never copied into the result or any log. */
hoop_err_t hoop_auth_token(const hoop_config_t *cfg, hoop_store_t *store,
    const char *login, const char *token, time_t now,
    struct hoop_auth_result *result);
void hoop_auth_result_clear(struct hoop_auth_result *result);

#endif
