/*
 * Token verification throughput: prints figures, passes or fails nothing,
 * and is not part of `make check` (run it with `make bench`).
 *
 * For RS256 (RSA-2048) and ES256 (P-256), one GitHub Actions token made
 * from tests/fixtures/claims/github-actions-claims.json with fresh times,
 * verified on one thread for a fixed time per figure:
 *   full    hoop_jwt_parse + hoop_jwt_verify + hoop_jwt_check_claims +
 *           hoop_jwt_free, as pam_hoop does per login
 *   verify  hoop_jwt_verify alone, on a token parsed once
 *   evp     EVP_DigestVerifyInit_ex + EVP_DigestVerify over the same
 *           signing input with the same key, fresh context per call: what
 *           any caller of the one-shot EVP API pays
 *   pkey    EVP_PKEY_verify of a precomputed digest on a context made
 *           once, the way `openssl speed` measures (no hashing, no setup)
 *
 * Usage: bench_jwt [-t SECONDS] [-c CLAIMS_JSON]
 * Output: one header line, then one tab-separated line per alg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "hoop_jwks.h"
#include "hoop_jwt.h"
#include "../unit/jwt_testkit.h"

#define CLAIMS_FILE	"tests/fixtures/claims/github-actions-claims.json"
#define GH_ISSUER	"https://token.actions.githubusercontent.com"
#define BASTION_AUD	"https://bastion.acme-corp.example"
#define BATCH		16	/* calls between two looks at the clock */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const allowed_algs[] = { "RS256", "ES256" };
static const char *const audiences[] = { BASTION_AUD };

struct bench_case {
	const char *alg;
	const char *keytype;	/* tk_keygen() */
	const char *kid;
	const char *x5t;	/* GitHub sends one too; hoop ignores it */
	EVP_PKEY *pkey;
	char *input;		/* "b64(header).b64(payload)" */
	size_t input_len;
	char *token;
	size_t token_len;
	unsigned char *der_sig;	/* the signature as EVP wants it */
	size_t der_sig_len;
	unsigned char digest[32];
	hoop_jwt_t *parsed;	/* for "verify" */
	EVP_PKEY_CTX *pkey_ctx;	/* for "pkey" */
};

static struct bench_case cases[] = {
	{ .alg = "RS256", .keytype = "rsa",
	    .kid = "cc413527173d7bd7a1b8a1d2e4a8b3e6c2c8f9d1",
	    .x5t = "zBNdJxc9e9ehuKHS5KiDfRoM1q0" },
	{ .alg = "ES256", .keytype = "ec256",
	    .kid = "5f0c7b2a9e4d3c1b8a7f6e5d4c3b2a1908f7e6d5",
	    .x5t = "XwxzKp5NPDsbin6KfBgjGxi2YQA" },
};

static hoop_jwks_t *jwks;
static struct hoop_jwt_expect expect;

static void
die(const char *what)
{
	fprintf(stderr, "bench_jwt: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* CPU time of this thread: like `openssl speed` (which counts user time
 * unless given -elapsed), figures then hold on a machine that is busy
 * with something else. */
static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls fn until secs have passed; calls per second. A failing call ends
 * the run: a benchmark of refusals would measure the wrong thing. */
static double
rate(double secs, int (*fn)(struct bench_case *), struct bench_case *c,
    const char *what)
{
	double start = seconds(), elapsed;
	unsigned long calls = 0;
	int i;

	for (;;) {
		for (i = 0; i < BATCH; i++) {
			if (fn(c) != 0) {
				fprintf(stderr, "bench_jwt: %s %s failed\n",
				    c->alg, what);
				exit(1);
			}
		}
		calls += BATCH;
		if ((elapsed = seconds() - start) >= secs)
			break;
	}
	return (double)calls / elapsed;
}

static int
run_full(struct bench_case *c)
{
	hoop_jwt_t *jwt = NULL;
	enum hoop_jwt_reason why;
	int ret = -1;

	expect.now = time(NULL);
	if (hoop_jwt_parse(c->token, c->token_len, &jwt, &why) != HOOP_OK ||
	    hoop_jwt_verify(jwt, jwks, allowed_algs,
	    NELEM(allowed_algs), &why) != HOOP_OK ||
	    hoop_jwt_check_claims(jwt, &expect, &why) != HOOP_OK)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "bench_jwt: %s\n", hoop_jwt_reason_str(why));
	hoop_jwt_free(jwt);
	return ret;
}

static int
run_verify(struct bench_case *c)
{
	enum hoop_jwt_reason why;

	return hoop_jwt_verify(c->parsed, jwks, allowed_algs,
	    NELEM(allowed_algs), &why) == HOOP_OK ? 0 : -1;
}

