/*
 * HTTP/1.1 message heads and bodies (RFC 9112) for hoop-kubewrap's proxy,
 * read strictly so that the proxy and the server behind it can never
 * frame one byte stream differently (request smuggling).
 *
 * Heads. A request line is METHOD SP TARGET SP HTTP/1.x (one space each,
 * the method upper-case letters, the target visible ASCII); a status line
 * HTTP/1.x SP 3DIGIT [SP reason]. Every line ends in CRLF: a bare LF or
 * a CR anywhere else is refused, as are empty lines before the start
 * line, obs-fold (a header line starting with SP or HTAB), whitespace
 * between a header's name and its colon, names that are not tokens, and
 * control bytes in values (HTAB excepted). Limits: the whole head
 * HOOP_HTTPMSG_MAX_HEAD bytes, HOOP_HTTPMSG_MAX_HEADERS header lines.
 *
 * Framing. Content-Length must be decimal digits only (at most 18), given
 * once (twice is refused even with equal values, and so is a list).
 * Transfer-Encoding must be exactly "chunked" (any case), given once,
 * never with Content-Length and never in HTTP/1.0; other codings are
 * refused (the proxy reads every body it passes). A request without
 * either has no body. A response to HEAD, 1xx, 204 and 304 has none; a
 * 101 switches protocols; otherwise chunked, the length, or until the
 * server closes. Requests must carry exactly one Host in HTTP/1.1.
 *
 * Chunked bodies are decoded as a stream: chunk sizes of at most 15 hex
 * digits and HOOP_HTTPMSG_MAX_CHUNK, chunk lines (with extensions) of
 * at most 4096 bytes, trailers of at most HOOP_HTTPMSG_MAX_HEAD bytes
 * (read and dropped), CRLF everywhere.
 */
#ifndef HOOP_HTTPMSG_H
#define HOOP_HTTPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "hoop_err.h"

#define HOOP_HTTPMSG_MAX_HEAD		(64 * 1024)
#define HOOP_HTTPMSG_MAX_HEADERS	128
#define HOOP_HTTPMSG_MAX_CHUNK		((uint64_t)1 << 40)
#define HOOP_HTTPMSG_MAX_LENGTH		999999999999999999ULL

enum hoop_httpmsg_kind {
	HOOP_HTTPMSG_REQUEST,
	HOOP_HTTPMSG_RESPONSE,
};

enum hoop_httpmsg_body {
	HOOP_HTTPMSG_BODY_NONE,
	HOOP_HTTPMSG_BODY_LENGTH,	/* content_length bytes */
	HOOP_HTTPMSG_BODY_CHUNKED,
	HOOP_HTTPMSG_BODY_CLOSE,	/* a response read until the end */
	HOOP_HTTPMSG_BODY_UPGRADE,	/* 101: the connection is a tunnel */
};

struct hoop_httpmsg_header {
	const char *name;	/* NUL-terminated, in the message's copy */
	const char *value;	/* without surrounding whitespace */
};

typedef struct hoop_httpmsg hoop_httpmsg_t;

hoop_err_t hoop_httpmsg_create(hoop_httpmsg_t **out);
void hoop_httpmsg_free(hoop_httpmsg_t *m);

/*
 * Reads one head from the start of buf (len bytes). HOOP_OK with
 * *head_len 0: incomplete, read more (unless len reached
 * HOOP_HTTPMSG_MAX_HEAD, which is HOOP_ERR_TOOBIG). HOOP_OK with
 * *head_len > 0: a head of that many bytes, parsed into m (which keeps
 * its own copy). HOOP_ERR_INVAL or HOOP_ERR_TOOBIG with why: malformed,
 * hostile or over the limits. For a response, head_request tells whether
 * it answers a HEAD request (no body whatever the headers say).
 */
hoop_err_t hoop_httpmsg_parse(hoop_httpmsg_t *m, enum hoop_httpmsg_kind kind,
    int head_request, const void *buf, size_t len, size_t *head_len,
    char *why, size_t whylen);

/* Of a parsed request. */
const char *hoop_httpmsg_method(const hoop_httpmsg_t *m);
const char *hoop_httpmsg_target(const hoop_httpmsg_t *m);
/* Of a parsed response. */
int hoop_httpmsg_status(const hoop_httpmsg_t *m);
/* 0 or 1: HTTP/1.0 or HTTP/1.1. */
int hoop_httpmsg_minor(const hoop_httpmsg_t *m);
size_t hoop_httpmsg_header_count(const hoop_httpmsg_t *m);
const struct hoop_httpmsg_header *hoop_httpmsg_header_at(
    const hoop_httpmsg_t *m, size_t i);
/* The value of the only header of that name (any case); NULL if none.
 * *count (if not NULL) says how many there were. */
const char *hoop_httpmsg_header(const hoop_httpmsg_t *m, const char *name,
    size_t *count);
enum hoop_httpmsg_body hoop_httpmsg_body(const hoop_httpmsg_t *m);
uint64_t hoop_httpmsg_content_length(const hoop_httpmsg_t *m);
/* Whether the connection may carry another message after this one. */
int hoop_httpmsg_keep_alive(const hoop_httpmsg_t *m);
/* A request asking to switch protocols (Connection: upgrade and an
 * Upgrade header). */
int hoop_httpmsg_upgrade(const hoop_httpmsg_t *m);
/* Hop-by-hop: the fixed list (Connection, Keep-Alive, Proxy-*, TE,
 * Trailer, Transfer-Encoding, Upgrade, Content-Length) or a name the
 * message's Connection header lists. A proxy drops these and frames the
 * message itself. */
int hoop_httpmsg_hop_by_hop(const hoop_httpmsg_t *m, const char *name);

/* ---- Chunked bodies ---- */

struct hoop_httpmsg_chunked {
	int state;
	uint64_t left;		/* data bytes left in this chunk */
	size_t line;		/* bytes of the current size or trailer line */
	size_t trailers;	/* bytes of trailers so far */
	int digits;
	int done;		/* the last chunk and trailers are read */
};

/*
 * Decodes from in (len bytes): *used bytes consumed, and *data,
 * *data_len a stretch of body data inside in (data_len 0 for none).
 * Call again with what is left. c->done once the body has ended (the
 * bytes after it are the next message's). HOOP_ERR_INVAL or
 * HOOP_ERR_TOOBIG with why.
 */
hoop_err_t hoop_httpmsg_chunked_step(struct hoop_httpmsg_chunked *c,
    const void *in, size_t len, size_t *used, const void **data,
    size_t *data_len, char *why, size_t whylen);

#endif
