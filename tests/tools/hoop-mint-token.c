/*
 * Test-only token minting tool, for the integration suites, the demo and
 * the benchmarks. It signs with tests/unit/jwt_testkit.h, which shares no
 * code with lib/jwt.c, and can make every hostile form the tests need.
 *
 *   hoop-mint-token keygen TYPE FILE      rsa ec256 ec384 ec521 ed25519 ...
 *   hoop-mint-token jwks FILE[:KID[:ALG]]...   public JWKS on stdout
 *   hoop-mint-token sign [options] KEY CLAIMS  compact token on stdout
 *
 * sign options (CLAIMS is a JSON file, or - for {}):
 *   --alg A          header alg (default: RS256, ES256/384/512, EdDSA)
 *   --sign-alg A     how the key signs, when it should differ from --alg;
 *                    "none" leaves the signature empty
 *   --kid K          header kid
 *   --header JSON    members merged into the header
 *   --raw-header T   the header's exact JSON text
 *   --raw-payload T  the payload's exact JSON text
 *   --der            ECDSA signature left in DER
 *   --hmac FILE      sign with HMAC (per --alg's hash) keyed with FILE
 * and claim edits, applied in order to the claims read:
 *   --set NAME=JSON  set a claim; --del NAME removes one
 *   --time NAME=N    claim NAME = now + N seconds
 *   --pad N          add a claim of N characters (large tokens)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "../unit/jwt_testkit.h"

static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "hoop-mint-token: %s%s%s\n", msg, arg ? ": " : "",
	    arg ? arg : "");
	exit(2);
}

static EVP_PKEY *
load_key(const char *path)
{
	EVP_PKEY *pkey;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		die("cannot open key", path);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL)
		die("not a PEM private key", path);
	return pkey;
}

static const char *
default_alg(EVP_PKEY *pkey)
{
	size_t coord;
	const char *crv = tk_ec_curve(pkey, &coord);

	if (EVP_PKEY_is_a(pkey, "RSA"))
		return "RS256";
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return "EdDSA";
	if (crv != NULL && strcmp(crv, "P-384") == 0)
		return "ES384";
	if (crv != NULL && strcmp(crv, "P-521") == 0)
		return "ES512";
	return "ES256";
}

static int
cmd_keygen(int argc, char **argv)
{
	EVP_PKEY *pkey;
	FILE *f;
	int fd;

	if (argc != 3)
		die("usage: keygen TYPE FILE", NULL);
	if ((pkey = tk_keygen(argv[1])) == NULL)
		die("cannot generate key of type", argv[1]);
	if ((fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL)
		die("cannot write", argv[2]);
	if (!PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0)
		die("cannot write", argv[2]);
	EVP_PKEY_free(pkey);
	return 0;
}

static int
cmd_jwks(int argc, char **argv)
{
	json_t *keys = json_array(), *jwk, *doc;
	char *spec, *kid, *alg, *text;
	EVP_PKEY *pkey;
	int i;

	for (i = 1; i < argc; i++) {
		if ((spec = strdup(argv[i])) == NULL)
			die("out of memory", NULL);
		kid = strchr(spec, ':');
		alg = NULL;
		if (kid != NULL) {
			*kid++ = '\0';
			if ((alg = strchr(kid, ':')) != NULL)
				*alg++ = '\0';
		}
		pkey = load_key(spec);
		if ((jwk = tk_jwk(pkey, kid, alg)) == NULL ||
		    json_array_append_new(keys, jwk) != 0)
			die("cannot make JWK for", argv[i]);
		EVP_PKEY_free(pkey);
		free(spec);
	}
	if ((doc = json_pack("{s:o}", "keys", keys)) == NULL ||
	    (text = json_dumps(doc, JSON_INDENT(1))) == NULL)
		die("cannot encode JWKS", NULL);
	json_decref(doc);
	printf("%s\n", text);
	free(text);
	return 0;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) ==
	    NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("cannot read", path);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static json_t *
parse_json(const char *text, const char *what)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	if (v == NULL)
		die(e.text, what);
	return v;
}

static int
cmd_sign(int argc, char **argv)
{
	const char *alg = NULL, *sign_alg = NULL, *kid = NULL, *hmac = NULL;
	const char *raw_header = NULL, *raw_payload = NULL;
	json_t *extra = NULL, *claims, *header;
	unsigned char *sig = NULL;
	size_t sig_len = 0, keylen;
	char *input, *token, *eq, *hkey, *h = NULL, *p = NULL, *padding;
	EVP_PKEY *pkey;
	long long now = (long long)time(NULL);
	int i, flags = 0;

	const char *pos[2] = { NULL, NULL };
	int npos = 0;

	/* Options anywhere; claim edits apply in order once the claims
	 * file is read. */
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strncmp(o, "--", 2) != 0) {
			if (npos == 2)
				die("too many arguments", o);
			pos[npos++] = o;
			continue;
		}
		if (strcmp(o, "--der") == 0) {
			flags |= TK_ES_DER;
			continue;
		}
		if (v == NULL)
			die("option needs a value", o);
		i++;
		if (strcmp(o, "--alg") == 0)
			alg = v;
		else if (strcmp(o, "--sign-alg") == 0)
			sign_alg = v;
		else if (strcmp(o, "--kid") == 0)
			kid = v;
		else if (strcmp(o, "--header") == 0)
			extra = parse_json(v, o);
		else if (strcmp(o, "--raw-header") == 0)
			raw_header = v;
		else if (strcmp(o, "--raw-payload") == 0)
			raw_payload = v;
		else if (strcmp(o, "--hmac") == 0)
			hmac = v;
		else if (strcmp(o, "--set") != 0 && strcmp(o, "--time") != 0 &&
		    strcmp(o, "--del") != 0 && strcmp(o, "--pad") != 0)
			die("unknown option", o);
	}
	if (npos != 2)
		die("usage: sign [options] KEY CLAIMS", NULL);
	pkey = load_key(pos[0]);
	if (strcmp(pos[1], "-") == 0)
		claims = json_object();
	else {
		size_t len;
		char *text = read_all(pos[1], &len);

		claims = parse_json(text, pos[1]);
		free(text);
	}
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *name;

		if (strncmp(o, "--", 2) != 0 || strcmp(o, "--der") == 0)
			continue;
		i++;
		if (strcmp(o, "--set") != 0 && strcmp(o, "--time") != 0 &&
		    strcmp(o, "--del") != 0 && strcmp(o, "--pad") != 0)
			continue;
		if ((name = strdup(v)) == NULL)
			die("out of memory", NULL);
		eq = strchr(name, '=');
		if (strcmp(o, "--del") == 0)
			json_object_del(claims, name);
		else if (strcmp(o, "--pad") == 0) {
			keylen = strtoul(v, NULL, 10);
			if ((padding = malloc(keylen + 1)) == NULL)
				die("out of memory", NULL);
			memset(padding, 'p', keylen);
			padding[keylen] = '\0';
			json_object_set_new(claims, "x_pad",
			    json_string(padding));
			free(padding);
		} else if (eq == NULL)
			die("expected NAME=VALUE", v);
		else {
			*eq++ = '\0';
			if (strcmp(o, "--set") == 0)
				json_object_set_new(claims, name,
				    parse_json(eq, name));
			else
				json_object_set_new(claims, name,
				    json_integer(now + strtoll(eq, NULL, 10)));
		}
		free(name);
	}
	if (alg == NULL)
		alg = default_alg(pkey);
	if (sign_alg == NULL)
		sign_alg = alg;
	if ((header = tk_header(alg, kid, extra)) == NULL)
		die("cannot build header", NULL);
	h = raw_header != NULL ? strdup(raw_header) :
	    json_dumps(header, JSON_COMPACT);
	p = raw_payload != NULL ? strdup(raw_payload) :
	    json_dumps(claims, JSON_COMPACT);
	if (h == NULL || p == NULL ||
	    (input = tk_signing_input_raw(h, p)) == NULL)
		die("cannot encode", NULL);
	if (hmac != NULL) {
		hkey = read_all(hmac, &keylen);
		if (tk_hmac(tk_alg_md(alg), hkey, keylen, input, strlen(input),
		    &sig, &sig_len) != 0)
			die("HMAC failed", NULL);
		free(hkey);
	} else if (strcmp(sign_alg, "none") != 0 &&
	    tk_sign(pkey, sign_alg, flags, input, strlen(input), &sig,
	    &sig_len) != 0)
		die("signing failed", sign_alg);
	if ((token = tk_append_sig(input, sig, sig_len)) == NULL)
		die("cannot encode", NULL);
	printf("%s\n", token);
	free(token);
	free(input);
	free(sig);
	free(h);
	free(p);
	json_decref(header);
	json_decref(extra);
	json_decref(claims);
	EVP_PKEY_free(pkey);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: keygen | jwks | sign (see the source)", NULL);
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "jwks") == 0)
		return cmd_jwks(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	die("unknown command", argv[1]);
	return 2;
}
