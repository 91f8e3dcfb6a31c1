#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "hoop_b64.h"
#include "hoop_jwt.h"

struct hoop_jwt {
	char *token;		/* our copy, wiped on free */
	size_t len;
	size_t signed_len;	/* "header.payload": the JWS signing input */
	unsigned char *sig;
	size_t sig_len;
	json_t *header;
	json_t *claims;
	const char *alg;	/* borrowed from header */
	const char *kid;	/* borrowed from header, or NULL */
};

/* How each supported alg is verified. */
static const struct alg_spec {
	const char *name;
	const char *md;		/* NULL: EdDSA hashes internally */
	int pss;
	size_t ec_len;		/* raw r||s length for ECDSA, else 0 */
} alg_specs[] = {
	{ "RS256", "SHA256", 0, 0 },
	{ "RS384", "SHA384", 0, 0 },
	{ "RS512", "SHA512", 0, 0 },
	{ "PS256", "SHA256", 1, 0 },
	{ "PS384", "SHA384", 1, 0 },
	{ "PS512", "SHA512", 1, 0 },
	{ "ES256", "SHA256", 0, 64 },
	{ "ES384", "SHA384", 0, 96 },
	{ "ES512", "SHA512", 0, 132 },
	{ "EdDSA", NULL, 0, 0 },
};

static const char *const reasons[HOOP_JWT__COUNT] = {
	[HOOP_JWT_OK] = "ok",
	[HOOP_JWT_MALFORMED] = "malformed",
	[HOOP_JWT_TOO_LARGE] = "too large",
	[HOOP_JWT_JWE] = "not JWS compact (JWE?)",
	[HOOP_JWT_BAD_B64] = "bad base64url",
	[HOOP_JWT_HEADER_NOT_JSON] = "header not JSON",
	[HOOP_JWT_PAYLOAD_NOT_JSON] = "payload not JSON",
	[HOOP_JWT_DUPLICATE_KEY] = "duplicate JSON key",
	[HOOP_JWT_BAD_HEADER] = "bad header",
	[HOOP_JWT_ALG_NONE] = "alg none",
	[HOOP_JWT_ALG_NOT_ALLOWED] = "alg not allowed",
	[HOOP_JWT_ALG_UNSUPPORTED] = "alg unsupported",
	[HOOP_JWT_CRIT] = "crit header",
	[HOOP_JWT_NO_SIGNATURE] = "empty signature",
	[HOOP_JWT_UNKNOWN_KID] = "unknown kid",
	[HOOP_JWT_NO_KEY] = "no key for alg",
	[HOOP_JWT_AMBIGUOUS_KEY] = "ambiguous key",
	[HOOP_JWT_KEY_MISMATCH] = "key type mismatch",
	[HOOP_JWT_BAD_SIGNATURE] = "bad signature",
	[HOOP_JWT_BAD_SIGNATURE_ENCODING] = "bad signature encoding",
	[HOOP_JWT_EXPIRED] = "expired",
	[HOOP_JWT_NOT_YET_VALID] = "not yet valid",
	[HOOP_JWT_IAT_FUTURE] = "issued in the future",
	[HOOP_JWT_TOO_OLD] = "too old",
	[HOOP_JWT_BAD_ISSUER] = "bad issuer",
	[HOOP_JWT_BAD_AUDIENCE] = "bad audience",
	[HOOP_JWT_MISSING_CLAIM] = "missing claim",
	[HOOP_JWT_CLAIM_TYPE] = "claim type",
	[HOOP_JWT_NOMEM] = "out of memory",
	[HOOP_JWT_INTERNAL] = "internal error",
};

const char *
hoop_jwt_reason_str(enum hoop_jwt_reason reason)
{
	if ((unsigned)reason >= HOOP_JWT__COUNT || reasons[reason] == NULL)
		return "unknown reason";
	return reasons[reason];
}

/* Sets *why and maps the reason onto the library's error space. */
static hoop_err_t
result(enum hoop_jwt_reason r, enum hoop_jwt_reason *why)
{
	if (why != NULL)
		*why = r;
	switch (r) {
	case HOOP_JWT_OK:
		return HOOP_OK;
	case HOOP_JWT_NOMEM:
		return HOOP_ERR_NOMEM;
	case HOOP_JWT_INTERNAL:
		return HOOP_ERR_CRYPTO;
	default:
		return HOOP_ERR_DENIED;
	}
}

