/* HTTP/1.1 heads and chunked bodies, read strictly (see hoop_httpmsg.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hoop_httpmsg.h"
#include "hoop_util.h"

struct hoop_httpmsg {
	enum hoop_httpmsg_kind kind;
	char method[16];
	const char *target;
	int status;
	int minor;
	size_t n_headers;
	struct hoop_httpmsg_header headers[HOOP_HTTPMSG_MAX_HEADERS];
	enum hoop_httpmsg_body body;
	uint64_t content_length;
	int keep_alive;
	int upgrade;
	/* Connection's tokens, lower case, NUL-separated. */
	char connection[512];
	size_t connection_len;
	char copy[HOOP_HTTPMSG_MAX_HEAD + 1];
};

hoop_err_t
hoop_httpmsg_create(hoop_httpmsg_t **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? HOOP_OK : HOOP_ERR_NOMEM;
}

void
hoop_httpmsg_free(hoop_httpmsg_t *m)
{
	free(m);
}

/* RFC 9110 tchar. */
static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Field values: VCHAR, SP, HTAB, obs-text. */
static int
is_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Finds the end of the head: CRLFCRLF. A bare LF or CR on the way is
 * refused. Returns the head's length, 0 if incomplete, -1 if malformed. */
static long
head_end(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n')
			return -1;	/* not preceded by CR: checked below */
		if (p[i] != '\r')
			continue;
		if (i + 1 == len)
			return 0;
		if (p[i + 1] != '\n')
			return -1;
		if (i + 3 < len && p[i + 2] == '\r' && p[i + 3] == '\n')
			return (long)(i + 4);
		if (i + 2 < len && p[i + 2] == '\r' && i + 3 == len)
			return 0;
		i++;	/* past the LF of this CRLF */
	}
	return 0;
}

static int
parse_version(const char *s, int *minor)
{
	if (strncmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1'))
		return -1;
	*minor = s[7] - '0';
	return 0;
}

static int
parse_start_request(hoop_httpmsg_t *m, char *line, char *why, size_t whylen)
{
	char *sp1, *sp2, *p;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ')) {
		hoop_why(why, whylen, "malformed request line");
		return -1;
	}
	*sp1 = *sp2 = '\0';
	if (sp1 == line || (size_t)(sp1 - line) >= sizeof(m->method)) {
		hoop_why(why, whylen, "bad method");
		return -1;
	}
	for (p = line; *p; p++)
		if (*p < 'A' || *p > 'Z') {
			hoop_why(why, whylen, "bad method");
			return -1;
		}
	memcpy(m->method, line, (size_t)(sp1 - line) + 1);
	if (sp2 == sp1 + 1) {
		hoop_why(why, whylen, "empty request-target");
		return -1;
	}
	for (p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			hoop_why(why, whylen, "bad byte in the request-target");
			return -1;
		}
	m->target = sp1 + 1;
	if (strlen(sp2 + 1) != 8 || parse_version(sp2 + 1, &m->minor) == -1) {
		hoop_why(why, whylen, "not HTTP/1.0 or HTTP/1.1");
		return -1;
	}
	return 0;
}

static int
parse_start_response(hoop_httpmsg_t *m, char *line, char *why,
    size_t whylen)
{
	const char *p;

	if (parse_version(line, &m->minor) == -1 || line[8] != ' ' ||
	    line[9] < '1' || line[9] > '5' || line[10] < '0' ||
	    line[10] > '9' || line[11] < '0' || line[11] > '9' ||
	    (line[12] != '\0' && line[12] != ' ')) {
		hoop_why(why, whylen, "malformed status line");
		return -1;
	}
	m->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	for (p = line + 12; *p; p++)
		if (!is_vchar((unsigned char)*p)) {
			hoop_why(why, whylen, "bad byte in the reason phrase");
			return -1;
		}
	return 0;
}

/* Connection: a list of tokens, kept in lower case. */
static int
add_connection(hoop_httpmsg_t *m, const char *v)
{
	const char *p = v;
	size_t n;

	while (*p) {
		while (*p == ',' || is_ows(*p))
			p++;
		for (n = 0; p[n] && p[n] != ',' && !is_ows(p[n]); n++)
			if (!is_tchar((unsigned char)p[n]))
				return -1;
		if (n == 0)
			break;
		if (m->connection_len + n + 1 > sizeof(m->connection))
			return -1;
		for (size_t i = 0; i < n; i++)
			m->connection[m->connection_len + i] =
			    (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 :
			    p[i]);
		m->connection[m->connection_len + n] = '\0';
		m->connection_len += n + 1;
		p += n;
		while (is_ows(*p))
			p++;
		if (*p != '\0' && *p != ',')
			return -1;
	}
	return 0;
}

