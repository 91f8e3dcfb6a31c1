/*
 * SCRAM-SHA-256 (client and server) and md5 for PostgreSQL
 * (hoop_pgauth.h).
 *
 *   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i)
 *   ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey)
 *   ServerKey = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage = client-first-bare "," server-first "," client-final
 *                 without its ",p=..."
 *   ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "hoop_pgauth.h"
#include "hoop_util.h"

#define KEY_LEN		32	/* SHA-256 */
#define NONCE_RAW	18	/* 24 base64 characters, as the server uses */
#define SALT_LEN	16
/* No SCRAM message of ours or PostgreSQL's comes near this. */
#define SCRAM_MSG_MAX	2048
/* Base64 text we decode (salt, proof, signature, channel binding). */
#define B64_MAX		256

enum { ST_START, ST_FIRST, ST_FINAL, ST_DONE, ST_FAILED };

struct hoop_pg_scram_client {
	int state;
	char *password;
	char *first_bare;	/* "n=USER,r=NONCE" */
	char nonce[B64_MAX];
	char *msg;		/* the last message given out */
	unsigned char server_signature[KEY_LEN];	/* expected */
};

struct hoop_pg_scram_server {
	int state;
	unsigned iterations;
	unsigned char salt[SALT_LEN];
	unsigned char stored_key[KEY_LEN];
	unsigned char server_key[KEY_LEN];
	char gs2[4];		/* "n,," or "y,," */
	char *client_first_bare;
	char *server_first;
	char *nonce;		/* client's and ours */
	char *msg;
};

/* ---- Helpers ---- */

static void
wipe_free(char **p)
{
	hoop_wipe_free(*p);
	*p = NULL;
}

static int
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Standard base64 of n bytes (n <= 3 * B64_MAX / 4) into out. */
static void
b64_encode(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/*
 * Strict standard base64: padded to a multiple of 4, the alphabet only,
 * '=' only as the last one or two characters, and canonical (the unused
 * bits zero: re-encoding gives the same text). Returns the decoded
 * length, or -1.
 */
static int
b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	unsigned char raw[B64_MAX];
	char again[B64_MAX + 1];
	size_t i, pad = 0;
	int n;

	if (len == 0 || len > B64_MAX || len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (in[i] == '=') {
			if (i < len - 2)
				return -1;
			pad++;
		} else if (!b64_char((unsigned char)in[i]) || pad > 0)
			return -1;
	}
	if ((n = EVP_DecodeBlock(raw, (const unsigned char *)in, (int)len)) <
	    0 || (size_t)n < pad)
		return -1;
	n -= (int)pad;
	b64_encode(raw, (size_t)n, again);
	if ((size_t)n > cap || strlen(again) != len ||
	    memcmp(again, in, len) != 0) {
		explicit_bzero(raw, sizeof(raw));
		return -1;
	}
	memcpy(out, raw, (size_t)n);
	explicit_bzero(raw, sizeof(raw));
	return n;
}

static int
hmac(const unsigned char *key, size_t klen, const void *data, size_t dlen,
    unsigned char out[KEY_LEN])
{
	unsigned int olen = 0;

	return HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) !=
	    NULL && olen == KEY_LEN;
}

static int
sha256(const void *data, size_t len, unsigned char out[KEY_LEN])
{
	return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1;
}

/* ClientKey, StoredKey and ServerKey from a password (any of the
 * outputs may be NULL). */
static int
derive_keys(const char *password, const unsigned char *salt, size_t slen,
    unsigned iterations, unsigned char *client_key, unsigned char *stored_key,
    unsigned char *server_key)
{
	unsigned char salted[KEY_LEN], ck[KEY_LEN];
	int ok = 0;

	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
	    (int)slen, (int)iterations, EVP_sha256(), KEY_LEN, salted) != 1)
		goto out;
	if (!hmac(salted, KEY_LEN, "Client Key", 10, ck))
		goto out;
	if (stored_key != NULL && !sha256(ck, KEY_LEN, stored_key))
		goto out;
	if (server_key != NULL &&
	    !hmac(salted, KEY_LEN, "Server Key", 10, server_key))
		goto out;
	if (client_key != NULL)
		memcpy(client_key, ck, KEY_LEN);
	ok = 1;
