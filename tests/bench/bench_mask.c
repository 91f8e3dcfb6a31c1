/*
 * Masking throughput: 1,000,000 DataRows of five text columns, three of
 * them masked (hash, partial, redact), against what a proxy does
 * without masking (frame each message and copy it out); then the same
 * with an e-mail pattern over every column, and the rows as a COPY text
 * stream cut into 64 KiB CopyData pieces. Figures only. Build and run:
 *   make build/libhoop.a build/obj/tests/bench/bench_mask.o
 *   cc -o build/bench/bench_mask build/obj/tests/bench/bench_mask.o \
 *       build/libhoop.a $(pkg-config --libs libconfuse sqlite3 libcrypto \
 *       jansson libpcre2-8 libcurl) -lpthread -lc -lpg_query
 *   build/bench/bench_mask [rows]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_config.h"
#include "hoop_mask.h"
#include "hoop_policy.h"

static const char conf[] =
    "issuer \"i\" { url = \"https://issuer.example\" audience = {\"a\"} }\n"
    "identity \"b\" { issuer = \"i\" claim \"sub\" { equals = {\"b\"} } "
    "login = \"bench\" }\n"
    "target \"cols\" { type = \"postgres\" host = \"h\" user = \"u\" }\n"
    "target \"pats\" { type = \"postgres\" host = \"h\" user = \"u\" }\n"
    "policy \"cols\" { identities = {\"b\"} targets = {\"cols\", \"pats\"}\n"
    "  mask \"h\" { columns = {\"users.email\"} strategy = \"hash\" }\n"
    "  mask \"p\" { columns = {\"users.card\"} strategy = \"partial\" }\n"
    "  mask \"r\" { columns = {\"users.name\"} }\n"
    "}\n"
    "policy \"pats\" { identities = {\"b\"} targets = {\"pats\"}\n"
    "  mask \"e\" { pattern = \"builtin:email\" }\n"
    "}\n";

static const char *const columns[] = { "id", "email", "card", "name",
    "city" };
#define NCOLS 5
#define DISTINCT 1000

static hoop_err_t
resolve(void *arg, struct hoop_mask_column *cols, size_t n, char *why,
    size_t whylen)
{
	size_t i;

	(void)arg;
	(void)why;
	(void)whylen;
	for (i = 0; i < n; i++) {
		cols[i].found = 1;
		cols[i].n_names = 1;
		strcpy(cols[i].names[0].schema, "public");
		strcpy(cols[i].names[0].table, "users");
		strcpy(cols[i].names[0].column, columns[cols[i].attnum - 1]);
	}
	return HOOP_OK;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
row_values(unsigned i, char v[NCOLS][64])
{
	snprintf(v[0], 64, "%u", 100000 + i);
	snprintf(v[1], 64, "user%u@example.com", i);
	snprintf(v[2], 64, "4111 1111 1111 %04u", i % 10000);
	snprintf(v[3], 64, "Firstname%u Lastname", i);
	snprintf(v[4], 64, "Springfield");
}

static void
report(const char *what, double secs, unsigned long rows, size_t bytes)
{
	printf("%-34s %7.3f s  %8.0f rows/s  %7.1f MB/s  %5.0f ns/row\n",
	    what, secs, rows / secs, bytes / secs / 1e6, secs * 1e9 / rows);
}

/* One pass over rows DataRows: masked with s, or only framed and copied
 * when s is NULL. */
static double
run_rows(hoop_mask_set_t *s, struct hoop_pg_buf *msgs, unsigned long rows,
    size_t *bytes_out)
{
	struct hoop_pg_field f[NCOLS];
	struct hoop_pg_buf out = { 0 };
	hoop_mask_plan_t *pl = NULL;
	struct hoop_pg_msg m;
	size_t off = 0, need;
	unsigned long r;
	char why[256];
	double t0;
	int i;

	for (i = 0; i < NCOLS; i++)
		f[i] = (struct hoop_pg_field){ .name = columns[i],
		    .table_oid = 16400, .attnum = (int16_t)(i + 1),
		    .type_oid = 25, .typlen = -1, .typmod = -1 };
	if (s != NULL && hoop_mask_plan_create(s, f, NCOLS, NULL, -1, &pl, why,
	    sizeof(why)) != HOOP_OK) {
		fprintf(stderr, "plan: %s\n", why);
		exit(1);
	}
	*bytes_out = 0;
	t0 = now();
	for (r = 0; r < rows; r++) {
		if (off == msgs->len)
			off = 0;
		if (hoop_pg_frame(msgs->data + off, msgs->len - off, 0, &m,
		    &need, why, sizeof(why)) != HOOP_PG_FRAME_OK)
			exit(1);
		if (pl != NULL) {
			if (hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) !=
			    HOOP_OK) {
				fprintf(stderr, "row: %s\n", why);
				exit(1);
			}
		} else if (hoop_pg_buf_reserve(&out, m.size) == HOOP_OK) {
			memcpy(out.data + out.len, msgs->data + off, m.size);
			out.len += m.size;
		}
		off += m.size;
		/* A proxy writes the buffer out now and then. */
		if (out.len > 256 * 1024) {
			*bytes_out += out.len;
			out.len = 0;
		}
	}
	*bytes_out += out.len;
	t0 = now() - t0;
	hoop_mask_plan_free(pl);
	hoop_pg_buf_free(&out);
	return t0;
}

