/*
 * Masking of query results and COPY data (hoop_mask.h).
 *
 * A set holds the session's masks: compiled patterns, column masks
 * split into their parts, and "actions" (a whole-value strategy and a
 * list of patterns), interned so that a plan is one action pointer per
 * column. Resolver answers are cached as (table oid, attnum) -> action.
 * Values go through at most two pattern buffers and one output buffer,
 * all reused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <pg_query.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/*
 * OpenSSL 3.0's EVP frees and allocates the digest state on every
 * init: two allocations and three times the time per hashed value. The
 * low-level SHA-256 (deprecated, still in 3.x) lets the HMAC's inner
 * and outer states be copied as plain structs. A build of OpenSSL
 * without the deprecated API gets EVP_MAC.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/opensslconf.h>
#if defined(OPENSSL_NO_DEPRECATED_3_0) || defined(HOOP_MASK_EVP_HMAC)
#define MASK_EVP_HMAC 1
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#else
#include <openssl/sha.h>
#endif

#include "hoop_mask.h"
#include "hoop_policy.h"
#include "hoop_sql.h"
#include "hoop_util.h"

/* Each pcre2_match call, and the JIT stack it may use. A search that
 * hits a limit masks its whole value. */
#define MATCH_LIMIT		1000000
#define DEPTH_LIMIT		10000
#define JIT_STACK_MAX		(1024 * 1024)
#define CACHE_MAX		65536
/* COPY output is cut into CopyData messages of about this size. */
#define COPY_MESSAGE_TARGET	(1024 * 1024)
#define NULL_STRING_MAX		1024

/* PostgreSQL type oids whose binary form matters here. */
enum {
	OID_BOOL = 16, OID_NAME = 19, OID_INT8 = 20,
	OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26,
	OID_JSON = 114, OID_UNKNOWN = 705, OID_BPCHAR = 1042,
	OID_VARCHAR = 1043, OID_JSONB = 3802,
};

/* ---- Built-in patterns ---- */

struct builtin {
	const char *name;
	const char *regex;	/* NULL: card_next */
};

/*
 * Compiled as bytes (not UTF): they only match ASCII, and bytes of
 * 0x80 and up where names may hold other letters. Runs start only where
 * the run does (lookbehinds) and repeats are possessive, so a search
 * costs time linear in the value whatever it holds.
 */
#define LOCAL_CHARS	"A-Za-z0-9._%+\\-\\x80-\\xff"
#define LABEL_CHARS	"A-Za-z0-9\\-\\x80-\\xff"
#define PEM_LABEL	"(?:[A-Z0-9]++ ){0,4}?PRIVATE KEY(?: BLOCK)?-----"

static const struct builtin builtins[] = {
	{ "email",
	  "(?<![" LOCAL_CHARS "])[" LOCAL_CHARS "]++@(?:[" LABEL_CHARS
	  "]++\\.)+[A-Za-z\\x80-\\xff][" LABEL_CHARS "]++" },
	/* Luhn needs arithmetic: card_next, below. */
	{ "card", NULL },
	{ "token",
	  "(?<![A-Za-z0-9_\\-])eyJ[A-Za-z0-9_\\-]++\\.[A-Za-z0-9_\\-]*+"
	  "(?:\\.[A-Za-z0-9_\\-]*+)*+"
	  "|(?i:\\bbearer)[ \\t]++\\K[A-Za-z0-9\\-._~+/]{16,}+=*+"
	  "|(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}+"
	  "|github_pat_[A-Za-z0-9_]{22,}+|glpat-[A-Za-z0-9_\\-]{20,}+"
	  "|xox[abposr]-[A-Za-z0-9\\-]{10,}+)" },
	{ "private_key",
	  "-----BEGIN " PEM_LABEL "[^\\-]*+(?:-(?!----END )[^\\-]*+)*+"
	  "(?:-----END " PEM_LABEL ")?" },
	{ "aws_key",
	  "(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA"
	  "|AROA)[A-Z0-9]{16}(?![A-Z0-9])"
	  "|(?i:secret_?access_?key)[\"']?+[ \\t]*+[:=][ \\t]*+[\"']?+\\K"
	  "[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])" },
};

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static const struct builtin *
find_builtin(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < nitems(builtins); i++) {
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	}
	return NULL;
}

int
hoop_mask_builtin_known(const char *name)
{
	return find_builtin(name) != NULL;
}

const char *
hoop_mask_builtin_list(void)
{
	return "email, card, token, private_key, aws_key";
}

/* ---- Keyed hash ---- */

struct hmac {
#ifdef MASK_EVP_HMAC
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
#else
	SHA256_CTX inner, outer;
#endif
	int ready;
};

