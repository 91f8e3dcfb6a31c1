/*
 * SPDY/3.1 frame reader (lib/spdy.c): frames as kubectl sends them for
 * exec, split anywhere; header blocks on one zlib stream per direction;
 * malformed, oversized and hostile input refused, and the reader stays
 * failed after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "hoop_spdy.h"
#include "tap.h"

/* A writer for one direction, as a peer would build frames. */
struct writer {
	z_stream z;
	unsigned char out[1 << 21];
	size_t len;
};

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
writer_init(struct writer *w)
{
	const unsigned char *dict;
	size_t dlen;

	memset(w, 0, sizeof(*w));
	deflateInit(&w->z, Z_DEFAULT_COMPRESSION);
	dict = hoop_spdy_dictionary(&dlen);
	deflateSetDictionary(&w->z, dict, (uInt)dlen);
}

/* Compresses a raw header block onto the stream; returns its length in
 * out (at *at). */
static size_t
deflate_block(struct writer *w, const unsigned char *raw, size_t len,
    unsigned char *at, size_t room)
{
	w->z.next_in = (Bytef *)(uintptr_t)raw;
	w->z.avail_in = (uInt)len;
	w->z.next_out = at;
	w->z.avail_out = (uInt)room;
	deflate(&w->z, Z_SYNC_FLUSH);
	return room - w->z.avail_out;
}

/* A raw header block from "name", "value", ... NULL. */
static size_t
raw_block(unsigned char *out, const char *const *kv)
{
	size_t n = 4, count = 0, l;

	for (; kv[0] != NULL; kv += 2, count++) {
		l = strlen(kv[0]);
		put32(out + n, (uint32_t)l);
		memcpy(out + n + 4, kv[0], l);
		n += 4 + l;
		l = strlen(kv[1]);
		put32(out + n, (uint32_t)l);
		memcpy(out + n + 4, kv[1], l);
		n += 4 + l;
	}
	put32(out, (uint32_t)count);
	return n;
}

static void
control(struct writer *w, unsigned type, unsigned flags,
    const unsigned char *payload, size_t len)
{
	unsigned char *h = w->out + w->len;

	h[0] = 0x80;
	h[1] = 3;
	h[2] = (unsigned char)(type >> 8);
	h[3] = (unsigned char)type;
	h[4] = (unsigned char)flags;
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
	memcpy(h + 8, payload, len);
	w->len += 8 + len;
}

static void
syn_stream(struct writer *w, uint32_t id, const char *const *kv)
{
	static unsigned char raw[1 << 18], payload[1 << 18];
	size_t rl = raw_block(raw, kv), pl;

	memset(payload, 0, 10);
	put32(payload, id);
	pl = 10 + deflate_block(w, raw, rl, payload + 10, sizeof(payload) - 10);
	control(w, 1, 0, payload, pl);
}

static void
data(struct writer *w, uint32_t id, unsigned flags, const char *text)
{
	unsigned char *h = w->out + w->len;
	size_t len = strlen(text);

	put32(h, id & 0x7fffffffU);
	h[4] = (unsigned char)flags;
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
	memcpy(h + 8, text, len);
	w->len += 8 + len;
}

/* What the reader handed back, as text. */
struct seen {
	char log[8192];
	size_t len;
	int stop_after;
	int frames;
};

static int
record(void *arg, const struct hoop_spdy_frame *f)
{
	struct seen *s = arg;
	size_t i;

