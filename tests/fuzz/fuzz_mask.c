/*
 * Masking on arbitrary bytes. The first byte picks what the rest is:
 *  0  a value: every built-in pattern and a user pattern over it, and
 *     the card pattern alone against a slow oracle written apart from
 *     lib/mask.c (leftmost start, longest candidate, Luhn from the
 *     right);
 *  1  a COPY stream (the next two bytes: format and options, and a
 *     chunk size): the output must not depend on how the stream is cut;
 *  2  a DataRow body under a plan of text and binary columns: the row
 *     rebuilt must hold as many values, NULLs where they were, the
 *     unmasked columns byte for byte and the redacted ones as "***";
 *  3  a COPY statement: when it is read, the query to describe is the
 *     text of its parentheses or a SELECT, and a COPY stream in its
 *     format starts or refuses the options.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_config.h"
#include "hoop_mask.h"
#include "hoop_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONF_TARGET(name) \
	"target \"" name "\" { type = \"postgres\" host = \"h\" user = \"u\" }\n"

static const char conf[] =
    "issuer \"i\" { url = \"https://issuer.example\" audience = {\"a\"} }\n"
    "identity \"f\" { issuer = \"i\" claim \"sub\" { equals = {\"f\"} } "
    "login = \"fz\" }\n"
    CONF_TARGET("all") CONF_TARGET("card") CONF_TARGET("cols")
    "policy \"all\" { identities = {\"f\"} targets = {\"all\"}\n"
    "  mask \"e\" { pattern = \"builtin:email\" }\n"
    "  mask \"c\" { pattern = \"builtin:card\" strategy = \"partial\" }\n"
    "  mask \"t\" { pattern = \"builtin:token\" strategy = \"hash\" }\n"
    "  mask \"k\" { pattern = \"builtin:private_key\" }\n"
    "  mask \"a\" { pattern = \"builtin:aws_key\" }\n"
    "  mask \"u\" { pattern = '(?i)s[e3]cr[e3]t\\w*' strategy = \"partial\" "
    "keep = 2 }\n"
    "}\n"
    "policy \"card\" { identities = {\"f\"} targets = {\"card\"}\n"
    "  mask \"c\" { pattern = \"builtin:card\" }\n}\n"
    "policy \"cols\" { identities = {\"f\"} targets = {\"cols\"}\n"
    "  mask \"r\" { columns = {\"t.c1\"} }\n"
    "  mask \"p\" { columns = {\"t.c2\"} strategy = \"partial\" keep = 3 }\n"
    "  mask \"h\" { columns = {\"t.c3\"} strategy = \"hash\" }\n"
    "  mask \"n\" { columns = {\"t.c4\"} pattern = \"builtin:card\" }\n"
    "  mask \"e\" { pattern = \"builtin:email\" }\n"
    "}\n";

static const unsigned char key[32] = "fuzzing-key-fuzzing-key-fuzzing!";

static hoop_config_t *cfg;
static hoop_mask_set_t *set_all, *set_card, *set_cols;
static hoop_mask_plan_t *plan_all, *plan_card;
static struct hoop_pg_buf out, out2;

/* Table oid 1, attribute N is t.cN; anything else is unknown. */
static hoop_err_t
resolve(void *arg, struct hoop_mask_column *cols, size_t n, char *why,
    size_t whylen)
{
	size_t i;

	(void)arg;
	(void)why;
	(void)whylen;
	for (i = 0; i < n; i++) {
		if (cols[i].table_oid != 1)
			continue;
		cols[i].found = 1;
		cols[i].n_names = 1;
		strcpy(cols[i].names[0].schema, "public");
		strcpy(cols[i].names[0].table, "t");
		if (cols[i].attnum != 0)
			snprintf(cols[i].names[0].column,
			    sizeof(cols[i].names[0].column), "c%d",
			    cols[i].attnum);
	}
	return HOOP_OK;
}

static hoop_mask_set_t *
make_set(const char *target)
{
	struct hoop_mask_options opt = { .resolve = resolve, .key = key,
	    .key_len = sizeof(key), .max_row = 1 << 20 };
	struct hoop_principal p;
	hoop_mask_set_t *s = NULL;

	memset(&p, 0, sizeof(p));
	p.identity = hoop_config_identity(cfg, "f");
	if (hoop_mask_set_create(cfg, &p, target, &opt, &s, NULL, 0) !=
	    HOOP_OK)
		abort();
	return s;
}

static hoop_mask_plan_t *
computed_plan(hoop_mask_set_t *s)
{
	struct hoop_pg_field f = { .name = "x", .type_oid = 25 };
	hoop_mask_plan_t *pl = NULL;

	if (hoop_mask_plan_create(s, &f, 1, NULL, -1, &pl, NULL, 0) != HOOP_OK)
		abort();
	return pl;
}

