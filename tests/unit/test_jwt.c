/* Token verification: lib/b64.c, lib/jwks.c, lib/jwt.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "hoop_b64.h"
#include "hoop_jwks.h"
#include "hoop_jwt.h"
#include "jwt_testkit.h"
#include "tap.h"

#define FIXTURES	"tests/fixtures/claims/"
#define GH_ISSUER	"https://token.actions.githubusercontent.com"
#define BASTION_AUD	"https://bastion.acme-corp.example"
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const all_algs[] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
};
static const char *const gh_auds[] = { BASTION_AUD };

static EVP_PKEY *k_rsa, *k_rsa2, *k_ec256, *k_ec384, *k_ec521, *k_ed;
static EVP_PKEY *k_other;	/* in no set we verify with */
static hoop_jwks_t *main_set;	/* rsa1 rsa2 ec256 ec384 ec521 ed1 */
static json_t *gh;		/* GitHub Actions claims */
static time_t now;
static struct hoop_jwt_expect gh_expect;

static json_t *
load_claims(const char *name)
{
	char path[256];
	json_error_t jerr;
	json_t *c;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	if ((c = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		printf("# %s: %s\n", path, jerr.text);
	return c;
}

/* {"keys": [...]} for n keys and their kids (NULL: no kid). */
static json_t *
jwks_json(size_t n, EVP_PKEY *const *keys, const char *const *kids)
{
	json_t *doc = json_pack("{s:[]}", "keys");
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(json_object_get(doc, "keys"),
		    tk_jwk(keys[i], kids[i], NULL));
	return doc;
}

static hoop_err_t
parse_jwks_json(const json_t *doc, hoop_jwks_t **out)
{
	char *text = json_dumps(doc, JSON_COMPACT), why[256];
	hoop_err_t err;

	err = hoop_jwks_parse(text, strlen(text), out, why, sizeof(why));
	if (err != HOOP_OK)
		printf("# jwks: %s\n", why);
	free(text);
	return err;
}

static hoop_jwks_t *
make_set(size_t n, EVP_PKEY *const *keys, const char *const *kids)
{
	json_t *doc = jwks_json(n, keys, kids);
	hoop_jwks_t *set = NULL;

	if (parse_jwks_json(doc, &set) != HOOP_OK)
		set = NULL;
	json_decref(doc);
	return set;
}

/* The whole pipeline; the first refusal, or HOOP_JWT_OK. */
static enum hoop_jwt_reason
run(const char *token, const hoop_jwks_t *set, const char *const *algs,
    size_t n_algs, const struct hoop_jwt_expect *expect)
{
	enum hoop_jwt_reason why = HOOP_JWT__COUNT;
	hoop_jwt_t *jwt = NULL;

	if (token == NULL)
		return HOOP_JWT__COUNT;
	if (hoop_jwt_parse(token, strlen(token), &jwt, &why) == HOOP_OK &&
	    hoop_jwt_verify(jwt, set, algs, n_algs, &why) == HOOP_OK)
		hoop_jwt_check_claims(jwt, expect, &why);
	hoop_jwt_free(jwt);
	return why;
}

/* Checks one token (freed here) against everything given. */
static void
expect_with(char *token, const hoop_jwks_t *set, const char *const *algs,
    size_t n_algs, const struct hoop_jwt_expect *expect,
    enum hoop_jwt_reason want, const char *what)
{
	enum hoop_jwt_reason got = run(token, set, algs, n_algs, expect);

	if (!ok(got == want, "%s: %s", what, hoop_jwt_reason_str(want)))
		printf("#   got \"%s\"%s\n", got == HOOP_JWT__COUNT ?
		    "(no token made)" : hoop_jwt_reason_str(got),
		    token == NULL ? " (token NULL)" : "");
	free(token);
}

/* The usual case: the main set, every supported alg, GitHub claims. */
static void
expect(char *token, enum hoop_jwt_reason want, const char *what)
{
	expect_with(token, main_set, all_algs, NELEM(all_algs), &gh_expect,
	    want, what);
}

/* The GitHub claims with name set to v (taken), or removed if v is NULL. */
static json_t *
gh_with(const char *name, json_t *v)
{
	json_t *c = json_deep_copy(gh);

	if (v == NULL)
		json_object_del(c, name);
	else
		json_object_set_new(c, name, v);
	return c;
}

/* A token over claims (taken). */
static char *
mint(EVP_PKEY *key, const char *alg, const char *kid, json_t *claims)
{
	char *t = tk_token(key, alg, kid, NULL, claims, 0);

	json_decref(claims);
	return t;
}

static char *
mint_gh(EVP_PKEY *key, const char *alg, const char *kid)
{
	return mint(key, alg, kid, json_deep_copy(gh));
}

/* Finds segment i of a token: start and length. */
static int
segment(const char *token, int i, size_t *start, size_t *len)
{
	const char *p = token, *dot;

	while (i-- > 0) {
		if ((p = strchr(p, '.')) == NULL)
			return -1;
		p++;
	}
	dot = strchr(p, '.');
	*start = (size_t)(p - token);
	*len = dot != NULL ? (size_t)(dot - p) : strlen(p);
	return 0;
}

/* token (freed) with segment i replaced by text. */
static char *
replace_segment(char *token, int i, const char *text)
{
	size_t start, len;
	char *out = NULL;

	if (token != NULL && segment(token, i, &start, &len) == 0 &&
	    (out = malloc(strlen(token) + strlen(text) + 1)) != NULL)
		sprintf(out, "%.*s%s%s", (int)start, token, text,
		    token + start + len);
	free(token);
	return out;
}

/* token (freed) with its signature bytes passed through edit. */
static char *
edit_signature(char *token, void (*edit)(unsigned char *, size_t *))
{
	unsigned char *sig = NULL;
	size_t start, len, sig_len;
	char *s;

	if (token == NULL || segment(token, 2, &start, &len) != 0 ||
	    hoop_b64url_decode(token + start, len, &sig, &sig_len) != HOOP_OK) {
		free(token);
		return NULL;
	}
	sig = realloc(sig, sig_len + 8);
	edit(sig, &sig_len);
	s = tk_b64url(sig, sig_len);
	free(sig);
	token = replace_segment(token, 2, s);
	free(s);
	return token;
}

static void flip_bit(unsigned char *s, size_t *n) { s[*n / 2] ^= 0x01; }
static void drop_byte(unsigned char *s, size_t *n) { (void)s; (*n)--; }
static void add_byte(unsigned char *s, size_t *n) { s[(*n)++] = 0x00; }
static void drop_three(unsigned char *s, size_t *n) { (void)s; *n -= 3; }

/* token (freed) with segment i decoded, the JSON edited, re-encoded. */
static char *
edit_json_segment(char *token, int i, const char *name, json_t *v)
{
	unsigned char *raw = NULL;
	size_t start, len, raw_len;
	json_t *obj = NULL;
	char *text = NULL, *s = NULL;

	if (token != NULL && segment(token, i, &start, &len) == 0 &&
	    hoop_b64url_decode(token + start, len, &raw, &raw_len) == HOOP_OK &&
	    (obj = json_loadb((char *)raw, raw_len, 0, NULL)) != NULL) {
		json_object_set_new(obj, name, v);
		v = NULL;
		text = json_dumps(obj, JSON_COMPACT);
		s = tk_b64url(text, strlen(text));
		token = replace_segment(token, i, s);
	} else {
		free(token);
		token = NULL;
	}
	json_decref(v);
	json_decref(obj);
	free(raw);
	free(text);
	free(s);
	return token;
}

/* A token from raw header and payload texts, signed with rsa1. */
static char *
mint_raw(const char *header, const char *payload)
{
	char *input = tk_signing_input_raw(header, payload), *t = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;

	if (input != NULL && tk_sign(k_rsa, "RS256", 0, input, strlen(input),
	    &sig, &sig_len) == 0)
		t = tk_append_sig(input, sig, sig_len);
	free(sig);
	free(input);
	return t;
}

static void
test_b64(void)
{
	static const struct { const char *in; const char *out; } good[] = {
		{ "", "" }, { "QQ", "A" }, { "QUI", "AB" }, { "QUJD", "ABC" },
		{ "_-8", "\xff\xef" }, { "AAAA", "\0\0\0" },
	};
	static const char *const bad[] = {
		"Q", "QUJDR", "QR", "QUJ", "QQ==", "QUI=", "QU I", "QUJ\n",
		"+/8A", "Q+I", "QU/D", "QUJD\x80",
	};
	unsigned char *out;
	size_t i, len;

	for (i = 0; i < NELEM(good); i++) {
		out = NULL;
		ok(hoop_b64url_decode(good[i].in, strlen(good[i].in), &out,
		    &len) == HOOP_OK && out != NULL &&
		    len == (i == 5 ? 3 : strlen(good[i].out)) &&
		    memcmp(out, good[i].out, len) == 0,
		    "base64url '%s' decodes", good[i].in);
		free(out);
	}
	for (i = 0; i < NELEM(bad); i++) {
		out = NULL;
		ok(hoop_b64url_decode(bad[i], strlen(bad[i]), &out, &len) ==
		    HOOP_ERR_INVAL && out == NULL,
		    "base64url bad #%zu refused", i);
	}
	/* A NUL inside the given length is a byte like any other. */
	ok(hoop_b64url_decode("QU\0D", 4, &out, &len) == HOOP_ERR_INVAL,
	    "base64url with NUL refused");
}

static void
test_valid(void)
{
	static const struct {
		const char *alg;
		EVP_PKEY **key;
		const char *kid;
	} cases[] = {
		{ "RS256", &k_rsa, "rsa1" }, { "RS384", &k_rsa, "rsa1" },
		{ "RS512", &k_rsa, "rsa1" }, { "PS256", &k_rsa, "rsa1" },
		{ "PS384", &k_rsa, "rsa1" }, { "PS512", &k_rsa2, "rsa2" },
		{ "ES256", &k_ec256, "ec256" }, { "ES384", &k_ec384, "ec384" },
		{ "ES512", &k_ec521, "ec521" }, { "EdDSA", &k_ed, "ed1" },
	};
	enum hoop_jwt_reason why;
	hoop_jwt_t *jwt = NULL;
	char what[64], *t;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		snprintf(what, sizeof(what), "valid %s", cases[i].alg);
		expect(mint_gh(*cases[i].key, cases[i].alg, cases[i].kid),
		    HOOP_JWT_OK, what);
	}

	/* Accessors on a verified token. */
	t = mint_gh(k_ec256, "ES256", "ec256");
	ok(hoop_jwt_parse(t, strlen(t), &jwt, &why) == HOOP_OK &&
	    why == HOOP_JWT_OK && hoop_jwt_verify(jwt, main_set, all_algs,
	    NELEM(all_algs), &why) == HOOP_OK && why == HOOP_JWT_OK,
	    "parse and verify report HOOP_JWT_OK");
	ok(jwt != NULL && strcmp(hoop_jwt_alg(jwt), "ES256") == 0 &&
	    strcmp(hoop_jwt_kid(jwt), "ec256") == 0, "alg and kid accessors");
	ok(jwt != NULL && strcmp(hoop_jwt_claim_str(jwt, "sub"),
	    "repo:acme-corp/payments-api:environment:production") == 0 &&
	    hoop_jwt_claim_str(jwt, "exp") == NULL &&
	    hoop_jwt_claim_str(jwt, "nope") == NULL,
	    "claim_str: strings only");
	ok(jwt != NULL && json_integer_value(json_object_get(
	    hoop_jwt_claims(jwt), "iat")) == 1763800300, "claims object");
	hoop_jwt_free(jwt);
	free(t);
}

static void
test_other_issuers(void)
{
	static const char *const sso_auds[] = { "bastion" };
	struct hoop_jwt_expect e = gh_expect;
	json_t *c;

	c = load_claims("gitlab-ci-claims.json");
	e.issuer = "https://gitlab.acme-corp.example";
	expect_with(mint(k_rsa, "RS256", "rsa1", c), main_set, all_algs,
	    NELEM(all_algs), &e, HOOP_JWT_OK, "GitLab CI token");

	c = load_claims("sso-staff-claims.json");
	e.issuer = "https://sso.acme-corp.example/realms/corp";
	e.audiences = sso_auds;
	expect_with(mint(k_ec256, "ES256", "ec256", json_deep_copy(c)),
	    main_set, all_algs, NELEM(all_algs), &e, HOOP_JWT_OK,
	    "SSO token, aud array holding ours");
	e.audiences = gh_auds;
	expect_with(mint(k_ec256, "ES256", "ec256", c), main_set, all_algs,
	    NELEM(all_algs), &e, HOOP_JWT_BAD_AUDIENCE,
	    "SSO token, aud array without ours");
}

static void
test_times(void)
{
	struct hoop_jwt_expect e = gh_expect;
	long long t = (long long)now;

	expect(mint(k_rsa, "RS256", "rsa1", gh_with("exp",
	    json_integer(t - 1))), HOOP_JWT_EXPIRED, "expired");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("nbf",
	    json_integer(t + 100))), HOOP_JWT_NOT_YET_VALID, "not yet valid");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iat",
	    json_integer(t + 100))), HOOP_JWT_IAT_FUTURE,
	    "issued in the future");

	e.max_age = 5;
	expect_with(mint_gh(k_rsa, "RS256", "rsa1"), main_set, all_algs,
	    NELEM(all_algs), &e, HOOP_JWT_TOO_OLD, "too old (age 10 > 5)");
	e.max_age = 10;
	expect_with(mint_gh(k_rsa, "RS256", "rsa1"), main_set, all_algs,
	    NELEM(all_algs), &e, HOOP_JWT_OK, "age 10 = max_age 10");

	/* Without skew: exp is exclusive, nbf inclusive. */
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("exp", json_integer(t))),
	    HOOP_JWT_EXPIRED, "exp == now");
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("exp", json_integer(t + 1))),
	    HOOP_JWT_OK, "exp == now + 1");
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("nbf", json_integer(t))),
	    HOOP_JWT_OK, "nbf == now");
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("iat", json_integer(t))),
	    HOOP_JWT_OK, "iat == now");

	/* Skew of 60 s at each boundary. */
	e = gh_expect;
	e.clock_skew = 60;
