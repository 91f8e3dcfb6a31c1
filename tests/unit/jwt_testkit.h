/*
 * Test-only helpers to make keys, JWKS and signed tokens (unit tests and
 * tests/tools/hoop-mint-token). Written independently of lib/jwt.c so that
 * the two do not share mistakes: own base64url encoder, own signing.
 * Functions return NULL or -1 on failure; strings and buffers are malloc'd.
 */
#ifndef HOOP_JWT_TESTKIT_H
#define HOOP_JWT_TESTKIT_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#define TK_UNUSED __attribute__((unused))

/* tk_sign() flags: hostile signature forms. */
#define TK_ES_DER	(1 << 0)	/* ECDSA left in DER, as OpenSSL makes it */
#define TK_PSS_SALT0	(1 << 1)	/* PSS with an empty salt */

static TK_UNUSED char *
tk_b64url(const void *data, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *in = data;
	char *out, *p;
	unsigned long v;
	size_t i;

	if ((out = malloc(len / 3 * 4 + 5)) == NULL)
		return NULL;
	p = out;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
		*p++ = abc[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned long)in[i] << 16;
		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
	}
	*p = '\0';
	return out;
}

/* type: rsa (2048 bits), rsa1024, rsa4096, ec256, ec384, ec521, ed25519. */
static TK_UNUSED EVP_PKEY *
tk_keygen(const char *type)
{
	if (strcmp(type, "rsa") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(type, "rsa1024") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	if (strcmp(type, "rsa4096") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	if (strcmp(type, "ec256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(type, "ec384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(type, "ec521") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	if (strcmp(type, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

/* JWK crv and coordinate size of an EC key; NULL if not a JOSE curve. */
static TK_UNUSED const char *
tk_ec_curve(const EVP_PKEY *pkey, size_t *coord_len)
{
	char group[64];
	int nid;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL))
		return NULL;
	if ((nid = EC_curve_nist2nid(group)) == NID_undef)
		nid = OBJ_sn2nid(group);
	switch (nid) {
	case NID_X9_62_prime256v1:
		*coord_len = 32;
		return "P-256";
	case NID_secp384r1:
		*coord_len = 48;
		return "P-384";
	case NID_secp521r1:
		*coord_len = 66;
		return "P-521";
	}
	return NULL;
}

/* Sets obj[name] to the base64url of a big number, padded to pad bytes
 * (0: minimal). */
static TK_UNUSED int
tk_set_bn(json_t *obj, const char *name, const EVP_PKEY *pkey,
    const char *param, size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char *s = NULL;
	int n, ret = -1;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		goto out;
	if (pad == 0)
		pad = (size_t)BN_num_bytes(bn);
	if (pad > sizeof(buf) ||
	    (n = BN_bn2binpad(bn, buf, (int)pad)) < 0 ||
	    (s = tk_b64url(buf, (size_t)n)) == NULL ||
	    json_object_set_new(obj, name, json_string(s)) != 0)
		goto out;
	ret = 0;
out:
	free(s);
	BN_free(bn);
	return ret;
}

/* The public JWK of a key, with kid and alg when not NULL. */
static TK_UNUSED json_t *
tk_jwk(const EVP_PKEY *pkey, const char *kid, const char *alg)
{
	json_t *jwk = json_object(), *ret = NULL;
	unsigned char raw[32];
	size_t len = 0;
	const char *crv;
	char *s = NULL;

	if (jwk == NULL)
		return NULL;
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (json_object_set_new(jwk, "kty", json_string("RSA")) != 0 ||
		    tk_set_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0) != 0 ||
		    tk_set_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0) != 0)
			goto out;
	} else if ((crv = tk_ec_curve(pkey, &len)) != NULL) {
		if (json_object_set_new(jwk, "kty", json_string("EC")) != 0 ||
		    json_object_set_new(jwk, "crv", json_string(crv)) != 0 ||
		    tk_set_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		    len) != 0 ||
		    tk_set_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
		    len) != 0)
			goto out;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		if (!EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw), &len) ||
		    len != 32 || (s = tk_b64url(raw, len)) == NULL ||
		    json_object_set_new(jwk, "kty", json_string("OKP")) != 0 ||
		    json_object_set_new(jwk, "crv",
		    json_string("Ed25519")) != 0 ||
		    json_object_set_new(jwk, "x", json_string(s)) != 0)
			goto out;
	} else
		goto out;
	if (json_object_set_new(jwk, "use", json_string("sig")) != 0 ||
	    (kid != NULL &&
	    json_object_set_new(jwk, "kid", json_string(kid)) != 0) ||
	    (alg != NULL &&
	    json_object_set_new(jwk, "alg", json_string(alg)) != 0))
		goto out;
	ret = jwk;
	jwk = NULL;
out:
	free(s);
	json_decref(jwk);
	return ret;
}

/* Digest name for the SHA size in an alg name ("RS384" -> SHA384). */
static TK_UNUSED const char *
tk_alg_md(const char *alg)
{
	size_t n = strlen(alg);

	if (n >= 3 && strcmp(alg + n - 3, "256") == 0)
		return "SHA256";
	if (n >= 3 && strcmp(alg + n - 3, "384") == 0)
		return "SHA384";
	if (n >= 3 && strcmp(alg + n - 3, "512") == 0)
		return "SHA512";
	return "SHA256";
}

