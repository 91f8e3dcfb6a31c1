/* lib/httpmsg.c: heads, framing and chunked bodies, with malformed,
 * oversized and hostile (smuggling) input. */
#include <stdlib.h>
#include <string.h>

#include "hoop_httpmsg.h"
#include "tap.h"

static hoop_httpmsg_t *m;
static char why[256];

/* Parses s as a request (or response): the error, and the head's length
 * in *hl. */
static hoop_err_t
parse(enum hoop_httpmsg_kind kind, const char *s, size_t *hl)
{
	size_t dummy;

	why[0] = '\0';
	return hoop_httpmsg_parse(m, kind, 0, s, strlen(s),
	    hl != NULL ? hl : &dummy, why, sizeof(why));
}

static int
req_fails(const char *s)
{
	size_t hl = 1;

	return parse(HOOP_HTTPMSG_REQUEST, s, &hl) != HOOP_OK && hl == 0 &&
	    why[0] != '\0';
}

static int
resp_fails(const char *s)
{
	size_t hl = 1;

	return parse(HOOP_HTTPMSG_RESPONSE, s, &hl) != HOOP_OK && hl == 0;
}

/* Decodes a whole chunked body fed in pieces of step bytes. Returns the
 * error; out gets the data, *rest the bytes after the body. */
static hoop_err_t
dechunk(const char *s, size_t step, char *out, size_t outlen, size_t *rest)
{
	struct hoop_httpmsg_chunked c = { 0 };
	size_t len = strlen(s), off = 0, o = 0, used, dl, piece;
	const void *d;
	hoop_err_t err;

	while (!c.done && off < len) {
		piece = len - off < step ? len - off : step;
		err = hoop_httpmsg_chunked_step(&c, s + off, piece, &used, &d,
		    &dl, why, sizeof(why));
		if (err != HOOP_OK)
			return err;
		if (dl > 0) {
			if (o + dl >= outlen)
				return HOOP_ERR_TOOBIG;
			memcpy(out + o, d, dl);
			o += dl;
		}
		off += used;
		if (used == 0 && piece > 0 && !c.done && dl == 0)
			return HOOP_ERR_IO;	/* no progress: a bug */
	}
	out[o] = '\0';
	*rest = len - off;
	return c.done ? HOOP_OK : HOOP_ERR_NOTFOUND;
}