#define SKEW(name, value, want, what) expect_with(mint(k_ed, "EdDSA", \
	"ed1", gh_with(name, json_integer(value))), main_set, all_algs, \
	NELEM(all_algs), &e, want, what)
	SKEW("exp", t - 60, HOOP_JWT_EXPIRED, "skew 60: exp == now - 60");
	SKEW("exp", t - 59, HOOP_JWT_OK, "skew 60: exp == now - 59");
	SKEW("nbf", t + 60, HOOP_JWT_OK, "skew 60: nbf == now + 60");
	SKEW("nbf", t + 61, HOOP_JWT_NOT_YET_VALID, "skew 60: nbf == now + 61");
	SKEW("iat", t + 60, HOOP_JWT_OK, "skew 60: iat == now + 60");
	SKEW("iat", t + 61, HOOP_JWT_IAT_FUTURE, "skew 60: iat == now + 61");
#undef SKEW
	expect_with(mint(k_ed, "EdDSA", "ed1", gh_with("nbf",
	    json_integer(LLONG_MIN))), main_set, all_algs,
	    NELEM(all_algs), &e, HOOP_JWT_OK, "nbf at the lower limit");
	e.max_age = 5;
	expect_with(mint(k_ed, "EdDSA", "ed1", gh_with("iat",
	    json_integer(t - 6))), main_set, all_algs, NELEM(all_algs), &e,
	    HOOP_JWT_TOO_OLD, "skew does not stretch max_age");

	/* Reals are floored; extremes neither overflow nor pass. */
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("exp",
	    json_real((double)t + 0.5))), HOOP_JWT_EXPIRED,
	    "exp now + 0.5 floors to now");
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("exp",
	    json_real((double)t + 1.5))), HOOP_JWT_OK, "exp now + 1.5 accepted");
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("exp",
	    json_real(1e300))), HOOP_JWT_CLAIM_TYPE, "exp 1e300");
	expect(mint(k_ed, "EdDSA", "ed1", gh_with("exp",
	    json_integer(LLONG_MAX))), HOOP_JWT_OK,
	    "exp at the integer limit");
	expect_with(mint(k_ed, "EdDSA", "ed1", gh_with("iat",
	    json_integer(LLONG_MIN))), main_set, all_algs,
	    NELEM(all_algs), &e, HOOP_JWT_TOO_OLD, "iat at the lower limit");
}

