/* JSON Web Key Sets (RFC 7517): an issuer's public signing keys. */
#ifndef HOOP_JWKS_H
#define HOOP_JWKS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "hoop_err.h"

typedef struct hoop_jwks hoop_jwks_t;

/* Largest JWKS document accepted, and most keys in one. */
#define HOOP_JWKS_MAX_SIZE	(256 * 1024)
#define HOOP_JWKS_MAX_KEYS	64

/* What a key is, as far as signature algorithms care. */
enum hoop_jwk_kind {
	HOOP_JWK_NONE = 0,	/* no key fits (alg not supported) */
	HOOP_JWK_RSA,		/* RS256..512, PS256..512 */
	HOOP_JWK_P256,		/* ES256 */
	HOOP_JWK_P384,		/* ES384 */
	HOOP_JWK_P521,		/* ES512 */
	HOOP_JWK_ED25519,	/* EdDSA */
};

/* Why hoop_jwks_find() found nothing. */
enum hoop_jwks_miss {
	HOOP_JWKS_FOUND = 0,
	HOOP_JWKS_NO_KID,	/* no key has that kid */
	HOOP_JWKS_MISMATCH,	/* keys with that kid exist, none fits alg */
	HOOP_JWKS_NO_FIT,	/* no kid given, and no key fits alg */
	HOOP_JWKS_AMBIGUOUS,	/* more than one key could be meant */
};

/*
 * Parses a JWKS document ({"keys": [...]}, len bytes, need not be
 * NUL-terminated). Kept: RSA keys of 2048 to 8192 bits, EC keys on P-256,
 * P-384 and P-521 (the point checked by OpenSSL), Ed25519 keys. Skipped:
 * other kty or crv, and keys whose "use" is not "sig". Refused, failing
 * the whole document: duplicate JSON keys, any key carrying private
 * members (a publisher that leaks them cannot be trusted with the rest),
 * a supported key that is malformed or too weak (RSA under 2048 bits, an
 * EC point off its curve, an Ed25519 point of small order), more than
 * HOOP_JWKS_MAX_KEYS keys, and a document left with no usable key.
 * On failure why (if not NULL) holds a short message for the log.
 * Returns HOOP_OK, HOOP_ERR_TOOBIG, HOOP_ERR_INVAL or HOOP_ERR_NOMEM.
 */
hoop_err_t hoop_jwks_parse(const char *json, size_t len, hoop_jwks_t **out,
    char *why, size_t whylen);
void hoop_jwks_free(hoop_jwks_t *set);

/* Number of usable keys kept. */
size_t hoop_jwks_count(const hoop_jwks_t *set);

/* The key kind a JWS "alg" needs; HOOP_JWK_NONE if hoop cannot verify it
 * (HS*, none, anything unknown). Names are case-sensitive. */
enum hoop_jwk_kind hoop_jwks_alg_kind(const char *alg);

/*
 * Chooses the key for a token signed with alg. A key fits when its kind
 * is the one alg needs and it has no "alg" of its own or the same one.
 * With a kid (even ""), only keys whose kid is exactly that are
 * considered; without one, the set must hold exactly one fitting key.
 * Either way two candidates are refused rather than tried in turn.
 * Returns the key (owned by the set) or NULL, with the reason in *miss
 * (if not NULL).
 */
const EVP_PKEY *hoop_jwks_find(const hoop_jwks_t *set, const char *kid,
    const char *alg, enum hoop_jwks_miss *miss);

#endif