static hoop_err_t
hmac_init(struct hmac *h, const unsigned char *key, size_t len)
{
#ifdef MASK_EVP_HMAC
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if ((h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (h->ctx = EVP_MAC_CTX_new(h->mac)) == NULL ||
	    EVP_MAC_init(h->ctx, key, len, params) != 1)
		return HOOP_ERR_CRYPTO;
#else
	unsigned char block[64] = { 0 }, pad[64];
	size_t i;

	/* RFC 2104: a key longer than the block is hashed first. */
	if (len > sizeof(block))
		SHA256(key, len, block);
	else
		memcpy(block, key, len);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = block[i] ^ 0x36;
	SHA256_Init(&h->inner);
	SHA256_Update(&h->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = block[i] ^ 0x5c;
	SHA256_Init(&h->outer);
	SHA256_Update(&h->outer, pad, sizeof(pad));
	explicit_bzero(block, sizeof(block));
	explicit_bzero(pad, sizeof(pad));
#endif
	h->ready = 1;
	return HOOP_OK;
}

/* The first HOOP_MASK_HASH_LEN hex digits of HMAC-SHA256(key, v). */
static int
hmac_hex(struct hmac *h, const unsigned char *v, size_t n,
    char out[HOOP_MASK_HASH_LEN + 1])
{
	unsigned char md[32];
#ifdef MASK_EVP_HMAC
	size_t mdlen = 0;

	if (!h->ready || EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(h->ctx, v, n) != 1 ||
	    EVP_MAC_final(h->ctx, md, &mdlen, sizeof(md)) != 1 ||
	    mdlen != sizeof(md))
		return -1;
#else
	SHA256_CTX c;

	if (!h->ready)
		return -1;
	c = h->inner;
	SHA256_Update(&c, v, n);
	SHA256_Final(md, &c);
	c = h->outer;
	SHA256_Update(&c, md, sizeof(md));
	SHA256_Final(md, &c);
	explicit_bzero(&c, sizeof(c));
#endif
	hoop_hex_encode(md, HOOP_MASK_HASH_LEN / 2, out);
	return 0;
}

static void
hmac_free(struct hmac *h)
{
#ifdef MASK_EVP_HMAC
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
#endif
	explicit_bzero(h, sizeof(*h));
}

/* ---- The set ---- */

struct pattern {
	pcre2_code *code;	/* NULL: the card scanner */
	int jit;
	enum hoop_mask_strategy strategy;
	long keep;
};

/* A column of hoop.conf, split: schema NULL for "table.column". */
struct colref {
	const char *schema, *table, *column;
};

struct colmask {
	struct colref *refs;
	size_t n_refs;
	long pattern;		/* index in pats; -1: the whole value */
	enum hoop_mask_strategy strategy;
	long keep;
	char *names;		/* storage of refs' strings */
};

#define WHOLE_NONE	(-1)

struct action {
	int whole;		/* WHOLE_NONE or a strategy */
	long keep;
	size_t n_pats;
	size_t *pats;		/* ascending indices in pats */
};

/* An action index in the cache meaning "refuse the result". */
#define ACTION_REFUSE	UINT32_MAX

struct cache_entry {
	uint32_t oid;
	int16_t attnum;
	uint8_t used;
	uint32_t action;
};

struct hoop_mask_set {
	struct pattern *pats;
	size_t n_pats;
	struct colmask *cms;
	size_t n_cms;
	int refuse_computed;
	int need_resolve;
	int active;
	struct action **acts;	/* acts[0] passes everything */
	size_t n_acts, cap_acts;
	uint32_t act_table;	/* a table column, when nothing is resolved */
	uint32_t act_computed;	/* a computed column */
	struct cache_entry *cache;
	size_t cache_cap, cache_used;
	struct timespec cache_born;
	long cache_ttl;
	hoop_mask_resolve_fn resolve;
	void *resolve_arg;
	struct hmac hmac;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
	struct hoop_pg_buf tmp[2];	/* pattern passes */
	struct hoop_pg_buf value;	/* hoop_mask_plan_value's result */
	size_t max_row;
};

static hoop_err_t
buf_add(struct hoop_pg_buf *b, const void *p, size_t n)
{
	hoop_err_t err;

	if (n == 0)
		return HOOP_OK;
	if (n > b->cap - b->len && (err = hoop_pg_buf_reserve(b, n)) !=
	    HOOP_OK)
		return err;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return HOOP_OK;
}

static hoop_err_t
buf_byte(struct hoop_pg_buf *b, unsigned char c)
{
	if (b->len < b->cap) {
		b->data[b->len++] = c;
		return HOOP_OK;
	}
	return buf_add(b, &c, 1);
}

/* Length of the UTF-8 character at p: that of a valid sequence (RFC
 * 3629: no overlongs, surrogates or values past U+10FFFF), or 1 for a
 * byte that starts none. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 1;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 1;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80 || (c == 0xf0 && p[1] < 0x90) ||
		    (c == 0xf4 && p[1] >= 0x90))
			return 1;
		return 4;
	}
	return 1;
}

/* ---- Strategies ---- */

static hoop_err_t
put_redacted(struct hoop_pg_buf *dst)
{
	return buf_add(dst, HOOP_MASK_REDACTED, strlen(HOOP_MASK_REDACTED));
}

/* '*' for each character but the last keep, never more than half. */
static hoop_err_t
put_partial(struct hoop_pg_buf *dst, const unsigned char *v, size_t n,
    long keep)
{
	size_t chars = 0, hidden, k, i, c;
	hoop_err_t err;

	for (i = 0; i < n && v[i] < 0x80; i++)
		;
	/* ASCII (the common case) needs no decoding. */
	for (chars = i; i < n; i += utf8_len(v + i, n - i))
		chars++;
	k = keep > 0 ? (size_t)keep : 0;
	if (k > chars / 2)
		k = chars / 2;
	hidden = chars - k;
	if (chars == n)
		i = hidden;
	else {
		for (i = 0, c = 0; c < hidden; c++)
			i += utf8_len(v + i, n - i);
	}
	if ((err = hoop_pg_buf_reserve(dst, hidden + (n - i))) != HOOP_OK)
		return err;
	memset(dst->data + dst->len, '*', hidden);
	dst->len += hidden;
	return buf_add(dst, v + i, n - i);
}

static hoop_err_t
put_hash(hoop_mask_set_t *s, struct hoop_pg_buf *dst, const unsigned char *v,
    size_t n)
{
	char hex[HOOP_MASK_HASH_LEN + 1];

	/* Cannot happen with the low-level hash; fail closed anyway. */
	if (hmac_hex(&s->hmac, v, n, hex) == -1)
		return put_redacted(dst);
	return buf_add(dst, hex, HOOP_MASK_HASH_LEN);
}

static hoop_err_t
put_strategy(hoop_mask_set_t *s, enum hoop_mask_strategy strategy, long keep,
    struct hoop_pg_buf *dst, const unsigned char *v, size_t n)
{
	switch (strategy) {
	case HOOP_MASK_PARTIAL:
		return put_partial(dst, v, n, keep);
	case HOOP_MASK_HASH:
		return put_hash(s, dst, v, n);
	case HOOP_MASK_REDACT:
		break;
	}
	return put_redacted(dst);
}

/* ---- Patterns ---- */

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The next card number at or after off: 13 to 19 digits with single
 * spaces or dashes between them, starting and ending where digit runs
 * do, passing the Luhn check; the longest at the leftmost start (what
 * a regex with a Luhn callout would find, without its backtracking:
 * at most 19 digits are looked at per start).
 */
static int
card_next(const unsigned char *v, size_t n, size_t off, size_t *st,
    size_t *en)
{
	unsigned even, even2, odd, odd2, d, sum;
	size_t i, j, digits, best;

	for (i = off; i < n; i++) {
		if (!is_digit(v[i]) || (i > 0 && is_digit(v[i - 1])))
			continue;
		even = even2 = odd = odd2 = 0;
		best = 0;
		for (j = i, digits = 0; j < n && digits < 19;) {
			d = (unsigned)(v[j++] - '0');
			/* Each digit plain and doubled (Luhn's 2d - 9). */
			if (digits++ & 1) {
				odd += d;
				odd2 += d > 4 ? 2 * d - 9 : 2 * d;
			} else {
				even += d;
				even2 += d > 4 ? 2 * d - 9 : 2 * d;
			}
			if (digits >= 13 && (j >= n || !is_digit(v[j]))) {
				/* From the right, every second is doubled. */
				sum = (digits - 1) % 2 == 0 ? even + odd2 :
				    even2 + odd;
				if (sum % 10 == 0)
					best = j;
			}
			if (j < n && is_digit(v[j]))
				continue;
			if (j + 1 < n && (v[j] == ' ' || v[j] == '-') &&
			    is_digit(v[j + 1])) {
				j++;
				continue;
			}
			break;
		}
		if (best != 0) {
			*st = i;
			*en = best;
			return 1;
		}
	}
	return 0;
}

/* The next match at or after off: 1, 0 for none, -1 when the search
 * could not finish. */
static int
next_match(hoop_mask_set_t *s, const struct pattern *pat,
    const unsigned char *in, size_t n, size_t off, size_t *st, size_t *en)
{
	PCRE2_SPTR subject = in != NULL ? in : (PCRE2_SPTR)"";
	PCRE2_SIZE *ov;
	int rc;

	if (pat->code == NULL)
		return card_next(in, n, off, st, en);
	if (pat->jit)
		rc = pcre2_jit_match(pat->code, subject, n, off, 0, s->md,
		    s->mctx);
	else
		rc = pcre2_match(pat->code, subject, n, off, 0, s->md, s->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(s->md);
	*st = ov[0];
	*en = ov[1];
	return 1;
}

enum pass_result {
	PASS_NONE,		/* no match: out untouched */
	PASS_REPLACED,		/* out holds the value with matches masked */
	PASS_FAILED,		/* the search did not finish */
	PASS_NOMEM,
};

static int
pattern_pass(hoop_mask_set_t *s, const struct pattern *pat,
    const unsigned char *in, size_t n, struct hoop_pg_buf *out)
{
	size_t off = 0, last = 0, st = 0, en = 0;
	int rc, any = 0;

	for (;;) {
		rc = next_match(s, pat, in, n, off, &st, &en);
		if (rc == 0)
			break;
		if (rc < 0)
			return PASS_FAILED;
		if (st < last || st > en || en > n)
			return PASS_FAILED;
		if (st == en) {
			/* An empty match masks nothing: look further on. */
			if (en >= n)
				break;
			off = en + utf8_len(in + en, n - en);
			continue;
		}
		if (!any) {
			out->len = 0;
			any = 1;
		}
		if (buf_add(out, in + last, st - last) != HOOP_OK ||
		    put_strategy(s, pat->strategy, pat->keep, out, in + st,
		    en - st) != HOOP_OK)
			return PASS_NOMEM;
		last = off = en;
		if (off >= n)
			break;
	}
	if (!any)
		return PASS_NONE;
	if (buf_add(out, in + last, n - last) != HOOP_OK)
		return PASS_NOMEM;
	return PASS_REPLACED;
}

/*
 * The heart: value v (n bytes, text) under action a, appended to dst
 * when it changes (*changed = 1); otherwise dst is left as it was.
 */
static hoop_err_t
mask_text(hoop_mask_set_t *s, const struct action *a, const unsigned char *v,
    size_t n, struct hoop_pg_buf *dst, int *changed)
{
	const unsigned char *cur = v;
	size_t curlen = n, i;
	int t = 0, r;

	*changed = 0;
	if (a->whole == HOOP_MASK_REDACT || a->whole == HOOP_MASK_HASH) {
		*changed = 1;
		return put_strategy(s, (enum hoop_mask_strategy)a->whole,
		    a->keep, dst, v, n);
	}
	for (i = 0; i < a->n_pats; i++) {
		r = pattern_pass(s, &s->pats[a->pats[i]], cur, curlen,
		    &s->tmp[t]);
		if (r == PASS_NOMEM)
			return HOOP_ERR_NOMEM;
		if (r == PASS_FAILED) {
			*changed = 1;
			return put_redacted(dst);
		}
		if (r == PASS_REPLACED) {
			cur = s->tmp[t].data;
			curlen = s->tmp[t].len;
			t ^= 1;
		}
	}
	if (a->whole == HOOP_MASK_PARTIAL) {
		*changed = 1;
		return put_partial(dst, cur, curlen, a->keep);
	}
	if (cur == v)
		return HOOP_OK;
	*changed = 1;
	return buf_add(dst, cur, curlen);
}

/* ---- Building the set ---- */

static int
strategy_rank(int whole, long keep)
{
	switch (whole) {
	case HOOP_MASK_REDACT:
		return 3 * 100;
	case HOOP_MASK_HASH:
		return 2 * 100;
	case HOOP_MASK_PARTIAL:
		/* Fewer characters kept is stronger. */
		return 100 - (int)(keep > 64 ? 64 : keep);
	}
	return 0;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The index of the action (whole, keep, pats), added if new; pats is
 * sorted in place. UINT32_MAX: out of memory. */
static uint32_t
intern_action(hoop_mask_set_t *s, int whole, long keep, size_t *pats,
    size_t n_pats)
{
	struct action *a, **v;
	size_t i, cap;

	if (whole != HOOP_MASK_PARTIAL)
		keep = 0;
	if (n_pats > 1)
		qsort(pats, n_pats, sizeof(*pats), cmp_size);
	for (i = 0; i < s->n_acts; i++) {
		a = s->acts[i];
		if (a->whole == whole && a->keep == keep &&
		    a->n_pats == n_pats && (n_pats == 0 ||
		    memcmp(a->pats, pats, n_pats * sizeof(*pats)) == 0))
			return (uint32_t)i;
	}
	if (s->n_acts >= UINT32_MAX - 1)
		return UINT32_MAX;
	if (s->n_acts == s->cap_acts) {
		cap = s->cap_acts ? s->cap_acts * 2 : 8;
		if ((v = reallocarray(s->acts, cap, sizeof(*v))) == NULL)
			return UINT32_MAX;
		s->acts = v;
		s->cap_acts = cap;
	}
	if ((a = calloc(1, sizeof(*a) + n_pats * sizeof(*pats))) == NULL)
		return UINT32_MAX;
	a->whole = whole;
	a->keep = keep;
	a->n_pats = n_pats;
	a->pats = (size_t *)(a + 1);
	if (n_pats > 0)
		memcpy(a->pats, pats, n_pats * sizeof(*pats));
	s->acts[s->n_acts] = a;
	return (uint32_t)s->n_acts++;
}

static hoop_err_t
compile_pattern(const struct hoop_mask *m, struct pattern *pat, char *why,
    size_t whylen)
{
	const struct builtin *b = NULL;
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE offset;
	uint32_t options;
	int code;

	if (m->builtin != NULL && (b = find_builtin(m->builtin)) == NULL) {
		hoop_why(why, whylen, "mask \"%s\": unknown built-in pattern "
		    "\"%s\"", m->name, m->builtin);
		return HOOP_ERR_CONFIG;
	}
	pat->strategy = m->strategy;
	pat->keep = m->keep;
	if (b != NULL && b->regex == NULL)
		return HOOP_OK;
	/* User patterns as the configuration checked them. */
	options = b != NULL ? 0 : PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
	    PCRE2_NEVER_BACKSLASH_C;
	pat->code = pcre2_compile((PCRE2_SPTR)(b != NULL ? b->regex :
	    m->pattern), PCRE2_ZERO_TERMINATED, options, &code, &offset, NULL);
	if (pat->code == NULL) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		hoop_why(why, whylen, "mask \"%s\": pattern does not compile: "
		    "%s", m->name, (char *)msg);
		return HOOP_ERR_CONFIG;
	}
	/* Without JIT (not built in) the interpreter does the same. */
	pat->jit = pcre2_jit_compile(pat->code, PCRE2_JIT_COMPLETE) == 0;
	return HOOP_OK;
}

/* "a.b" or "a.b.c" into parts (the configuration checked the form). */
static hoop_err_t
split_columns(const struct hoop_mask *m, struct colmask *cm)
{
	size_t i, total = 0, off = 0;
	char *p, *dot1, *dot2;

	for (i = 0; i < m->n_columns; i++)
		total += strlen(m->columns[i]) + 1;
	if ((cm->names = malloc(total ? total : 1)) == NULL ||
	    (cm->refs = calloc(m->n_columns ? m->n_columns : 1,
	    sizeof(*cm->refs))) == NULL)
		return HOOP_ERR_NOMEM;
	for (i = 0; i < m->n_columns; i++) {
		p = cm->names + off;
		memcpy(p, m->columns[i], strlen(m->columns[i]) + 1);
		off += strlen(m->columns[i]) + 1;
		if ((dot1 = strchr(p, '.')) == NULL)
			continue;
		*dot1 = '\0';
		if ((dot2 = strchr(dot1 + 1, '.')) != NULL) {
			*dot2 = '\0';
			cm->refs[cm->n_refs].schema = p;
			cm->refs[cm->n_refs].table = dot1 + 1;
			cm->refs[cm->n_refs].column = dot2 + 1;
		} else {
			cm->refs[cm->n_refs].table = p;
			cm->refs[cm->n_refs].column = dot1 + 1;
		}
		cm->n_refs++;
	}
	return HOOP_OK;
}

static hoop_err_t
read_key(const char *path, char **key, size_t *len, char *why, size_t whylen)
{
	hoop_err_t err;
	char *buf = NULL;
	size_t n = 0;

	if (path == NULL) {
		hoop_why(why, whylen, "a hash mask applies and no "
		    "mask_key_file is set");
		return HOOP_ERR_CONFIG;
	}
	if ((err = hoop_read_secret(path, HOOP_MASK_KEY_MAX + 2, &buf, &n,
	    why, whylen)) != HOOP_OK)
		return HOOP_ERR_CONFIG;
	if (n < HOOP_MASK_KEY_MIN || n > HOOP_MASK_KEY_MAX) {
		hoop_why(why, whylen, "mask_key_file %s holds %zu bytes: a key "
		    "has %d to %d", path, n, HOOP_MASK_KEY_MIN,
		    HOOP_MASK_KEY_MAX);
		hoop_wipe_free(buf);
		return HOOP_ERR_CONFIG;
	}
	*key = buf;
	*len = n;
	return HOOP_OK;
}

static hoop_err_t
setup_matching(hoop_mask_set_t *s)
{
	if ((s->md = pcre2_match_data_create(1, NULL)) == NULL ||
	    (s->mctx = pcre2_match_context_create(NULL)) == NULL)
		return HOOP_ERR_NOMEM;
	pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, DEPTH_LIMIT);
	if ((s->jit = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX,
	    NULL)) != NULL)
		pcre2_jit_stack_assign(s->mctx, NULL, s->jit);
	return HOOP_OK;
}

/* Counts what the applying masks need, then fills the set. */
static hoop_err_t
load_masks(hoop_mask_set_t *s, const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target, int *need_hash,
    char *why, size_t whylen)
{
	const struct hoop_policy *pol;
	const struct hoop_mask *m;
	size_t i, j, n_pats = 0, n_cms = 0;
	struct colmask *cm;
	hoop_err_t err;

	for (i = 0; i < hoop_config_policy_count(cfg); i++) {
		pol = hoop_config_policy_at(cfg, i);
		if (!hoop_policy_applies(pol, p, target))
			continue;
		if (pol->mask_computed == HOOP_MASK_COMPUTED_REFUSE)
			s->refuse_computed = 1;
		for (j = 0; j < pol->n_masks; j++) {
			m = &pol->masks[j];
			n_pats += m->pattern != NULL;
			n_cms += m->n_columns > 0;
			*need_hash |= m->strategy == HOOP_MASK_HASH;
		}
	}
	if ((n_pats > 0 && (s->pats = calloc(n_pats, sizeof(*s->pats))) ==
	    NULL) || (n_cms > 0 && (s->cms = calloc(n_cms,
	    sizeof(*s->cms))) == NULL))
		return HOOP_ERR_NOMEM;
	for (i = 0; i < hoop_config_policy_count(cfg); i++) {
		pol = hoop_config_policy_at(cfg, i);
		if (!hoop_policy_applies(pol, p, target))
			continue;
		for (j = 0; j < pol->n_masks; j++) {
			m = &pol->masks[j];
			if (m->pattern != NULL) {
				if ((err = compile_pattern(m,
				    &s->pats[s->n_pats], why, whylen)) !=
				    HOOP_OK)
					return err;
				s->n_pats++;
			}
			if (m->n_columns == 0)
				continue;
			cm = &s->cms[s->n_cms++];
			cm->pattern = m->pattern != NULL ?
			    (long)s->n_pats - 1 : -1;
			cm->strategy = m->strategy;
			cm->keep = m->keep;
			if ((err = split_columns(m, cm)) != HOOP_OK)
				return err;
		}
	}
	return HOOP_OK;
}

/* Actions of columns that are never resolved: a table column when no
 * column mask applies (the masks without columns), and a computed one
 * (every pattern). */
static hoop_err_t
base_actions(hoop_mask_set_t *s)
{
	size_t *pats = NULL, n = 0, i, j;
	int is_column_pattern;
	hoop_err_t err = HOOP_ERR_NOMEM;

	if (s->n_pats > 0 && (pats = calloc(s->n_pats, sizeof(*pats))) ==
	    NULL)
		goto out;
	if (intern_action(s, WHOLE_NONE, 0, NULL, 0) != 0)
		goto out;
	for (i = 0; i < s->n_pats; i++) {
		is_column_pattern = 0;
		for (j = 0; j < s->n_cms; j++)
			is_column_pattern |= s->cms[j].pattern == (long)i;
		if (!is_column_pattern)
			pats[n++] = i;
	}
	if ((s->act_table = intern_action(s, WHOLE_NONE, 0, pats, n)) ==
	    UINT32_MAX)
		goto out;
	for (i = 0; i < s->n_pats; i++)
		pats[i] = i;
	if ((s->act_computed = intern_action(s, WHOLE_NONE, 0, pats,
	    s->n_pats)) == UINT32_MAX)
		goto out;
	err = HOOP_OK;
out:
	free(pats);
	return err;
}

hoop_err_t
hoop_mask_set_create(const hoop_config_t *cfg, const struct hoop_principal *p,
    const char *target, const struct hoop_mask_options *opt,
    hoop_mask_set_t **out, char *why, size_t whylen)
{
	static const struct hoop_mask_options none;
	hoop_err_t ret = HOOP_ERR_NOMEM;
	hoop_mask_set_t *s = NULL;
	char *filekey = NULL;
	const void *key;
	size_t key_len = 0;
	int need_hash = 0;

	if (out == NULL)
		return HOOP_ERR_INVAL;
	*out = NULL;
	if (cfg == NULL || p == NULL || target == NULL) {
		hoop_why(why, whylen, "masking needs a configuration, a "
		    "principal and a target");
		return HOOP_ERR_INVAL;
	}
	if (opt == NULL)
		opt = &none;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	if ((ret = load_masks(s, cfg, p, target, &need_hash, why, whylen)) !=
	    HOOP_OK)
		goto out;
	s->active = s->n_pats > 0 || s->n_cms > 0 || s->refuse_computed;
	/* Under refuse, a view's computed column must be recognised too. */
	s->need_resolve = s->n_cms > 0 || s->refuse_computed;
	if (s->need_resolve && opt->resolve == NULL) {
		hoop_why(why, whylen, "column masks apply, and no resolver "
		    "was given");
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	s->resolve = opt->resolve;
	s->resolve_arg = opt->resolve_arg;
	s->max_row = opt->max_row ? opt->max_row : HOOP_MASK_MAX_ROW_DEFAULT;
	s->cache_ttl = opt->cache_ttl ? opt->cache_ttl :
	    HOOP_MASK_CACHE_TTL_DEFAULT;
	if (need_hash) {
		key = opt->key;
		key_len = opt->key_len;
		if (key == NULL) {
			if ((ret = read_key(hoop_config_mask_key_file(cfg),
			    &filekey, &key_len, why, whylen)) != HOOP_OK)
				goto out;
			key = filekey;
		} else if (key_len < HOOP_MASK_KEY_MIN ||
		    key_len > HOOP_MASK_KEY_MAX) {
			hoop_why(why, whylen, "a mask key has %d to %d bytes",
			    HOOP_MASK_KEY_MIN, HOOP_MASK_KEY_MAX);
			ret = HOOP_ERR_INVAL;
			goto out;
		}
		if ((ret = hmac_init(&s->hmac, key, key_len)) != HOOP_OK) {
			hoop_why(why, whylen, "cannot set up the mask key");
			goto out;
		}
	}
	if ((ret = setup_matching(s)) != HOOP_OK ||
	    (ret = base_actions(s)) != HOOP_OK)
		goto out;
	*out = s;
	s = NULL;
	ret = HOOP_OK;
out:
	if (filekey != NULL) {
		explicit_bzero(filekey, key_len);
		free(filekey);
	}
	if (ret == HOOP_ERR_NOMEM)
		hoop_why(why, whylen, "out of memory");
	hoop_mask_set_free(s);
	return ret;
}

void
hoop_mask_set_free(hoop_mask_set_t *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_pats; i++)
		pcre2_code_free(s->pats[i].code);
	free(s->pats);
	for (i = 0; i < s->n_cms; i++) {
		free(s->cms[i].refs);
		free(s->cms[i].names);
	}
	free(s->cms);
	for (i = 0; i < s->n_acts; i++)
		free(s->acts[i]);
	free(s->acts);
	free(s->cache);
	hmac_free(&s->hmac);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	pcre2_jit_stack_free(s->jit);
	hoop_pg_buf_free(&s->tmp[0]);
	hoop_pg_buf_free(&s->tmp[1]);
	hoop_pg_buf_free(&s->value);
	free(s);
}

int
hoop_mask_set_active(const hoop_mask_set_t *s)
{
	return s != NULL && s->active;
}

int
hoop_mask_set_has_columns(const hoop_mask_set_t *s)
{
	return s != NULL && s->n_cms > 0;
}

/* ---- Names and the resolver cache ---- */

static int
ident_eq(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char)*a;
		y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
		if (x == '\0')
			return 1;
	}
}