static void
test_claims(void)
{
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iss",
	    json_string("https://evil.example"))), HOOP_JWT_BAD_ISSUER,
	    "wrong iss");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iss",
	    json_string(GH_ISSUER "/"))), HOOP_JWT_BAD_ISSUER,
	    "iss with a trailing slash");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud",
	    json_string("https://other.example"))), HOOP_JWT_BAD_AUDIENCE,
	    "wrong aud");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud",
	    json_pack("[s,s]", "a", "b"))), HOOP_JWT_BAD_AUDIENCE,
	    "aud array without ours");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud",
	    json_pack("[s,s]", "a", BASTION_AUD))), HOOP_JWT_OK,
	    "aud array with ours");

	expect(mint(k_rsa, "RS256", "rsa1", gh_with("exp",
	    json_string("1763800900"))), HOOP_JWT_CLAIM_TYPE, "exp as string");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud", json_integer(42))),
	    HOOP_JWT_CLAIM_TYPE, "aud as number");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iss",
	    json_pack("[s]", GH_ISSUER))), HOOP_JWT_CLAIM_TYPE, "iss as array");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud", json_array())),
	    HOOP_JWT_CLAIM_TYPE, "aud empty array");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud",
	    json_pack("[s,i]", BASTION_AUD, 1))), HOOP_JWT_CLAIM_TYPE,
	    "aud array with a number");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("nbf", json_true())),
	    HOOP_JWT_CLAIM_TYPE, "nbf as boolean");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iat", json_null())),
	    HOOP_JWT_CLAIM_TYPE, "iat null");

	expect(mint(k_rsa, "RS256", "rsa1", gh_with("exp", NULL)),
	    HOOP_JWT_MISSING_CLAIM, "missing exp");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iat", NULL)),
	    HOOP_JWT_MISSING_CLAIM, "missing iat");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("iss", NULL)),
	    HOOP_JWT_MISSING_CLAIM, "missing iss");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("aud", NULL)),
	    HOOP_JWT_MISSING_CLAIM, "missing aud");
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("nbf", NULL)),
	    HOOP_JWT_OK, "nbf is optional");
}