/* Decodes one segment into a JSON object. */
static enum hoop_jwt_reason
segment_json(const char *seg, size_t len, enum hoop_jwt_reason not_json,
    json_t **out)
{
	enum hoop_jwt_reason r = HOOP_JWT_BAD_B64;
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	json_error_t jerr;
	json_t *v = NULL;
	hoop_err_t err;

	if ((err = hoop_b64url_decode(seg, len, &raw, &raw_len)) != HOOP_OK) {
		if (err == HOOP_ERR_NOMEM)
			r = HOOP_JWT_NOMEM;
		goto out;
	}
	if ((v = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		r = json_error_code(&jerr) == json_error_duplicate_key ?
		    HOOP_JWT_DUPLICATE_KEY :
		    json_error_code(&jerr) == json_error_out_of_memory ?
		    HOOP_JWT_NOMEM : not_json;
		goto out;
	}
	if (!json_is_object(v)) {
		r = not_json;
		goto out;
	}
	*out = v;
	v = NULL;
	r = HOOP_JWT_OK;
out:
	json_decref(v);
	if (raw != NULL) {
		explicit_bzero(raw, raw_len);
		free(raw);
	}
	return r;
}

/* Optional header string: absent is fine, another type is not. */
static int
header_string(const json_t *header, const char *name, const char **out)
{
	const json_t *v = json_object_get(header, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

hoop_err_t
hoop_jwt_parse(const char *token, size_t len, hoop_jwt_t **out,
    enum hoop_jwt_reason *why)
{
	enum hoop_jwt_reason r = HOOP_JWT_MALFORMED;
	hoop_jwt_t *jwt = NULL;
	size_t dots[2], ndots = 0, i, pay_len, sig_len;
	const char *typ;
	hoop_err_t err;

	if (token == NULL || out == NULL) {
		result(HOOP_JWT_INTERNAL, why);
		return HOOP_ERR_INVAL;
	}
	/* Before anything that costs in proportion to the input. */
	if (len > HOOP_JWT_MAX_SIZE) {
		r = HOOP_JWT_TOO_LARGE;
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (token[i] == '.') {
			if (ndots < 2)
				dots[ndots] = i;
			ndots++;
		}
	}
	if (ndots == 4) {
		r = HOOP_JWT_JWE;
		goto out;
	}
	if (ndots != 2)
		goto out;
	pay_len = dots[1] - dots[0] - 1;
	sig_len = len - dots[1] - 1;
	/* An empty payload would be RFC 7797 detached content: not ours. */
	if (dots[0] == 0 || pay_len == 0)
		goto out;

	r = HOOP_JWT_NOMEM;
	if ((jwt = calloc(1, sizeof(*jwt))) == NULL ||
	    (jwt->token = malloc(len + 1)) == NULL)
		goto out;
	memcpy(jwt->token, token, len);
	jwt->token[len] = '\0';
	jwt->len = len;

	if ((r = segment_json(jwt->token, dots[0], HOOP_JWT_HEADER_NOT_JSON,
	    &jwt->header)) != HOOP_JWT_OK)
		goto out;
	r = HOOP_JWT_BAD_HEADER;
	if (header_string(jwt->header, "alg", &jwt->alg) == -1 ||
	    jwt->alg == NULL)
		goto out;
	if (strcasecmp(jwt->alg, "none") == 0) {
		r = HOOP_JWT_ALG_NONE;
		goto out;
	}
	if (json_object_get(jwt->header, "crit") != NULL) {
		r = HOOP_JWT_CRIT;
		goto out;
	}
	if (header_string(jwt->header, "kid", &jwt->kid) == -1 ||
	    header_string(jwt->header, "typ", &typ) == -1)
		goto out;

	if ((r = segment_json(jwt->token + dots[0] + 1, pay_len,
	    HOOP_JWT_PAYLOAD_NOT_JSON, &jwt->claims)) != HOOP_JWT_OK)
		goto out;
	if (sig_len == 0) {
		r = HOOP_JWT_NO_SIGNATURE;
		goto out;
	}
	if ((err = hoop_b64url_decode(jwt->token + dots[1] + 1, sig_len,
	    &jwt->sig, &jwt->sig_len)) != HOOP_OK) {
		r = err == HOOP_ERR_NOMEM ? HOOP_JWT_NOMEM : HOOP_JWT_BAD_B64;
		goto out;
	}
	jwt->signed_len = dots[1];
	*out = jwt;
	jwt = NULL;
	r = HOOP_JWT_OK;
out:
	hoop_jwt_free(jwt);
	return result(r, why);
}

void
hoop_jwt_free(hoop_jwt_t *jwt)
{
	if (jwt == NULL)
		return;
	if (jwt->token != NULL) {
		explicit_bzero(jwt->token, jwt->len);
		free(jwt->token);
	}
	if (jwt->sig != NULL) {
		explicit_bzero(jwt->sig, jwt->sig_len);
		free(jwt->sig);
	}
	json_decref(jwt->header);
	json_decref(jwt->claims);
	free(jwt);
}

/* The curve of an EC key as a NID, or NID_undef. */
static int
ec_curve_nid(const EVP_PKEY *pkey)
{
	char group[64];
	int nid;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL))
		return NID_undef;
	if ((nid = EC_curve_nist2nid(group)) != NID_undef)
		return nid;
	return OBJ_sn2nid(group);
}

/* Checks the key itself, not what the JWKS said about it, against the
 * kind the alg needs: the last guard against alg confusion. */
static int
key_is(const EVP_PKEY *pkey, enum hoop_jwk_kind kind)
{
	switch (kind) {
	case HOOP_JWK_RSA:
		return EVP_PKEY_is_a(pkey, "RSA");
	case HOOP_JWK_P256:
		return ec_curve_nid(pkey) == NID_X9_62_prime256v1;
	case HOOP_JWK_P384:
		return ec_curve_nid(pkey) == NID_secp384r1;
	case HOOP_JWK_P521:
		return ec_curve_nid(pkey) == NID_secp521r1;
	case HOOP_JWK_ED25519:
		return EVP_PKEY_is_a(pkey, "ED25519");
	case HOOP_JWK_NONE:
		break;
	}
	return 0;
}

/* JWS carries ECDSA signatures as fixed-size r||s; OpenSSL wants DER. */
static enum hoop_jwt_reason
ecdsa_to_der(const unsigned char *raw, size_t raw_len, unsigned char **out,
    size_t *out_len)
{
	enum hoop_jwt_reason r = HOOP_JWT_NOMEM;
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	int n;

	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(raw, (int)(raw_len / 2), NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2),
	    NULL)) == NULL || !ECDSA_SIG_set0(sig, br, bs))
		goto out;
	br = bs = NULL;		/* now owned by sig */
	if ((n = i2d_ECDSA_SIG(sig, &der)) <= 0) {
		r = HOOP_JWT_INTERNAL;
		goto out;
	}
	*out = der;
	der = NULL;
	*out_len = (size_t)n;
	r = HOOP_JWT_OK;
