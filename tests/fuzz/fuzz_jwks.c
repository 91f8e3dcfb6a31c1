/* JWKS documents on arbitrary input: the parser, then key lookup and
 * verification of fixed tokens against whatever set it kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "hoop_jwks.h"
#include "hoop_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_KIDS	16

/* Signed with tests/fuzz/keys/ (gen-corpus --tokens): they verify
 * against the corpus' seeds that hold those keys. */
static const char *const fixed_tokens[] = {
	    "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEifQ.eyJpc3MiOiJ4In0.QOfTN"
	    "a0ZYv2NtvWS01zcorGGzgTVxI99WUedAb2mToBVDY4SR1xT--1ipRHV4Jk8-"
	    "qK3E0M_7qMuS0WiokEz18oE5Us29RCPueHaFEt6vzOcNYWMqe9k4koMD4AmQ"
	    "gygXFKN5hHUncipnVs7m51Tz0eF1bWr9vKUxa_oLH0ou00D2CXQ0UTWEtzVJ"
	    "1yhIXRd5eB9BFubwqNhIk5nPiTwtwe_IhV6hCDYFrmWDjJm3XVemkQnRojIH"
	    "-3IMn_k1NCKh4roGZpeJhXdxAcOKUv_Lo1pgxl1tvCHy2JgsROcT6xQmakBB"
	    "wsojeNTQpSo1kh9otFghWQXn2By7gkyGmOIMw",
	    "eyJhbGciOiJQUzI1NiIsImtpZCI6InJzYTIifQ.eyJpc3MiOiJ4In0.DY52I"
	    "Sq85DnB_FlfixJSpDItTHt3vyNeHEZdvPOci4xsBa88wojshHdSN0iYGcQq7"
	    "ou7hIU7oZP9DFIikdRTEByzizCuFGinvNHZq6OdHjl00xPpVOAvjfehCMjCj"
	    "Pq0VGNqt2u2yl-xtLY1zDSIWuRy2kMRTw-taaFo_w_50SlIGmdkhB5mZf_qa"
	    "PniBHu3E6Qk85vQSJ4a5GJqx1U8v6OEbWEldaLNRiHYbh9As4yYm2pOY50Uc"
	    "rGEnkBx2tMF2jCkYPnj9reevXLybRCgKx5v1B755zw1b9O1ySfcudwM6QHyz"
	    "dNtydt8wEnYOHFqDLPnwdpak-0-u7R3FIjDow",
	    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMjU2In0.eyJpc3MiOiJ4In0.H8Lo"
	    "wYGs-s_p7B-ViREFDf3q6Viy2v1n0-iqBf3pzFynw3-XLu5U0KkBQhdCWoK1"
	    "yJVEj5ckzrecsZWLBMEnQA",
	    "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJ4In0.yWIHeMYekPvZ7IeSh4d2nDY"
	    "ARXsk4rzAPX8fdB2ItRpXpqIzKY99_OKe1fNdRDRZ0IN3qJdOzJUelheytbj"
	    "Nl8YXPtVefaMd7KpzTbvX-BEv0X-nCEPDBh5SRVPnyukl",
	    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImVjNTIxIn0.eyJpc3MiOiJ4In0.AT0c"
	    "dLmvKFLkHrav2IHNCaRKdsamm308DR3xnELJNuE_r5P8yn_xuqWqX7veuJ6C"
	    "S8avugoMJZb7yrqTX7u98L2pALQQKDNY0Zk_-rZpAJYogabErtZeCSTWQAuo"
	    "G4sDeYV3bEq7dli5EyGXhL8q9GzT4CHjNiX5E7zTKKT2qkq77DgB",
	    "eyJhbGciOiJFZERTQSIsImtpZCI6ImVkMSJ9.eyJpc3MiOiJ4In0.NZ0VhLP"
	    "SuoSEhywJQBuMGBXCUw3Yfu3bN2Z0PowbsDvQZnZ0mT3nDKvYM9kma94iIub"
	    "lx7xSdwfEJHqZkOraCQ",
};

static const char *const algs[] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
	"HS256", "none", "", "ES256K", "Ed25519",
};
static const char *const fixed_kids[] = {
	"rsa1", "rsa2", "ec256", "ec384", "ec521", "ed1", "", "k",
};

static hoop_jwt_t *parsed[NELEM(fixed_tokens)];

static void
parse_tokens(void)
{
	enum hoop_jwt_reason why;
	static int done;
	size_t i;

	if (done)
		return;
	/* Kept for the life of the process. */
	for (i = 0; i < NELEM(fixed_tokens); i++) {
		if (hoop_jwt_parse(fixed_tokens[i], strlen(fixed_tokens[i]),
		    &parsed[i], &why) != HOOP_OK)
			abort();
	}
	done = 1;
}

