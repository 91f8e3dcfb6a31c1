#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "hoop_b64.h"
#include "hoop_jwks.h"

#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	8192
#define RSA_MAX_E_LEN	8	/* 64-bit public exponents are plenty */

struct jwk {
	char *kid;		/* NULL when the key has none */
	char *alg;		/* NULL: any alg that fits the kind */
	enum hoop_jwk_kind kind;
	EVP_PKEY *pkey;
};

struct hoop_jwks {
	struct jwk *keys;
	size_t n;
};

static const struct {
	const char *alg;
	enum hoop_jwk_kind kind;
} alg_kinds[] = {
	{ "RS256", HOOP_JWK_RSA }, { "RS384", HOOP_JWK_RSA },
	{ "RS512", HOOP_JWK_RSA }, { "PS256", HOOP_JWK_RSA },
	{ "PS384", HOOP_JWK_RSA }, { "PS512", HOOP_JWK_RSA },
	{ "ES256", HOOP_JWK_P256 }, { "ES384", HOOP_JWK_P384 },
	{ "ES512", HOOP_JWK_P521 }, { "EdDSA", HOOP_JWK_ED25519 },
};

static const struct {
	const char *crv;
	enum hoop_jwk_kind kind;
	size_t coord_len;
} ec_curves[] = {
	{ "P-256", HOOP_JWK_P256, 32 },
	{ "P-384", HOOP_JWK_P384, 48 },
	{ "P-521", HOOP_JWK_P521, 66 },
};

/* Members only a private (or symmetric) key has. */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

enum hoop_jwk_kind
hoop_jwks_alg_kind(const char *alg)
{
	size_t i;

	if (alg == NULL)
		return HOOP_JWK_NONE;
	for (i = 0; i < sizeof(alg_kinds) / sizeof(alg_kinds[0]); i++) {
		if (strcmp(alg, alg_kinds[i].alg) == 0)
			return alg_kinds[i].kind;
	}
	return HOOP_JWK_NONE;
}

/* Formats a message into why; anything outside printable ASCII (the
 * document's own bytes, echoed by jansson or in a kid) becomes '?', since
 * the message goes to the log. */
static void __attribute__((format(printf, 3, 4)))
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	for (p = why; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	}
}

/* Decodes the base64url string member name of a key. */
static hoop_err_t
get_b64(const json_t *jwk, const char *name, unsigned char **out,
    size_t *outlen)
{
	const json_t *v = json_object_get(jwk, name);

	if (!json_is_string(v))
		return HOOP_ERR_INVAL;
	return hoop_b64url_decode(json_string_value(v), json_string_length(v),
	    out, outlen);
}

/* Builds a public key from params. With check, the key must also pass
 * OpenSSL's public-key check (EC: point on the curve, not at infinity).
 * RSA skips it: it runs a primality test on n, about 3 ms at 2048 bits
 * and 130 ms at 8192, on every parse; rsa_key() checks the form itself. */
static hoop_err_t
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, int check,
    EVP_PKEY **out, const char **msg)
{
	hoop_err_t ret = HOOP_ERR_CRYPTO;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	EVP_PKEY *pkey = NULL;

	*msg = "cannot build key";
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0)
		goto out;
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		/* For EC this is where a point off the curve is caught. */
		*msg = "key rejected by OpenSSL (point not on the curve?)";
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	if (check && (cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey,
	    NULL)) == NULL)
		goto out;
	if (check && EVP_PKEY_public_check(cctx) != 1) {
		*msg = "public key check failed (point not on the curve?)";
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	*out = pkey;
	pkey = NULL;
	ret = HOOP_OK;
out:
	/* Failures here come from untrusted input: leave no queued errors
	 * behind for whoever uses OpenSSL next in this process. */
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return ret;
}

static int
bit_length(const unsigned char *b, size_t len)
{
	int bits = 8;
	unsigned char top = b[0];

	while (bits > 0 && !(top & 0x80)) {
		top <<= 1;
		bits--;
	}
	return (int)(len - 1) * 8 + bits;
}