	s->frames++;
	s->len += (size_t)snprintf(s->log + s->len, sizeof(s->log) - s->len,
	    "[%u %u %u", f->type, f->stream_id, f->flags);
	if (f->type == HOOP_SPDY_DATA)
		s->len += (size_t)snprintf(s->log + s->len,
		    sizeof(s->log) - s->len, " %.*s", (int)f->len,
		    (const char *)f->data);
	for (i = 0; i < f->n_headers; i++)
		s->len += (size_t)snprintf(s->log + s->len,
		    sizeof(s->log) - s->len, " %s=%s", f->headers[i].name,
		    f->headers[i].value);
	if (f->type == HOOP_SPDY_RST_STREAM || f->type == HOOP_SPDY_GOAWAY)
		s->len += (size_t)snprintf(s->log + s->len,
		    sizeof(s->log) - s->len, " status=%u", f->status);
	s->len += (size_t)snprintf(s->log + s->len, sizeof(s->log) - s->len,
	    "]");
	return s->stop_after > 0 && s->frames >= s->stop_after;
}

static struct writer w;

static hoop_err_t
feed_all(const unsigned char *buf, size_t len, size_t step, struct seen *s)
{
	hoop_spdy_t *r = NULL;
	hoop_err_t err;
	size_t off;

	memset(s->log, 0, sizeof(s->log));
	s->len = 0;
	s->frames = 0;
	if ((err = hoop_spdy_create(&r)) != HOOP_OK)
		return err;
	for (off = 0; off < len; off += step) {
		err = hoop_spdy_feed(r, buf + off, len - off < step ? len - off :
		    step, record, s);
		if (err != HOOP_OK)
			break;
	}
	hoop_spdy_free(r);
	return err;
}

static void
test_dictionary(void)
{
	size_t len;
	const unsigned char *d = hoop_spdy_dictionary(&len);

	ok(d != NULL && len == 1423, "the dictionary is 1423 bytes");
	ok(d != NULL && adler32(adler32(0, NULL, 0), d, (uInt)len) ==
	    0xe3c6a7c2UL, "and has SPDY/3's Adler-32");
}

static void
test_exec_streams(void)
{
	static const char *const err_kv[] = { "streamtype", "error",
	    "port", "", NULL };
	static const char *const in_kv[] = { "streamtype", "stdin", NULL };
	static const char *const out_kv[] = { "streamtype", "stdout", NULL };
	const char *expect = "[1 1 0 streamtype=error port=][1 3 0 "
	    "streamtype=stdin][1 5 0 streamtype=stdout][0 3 0 ls -l\n]"
	    "[0 5 0 total 0\n][0 5 1 ]";
	struct seen s = { .stop_after = 0 };
	size_t steps[] = { 1, 2, 3, 7, 8, 9, 64, 100000 }, i;
	int all = 1;

	writer_init(&w);
	syn_stream(&w, 1, err_kv);
	syn_stream(&w, 3, in_kv);
	syn_stream(&w, 5, out_kv);
	data(&w, 3, 0, "ls -l\n");
	data(&w, 5, 0, "total 0\n");
	data(&w, 5, HOOP_SPDY_FLAG_FIN, "");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (feed_all(w.out, w.len, steps[i], &s) != HOOP_OK ||
		    strcmp(s.log, expect) != 0) {
			all = 0;
			printf("# step %zu: %s\n", steps[i], s.log);
		}
	}
	ok(all, "three streams on one zlib stream, and their data, however "
	    "the bytes are split");
	deflateEnd(&w.z);
}

static void
test_other_control_frames(void)
{
	unsigned char p[8];
	struct seen s = { 0 };

	writer_init(&w);
	put32(p, 7);
	put32(p + 4, 5);
	control(&w, 3, 0, p, 8);		/* RST_STREAM 7 CANCEL */
	put32(p, 1);
	control(&w, 6, 0, p, 4);		/* PING */
	put32(p, 9);
	put32(p + 4, 0);
	control(&w, 7, 0, p, 8);		/* GOAWAY */
	put32(p, 0);
	put32(p + 4, 65536);
	control(&w, 9, 0, p, 8);		/* WINDOW_UPDATE */
	control(&w, 4, 0, (const unsigned char *)"\0\0\0\0", 4);
	ok(feed_all(w.out, w.len, 5, &s) == HOOP_OK && strcmp(s.log,
	    "[3 7 0 status=5][6 0 0][7 9 0 status=0][9 0 0][4 0 0]") == 0,
	    "RST_STREAM, PING, GOAWAY, WINDOW_UPDATE, SETTINGS: %s", s.log);
	w.len = 0;
	control(&w, 3, 0, p, 4);
	ok(feed_all(w.out, w.len, 100, &s) == HOOP_ERR_INVAL,
	    "a RST_STREAM of the wrong length is refused");
	w.len = 0;
	control(&w, 6, 0, p, 8);
	ok(feed_all(w.out, w.len, 100, &s) == HOOP_ERR_INVAL,
	    "a PING of the wrong length is refused");
	deflateEnd(&w.z);
}