static int
connection_has(const hoop_httpmsg_t *m, const char *token)
{
	size_t off = 0;

	while (off < m->connection_len) {
		if (strcasecmp(m->connection + off, token) == 0)
			return 1;
		off += strlen(m->connection + off) + 1;
	}
	return 0;
}

static int
parse_header(hoop_httpmsg_t *m, char *line, char *why, size_t whylen)
{
	char *colon, *v, *end;
	size_t i;

	if (is_ows(line[0])) {
		hoop_why(why, whylen, "obsolete line folding");
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		hoop_why(why, whylen, "malformed header line");
		return -1;
	}
	for (i = 0; line + i < colon; i++)
		if (!is_tchar((unsigned char)line[i])) {
			hoop_why(why, whylen, "bad header name");
			return -1;
		}
	*colon = '\0';
	v = colon + 1;
	while (is_ows(*v))
		v++;
	end = v + strlen(v);
	while (end > v && is_ows(end[-1]))
		*--end = '\0';
	for (i = 0; v + i < end; i++)
		if (!is_vchar((unsigned char)v[i])) {
			hoop_why(why, whylen, "control byte in header %s",
			    line);
			return -1;
		}
	if (m->n_headers == HOOP_HTTPMSG_MAX_HEADERS) {
		hoop_why(why, whylen, "more than %d header lines",
		    HOOP_HTTPMSG_MAX_HEADERS);
		return -2;
	}
	m->headers[m->n_headers].name = line;
	m->headers[m->n_headers].value = v;
	m->n_headers++;
	return 0;
}

static int
parse_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9' || i == 18)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == 0)
		return -1;
	*out = n;
	return 0;
}

/* Content-Length, Transfer-Encoding, Connection, Upgrade and Host into
 * the framing. */
static int
framing(hoop_httpmsg_t *m, int head_request, char *why, size_t whylen)
{
	const char *cl, *te, *host;
	size_t n_cl, n_te, n_host, i;

	m->connection_len = 0;
	for (i = 0; i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, "Connection") == 0 &&
		    add_connection(m, m->headers[i].value) == -1) {
			hoop_why(why, whylen, "malformed Connection header");
			return -1;
		}
	cl = hoop_httpmsg_header(m, "Content-Length", &n_cl);
	te = hoop_httpmsg_header(m, "Transfer-Encoding", &n_te);
	if (n_cl > 1 || n_te > 1) {
		hoop_why(why, whylen, "%s given more than once", n_cl > 1 ?
		    "Content-Length" : "Transfer-Encoding");
		return -1;
	}
	if (n_cl && n_te) {
		hoop_why(why, whylen, "both Content-Length and "
		    "Transfer-Encoding");
		return -1;
	}
	if (te != NULL && (strcasecmp(te, "chunked") != 0 || m->minor == 0)) {
		hoop_why(why, whylen, "unsupported Transfer-Encoding");
		return -1;
	}
	if (cl != NULL && (parse_length(cl, &m->content_length) == -1)) {
		hoop_why(why, whylen, "bad Content-Length");
		return -1;
	}
	m->keep_alive = m->minor == 1 ? !connection_has(m, "close") :
	    connection_has(m, "keep-alive");
	m->upgrade = connection_has(m, "upgrade") &&
	    hoop_httpmsg_header(m, "Upgrade", NULL) != NULL;
	if (m->kind == HOOP_HTTPMSG_REQUEST) {
		host = hoop_httpmsg_header(m, "Host", &n_host);
		if (n_host > 1 || (m->minor == 1 && n_host == 0)) {
			hoop_why(why, whylen, "%s Host header", n_host ?
			    "more than one" : "no");
			return -1;
		}
		(void)host;
		m->body = te != NULL ? HOOP_HTTPMSG_BODY_CHUNKED : cl != NULL ?
		    HOOP_HTTPMSG_BODY_LENGTH : HOOP_HTTPMSG_BODY_NONE;
		return 0;
	}
	m->upgrade = 0;
	if (m->status == 101) {
		m->body = HOOP_HTTPMSG_BODY_UPGRADE;
		m->keep_alive = 0;
	} else if (head_request || m->status < 200 || m->status == 204 ||
	    m->status == 304) {
		m->body = HOOP_HTTPMSG_BODY_NONE;
	} else if (te != NULL) {
		m->body = HOOP_HTTPMSG_BODY_CHUNKED;
	} else if (cl != NULL) {
		m->body = HOOP_HTTPMSG_BODY_LENGTH;
	} else {
		m->body = HOOP_HTTPMSG_BODY_CLOSE;
		m->keep_alive = 0;
	}
	return 0;
}