static hoop_err_t
rsa_key(const json_t *jwk, EVP_PKEY **out, const char **msg)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	int bits;

	*msg = "RSA key needs base64url \"n\" and \"e\"";
	if ((ret = get_b64(jwk, "n", &n, &nlen)) != HOOP_OK ||
	    (ret = get_b64(jwk, "e", &e, &elen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	/* RFC 7518 6.3.1: minimal big-endian octets, no leading zero. */
	if (nlen == 0 || n[0] == 0 || elen == 0 || e[0] == 0) {
		*msg = "RSA \"n\" or \"e\" empty or not minimally encoded";
		goto out;
	}
	bits = bit_length(n, nlen);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		*msg = bits < RSA_MIN_BITS ? "RSA modulus under 2048 bits" :
		    "RSA modulus over 8192 bits";
		goto out;
	}
	if (!(n[nlen - 1] & 1) || !(e[elen - 1] & 1) || elen > RSA_MAX_E_LEN ||
	    (elen == 1 && e[0] < 3)) {
		*msg = "RSA modulus or exponent out of range";
		goto out;
	}
	ret = HOOP_ERR_NOMEM;
	*msg = "out of memory";
	if ((bn_n = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	ret = pkey_from_params("RSA", bld, 0, out, msg);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return ret;
}

static hoop_err_t
ec_key(const json_t *jwk, const char *crv, size_t coord_len, EVP_PKEY **out,
    const char **msg)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char *x = NULL, *y = NULL, point[1 + 2 * 66];
	size_t xlen = 0, ylen = 0;
	OSSL_PARAM_BLD *bld = NULL;

	*msg = "EC key needs base64url \"x\" and \"y\"";
	if ((ret = get_b64(jwk, "x", &x, &xlen)) != HOOP_OK ||
	    (ret = get_b64(jwk, "y", &y, &ylen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	/* RFC 7518 6.2.1.2: full-length coordinates, leading zeros kept. */
	if (xlen != coord_len || ylen != coord_len ||
	    1 + 2 * coord_len > sizeof(point)) {
		*msg = "EC coordinate of the wrong length for the curve";
		goto out;
	}
	/* OpenSSL takes the point as one uncompressed SEC1 octet string. */
	point[0] = 0x04;
	memcpy(point + 1, x, coord_len);
	memcpy(point + 1 + coord_len, y, coord_len);
	ret = HOOP_ERR_NOMEM;
	*msg = "out of memory";
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    crv, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, 1 + 2 * coord_len))
		goto out;
	ret = pkey_from_params("EC", bld, 1, out, msg);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return ret;
}

/*
 * OpenSSL takes any 32 bytes as an Ed25519 public key. Refused here: an
 * encoding that is no point (y >= p, or no x for that y), and the points
 * of small order (the identity, (0, -1), y = 0, and the order-8 points,
 * where x^2 = -y^2): with such a key, signatures are forged without any
 * private key. x^2 = (y^2 - 1) / (d y^2 + 1) mod p, d = -121665/121666.
 */
static hoop_err_t
ed25519_point_check(const unsigned char *enc, const char **msg)
{
	hoop_err_t ret = HOOP_ERR_NOMEM;
	BIGNUM *p, *d, *y, *y2, *u, *v, *x2, *r;
	unsigned char be[32];
	BN_CTX *ctx = NULL;
	size_t i;

	*msg = "out of memory";
	if ((ctx = BN_CTX_new()) == NULL)
		goto out;
	BN_CTX_start(ctx);
	p = BN_CTX_get(ctx);
	d = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	y2 = BN_CTX_get(ctx);
	u = BN_CTX_get(ctx);
	v = BN_CTX_get(ctx);
	x2 = BN_CTX_get(ctx);
	if ((r = BN_CTX_get(ctx)) == NULL)
		goto out;
	/* Little-endian y; the top bit is the sign of x, not part of y. */
	for (i = 0; i < sizeof(be); i++)
		be[i] = enc[sizeof(be) - 1 - i];
	be[0] &= 0x7f;
	if (BN_bin2bn(be, (int)sizeof(be), y) == NULL ||
	    !BN_lshift(p, BN_value_one(), 255) || !BN_sub_word(p, 19) ||
	    !BN_set_word(u, 121666) ||
	    BN_mod_inverse(v, u, p, ctx) == NULL ||
	    !BN_set_word(u, 121665) || !BN_sub(u, p, u) ||
	    !BN_mod_mul(d, u, v, p, ctx))
		goto out;
	ret = HOOP_ERR_INVAL;
	*msg = "Ed25519 \"x\" is not a point";
	if (BN_cmp(y, p) >= 0)
		goto out;
	ret = HOOP_ERR_NOMEM;
	if (!BN_mod_sqr(y2, y, p, ctx) ||
	    !BN_mod_sub(u, y2, BN_value_one(), p, ctx) ||
	    !BN_mod_mul(v, d, y2, p, ctx) ||
	    !BN_mod_add(v, v, BN_value_one(), p, ctx) ||
	    BN_mod_inverse(v, v, p, ctx) == NULL ||
	    !BN_mod_mul(x2, u, v, p, ctx) ||
	    !BN_mod_add(u, x2, y2, p, ctx))
		goto out;
	/* x = 0 has a root, but only the identity and (0, -1) have it. */
	if (!BN_is_zero(x2)) {
		ret = HOOP_ERR_INVAL;
		if (BN_mod_sqrt(r, x2, p, ctx) == NULL)
			goto out;
		ret = HOOP_ERR_NOMEM;
		if (!BN_mod_sqr(r, r, p, ctx))
			goto out;
		ret = HOOP_ERR_INVAL;
		if (BN_cmp(r, x2) != 0)
			goto out;
	}
	ret = HOOP_ERR_INVAL;
	*msg = "Ed25519 key of small order";
	if (BN_is_zero(x2) || BN_is_zero(y) || BN_is_zero(u))
		goto out;
	ret = HOOP_OK;
out:
	if (ret == HOOP_ERR_NOMEM)
		*msg = "out of memory";
	/* BN_mod_sqrt queues an error for a non-square: not ours to keep. */
	ERR_clear_error();
	if (ctx != NULL)
		BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return ret;
}

static hoop_err_t
ed25519_key(const json_t *jwk, EVP_PKEY **out, const char **msg)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char *x = NULL;
	size_t xlen = 0;
	OSSL_PARAM_BLD *bld = NULL;

	*msg = "Ed25519 key needs a 32-byte base64url \"x\"";
	if ((ret = get_b64(jwk, "x", &x, &xlen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	if (xlen != 32 || (ret = ed25519_point_check(x, msg)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_NOMEM;
	*msg = "out of memory";
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    x, xlen))
		goto out;
	ret = pkey_from_params("ED25519", bld, 1, out, msg);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	return ret;
}

/* Optional string member: absent is fine, any other type is not. */
static int
opt_string(const json_t *jwk, const char *name, const char **out)
{
	const json_t *v = json_object_get(jwk, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Parses keys[idx] into k; a key hoop does not use leaves k->pkey NULL. */
static hoop_err_t
parse_key(const json_t *jwk, size_t idx, struct jwk *k, char *why,
    size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *kty, *crv, *use, *kid, *alg, *msg = NULL;
	enum hoop_jwk_kind kind = HOOP_JWK_NONE;
	EVP_PKEY *pkey = NULL;
	size_t i;

	if (!json_is_object(jwk)) {
		say(why, whylen, "key %zu: not a JSON object", idx);
		goto out;
	}
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]);
	    i++) {
		if (json_object_get(jwk, private_members[i]) != NULL) {
			say(why, whylen, "key %zu: has private member \"%s\"",
			    idx, private_members[i]);
			goto out;
		}
	}
	if (opt_string(jwk, "use", &use) == -1 ||
	    opt_string(jwk, "kty", &kty) == -1 || kty == NULL ||
	    opt_string(jwk, "kid", &kid) == -1 ||
	    opt_string(jwk, "alg", &alg) == -1) {
		say(why, whylen, "key %zu: \"kty\" missing, or \"kty\", \"use\", "
		    "\"kid\" or \"alg\" not a string", idx);
		goto out;
	}
	if (use != NULL && strcmp(use, "sig") != 0) {
		ret = HOOP_OK;		/* an encryption key: not ours */
		goto out;
	}
	if (strcmp(kty, "RSA") == 0) {
		kind = HOOP_JWK_RSA;
		ret = rsa_key(jwk, &pkey, &msg);
	} else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		if (opt_string(jwk, "crv", &crv) == -1 || crv == NULL) {
			say(why, whylen, "key %zu: %s key without \"crv\"", idx,
			    kty);
			goto out;
		}
		for (i = 0; kty[0] == 'E' &&
		    i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++) {
			if (strcmp(crv, ec_curves[i].crv) == 0)
				break;
		}
		if (kty[0] == 'E' &&
		    i < sizeof(ec_curves) / sizeof(ec_curves[0])) {
			kind = ec_curves[i].kind;
			ret = ec_key(jwk, crv, ec_curves[i].coord_len, &pkey,
			    &msg);
		} else if (kty[0] == 'O' && strcmp(crv, "Ed25519") == 0) {
			kind = HOOP_JWK_ED25519;
			ret = ed25519_key(jwk, &pkey, &msg);
		} else
			ret = HOOP_OK;	/* a curve we do not verify with */
	} else
		ret = HOOP_OK;		/* "oct" (without "k") or unknown */
	if (ret != HOOP_OK) {
		say(why, whylen, "key %zu%s%.64s%s: %s", idx,
		    kid != NULL ? " (kid \"" : "", kid != NULL ? kid : "",
		    kid != NULL ? "\")" : "", msg);
		goto out;
	}
	if (pkey == NULL)
		goto out;
	if ((kid != NULL && (k->kid = strdup(kid)) == NULL) ||
	    (alg != NULL && (k->alg = strdup(alg)) == NULL)) {
		free(k->kid);
		k->kid = NULL;
		ret = HOOP_ERR_NOMEM;
		say(why, whylen, "out of memory");
		goto out;
	}
	k->kind = kind;
	k->pkey = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	return ret;
}

hoop_err_t
hoop_jwks_parse(const char *json, size_t len, hoop_jwks_t **out, char *why,
    size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_INVAL, err;
	hoop_jwks_t *set = NULL;
	json_t *root = NULL, *keys, *jwk;
	json_error_t jerr;
	size_t i, n;

	say(why, whylen, "%s", "");
	if (len > HOOP_JWKS_MAX_SIZE) {
		say(why, whylen, "document of %zu bytes, limit %d", len,
		    HOOP_JWKS_MAX_SIZE);
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		say(why, whylen, "not JSON: %s at offset %d", jerr.text,
		    jerr.position);
		goto out;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		say(why, whylen, "not a JWKS: no \"keys\" array");
		goto out;
	}
	if ((n = json_array_size(keys)) > HOOP_JWKS_MAX_KEYS) {
		say(why, whylen, "%zu keys, limit %d", n, HOOP_JWKS_MAX_KEYS);
		goto out;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(n > 0 ? n : 1, sizeof(*set->keys))) == NULL) {
		say(why, whylen, "out of memory");
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(keys, i, jwk) {
		if ((err = parse_key(jwk, i, &set->keys[set->n], why,
		    whylen)) != HOOP_OK) {
			ret = err;
			goto out;
		}
		if (set->keys[set->n].pkey != NULL)
			set->n++;
	}
	if (set->n == 0) {
		say(why, whylen, "no usable signing key");
		goto out;
	}
	*out = set;
	set = NULL;
	ret = HOOP_OK;
out:
	hoop_jwks_free(set);
	json_decref(root);
	return ret;
}

void
hoop_jwks_free(hoop_jwks_t *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		free(set->keys[i].kid);
		free(set->keys[i].alg);
		EVP_PKEY_free(set->keys[i].pkey);
	}
	free(set->keys);
	free(set);
}

size_t
hoop_jwks_count(const hoop_jwks_t *set)
{
	return set != NULL ? set->n : 0;
}

const EVP_PKEY *
hoop_jwks_find(const hoop_jwks_t *set, const char *kid, const char *alg,
    enum hoop_jwks_miss *miss)
{
	enum hoop_jwk_kind need = hoop_jwks_alg_kind(alg);
	enum hoop_jwks_miss why;
	const struct jwk *hit = NULL, *k;
	size_t i, named = 0, fits = 0;

	for (i = 0; set != NULL && i < set->n; i++) {
		k = &set->keys[i];
		if (kid != NULL) {
			if (k->kid == NULL || strcmp(k->kid, kid) != 0)
				continue;
			named++;
		}
		if (need == HOOP_JWK_NONE || k->kind != need ||
		    (k->alg != NULL && strcmp(k->alg, alg) != 0))
			continue;
		fits++;
		hit = k;
	}
	if (fits == 1)
		why = HOOP_JWKS_FOUND;
	else if (fits > 1)
		why = HOOP_JWKS_AMBIGUOUS;
	else if (kid != NULL)
		why = named == 0 ? HOOP_JWKS_NO_KID : HOOP_JWKS_MISMATCH;
	else
		why = HOOP_JWKS_NO_FIT;
	if (miss != NULL)
		*miss = why;
	return why == HOOP_JWKS_FOUND ? hit->pkey : NULL;
}
