/* Where an issuer's signing keys come from: a local JWKS file (offline
 * bastions), or OIDC discovery and the issuer's jwks_uri over HTTPS,
 * cached in the store. */
#ifndef HOOP_OIDC_H
#define HOOP_OIDC_H

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_jwks.h"
#include "hoop_store.h"

/* Discovery documents and key sets larger than this are refused. */
#define HOOP_OIDC_MAX_DISCOVERY (64 * 1024)
#define HOOP_OIDC_TIMEOUT 10

enum hoop_oidc_flags {
	/* The token names a kid we do not have: fetch again (at most once per the issuer's
	 * jwks_refresh_interval),
	 * so that key rotation works without a restart. */
	HOOP_OIDC_REFRESH = 1 << 0,
};

/* On success *keys is the issuer's key set and *source says where it came
 * from ("file", "cache", "fetched", "cache (issuer unreachable)"). On
 * failure why says what went wrong, for the log. */
hoop_err_t hoop_oidc_keys(hoop_store_t *store, const struct hoop_issuer *iss,
    unsigned flags, hoop_jwks_t **keys, const char **source, char *why,
    size_t whylen);

#endif