out:
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ck, sizeof(ck));
	return ok;
}

static int
password_ok(const char *password, char *why, size_t whylen)
{
	const unsigned char *p;

	if (password == NULL || password[0] == '\0') {
		hoop_why(why, whylen, "empty password");
		return 0;
	}
	for (p = (const unsigned char *)password; *p != '\0'; p++) {
		if (*p >= 0x80) {
			hoop_why(why, whylen, "password is not ASCII "
			    "(SASLprep is not supported)");
			return 0;
		}
	}
	return 1;
}

/* A nonce: printable ASCII without ','. */
static int
nonce_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return 0;
	}
	return 1;
}

static int
random_nonce(char *out)
{
	unsigned char raw[NONCE_RAW];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return 0;
	b64_encode(raw, sizeof(raw), out);
	return 1;
}

/* SCRAM messages: ASCII-ish text, no NUL, bounded. Returns a fresh
 * NUL-terminated copy. */
static char *
message_copy(const unsigned char *data, size_t len, char *why,
    size_t whylen)
{
	char *s;

	if (data == NULL || len == 0 || len > SCRAM_MSG_MAX ||
	    memchr(data, '\0', len) != NULL) {
		hoop_why(why, whylen, "SCRAM message empty, too long or "
		    "holding NUL");
		return NULL;
	}
	if ((s = malloc(len + 1)) == NULL) {
		hoop_why(why, whylen, "out of memory");
		return NULL;
	}
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* The attribute "X=value" at *p: returns value and its length, and
 * moves *p past it and the ',' after it (or to the end). */
static const char *
attr(const char **p, char name, size_t *len)
{
	const char *v, *comma;

	if ((*p)[0] != name || (*p)[1] != '=')
		return NULL;
	v = *p + 2;
	comma = strchr(v, ',');
	*len = comma != NULL ? (size_t)(comma - v) : strlen(v);
	*p = comma != NULL ? comma + 1 : v + *len;
	return v;
}

/* "a,b,c" into a fresh string; NULL on failure. */
static char *
join3(const char *a, const char *b, const char *c, size_t clen)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	if ((s = malloc(la + lb + clen + 3)) == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = ',';
	memcpy(s + la + 1, b, lb);
	s[la + 1 + lb] = ',';
	memcpy(s + la + 2 + lb, c, clen);
	s[la + 2 + lb + clen] = '\0';
	return s;
}

/* ---- Client ---- */

/* saslname: ',' as "=2C", '=' as "=3D". */
static char *
saslname(const char *user)
{
	size_t i, o = 0;
	char *s;

	if ((s = malloc(strlen(user) * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; user[i] != '\0'; i++) {
		if (user[i] == ',' || user[i] == '=') {
			memcpy(s + o, user[i] == ',' ? "=2C" : "=3D", 3);
			o += 3;
		} else
			s[o++] = user[i];
	}
	s[o] = '\0';
	return s;
}

hoop_err_t
hoop_pg_scram_client_create_fixed(const char *user, const char *password,
    const char *nonce, hoop_pg_scram_client_t **out, char *why,
    size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	hoop_pg_scram_client_t *c = NULL;
	char *name = NULL;
	size_t n;

	if (!password_ok(password, why, whylen))
		goto out;
	ret = HOOP_ERR_NOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->password = strdup(password)) == NULL ||
	    (name = saslname(user != NULL ? user : "")) == NULL)
		goto out;
	if (nonce == NULL) {
		if (!random_nonce(c->nonce)) {
			hoop_why(why, whylen, "RAND_bytes failed");
			ret = HOOP_ERR_CRYPTO;
			goto out;
		}
	} else {
		n = strlen(nonce);
		if (n >= sizeof(c->nonce) || !nonce_ok(nonce, n)) {
			hoop_why(why, whylen, "invalid nonce");
			ret = HOOP_ERR_INVAL;
			goto out;
		}
		memcpy(c->nonce, nonce, n + 1);
	}
	n = strlen(name) + strlen(c->nonce) + 6;
	if ((c->first_bare = malloc(n + 1)) == NULL)
		goto out;
	snprintf(c->first_bare, n + 1, "n=%s,r=%s", name, c->nonce);
	c->state = ST_START;
	*out = c;
	c = NULL;
	ret = HOOP_OK;
out:
	free(name);
	hoop_pg_scram_client_free(c);
	return ret;
}

hoop_err_t
hoop_pg_scram_client_create(const char *password,
    hoop_pg_scram_client_t **out, char *why, size_t whylen)
{
	return hoop_pg_scram_client_create_fixed(NULL, password, NULL, out,
	    why, whylen);
}

hoop_err_t
hoop_pg_scram_client_first(hoop_pg_scram_client_t *c, const char **msg,
    size_t *len)
{
	size_t n;

	if (c->state != ST_START)
		return HOOP_ERR_INVAL;
	wipe_free(&c->msg);
	n = strlen(c->first_bare) + 3;
	if ((c->msg = malloc(n + 1)) == NULL) {
		c->state = ST_FAILED;
		return HOOP_ERR_NOMEM;
	}
	snprintf(c->msg, n + 1, "n,,%s", c->first_bare);
	c->state = ST_FIRST;
	*msg = c->msg;
	*len = n;
	return HOOP_OK;
}

/* "i=" value: 1 to the maximum, decimal, no sign or leading zero. */
static int
parse_iterations(const char *v, size_t len, unsigned *out)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 10 || v[0] == '0')
		return 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n > HOOP_PG_SCRAM_MAX_ITERATIONS)
		return 0;
	*out = (unsigned)n;
	return 1;
}