static void
test_hostile(void)
{
	static const char *const kv[] = { "streamtype", "stdout", NULL };
	static unsigned char raw[1 << 18], payload[1 << 18];
	unsigned char h[8] = { 0x00, 0, 0, 1, 0, 0x10, 0x00, 0x01 };
	struct seen s = { 0 };
	hoop_spdy_t *r = NULL;
	size_t n, rl, i;

	/* A length over the limit: refused once its header is in, and the
	 * reader stays failed. */
	ok(hoop_spdy_create(&r) == HOOP_OK, "reader");
	ok(hoop_spdy_feed(r, h, sizeof(h), record, &s) == HOOP_ERR_TOOBIG,
	    "a frame over 1 MiB is refused at its header");
	ok(hoop_spdy_feed(r, "x", 1, record, &s) == HOOP_ERR_INVAL,
	    "and the reader stays failed");
	hoop_spdy_free(r);

	writer_init(&w);
	w.len = 0;
	control(&w, 1, 0, (const unsigned char *)"\0\0\0\1\0\0\0\0\0\0"
	    "not zlib at all", 25);
	ok(feed_all(w.out, w.len, 100, &s) == HOOP_ERR_INVAL,
	    "a header block that is not zlib is refused");
	deflateEnd(&w.z);

	writer_init(&w);
	w.len = 0;
	syn_stream(&w, 0, kv);
	ok(feed_all(w.out, w.len, 100, &s) == HOOP_ERR_INVAL,
	    "a SYN_STREAM for stream 0 is refused");
	deflateEnd(&w.z);

	/* Another version. */
	writer_init(&w);
	w.len = 0;
	syn_stream(&w, 1, kv);
	w.out[1] = 2;
	ok(feed_all(w.out, w.len, 100, &s) == HOOP_ERR_INVAL,
	    "a control frame of SPDY/2 is refused");
	deflateEnd(&w.z);

	/* A block that inflates past 64 KiB (a zip bomb is the same). */
	writer_init(&w);
	w.len = 0;
	memset(raw, 'a', 100000);
	put32(raw, 1);
	put32(raw + 4, 1);
	raw[8] = 'x';
	put32(raw + 9, 100000 - 13);
	memset(payload, 0, 10);
	put32(payload, 1);
	n = deflate_block(&w, raw, 100000, payload + 10, sizeof(payload) - 10);
	control(&w, 1, 0, payload, 10 + n);
	ok(n < 2000 && feed_all(w.out, w.len, 4096, &s) == HOOP_ERR_TOOBIG,
	    "a header block inflating past 64 KiB is refused (%zu bytes "
	    "compressed)", n);
	deflateEnd(&w.z);

	/* Raw blocks that are malformed once inflated. */
	struct {
		const char *what;
		size_t len;
		unsigned char bytes[64];
		hoop_err_t want;
	} cases[] = {
		{ "a count past 64", 4, { 0, 0, 0, 65 }, HOOP_ERR_TOOBIG },
		{ "a name length past the block", 12, { 0, 0, 0, 1, 0, 0, 0,
		    200, 'a', 'b', 'c', 'd' }, HOOP_ERR_INVAL },
		{ "a name length of 2^32-1", 12, { 0, 0, 0, 1, 0xff, 0xff,
		    0xff, 0xff, 'a', 'b', 'c', 'd' }, HOOP_ERR_INVAL },
		{ "an empty name", 12, { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 },
		    HOOP_ERR_INVAL },
		{ "an upper-case name", 13, { 0, 0, 0, 1, 0, 0, 0, 1, 'A', 0,
		    0, 0, 0 }, HOOP_ERR_INVAL },
		{ "a NUL in a name", 14, { 0, 0, 0, 1, 0, 0, 0, 2, 'a', 0, 0,
		    0, 0, 0 }, HOOP_ERR_INVAL },
		{ "a value length past the block", 13, { 0, 0, 0, 1, 0, 0, 0,
		    1, 'a', 0, 0, 0, 9 }, HOOP_ERR_INVAL },
		{ "bytes after the last pair", 14, { 0, 0, 0, 1, 0, 0, 0, 1,
		    'a', 0, 0, 0, 0, 'z' }, HOOP_ERR_INVAL },
		{ "a block shorter than its count", 2, { 0, 0 },
		    HOOP_ERR_INVAL },
	};
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		writer_init(&w);
		w.len = 0;
		memcpy(raw, cases[i].bytes, cases[i].len);
		memset(payload, 0, 10);
		put32(payload, 1);
		n = deflate_block(&w, raw, cases[i].len, payload + 10,
		    sizeof(payload) - 10);
		control(&w, 1, 0, payload, 10 + n);
		ok(feed_all(w.out, w.len, 3, &s) == cases[i].want,
		    "header block with %s is refused", cases[i].what);
		deflateEnd(&w.z);
	}

	/* A value holding NULs (several values) is kept whole. */
	writer_init(&w);
	w.len = 0;
	rl = raw_block(raw, kv);
	memset(payload, 0, 4);
	put32(payload, 3);
	n = deflate_block(&w, raw, rl, payload + 4, sizeof(payload) - 4);
	control(&w, 2, 0, payload, 4 + n);	/* SYN_REPLY */
	ok(feed_all(w.out, w.len, 1, &s) == HOOP_OK &&
	    strcmp(s.log, "[2 3 0 streamtype=stdout]") == 0,
	    "SYN_REPLY's headers: %s", s.log);
	deflateEnd(&w.z);
}