static int
run_evp(struct bench_case *c)
{
	EVP_MD_CTX *md_ctx;
	int ret = -1;

	if ((md_ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit_ex(md_ctx, NULL, "SHA256", NULL, NULL,
	    c->pkey, NULL) == 1 &&
	    EVP_DigestVerify(md_ctx, c->der_sig, c->der_sig_len,
	    (const unsigned char *)c->input, c->input_len) == 1)
		ret = 0;
	EVP_MD_CTX_free(md_ctx);
	return ret;
}

static int
run_pkey(struct bench_case *c)
{
	return EVP_PKEY_verify(c->pkey_ctx, c->der_sig, c->der_sig_len,
	    c->digest, sizeof(c->digest)) == 1 ? 0 : -1;
}

/* The fixture's claims, with iat, nbf and exp as GitHub would set them
 * for a token minted just now. */
static json_t *
fresh_claims(const char *path)
{
	json_error_t jerr;
	json_t *claims;
	time_t now = time(NULL);

	if ((claims = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		fprintf(stderr, "bench_jwt: %s: %s\n", path, jerr.text);
		exit(1);
	}
	if (json_object_set_new(claims, "iat", json_integer(now)) != 0 ||
	    json_object_set_new(claims, "nbf",
	    json_integer(now - 300)) != 0 ||
	    json_object_set_new(claims, "exp", json_integer(now + 600)) != 0)
		die("cannot set times");
	return claims;
}

static void
make_case(struct bench_case *c, const json_t *claims)
{
	json_t *extra, *header;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	enum hoop_jwt_reason why;

	if ((c->pkey = tk_keygen(c->keytype)) == NULL)
		die("keygen");
	if ((extra = json_pack("{s:s}", "x5t", c->x5t)) == NULL ||
	    (header = tk_header(c->alg, c->kid, extra)) == NULL ||
	    (c->input = tk_signing_input(header, claims)) == NULL)
		die("cannot build the signing input");
	json_decref(extra);
	json_decref(header);
	c->input_len = strlen(c->input);
	if (tk_sign(c->pkey, c->alg, 0, c->input, c->input_len, &sig,
	    &sig_len) != 0 ||
	    (c->token = tk_append_sig(c->input, sig, sig_len)) == NULL)
		die("cannot sign");
	free(sig);
	c->token_len = strlen(c->token);
	/* The same input signed again in the form EVP verifies (DER for
	 * ECDSA); any valid signature costs the same to check. */
	if (tk_sign(c->pkey, c->alg, TK_ES_DER, c->input, c->input_len,
	    &c->der_sig, &c->der_sig_len) != 0)
		die("cannot sign (DER)");
	if (EVP_Q_digest(NULL, "SHA256", NULL, c->input, c->input_len,
	    c->digest, NULL) != 1)
		die("digest");
	if ((c->pkey_ctx = EVP_PKEY_CTX_new_from_pkey(NULL, c->pkey,
	    NULL)) == NULL || EVP_PKEY_verify_init(c->pkey_ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c->pkey_ctx, EVP_sha256()) != 1)
		die("EVP_PKEY_verify_init");
	if (hoop_jwt_parse(c->token, c->token_len, &c->parsed,
	    &why) != HOOP_OK) {
		fprintf(stderr, "bench_jwt: %s: %s\n", c->alg,
		    hoop_jwt_reason_str(why));
		exit(1);
	}
}

/* A JWKS as an issuer publishes it: every key with kid and alg. */
static void
make_jwks(void)
{
	json_t *doc, *keys;
	char *text, why[256];
	size_t i;

	if ((doc = json_pack("{s:[]}", "keys")) == NULL)
		die("out of memory");
	keys = json_object_get(doc, "keys");
	for (i = 0; i < NELEM(cases); i++) {
		if (json_array_append_new(keys, tk_jwk(cases[i].pkey,
		    cases[i].kid, cases[i].alg)) != 0)
			die("cannot build the JWKS");
	}
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		die("out of memory");
	if (hoop_jwks_parse(text, strlen(text), &jwks, why,
	    sizeof(why)) != HOOP_OK) {
		fprintf(stderr, "bench_jwt: jwks: %s\n", why);
		exit(1);
	}
	free(text);
	json_decref(doc);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_jwt [-t SECONDS] [-c CLAIMS_JSON]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *claims_path = CLAIMS_FILE;
	double secs = 3.0, full, verify, evp, pkey;
	json_t *claims;
	char *end;
	size_t i;
	int ch;

	while ((ch = getopt(argc, argv, "c:t:")) != -1) {
		switch (ch) {
		case 'c':
			claims_path = optarg;
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end != '\0' || !(secs > 0 && secs <= 600))
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	claims = fresh_claims(claims_path);
	for (i = 0; i < NELEM(cases); i++)
		make_case(&cases[i], claims);
	json_decref(claims);
	make_jwks();
	expect.issuer = GH_ISSUER;
	expect.audiences = audiences;
	expect.n_audiences = 1;
	expect.clock_skew = 60;
	expect.max_age = 0;

	printf("alg\ttoken_bytes\tfull/s\tverify/s\tevp/s\tpkey/s\n");
	for (i = 0; i < NELEM(cases); i++) {
		/* One untimed call each, to fault in whatever is lazy. */
		if (run_full(&cases[i]) != 0 || run_verify(&cases[i]) != 0 ||
		    run_evp(&cases[i]) != 0 || run_pkey(&cases[i]) != 0)
			die("a warm-up call failed");
		full = rate(secs, run_full, &cases[i], "full");
		verify = rate(secs, run_verify, &cases[i], "verify");
		evp = rate(secs, run_evp, &cases[i], "evp");
		pkey = rate(secs, run_pkey, &cases[i], "pkey");
		printf("%s\t%zu\t%.0f\t%.0f\t%.0f\t%.0f\n", cases[i].alg,
		    cases[i].token_len, full, verify, evp, pkey);
		fflush(stdout);
	}

	for (i = 0; i < NELEM(cases); i++) {
		hoop_jwt_free(cases[i].parsed);
		EVP_PKEY_CTX_free(cases[i].pkey_ctx);
		EVP_PKEY_free(cases[i].pkey);
		free(cases[i].der_sig);
		free(cases[i].token);
		free(cases[i].input);
	}
	hoop_jwks_free(jwks);
	return 0;
}