static void
test_algs(void)
{
	static const char *const rs256_only[] = { "RS256" };
	static const char *const with_hs[] = { "RS256", "HS256" };
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *input, *pem = NULL, *t;
	json_t *h;
	BIO *bio;
	long pem_len;

	expect(mint_gh(NULL, "none", NULL), HOOP_JWT_ALG_NONE, "alg none");
	expect(mint_gh(NULL, "None", "rsa1"), HOOP_JWT_ALG_NONE, "alg None");
	expect(mint_gh(NULL, "NONE", NULL), HOOP_JWT_ALG_NONE, "alg NONE");
	expect(mint_gh(k_rsa, "none", "rsa1"), HOOP_JWT_ALG_NONE,
	    "alg none with a signature");

	/* The classic confusion: the RSA public key (PEM) as HMAC secret. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, k_rsa);
	pem_len = BIO_get_mem_data(bio, &pem);
	h = tk_header("HS256", "rsa1", NULL);
	input = tk_signing_input(h, gh);
	tk_hmac("SHA256", pem, (size_t)pem_len, input, strlen(input), &sig,
	    &sig_len);
	t = tk_append_sig(input, sig, sig_len);
	expect(strdup(t), HOOP_JWT_ALG_NOT_ALLOWED,
	    "HS256 keyed with the RSA public key PEM");
	expect_with(strdup(t), main_set, with_hs, NELEM(with_hs), &gh_expect,
	    HOOP_JWT_ALG_UNSUPPORTED, "HS256 refused even when listed");
	free(t);
	free(sig);
	free(input);
	json_decref(h);
	BIO_free(bio);

	expect_with(mint_gh(k_rsa, "RS512", "rsa1"), main_set, rs256_only,
	    NELEM(rs256_only), &gh_expect, HOOP_JWT_ALG_NOT_ALLOWED,
	    "RS512 with only RS256 allowed");
	expect_with(mint_gh(k_rsa, "RS256", "rsa1"), main_set, NULL, 0,
	    &gh_expect, HOOP_JWT_ALG_NOT_ALLOWED, "empty allowlist");
	expect(mint_gh(k_rsa, "rs256", "rsa1"), HOOP_JWT_ALG_NOT_ALLOWED,
	    "alg names are case-sensitive");
	expect(mint_gh(k_ed, "Ed25519", "ed1"), HOOP_JWT_ALG_NOT_ALLOWED,
	    "alg Ed25519 (not a name hoop takes)");
}

static void
test_keys(void)
{
	EVP_PKEY *shared_keys[] = { k_rsa, k_ec256 };
	const char *shared_kids[] = { "shared", "ec" };
	EVP_PKEY *two_rsa[] = { k_rsa, k_rsa2 };
	const char *no_kids[] = { NULL, NULL };
	EVP_PKEY *rsa_ec[] = { k_rsa, k_ec256 };
	EVP_PKEY *same_kid[] = { k_rsa, k_rsa2 };
	const char *same_kids[] = { "dup", "dup" };
	hoop_jwks_t *shared, *two, *mixed, *dup, *alg_set;
	json_t *doc;

	expect(mint_gh(k_rsa, "RS256", "nope"), HOOP_JWT_UNKNOWN_KID,
	    "unknown kid");
	expect(mint_gh(k_other, "RS256", "other"), HOOP_JWT_UNKNOWN_KID,
	    "kid of another key set");
	expect(mint_gh(k_other, "RS256", "rsa1"), HOOP_JWT_BAD_SIGNATURE,
	    "our kid, another key");
	expect(mint_gh(k_rsa, "RS256", ""), HOOP_JWT_UNKNOWN_KID, "empty kid");

	shared = make_set(2, shared_keys, shared_kids);
	expect_with(mint_gh(k_ec256, "ES256", "shared"), shared, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_KEY_MISMATCH,
	    "ES256 token, RSA key with that kid");
	expect(mint_gh(k_ec256, "RS256", "ec256"), HOOP_JWT_KEY_MISMATCH,
	    "RS256 header on an EC key");
	expect(mint_gh(k_ec256, "ES384", "ec256"), HOOP_JWT_KEY_MISMATCH,
	    "ES384 header on a P-256 key");
	expect(mint_gh(k_rsa, "EdDSA", "rsa1"), HOOP_JWT_KEY_MISMATCH,
	    "EdDSA header on an RSA key");
	expect(mint_gh(k_ed, "ES256", "ed1"), HOOP_JWT_KEY_MISMATCH,
	    "ES256 header on an Ed25519 key");

	/* No kid: only an unambiguous key will do. */
	mixed = make_set(2, rsa_ec, no_kids);
	expect_with(mint_gh(k_rsa, "RS256", NULL), mixed, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_OK,
	    "no kid, one compatible key");
	expect_with(mint_gh(k_ed, "EdDSA", NULL), mixed, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_NO_KEY,
	    "no kid, no compatible key");
	two = make_set(2, two_rsa, no_kids);
	expect_with(mint_gh(k_rsa, "RS256", NULL), two, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_AMBIGUOUS_KEY,
	    "no kid, two compatible keys");
	expect(mint_gh(k_rsa, "RS256", NULL), HOOP_JWT_AMBIGUOUS_KEY,
	    "no kid, main set has two RSA keys");
	dup = make_set(2, same_kid, same_kids);
	expect_with(mint_gh(k_rsa, "RS256", "dup"), dup, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_AMBIGUOUS_KEY,
	    "one kid on two RSA keys");

	/* A key's own alg pins it. */
	doc = json_pack("{s:[o]}", "keys", tk_jwk(k_rsa, "pinned", "RS256"));
	alg_set = NULL;
	ok(parse_jwks_json(doc, &alg_set) == HOOP_OK, "JWKS with key alg");
	json_decref(doc);
	expect_with(mint_gh(k_rsa, "RS256", "pinned"), alg_set, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_OK, "key alg RS256, RS256");
	expect_with(mint_gh(k_rsa, "PS256", "pinned"), alg_set, all_algs,
	    NELEM(all_algs), &gh_expect, HOOP_JWT_KEY_MISMATCH,
	    "key alg RS256, PS256 token");

	hoop_jwks_free(shared);
	hoop_jwks_free(mixed);
	hoop_jwks_free(two);
	hoop_jwks_free(dup);
	hoop_jwks_free(alg_set);
}