static void
test_callback_stops(void)
{
	struct seen s = { .stop_after = 2 };

	writer_init(&w);
	data(&w, 1, 0, "a");
	data(&w, 1, 0, "b");
	data(&w, 1, 0, "c");
	ok(feed_all(w.out, w.len, 100, &s) == HOOP_ERR_DENIED &&
	    s.frames == 2, "a callback's refusal stops the reader");
	deflateEnd(&w.z);
}

static int
value_of(void *arg, const struct hoop_spdy_frame *f)
{
	const char **out = arg;
	const char *v = hoop_spdy_header(f, "streamtype");

	if (v != NULL)
		*out = strcmp(v, "resize") == 0 ? "resize" : "other";
	return 0;
}

static void
test_header_lookup(void)
{
	static const char *const kv[] = { "x", "1", "streamtype", "resize",
	    NULL };
	const char *got = NULL;
	hoop_spdy_t *r = NULL;

	writer_init(&w);
	syn_stream(&w, 9, kv);
	ok(hoop_spdy_create(&r) == HOOP_OK && hoop_spdy_feed(r, w.out, w.len,
	    value_of, &got) == HOOP_OK && got != NULL &&
	    strcmp(got, "resize") == 0, "hoop_spdy_header finds a header");
	hoop_spdy_free(r);
	deflateEnd(&w.z);
}

int
main(void)
{
	test_dictionary();
	test_exec_streams();
	test_other_control_frames();
	test_hostile();
	test_callback_stops();
	test_header_lookup();
	return done_testing();
}