/* The key's real type and size, whatever the document claimed. */
static enum hoop_jwk_kind
kind_of(const EVP_PKEY *pkey)
{
	char group[64];
	int nid, bits;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		return bits >= 2048 && bits <= 8192 ? HOOP_JWK_RSA :
		    HOOP_JWK_NONE;
	}
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return HOOP_JWK_ED25519;
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL))
		return HOOP_JWK_NONE;
	if ((nid = EC_curve_nist2nid(group)) == NID_undef)
		nid = OBJ_sn2nid(group);
	switch (nid) {
	case NID_X9_62_prime256v1:
		return HOOP_JWK_P256;
	case NID_secp384r1:
		return HOOP_JWK_P384;
	case NID_secp521r1:
		return HOOP_JWK_P521;
	}
	return HOOP_JWK_NONE;
}

static void
lookup(const hoop_jwks_t *set, const char *kid)
{
	enum hoop_jwks_miss miss;
	const EVP_PKEY *pkey;
	enum hoop_jwk_kind need;
	size_t i;

	for (i = 0; i < NELEM(algs); i++) {
		miss = HOOP_JWKS_FOUND;
		pkey = hoop_jwks_find(set, kid, algs[i], &miss);
		need = hoop_jwks_alg_kind(algs[i]);
		if ((pkey != NULL) != (miss == HOOP_JWKS_FOUND))
			abort();
		if (pkey != NULL && (need == HOOP_JWK_NONE ||
		    kind_of(pkey) != need))
			abort();
		if (kid == NULL && (miss == HOOP_JWKS_NO_KID ||
		    miss == HOOP_JWKS_MISMATCH))
			abort();
		if (kid != NULL && miss == HOOP_JWKS_NO_FIT)
			abort();
	}
}

/* The kids the document itself names, to look up the keys it holds. */
static size_t
document_kids(const char *text, size_t len, json_t **root,
    const char **kids)
{
	json_t *jwk;
	size_t i, n = 0;

	if ((*root = json_loadb(text, len, 0, NULL)) == NULL)
		return 0;
	json_array_foreach(json_object_get(*root, "keys"), i, jwk) {
		if (n < MAX_KIDS && json_is_string(json_object_get(jwk, "kid")))
			kids[n++] = json_string_value(json_object_get(jwk,
			    "kid"));
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum hoop_jwt_reason why;
	hoop_jwks_t *set = NULL;
	const char *kids[MAX_KIDS];
	json_t *root = NULL;
	char msg[128], *copy;
	size_t i, n, count;
	hoop_err_t err;

	parse_tokens();
	/* Exactly size bytes, no NUL after them, so that a read past the
	 * end is caught. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	memset(msg, 'X', sizeof(msg));
	err = hoop_jwks_parse(copy, size, &set, msg, sizeof(msg));
	if ((err == HOOP_OK) != (set != NULL) ||
	    (err != HOOP_OK && err != HOOP_ERR_INVAL &&
	    err != HOOP_ERR_TOOBIG && err != HOOP_ERR_NOMEM) ||
	    (size > HOOP_JWKS_MAX_SIZE && err != HOOP_ERR_TOOBIG))
		abort();
	/* The message goes to the log: terminated, printable, and said. */
	if (memchr(msg, '\0', sizeof(msg)) == NULL ||
	    (err != HOOP_OK && msg[0] == '\0'))
		abort();
	for (i = 0; msg[i] != '\0'; i++) {
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			abort();
	}
	count = hoop_jwks_count(set);
	if (set != NULL && (count == 0 || count > HOOP_JWKS_MAX_KEYS))
		abort();
	if (set == NULL) {
		if (count != 0 || hoop_jwks_find(NULL, NULL, "RS256",
		    NULL) != NULL)
			abort();
		goto out;
	}

	lookup(set, NULL);
	for (i = 0; i < NELEM(fixed_kids); i++)
		lookup(set, fixed_kids[i]);
	n = document_kids(copy, size, &root, kids);
	for (i = 0; i < n; i++)
		lookup(set, kids[i]);

	for (i = 0; i < NELEM(parsed); i++) {
		why = HOOP_JWT__COUNT;
		err = hoop_jwt_verify(parsed[i], set, algs, 10, &why);
		if ((err == HOOP_OK) != (why == HOOP_JWT_OK))
			abort();
	}
out:
	json_decref(root);
	hoop_jwks_free(set);
	free(copy);
	return 0;
}