static void
test_signatures(void)
{
	json_t *extra;
	char *t;

	expect(edit_json_segment(mint_gh(k_rsa, "RS256", "rsa1"), 1, "sub",
	    json_string("repo:acme-corp/other:ref:refs/heads/main")),
	    HOOP_JWT_BAD_SIGNATURE, "tampered payload");
	expect(edit_json_segment(mint_gh(k_ec256, "ES256", "ec256"), 1, "exp",
	    json_integer((long long)now + 999999)), HOOP_JWT_BAD_SIGNATURE,
	    "tampered payload (ES256)");
	expect(edit_json_segment(mint_gh(k_rsa, "RS256", "rsa1"), 0, "typ",
	    json_string("at+jwt")), HOOP_JWT_BAD_SIGNATURE, "tampered header");
	expect(edit_json_segment(mint_gh(k_rsa, "RS256", "rsa1"), 0, "kid",
	    json_string("rsa2")), HOOP_JWT_BAD_SIGNATURE,
	    "header kid switched to another key");
	expect(edit_json_segment(mint_gh(k_rsa, "RS256", "rsa1"), 0, "alg",
	    json_string("PS256")), HOOP_JWT_BAD_SIGNATURE,
	    "RS256 signature relabelled PS256");
	expect(edit_signature(mint_gh(k_rsa, "RS256", "rsa1"), flip_bit),
	    HOOP_JWT_BAD_SIGNATURE, "tampered signature (RS256)");
	expect(edit_signature(mint_gh(k_rsa, "PS384", "rsa1"), flip_bit),
	    HOOP_JWT_BAD_SIGNATURE, "tampered signature (PS384)");
	expect(edit_signature(mint_gh(k_ec384, "ES384", "ec384"), flip_bit),
	    HOOP_JWT_BAD_SIGNATURE, "tampered signature (ES384)");
	expect(edit_signature(mint_gh(k_ed, "EdDSA", "ed1"), flip_bit),
	    HOOP_JWT_BAD_SIGNATURE, "tampered signature (EdDSA)");
	expect(edit_signature(mint_gh(k_rsa, "RS256", "rsa1"), drop_three),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "truncated signature (RS256)");
	expect(edit_signature(mint_gh(k_rsa, "RS256", "rsa1"), add_byte),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "signature with a byte added");
	expect(edit_signature(mint_gh(k_ed, "EdDSA", "ed1"), drop_byte),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "truncated signature (EdDSA)");
	expect(tk_token(k_ec256, "ES256", "ec256", NULL, gh, TK_ES_DER),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "ES256 signature in DER");
	expect(tk_token(k_ec521, "ES512", "ec521", NULL, gh, TK_ES_DER),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "ES512 signature in DER");
	expect(edit_signature(mint_gh(k_ec256, "ES256", "ec256"), drop_byte),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "ES256 raw signature of 63 bytes");
	expect(edit_signature(mint_gh(k_ec256, "ES256", "ec256"), add_byte),
	    HOOP_JWT_BAD_SIGNATURE_ENCODING, "ES256 raw signature of 65 bytes");
	expect(tk_token(k_rsa, "PS256", "rsa1", NULL, gh, TK_PSS_SALT0),
	    HOOP_JWT_BAD_SIGNATURE, "PS256 with an empty salt");
	/* r = s = 0 is well-formed and must simply fail. */
	t = mint_gh(k_ec256, "ES256", "ec256");
	expect(replace_segment(t, 2, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	    HOOP_JWT_BAD_SIGNATURE, "ES256 r = s = 0");

	/* Keys offered by the token itself are never used. */
	extra = json_pack("{s:o, s:s, s:s}", "jwk", tk_jwk(k_other, NULL,
	    NULL), "jku", "https://evil.example/jwks",
	    "x5u", "https://evil.example/cert");
	expect(tk_token(k_other, "RS256", "rsa1", extra, gh, 0),
	    HOOP_JWT_BAD_SIGNATURE, "header jwk/jku/x5u ignored");
	expect(tk_token(k_other, "RS256", NULL, extra, gh, 0),
	    HOOP_JWT_AMBIGUOUS_KEY, "header jwk without kid ignored");
	json_decref(extra);
}

static void
test_structure(void)
{
	struct timespec a, b;
	enum hoop_jwt_reason why;
	hoop_jwt_t *jwt = NULL;
	json_t *extra;
	size_t start, len;
	char *t, *big;
	double ms;

	/* Signature segments: 256 bytes (RS256) is 342 characters, whose
	 * last carries 4 unused bits. */
	t = mint_gh(k_rsa, "RS256", "rsa1");
	segment(t, 2, &start, &len);
	t[start + len - 1]++;	/* A->B, Q->R, g->h, w->x: a low bit set */
	expect(t, HOOP_JWT_BAD_B64, "non-canonical base64url (trailing bits)");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	t = realloc(t, strlen(t) + 3);
	strcat(t, "==");
	expect(t, HOOP_JWT_BAD_B64, "padding '='");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	t[10] = ' ';
	expect(t, HOOP_JWT_BAD_B64, "space in the header");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	segment(t, 1, &start, &len);
	t[start + 5] = '\n';
	expect(t, HOOP_JWT_BAD_B64, "newline in the payload");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	segment(t, 2, &start, &len);
	t[start + 7] = '+';
	expect(t, HOOP_JWT_BAD_B64, "'+' in the signature");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	segment(t, 1, &start, &len);
	t[start + 3] = '/';
	expect(t, HOOP_JWT_BAD_B64, "'/' in the payload");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	t = realloc(t, strlen(t) + 2);
	strcat(t, "\n");
	expect(t, HOOP_JWT_BAD_B64, "trailing newline");

	t = mint_gh(k_rsa, "RS256", "rsa1");
	t = realloc(t, strlen(t) + 6);
	strcat(t, ".QUJD");
	expect(t, HOOP_JWT_MALFORMED, "four segments");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	*strrchr(t, '.') = '\0';
	expect(t, HOOP_JWT_MALFORMED, "two segments");
	expect(strdup("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
	    "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe"
	    "ipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDb"
	    "Sv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaV"
	    "mqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je8"
	    "1860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi"
	    "6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzO"
	    "eDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBo"
	    "MYUZodetZdvTiFvSkQ"), HOOP_JWT_JWE, "JWE (five segments)");
	expect(strdup("a.b.c.d.e.f"), HOOP_JWT_MALFORMED, "six segments");
	expect(strdup(""), HOOP_JWT_MALFORMED, "empty token");
	expect(strdup(".."), HOOP_JWT_MALFORMED, "'..'");
	t = mint_gh(k_rsa, "RS256", "rsa1");
	expect(replace_segment(strdup(t), 0, ""), HOOP_JWT_MALFORMED,
	    "empty header segment");
	expect(replace_segment(strdup(t), 1, ""), HOOP_JWT_MALFORMED,
	    "empty payload segment");
	expect(replace_segment(t, 2, ""), HOOP_JWT_NO_SIGNATURE,
	    "empty signature segment");

	/* 1 MB: refused on its length alone. */
	big = malloc(1024 * 1024 + 1);
	memset(big, 'A', 1024 * 1024);
	big[100] = big[200] = '.';
	big[1024 * 1024] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	ok(hoop_jwt_parse(big, 1024 * 1024, &jwt, &why) == HOOP_ERR_DENIED &&
	    why == HOOP_JWT_TOO_LARGE && jwt == NULL, "1 MB token: too large");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	ok(ms < 5.0, "1 MB token refused quickly (%.3f ms)", ms);
	ok(hoop_jwt_parse(big, HOOP_JWT_MAX_SIZE + 1, &jwt, &why) ==
	    HOOP_ERR_DENIED && why == HOOP_JWT_TOO_LARGE,
	    "one byte over the limit: too large");
	ok(hoop_jwt_parse(big, HOOP_JWT_MAX_SIZE, &jwt, &why) ==
	    HOOP_ERR_DENIED && why == HOOP_JWT_HEADER_NOT_JSON,
	    "at the limit: parsed (and refused for its content)");
	free(big);

	/* A real token of nearly 16 KiB: a large claim set still works. */
	expect(mint(k_rsa, "RS256", "rsa1", gh_with("pad", json_sprintf("%0*d",
	    9000, 0))), HOOP_JWT_OK, "large (14 KiB) token accepted");

	expect(mint_raw("not json", "{}"), HOOP_JWT_HEADER_NOT_JSON,
	    "header not JSON");
	expect(mint_raw("[\"alg\",\"RS256\"]", "{}"), HOOP_JWT_HEADER_NOT_JSON,
	    "header a JSON array");
	expect(mint_raw("{\"alg\":\"RS256\"} x", "{}"),
	    HOOP_JWT_HEADER_NOT_JSON, "header with trailing garbage");
	expect(mint_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "not json"),
	    HOOP_JWT_PAYLOAD_NOT_JSON, "payload not JSON");
	expect(mint_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "\"str\""),
	    HOOP_JWT_PAYLOAD_NOT_JSON, "payload a JSON string");
	expect(mint_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
	    "{\"iss\":\"" GH_ISSUER "\",\"iss\":\"https://evil.example\"}"),
	    HOOP_JWT_DUPLICATE_KEY, "duplicate claim keys");
	expect(mint_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"alg\":\"none\"}",
	    "{}"), HOOP_JWT_DUPLICATE_KEY, "duplicate header keys");
	expect(mint_raw("{\"kid\":\"rsa1\"}", "{}"), HOOP_JWT_BAD_HEADER,
	    "header without alg");
	expect(mint_raw("{\"alg\":256}", "{}"), HOOP_JWT_BAD_HEADER,
	    "alg a number");
	expect(mint_raw("{\"alg\":\"RS256\",\"kid\":7}", "{}"),
	    HOOP_JWT_BAD_HEADER, "kid a number");
	expect(mint_raw("{\"alg\":\"RS256\",\"typ\":[]}", "{}"),
	    HOOP_JWT_BAD_HEADER, "typ an array");
	expect(mint_raw("{\"alg\":\"RS\\u0000256\"}", "{}"),
	    HOOP_JWT_HEADER_NOT_JSON, "NUL escaped in alg");

	extra = json_pack("{s:[s]}", "crit", "exp");
	expect(tk_token(k_rsa, "RS256", "rsa1", extra, gh, 0), HOOP_JWT_CRIT,
	    "crit header");
	json_decref(extra);
	extra = json_pack("{s:b, s:[s]}", "b64", 0, "crit", "b64");
	expect(tk_token(k_rsa, "RS256", "rsa1", extra, gh, 0), HOOP_JWT_CRIT,
	    "RFC 7797 unencoded payload (crit b64)");
	json_decref(extra);
}