hoop_err_t
hoop_pg_scram_client_final(hoop_pg_scram_client_t *c,
    const unsigned char *server_first, size_t len, const char **msg,
    size_t *mlen, char *why, size_t whylen)
{
	unsigned char salt[B64_MAX], client_key[KEY_LEN], stored_key[KEY_LEN];
	unsigned char server_key[KEY_LEN], sig[KEY_LEN], proof[KEY_LEN];
	char proof_b64[64], *sf = NULL, *without_proof = NULL, *auth = NULL;
	const char *p, *nonce, *salt_b64, *iter;
	size_t nlen, slen, ilen, ours = strlen(c->nonce), n, i;
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned iterations = 0;
	int saltlen;

	if (c->state != ST_FIRST) {
		hoop_why(why, whylen, "SCRAM: out of order");
		goto out;
	}
	if ((sf = message_copy(server_first, len, why, whylen)) == NULL)
		goto out;
	p = sf;
	if ((nonce = attr(&p, 'r', &nlen)) == NULL ||
	    (salt_b64 = attr(&p, 's', &slen)) == NULL ||
	    (iter = attr(&p, 'i', &ilen)) == NULL || *p != '\0' ||
	    p[-1] == ',') {
		hoop_why(why, whylen, "SCRAM: malformed server-first-message");
		goto out;
	}
	if (nlen <= ours || memcmp(nonce, c->nonce, ours) != 0 ||
	    !nonce_ok(nonce, nlen)) {
		hoop_why(why, whylen, "SCRAM: server nonce does not extend "
		    "ours");
		goto out;
	}
	if ((saltlen = b64_decode(salt_b64, slen, salt, sizeof(salt))) <= 0) {
		hoop_why(why, whylen, "SCRAM: invalid salt");
		goto out;
	}
	if (!parse_iterations(iter, ilen, &iterations)) {
		hoop_why(why, whylen, "SCRAM: invalid iteration count (1 to "
		    "%u)", HOOP_PG_SCRAM_MAX_ITERATIONS);
		goto out;
	}
	/* client-final-message-without-proof: "c=biws,r=NONCE". */
	ret = HOOP_ERR_NOMEM;
	n = nlen + 9;
	if ((without_proof = malloc(n + 1)) == NULL)
		goto out;
	snprintf(without_proof, n + 1, "c=biws,r=%.*s", (int)nlen, nonce);
	if ((auth = join3(c->first_bare, sf, without_proof, n)) == NULL)
		goto out;
	ret = HOOP_ERR_CRYPTO;
	if (!derive_keys(c->password, salt, (size_t)saltlen, iterations,
	    client_key, stored_key, server_key) ||
	    !hmac(stored_key, KEY_LEN, auth, strlen(auth), sig) ||
	    !hmac(server_key, KEY_LEN, auth, strlen(auth),
	    c->server_signature)) {
		hoop_why(why, whylen, "SCRAM: key derivation failed");
		goto out;
	}
	for (i = 0; i < KEY_LEN; i++)
		proof[i] = client_key[i] ^ sig[i];
	b64_encode(proof, KEY_LEN, proof_b64);
	ret = HOOP_ERR_NOMEM;
	wipe_free(&c->msg);
	if ((c->msg = malloc(n + 3 + strlen(proof_b64) + 1)) == NULL)
		goto out;
	snprintf(c->msg, n + 3 + strlen(proof_b64) + 1, "%s,p=%s",
	    without_proof, proof_b64);
	*msg = c->msg;
	*mlen = strlen(c->msg);
	c->state = ST_FINAL;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		c->state = ST_FAILED;
	/* The password has done its work either way. */
	wipe_free(&c->password);
	explicit_bzero(client_key, sizeof(client_key));
	explicit_bzero(stored_key, sizeof(stored_key));
	explicit_bzero(server_key, sizeof(server_key));
	explicit_bzero(sig, sizeof(sig));
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(proof_b64, sizeof(proof_b64));
	free(sf);
	free(without_proof);
	free(auth);
	return ret;
}