/* A whole-row name (column "") stands for every column of its table. */
static int
ref_matches(const struct colref *r, const struct hoop_mask_name *n)
{
	if (r->schema != NULL && !ident_eq(r->schema, n->schema))
		return 0;
	return ident_eq(r->table, n->table) && (n->column[0] == '\0' ||
	    ident_eq(r->column, n->column));
}

int
hoop_mask_set_names_column(const hoop_mask_set_t *s,
    const struct hoop_mask_name *name)
{
	size_t i, j;

	for (i = 0; s != NULL && i < s->n_cms; i++) {
		for (j = 0; j < s->cms[i].n_refs; j++) {
			if (ref_matches(&s->cms[i].refs[j], name))
				return 1;
		}
	}
	return 0;
}

static uint32_t
cache_slot(uint32_t oid, int16_t attnum, size_t cap)
{
	uint64_t k = ((uint64_t)oid << 16) ^ (uint16_t)attnum;

	k *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(k >> 32) & (uint32_t)(cap - 1);
}

void
hoop_mask_set_forget(hoop_mask_set_t *s)
{
	if (s == NULL)
		return;
	if (s->cache != NULL)
		memset(s->cache, 0, s->cache_cap * sizeof(*s->cache));
	s->cache_used = 0;
	clock_gettime(CLOCK_MONOTONIC, &s->cache_born);
}

static int
cache_get(hoop_mask_set_t *s, uint32_t oid, int16_t attnum, uint32_t *action)
{
	size_t i;

	if (s->cache_cap == 0)
		return 0;
	for (i = cache_slot(oid, attnum, s->cache_cap); s->cache[i].used;
	    i = (i + 1) & (s->cache_cap - 1)) {
		if (s->cache[i].oid == oid && s->cache[i].attnum == attnum) {
			*action = s->cache[i].action;
			return 1;
		}
	}
	return 0;
}