/*
 * Signs in with pkey the way alg says, whatever the key: RSA keys use
 * PKCS#1 v1.5, or PSS (salt = hash length) for PS*; EC keys produce raw
 * r||s (DER with TK_ES_DER); Ed25519 ignores the hash. A mismatched
 * alg/key pair still yields some signature, for the confusion tests.
 */
static TK_UNUSED int
tk_sign(EVP_PKEY *pkey, const char *alg, int flags, const void *in,
    size_t len, unsigned char **sig, size_t *sig_len)
{
	EVP_MD_CTX *md_ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es = NULL;
	const unsigned char *p;
	unsigned char *buf = NULL, *raw = NULL;
	const char *md = tk_alg_md(alg);
	size_t n = 0, coord = 0;
	int ed = EVP_PKEY_is_a(pkey, "ED25519"), ret = -1;

	if ((md_ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md_ctx, &pctx, ed ? NULL : md, NULL, NULL,
	    pkey, NULL) <= 0)
		goto out;
	if (EVP_PKEY_is_a(pkey, "RSA") && strncmp(alg, "PS", 2) == 0 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (flags & TK_PSS_SALT0) ?
	    0 : RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto out;
	if (EVP_DigestSign(md_ctx, NULL, &n, in, len) <= 0 ||
	    (buf = malloc(n)) == NULL ||
	    EVP_DigestSign(md_ctx, buf, &n, in, len) <= 0)
		goto out;
	if (tk_ec_curve(pkey, &coord) != NULL && !(flags & TK_ES_DER)) {
		/* JWS wants r||s, each left-padded to the field size. */
		p = buf;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL ||
		    (raw = malloc(2 * coord)) == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)coord) < 0 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + coord,
		    (int)coord) < 0)
			goto out;
		free(buf);
		buf = raw;
		raw = NULL;
		n = 2 * coord;
	}
	*sig = buf;
	buf = NULL;
	*sig_len = n;
	ret = 0;
out:
	ECDSA_SIG_free(es);
	free(raw);
	free(buf);
	EVP_MD_CTX_free(md_ctx);
	return ret;
}

/* HMAC with md ("SHA256") over in, keyed with any bytes. */
static TK_UNUSED int
tk_hmac(const char *md, const void *key, size_t key_len, const void *in,
    size_t len, unsigned char **sig, size_t *sig_len)
{
	unsigned char *buf;

	if ((buf = malloc(EVP_MAX_MD_SIZE)) == NULL)
		return -1;
	if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, key_len, in, len, buf,
	    EVP_MAX_MD_SIZE, sig_len) == NULL) {
		free(buf);
		return -1;
	}
	*sig = buf;
	return 0;
}

/* "b64(header).b64(payload)" from raw JSON texts (which may be hostile:
 * duplicate keys, not JSON at all). */
static TK_UNUSED char *
tk_signing_input_raw(const char *header, const char *payload)
{
	char *h = tk_b64url(header, strlen(header));
	char *p = tk_b64url(payload, strlen(payload));
	char *out = NULL;

	if (h != NULL && p != NULL &&
	    (out = malloc(strlen(h) + strlen(p) + 2)) != NULL)
		sprintf(out, "%s.%s", h, p);
	free(h);
	free(p);
	return out;
}

static TK_UNUSED char *
tk_signing_input(const json_t *header, const json_t *claims)
{
	char *h = json_dumps(header, JSON_COMPACT);
	char *p = json_dumps(claims, JSON_COMPACT);
	char *out = NULL;

	if (h != NULL && p != NULL)
		out = tk_signing_input_raw(h, p);
	free(h);
	free(p);
	return out;
}

/* "input.b64(sig)"; an empty signature gives "input." */
static TK_UNUSED char *
tk_append_sig(const char *input, const unsigned char *sig, size_t sig_len)
{
	char *s = tk_b64url(sig, sig_len), *out = NULL;

	if (s != NULL && (out = malloc(strlen(input) + strlen(s) + 2)) != NULL)
		sprintf(out, "%s.%s", input, s);
	free(s);
	return out;
}

/* Header {"alg", "typ": "JWT", "kid"} with extra's members merged over it
 * (extra may override alg: the key then still signs per sign_alg). */
static TK_UNUSED json_t *
tk_header(const char *alg, const char *kid, const json_t *extra)
{
	json_t *h = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");

	if (h == NULL)
		return NULL;
	if ((kid != NULL &&
	    json_object_set_new(h, "kid", json_string(kid)) != 0) ||
	    (extra != NULL && json_object_update(h, (json_t *)extra) != 0)) {
		json_decref(h);
		return NULL;
	}
	return h;
}

/* A compact token signed with pkey per alg (flags: TK_*). pkey NULL
 * yields an empty signature, as "alg": "none" tokens have. */
static TK_UNUSED char *
tk_token(EVP_PKEY *pkey, const char *alg, const char *kid,
    const json_t *extra_header, const json_t *claims, int flags)
{
	json_t *h = tk_header(alg, kid, extra_header);
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *input = NULL, *out = NULL;

	if (h == NULL || (input = tk_signing_input(h, claims)) == NULL)
		goto out;
	if (pkey != NULL && tk_sign(pkey, alg, flags, input, strlen(input),
	    &sig, &sig_len) != 0)
		goto out;
	out = tk_append_sig(input, sig, sig_len);
out:
	free(sig);
	free(input);
	json_decref(h);
	return out;
}

#endif