out:
	OPENSSL_free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return r;
}

static enum hoop_jwt_reason
find_key(const hoop_jwt_t *jwt, const hoop_jwks_t *keys,
    const EVP_PKEY **out)
{
	enum hoop_jwks_miss miss = HOOP_JWKS_NO_FIT;

	if ((*out = hoop_jwks_find(keys, jwt->kid, jwt->alg, &miss)) != NULL)
		return HOOP_JWT_OK;
	switch (miss) {
	case HOOP_JWKS_NO_KID:
		return HOOP_JWT_UNKNOWN_KID;
	case HOOP_JWKS_MISMATCH:
		return HOOP_JWT_KEY_MISMATCH;
	case HOOP_JWKS_AMBIGUOUS:
		return HOOP_JWT_AMBIGUOUS_KEY;
	case HOOP_JWKS_FOUND:
	case HOOP_JWKS_NO_FIT:
		break;
	}
	return HOOP_JWT_NO_KEY;
}

hoop_err_t
hoop_jwt_verify(const hoop_jwt_t *jwt, const hoop_jwks_t *keys,
    const char *const *allowed_algs, size_t n_allowed,
    enum hoop_jwt_reason *why)
{
	enum hoop_jwt_reason r = HOOP_JWT_ALG_NOT_ALLOWED;
	const struct alg_spec *spec = NULL;
	enum hoop_jwk_kind kind;
	const EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md_ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t i, sig_len;

