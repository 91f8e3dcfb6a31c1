/* Compact JWS on arbitrary input: parsing, then verification against a
 * fixed JWKS and the claim checks, with invariants that must hold for
 * every input. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hoop_b64.h"
#include "hoop_jwks.h"
#include "hoop_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Must match tests/fuzz/gen-corpus, which signs the seeds. */
#define FUZZ_NOW	1763800310
#define FUZZ_ISSUER	"https://token.actions.githubusercontent.com"
#define FUZZ_AUD	"https://bastion.acme-corp.example"

/* The public half of tests/fuzz/keys/ (gen-corpus --jwks): the corpus'
 * valid seeds verify against it, so mutations start from acceptance. */
static const char fixed_jwks[] =
	    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"0Wipps35bDILOlFrBIdJC8feG0rLl9Qmu"
	    "cMYO0kMrK2uC521oh49s8kVO86nxAXR7MuGe_yTRFg29x8JFfVMTBQRQLH5T"
	    "PmB4svvSD_JeLdcytcKayf7t_eqaRim9brgquDoOSrmWVlRvlFOvqXgAA-gu"
	    "x_P5Tdd4k2IoVkmrom8qHlhF6MmaFXKAZ0jgVGk8mnmU7hzv5WHeq95zTa8W"
	    "RW5mkJpxGEp79NyuAIR4W5zB0JjIBH_ulaLQNabX3ZsRf-4I9VV24pHWbiVn"
	    "W1Y1_1Zmv-KnbxJHyIyycl9PTz1VZDICGbS5A2KDQUg8Ov2vK0nhutPPDndQ"
	    "dAyP6S6pQ\",\"e\":\"AQAB\",\"use\":\"sig\",\"kid\":\"rsa1\"},{\"kty\":\"RSA\""
	    ",\"n\":\"oEP5U63840pMMn_nPoG9q__QKw5OPqVaOtuIseIQxp7ce0pYApigaF"
	    "fYtxVgHeoicl12gQLGFla-yXvW_7HfNlANlJU03StVbwfGjxrdP8BQLbfi4m"
	    "dlu_OsfWIOGqn82v5nTqwIErhog_I45yRevlGz8FnxYwtNTLF17r9oaO3BnS"
	    "r5xBQf8wlGGAR6SmAm5I5Q_ixkw6QiL0EhHsMQPr8O5fLTZWhYcFxW1fn92J"
	    "Y4-oaMWegDwb-hKeHr2b91aG8119HZV2Gw0PD_p8Gf4gjEZC12TEvq8Z1JUg"
	    "i_sWXOC6xTc0-KQ8gKIhvowmLXPNbnUNtZi6sQ735TDWPIRQ\",\"e\":\"AQAB\""
	    ",\"use\":\"sig\",\"kid\":\"rsa2\",\"alg\":\"PS256\"},{\"kty\":\"EC\",\"crv\":\""
	    "P-256\",\"x\":\"hswdNNGZJpMaTko1C-ls4KImlZWGBLxNe7HO5-4tKW4\",\"y\""
	    ":\"sx_Ryp2i5hqL1aVqCUHHoeH7c0TlILDK7HtR_CnGolY\",\"use\":\"sig\",\""
	    "kid\":\"ec256\"},{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"TVI1aQpK5obUnAr"
	    "RalYRCrG7-5EmTSKVfyVLv6MgR58Gb8aRnXiHiWN-I1oDnH1i\",\"y\":\"JmUj"
	    "dobclSbkw_TpyrcPhNfZmKD-S-0ztizTiG9DWELuGz-6dihflWMxOqyXfIPl"
	    "\",\"use\":\"sig\",\"kid\":\"ec384\"},{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\""
	    "ABmPideYHTXyWuxbQyy3T9PBz8Hf7kygRDJuJ8MJbvPJZg6GbRFReR3GWs6l"
	    "Zewc804xUQpc0F-IS-AHEJl3QbFd\",\"y\":\"AKeZY5xtVPU2jGXaGhYnA5UQN"
	    "5c0NMbM1PHyi2qQMC-YcFWzxo5ntzx2BZrqDJoubZsWgSr-9fiImWdZnx8in"
	    "wWV\",\"use\":\"sig\",\"kid\":\"ec521\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\""
	    ",\"x\":\"lP4goTY1A8tEtxu5Bc7yhbsxfvJ4YAnl4WAQCmVwT7E\",\"use\":\"si"
	    "g\",\"kid\":\"ed1\"}]}";