/*
 * With the identity as public key, R = identity and S = 0 satisfy the
 * Ed25519 equation [S]B = R + [k]A for every message: a token signed by
 * nobody. Whichever step refuses it, it must not pass.
 */
static void
ed25519_identity_forgery(void)
{
	static const char identity[] =
	    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	unsigned char sig[64] = { 0x01 };
	enum hoop_jwt_reason why = HOOP_JWT__COUNT;
	hoop_jwks_t *set = NULL;
	hoop_jwt_t *jwt = NULL;
	char *input, *t;
	json_t *doc, *h;

	doc = json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "OKP", "crv",
	    "Ed25519", "kid", "ed", "x", identity);
	h = tk_header("EdDSA", "ed", NULL);
	input = tk_signing_input(h, gh);
	t = tk_append_sig(input, sig, sizeof(sig));
	if (parse_jwks_json(doc, &set) == HOOP_OK &&
	    hoop_jwt_parse(t, strlen(t), &jwt, &why) == HOOP_OK &&
	    hoop_jwt_verify(jwt, set, all_algs, NELEM(all_algs),
	    &why) == HOOP_OK)
		hoop_jwt_check_claims(jwt, &gh_expect, &why);
	ok(set == NULL && why != HOOP_JWT_OK,
	    "Ed25519 identity key: no token forged without a private key");
	hoop_jwt_free(jwt);
	hoop_jwks_free(set);
	free(t);
	free(input);
	json_decref(h);
	json_decref(doc);
}