	if (jwt == NULL || keys == NULL || (allowed_algs == NULL &&
	    n_allowed > 0)) {
		result(HOOP_JWT_INTERNAL, why);
		return HOOP_ERR_INVAL;
	}
	for (i = 0; i < n_allowed; i++) {
		if (allowed_algs[i] != NULL &&
		    strcmp(allowed_algs[i], jwt->alg) == 0)
			break;
	}
	if (i == n_allowed)
		goto out;
	/* Listed is not enough: HS* and anything unknown stop here. */
	r = HOOP_JWT_ALG_UNSUPPORTED;
	for (i = 0; i < sizeof(alg_specs) / sizeof(alg_specs[0]); i++) {
		if (strcmp(alg_specs[i].name, jwt->alg) == 0)
			spec = &alg_specs[i];
	}
	if (spec == NULL ||
	    (kind = hoop_jwks_alg_kind(jwt->alg)) == HOOP_JWK_NONE)
		goto out;
	if ((r = find_key(jwt, keys, &pkey)) != HOOP_JWT_OK)
		goto out;
	r = HOOP_JWT_KEY_MISMATCH;
	if (!key_is(pkey, kind))
		goto out;

	/* Signature sizes are fixed by the key: anything else is not a
	 * signature, whatever OpenSSL would make of it. */
	r = HOOP_JWT_BAD_SIGNATURE_ENCODING;
	sig = jwt->sig;
	sig_len = jwt->sig_len;
	if (spec->ec_len != 0) {
		if (sig_len != spec->ec_len)
			goto out;
		if ((r = ecdsa_to_der(jwt->sig, jwt->sig_len, &der,
		    &sig_len)) != HOOP_JWT_OK)
			goto out;
		sig = der;
	} else if (kind == HOOP_JWK_ED25519) {
		if (sig_len != 64)
			goto out;
	} else if (EVP_PKEY_get_size(pkey) <= 0 ||
	    sig_len != (size_t)EVP_PKEY_get_size(pkey))
		goto out;

	r = HOOP_JWT_INTERNAL;
	/* OpenSSL's prototype is not const but only takes a reference. */
	if ((md_ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md_ctx, &pctx, spec->md, NULL, NULL,
	    (EVP_PKEY *)pkey, NULL) <= 0)
		goto out;
	if (spec->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, spec->md, NULL) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto out;
	if (EVP_DigestVerify(md_ctx, sig, sig_len,
	    (const unsigned char *)jwt->token, jwt->signed_len) != 1) {
		r = HOOP_JWT_BAD_SIGNATURE;
		goto out;
	}
	r = HOOP_JWT_OK;
out:
	/* Refusals leave errors queued; do not hand them to the next user
	 * of OpenSSL in this process (sshd, through PAM). */
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md_ctx);
	return result(r, why);
}

static long long
sat_add(long long a, long long b)
{
	long long s;

	if (__builtin_add_overflow(a, b, &s))
		return b > 0 ? LLONG_MAX : LLONG_MIN;
	return s;
}

static long long
sat_sub(long long a, long long b)
{
	long long s;

	if (__builtin_sub_overflow(a, b, &s))
		return b < 0 ? LLONG_MAX : LLONG_MIN;
	return s;
}

/* A NumericDate claim: integer seconds, or a real floored. */
static enum hoop_jwt_reason
claim_time(const json_t *claims, const char *name, int required,
    long long *out, int *present)
{
	const json_t *v = json_object_get(claims, name);
	double d;
	long long t;

	*present = 0;
	if (v == NULL)
		return required ? HOOP_JWT_MISSING_CLAIM : HOOP_JWT_OK;
	if (json_is_integer(v))
		t = json_integer_value(v);
	else if (json_is_real(v)) {
		d = json_real_value(v);
		/* Far outside any time_t we compare with; also keeps the
		 * conversion below defined. */
		if (!(d > -9.0e18 && d < 9.0e18))
			return HOOP_JWT_CLAIM_TYPE;
		t = (long long)d;
		if ((double)t > d)
			t--;
	} else
		return HOOP_JWT_CLAIM_TYPE;
	*out = t;
	*present = 1;
	return HOOP_JWT_OK;
}

