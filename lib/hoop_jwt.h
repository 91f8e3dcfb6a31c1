/*
 * Compact JWS tokens (RFC 7515, 7519): parsing, signature verification
 * against a JWKS, and the registered time, issuer and audience claims.
 *
 * Keys come only from the JWKS the caller passes. The "jku", "x5u", "jwk"
 * and "x5c" header parameters are ignored: a token never chooses, fetches
 * or carries the key it is checked with. Any "crit" header is refused,
 * since hoop understands no extension.
 */
#ifndef HOOP_JWT_H
#define HOOP_JWT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "hoop_err.h"
#include "hoop_jwks.h"

typedef struct hoop_jwt hoop_jwt_t;

/* Largest token accepted, checked before anything else is done. */
#define HOOP_JWT_MAX_SIZE	(16 * 1024)

/* Every way a token is refused; hoop_jwt_reason_str() gives the log word. */
enum hoop_jwt_reason {
	HOOP_JWT_OK = 0,
	HOOP_JWT_MALFORMED,		/* segment count, empty segment */
	HOOP_JWT_TOO_LARGE,
	HOOP_JWT_JWE,			/* five segments: encrypted */
	HOOP_JWT_BAD_B64,
	HOOP_JWT_HEADER_NOT_JSON,	/* or not a JSON object */
	HOOP_JWT_PAYLOAD_NOT_JSON,	/* or not a JSON object */
	HOOP_JWT_DUPLICATE_KEY,
	HOOP_JWT_BAD_HEADER,		/* alg missing; alg, kid, typ types */
	HOOP_JWT_ALG_NONE,
	HOOP_JWT_ALG_NOT_ALLOWED,
	HOOP_JWT_ALG_UNSUPPORTED,
	HOOP_JWT_CRIT,
	HOOP_JWT_NO_SIGNATURE,
	HOOP_JWT_UNKNOWN_KID,
	HOOP_JWT_NO_KEY,		/* no kid, and no key fits the alg */
	HOOP_JWT_AMBIGUOUS_KEY,		/* several keys could be meant */
	HOOP_JWT_KEY_MISMATCH,		/* kid found, key type or alg differs */
	HOOP_JWT_BAD_SIGNATURE,
	HOOP_JWT_BAD_SIGNATURE_ENCODING,
	HOOP_JWT_EXPIRED,
	HOOP_JWT_NOT_YET_VALID,
	HOOP_JWT_IAT_FUTURE,
	HOOP_JWT_TOO_OLD,
	HOOP_JWT_BAD_ISSUER,
	HOOP_JWT_BAD_AUDIENCE,
	HOOP_JWT_MISSING_CLAIM,
	HOOP_JWT_CLAIM_TYPE,
	HOOP_JWT_NOMEM,			/* ours, not the token's fault */
	HOOP_JWT_INTERNAL,		/* ours: library failure, bad call */
	HOOP_JWT__COUNT
};

/* Short, stable text for logs and tests ("expired", "bad signature"). */
const char *hoop_jwt_reason_str(enum hoop_jwt_reason reason);

/*
 * The functions below return HOOP_OK, HOOP_ERR_DENIED when the token is
 * refused, or HOOP_ERR_NOMEM / HOOP_ERR_CRYPTO / HOOP_ERR_INVAL (a bad
 * call) on failures of our own; why (if not NULL) is always set, to
 * HOOP_JWT_OK on success.
 */

/*
 * Parses a compact JWS of len bytes (need not be NUL-terminated, no
 * surrounding whitespace): three strict base64url segments, header and
 * payload JSON objects without duplicate keys, header "alg" a string and
 * not "none" in any case, no "crit", "kid" and "typ" strings if present,
 * a non-empty signature. Nothing is verified yet.
 */
hoop_err_t hoop_jwt_parse(const char *token, size_t len, hoop_jwt_t **out,
    enum hoop_jwt_reason *why);
/* Wipes the kept copy of the token. */
void hoop_jwt_free(hoop_jwt_t *jwt);

/*
 * Verifies the signature with a key chosen by hoop_jwks_find(). The alg
 * must be listed in allowed_algs (exact, case-sensitive) and be one hoop
 * implements: RS256/384/512, PS256/384/512, ES256/384/512 (raw r||s as
 * JWS specifies, never DER) or EdDSA (Ed25519). HMAC algs are always
 * refused: a JWKS holds public keys, which must never act as secrets.
 */
hoop_err_t hoop_jwt_verify(const hoop_jwt_t *jwt, const hoop_jwks_t *keys,
    const char *const *allowed_algs, size_t n_allowed,
    enum hoop_jwt_reason *why);

struct hoop_jwt_expect {
	const char *issuer;		/* "iss" must equal it */
	const char *const *audiences;	/* "aud" must hold one of them */
	size_t n_audiences;
	long clock_skew;		/* seconds of leeway on exp, nbf, iat */
	long max_age;			/* now - iat limit; 0: none */
	time_t now;
};

/*
 * Checks iss (string, exact), aud (string, or non-empty array of
 * strings), exp (required number: now < exp + skew), nbf (optional:
 * now >= nbf - skew), iat (required: iat <= now + skew, and with max_age
 * now - iat <= max_age). Times may be reals; they are floored. A claim of
 * the wrong JSON type is HOOP_JWT_CLAIM_TYPE, a required one absent is
 * HOOP_JWT_MISSING_CLAIM. Call only after hoop_jwt_verify() succeeded.
 */
hoop_err_t hoop_jwt_check_claims(const hoop_jwt_t *jwt,
    const struct hoop_jwt_expect *expect, enum hoop_jwt_reason *why);

/* The claims object, owned by jwt (take a reference to keep it longer). */
json_t *hoop_jwt_claims(const hoop_jwt_t *jwt);
/* A claim's value if it is a JSON string, else NULL; owned by jwt. */
const char *hoop_jwt_claim_str(const hoop_jwt_t *jwt, const char *name);
/* Header "alg" (never NULL after a successful parse) and "kid" (or NULL). */
const char *hoop_jwt_alg(const hoop_jwt_t *jwt);
const char *hoop_jwt_kid(const hoop_jwt_t *jwt);

#endif