hoop_err_t
hoop_httpmsg_parse(hoop_httpmsg_t *m, enum hoop_httpmsg_kind kind,
    int head_request, const void *buf, size_t len, size_t *head_len,
    char *why, size_t whylen)
{
	const unsigned char *p = buf;
	size_t scan = len < HOOP_HTTPMSG_MAX_HEAD ? len : HOOP_HTTPMSG_MAX_HEAD;
	char *line, *next;
	long end;
	int r, first = 1;

	*head_len = 0;
	end = head_end(p, scan);
	if (end < 0) {
		hoop_why(why, whylen, "line not ended by CRLF");
		return HOOP_ERR_INVAL;
	}
	if (end == 0) {
		if (len >= HOOP_HTTPMSG_MAX_HEAD) {
			hoop_why(why, whylen, "head over %d bytes",
			    HOOP_HTTPMSG_MAX_HEAD);
			return HOOP_ERR_TOOBIG;
		}
		return HOOP_OK;
	}
	if (memchr(p, '\0', (size_t)end) != NULL) {
		hoop_why(why, whylen, "NUL byte in the head");
		return HOOP_ERR_INVAL;
	}
	memset(m, 0, offsetof(struct hoop_httpmsg, copy));
	m->kind = kind;
	memcpy(m->copy, p, (size_t)end);
	m->copy[end - 2] = '\0';	/* the last CRLF */
	for (line = m->copy; *line != '\0' || first; line = next) {
		if ((next = strstr(line, "\r\n")) != NULL) {
			*next = '\0';
			next += 2;
		} else {
			next = line + strlen(line);
		}
		if (first) {
			first = 0;
			r = kind == HOOP_HTTPMSG_REQUEST ?
			    parse_start_request(m, line, why, whylen) :
			    parse_start_response(m, line, why, whylen);
		} else {
			r = parse_header(m, line, why, whylen);
		}
		if (r != 0)
			return r == -2 ? HOOP_ERR_TOOBIG : HOOP_ERR_INVAL;
		if (*next == '\0')
			break;
	}
	if (framing(m, head_request, why, whylen) == -1)
		return HOOP_ERR_INVAL;
	*head_len = (size_t)end;
	return HOOP_OK;
}

const char *
hoop_httpmsg_method(const hoop_httpmsg_t *m)
{
	return m->method;
}

const char *
hoop_httpmsg_target(const hoop_httpmsg_t *m)
{
	return m->target;
}

int
hoop_httpmsg_status(const hoop_httpmsg_t *m)
{
	return m->status;
}

int
hoop_httpmsg_minor(const hoop_httpmsg_t *m)
{
	return m->minor;
}

size_t
hoop_httpmsg_header_count(const hoop_httpmsg_t *m)
{
	return m->n_headers;
}

const struct hoop_httpmsg_header *
hoop_httpmsg_header_at(const hoop_httpmsg_t *m, size_t i)
{
	return i < m->n_headers ? &m->headers[i] : NULL;
}

const char *
hoop_httpmsg_header(const hoop_httpmsg_t *m, const char *name, size_t *count)
{
	const char *found = NULL;
	size_t i, n = 0;

	for (i = 0; i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, name) == 0) {
			found = m->headers[i].value;
			n++;
		}
	if (count != NULL)
		*count = n;
	return n == 1 ? found : NULL;
}

enum hoop_httpmsg_body
hoop_httpmsg_body(const hoop_httpmsg_t *m)
{
	return m->body;
}

uint64_t
hoop_httpmsg_content_length(const hoop_httpmsg_t *m)
{
	return m->content_length;
}

int
hoop_httpmsg_keep_alive(const hoop_httpmsg_t *m)
{
	return m->keep_alive;
}

int
hoop_httpmsg_upgrade(const hoop_httpmsg_t *m)
{
	return m->upgrade;
}

int
hoop_httpmsg_hop_by_hop(const hoop_httpmsg_t *m, const char *name)
{
	static const char *const fixed[] = { "Connection", "Keep-Alive",
	    "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	    "TE", "Trailer", "Transfer-Encoding", "Upgrade",
	    "Content-Length" };
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcasecmp(name, fixed[i]) == 0)
			return 1;
	return connection_has(m, name);
}