static void
cache_put_slot(struct cache_entry *c, size_t cap, uint32_t oid,
    int16_t attnum, uint32_t action)
{
	size_t i;

	for (i = cache_slot(oid, attnum, cap); c[i].used && !(c[i].oid ==
	    oid && c[i].attnum == attnum); i = (i + 1) & (cap - 1))
		;
	c[i].oid = oid;
	c[i].attnum = attnum;
	c[i].action = action;
	c[i].used = 1;
}

/* Best effort: an answer that cannot be cached is asked again. */
static void
cache_put(hoop_mask_set_t *s, uint32_t oid, int16_t attnum, uint32_t action)
{
	struct cache_entry *nc;
	size_t cap, i;

	if ((s->cache_used + 1) * 2 > s->cache_cap) {
		if (s->cache_cap >= CACHE_MAX) {
			hoop_mask_set_forget(s);
		} else {
			cap = s->cache_cap ? s->cache_cap * 2 : 64;
			if ((nc = calloc(cap, sizeof(*nc))) == NULL)
				return;
			for (i = 0; i < s->cache_cap; i++) {
				if (s->cache[i].used)
					cache_put_slot(nc, cap, s->cache[i].oid,
					    s->cache[i].attnum,
					    s->cache[i].action);
			}
			free(s->cache);
			s->cache = nc;
			s->cache_cap = cap;
		}
	}
	if (s->cache_used == 0)
		clock_gettime(CLOCK_MONOTONIC, &s->cache_born);
	cache_put_slot(s->cache, s->cache_cap, oid, attnum, action);
	s->cache_used++;
}

static void
cache_expire(hoop_mask_set_t *s)
{
	struct timespec now;

	if (s->cache_ttl < 0 || s->cache_used == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - s->cache_born.tv_sec >= s->cache_ttl)
		hoop_mask_set_forget(s);
}

/* An answer must be complete and its strings terminated. */
static int
answer_valid(const struct hoop_mask_column *c)
{
	const struct hoop_mask_name *n;
	size_t i;

	if (c->found != 1 || c->n_names == 0 ||
	    c->n_names > HOOP_MASK_NAMES_MAX)
		return 0;
	for (i = 0; i < c->n_names; i++) {
		n = &c->names[i];
		if (memchr(n->schema, '\0', sizeof(n->schema)) == NULL ||
		    memchr(n->table, '\0', sizeof(n->table)) == NULL ||
		    memchr(n->column, '\0', sizeof(n->column)) == NULL ||
		    n->table[0] == '\0')
			return 0;
	}
	/* The column itself comes first: a column name for a column. */
	return c->attnum == 0 || c->names[0].column[0] != '\0';
}

/* The action of a resolved column, or ACTION_REFUSE. */
static hoop_err_t
column_action(hoop_mask_set_t *s, const struct hoop_mask_column *c,
    size_t *pats, uint32_t *action)
{
	const struct action *table = s->acts[s->act_table];
	const struct colmask *cm;
	size_t n = 0, i, j, k;
	int whole = WHOLE_NONE, hit;
	long keep = 0;

	if (c->computed && s->refuse_computed) {
		*action = ACTION_REFUSE;
		return HOOP_OK;
	}
	if (c->computed) {
		for (i = 0; i < s->n_pats; i++)
			pats[n++] = i;
	} else {
		for (i = 0; i < table->n_pats; i++)
			pats[n++] = table->pats[i];
	}
	for (i = 0; i < s->n_cms; i++) {
		cm = &s->cms[i];
		hit = 0;
		for (j = 0; j < c->n_names && !hit; j++) {
			for (k = 0; k < cm->n_refs && !hit; k++)
				hit = ref_matches(&cm->refs[k], &c->names[j]);
		}
		if (!hit)
			continue;
		if (cm->pattern >= 0) {
			for (k = 0; k < n && pats[k] != (size_t)cm->pattern;
			    k++)
				;
			if (k == n)
				pats[n++] = (size_t)cm->pattern;
		} else if (strategy_rank(cm->strategy, cm->keep) >
		    strategy_rank(whole, keep)) {
			whole = cm->strategy;
			keep = cm->keep;
		}
	}
	*action = intern_action(s, whole, keep, pats, n);
	return *action == UINT32_MAX ? HOOP_ERR_NOMEM : HOOP_OK;
}

/* Resolves the columns of fields whose action is not known yet (those
 * with actions[i] == UINT32_MAX - 1). */
#define ACTION_UNKNOWN	(UINT32_MAX - 1)