static double
run_copy(hoop_mask_set_t *s, const char *text, size_t len,
    unsigned long rows, size_t *bytes_out)
{
	struct hoop_mask_copy_format fmt = { .kind = HOOP_MASK_COPY_TEXT };
	struct hoop_pg_field f[NCOLS];
	struct hoop_pg_buf out = { 0 };
	hoop_mask_copy_t *c = NULL;
	unsigned long done = 0;
	size_t off, k;
	char why[256];
	double t0;
	int i;

	for (i = 0; i < NCOLS; i++)
		f[i] = (struct hoop_pg_field){ .name = columns[i],
		    .table_oid = 16400, .attnum = (int16_t)(i + 1),
		    .type_oid = 25 };
	if (hoop_mask_copy_start(s, f, NCOLS, &fmt, &c, why, sizeof(why)) !=
	    HOOP_OK) {
		fprintf(stderr, "copy: %s\n", why);
		exit(1);
	}
	*bytes_out = 0;
	t0 = now();
	while (done < rows) {
		for (off = 0; off < len; off += k) {
			k = len - off < 65536 ? len - off : 65536;
			if (hoop_mask_copy_data(c, text + off, k, &out, why,
			    sizeof(why)) != HOOP_OK) {
				fprintf(stderr, "copy: %s\n", why);
				exit(1);
			}
			*bytes_out += out.len;
			out.len = 0;
		}
		done += DISTINCT;
	}
	t0 = now() - t0;
	hoop_mask_copy_free(c);
	hoop_pg_buf_free(&out);
	return t0;
}

int
main(int argc, char **argv)
{
	unsigned long rows = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	static const unsigned char key[32] = "bench-key-bench-key-bench-key-!!";
	struct hoop_mask_options opt = { .resolve = resolve, .key = key,
	    .key_len = sizeof(key) };
	struct hoop_pg_buf msgs = { 0 };
	hoop_mask_set_t *cols = NULL, *pats = NULL;
	struct hoop_pg_value vals[NCOLS];
	struct hoop_principal p;
	hoop_config_t *cfg = NULL;
	char v[NCOLS][64], why[256], *text;
	size_t in_bytes = 0, out_bytes, tlen = 0;
	double base, secs;
	unsigned i;
	int c;

	if (hoop_config_load_buf(conf, strlen(conf), "bench",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		return 1;
	memset(&p, 0, sizeof(p));
	p.identity = hoop_config_identity(cfg, "b");
	if (hoop_mask_set_create(cfg, &p, "cols", &opt, &cols, why,
	    sizeof(why)) != HOOP_OK || hoop_mask_set_create(cfg, &p, "pats",
	    &opt, &pats, why, sizeof(why)) != HOOP_OK) {
		fprintf(stderr, "set: %s\n", why);
		return 1;
	}
	if ((text = malloc(DISTINCT * NCOLS * 64)) == NULL)
		return 1;
	for (i = 0; i < DISTINCT; i++) {
		row_values(i, v);
		for (c = 0; c < NCOLS; c++) {
			vals[c].data = (const unsigned char *)v[c];
			vals[c].len = (int32_t)strlen(v[c]);
			tlen += (size_t)sprintf(text + tlen, "%s%c", v[c],
			    c + 1 < NCOLS ? '\t' : '\n');
		}
		if (hoop_pg_put_data_row(&msgs, vals, NCOLS) != HOOP_OK)
			return 1;
	}
	in_bytes = msgs.len * (rows / DISTINCT);

	printf("%lu DataRows of %d text columns (%zu bytes each on average), "
	    "3 masked\n", rows, NCOLS, msgs.len / DISTINCT);
	base = run_rows(NULL, &msgs, rows, &out_bytes);
	report("framed and copied (no masking)", base, rows, in_bytes);
	secs = run_rows(cols, &msgs, rows, &out_bytes);
	report("hash + partial + redact", secs, rows, in_bytes);
	printf("%-34s %.2f of the unmasked copy\n", "", base / secs);
	secs = run_rows(pats, &msgs, rows, &out_bytes);
	report("the same + e-mail pattern on all", secs, rows, in_bytes);
	secs = run_copy(cols, text, tlen, rows, &out_bytes);
	report("COPY text, 64 KiB pieces", secs, rows, tlen * (rows /
	    DISTINCT));

	hoop_mask_set_free(cols);
	hoop_mask_set_free(pats);
	hoop_config_free(cfg);
	hoop_pg_buf_free(&msgs);
	free(text);
	return 0;
}