int
main(void)
{
	char out[256], *big;
	size_t hl, rest, i;
	hoop_err_t err;
	const char *full = "GET /api/v1/pods?watch=1 HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization:  Bearer x \r\n"
	    "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\nNEXT";

	if (hoop_httpmsg_create(&m) != HOOP_OK)
		return 1;

	/* A good request, and what it reads as. */
	err = parse(HOOP_HTTPMSG_REQUEST, full, &hl);
	ok(err == HOOP_OK && hl == strlen(full) - 4, "request head parsed");
	ok(strcmp(hoop_httpmsg_method(m), "GET") == 0 &&
	    strcmp(hoop_httpmsg_target(m), "/api/v1/pods?watch=1") == 0,
	    "method and target");
	ok(strcmp(hoop_httpmsg_header(m, "authorization", NULL), "Bearer x")
	    == 0, "value trimmed, name any case");
	ok(hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_NONE &&
	    hoop_httpmsg_keep_alive(m) && !hoop_httpmsg_upgrade(m),
	    "no body, keep-alive");
	ok(hoop_httpmsg_hop_by_hop(m, "x-drop") &&
	    hoop_httpmsg_hop_by_hop(m, "Transfer-Encoding") &&
	    !hoop_httpmsg_hop_by_hop(m, "Accept"),
	    "hop-by-hop: fixed and listed in Connection");
	is_int(hoop_httpmsg_header_count(m), 4, "four headers");

	/* Incomplete heads ask for more, at every length. */
	for (i = 0, err = HOOP_OK; i < strlen(full) - 4; i++) {
		if (hoop_httpmsg_parse(m, HOOP_HTTPMSG_REQUEST, 0, full, i,
		    &hl, why, sizeof(why)) != HOOP_OK || hl != 0)
			err = HOOP_ERR_INVAL;
	}
	ok(err == HOOP_OK, "every prefix is incomplete, never an error");

	ok(parse(HOOP_HTTPMSG_REQUEST, "POST /x HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 12\r\n\r\n", &hl) == HOOP_OK &&
	    hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_LENGTH &&
	    hoop_httpmsg_content_length(m) == 12, "Content-Length body");
	ok(parse(HOOP_HTTPMSG_REQUEST, "POST /x HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n", &hl) == HOOP_OK &&
	    hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_CHUNKED, "chunked body");
	ok(parse(HOOP_HTTPMSG_REQUEST, "POST /x/exec HTTP/1.1\r\nHost: h\r\n"
	    "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n", &hl) ==
	    HOOP_OK && hoop_httpmsg_upgrade(m), "upgrade request");
	ok(parse(HOOP_HTTPMSG_REQUEST, "GET / HTTP/1.0\r\n\r\n", &hl) ==
	    HOOP_OK && !hoop_httpmsg_keep_alive(m) &&
	    hoop_httpmsg_minor(m) == 0, "HTTP/1.0: no Host needed, closes");
	ok(parse(HOOP_HTTPMSG_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: close\r\n\r\n", &hl) == HOOP_OK &&
	    !hoop_httpmsg_keep_alive(m), "Connection: close");

	/* Smuggling and framing conflicts. */
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), "CL and TE refused");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\n"), "duplicate CL refused, even equal");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n"
	    "\r\n"), "CL list refused");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n"
	    "\r\n"), "signed CL refused");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n"
	    "\r\n"), "empty CL refused");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1000000000000000000\r\n\r\n"),
	    "CL of 19 digits refused");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"), "TE coding list");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), "TE twice");
	ok(req_fails("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "TE in HTTP/1.0");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : "
	    "chunked\r\n\r\n"), "space before the colon");
	ok(req_fails("POST / HTTP/1.1\r\nHost: h\r\nX: a\r\n chunked\r\n\r\n"),
	    "obs-fold refused");
	ok(req_fails("GET / HTTP/1.1\nHost: h\n\n"), "bare LF refused");
	ok(req_fails("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"),
	    "bare LF inside refused");
	ok(req_fails("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"),
	    "bare CR refused");
	ok(req_fails("GET / HTTP/1.1\r\nHost: h\r\nX: a\001b\r\n\r\n"),
	    "control byte in a value");
	ok(req_fails("GET / HTTP/1.1\r\nHost: h\r\nX(: a\r\n\r\n"),
	    "bad name");
	ok(req_fails("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 without Host");
	ok(req_fails("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	    "two Hosts");
	ok(req_fails("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	    "empty line before the request line");
	ok(req_fails("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), "double space");
	ok(req_fails("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), "trailing space");
	ok(req_fails("get / HTTP/1.1\r\nHost: h\r\n\r\n"), "lower-case method");
	ok(req_fails("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), "HTTP/2.0");
	ok(req_fails("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"),
	    "non-ASCII target");
	ok(req_fails("GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n"),
	    "malformed Connection");
	{
		const char nul[] = "GET / HTTP/1.1\r\nHost: h\0\r\n\r\n";

		ok(hoop_httpmsg_parse(m, HOOP_HTTPMSG_REQUEST, 0, nul,
		    sizeof(nul) - 1, &hl, why, sizeof(why)) == HOOP_ERR_INVAL,
		    "NUL byte refused");
	}

	/* Oversized. */
	big = malloc(HOOP_HTTPMSG_MAX_HEAD + 64);
	memset(big, 'a', HOOP_HTTPMSG_MAX_HEAD + 63);
	memcpy(big, "GET /", 5);
	big[HOOP_HTTPMSG_MAX_HEAD + 63] = '\0';
	ok(parse(HOOP_HTTPMSG_REQUEST, big, &hl) == HOOP_ERR_TOOBIG && hl == 0,
	    "head over the limit");
	{
		size_t off = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: h\r\n");

		for (i = 0; i < HOOP_HTTPMSG_MAX_HEADERS; i++)
			off += (size_t)sprintf(big + off, "X: %zu\r\n", i);
		strcpy(big + off, "\r\n");
		ok(parse(HOOP_HTTPMSG_REQUEST, big, &hl) == HOOP_ERR_TOOBIG,
		    "too many header lines");
	}
	free(big);

	/* Responses. */
	ok(parse(HOOP_HTTPMSG_RESPONSE, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n",
	    &hl) == HOOP_OK && hoop_httpmsg_status(m) == 200 &&
	    hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_LENGTH, "200 with length");
	ok(parse(HOOP_HTTPMSG_RESPONSE, "HTTP/1.1 200 OK\r\n\r\n", &hl) ==
	    HOOP_OK && hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_CLOSE &&
	    !hoop_httpmsg_keep_alive(m), "no framing: until close");
	ok(parse(HOOP_HTTPMSG_RESPONSE, "HTTP/1.1 204\r\n"
	    "Content-Length: 5\r\n\r\n", &hl) == HOOP_OK &&
	    hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_NONE, "204: no body");
	ok(parse(HOOP_HTTPMSG_RESPONSE, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n", &hl) ==
	    HOOP_OK && hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_UPGRADE,
	    "101: a tunnel");
	ok(hoop_httpmsg_parse(m, HOOP_HTTPMSG_RESPONSE, 1,
	    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 38, &hl, why,
	    sizeof(why)) == HOOP_OK && hoop_httpmsg_body(m) ==
	    HOOP_HTTPMSG_BODY_NONE, "answer to HEAD: no body");
	ok(resp_fails("HTTP/1.1 2000 OK\r\n\r\n"), "four-digit status");
	ok(resp_fails("HTTP/1.1 099 OK\r\n\r\n"), "status under 100");
	ok(resp_fails("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), "response CL and TE");
	ok(resp_fails("HTTP/1.1 200 O\001K\r\n\r\n"), "control in reason");
	ok(resp_fails("ICY 200 OK\r\n\r\n"), "not HTTP");

	/* Chunked bodies, whole and byte by byte. */
	for (i = 1; i <= 64; i *= 4) {
		err = dechunk("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n"
		    "Trailer-X: 1\r\n\r\nNEXT", i, out, sizeof(out), &rest);
		ok(err == HOOP_OK && strcmp(out, "hello world") == 0 &&
		    rest == 4, "chunked in pieces of %zu", i);
	}
	ok(dechunk("0\r\n\r\n", 1, out, sizeof(out), &rest) == HOOP_OK &&
	    out[0] == '\0', "empty chunked body");
	ok(dechunk("5\nhello\r\n0\r\n\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_INVAL, "bare LF after a chunk size");
	ok(dechunk("5\r\nhelloX\r\n0\r\n\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_INVAL, "data longer than its size");
	ok(dechunk("x\r\n", 3, out, sizeof(out), &rest) == HOOP_ERR_INVAL,
	    "non-hex size");
	ok(dechunk("\r\n", 3, out, sizeof(out), &rest) == HOOP_ERR_INVAL,
	    "missing size");
	ok(dechunk(" 5\r\nhello\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_INVAL, "space before the size");
	ok(dechunk("1000000000000000\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_TOOBIG, "16 hex digits: too long");
	ok(dechunk("ffffffffffffff\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_TOOBIG, "huge chunk size refused");
	ok(dechunk("00000000000000000001\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_TOOBIG, "leading zeros count toward the limit");
	ok(dechunk("0\r\nX: a\nY: b\r\n\r\n", 3, out, sizeof(out), &rest) ==
	    HOOP_ERR_INVAL, "bare LF in trailers");
	big = malloc(8192);
	memset(big, 'e', 8191);
	memcpy(big, "1;", 2);
	big[8191] = '\0';
	ok(dechunk(big, 512, out, sizeof(out), &rest) == HOOP_ERR_TOOBIG,
	    "chunk extension too long");
	free(big);

	hoop_httpmsg_free(m);
	return done_testing();
}