static hoop_err_t
resolve_columns(hoop_mask_set_t *s, const struct hoop_pg_field *fields,
    size_t n, uint32_t *actions, char *why, size_t whylen)
{
	struct hoop_mask_column *q = NULL;
	size_t *pats = NULL, nq = 0, i, j;
	char rwhy[256] = "";
	hoop_err_t ret = HOOP_ERR_NOMEM, err;
	uint32_t a;

	for (i = 0; i < n; i++)
		nq += actions[i] == ACTION_UNKNOWN;
	if (nq == 0)
		return HOOP_OK;
	if ((q = calloc(nq, sizeof(*q))) == NULL ||
	    (pats = calloc(s->n_pats + 1, sizeof(*pats))) == NULL)
		goto out;
	nq = 0;
	for (i = 0; i < n; i++) {
		if (actions[i] != ACTION_UNKNOWN)
			continue;
		for (j = 0; j < nq && !(q[j].table_oid == fields[i].table_oid &&
		    q[j].attnum == fields[i].attnum); j++)
			;
		if (j < nq)
			continue;
		q[nq].table_oid = fields[i].table_oid;
		q[nq].attnum = fields[i].attnum;
		nq++;
	}
	err = s->resolve(s->resolve_arg, q, nq, rwhy, sizeof(rwhy));
	if (err != HOOP_OK) {
		hoop_why(why, whylen, "cannot tell which columns the result "
		    "holds (%s): refused", rwhy[0] ? rwhy :
		    hoop_strerror(err));
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	for (j = 0; j < nq; j++) {
		if (!answer_valid(&q[j])) {
			hoop_why(why, whylen, "cannot tell which column table "
			    "%u attribute %d is: refused", q[j].table_oid,
			    q[j].attnum);
			ret = HOOP_ERR_DENIED;
			goto out;
		}
		if (column_action(s, &q[j], pats, &a) != HOOP_OK)
			goto out;
		cache_put(s, q[j].table_oid, q[j].attnum, a);
		for (i = 0; i < n; i++) {
			if (actions[i] == ACTION_UNKNOWN &&
			    fields[i].table_oid == q[j].table_oid &&
			    fields[i].attnum == q[j].attnum)
				actions[i] = a;
		}
	}
	ret = HOOP_OK;
out:
	free(q);
	free(pats);
	return ret;
}

/* ---- Plans ---- */

enum col_mode {
	MODE_TEXT,		/* text format, or a binary text type */
	MODE_JSONB,		/* binary jsonb: version byte 1, then text */
	MODE_INT2,		/* binary numbers: checked, never changed */
	MODE_INT4,
	MODE_INT8,
	MODE_OID,
	MODE_BOOL,
};

struct col_plan {
	const struct action *a;	/* NULL: passes */
	enum col_mode mode;
};

struct hoop_mask_plan {
	hoop_mask_set_t *set;
	size_t n, masked;
	struct col_plan *cols;
	struct hoop_pg_data_row row;
	struct hoop_pg_value *vals;
	size_t *offs;
	struct hoop_pg_buf scratch;
};

/* A field's name for messages. */
static const char *
fname(const struct hoop_pg_field *f)
{
	return f->name != NULL ? f->name : "";
}

/* How a masked column in binary format is handled; -1: it cannot be. */
static int
binary_mode(uint32_t type_oid, const struct action *a)
{
	int mode;

	switch (type_oid) {
	case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR: case OID_NAME:
	case OID_JSON: case OID_UNKNOWN:
		/* Their binary form is their text, of any length. */
		return MODE_TEXT;
	case OID_JSONB:
		return MODE_JSONB;
	case OID_INT2:
		mode = MODE_INT2;
		break;
	case OID_INT4:
		mode = MODE_INT4;
		break;
	case OID_INT8:
		mode = MODE_INT8;
		break;
	case OID_OID:
		mode = MODE_OID;
		break;
	case OID_BOOL:
		mode = MODE_BOOL;
		break;
	default:
		return -1;
	}
	/* A number can be searched as text but not replaced. */
	return a->whole == WHOLE_NONE ? mode : -1;
}

static hoop_err_t
plan_columns(hoop_mask_plan_t *pl, const struct hoop_pg_field *fields,
    const int16_t *formats, int nformats, uint32_t *actions, char *why,
    size_t whylen)
{
	hoop_mask_set_t *s = pl->set;
	const struct action *a;
	int16_t format;
	size_t i;
	int mode;

	for (i = 0; i < pl->n; i++) {
		if (actions[i] == ACTION_REFUSE) {
			hoop_why(why, whylen, "column %zu (\"%.64s\") is "
			    "computed in a view and mask_computed = refuse",
			    i + 1, fname(&fields[i]));
			return HOOP_ERR_DENIED;
		}
		a = s->acts[actions[i]];
		if (a->whole == WHOLE_NONE && a->n_pats == 0)
			continue;
		format = nformats < 0 ? fields[i].format : nformats == 0 ? 0 :
		    nformats == 1 ? formats[0] : formats[i];
		if (format != 0 && format != 1) {
			hoop_why(why, whylen, "column %zu: format code %d",
			    i + 1, format);
			return HOOP_ERR_INVAL;
		}
		mode = format == 0 ? MODE_TEXT : binary_mode(
		    fields[i].type_oid, a);
		if (mode == -1) {
			hoop_why(why, whylen, "column %zu (\"%.64s\") is masked "
			    "and asked for in binary format (type oid %u), "
			    "which cannot be masked: ask for text format",
			    i + 1, fname(&fields[i]), fields[i].type_oid);
			return HOOP_ERR_DENIED;
		}
		pl->cols[i].a = a;
		pl->cols[i].mode = (enum col_mode)mode;
		pl->masked++;
	}
	return HOOP_OK;
}

hoop_err_t
hoop_mask_plan_create(hoop_mask_set_t *s, const struct hoop_pg_field *fields,
    size_t n, const int16_t *formats, int nformats, hoop_mask_plan_t **out,
    char *why, size_t whylen)
{
	hoop_mask_plan_t *pl = NULL;
	uint32_t *actions = NULL;
	hoop_err_t ret = HOOP_ERR_NOMEM;
	size_t i;

	if (out == NULL || s == NULL || (n > 0 && fields == NULL) ||
	    nformats < -1 || (nformats > 1 && (size_t)nformats != n) ||
	    (nformats > 0 && formats == NULL)) {
		hoop_why(why, whylen, "bad plan arguments");
		return HOOP_ERR_INVAL;
	}
	*out = NULL;
	if ((pl = calloc(1, sizeof(*pl))) == NULL ||
	    (n > 0 && ((pl->cols = calloc(n, sizeof(*pl->cols))) == NULL ||
	    (pl->vals = calloc(n, sizeof(*pl->vals))) == NULL ||
	    (pl->offs = calloc(n, sizeof(*pl->offs))) == NULL ||
	    (actions = calloc(n, sizeof(*actions))) == NULL)))
		goto out;
	pl->set = s;
	pl->n = n;
	if (s->need_resolve)
		cache_expire(s);
	for (i = 0; i < n; i++) {
		if (fields[i].table_oid == 0) {
			if (s->refuse_computed) {
				hoop_why(why, whylen, "column %zu (\"%.64s\") "
				    "is computed, not a table column, and "
				    "mask_computed = refuse", i + 1,
				    fname(&fields[i]));
				ret = HOOP_ERR_DENIED;
				goto out;
			}
			actions[i] = s->act_computed;
		} else if (!s->need_resolve)
			actions[i] = s->act_table;
		else if (!cache_get(s, fields[i].table_oid, fields[i].attnum,
		    &actions[i]))
			actions[i] = ACTION_UNKNOWN;
	}
	if (s->need_resolve && (ret = resolve_columns(s, fields, n, actions,
	    why, whylen)) != HOOP_OK)
		goto out;
	if ((ret = plan_columns(pl, fields, formats, nformats, actions, why,
	    whylen)) != HOOP_OK)
		goto out;
	*out = pl;
	pl = NULL;
	ret = HOOP_OK;
out:
	if (ret == HOOP_ERR_NOMEM)
		hoop_why(why, whylen, "out of memory");
	free(actions);
	hoop_mask_plan_free(pl);
	return ret;
}

void
hoop_mask_plan_free(hoop_mask_plan_t *pl)
{
	if (pl == NULL)
		return;
	free(pl->cols);
	free(pl->vals);
	free(pl->offs);
	hoop_pg_data_row_release(&pl->row);
	hoop_pg_buf_free(&pl->scratch);
	free(pl);
}

int
hoop_mask_plan_passes(const hoop_mask_plan_t *pl)
{
	return pl->masked == 0;
}

size_t
hoop_mask_plan_masked(const hoop_mask_plan_t *pl)
{
	return pl->masked;
}

hoop_err_t
hoop_mask_plan_value(hoop_mask_plan_t *pl, size_t col, const void *value,
    size_t len, const unsigned char **res, size_t *res_len, int *changed)
{
	hoop_err_t err;

	*res = value;
	*res_len = len;
	*changed = 0;
	if (col >= pl->n)
		return HOOP_ERR_INVAL;
	if (pl->cols[col].a == NULL)
		return HOOP_OK;
	pl->set->value.len = 0;
	if ((err = mask_text(pl->set, pl->cols[col].a, value, len,
	    &pl->set->value, changed)) != HOOP_OK)
		return err;
	if (*changed) {
		*res = pl->set->value.data;
		*res_len = pl->set->value.len;
	}
	return HOOP_OK;
}

hoop_err_t
hoop_mask_set_text(hoop_mask_set_t *s, const void *text, size_t len,
    const unsigned char **res, size_t *res_len, int *changed)
{
	hoop_err_t err;

	*res = text;
	*res_len = len;
	*changed = 0;
	s->value.len = 0;
	if ((err = mask_text(s, s->acts[s->act_computed], text, len, &s->value,
	    changed)) != HOOP_OK)
		return err;
	if (*changed) {
		*res = s->value.data;
		*res_len = s->value.len;
	}
	return HOOP_OK;
}

/* A binary number searched as text: a pattern that finds anything in
 * it refuses the row (the value has no masked form). */
static hoop_err_t
check_number(hoop_mask_plan_t *pl, size_t col, const struct hoop_pg_value *v,
    char *why, size_t whylen)
{
	static const int sizes[] = {
		[MODE_INT2] = 2, [MODE_INT4] = 4, [MODE_INT8] = 8,
		[MODE_OID] = 4, [MODE_BOOL] = 1,
	};
	const struct col_plan *cp = &pl->cols[col];
	const unsigned char *d = v->data;
	uint64_t u = 0;
	char text[24];
	size_t i;
	int n, r;

	if (v->len != sizes[cp->mode]) {
		hoop_why(why, whylen, "column %zu: a binary value of %d bytes "
		    "for a type of %d", col + 1, v->len, sizes[cp->mode]);
		return HOOP_ERR_DENIED;
	}
	for (i = 0; i < (size_t)v->len; i++)
		u = u << 8 | d[i];
	switch (cp->mode) {
	case MODE_INT2:
		n = snprintf(text, sizeof(text), "%d", (int16_t)u);
		break;
	case MODE_INT4:
		n = snprintf(text, sizeof(text), "%d", (int32_t)u);
		break;
	case MODE_INT8:
		n = snprintf(text, sizeof(text), "%lld", (long long)(int64_t)u);
		break;
	case MODE_OID:
		n = snprintf(text, sizeof(text), "%u", (unsigned)u);
		break;
	default:
		n = snprintf(text, sizeof(text), "%s", u ? "t" : "f");
		break;
	}
	for (i = 0; i < cp->a->n_pats; i++) {
		r = pattern_pass(pl->set, &pl->set->pats[cp->a->pats[i]],
		    (const unsigned char *)text, (size_t)n, &pl->set->tmp[0]);
		if (r == PASS_NOMEM)
			return HOOP_ERR_NOMEM;
		if (r != PASS_NONE) {
			hoop_why(why, whylen, "column %zu: a mask's pattern "
			    "matches a binary value, which cannot be masked: "
			    "ask for text format", col + 1);
			return HOOP_ERR_DENIED;
		}
	}
	return HOOP_OK;
}

static hoop_err_t
mask_column(hoop_mask_plan_t *pl, size_t col, const struct hoop_pg_value *v,
    int *changed, char *why, size_t whylen)
{
	const struct col_plan *cp = &pl->cols[col];
	size_t start = pl->scratch.len;
	hoop_err_t err;

	*changed = 0;
	switch (cp->mode) {
	case MODE_TEXT:
		return mask_text(pl->set, cp->a, v->data, (size_t)v->len,
		    &pl->scratch, changed);
	case MODE_JSONB:
		if (v->len < 1 || v->data[0] != 1) {
			hoop_why(why, whylen, "column %zu: binary jsonb of an "
			    "unknown version", col + 1);
			return HOOP_ERR_DENIED;
		}
		if ((err = buf_byte(&pl->scratch, 1)) != HOOP_OK ||
		    (err = mask_text(pl->set, cp->a, v->data + 1,
		    (size_t)v->len - 1, &pl->scratch, changed)) != HOOP_OK)
			return err;
		if (!*changed)
			pl->scratch.len = start;
		return HOOP_OK;
	default:
		return check_number(pl, col, v, why, whylen);
	}
}

hoop_err_t
hoop_mask_data_row(hoop_mask_plan_t *pl, const struct hoop_pg_msg *msg,
    struct hoop_pg_buf *out, char *why, size_t whylen)
{
	const struct hoop_pg_value *v;
	hoop_err_t err;
	size_t i, start;
	int changed = 0, ch;

	if ((err = hoop_pg_parse_data_row(msg, &pl->row, why, whylen)) !=
	    HOOP_OK)
		return err;
	if (pl->row.ncols != pl->n) {
		hoop_why(why, whylen, "a DataRow of %u columns for a "
		    "RowDescription of %zu", pl->row.ncols, pl->n);
		return HOOP_ERR_INVAL;
	}
	if (pl->masked == 0)
		return hoop_pg_put_message(out, msg->type, msg->body, msg->len);
	pl->scratch.len = 0;
	for (i = 0; i < pl->n; i++) {
		v = &pl->row.values[i];
		pl->vals[i] = *v;
		pl->offs[i] = SIZE_MAX;
		if (pl->cols[i].a == NULL || v->len < 0)
			continue;
		start = pl->scratch.len;
		if ((err = mask_column(pl, i, v, &ch, why, whylen)) != HOOP_OK)
			return err;
		if (!ch)
			continue;
		if (pl->scratch.len - start > INT32_MAX) {
			hoop_why(why, whylen, "column %zu: masked value too "
			    "large", i + 1);
			return HOOP_ERR_TOOBIG;
		}
		pl->offs[i] = start;
		pl->vals[i].len = (int32_t)(pl->scratch.len - start);
		changed = 1;
	}
	if (!changed)
		return hoop_pg_put_message(out, msg->type, msg->body, msg->len);
	/* The scratch buffer may have moved while it grew. */
	for (i = 0; i < pl->n; i++) {
		if (pl->offs[i] != SIZE_MAX)
			pl->vals[i].data = pl->scratch.data + pl->offs[i];
	}
	if ((err = hoop_pg_put_data_row(out, pl->vals, pl->n)) != HOOP_OK)
		hoop_why(why, whylen, "cannot rebuild the row: %s",
		    hoop_strerror(err));
	return err;
}

/* ---- COPY ---- */

struct hoop_mask_copy {
	hoop_mask_set_t *set;
	hoop_mask_plan_t *plan;
	int passthrough;
	int csv;
	unsigned char delim, quote, escape;
	int has_escape;		/* csv: an escape other than the quote */
	char null_s[NULL_STRING_MAX + 1];
	size_t null_len;
	int header;		/* the header row is still to come */
	int failed;
	/* An incomplete row, and the scanner's state at its end. */
	struct hoop_pg_buf pending;
	int in_quote, last_esc, backslash;
	struct hoop_pg_buf field;	/* a decoded value */
	struct hoop_pg_buf masked;	/* its masked form */
	size_t msg_start;
	unsigned long long rows;
};

static hoop_err_t
copy_options(hoop_mask_copy_t *c, const struct hoop_mask_copy_format *fmt,
    char *why, size_t whylen)
{
	const char *null_s;

	c->csv = fmt->kind == HOOP_MASK_COPY_CSV;
	c->delim = (unsigned char)(fmt->delimiter ? fmt->delimiter :
	    c->csv ? ',' : '\t');
	c->quote = (unsigned char)(fmt->quote ? fmt->quote : '"');
	c->escape = (unsigned char)(fmt->escape ? fmt->escape : c->quote);
	c->has_escape = c->escape != c->quote;
	null_s = fmt->null_string ? fmt->null_string : c->csv ? "" : "\\N";
	c->header = fmt->header != 0;
	if (fmt->kind != HOOP_MASK_COPY_TEXT && !c->csv &&
	    fmt->kind != HOOP_MASK_COPY_BINARY) {
		hoop_why(why, whylen, "unknown COPY format");
		return HOOP_ERR_INVAL;
	}
	/* As the server has them: one ASCII byte each, no line ends. */
	if (c->delim > 0x7f || c->delim == '\n' || c->delim == '\r' ||
	    (!c->csv && c->delim == '\\') || (c->csv && (c->quote > 0x7f ||
	    c->escape > 0x7f || c->quote == '\n' || c->quote == '\r' ||
	    c->escape == '\n' || c->escape == '\r' ||
	    c->delim == c->quote))) {
		hoop_why(why, whylen, "COPY delimiter, quote or escape the "
		    "server would not accept");
		return HOOP_ERR_INVAL;
	}
	if (strlen(null_s) > NULL_STRING_MAX || strpbrk(null_s, "\r\n")) {
		hoop_why(why, whylen, "COPY null string too long or holding "
		    "a line end");
		return HOOP_ERR_INVAL;
	}
	c->null_len = strlen(null_s);
	memcpy(c->null_s, null_s, c->null_len + 1);
	return HOOP_OK;
}

hoop_err_t
hoop_mask_copy_start(hoop_mask_set_t *s, const struct hoop_pg_field *columns,
    size_t n, const struct hoop_mask_copy_format *fmt,
    hoop_mask_copy_t **out, char *why, size_t whylen)
{
	hoop_mask_copy_t *c = NULL;
	hoop_err_t ret = HOOP_ERR_INVAL;

	if (out == NULL || s == NULL || fmt == NULL)
		return HOOP_ERR_INVAL;
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	c->set = s;
	if ((ret = copy_options(c, fmt, why, whylen)) != HOOP_OK ||
	    (ret = hoop_mask_plan_create(s, columns, n, NULL, 0, &c->plan,
	    why, whylen)) != HOOP_OK)
		goto out;
	if (fmt->kind == HOOP_MASK_COPY_BINARY && c->plan->masked > 0) {
		hoop_why(why, whylen, "COPY in binary format of masked "
		    "columns: use text or csv");
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	c->passthrough = c->plan->masked == 0;
	*out = c;
	c = NULL;
	ret = HOOP_OK;
out:
	hoop_mask_copy_free(c);
	return ret;
}

void
hoop_mask_copy_free(hoop_mask_copy_t *c)
{
	if (c == NULL)
		return;
	hoop_mask_plan_free(c->plan);
	hoop_pg_buf_free(&c->pending);
	hoop_pg_buf_free(&c->field);
	hoop_pg_buf_free(&c->masked);
	free(c);
}

unsigned long long
hoop_mask_copy_rows(const hoop_mask_copy_t *c)
{
	return c->rows;
}

/*
 * Row ends, as the server's COPY FROM reads them (so that what the user
 * saves loads back the same): text rows end at a newline that no
 * backslash escapes; csv rows at a newline outside quotes. The state
 * carries over from one piece of the stream to the next. 1 and *end
 * (the newline) when found.
 */
static int
scan_text(hoop_mask_copy_t *c, const unsigned char *p, size_t n, size_t *end)
{
	const unsigned char *nl;
	size_t from = 0, at, k;

	while ((nl = memchr(p + from, '\n', n - from)) != NULL) {
		at = (size_t)(nl - p);
		for (k = 0; k < at && p[at - 1 - k] == '\\'; k++)
			;
		if (k == at)
			k += (size_t)c->backslash;
		if (k % 2 == 0) {
			*end = at;
			c->backslash = 0;
			return 1;
		}
		from = at + 1;
	}
	for (k = 0; k < n && p[n - 1 - k] == '\\'; k++)
		;
	c->backslash = (int)((k == n ? k + (size_t)c->backslash : k) & 1);
	return 0;
}

static int
scan_csv(hoop_mask_copy_t *c, const unsigned char *p, size_t n, size_t *end)
{
	size_t i;
	unsigned char b;

	for (i = 0; i < n; i++) {
		b = p[i];
		if (c->in_quote && c->has_escape && b == c->escape)
			c->last_esc = !c->last_esc;
		if (b == c->quote && !c->last_esc)
			c->in_quote = !c->in_quote;
		if (!c->has_escape || b != c->escape)
			c->last_esc = 0;
		if (b == '\n' && !c->in_quote) {
			*end = i;
			c->in_quote = c->last_esc = 0;
			return 1;
		}
	}
	return 0;
}

static int
scan_row(hoop_mask_copy_t *c, const unsigned char *p, size_t n, size_t *end)
{
	return c->csv ? scan_csv(c, p, n, end) : scan_text(c, p, n, end);
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* The server's text-format escapes, undone. */
static hoop_err_t
text_decode(struct hoop_pg_buf *out, const unsigned char *f, size_t n)
{
	size_t i = 0, k;
	unsigned v, c;
	hoop_err_t err;

	out->len = 0;
	if ((err = hoop_pg_buf_reserve(out, n)) != HOOP_OK)
		return err;
	while (i < n) {
		c = f[i++];
		if (c != '\\' || i >= n) {
			out->data[out->len++] = (unsigned char)c;
			continue;
		}
		c = f[i++];
		if (c >= '0' && c <= '7') {
			v = c - '0';
			for (k = 0; k < 2 && i < n && f[i] >= '0' && f[i] <= '7';
			    k++)
				v = v * 8 + (unsigned)(f[i++] - '0');
			c = v & 0xff;
		} else if (c == 'x' && i < n && hex_value(f[i]) != -1) {
			v = (unsigned)hex_value(f[i++]);
			if (i < n && hex_value(f[i]) != -1)
				v = v * 16 + (unsigned)hex_value(f[i++]);
			c = v;
		} else {
			switch (c) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'v': c = '\v'; break;
			}
		}
		out->data[out->len++] = (unsigned char)c;
	}
	return HOOP_OK;
}

/* As the server writes a text-format value. */
static hoop_err_t
text_encode(hoop_mask_copy_t *c, struct hoop_pg_buf *out,
    const unsigned char *v, size_t n)
{
	static const char esc[32] = {
		['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
		['\t'] = 't', ['\v'] = 'v',
	};
	hoop_err_t err;
	unsigned char *o;
	size_t i;

	if ((err = hoop_pg_buf_reserve(out, 2 * n)) != HOOP_OK)
		return err;
	o = out->data + out->len;
	for (i = 0; i < n; i++) {
		if (v[i] < 0x20 && esc[v[i]] != 0) {
			*o++ = '\\';
			*o++ = (unsigned char)esc[v[i]];
			continue;
		}
		if (v[i] == '\\' || v[i] == c->delim)
			*o++ = '\\';
		*o++ = v[i];
	}
	out->len = (size_t)(o - out->data);
	return HOOP_OK;
}

/* Always quoted, so that it can never read back as NULL. */
static hoop_err_t
csv_encode(hoop_mask_copy_t *c, struct hoop_pg_buf *out,
    const unsigned char *v, size_t n)
{
	hoop_err_t err;
	unsigned char *o;
	size_t i;

	if ((err = hoop_pg_buf_reserve(out, 2 * n + 2)) != HOOP_OK)
		return err;
	o = out->data + out->len;
	*o++ = c->quote;
	for (i = 0; i < n; i++) {
		if (v[i] == c->quote || v[i] == c->escape)
			*o++ = c->escape;
		*o++ = v[i];
	}
	*o++ = c->quote;
	out->len = (size_t)(o - out->data);
	return HOOP_OK;
}

/*
 * One csv field from row[*pos], as the server's COPY FROM reads it
 * (quotes may open anywhere in a field). *pos ends after the delimiter,
 * or at n; *raw_len is the field's bytes. The value goes to c->field
 * when decode is set.
 */
static hoop_err_t
csv_field(hoop_mask_copy_t *c, const unsigned char *row, size_t n,
    size_t *pos, size_t *raw_len, int *saw_quote, int *delim_found,
    int decode)
{
	size_t i = *pos, start = *pos;
	unsigned char b;
	hoop_err_t err;

	*saw_quote = *delim_found = 0;
	c->field.len = 0;
	if (decode && (err = hoop_pg_buf_reserve(&c->field, n - i)) !=
	    HOOP_OK)
		return err;
	for (;;) {
		for (;;) {
			if (i >= n)
				goto done;
			b = row[i++];
			if (b == c->delim) {
				*delim_found = 1;
				goto done;
			}
			if (b == c->quote) {
				*saw_quote = 1;
				break;
			}
			if (decode)
				c->field.data[c->field.len++] = b;
		}
		for (;;) {
			if (i >= n)
				return HOOP_ERR_INVAL;
			b = row[i++];
			if (b == c->escape && i < n && (row[i] == c->escape ||
			    row[i] == c->quote)) {
				if (decode)
					c->field.data[c->field.len++] = row[i];
				i++;
				continue;
			}
			if (b == c->quote)
				break;
			if (decode)
				c->field.data[c->field.len++] = b;
		}
	}
done:
	*raw_len = i - start - (size_t)*delim_found;
	*pos = i;
	return HOOP_OK;
}

static size_t
text_field_end(hoop_mask_copy_t *c, const unsigned char *row, size_t n,
    size_t i)
{
	const unsigned char *d = memchr(row + i, c->delim, n - i);
	size_t end = d != NULL ? (size_t)(d - row) : n;

	/* Without a backslash before it, the first delimiter ends it. */
	if (memchr(row + i, '\\', end - i) == NULL)
		return end;
	while (i < n && row[i] != c->delim)
		i += row[i] == '\\' && i + 1 < n ? 2 : 1;
	return i;
}

static int
is_null(const hoop_mask_copy_t *c, const unsigned char *raw, size_t len,
    int saw_quote)
{
	return !saw_quote && len == c->null_len &&
	    memcmp(raw, c->null_s, len) == 0;
}

/* One field of a row: raw when it passes, else its masked form. */
static hoop_err_t
copy_field(hoop_mask_copy_t *c, size_t col, const unsigned char *raw,
    size_t len, int saw_quote, struct hoop_pg_buf *out)
{
	const struct action *a = c->plan->cols[col].a;
	const unsigned char *value = raw;
	size_t vlen = len;
	hoop_err_t err;
	int changed;

	if (a == NULL || is_null(c, raw, len, saw_quote))
		return buf_add(out, raw, len);
	if (c->csv) {
		value = c->field.data;
		vlen = c->field.len;
	} else if (memchr(raw, '\\', len) != NULL) {
		if ((err = text_decode(&c->field, raw, len)) != HOOP_OK)
			return err;
		value = c->field.data;
		vlen = c->field.len;
	}
	c->masked.len = 0;
	if ((err = mask_text(c->set, a, value, vlen, &c->masked, &changed)) !=
	    HOOP_OK)
		return err;
	if (!changed)
		return buf_add(out, raw, len);
	return c->csv ? csv_encode(c, out, c->masked.data, c->masked.len) :
	    text_encode(c, out, c->masked.data, c->masked.len);
}

static hoop_err_t
copy_fields(hoop_mask_copy_t *c, const unsigned char *row, size_t n,
    struct hoop_pg_buf *out, char *why, size_t whylen)
{
	size_t ncols = c->plan->n, col = 0, pos = 0, start, len;
	int saw_quote = 0, delim = 1;
	hoop_err_t err;

	if (ncols == 0 && n == 0)
		return HOOP_OK;
	while (delim) {
		if (col >= ncols)
			goto count;
		start = pos;
		if (c->csv) {
			if ((err = csv_field(c, row, n, &pos, &len, &saw_quote,
			    &delim, c->plan->cols[col].a != NULL)) != HOOP_OK) {
				hoop_why(why, whylen, "COPY row %llu: "
				    "unterminated quoted field", c->rows);
				return err;
			}
		} else {
			pos = text_field_end(c, row, n, pos);
			len = pos - start;
			delim = pos < n;
			pos += (size_t)delim;
		}
		if ((err = copy_field(c, col, row + start, len, saw_quote,
		    out)) != HOOP_OK ||
		    (delim && (err = buf_byte(out, c->delim)) != HOOP_OK))
			return err;
		col++;
	}
	if (col == ncols)
		return HOOP_OK;
count:
	hoop_why(why, whylen, "COPY row %llu does not have %zu fields: "
	    "refused", c->rows, ncols);
	return HOOP_ERR_DENIED;
}

/* A row without its newline; eol says whether it had one. */
static hoop_err_t
copy_row(hoop_mask_copy_t *c, const unsigned char *row, size_t n, int eol,
    struct hoop_pg_buf *out, char *why, size_t whylen)
{
	size_t k;
	int cr = 0;
	hoop_err_t err;

	/* A server writing "\r\n" line ends: the CR is not data. */
	if (eol && n > 0 && row[n - 1] == '\r') {
		for (k = 0; !c->csv && k < n - 1 && row[n - 2 - k] == '\\'; k++)
			;
		cr = k % 2 == 0;
		n -= (size_t)cr;
	}
	if (c->header) {
		c->header = 0;
		err = buf_add(out, row, n);
	} else {
		c->rows++;
		err = copy_fields(c, row, n, out, why, whylen);
	}
	if (err == HOOP_OK && cr)
		err = buf_byte(out, '\r');
	if (err == HOOP_OK && eol)
		err = buf_byte(out, '\n');
	return err;
}

static hoop_err_t
msg_begin(hoop_mask_copy_t *c, struct hoop_pg_buf *out)
{
	static const unsigned char head[5] = { HOOP_PG_B_COPY_DATA };

	c->msg_start = out->len;
	return buf_add(out, head, sizeof(head));
}

static hoop_err_t
msg_end(hoop_mask_copy_t *c, struct hoop_pg_buf *out)
{
	size_t len = out->len - c->msg_start - 1;
	unsigned char *p = out->data + c->msg_start + 1;

	if (len == 4) {
		out->len = c->msg_start;
		return HOOP_OK;
	}
	if (len > INT32_MAX)
		return HOOP_ERR_TOOBIG;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return HOOP_OK;
}

static hoop_err_t
emit_row(hoop_mask_copy_t *c, const unsigned char *row, size_t n, int eol,
    struct hoop_pg_buf *out, char *why, size_t whylen)
{
	hoop_err_t err;

	if ((err = copy_row(c, row, n, eol, out, why, whylen)) != HOOP_OK)
		return err;
	if (out->len - c->msg_start < COPY_MESSAGE_TARGET)
		return HOOP_OK;
	if ((err = msg_end(c, out)) != HOOP_OK)
		return err;
	return msg_begin(c, out);
}

static hoop_err_t
hold(hoop_mask_copy_t *c, const unsigned char *p, size_t n, char *why,
    size_t whylen)
{
	if (n > c->set->max_row - c->pending.len) {
		hoop_why(why, whylen, "a COPY row longer than %zu bytes",
		    c->set->max_row);
		return HOOP_ERR_TOOBIG;
	}
	return buf_add(&c->pending, p, n);
}

hoop_err_t
hoop_mask_copy_data(hoop_mask_copy_t *c, const void *data, size_t len,
    struct hoop_pg_buf *out, char *why, size_t whylen)
{
	const unsigned char *p = data;
	size_t before = out->len, end;
	hoop_err_t err;

	if (c->failed) {
		hoop_why(why, whylen, "the COPY stream failed before");
		return HOOP_ERR_INVAL;
	}
	if (len > 0 && data == NULL)
		return HOOP_ERR_INVAL;
	if (c->passthrough)
		return hoop_pg_put_message(out, HOOP_PG_B_COPY_DATA, data, len);
	if ((err = msg_begin(c, out)) != HOOP_OK)
		goto out;
	if (c->pending.len > 0) {
		if (!scan_row(c, p, len, &end)) {
			err = hold(c, p, len, why, whylen);
			goto out;
		}
		if ((err = hold(c, p, end, why, whylen)) != HOOP_OK ||
		    (err = emit_row(c, c->pending.data, c->pending.len, 1, out,
		    why, whylen)) != HOOP_OK)
			goto out;
		c->pending.len = 0;
		p += end + 1;
		len -= end + 1;
	}
	while (len > 0) {
		if (!scan_row(c, p, len, &end)) {
			err = hold(c, p, len, why, whylen);
			goto out;
		}
		if ((err = emit_row(c, p, end, 1, out, why, whylen)) != HOOP_OK)
			goto out;
		p += end + 1;
		len -= end + 1;
	}
	err = HOOP_OK;
out:
	if (err == HOOP_OK)
		err = msg_end(c, out);
	if (err != HOOP_OK) {
		if (err == HOOP_ERR_NOMEM)
			hoop_why(why, whylen, "out of memory");
		out->len = before;
		c->failed = 1;
	}
	return err;
}

hoop_err_t
hoop_mask_copy_end(hoop_mask_copy_t *c, struct hoop_pg_buf *out, char *why,
    size_t whylen)
{
	size_t before = out->len;
	hoop_err_t err;

	if (c->failed) {
		hoop_why(why, whylen, "the COPY stream failed before");
		return HOOP_ERR_INVAL;
	}
	if (c->passthrough || c->pending.len == 0)
		return HOOP_OK;
	if (c->csv && c->in_quote) {
		hoop_why(why, whylen, "COPY data ends inside a quoted field");
		c->failed = 1;
		return HOOP_ERR_INVAL;
	}
	if ((err = msg_begin(c, out)) == HOOP_OK &&
	    (err = copy_row(c, c->pending.data, c->pending.len, 0, out, why,
	    whylen)) == HOOP_OK)
		err = msg_end(c, out);
	c->pending.len = 0;
	if (err != HOOP_OK) {
		out->len = before;
		c->failed = 1;
	}
	return err;
}

size_t
hoop_mask_copy_masked(const hoop_mask_copy_t *c)
{
	return c->plan->masked;
}

/* ---- COPY statements ---- */

/*
 * The tokens of libpg_query's scanner: its output is a protobuf
 * ScanResult (field 2: ScanToken messages of start = 1, end = 2,
 * token = 4), read here by hand. Only what the reader needs is kept.
 */
struct scan_token {
	uint32_t start, end, token;
};

/* The scanner's token numbers for '(' and ')', and for comments (of
 * libpg_query 15; were they to change, a comment before COPY would make
 * the statement unreadable, never misread). */
#define TOKEN_OPEN	40
#define TOKEN_CLOSE	41
#define TOKEN_SQL_COMMENT	275
#define TOKEN_C_COMMENT		276

static int
pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if ((*(*p)++ & 0x80) == 0)
			return 0;
		shift += 7;
	}
	return -1;
}

/* One field's key and, for a length-delimited one, its bytes. Varints
 * land in *v. */
static int
pb_field(const unsigned char **p, const unsigned char *end, uint32_t *field,
    uint64_t *v, const unsigned char **body)
{
	uint64_t key;

	*body = NULL;
	if (pb_varint(p, end, &key) == -1 || key >> 32 != 0)
		return -1;
	*field = (uint32_t)(key >> 3);
	switch (key & 7) {
	case 0:
		return pb_varint(p, end, v);
	case 2:
		if (pb_varint(p, end, v) == -1 || *v > (uint64_t)(end - *p))
			return -1;
		*body = *p;
		*p += *v;
		return 0;
	default:	/* the scanner writes no other wire types */
		return -1;
	}
}

static int
scan_tokens(const PgQueryProtobuf *pb, struct scan_token **out, size_t *n)
{
	const unsigned char *p = (const unsigned char *)pb->data;
	const unsigned char *end = p + pb->len, *body, *q;
	struct scan_token *t = NULL, *nt;
	size_t cap = 0, count = 0;
	uint32_t field, sub;
	uint64_t v, w;

	while (p < end) {
		if (pb_field(&p, end, &field, &v, &body) == -1)
			goto bad;
		if (field != 2 || body == NULL)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nt = realloc(t, cap * sizeof(*t))) == NULL)
				goto bad;
			t = nt;
		}
		memset(&t[count], 0, sizeof(t[count]));
		for (q = body; q < body + v;) {
			const unsigned char *sb;

			if (pb_field(&q, body + v, &sub, &w, &sb) == -1 ||
			    w > UINT32_MAX)
				goto bad;
			if (sub == 1)
				t[count].start = (uint32_t)w;
			else if (sub == 2)
				t[count].end = (uint32_t)w;
			else if (sub == 4)
				t[count].token = (uint32_t)w;
		}
		count += t[count].token != TOKEN_SQL_COMMENT &&
		    t[count].token != TOKEN_C_COMMENT;
	}
	*out = t;
	*n = count;
	return 0;