static void
setup(void)
{
	if (cfg != NULL)
		return;
	if (hoop_config_load_buf(conf, strlen(conf), "fuzz",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		abort();
	set_all = make_set("all");
	set_card = make_set("card");
	set_cols = make_set("cols");
	plan_all = computed_plan(set_all);
	plan_card = computed_plan(set_card);
}

/* ---- Mode 0: values ---- */

static int
digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
luhn(const char *d, size_t n)
{
	size_t i;
	int sum = 0, x;

	for (i = 0; i < n; i++) {
		x = d[n - 1 - i] - '0';
		if (i % 2 == 1)
			x = x * 2 > 9 ? x * 2 - 9 : x * 2;
		sum += x;
	}
	return sum % 10 == 0;
}

/* The card pattern's meaning, slowly: from each start of a digit run,
 * follow digits and single separators; the longest candidate that ends
 * at the end of a digit run and passes Luhn is replaced. */
static size_t
oracle(const uint8_t *v, size_t n, char *res)
{
	char d[20];
	size_t i = 0, o = 0, j, nd, best;

	while (i < n) {
		best = 0;
		if (digit(v[i]) && (i == 0 || !digit(v[i - 1]))) {
			for (j = i, nd = 0; j < n && nd < 19;) {
				d[nd++] = (char)v[j++];
				if (nd >= 13 && (j == n || !digit(v[j])) &&
				    luhn(d, nd))
					best = j;
				if (j < n && digit(v[j]))
					continue;
				if (j + 1 < n && (v[j] == ' ' || v[j] == '-') &&
				    digit(v[j + 1])) {
					j++;
					continue;
				}
				break;
			}
		}
		if (best != 0) {
			memcpy(res + o, "***", 3);
			o += 3;
			i = best;
		} else
			res[o++] = (char)v[i++];
	}
	return o;
}

static void
fuzz_value(const uint8_t *v, size_t n)
{
	const unsigned char *res;
	size_t len, olen;
	int changed;
	char *want;

	if (hoop_mask_plan_value(plan_all, 0, v, n, &res, &len, &changed) !=
	    HOOP_OK)
		abort();
	if (!changed && (len != n || (n > 0 && memcmp(res, v, n) != 0)))
		abort();
	if (hoop_mask_plan_value(plan_card, 0, v, n, &res, &len, &changed) !=
	    HOOP_OK)
		abort();
	if ((want = malloc(n + 1)) == NULL)
		abort();
	olen = oracle(v, n, want);
	if (olen != len || (len > 0 && memcmp(want, res, len) != 0))
		abort();
	free(want);
}

/* ---- Mode 1: COPY streams ---- */

static const struct hoop_pg_field copy_cols[] = {
	{ .name = "a", .table_oid = 1, .attnum = 1, .type_oid = 25 },
	{ .name = "b", .table_oid = 1, .attnum = 5, .type_oid = 25 },
	{ .name = "c", .table_oid = 1, .attnum = 4, .type_oid = 25 },
};

/* One run: 0 and the joined payload in b, or -1 on a refusal. */
static int
copy_run(const struct hoop_mask_copy_format *fmt, size_t ncols,
    const uint8_t *d, size_t n, size_t step, struct hoop_pg_buf *b)
{
	struct hoop_pg_buf msgs = { 0 };
	hoop_mask_copy_t *c = NULL;
	size_t off = 0, k, len;
	int rc = -1;

	b->len = 0;
	if (hoop_mask_copy_start(set_cols, copy_cols, ncols, fmt, &c, NULL,
	    0) != HOOP_OK)
		goto out;
	do {
		k = step == 0 || n - off < step ? n - off : step;
		if (hoop_mask_copy_data(c, d + off, k, &msgs, NULL, 0) !=
		    HOOP_OK)
			goto out;
		off += k;
	} while (off < n);
	if (hoop_mask_copy_end(c, &msgs, NULL, 0) != HOOP_OK)
		goto out;
	/* The payloads, joined; every message must be CopyData. */
	for (off = 0; off < msgs.len; off += 5 + len - 4) {
		if (msgs.len - off < 5 || msgs.data[off] != 'd')
			abort();
		len = (size_t)msgs.data[off + 1] << 24 |
		    (size_t)msgs.data[off + 2] << 16 |
		    (size_t)msgs.data[off + 3] << 8 | msgs.data[off + 4];
		if (len < 4 || len - 4 > msgs.len - off - 5 ||
		    hoop_pg_buf_reserve(b, len - 4) != HOOP_OK)
			abort();
		memcpy(b->data + b->len, msgs.data + off + 5, len - 4);
		b->len += len - 4;
	}
	rc = 0;
out:
	hoop_mask_copy_free(c);
	hoop_pg_buf_free(&msgs);
	return rc;
}

static void
fuzz_copy(const uint8_t *d, size_t n)
{
	struct hoop_mask_copy_format fmt = { 0 };
	size_t step, ncols;
	int a, b;

	if (n < 3)
		return;
	fmt.kind = d[0] & 1 ? HOOP_MASK_COPY_CSV : HOOP_MASK_COPY_TEXT;
	fmt.header = (d[0] & 2) != 0;
	if (d[0] & 4)
		fmt.delimiter = fmt.kind == HOOP_MASK_COPY_CSV ? ';' : '|';
	if (d[0] & 8)
		fmt.escape = '\\';
	if (d[0] & 16)
		fmt.null_string = "NULL";
	ncols = 1 + (d[0] >> 5) % 3;
	step = 1 + d[1] % 17;
	(void)d[2];
	d += 3;
	n -= 3;
	a = copy_run(&fmt, ncols, d, n, 0, &out);
	b = copy_run(&fmt, ncols, d, n, step, &out2);
	if (a != b || (a == 0 && (out.len != out2.len ||
	    (out.len > 0 && memcmp(out.data, out2.data, out.len) != 0))))
		abort();
}

/* ---- Mode 2: DataRows ---- */

static void
fuzz_row(const uint8_t *d, size_t n)
{
	static const struct hoop_pg_field fields[6] = {
		{ .name = "r", .table_oid = 1, .attnum = 1, .type_oid = 25 },
		{ .name = "p", .table_oid = 1, .attnum = 2, .type_oid = 25 },
		{ .name = "h", .table_oid = 1, .attnum = 3, .type_oid = 25,
		  .format = 1 },
		{ .name = "n", .table_oid = 1, .attnum = 4, .type_oid = 3802,
		  .format = 1 },
		{ .name = "i", .table_oid = 1, .attnum = 9, .type_oid = 20,
		  .format = 1 },
		{ .name = "x", .table_oid = 0, .attnum = 0, .type_oid = 25 },
	};
	struct hoop_pg_data_row in = { 0 }, res = { 0 };
	struct hoop_pg_msg m = { .type = 'D', .body = d, .len = n,
	    .size = n + 5 };
	hoop_mask_plan_t *pl = NULL;
	struct hoop_pg_msg rm;
	size_t i, need;
	hoop_err_t err;

	if (hoop_mask_plan_create(set_cols, fields, 6, NULL, -1, &pl, NULL,
	    0) != HOOP_OK)
		abort();
	out.len = 0;
	err = hoop_mask_data_row(pl, &m, &out, NULL, 0);
	if (err != HOOP_OK) {
		if (out.len != 0)
			abort();
		goto done;
	}
	if (hoop_pg_parse_data_row(&m, &in, NULL, 0) != HOOP_OK ||
	    hoop_pg_frame(out.data, out.len, 0, &rm, &need, NULL, 0) !=
	    HOOP_PG_FRAME_OK || rm.size != out.len ||
	    hoop_pg_parse_data_row(&rm, &res, NULL, 0) != HOOP_OK ||
	    res.ncols != in.ncols || in.ncols != 6)
		abort();
	for (i = 0; i < 6; i++) {
		if ((in.values[i].len == -1) != (res.values[i].len == -1))
			abort();
	}
	if (in.values[0].len >= 0 && (res.values[0].len != 3 ||
	    memcmp(res.values[0].data, "***", 3) != 0))
		abort();
	if (in.values[2].len >= 0 && res.values[2].len != HOOP_MASK_HASH_LEN)
		abort();
	/* A binary int8 is never changed: refused or passed as it is. */
	if (in.values[4].len != res.values[4].len || (in.values[4].len > 0 &&
	    memcmp(in.values[4].data, res.values[4].data,
	    (size_t)in.values[4].len) != 0))
		abort();
done:
	hoop_pg_data_row_release(&in);
	hoop_pg_data_row_release(&res);
	hoop_mask_plan_free(pl);
}

static void
fuzz_statement(const uint8_t *data, size_t size)
{
	struct hoop_mask_copy_statement st;
	hoop_mask_copy_t *c = NULL;
	char why[256];
	const char *d;
	hoop_err_t err;

	if (hoop_mask_copy_statement((const char *)data, size, &st, why,
	    sizeof(why)) != HOOP_OK) {
		if (st.describe != NULL)
			abort();
		return;
	}
	d = st.describe;
	if (d == NULL || (strncmp(d, "SELECT ", 7) != 0 &&
	    (strlen(d) >= size || memmem(data, size, d, strlen(d)) == NULL)))
		abort();
	/* A stream in what was read starts, or its options are refused
	 * (as the server refuses them). */
	err = hoop_mask_copy_start(set_cols, NULL, 0, &st.fmt, &c, why,
	    sizeof(why));
	if (err != HOOP_OK && err != HOOP_ERR_INVAL)
		abort();
	hoop_mask_copy_free(c);
	hoop_mask_copy_statement_release(&st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_value(data + 1, size - 1);
		break;
	case 1:
		fuzz_copy(data + 1, size - 1);
		break;
	case 3:
		fuzz_statement(data + 1, size - 1);
		break;
	default:
		fuzz_row(data + 1, size - 1);
		break;
	}
	return 0;
}