static const char *const supported[] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
};
/* Listing HS256 and none must not make them acceptable. */
static const char *const allowed[] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "HS256", "none",
};
static const char *const es256_only[] = { "ES256" };
static const char *const audiences[] = { "x", FUZZ_AUD };

static const char b64_abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const hoop_jwks_t *
fixed_keys(void)
{
	static hoop_jwks_t *set;
	char why[256];

	/* Kept for the life of the process: built once, at first call. */
	if (set == NULL && hoop_jwks_parse(fixed_jwks, sizeof(fixed_jwks) - 1,
	    &set, why, sizeof(why)) != HOOP_OK)
		abort();
	return set;
}

static int
is_supported(const char *alg)
{
	size_t i;

	for (i = 0; i < NELEM(supported); i++) {
		if (strcmp(supported[i], alg) == 0)
			return 1;
	}
	return 0;
}

/* Unpadded base64url of len bytes into out (room for len / 3 * 4 + 4);
 * returns the length written. */
static size_t
b64_encode(const unsigned char *in, size_t len, char *out)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8 | in[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64_abc[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64_abc[(acc << (6 - bits)) & 63];
	return o;
}

/*
 * The strictness of hoop_b64url_decode, checked another way: a text is
 * canonical unpadded base64url exactly when decoding it leniently (any
 * length, trailing bits dropped) and encoding the result gives the same
 * text back. The decoder must accept exactly those.
 */
static void
check_b64(const char *in, size_t len)
{
	unsigned char *raw = NULL, *lenient = NULL;
	size_t raw_len = 0, n = 0, i;
	unsigned long acc = 0;
	const char *p;
	char *enc = NULL;
	int bits = 0, canonical = 1;
	hoop_err_t err;

	if ((lenient = malloc(len + 1)) == NULL ||
	    (enc = malloc(len + 8)) == NULL)
		goto out;
	for (i = 0; i < len; i++) {
		if (in[i] == '\0' || (p = strchr(b64_abc, in[i])) == NULL) {
			canonical = 0;
			break;
		}
		acc = (acc << 6 | (unsigned long)(p - b64_abc)) & 0xffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			lenient[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (canonical)
		canonical = b64_encode(lenient, n, enc) == len &&
		    memcmp(enc, in, len) == 0;
	err = hoop_b64url_decode(in, len, &raw, &raw_len);
	if (err == HOOP_ERR_NOMEM)
		goto out;
	if ((err == HOOP_OK) != canonical || (err == HOOP_OK) != (raw != NULL))
		abort();
	if (err == HOOP_OK && (raw_len != n || memcmp(raw, lenient, n) != 0))
		abort();
out:
	free(raw);
	free(lenient);
	free(enc);
}

/* The same response code and reason, as hoop_jwt.h promises. */
static void
check_result(hoop_err_t err, enum hoop_jwt_reason why)
{
	if ((err == HOOP_OK) != (why == HOOP_JWT_OK) ||
	    (err == HOOP_ERR_DENIED) != (why != HOOP_JWT_OK &&
	    why != HOOP_JWT_NOMEM && why != HOOP_JWT_INTERNAL) ||
	    (unsigned)why >= HOOP_JWT__COUNT)
		abort();
}

static void
verify(const hoop_jwt_t *jwt)
{
	enum hoop_jwt_reason why = HOOP_JWT__COUNT;
	const char *alg = hoop_jwt_alg(jwt);
	hoop_err_t err;

	err = hoop_jwt_verify(jwt, fixed_keys(), allowed, NELEM(allowed), &why);
	check_result(err, why);
	if (err == HOOP_OK && !is_supported(alg))
		abort();
	err = hoop_jwt_verify(jwt, fixed_keys(), es256_only, NELEM(es256_only),
	    &why);
	check_result(err, why);
	if (err == HOOP_OK && strcmp(alg, "ES256") != 0)
		abort();
	if (strcmp(alg, "ES256") != 0 && why != HOOP_JWT_ALG_NOT_ALLOWED)
		abort();
	if (hoop_jwt_verify(jwt, fixed_keys(), NULL, 0, &why) !=
	    HOOP_ERR_DENIED || why != HOOP_JWT_ALG_NOT_ALLOWED)
		abort();
}

/*
 * The claim checks are pure: run them on every parsed token, verified or
 * not, since a mutated token almost never keeps a valid signature. More
 * leeway may only turn a refusal into acceptance, never the reverse.
 */
static void
check_claims(const hoop_jwt_t *jwt)
{
	struct hoop_jwt_expect e = {
		.issuer = FUZZ_ISSUER, .audiences = audiences,
		.n_audiences = NELEM(audiences), .now = FUZZ_NOW,
	};
	enum hoop_jwt_reason strict, usual, loose;
	hoop_err_t err;

	err = hoop_jwt_check_claims(jwt, &e, &strict);
	check_result(err, strict);
	e.clock_skew = 60;
	e.max_age = 3600;
	err = hoop_jwt_check_claims(jwt, &e, &usual);
	check_result(err, usual);
	e.clock_skew = LONG_MAX;
	e.max_age = 0;
	err = hoop_jwt_check_claims(jwt, &e, &loose);
	check_result(err, loose);
	if ((strict == HOOP_JWT_OK && usual != HOOP_JWT_OK &&
	    usual != HOOP_JWT_TOO_OLD) ||
	    (usual == HOOP_JWT_OK && loose != HOOP_JWT_OK))
		abort();
	/* Unlimited skew: time can no longer be the reason. */
	if (loose == HOOP_JWT_EXPIRED || loose == HOOP_JWT_NOT_YET_VALID ||
	    loose == HOOP_JWT_IAT_FUTURE || loose == HOOP_JWT_TOO_OLD)
		abort();
	/* Extreme clocks and leeway must saturate, not wrap: at the end of
	 * time every token has expired, whatever the skew. */
	e.now = (time_t)LLONG_MAX;
	e.clock_skew = LONG_MAX;
	e.max_age = LONG_MAX;
	err = hoop_jwt_check_claims(jwt, &e, &loose);
	check_result(err, loose);
	if (loose == HOOP_JWT_OK)
		abort();
	e.now = (time_t)LLONG_MIN;
	err = hoop_jwt_check_claims(jwt, &e, &loose);
	check_result(err, loose);
}

/* Parse, verify, check: the whole pipeline on one compact token. */
static void
pipeline(const char *token, size_t len)
{
	enum hoop_jwt_reason why = HOOP_JWT__COUNT;
	hoop_jwt_t *jwt = NULL;
	const char *alg;
	hoop_err_t err;

	err = hoop_jwt_parse(token, len, &jwt, &why);
	check_result(err, why);
	if ((err == HOOP_OK) != (jwt != NULL))
		abort();
	if (len > HOOP_JWT_MAX_SIZE && why != HOOP_JWT_TOO_LARGE)
		abort();
	if (jwt == NULL)
		return;
	if ((alg = hoop_jwt_alg(jwt)) == NULL || strcasecmp(alg, "none") == 0 ||
	    !json_is_object(hoop_jwt_claims(jwt)))
		abort();
	verify(jwt);
	check_claims(jwt);
	(void)hoop_jwt_kid(jwt);
	(void)hoop_jwt_claim_str(jwt, "iss");
	(void)hoop_jwt_claim_str(jwt, "sub");
	hoop_jwt_free(jwt);
}

/*
 * "HEADER NUL PAYLOAD NUL SIGNATURE", raw, encoded here into a compact
 * token: mutations then land in the JSON and the signature bytes rather
 * than in their base64. Only for inputs starting with '{', which no
 * compact token does.
 */
static void
json_mode(const char *in, size_t len)
{
	const char *part[3], *nul;
	size_t plen[3], i, n = 0;
	char *token;

	for (i = 0; i < 3; i++) {
		part[i] = in;
		nul = i < 2 ? memchr(in, '\0', len) : NULL;
		plen[i] = nul != NULL ? (size_t)(nul - in) : len;
		in += plen[i] + (nul != NULL);
		len -= plen[i] + (nul != NULL);
	}
	if ((token = malloc((plen[0] + plen[1] + plen[2]) / 3 * 4 + 16)) ==
	    NULL)
		return;
	for (i = 0; i < 3; i++) {
		if (i > 0)
			token[n++] = '.';
		n += b64_encode((const unsigned char *)part[i], plen[i],
		    token + n);
	}
	pipeline(token, n);
	free(token);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i, start, nseg;
	char *copy;

	/* Exactly size bytes, no NUL after them, so that a read past the
	 * end is caught. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);

	/* Every dot-separated segment, as the decoder would see it. */
	for (i = start = nseg = 0; i <= size && nseg < 8; i++) {
		if (i == size || copy[i] == '.') {
			check_b64(copy + start, i - start);
			start = i + 1;
			nseg++;
		}
	}
	pipeline(copy, size);
	if (size > 0 && copy[0] == '{')
		json_mode(copy, size);
	free(copy);
	return 0;
}