bad:
	free(t);
	return -1;
}

/* An identifier, quoted as the server reads it back. */
static hoop_err_t
put_ident(struct hoop_pg_buf *b, const char *name)
{
	hoop_err_t err;
	const char *p;

	if ((err = buf_byte(b, '"')) != HOOP_OK)
		return err;
	for (p = name; *p != '\0'; p++)
		if ((*p == '"' && (err = buf_byte(b, '"')) != HOOP_OK) ||
		    (err = buf_byte(b, (unsigned char)*p)) != HOOP_OK)
			return err;
	return buf_byte(b, '"');
}

/* A node's string value: {"String":{"sval":...}}. */
static const char *
node_string(json_t *node)
{
	json_t *s = json_object_get(json_object_get(node, "String"), "sval");

	return json_is_string(s) ? json_string_value(s) : NULL;
}

/* "SELECT cols FROM table" for COPY table (cols). */
static hoop_err_t
relation_query(json_t *copy, char **out, char *why, size_t whylen)
{
	static const char *const parts[] = { "catalogname", "schemaname",
	    "relname" };
	struct hoop_pg_buf b = { 0 };
	json_t *rel = json_object_get(copy, "relation");
	json_t *cols = json_object_get(copy, "attlist"), *v;
	const char *name;
	size_t i, k;
	int first = 1;
	hoop_err_t err;

	if (!json_is_object(rel) || !json_is_string(json_object_get(rel,
	    "relname")) || (cols != NULL && !json_is_array(cols))) {
		hoop_why(why, whylen, "a COPY without a table or a query");
		return HOOP_ERR_INVAL;
	}
	if ((err = buf_add(&b, "SELECT ", 7)) != HOOP_OK)
		goto out;
	json_array_foreach(cols, i, v) {
		if ((name = node_string(v)) == NULL) {
			hoop_why(why, whylen, "a COPY column list hoop cannot "
			    "read");
			err = HOOP_ERR_INVAL;
			goto out;
		}
		if ((i > 0 && (err = buf_add(&b, ", ", 2)) != HOOP_OK) ||
		    (err = put_ident(&b, name)) != HOOP_OK)
			goto out;
	}
	if (json_array_size(cols) == 0 && (err = buf_byte(&b, '*')) != HOOP_OK)
		goto out;
	if ((err = buf_add(&b, " FROM ", 6)) != HOOP_OK)
		goto out;
	for (k = 0; k < nitems(parts); k++) {
		v = json_object_get(rel, parts[k]);
		if (v == NULL)
			continue;
		if (!json_is_string(v)) {
			err = HOOP_ERR_INVAL;
			goto out;
		}
		if ((!first && (err = buf_byte(&b, '.')) != HOOP_OK) ||
		    (err = put_ident(&b, json_string_value(v))) != HOOP_OK)
			goto out;
		first = 0;
	}
	if ((err = buf_byte(&b, '\0')) != HOOP_OK)
		goto out;
	*out = (char *)b.data;
	b.data = NULL;
out:
	if (err == HOOP_ERR_NOMEM)
		hoop_why(why, whylen, "out of memory");
	free(b.data);
	return err;
}