static void
test_jwks(void)
{
	static const struct { const char *x, *what; } ed_bad[] = {
		{ "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "Ed25519 identity (order 1)" },
		{ "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA",
		    "Ed25519 identity, sign bit set" },
		{ "7P_______________________________________38",
		    "Ed25519 (0, -1) (order 2)" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "Ed25519 y = 0 (order 4)" },
		{ "xxdqcD1N2E-6PAt2DRBnDyogU_osOczGTsf9d5KsA_o",
		    "Ed25519 point of order 8" },
		{ "7f_______________________________________38",
		    "Ed25519 y = p (not canonical)" },
		{ "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "Ed25519 y = 2 (not on the curve)" },
	};
	static const char *const kids[] = { "a", "b" };
	EVP_PKEY *keys[2];
	hoop_jwks_t *set = NULL;
	unsigned char *raw = NULL;
	size_t raw_len = 0, i;
	json_t *doc, *jwk, *arr;
	char why[256], *s, *text;
	EVP_PKEY *weak;

#define JWKS_REFUSED(d, want, what) do { set = NULL; \
	text = json_dumps(d, JSON_COMPACT); \
	is_int(hoop_jwks_parse(text, strlen(text), &set, why, sizeof(why)), \
	    want, "JWKS: %s", what); \
	printf("#   why: %s\n", why); \
	hoop_jwks_free(set); free(text); json_decref(d); } while (0)

	weak = tk_keygen("rsa1024");
	doc = json_pack("{s:[o]}", "keys", tk_jwk(weak, "weak", NULL));
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "RSA-1024 key refused");
	EVP_PKEY_free(weak);

	jwk = tk_jwk(k_ec256, "ec", NULL);
	json_object_set_new(jwk, "d", json_string("AAAA"));
	doc = json_pack("{s:[o,o]}", "keys", tk_jwk(k_rsa, "r", NULL), jwk);
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "a private key refused");
	doc = json_pack("{s:[{s:s,s:s}]}", "keys", "kty", "oct", "k", "c2VjcmV0");
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "a symmetric key refused");

	/* y + 1 (or - 1): the same x, off the curve. */
	jwk = tk_jwk(k_ec256, "ec", NULL);
	s = (char *)json_string_value(json_object_get(jwk, "y"));
	hoop_b64url_decode(s, strlen(s), &raw, &raw_len);
	raw[raw_len - 1] ^= 0x01;
	s = tk_b64url(raw, raw_len);
	json_object_set_new(jwk, "y", json_string(s));
	free(s);
	free(raw);
	doc = json_pack("{s:[o]}", "keys", jwk);
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "EC point not on the curve");

	jwk = tk_jwk(k_ec384, "ec", NULL);
	json_object_set_new(jwk, "crv", json_string("P-256"));
	doc = json_pack("{s:[o]}", "keys", jwk);
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "EC coordinates of the wrong size");

	/* Ed25519 "x" that OpenSSL would take: small order (anyone can
	 * sign for them: see the forgery below) or no point at all. */
	for (i = 0; i < NELEM(ed_bad); i++) {
		doc = json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "OKP",
		    "crv", "Ed25519", "kid", "ed", "x", ed_bad[i].x);
		JWKS_REFUSED(doc, HOOP_ERR_INVAL, ed_bad[i].what);
	}
	doc = json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "OKP", "crv",
	    "Ed25519", "kid", "ed", "x",
	    "AwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	set = NULL;
	ok(parse_jwks_json(doc, &set) == HOOP_OK && hoop_jwks_count(set) == 1,
	    "JWKS: Ed25519 point with y = 3 kept");
	hoop_jwks_free(set);
	json_decref(doc);
	ed25519_identity_forgery();

	jwk = tk_jwk(k_rsa, "r", NULL);
	s = (char *)json_string_value(json_object_get(jwk, "n"));
	hoop_b64url_decode(s, strlen(s), &raw, &raw_len);
	raw = realloc(raw, raw_len + 1);
	memmove(raw + 1, raw, raw_len);
	raw[0] = 0;
	s = tk_b64url(raw, raw_len + 1);
	json_object_set_new(jwk, "n", json_string(s));
	free(s);
	free(raw);
	doc = json_pack("{s:[o]}", "keys", jwk);
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "RSA modulus with a leading zero");

	jwk = tk_jwk(k_rsa, "r", NULL);
	json_object_set_new(jwk, "e", json_string("AQ+B"));
	doc = json_pack("{s:[o]}", "keys", jwk);
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "RSA exponent not base64url");

	doc = json_pack("{s:[{s:s,s:s,s:s}]}", "keys", "kty", "XYZ", "kid",
	    "x", "n", "AQAB");
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "zero usable keys");
	doc = json_pack("{s:[]}", "keys");
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "empty keys array");
	doc = json_pack("{s:{}}", "keys");
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "keys an object");
	doc = json_pack("[o]", tk_jwk(k_rsa, "r", NULL));
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "a bare array");
	doc = json_pack("{s:[s]}", "keys", "RSA");
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "a key not an object");

	doc = json_pack("{s:[o]}", "keys", tk_jwk(k_ec256, "e", NULL));
	json_object_set_new(doc, "pad", json_sprintf("%0*d",
	    HOOP_JWKS_MAX_SIZE, 0));
	JWKS_REFUSED(doc, HOOP_ERR_TOOBIG, "oversized");

	arr = json_array();
	for (i = 0; i <= HOOP_JWKS_MAX_KEYS; i++)
		json_array_append_new(arr, tk_jwk(k_ed, NULL, NULL));
	doc = json_pack("{s:o}", "keys", arr);
	JWKS_REFUSED(doc, HOOP_ERR_INVAL, "65 keys");

	ok(hoop_jwks_parse("{\"keys\":[", 9, &set, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "JWKS: not JSON (%s)", why);
	ok(hoop_jwks_parse("{\"keys\":[],\"keys\":[]}", 21, &set, why,
	    sizeof(why)) == HOOP_ERR_INVAL,
	    "JWKS: duplicate JSON keys (%s)", why);
	ok(hoop_jwks_parse("\x01\x7f\xff", 3, &set, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && strchr(why, '\x01') == NULL &&
	    strchr(why, '\x7f') == NULL, "JWKS: message has no control bytes");

	/* Skipped, not refused: unknown kty and crv, encryption keys. */
	jwk = tk_jwk(k_ec256, "enc", NULL);
	json_object_set_new(jwk, "use", json_string("enc"));
	doc = json_pack("{s:[{s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s},o,o]}",
	    "keys", "kty", "XYZ", "kid", "unknown",
	    "kty", "EC", "crv", "secp256k1", "x", "AA", "y", "AA",
	    "kty", "OKP", "crv", "X25519", "x", "AA",
	    jwk, tk_jwk(k_ed, "ed", NULL));
	set = NULL;
	ok(parse_jwks_json(doc, &set) == HOOP_OK && hoop_jwks_count(set) == 1,
	    "JWKS: unknown kty, crv and use skipped, one key kept");
	hoop_jwks_free(set);
	json_decref(doc);

	keys[0] = k_rsa;
	keys[1] = k_ec521;
	doc = jwks_json(2, keys, kids);
	jwk = json_array_get(json_object_get(doc, "keys"), 0);
	json_object_set_new(jwk, "x5c", json_pack("[s]", "MIIB..."));
	set = NULL;
	ok(parse_jwks_json(doc, &set) == HOOP_OK && hoop_jwks_count(set) == 2,
	    "JWKS: two keys, other members ignored");
	ok(hoop_jwks_find(set, "b", "ES512", NULL) != NULL &&
	    hoop_jwks_find(set, "a", "ES512", NULL) == NULL &&
	    hoop_jwks_find(set, "a", "HS256", NULL) == NULL &&
	    hoop_jwks_find(set, "a", NULL, NULL) == NULL,
	    "JWKS: find by kid and alg");
	hoop_jwks_free(set);
	json_decref(doc);

	arr = json_array();
	for (i = 0; i < HOOP_JWKS_MAX_KEYS; i++)
		json_array_append_new(arr, tk_jwk(k_ed, NULL, NULL));
	doc = json_pack("{s:o}", "keys", arr);
	set = NULL;
	ok(parse_jwks_json(doc, &set) == HOOP_OK &&
	    hoop_jwks_count(set) == HOOP_JWKS_MAX_KEYS, "JWKS: 64 keys");
	hoop_jwks_free(set);
	json_decref(doc);
#undef JWKS_REFUSED
}

static void
test_reasons(void)
{
	int i, j, distinct = 1;

	for (i = 0; i < HOOP_JWT__COUNT; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(hoop_jwt_reason_str(i),
			    hoop_jwt_reason_str(j)) == 0 ||
			    strcmp(hoop_jwt_reason_str(i), "unknown reason") == 0)
				distinct = 0;
		}
	}
	ok(distinct, "every reason has its own text");
	ok(strcmp(hoop_jwt_reason_str(HOOP_JWT__COUNT), "unknown reason") == 0,
	    "out-of-range reason");
}

