/* SPDY/3.1 frames for exec recording (see hoop_spdy.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "hoop_spdy.h"

#define FRAME_HEADER	8
#define SPDY_VERSION	3
/* The dictionary's Adler-32, as a peer's zlib stream names it. */
#define DICT_ADLER	0xe3c6a7c2UL
#define DICT_LEN	1423

struct hoop_spdy {
	unsigned char *buf;	/* bytes not yet framed */
	size_t off, len, cap;
	z_stream z;
	int z_ready;
	int failed;
	unsigned char *block;	/* an inflated header block */
	char *strings;		/* its names and values, NUL-terminated */
	struct hoop_spdy_header headers[HOOP_SPDY_MAX_HEADERS];
};

static unsigned char dictionary[DICT_LEN];
static size_t dictionary_len;
static pthread_once_t dictionary_once = PTHREAD_ONCE_INIT;

/*
 * SPDY/3 section 2.6.10.1: header names and common values, each with a
 * 32-bit big-endian length, then a run of status lines, dates and media
 * types. Checked against its Adler-32 once built.
 */
static void
build_dictionary(void)
{
	static const char *const words[] = { "options", "head", "post", "put",
	    "delete", "trace", "accept", "accept-charset", "accept-encoding",
	    "accept-language", "accept-ranges", "age", "allow",
	    "authorization", "cache-control", "connection", "content-base",
	    "content-encoding", "content-language", "content-length",
	    "content-location", "content-md5", "content-range",
	    "content-type", "date", "etag", "expect", "expires", "from",
	    "host", "if-match", "if-modified-since", "if-none-match",
	    "if-range", "if-unmodified-since", "last-modified", "location",
	    "max-forwards", "pragma", "proxy-authenticate",
	    "proxy-authorization", "range", "referer", "retry-after",
	    "server", "te", "trailer", "transfer-encoding", "upgrade",
	    "user-agent", "vary", "via", "warning", "www-authenticate",
	    "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
	    "public", "set-cookie", "keep-alive", "origin" };
	static const char tail[] =
	    "100101201202205206300302303304305306307402405406407408409410411412"
	    "413414415416417502504505203 Non-Authoritative Information204 No "
	    "Content301 Moved Permanently400 Bad Request401 Unauthorized403 "
	    "Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
	    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
	    "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,"
	    "text/html,image/png,image/jpg,image/gif,application/xml,"
	    "application/xhtml+xml,text/plain,text/javascript,publicprivate"
	    "max-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,"
	    "enq=0.";
	size_t i, n = 0, w;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		w = strlen(words[i]);
		if (n + 4 + w > sizeof(dictionary))
			return;
		dictionary[n++] = (unsigned char)(w >> 24);
		dictionary[n++] = (unsigned char)(w >> 16);
		dictionary[n++] = (unsigned char)(w >> 8);
		dictionary[n++] = (unsigned char)w;
		memcpy(dictionary + n, words[i], w);
		n += w;
	}
	if (n + sizeof(tail) - 1 != sizeof(dictionary))
		return;
	memcpy(dictionary + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	if (adler32(adler32(0, NULL, 0), dictionary, (uInt)n) == DICT_ADLER)
		dictionary_len = n;
}

const unsigned char *
hoop_spdy_dictionary(size_t *len)
{
	pthread_once(&dictionary_once, build_dictionary);
	*len = dictionary_len;
	return dictionary_len == DICT_LEN ? dictionary : NULL;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

hoop_err_t
hoop_spdy_create(hoop_spdy_t **out)
{
	hoop_err_t ret = HOOP_ERR_NOMEM;
	hoop_spdy_t *r = NULL;
	size_t len;

	*out = NULL;
	/* A dictionary that does not check out would misread every
	 * header block. */
	if (hoop_spdy_dictionary(&len) == NULL) {
		ret = HOOP_ERR_CRYPTO;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->block = malloc(HOOP_SPDY_MAX_BLOCK)) == NULL ||
	    (r->strings = malloc(HOOP_SPDY_MAX_BLOCK +
	    2 * HOOP_SPDY_MAX_HEADERS)) == NULL)
		goto out;
	if (inflateInit(&r->z) != Z_OK)
		goto out;
	r->z_ready = 1;
	*out = r;
	r = NULL;
	ret = HOOP_OK;
out:
	hoop_spdy_free(r);
	return ret;
}