/* One character of a COPY option, as the server requires it. */
static int
option_char(json_t *arg, char *c)
{
	const char *s = node_string(arg);

	if (s == NULL || strlen(s) != 1)
		return -1;
	*c = s[0];
	return 0;
}

/* HEADER's value: 1, 0, or -1 (MATCH, which is for COPY FROM, or a
 * value the server would refuse). */
static int
option_header(json_t *arg)
{
	static const char *const yes[] = { "true", "on" };
	static const char *const no[] = { "false", "off" };
	json_t *v;
	const char *s;
	size_t i;

	if (arg == NULL)
		return 1;
	if ((v = json_object_get(arg, "Boolean")) != NULL)
		return json_is_true(json_object_get(v, "boolval"));
	if ((v = json_object_get(arg, "Integer")) != NULL) {
		json_int_t n = json_integer_value(json_object_get(v, "ival"));

		return n == 0 || n == 1 ? (int)n : -1;
	}
	if ((s = node_string(arg)) == NULL)
		return -1;
	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* ENCODING: only those the masks read as the session's UTF-8. */
static int
option_encoding(json_t *arg)
{
	const char *s = node_string(arg);
	char norm[16];
	size_t n = 0;

	if (s == NULL)
		return -1;
	for (; *s != '\0' && n + 1 < sizeof(norm); s++)
		if ((*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' &&
		    (*s | 0x20) <= 'z'))
			norm[n++] = (char)(*s | ((*s >= 'A' && *s <= 'Z') ?
			    0x20 : 0));
	norm[n] = '\0';
	return *s == '\0' && (strcmp(norm, "utf8") == 0 ||
	    strcmp(norm, "unicode") == 0 || strcmp(norm, "sqlascii") == 0) ?
	    0 : -1;
}

static hoop_err_t
copy_statement_options(json_t *opts, struct hoop_mask_copy_statement *st,
    char *why, size_t whylen)
{
	/* Options for COPY FROM only (the server refuses them here) and
	 * FORCE_QUOTE (quotes that the reader takes as they come). */
	static const char *const harmless[] = { "force_quote",
	    "force_not_null", "force_null", "freeze" };
	struct hoop_mask_copy_format *f = &st->fmt;
	json_t *o, *def, *arg;
	const char *name = NULL, *s;
	size_t i, k;
	int h;

	json_array_foreach(opts, i, o) {
		def = json_object_get(o, "DefElem");
		name = json_string_value(json_object_get(def, "defname"));
		arg = json_object_get(def, "arg");
		if (name == NULL)
			goto bad;
		if (strcmp(name, "format") == 0) {
			if ((s = node_string(arg)) == NULL)
				goto bad;
			if (strcmp(s, "text") == 0)
				f->kind = HOOP_MASK_COPY_TEXT;
			else if (strcmp(s, "csv") == 0)
				f->kind = HOOP_MASK_COPY_CSV;
			else if (strcmp(s, "binary") == 0)
				f->kind = HOOP_MASK_COPY_BINARY;
			else
				goto bad;
		} else if (strcmp(name, "delimiter") == 0) {
			if (option_char(arg, &f->delimiter) == -1)
				goto bad;
		} else if (strcmp(name, "quote") == 0) {
			if (option_char(arg, &f->quote) == -1)
				goto bad;
		} else if (strcmp(name, "escape") == 0) {
			if (option_char(arg, &f->escape) == -1)
				goto bad;
		} else if (strcmp(name, "null") == 0) {
			if ((s = node_string(arg)) == NULL ||
			    strlen(s) > HOOP_MASK_COPY_NULL_MAX)
				goto bad;
			memcpy(st->null_buf, s, strlen(s) + 1);
			f->null_string = st->null_buf;
		} else if (strcmp(name, "header") == 0) {
			if ((h = option_header(arg)) == -1)
				goto bad;
			f->header = h;
		} else if (strcmp(name, "encoding") == 0) {
			if (option_encoding(arg) == -1)
				goto bad;
		} else {
			for (k = 0; k < nitems(harmless); k++)
				if (strcmp(name, harmless[k]) == 0)
					break;
			if (k == nitems(harmless))
				goto bad;
		}
	}
	return HOOP_OK;
bad:
	hoop_why(why, whylen, "COPY option %.40s%s%s: hoop cannot read the "
	    "data it makes", name != NULL ? name : "?", name != NULL &&
	    strcmp(name, "encoding") == 0 ? " other than UTF8" : "",
	    name != NULL && strcmp(name, "header") == 0 ? " (use true or "
	    "false)" : "");
	return HOOP_ERR_INVAL;
}

/* The one CopyStmt of a parser answer, or NULL. */
static json_t *
copy_node(json_t *doc)
{
	json_t *stmts = json_object_get(doc, "stmts");

	if (!json_is_array(stmts) || json_array_size(stmts) != 1)
		return NULL;
	return json_object_get(json_object_get(json_array_get(stmts, 0),
	    "stmt"), "CopyStmt");
}

hoop_err_t
hoop_mask_copy_statement(const char *text, size_t len,
    struct hoop_mask_copy_statement *out, char *why, size_t whylen)
{
	PgQueryScanResult scan = { 0 };
	PgQueryParseResult parse = { 0 };
	struct scan_token *tok = NULL;
	size_t ntok = 0, i, close = 0;
	char *sql = NULL, *query = NULL;
	json_t *doc = NULL, *copy;
	int depth, scanned = 0, parsed = 0;
	hoop_err_t ret = HOOP_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	if (len > HOOP_SQL_MAX_QUERY) {
		hoop_why(why, whylen, "COPY statement over %d bytes",
		    HOOP_SQL_MAX_QUERY);
		return HOOP_ERR_TOOBIG;
	}
	if (text == NULL || memchr(text, '\0', len) != NULL) {
		hoop_why(why, whylen, "not a COPY statement");
		return HOOP_ERR_INVAL;
	}
	/* Room for the statement, or for "COPY x" and what follows the
	 * query. */
	if ((sql = malloc(len + 8)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	memcpy(sql, text, len);
	sql[len] = '\0';
	scan = pg_query_scan(sql);
	scanned = 1;
	if (scan.error != NULL || scan_tokens(&scan.pbuf, &tok, &ntok) == -1 ||
	    ntok < 2 || tok[0].end - tok[0].start != 4 || tok[0].end > len ||
	    strncasecmp(sql + tok[0].start, "copy", 4) != 0) {
		hoop_why(why, whylen, "not a COPY statement");
		goto out;
	}
	if (tok[1].token == TOKEN_OPEN) {
		/* COPY (query): the query is what the parentheses hold, as
		 * written; the rest is read after a stand-in table, so the
		 * parser never writes out the query's tree. */
		for (i = 1, depth = 0; i < ntok; i++) {
			depth += tok[i].token == TOKEN_OPEN;
			depth -= tok[i].token == TOKEN_CLOSE;
			if (depth == 0) {
				close = i;
				break;
			}
		}
		if (close == 0 || tok[close].end > len ||
		    tok[close].start < tok[1].end) {
			hoop_why(why, whylen, "a COPY query hoop cannot find");
			goto out;
		}
		query = strndup(sql + tok[1].end, tok[close].start -
		    tok[1].end);
		if (query == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		memmove(sql + 7, sql + tok[close].end, len - tok[close].end + 1);
		memcpy(sql, "COPY x ", 7);
	}
	parse = pg_query_parse(sql);
	parsed = 1;
	if (parse.error != NULL || parse.parse_tree == NULL ||
	    (doc = json_loads(parse.parse_tree, 0, NULL)) == NULL ||
	    (copy = copy_node(doc)) == NULL) {
		hoop_why(why, whylen, "not a COPY statement");
		goto out;
	}
	if (json_is_true(json_object_get(copy, "is_from")) ||
	    json_is_true(json_object_get(copy, "is_program")) ||
	    json_object_get(copy, "filename") != NULL) {
		hoop_why(why, whylen, "not a COPY TO STDOUT");
		goto out;
	}
	out->fmt.kind = HOOP_MASK_COPY_TEXT;
	if (json_object_get(copy, "options") != NULL &&
	    !json_is_array(json_object_get(copy, "options")))
		goto out;
	if ((ret = copy_statement_options(json_object_get(copy, "options"),
	    out, why, whylen)) != HOOP_OK)
		goto out;
	if (query != NULL) {
		out->describe = query;
		query = NULL;
	} else if ((ret = relation_query(copy, &out->describe, why,
	    whylen)) != HOOP_OK) {
		goto out;
	}
	ret = HOOP_OK;
out:
	if (ret == HOOP_ERR_NOMEM)
		hoop_why(why, whylen, "out of memory");
	if (ret != HOOP_OK)
		hoop_mask_copy_statement_release(out);
	json_decref(doc);
	if (parsed)
		pg_query_free_parse_result(parse);
	if (scanned)
		pg_query_free_scan_result(scan);
	free(tok);
	free(query);
	free(sql);
	return ret;
}

void
hoop_mask_copy_statement_release(struct hoop_mask_copy_statement *st)
{
	free(st->describe);
	memset(st, 0, sizeof(*st));
}