hoop_err_t
hoop_pg_scram_client_verify(hoop_pg_scram_client_t *c,
    const unsigned char *server_final, size_t len, char *why, size_t whylen)
{
	unsigned char got[KEY_LEN];
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *p, *v;
	char *sf = NULL;
	size_t vlen;

	if (c->state != ST_FINAL) {
		hoop_why(why, whylen, "SCRAM: out of order");
		goto out;
	}
	if ((sf = message_copy(server_final, len, why, whylen)) == NULL)
		goto out;
	p = sf;
	if ((v = attr(&p, 'e', &vlen)) != NULL) {
		hoop_why(why, whylen, "SCRAM: server error: %.*s",
		    (int)(vlen > 64 ? 64 : vlen), v);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if ((v = attr(&p, 'v', &vlen)) == NULL || *p != '\0' ||
	    p[-1] == ',' || b64_decode(v, vlen, got, sizeof(got)) != KEY_LEN) {
		hoop_why(why, whylen, "SCRAM: malformed server-final-message");
		goto out;
	}
	if (CRYPTO_memcmp(got, c->server_signature, KEY_LEN) != 0) {
		hoop_why(why, whylen, "SCRAM: wrong server signature (the "
		    "server does not know the password)");
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	c->state = ST_DONE;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		c->state = ST_FAILED;
	free(sf);
	return ret;
}

void
hoop_pg_scram_client_free(hoop_pg_scram_client_t *c)
{
	if (c == NULL)
		return;
	wipe_free(&c->password);
	wipe_free(&c->msg);
	free(c->first_bare);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* ---- Server ---- */

hoop_err_t
hoop_pg_scram_server_create(const char *password, unsigned iterations,
    hoop_pg_scram_server_t **out, char *why, size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	hoop_pg_scram_server_t *s = NULL;

	if (!password_ok(password, why, whylen))
		goto out;
	if (iterations == 0)
		iterations = HOOP_PG_SCRAM_DEFAULT_ITERATIONS;
	if (iterations > HOOP_PG_SCRAM_MAX_ITERATIONS) {
		hoop_why(why, whylen, "too many iterations");
		goto out;
	}
	ret = HOOP_ERR_NOMEM;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->iterations = iterations;
	ret = HOOP_ERR_CRYPTO;
	if (RAND_bytes(s->salt, sizeof(s->salt)) != 1 ||
	    !derive_keys(password, s->salt, sizeof(s->salt), iterations, NULL,
	    s->stored_key, s->server_key)) {
		hoop_why(why, whylen, "SCRAM: key derivation failed");
		goto out;
	}
	s->state = ST_START;
	*out = s;
	s = NULL;
	ret = HOOP_OK;
out:
	hoop_pg_scram_server_free(s);
	return ret;
}

/* saslname: anything but ',' with '=' only in "=2C" or "=3D". */
static int
saslname_ok(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (v[i] == '=') {
			if (len - i < 3 || (memcmp(v + i, "=2C", 3) != 0 &&
			    memcmp(v + i, "=3D", 3) != 0))
				return 0;
			i += 2;
		}
	}
	return 1;
}

hoop_err_t
hoop_pg_scram_server_first(hoop_pg_scram_server_t *s,
    const unsigned char *client_first, size_t len, const char **msg,
    size_t *mlen, char *why, size_t whylen)
{
	char salt_b64[B64_MAX], ours[B64_MAX], *cf = NULL;
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *p, *name, *nonce;
	size_t nlen, ulen, n;

	if (s->state != ST_START) {
		hoop_why(why, whylen, "SCRAM: out of order");
		goto out;
	}
	if ((cf = message_copy(client_first, len, why, whylen)) == NULL)
		goto out;
	if (strncmp(cf, "p=", 2) == 0) {
		hoop_why(why, whylen, "SCRAM: channel binding requested but "
		    "not offered");
		goto out;
	}
	if ((cf[0] != 'n' && cf[0] != 'y') || cf[1] != ',' || cf[2] != ',') {
		hoop_why(why, whylen, "SCRAM: unsupported gs2 header "
		    "(authzid or unknown flag)");
		goto out;
	}
	memcpy(s->gs2, cf, 3);
	s->gs2[3] = '\0';
	p = cf + 3;
	if ((name = attr(&p, 'n', &ulen)) == NULL ||
	    (nonce = attr(&p, 'r', &nlen)) == NULL || *p != '\0' ||
	    p[-1] == ',' || !saslname_ok(name, ulen) || nlen > 128 ||
	    !nonce_ok(nonce, nlen)) {
		hoop_why(why, whylen, "SCRAM: malformed client-first-message");
		goto out;
	}
	ret = HOOP_ERR_CRYPTO;
	if (!random_nonce(ours)) {
		hoop_why(why, whylen, "RAND_bytes failed");
		goto out;
	}
	b64_encode(s->salt, sizeof(s->salt), salt_b64);
	ret = HOOP_ERR_NOMEM;
	n = nlen + strlen(ours);
	if ((s->client_first_bare = strdup(cf + 3)) == NULL ||
	    (s->nonce = malloc(n + 1)) == NULL)
		goto out;
	snprintf(s->nonce, n + 1, "%.*s%s", (int)nlen, nonce, ours);
	n += strlen(salt_b64) + 32;
	if ((s->server_first = malloc(n)) == NULL)
		goto out;
	snprintf(s->server_first, n, "r=%s,s=%s,i=%u", s->nonce, salt_b64,
	    s->iterations);
	*msg = s->server_first;
	*mlen = strlen(s->server_first);
	s->state = ST_FIRST;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		s->state = ST_FAILED;
	free(cf);
	return ret;
}

hoop_err_t
hoop_pg_scram_server_final(hoop_pg_scram_server_t *s,
    const unsigned char *client_final, size_t len, const char **msg,
    size_t *mlen, char *why, size_t whylen)
{
	unsigned char cbind[B64_MAX], proof[KEY_LEN], sig[KEY_LEN];
	unsigned char client_key[KEY_LEN], check[KEY_LEN];
	char *cf = NULL, *auth = NULL, sig_b64[64];
	const char *p, *c, *nonce, *pr;
	size_t clen, nlen, plen, i;
	hoop_err_t ret = HOOP_ERR_INVAL;
	int n;

	if (s->state != ST_FIRST) {
		hoop_why(why, whylen, "SCRAM: out of order");
		goto out;
	}
	if ((cf = message_copy(client_final, len, why, whylen)) == NULL)
		goto out;
	p = cf;
	if ((c = attr(&p, 'c', &clen)) == NULL ||
	    (nonce = attr(&p, 'r', &nlen)) == NULL ||
	    (pr = attr(&p, 'p', &plen)) == NULL || *p != '\0' ||
	    p[-1] == ',') {
		hoop_why(why, whylen, "SCRAM: malformed client-final-message");
		goto out;
	}
	if ((n = b64_decode(c, clen, cbind, sizeof(cbind))) != 3 ||
	    memcmp(cbind, s->gs2, 3) != 0) {
		hoop_why(why, whylen, "SCRAM: channel binding data does not "
		    "match the gs2 header");
		goto out;
	}
	if (nlen != strlen(s->nonce) || memcmp(nonce, s->nonce, nlen) != 0) {
		hoop_why(why, whylen, "SCRAM: nonce mismatch");
		goto out;
	}
	if (b64_decode(pr, plen, proof, sizeof(proof)) != KEY_LEN) {
		hoop_why(why, whylen, "SCRAM: malformed proof");
		goto out;
	}
	/* AuthMessage ends with client-final without ",p=...". */
	ret = HOOP_ERR_NOMEM;
	if ((auth = join3(s->client_first_bare, s->server_first, cf,
	    (size_t)(pr - 3 - cf))) == NULL)
		goto out;
	ret = HOOP_ERR_CRYPTO;
	if (!hmac(s->stored_key, KEY_LEN, auth, strlen(auth), sig))
		goto out;
	for (i = 0; i < KEY_LEN; i++)
		client_key[i] = proof[i] ^ sig[i];
	if (!sha256(client_key, KEY_LEN, check))
		goto out;
	if (CRYPTO_memcmp(check, s->stored_key, KEY_LEN) != 0) {
		hoop_why(why, whylen, "SCRAM: wrong password");
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if (!hmac(s->server_key, KEY_LEN, auth, strlen(auth), sig))
		goto out;
	b64_encode(sig, KEY_LEN, sig_b64);
	ret = HOOP_ERR_NOMEM;
	if ((s->msg = malloc(strlen(sig_b64) + 3)) == NULL)
		goto out;
	snprintf(s->msg, strlen(sig_b64) + 3, "v=%s", sig_b64);
	*msg = s->msg;
	*mlen = strlen(s->msg);
	s->state = ST_DONE;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		s->state = ST_FAILED;
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(sig, sizeof(sig));
	explicit_bzero(client_key, sizeof(client_key));
	explicit_bzero(check, sizeof(check));
	free(cf);
	free(auth);
	return ret;
}

void
hoop_pg_scram_server_free(hoop_pg_scram_server_t *s)
{
	if (s == NULL)
		return;
	wipe_free(&s->msg);
	free(s->client_first_bare);
	free(s->server_first);
	free(s->nonce);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* ---- md5 and one-time passwords ---- */

hoop_err_t
hoop_pg_md5_password(const char *user, const char *password,
    const unsigned char salt[4], char *out)
{
	unsigned char digest[16], inner[32 + 4];
	size_t plen, ulen;
	char hex[33], *buf = NULL;
	hoop_err_t ret = HOOP_ERR_INVAL;

	if (user == NULL || password == NULL)
		goto out;
	plen = strlen(password);
	ulen = strlen(user);
	ret = HOOP_ERR_NOMEM;
	if ((buf = malloc(plen + ulen + 1)) == NULL)
		goto out;
	memcpy(buf, password, plen);
	memcpy(buf + plen, user, ulen);
	ret = HOOP_ERR_CRYPTO;
	if (EVP_Digest(buf, plen + ulen, digest, NULL, EVP_md5(), NULL) != 1)
		goto out;
	hoop_hex_encode(digest, sizeof(digest), hex);
	memcpy(inner, hex, 32);
	memcpy(inner + 32, salt, 4);
	if (EVP_Digest(inner, sizeof(inner), digest, NULL, EVP_md5(), NULL) !=
	    1)
		goto out;
	memcpy(out, "md5", 3);
	hoop_hex_encode(digest, sizeof(digest), out + 3);
	ret = HOOP_OK;
out:
	if (buf != NULL) {
		explicit_bzero(buf, plen + ulen);
		free(buf);
	}
	explicit_bzero(digest, sizeof(digest));
	explicit_bzero(inner, sizeof(inner));
	explicit_bzero(hex, sizeof(hex));
	return ret;
}

hoop_err_t
hoop_pg_one_time_password(char *out)
{
	unsigned char raw[HOOP_PG_OTP_LEN / 2];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return HOOP_ERR_CRYPTO;
	hoop_hex_encode(raw, sizeof(raw), out);
	explicit_bzero(raw, sizeof(raw));
	return HOOP_OK;
}