void
hoop_spdy_free(hoop_spdy_t *r)
{
	if (r == NULL)
		return;
	if (r->z_ready)
		inflateEnd(&r->z);
	free(r->buf);
	free(r->block);
	free(r->strings);
	free(r);
}

/* Inflates one header block (the next piece of this direction's zlib
 * stream) into r->block; *out_len its length. */
static hoop_err_t
inflate_block(hoop_spdy_t *r, const unsigned char *in, size_t len,
    size_t *out_len)
{
	const unsigned char *dict;
	size_t dict_len;
	int rc;

	r->z.next_in = (Bytef *)(uintptr_t)in;
	r->z.avail_in = (uInt)len;
	r->z.next_out = r->block;
	r->z.avail_out = HOOP_SPDY_MAX_BLOCK;
	for (;;) {
		rc = inflate(&r->z, Z_SYNC_FLUSH);
		if (rc == Z_NEED_DICT) {
			dict = hoop_spdy_dictionary(&dict_len);
			if (r->z.adler != DICT_ADLER ||
			    inflateSetDictionary(&r->z, dict, (uInt)dict_len) !=
			    Z_OK)
				return HOOP_ERR_INVAL;
			continue;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return HOOP_ERR_INVAL;
		/* All of the block read: done. Room gone with input left:
		 * the block is over the limit. */
		if (r->z.avail_in == 0)
			break;
		if (r->z.avail_out == 0)
			return HOOP_ERR_TOOBIG;
		if (rc == Z_BUF_ERROR)
			return HOOP_ERR_INVAL;
	}
	/* A full buffer may still hold more: it is over the limit. */
	if (r->z.avail_out == 0)
		return HOOP_ERR_TOOBIG;
	*out_len = HOOP_SPDY_MAX_BLOCK - r->z.avail_out;
	return HOOP_OK;
}

/* An inflated block: count, then (length, name, length, value) pairs. */
static hoop_err_t
split_block(hoop_spdy_t *r, size_t len, size_t *n_out)
{
	const unsigned char *p = r->block, *end = r->block + len;
	char *s = r->strings;
	uint32_t count, nl, vl, i;
	size_t k;

	if (len < 4)
		return HOOP_ERR_INVAL;
	count = be32(p);
	p += 4;
	if (count > HOOP_SPDY_MAX_HEADERS)
		return HOOP_ERR_TOOBIG;
	for (i = 0; i < count; i++) {
		if ((size_t)(end - p) < 4 || (nl = be32(p)) == 0 ||
		    nl > (size_t)(end - p) - 4)
			return HOOP_ERR_INVAL;
		p += 4;
		/* Names: lower case, printable, no NUL (section 2.6.10). */
		for (k = 0; k < nl; k++)
			if (p[k] <= 0x20 || p[k] >= 0x7f ||
			    (p[k] >= 'A' && p[k] <= 'Z'))
				return HOOP_ERR_INVAL;
		r->headers[i].name = s;
		memcpy(s, p, nl);
		s += nl;
		*s++ = '\0';
		p += nl;
		if ((size_t)(end - p) < 4 || (vl = be32(p)) >
		    (size_t)(end - p) - 4)
			return HOOP_ERR_INVAL;
		p += 4;
		r->headers[i].value = s;
		r->headers[i].value_len = vl;
		memcpy(s, p, vl);
		s += vl;
		*s++ = '\0';
		p += vl;
	}
	if (p != end)
		return HOOP_ERR_INVAL;
	*n_out = count;
	return HOOP_OK;
}

static hoop_err_t
frame(hoop_spdy_t *r, const unsigned char *h, const unsigned char *payload,
    size_t len, hoop_spdy_frame_fn fn, void *arg)
{
	struct hoop_spdy_frame f;
	size_t skip = 0, block_len = 0, n = 0;
	hoop_err_t err;

	memset(&f, 0, sizeof(f));
	f.flags = h[4];
	f.data = payload;
	f.len = len;
	if (!(h[0] & 0x80)) {
		f.type = HOOP_SPDY_DATA;
		f.stream_id = be32(h) & 0x7fffffffU;
		return fn(arg, &f) == 0 ? HOOP_OK : HOOP_ERR_DENIED;
	}
	if (((h[0] & 0x7fU) << 8 | h[1]) != SPDY_VERSION)
		return HOOP_ERR_INVAL;
	f.type = (unsigned)h[2] << 8 | h[3];
	switch (f.type) {
	case HOOP_SPDY_SYN_STREAM:
		skip = 10;
		break;
	case HOOP_SPDY_SYN_REPLY:
	case HOOP_SPDY_HEADERS:
		skip = 4;
		break;
	case HOOP_SPDY_RST_STREAM:
	case HOOP_SPDY_WINDOW_UPDATE:
	case HOOP_SPDY_GOAWAY:
		if (len != 8)
			return HOOP_ERR_INVAL;
		f.stream_id = be32(payload) & 0x7fffffffU;
		if (f.type != HOOP_SPDY_WINDOW_UPDATE)
			f.status = be32(payload + 4);
		break;
	case HOOP_SPDY_PING:
		if (len != 4)
			return HOOP_ERR_INVAL;
		break;
	default:
		break;
	}
	if (skip > 0) {
		if (len < skip)
			return HOOP_ERR_INVAL;
		f.stream_id = be32(payload) & 0x7fffffffU;
		if (f.stream_id == 0)
			return HOOP_ERR_INVAL;
		/* The zlib stream goes on even for a block we would not
		 * read: every block must be inflated, in order. */
		if ((err = inflate_block(r, payload + skip, len - skip,
		    &block_len)) != HOOP_OK ||
		    (err = split_block(r, block_len, &n)) != HOOP_OK)
			return err;
		f.headers = r->headers;
		f.n_headers = n;
	}
	return fn(arg, &f) == 0 ? HOOP_OK : HOOP_ERR_DENIED;
}

hoop_err_t
hoop_spdy_feed(hoop_spdy_t *r, const void *buf, size_t len,
    hoop_spdy_frame_fn fn, void *arg)
{
	const unsigned char *h;
	size_t need, flen, avail;
	hoop_err_t err;

	if (r->failed)
		return HOOP_ERR_INVAL;
	/* Make room: first by dropping what is framed, then by growing
	 * up to one whole frame (anything longer fails below). */
	if (r->off > 0 && r->len + len > r->cap) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len + len > r->cap) {
		size_t cap = r->cap > 0 ? r->cap : 16384;
		unsigned char *nb;

		while (cap < r->len + len)
			cap *= 2;
		if (cap > FRAME_HEADER + HOOP_SPDY_MAX_FRAME + 65536)
			cap = r->len + len;
		if ((nb = realloc(r->buf, cap)) == NULL) {
			r->failed = 1;
			return HOOP_ERR_NOMEM;
		}
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, buf, len);
	r->len += len;
	for (;;) {
		avail = r->len - r->off;
		if (avail < FRAME_HEADER)
			break;
		h = r->buf + r->off;
		flen = (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
		if (flen > HOOP_SPDY_MAX_FRAME) {
			r->failed = 1;
			return HOOP_ERR_TOOBIG;
		}
		need = FRAME_HEADER + flen;
		if (avail < need)
			break;
		if ((err = frame(r, h, h + FRAME_HEADER, flen, fn, arg)) !=
		    HOOP_OK) {
			r->failed = 1;
			return err;
		}
		r->off += need;
	}
	if (r->off == r->len)
		r->off = r->len = 0;
	return HOOP_OK;
}

const char *
hoop_spdy_header(const struct hoop_spdy_frame *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n_headers; i++)
		if (strcmp(f->headers[i].name, name) == 0)
			return f->headers[i].value;
	return NULL;
}