int
main(void)
{
	EVP_PKEY *keys[6];
	static const char *const kids[] = {
		"rsa1", "rsa2", "ec256", "ec384", "ec521", "ed1",
	};

	k_rsa = tk_keygen("rsa");
	k_rsa2 = tk_keygen("rsa");
	k_ec256 = tk_keygen("ec256");
	k_ec384 = tk_keygen("ec384");
	k_ec521 = tk_keygen("ec521");
	k_ed = tk_keygen("ed25519");
	k_other = tk_keygen("rsa");
	keys[0] = k_rsa;
	keys[1] = k_rsa2;
	keys[2] = k_ec256;
	keys[3] = k_ec384;
	keys[4] = k_ec521;
	keys[5] = k_ed;
	main_set = make_set(6, keys, kids);
	gh = load_claims("github-actions-claims.json");
	if (main_set == NULL || gh == NULL || k_other == NULL) {
		ok(0, "set up keys and claims");
		return done_testing();
	}
	ok(hoop_jwks_count(main_set) == 6, "main JWKS has 6 keys");
	now = (time_t)json_integer_value(json_object_get(gh, "iat")) + 10;
	gh_expect.issuer = GH_ISSUER;
	gh_expect.audiences = gh_auds;
	gh_expect.n_audiences = 1;
	gh_expect.now = now;

	test_b64();
	test_valid();
	test_other_issuers();
	test_times();
	test_claims();
	test_algs();
	test_keys();
	test_signatures();
	test_structure();
	test_jwks();
	test_reasons();

	hoop_jwks_free(main_set);
	json_decref(gh);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsa2);
	EVP_PKEY_free(k_ec256);
	EVP_PKEY_free(k_ec384);
	EVP_PKEY_free(k_ec521);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_other);
	return done_testing();
}