/* ---- Chunked bodies ---- */

enum {
	CH_SIZE,	/* hex digits */
	CH_EXT,		/* ;extensions up to CR */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,	/* start of a trailer line, or the final CRLF */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_END_LF,
};

#define CHUNK_LINE_MAX 4096

static int
hex_value(unsigned char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p;

	if (c >= 'A' && c <= 'F')
		c = (unsigned char)(c - 'A' + 'a');
	p = c != '\0' ? strchr(digits, c) : NULL;
	return p != NULL ? (int)(p - digits) : -1;
}

hoop_err_t
hoop_httpmsg_chunked_step(struct hoop_httpmsg_chunked *c, const void *in,
    size_t len, size_t *used, const void **data, size_t *data_len,
    char *why, size_t whylen)
{
	const unsigned char *p = in;
	size_t i = 0, n;
	int h;

	*data = NULL;
	*data_len = 0;
	*used = 0;
	while (i < len && !c->done) {
		unsigned char b = p[i];

		switch (c->state) {
		case CH_SIZE:
			if ((h = hex_value(b)) >= 0) {
				if (c->digits == 15) {
					hoop_why(why, whylen, "chunk size "
					    "too long");
					return HOOP_ERR_TOOBIG;
				}
				c->left = c->left * 16 + (uint64_t)h;
				c->digits++;
				if (c->left > HOOP_HTTPMSG_MAX_CHUNK) {
					hoop_why(why, whylen, "chunk over "
					    "the limit");
					return HOOP_ERR_TOOBIG;
				}
				i++;
				break;
			}
			if (c->digits == 0 || (b != ';' && b != '\r')) {
				hoop_why(why, whylen, "bad chunk size");
				return HOOP_ERR_INVAL;
			}
			c->state = b == ';' ? CH_EXT : CH_SIZE_LF;
			c->line = (size_t)c->digits + 1;
			i++;
			break;
		case CH_EXT:
			if (++c->line > CHUNK_LINE_MAX) {
				hoop_why(why, whylen, "chunk line too long");
				return HOOP_ERR_TOOBIG;
			}
			if (b == '\r')
				c->state = CH_SIZE_LF;
			else if (b == '\n' || (!is_vchar(b))) {
				hoop_why(why, whylen, "bad chunk extension");
				return HOOP_ERR_INVAL;
			}
			i++;
			break;
		case CH_SIZE_LF:
			if (b != '\n') {
				hoop_why(why, whylen, "chunk line not ended "
				    "by CRLF");
				return HOOP_ERR_INVAL;
			}
			i++;
			c->digits = 0;
			c->state = c->left == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA:
			if (*data_len > 0)
				goto out;	/* one stretch per call */
			n = len - i;
			if ((uint64_t)n > c->left)
				n = (size_t)c->left;
			*data = p + i;
			*data_len = n;
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			break;
		case CH_DATA_CR:
		case CH_DATA_LF:
			if (b != (c->state == CH_DATA_CR ? '\r' : '\n')) {
				hoop_why(why, whylen, "chunk data not ended "
				    "by CRLF");
				return HOOP_ERR_INVAL;
			}
			c->state = c->state == CH_DATA_CR ? CH_DATA_LF :
			    CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
			if (b == '\r') {
				c->state = CH_END_LF;
				i++;
				break;
			}
			c->state = CH_TRAILER_LINE;
			/* fall through */
		case CH_TRAILER_LINE:
			if (++c->trailers > HOOP_HTTPMSG_MAX_HEAD) {
				hoop_why(why, whylen, "trailers too long");
				return HOOP_ERR_TOOBIG;
			}
			if (b == '\r')
				c->state = CH_TRAILER_LF;
			else if (b == '\n' || !is_vchar(b)) {
				hoop_why(why, whylen, "bad trailer");
				return HOOP_ERR_INVAL;
			}
			i++;
			break;
		case CH_TRAILER_LF:
		case CH_END_LF:
			if (b != '\n') {
				hoop_why(why, whylen, "trailer not ended by "
				    "CRLF");
				return HOOP_ERR_INVAL;
			}
			if (c->state == CH_END_LF)
				c->done = 1;
			c->state = CH_TRAILER;
			i++;
			break;
		}
	}
out:
	*used = i;
	return HOOP_OK;
}
