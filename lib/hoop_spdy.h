/*
 * SPDY/3.1 frames as kubectl and the kubelet use them for exec, attach
 * and portforward (after an HTTP upgrade to SPDY/3.1): a reader for one
 * direction of a connection, fed the bytes as they are relayed, that
 * hands back each frame, with the header blocks of SYN_STREAM, SYN_REPLY
 * and HEADERS inflated (zlib with SPDY/3's dictionary, one compression
 * stream per direction for the whole connection) and split into
 * name/value pairs. hoop-kubewrap reads the streams' types ("stdin",
 * "stdout", "stderr", "resize", "error") and data from it to record an
 * exec session; it never changes what it relays.
 *
 * Everything read from the wire has a hard limit (below); a frame over a
 * limit, a header block that does not inflate, a malformed block, a
 * control frame of another version: HOOP_ERR_INVAL or HOOP_ERR_TOOBIG,
 * and the reader stays failed (the rest of the connection cannot be
 * framed any more).
 */
#ifndef HOOP_SPDY_H
#define HOOP_SPDY_H

#include <stddef.h>
#include <stdint.h>

#include "hoop_err.h"

#define HOOP_SPDY_MAX_FRAME	(1024 * 1024)	/* a frame's payload */
#define HOOP_SPDY_MAX_BLOCK	(64 * 1024)	/* an inflated header block */
#define HOOP_SPDY_MAX_HEADERS	64		/* pairs in one block */

enum hoop_spdy_type {
	HOOP_SPDY_DATA = 0,		/* not a control frame */
	HOOP_SPDY_SYN_STREAM = 1,
	HOOP_SPDY_SYN_REPLY = 2,
	HOOP_SPDY_RST_STREAM = 3,
	HOOP_SPDY_SETTINGS = 4,
	HOOP_SPDY_PING = 6,
	HOOP_SPDY_GOAWAY = 7,
	HOOP_SPDY_HEADERS = 8,
	HOOP_SPDY_WINDOW_UPDATE = 9,
};

#define HOOP_SPDY_FLAG_FIN	0x01

struct hoop_spdy_header {
	const char *name;	/* NUL-terminated; lower case on the wire */
	const char *value;	/* NUL-terminated at the value's end; may
				 * hold NULs between several values */
	size_t value_len;
};

struct hoop_spdy_frame {
	unsigned type;		/* enum hoop_spdy_type; other control types
				 * are passed with their number */
	unsigned flags;
	uint32_t stream_id;	/* 0 for frames without one */
	uint32_t status;	/* RST_STREAM and GOAWAY status */
	const unsigned char *data;	/* DATA: the payload; control: the
					 * payload as sent */
	size_t len;
	const struct hoop_spdy_header *headers;	/* SYN_STREAM, SYN_REPLY,
						 * HEADERS */
	size_t n_headers;
};

typedef struct hoop_spdy hoop_spdy_t;

/* Called once per whole frame; what it points to is valid during the
 * call only. A non-zero return stops hoop_spdy_feed, which returns
 * HOOP_ERR_DENIED (and the reader is failed). */
typedef int (*hoop_spdy_frame_fn)(void *arg, const struct hoop_spdy_frame *f);

hoop_err_t hoop_spdy_create(hoop_spdy_t **out);
void hoop_spdy_free(hoop_spdy_t *r);

/* Feeds len bytes of one direction; calls fn for every frame completed. */
hoop_err_t hoop_spdy_feed(hoop_spdy_t *r, const void *buf, size_t len,
    hoop_spdy_frame_fn fn, void *arg);

/* The value of header name in f, or NULL (the first of several). */
const char *hoop_spdy_header(const struct hoop_spdy_frame *f,
    const char *name);

/* SPDY/3's header compression dictionary (1423 bytes), for tests and for
 * a writer's deflate stream. */
const unsigned char *hoop_spdy_dictionary(size_t *len);

#endif
