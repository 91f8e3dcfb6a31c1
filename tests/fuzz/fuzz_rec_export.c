/*
 * Export of recordings on arbitrary input. An input is read two ways:
 * as a recording in fuzz_recording's form (u32 output length, u32 events
 * length, little-endian, cut to what is there; then output.ttyrec and
 * events.hrec; the rest is ignored) exported in every format, and as raw
 * terminal output cut into pieces for the text converter and the UTF-8
 * repair.
 *
 * Whatever comes in: asciicast output is one JSON value per line (a v2
 * header, then 3-element events), text output is UTF-8 without control
 * characters but newlines, every line handed out is UTF-8 without
 * control characters, repaired text is UTF-8, and valid UTF-8 comes out
 * of the repair unchanged however it is cut.
 * tests/tools/hoop-rec-sample -p writes seeds in this form.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_rec_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Written apart from lib/rec_export.c's decoder (Unicode table 3-7),
 * so that the two do not share a mistake. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	unsigned lo, hi;

	while (i < n) {
		unsigned c = s[i];

		if (c <= 0x7f) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0)
			need = 2, lo = 0xa0;
		else if (c == 0xed)
			need = 2, hi = 0x9f;
		else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			need = 2;
		else if (c == 0xf0)
			need = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4)
			need = 3, hi = 0x8f;
		else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
		i += need + 1;
	}
	return 1;
}

static int
has_control(const unsigned char *s, size_t n, int newline_ok)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((s[i] < 0x20 && !(newline_ok && s[i] == '\n')) ||
		    s[i] == 0x7f)
			return 1;
	}
	return 0;
}

static void
check_asciicast(char *buf, size_t len)
{
	char *line = buf, *nl;
	json_t *j;
	int first = 1;

	if (len > 0 && buf[len - 1] != '\n')
		abort();
	while (line < buf + len) {
		nl = memchr(line, '\n', (size_t)(buf + len - line));
		/* \u0000 is JSON, though jansson wants to be told. */
		j = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, NULL);
		if (j == NULL)
			abort();
		if (first) {
			if (!json_is_object(j) || json_integer_value(
			    json_object_get(j, "version")) != 2 ||
			    json_integer_value(json_object_get(j, "width")) <=
			    0 || json_integer_value(json_object_get(j,
			    "height")) <= 0)
				abort();
		} else if (!json_is_array(j) || json_array_size(j) != 3 ||
		    !json_is_number(json_array_get(j, 0)) ||
		    !json_is_string(json_array_get(j, 1)) ||
		    !json_is_string(json_array_get(j, 2))) {
			abort();
		}
		first = 0;
		json_decref(j);
		line = nl + 1;
	}
}

static void
export_all(const uint8_t *out, size_t olen, const uint8_t *ev, size_t elen)
{
	static const enum hoop_rec_export_format fmts[] = {
		HOOP_REC_EXPORT_TEXT, HOOP_REC_EXPORT_ASCIICAST,
		HOOP_REC_EXPORT_TTYREC,
	};
	char why[256], *buf;
	size_t len, i;
	FILE *f;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		buf = NULL;
		len = 0;
		if ((f = open_memstream(&buf, &len)) == NULL)
			return;
		hoop_rec_export_mem(out, olen, ev, elen, fmts[i], f, why,
		    sizeof(why));
		fclose(f);
		if (has_control((const unsigned char *)why, strlen(why), 0))
			abort();
		if (fmts[i] == HOOP_REC_EXPORT_TEXT &&
		    (!utf8_valid((unsigned char *)buf, len) ||
		    has_control((unsigned char *)buf, len, 1)))
			abort();
		if (fmts[i] == HOOP_REC_EXPORT_ASCIICAST)
			check_asciicast(buf, len);
		/* ttyrec: never more than the output it came from. */
		if (fmts[i] == HOOP_REC_EXPORT_TTYREC && len > olen)
			abort();
		free(buf);
	}
}

static int
line_check(void *arg, int64_t time_us, const char *line, size_t len)
{
	size_t *count = arg;

	(void)time_us;
	if (len > 4 * HOOP_REC_EXPORT_LINE_MAX ||
	    !utf8_valid((const unsigned char *)line, len) ||
	    has_control((const unsigned char *)line, len, 0))
		abort();
	(*count)++;
	return 0;
}

static void
raw_text(const uint8_t *data, size_t size)
{
	hoop_rec_export_text_t *t = NULL;
	size_t count = 0, pos = 0, piece;
	unsigned seed = size > 0 ? data[0] : 0;

	if (hoop_rec_export_text_new(line_check, &count, &t) != HOOP_OK)
		return;
	while (pos < size) {
		/* Cuts that depend on the input, 1 to 16 bytes. */
		piece = 1 + (seed + pos) % 16;
		if (piece > size - pos)
			piece = size - pos;
		if (hoop_rec_export_text_feed(t, (int64_t)pos, data + pos,
		    piece) != HOOP_OK)
			abort();
		pos += piece;
	}
	if (hoop_rec_export_text_finish(t) != HOOP_OK)
		abort();
	hoop_rec_export_text_free(t);
}

static void
repair(const uint8_t *data, size_t size)
{
	struct hoop_rec_export_utf8 st = { .n_held = 0 };
	size_t cut1 = size > 0 ? data[0] % (size + 1) : 0;
	size_t cut2 = size > 1 ? cut1 + data[1] % (size - cut1 + 1) : cut1;
	size_t n = 0;
	char *out = malloc(HOOP_REC_EXPORT_UTF8_ROOM(size));

	if (out == NULL)
		return;
	n += hoop_rec_export_utf8(&st, data, cut1, 0, out + n);
	n += hoop_rec_export_utf8(&st, data + cut1, cut2 - cut1, 0, out + n);
	n += hoop_rec_export_utf8(&st, data + cut2, size - cut2, 1, out + n);
	if (n > 3 * size || st.n_held != 0 ||
	    !utf8_valid((unsigned char *)out, n))
		abort();
	if (utf8_valid(data, size) && (n != size || memcmp(out, data, n) != 0))
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t olen, elen;

	if (size >= 8) {
		/* Exact-size copies, so that a read past either is caught. */
		olen = le32(data);
		if (olen > size - 8)
			olen = size - 8;
		elen = le32(data + 4);
		if (elen > size - 8 - olen)
			elen = size - 8 - olen;
		if ((copy = malloc(size - 8 > 0 ? size - 8 : 1)) != NULL) {
			memcpy(copy, data + 8, size - 8);
			export_all(copy, olen, copy + olen, elen);
			free(copy);
		}
	}
	raw_text(data, size);
	repair(data, size);
	return 0;
}