static int
audience_wanted(const struct hoop_jwt_expect *expect, const char *aud)
{
	size_t i;

	for (i = 0; i < expect->n_audiences; i++) {
		if (expect->audiences[i] != NULL &&
		    strcmp(expect->audiences[i], aud) == 0)
			return 1;
	}
	return 0;
}

static enum hoop_jwt_reason
check_audience(const json_t *claims, const struct hoop_jwt_expect *expect)
{
	const json_t *aud = json_object_get(claims, "aud"), *v;
	size_t i;
	int match = 0;

	if (aud == NULL)
		return HOOP_JWT_MISSING_CLAIM;
	if (json_is_string(aud))
		match = audience_wanted(expect, json_string_value(aud));
	else if (json_is_array(aud) && json_array_size(aud) > 0) {
		/* Every element a string, before looking for ours. */
		json_array_foreach(aud, i, v) {
			if (!json_is_string(v))
				return HOOP_JWT_CLAIM_TYPE;
		}
		json_array_foreach(aud, i, v) {
			if (audience_wanted(expect, json_string_value(v)))
				match = 1;
		}
	} else
		return HOOP_JWT_CLAIM_TYPE;
	return match ? HOOP_JWT_OK : HOOP_JWT_BAD_AUDIENCE;
}

hoop_err_t
hoop_jwt_check_claims(const hoop_jwt_t *jwt,
    const struct hoop_jwt_expect *expect, enum hoop_jwt_reason *why)
{
	enum hoop_jwt_reason r = HOOP_JWT_MISSING_CLAIM;
	const json_t *iss;
	long long now, skew, exp = 0, nbf = 0, iat = 0;
	int has_nbf, present;

	if (jwt == NULL || expect == NULL || expect->issuer == NULL ||
	    expect->n_audiences == 0 || expect->audiences == NULL) {
		result(HOOP_JWT_INTERNAL, why);
		return HOOP_ERR_INVAL;
	}
	now = (long long)expect->now;
	skew = expect->clock_skew > 0 ? expect->clock_skew : 0;

	if ((iss = json_object_get(jwt->claims, "iss")) == NULL)
		goto out;
	r = HOOP_JWT_CLAIM_TYPE;
	if (!json_is_string(iss))
		goto out;
	r = HOOP_JWT_BAD_ISSUER;
	if (strcmp(json_string_value(iss), expect->issuer) != 0)
		goto out;
	if ((r = check_audience(jwt->claims, expect)) != HOOP_JWT_OK)
		goto out;
	if ((r = claim_time(jwt->claims, "exp", 1, &exp,
	    &present)) != HOOP_JWT_OK ||
	    (r = claim_time(jwt->claims, "nbf", 0, &nbf,
	    &has_nbf)) != HOOP_JWT_OK ||
	    (r = claim_time(jwt->claims, "iat", 1, &iat,
	    &present)) != HOOP_JWT_OK)
		goto out;
	r = HOOP_JWT_EXPIRED;
	if (now >= sat_add(exp, skew))
		goto out;
	r = HOOP_JWT_NOT_YET_VALID;
	if (has_nbf && now < sat_sub(nbf, skew))
		goto out;
	r = HOOP_JWT_IAT_FUTURE;
	if (iat > sat_add(now, skew))
		goto out;
	r = HOOP_JWT_TOO_OLD;
	if (expect->max_age > 0 && sat_sub(now, iat) > expect->max_age)
		goto out;
	r = HOOP_JWT_OK;
out:
	return result(r, why);
}

json_t *
hoop_jwt_claims(const hoop_jwt_t *jwt)
{
	return jwt != NULL ? jwt->claims : NULL;
}

const char *
hoop_jwt_claim_str(const hoop_jwt_t *jwt, const char *name)
{
	const json_t *v;

	if (jwt == NULL || name == NULL)
		return NULL;
	v = json_object_get(jwt->claims, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *
hoop_jwt_alg(const hoop_jwt_t *jwt)
{
	return jwt != NULL ? jwt->alg : NULL;
}

const char *
hoop_jwt_kid(const hoop_jwt_t *jwt)
{
	return jwt != NULL ? jwt->kid : NULL;
}
