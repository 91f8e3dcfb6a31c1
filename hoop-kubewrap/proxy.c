/*
 * The API proxy: one thread per connection of kubectl's, each with its
 * own keep-alive connection to the API server. A request is read whole
 * (head and body, both capped), authenticated by the one-time token,
 * read as the apiserver reads it (hoop_kube_attributes), decided,
 * approved if a rule says so, and forwarded with the canonical path and
 * the target's credential. The answer is audited before kubectl sees
 * any of it, then passed on as it comes: JSON masked as it streams
 * (objects, lists, Tables, watch events), logs line by line under
 * patterns, as it is (discovery, OpenAPI, streams hoop does not read),
 * or relayed both ways after a protocol switch (exec, attach,
 * port-forward).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hoop_approval.h"
#include "hoop_audit.h"
#include "hoop_httpmsg.h"
#include "hoop_kube.h"
#include "hoop_log.h"
#include "hoop_pgproto.h"
#include "hoop_util.h"
#include "kubewrap.h"

#define READ_CHUNK	(64 * 1024)
#define CLIENT_IDLE_MS	(10 * 60 * 1000)
#define AUDIT_MAX_QUERY	4096

struct conn {
	struct kubewrap *kw;
	struct tls_end cl;		/* kubectl */
	struct hoop_pg_buf in;		/* from kubectl, not yet used */
	struct hoop_pg_buf body;	/* the request's body */
	struct tls_end up;
	struct hoop_pg_buf uin;		/* from the server, not yet used */
	hoop_httpmsg_t *req, *resp;
	/* The response body being read. */
	enum hoop_httpmsg_body framing;
	uint64_t left;
	struct hoop_httpmsg_chunked chunked;
	size_t pending;			/* uin bytes to drop on the next read */
	int64_t start_ms;
	char approval[160];
};

enum mode {
	MODE_PASS,		/* as it is */
	MODE_WHOLE,		/* one JSON document, masked as it streams */
	MODE_EVENTS,		/* watch: JSON events one after another */
	MODE_LINES,		/* logs under patterns */
};

/* ---- kubectl's end ---- */

static ssize_t
client_fill(struct conn *c)
{
	ssize_t n;

	if (hoop_pg_buf_reserve(&c->in, READ_CHUNK) != HOOP_OK)
		return -1;
	/* An idle connection of kubectl's ends (it opens another). */
	n = tls_read(&c->cl, c->in.data + c->in.len, READ_CHUNK,
	    CLIENT_IDLE_MS);
	if (n == -2)
		n = -1;
	if (n > 0)
		c->in.len += (size_t)n;
	return n;
}

static int
client_write(struct conn *c, const void *buf, size_t n)
{
	return tls_write_all(&c->cl, buf, n);
}

/* One chunk in one write (one TLS record where it fits). */
static int
chunk_write(struct conn *c, const void *p, size_t n)
{
	struct hoop_pg_buf b = { 0 };
	int hl, r = -1;

	if (n == 0)
		return 0;
	if (hoop_pg_buf_reserve(&b, n + 24) != HOOP_OK)
		return -1;
	hl = snprintf((char *)b.data, 24, "%zx\r\n", n);
	memcpy(b.data + hl, p, n);
	memcpy(b.data + hl + n, "\r\n", 2);
	r = client_write(c, b.data, (size_t)hl + n + 2);
	hoop_pg_buf_free(&b);
	return r;
}

static const char *
reason_phrase(int code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 413: return "Request Entity Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* A Status object of hoop's own. */
static int
send_status(struct conn *c, int code, const char *message)
{
	char *body = NULL, head[160];
	size_t len = 0;
	int hl, r = -1;

	if (hoop_kube_status_json(code, NULL, message, &body, &len) != HOOP_OK)
		return -1;
	hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nCache-Control: "
	    "no-store\r\n\r\n", code, reason_phrase(code), len);
	if (client_write(c, head, (size_t)hl) == 0 &&
	    client_write(c, body, len) == 0)
		r = 0;
	free(body);
	return r;
}

/* ---- The request ---- */

/* 1: a request head, 0: kubectl closed, -1: failed (answered if it can
 * be). */
static int
read_request(struct conn *c)
{
	char why[256];
	size_t hl;
	hoop_err_t err;
	ssize_t n;

	for (;;) {
		err = hoop_httpmsg_parse(c->req, HOOP_HTTPMSG_REQUEST, 0,
		    c->in.data, c->in.len, &hl, why, sizeof(why));
		if (err != HOOP_OK) {
			char msg[320];

			snprintf(msg, sizeof(msg), "hoop: malformed request: "
			    "%s", why);
			(void)send_status(c, err == HOOP_ERR_TOOBIG ? 413 :
			    400, msg);
			return -1;
		}
		if (hl > 0) {
			hoop_pg_buf_consume(&c->in, hl);
			return 1;
		}
		if ((n = client_fill(c)) <= 0)
			return n == 0 && c->in.len == 0 ? 0 : -1;
	}
}

static int
read_request_body(struct conn *c)
{
	struct hoop_httpmsg_chunked ch = { 0 };
	uint64_t want;
	size_t used, dl;
	const void *d;
	char why[128];

	hoop_pg_buf_wipe(&c->body);
	switch (hoop_httpmsg_body(c->req)) {
	case HOOP_HTTPMSG_BODY_LENGTH:
		want = hoop_httpmsg_content_length(c->req);
		if (want > KUBEWRAP_MAX_REQUEST_BODY)
			return -2;
		while (c->in.len < want)
			if (client_fill(c) <= 0)
				return -1;
		if (hoop_pg_buf_reserve(&c->body, (size_t)want + 1) != HOOP_OK)
			return -1;
		memcpy(c->body.data, c->in.data, (size_t)want);
		c->body.len = (size_t)want;
		hoop_pg_buf_consume(&c->in, (size_t)want);
		return 0;
	case HOOP_HTTPMSG_BODY_CHUNKED:
		while (!ch.done) {
			if (c->in.len == 0 && client_fill(c) <= 0)
				return -1;
			if (hoop_httpmsg_chunked_step(&ch, c->in.data,
			    c->in.len, &used, &d, &dl, why, sizeof(why)) !=
			    HOOP_OK)
				return -1;
			if (dl > 0) {
				if (c->body.len + dl > KUBEWRAP_MAX_REQUEST_BODY)
					return -2;
				if (hoop_pg_buf_reserve(&c->body, dl + 1) !=
				    HOOP_OK)
					return -1;
				memcpy(c->body.data + c->body.len, d, dl);
				c->body.len += dl;
			}
			hoop_pg_buf_consume(&c->in, used);
		}
		return 0;
	default:
		return 0;
	}
}

static int
authorized(struct conn *c)
{
	const char *v = hoop_httpmsg_header(c->req, "Authorization", NULL);

	return v != NULL && strncmp(v, "Bearer ", 7) == 0 &&
	    strlen(v + 7) == KUBEWRAP_OTP_HEX &&
	    CRYPTO_memcmp(v + 7, c->kw->otp, KUBEWRAP_OTP_HEX) == 0;
}

static int
impersonates(struct conn *c)
{
	const struct hoop_httpmsg_header *h;
	size_t i;

	for (i = 0; i < hoop_httpmsg_header_count(c->req); i++) {
		h = hoop_httpmsg_header_at(c->req, i);
		if (strncasecmp(h->name, "Impersonate-", 12) == 0)
			return 1;
	}
	return 0;
}

/* ---- Audit ---- */

static int
audit(struct conn *c, const struct hoop_kube_attrs *a, const char *decision,
    const char *rule, const char *reason, int status)
{
	struct kubewrap *kw = c->kw;
	struct hoop_audit_event ev = { 0 };
	const char *target = hoop_httpmsg_target(c->req);
	const char *q = strchr(target, '?');
	char action[HOOP_KUBE_MAX_PATH + 32], *detail = NULL;
	size_t plen;
	json_t *o;
	hoop_err_t err;

	plen = a != NULL ? strlen(a->path) : q != NULL ? (size_t)(q - target) :
	    strlen(target);
	if (plen > HOOP_KUBE_MAX_PATH)
		plen = HOOP_KUBE_MAX_PATH;
	snprintf(action, sizeof(action), "%s %.*s", hoop_httpmsg_method(c->req),
	    (int)plen, a != NULL ? a->path : target);
	o = json_pack("{s:s*,s:s*,s:s*,s:s*,s:s*,s:s*,s:s*,s:I,s:I,s:s*}",
	    "verb", a != NULL && a->resource_request ?
	    hoop_kube_verb_name(a->verb) : NULL,
	    "group", a != NULL && a->resource_request ? a->group : NULL,
	    "version", a != NULL && a->resource_request ? a->version : NULL,
	    "resource", a != NULL && a->resource_request ? a->resource : NULL,
	    "subresource", a != NULL && a->subresource[0] ? a->subresource :
	    NULL, "namespace", a != NULL && a->namespace[0] ? a->namespace :
	    NULL, "name", a != NULL && a->name[0] ? a->name : NULL,
	    "status", (json_int_t)status, "duration_ms",
	    (json_int_t)(hoop_mono_ms() - c->start_ms),
	    "approval", c->approval[0] ? c->approval : NULL);
	/* A decision made before the server answers has no status yet. */
	if (o != NULL && status < 0) {
		json_object_del(o, "status");
		json_object_del(o, "duration_ms");
	}
	/* A long query is cut, never left out: what it asks (dryRun,
	 * force, propagationPolicy...) may sit anywhere in it. */
	if (o != NULL && q != NULL && (json_object_set_new(o, "query",
	    json_stringn(q + 1, strnlen(q + 1, AUDIT_MAX_QUERY))) == -1 ||
	    (strlen(q + 1) > AUDIT_MAX_QUERY && json_object_set_new(o,
	    "query_truncated", json_true()) == -1))) {
		json_decref(o);
		o = NULL;
	}
	detail = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	ev.session_id = kw->session_id;
	ev.principal = kw->who.login;
	ev.identity = kw->who.identity->name;
	ev.target = kw->target->name;
	ev.kind = "kube";
	ev.action = action;
	ev.decision = decision;
	ev.rule = rule;
	ev.reason = reason;
	ev.detail = detail;
	pthread_mutex_lock(&kw->store_lock);
	err = detail != NULL ? hoop_audit_append(kw->store, &ev, NULL) :
	    HOOP_ERR_NOMEM;
	pthread_mutex_unlock(&kw->store_lock);
	free(detail);
	if (err != HOOP_OK) {
		hoop_log(LOG_ERR, "cannot write the audit log: %s",
		    hoop_strerror(err));
		return -1;
	}
	return 0;
}

/* A refusal: audited, then answered. */
static int
refuse(struct conn *c, const struct hoop_kube_attrs *a, int code,
    const char *rule, const char *message)
{
	if (audit(c, a, "deny", rule, message, code) == -1) {
		(void)send_status(c, 500, "hoop: the audit log cannot be "
		    "written: refusing");
		return -1;
	}
	return send_status(c, code, message);
}

/* ---- Approvals ---- */

/* What a once-approval covers: the method, the canonical path with the
 * query, and the body, by digest. */
static int
request_fingerprint(struct conn *c, const struct hoop_kube_attrs *a,
    char out[HOOP_APPROVAL_MAX_FINGERPRINT + 1])
{
	const char *q = strchr(hoop_httpmsg_target(c->req), '?');
	unsigned char md[32];
	char hex[65];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = -1;

	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a->method, strlen(a->method) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, a->path, strlen(a->path) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, q != NULL ? q : "", q != NULL ?
	    strlen(q) + 1 : 1) == 1 &&
	    EVP_DigestUpdate(ctx, c->body.data != NULL ? (void *)c->body.data :
	    (void *)"", c->body.len) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32) {
		hoop_hex_encode(md, 32, hex);
		snprintf(out, HOOP_APPROVAL_MAX_FINGERPRINT + 1, "kube:%s", hex);
		r = 0;
	}
	EVP_MD_CTX_free(ctx);
	return r;
}

/* The request as approvers see it: the request line and a body that is
 * printable text, capped. */
static char *
request_text(struct conn *c, const struct hoop_kube_attrs *a)
{
	const char *q = strchr(hoop_httpmsg_target(c->req), '?');
	size_t i, n = c->body.len > 8192 ? 8192 : c->body.len;
	char *s = NULL;
	int printable = 1;

	for (i = 0; i < n; i++)
		if ((c->body.data[i] < 0x20 && c->body.data[i] != '\n' &&
		    c->body.data[i] != '\t') || c->body.data[i] >= 0x7f)
			printable = 0;
	if (asprintf(&s, "%s %s%s%s%.*s%s", a->method, a->path,
	    q != NULL ? q : "", n > 0 ? "\n" : "", printable ? (int)n : 0,
	    c->body.data != NULL ? (const char *)c->body.data : "",
	    !printable ? "[binary body]" : n < c->body.len ? "..." : "") == -1)
		return NULL;
	return s;
}

static void
obtain_approval(struct conn *c, const struct hoop_kube_attrs *a,
    struct hoop_decision *d)
{
	struct kubewrap *kw = c->kw;
	char fp[HOOP_APPROVAL_MAX_FINGERPRINT + 1];
	struct hoop_approval_op op = { 0 };
	struct hoop_approval_result res;
	hoop_approval_t *svc = NULL;
	hoop_store_t *store = NULL;
	char *text = request_text(c, a);
	hoop_err_t err;

	d->action = HOOP_ACTION_DENY;
	memset(&res, 0, sizeof(res));
	/* A connection of its own: the wait may be long, and the other
	 * requests' audit events must not queue behind it. */
	if (text == NULL || request_fingerprint(c, a, fp) == -1 ||
	    hoop_store_open(hoop_config_store_path(kw->cfg), 0, &store) !=
	    HOOP_OK ||
	    hoop_approval_create(store, kw->cfg, &svc) != HOOP_OK) {
		hoop_why(d->reason, sizeof(d->reason), "needs approval, and "
		    "the approval service is not available");
		goto out;
	}
	op.session_id = kw->session_id;
	op.target = kw->target->name;
	op.request = text;
	op.fingerprint = fp;
	op.rule = d->rule;
	op.policy = d->policy;
	err = hoop_approval_obtain(svc, &kw->who, &op,
	    hoop_approval_wait_limit(kw->interactive), stderr, &res);
	if (err != HOOP_OK) {
		hoop_why(d->reason, sizeof(d->reason), "not approved (request "
		    "%s: %.160s)", res.id[0] ? res.id : "-", res.reason[0] ?
		    res.reason : hoop_approval_status_name(res.status));
		goto out;
	}
	d->action = HOOP_ACTION_ALLOW;
	snprintf(c->approval, sizeof(c->approval), "%s", res.id);
	hoop_why(d->reason, sizeof(d->reason), "approved (request %s, rule "
	    "%s)", res.id, d->rule->name);
out:
	hoop_approval_free(svc);
	hoop_store_close(store);
	free(text);
}

/* ---- The server's end ---- */

static ssize_t
up_fill(struct conn *c)
{
	ssize_t n;

	if (hoop_pg_buf_reserve(&c->uin, READ_CHUNK) != HOOP_OK)
		return -1;
	n = tls_read(&c->up, c->uin.data + c->uin.len, READ_CHUNK, -1);
	if (n > 0)
		c->uin.len += (size_t)n;
	return n;
}

static int
stream_subresource(const struct hoop_kube_attrs *a)
{
	return strcmp(a->subresource, "log") == 0 ||
	    strcmp(a->subresource, "exec") == 0 ||
	    strcmp(a->subresource, "attach") == 0 ||
	    strcmp(a->subresource, "portforward") == 0 ||
	    strcmp(a->subresource, "proxy") == 0;
}

/* The request for the server: canonical path, the target's credential,
 * hop-by-hop headers dropped, Accept negotiated down to JSON where hoop
 * reads the answer. */
static int
build_request(struct conn *c, const struct hoop_kube_attrs *a,
    const char *accept, struct hoop_pg_buf *out)
{
	const char *q = strchr(hoop_httpmsg_target(c->req), '?');
	const char *upgrade = hoop_httpmsg_header(c->req, "Upgrade", NULL);
	const struct hoop_httpmsg_header *h;
	size_t i;
	int r = 0;

#define PUT(...) do { \
	int _n = snprintf(NULL, 0, __VA_ARGS__); \
	if (_n < 0 || hoop_pg_buf_reserve(out, (size_t)_n + 1) != HOOP_OK) \
		return -1; \
	snprintf((char *)out->data + out->len, (size_t)_n + 1, __VA_ARGS__); \
	out->len += (size_t)_n; \
} while (0)
	PUT("%s %s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n",
	    a->method, a->path, q != NULL ? q : "", c->kw->host_header,
	    c->kw->token);
	for (i = 0; i < hoop_httpmsg_header_count(c->req); i++) {
		h = hoop_httpmsg_header_at(c->req, i);
		if (hoop_httpmsg_hop_by_hop(c->req, h->name) ||
		    strcasecmp(h->name, "Host") == 0 ||
		    strcasecmp(h->name, "Authorization") == 0 ||
		    strcasecmp(h->name, "Accept-Encoding") == 0 ||
		    strcasecmp(h->name, "Expect") == 0 ||
		    /* What was decided is the method as sent: nothing
		     * upstream may read another from a header. */
		    strncasecmp(h->name, "X-HTTP-Method", 13) == 0 ||
		    strcasecmp(h->name, "X-Method-Override") == 0 ||
		    (accept != NULL && strcasecmp(h->name, "Accept") == 0))
			continue;
		PUT("%s: %s\r\n", h->name, h->value);
	}
	if (accept != NULL)
		PUT("Accept: %s\r\n", accept);
	if (hoop_httpmsg_body(c->req) != HOOP_HTTPMSG_BODY_NONE)
		PUT("Content-Length: %zu\r\n", c->body.len);
	if (a->upgrade && upgrade != NULL)
		PUT("Connection: Upgrade\r\nUpgrade: %s\r\n", upgrade);
	PUT("\r\n");
#undef PUT
	if (c->body.len > 0) {
		if (hoop_pg_buf_reserve(out, c->body.len) != HOOP_OK)
			return -1;
		memcpy(out->data + out->len, c->body.data, c->body.len);
		out->len += c->body.len;
	}
	return r;
}

/* Sends the request and reads the answer's head; a kept-alive connection
 * the server closed meanwhile is opened again once. A POST or PATCH the
 * server may have read before it closed is not sent again: it would run
 * twice. 0, or -1 with why. */
static int
exchange(struct conn *c, const struct hoop_pg_buf *reqbuf, int head_request,
    char *why, size_t whylen)
{
	const char *method = hoop_httpmsg_method(c->req);
	int once = strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0;
	size_t hl;
	ssize_t n;
	int attempt, reused;
	hoop_err_t err;

	/* A kept-alive connection with something to read (the server's
	 * close, most likely) is not used again: a request is sent where it
	 * is read. */
	if (c->up.fd != -1) {
		struct pollfd p = { .fd = c->up.fd, .events = POLLIN };

		if (SSL_pending(c->up.ssl) > 0 || poll(&p, 1, 0) != 0)
			tls_close(&c->up);
	}
	for (attempt = 0; attempt < 2; attempt++) {
		reused = c->up.fd != -1;
		if (!reused && upstream_connect(c->kw, &c->up, why, whylen) ==
		    -1)
			return -1;
		hoop_pg_buf_wipe(&c->uin);
		c->pending = 0;
		if (tls_write_all(&c->up, reqbuf->data, reqbuf->len) ==
		    -1) {
			tls_close(&c->up);
			if (reused)
				continue;
			hoop_why(why, whylen, "the API server closed the "
			    "connection");
			return -1;
		}
		for (;;) {
			err = hoop_httpmsg_parse(c->resp, HOOP_HTTPMSG_RESPONSE,
			    head_request, c->uin.data, c->uin.len, &hl, why,
			    whylen);
			if (err != HOOP_OK) {
				tls_close(&c->up);
				return -1;
			}
			if (hl > 0 && hoop_httpmsg_status(c->resp) < 200 &&
			    hoop_httpmsg_status(c->resp) != 101) {
				/* Interim answers (100, 103) are not kubectl's
				 * business: the final one follows. */
				hoop_pg_buf_consume(&c->uin, hl);
				continue;
			}
			if (hl > 0) {
				c->pending = hl;
				return 0;
			}
			if ((n = up_fill(c)) <= 0) {
				tls_close(&c->up);
				if (reused && c->uin.len == 0 && !once)
					break;	/* try once more */
				hoop_why(why, whylen, "the API server closed "
				    "the connection");
				return -1;
			}
		}
	}
	hoop_why(why, whylen, "the API server closed the connection");
	return -1;
}

/* The next stretch of the response's body: 1 with *p, *n (valid until
 * the next call), 0 at its end, -1 on failure. */
static int
body_next(struct conn *c, const unsigned char **p, size_t *n)
{
	const void *d;
	size_t used, dl;
	char why[128];

	for (;;) {
		if (c->pending > 0) {
			hoop_pg_buf_consume(&c->uin, c->pending);
			c->pending = 0;
		}
		switch (c->framing) {
		case HOOP_HTTPMSG_BODY_NONE:
		case HOOP_HTTPMSG_BODY_UPGRADE:
			return 0;
		case HOOP_HTTPMSG_BODY_LENGTH:
			if (c->left == 0)
				return 0;
			if (c->uin.len > 0) {
				*p = c->uin.data;
				*n = c->uin.len < c->left ? c->uin.len :
				    (size_t)c->left;
				c->left -= *n;
				c->pending = *n;
				return 1;
			}
			break;
		case HOOP_HTTPMSG_BODY_CLOSE:
			if (c->uin.len > 0) {
				*p = c->uin.data;
				*n = c->uin.len;
				c->pending = *n;
				return 1;
			}
			break;
		case HOOP_HTTPMSG_BODY_CHUNKED:
			if (c->chunked.done)
				return 0;
			if (c->uin.len > 0) {
				if (hoop_httpmsg_chunked_step(&c->chunked,
				    c->uin.data, c->uin.len, &used, &d, &dl,
				    why, sizeof(why)) != HOOP_OK)
					return -1;
				c->pending = used;
				if (dl > 0) {
					*p = d;
					*n = dl;
					return 1;
				}
				if (used > 0)
					continue;
			}
			break;
		}
		switch (up_fill(c)) {
		case 0:
			return c->framing == HOOP_HTTPMSG_BODY_CLOSE ? 0 : -1;
		case -1:
			return -1;
		default:
			break;
		}
	}
}

/* The response head for kubectl: the server's headers without framing
 * and hop-by-hop ones, then hoop's framing. */
static int
send_head(struct conn *c, const char *framing)
{
	const struct hoop_httpmsg_header *h;
	struct hoop_pg_buf b = { 0 };
	size_t i;
	int r = -1, s = hoop_httpmsg_status(c->resp);

#define PUT(...) do { \
	int _n = snprintf(NULL, 0, __VA_ARGS__); \
	if (_n < 0 || hoop_pg_buf_reserve(&b, (size_t)_n + 1) != HOOP_OK) \
		goto out; \
	snprintf((char *)b.data + b.len, (size_t)_n + 1, __VA_ARGS__); \
	b.len += (size_t)_n; \
} while (0)
	PUT("HTTP/1.1 %d %s\r\n", s, s == 101 ? "Switching Protocols" : "-");
	for (i = 0; i < hoop_httpmsg_header_count(c->resp); i++) {
		h = hoop_httpmsg_header_at(c->resp, i);
		if (s != 101 && hoop_httpmsg_hop_by_hop(c->resp, h->name))
			continue;
		if (strcasecmp(h->name, "Content-Length") == 0)
			continue;
		PUT("%s: %s\r\n", h->name, h->value);
	}
	PUT("%s\r\n", framing);
#undef PUT
	r = client_write(c, b.data, b.len);
out:
	hoop_pg_buf_free(&b);
	return r;
}

/* Passes the body on as it comes, as chunks (or with the server's
 * length). */
static int
forward_pass(struct conn *c)
{
	const unsigned char *p;
	size_t n;
	int r, chunked = c->framing != HOOP_HTTPMSG_BODY_LENGTH;
	char cl[48];

	if (c->framing == HOOP_HTTPMSG_BODY_NONE)
		return send_head(c, "");
	if (chunked)
		r = send_head(c, "Transfer-Encoding: chunked\r\n");
	else {
		snprintf(cl, sizeof(cl), "Content-Length: %llu\r\n",
		    (unsigned long long)c->left);
		r = send_head(c, cl);
	}
	if (r == -1)
		return -1;
	while ((r = body_next(c, &p, &n)) == 1)
		if ((chunked ? chunk_write(c, p, n) : client_write(c, p, n))
		    == -1)
			return -1;
	if (r == -1)
		return -1;
	return chunked ? client_write(c, "0\r\n\r\n", 5) : 0;
}

/* A JSON body (one document, or a watch's events), masked as it
 * streams. Until the first bytes go out, a failure is answered with a
 * Status; after, the stream is cut (kubectl reports it). */
static int
forward_json(struct conn *c, enum kubewrap_mask_mode mm, int many)
{
	struct kubewrap_jstream *js = NULL;
	const unsigned char *p, *o;
	size_t n, on;
	int r, sent = 0;

	if (kubewrap_jstream_create(c->kw, mm, many, &js) != HOOP_OK)
		return -1;
	while ((r = body_next(c, &p, &n)) == 1) {
		if (kubewrap_jstream_feed(js, p, n, &o, &on) == -1)
			goto refuse;
		if (on == 0)
			continue;
		if ((!sent && send_head(c, "Transfer-Encoding: chunked\r\n") ==
		    -1) || chunk_write(c, o, on) == -1)
			goto fail;
		sent = 1;
	}
	if (r == -1 || kubewrap_jstream_end(js, &o, &on) == -1)
		goto refuse;
	if ((!sent && send_head(c, "Transfer-Encoding: chunked\r\n") == -1) ||
	    chunk_write(c, o, on) == -1 || client_write(c, "0\r\n\r\n", 5) ==
	    -1)
		goto fail;
	kubewrap_jstream_free(js);
	return 0;
refuse:
	if (!sent)
		(void)send_status(c, 502, r == -1 ? "hoop: the API server's "
		    "answer broke off" : "hoop: the response cannot be read "
		    "to be masked: refused");
fail:
	kubewrap_jstream_free(js);
	tls_close(&c->up);
	return -1;
}

/* One log line, masked, as a chunk. */
static int
forward_line(struct conn *c, const char *line, size_t len, int newline)
{
	char *out = NULL;
	size_t outlen = 0;
	int r;

	if (len == 0)
		return newline ? chunk_write(c, "\n", 1) : 0;
	if (kubewrap_mask_text(c->kw, line, len, &out, &outlen) == -1) {
		out = strdup(HOOP_MASK_REDACTED);
		outlen = strlen(HOOP_MASK_REDACTED);
		if (out == NULL)
			return -1;
	}
	if (out != NULL && newline) {
		char *o2 = realloc(out, outlen + 1);

		if (o2 == NULL) {
			free(out);
			return -1;
		}
		out = o2;
		out[outlen++] = '\n';
	}
	r = out != NULL ? chunk_write(c, out, outlen) :
	    chunk_write(c, line, len + (newline ? 1 : 0));
	free(out);
	return r;
}

/* Logs under patterns, line by line as they come (a longer line than
 * KUBEWRAP_MAX_LOG_LINE is masked in pieces). */
static int
forward_lines(struct conn *c)
{
	struct hoop_pg_buf line = { 0 };
	const unsigned char *p, *nl;
	size_t n, take;
	int r;

	if ((r = send_head(c, "Transfer-Encoding: chunked\r\n")) == -1)
		return -1;
	while ((r = body_next(c, &p, &n)) == 1) {
		while (n > 0) {
			nl = memchr(p, '\n', n);
			take = nl != NULL ? (size_t)(nl - p) : n;
			if (line.len + take > KUBEWRAP_MAX_LOG_LINE) {
				if (forward_line(c, (char *)line.data,
				    line.len, 0) == -1)
					goto fail;
				hoop_pg_buf_wipe(&line);
			}
			if (hoop_pg_buf_reserve(&line, take + 1) != HOOP_OK)
				goto fail;
			memcpy(line.data + line.len, p, take);
			line.len += take;
			if (nl == NULL)
				break;
			if (forward_line(c, (char *)line.data, line.len, 1) ==
			    -1)
				goto fail;
			hoop_pg_buf_wipe(&line);
			p += take + 1;
			n -= take + 1;
		}
	}
	if (r == -1 || forward_line(c, (char *)line.data, line.len, 0) == -1)
		goto fail;
	hoop_pg_buf_free(&line);
	return client_write(c, "0\r\n\r\n", 5);
fail:
	hoop_pg_buf_free(&line);
	tls_close(&c->up);
	return -1;
}

/* After 101: bytes both ways until either end closes. */
static void
relay(struct conn *c)
{
	struct pollfd p[2];
	unsigned char buf[READ_CHUNK];
	ssize_t n;

	if (c->pending > 0)
		hoop_pg_buf_consume(&c->uin, c->pending);
	c->pending = 0;
	if ((c->uin.len > 0 && client_write(c, c->uin.data, c->uin.len) ==
	    -1) || (c->in.len > 0 && tls_write_all(&c->up, c->in.data,
	    c->in.len) == -1))
		return;
	hoop_pg_buf_wipe(&c->uin);
	hoop_pg_buf_wipe(&c->in);
	for (;;) {
		p[0].fd = c->cl.fd;
		p[0].events = POLLIN;
		p[1].fd = c->up.fd;
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if (SSL_pending(c->up.ssl) == 0 && SSL_pending(c->cl.ssl) == 0 &&
		    poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents || SSL_pending(c->cl.ssl) > 0) {
			while ((n = tls_read(&c->cl, buf, sizeof(buf), 0)) > 0)
				if (tls_write_all(&c->up, buf, (size_t)n) == -1)
					return;
			if (n == 0 || n == -1)
				return;
		}
		if (p[1].revents || SSL_pending(c->up.ssl) > 0) {
			while ((n = tls_read(&c->up, buf, sizeof(buf), 0)) > 0)
				if (client_write(c, buf, (size_t)n) == -1)
					return;
			if (n == 0 || n == -1)
				return;
		}
	}
}

static int
json_content(const char *ct)
{
	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* One request: 0 to go on with the connection, -1 to close it. */
static int
handle(struct conn *c)
{
	struct kubewrap *kw = c->kw;
	struct hoop_kube_attrs a;
	struct hoop_decision d;
	struct hoop_pg_buf reqbuf = { 0 };
	const char *method = hoop_httpmsg_method(c->req);
	const char *target = hoop_httpmsg_target(c->req), *ct, *ce;
	char why[512], msg[1024], accept[HOOP_KUBE_MAX_ACCEPT + 1];
	enum kubewrap_mask_mode mm;
	enum mode mode;
	unsigned aflags = 0;
	int r, status, rewrite;

	c->start_ms = hoop_mono_ms();
	c->approval[0] = '\0';
	if (!authorized(c)) {
		(void)send_status(c, 401, "hoop: Unauthorized");
		return -1;
	}
	if ((r = read_request_body(c)) != 0) {
		if (r == -2)
			(void)send_status(c, 413, "hoop: request body too "
			    "large");
		return -1;
	}
	if (hoop_kube_attributes(method, target, strlen(target),
	    hoop_httpmsg_upgrade(c->req), &a, why, sizeof(why)) != HOOP_OK) {
		snprintf(msg, sizeof(msg), "hoop: request refused: %s", why);
		return refuse(c, NULL, 400, NULL, msg);
	}
	if (impersonates(c))
		return refuse(c, &a, 403, NULL, "hoop: impersonation is not "
		    "allowed");
	pthread_mutex_lock(&kw->store_lock);
	hoop_kube_decide(kw->cfg, &kw->who, kw->target->name, &a, &d);
	pthread_mutex_unlock(&kw->store_lock);
	if (d.action == HOOP_ACTION_APPROVE)
		obtain_approval(c, &a, &d);
	if (d.action != HOOP_ACTION_ALLOW) {
		hoop_kube_message(&a, &d, msg, sizeof(msg));
		return refuse(c, &a, 403, d.rule != NULL ? d.rule->name : NULL,
		    msg);
	}

	rewrite = a.resource_request && !stream_subresource(&a);
	if (rewrite && hoop_kube_accept_json(hoop_httpmsg_header(c->req,
	    "Accept", NULL), accept, sizeof(accept), &aflags) != HOOP_OK) {
		return refuse(c, &a, 400, NULL, "hoop: malformed Accept "
		    "header");
	}
	/* The decision is on record before the request can reach the
	 * server; what the server answered follows in a second event. */
	if (audit(c, &a, "allow", d.rule != NULL ? d.rule->name : NULL,
	    d.reason, -1) == -1) {
		(void)send_status(c, 500, "hoop: the audit log cannot be "
		    "written: refusing");
		return -1;
	}
	if (build_request(c, &a, rewrite ? accept : NULL, &reqbuf) == -1 ||
	    exchange(c, &reqbuf, strcmp(method, "HEAD") == 0, why,
	    sizeof(why)) == -1) {
		hoop_pg_buf_free(&reqbuf);
		snprintf(msg, sizeof(msg), "hoop: %s", why[0] ? why :
		    "cannot reach the API server");
		(void)audit(c, &a, "error", d.rule != NULL ? d.rule->name :
		    NULL, msg, 503);
		(void)send_status(c, 503, msg);
		return -1;
	}
	hoop_pg_buf_free(&reqbuf);	/* wiped: it held the credential */
	status = hoop_httpmsg_status(c->resp);
	c->framing = hoop_httpmsg_body(c->resp);
	c->left = hoop_httpmsg_content_length(c->resp);
	memset(&c->chunked, 0, sizeof(c->chunked));
	if (audit(c, &a, "info", d.rule != NULL ? d.rule->name : NULL,
	    "answered", status) == -1) {
		tls_close(&c->up);
		(void)send_status(c, 500, "hoop: the audit log cannot be "
		    "written: refusing");
		return -1;
	}

	if (c->framing == HOOP_HTTPMSG_BODY_UPGRADE) {
		if (!a.upgrade || send_head(c, "") == -1) {
			tls_close(&c->up);
			return -1;
		}
		relay(c);
		tls_close(&c->up);
		return -1;
	}
	ct = hoop_httpmsg_header(c->resp, "Content-Type", NULL);
	ce = hoop_httpmsg_header(c->resp, "Content-Encoding", NULL);
	mm = !a.resource_request || a.group[0] != '\0' ? KUBEWRAP_MASK_NONE :
	    strcmp(a.resource, "secrets") == 0 ? KUBEWRAP_MASK_SECRETS :
	    strcmp(a.resource, "configmaps") == 0 ? KUBEWRAP_MASK_CONFIGMAPS :
	    KUBEWRAP_MASK_NONE;
	if (!a.resource_request || (stream_subresource(&a) &&
	    strcmp(a.subresource, "log") != 0))
		mode = MODE_PASS;
	else if (strcmp(a.subresource, "log") == 0)
		mode = kw->mask != NULL ? MODE_LINES : MODE_PASS;
	else if (c->framing == HOOP_HTTPMSG_BODY_NONE)
		mode = MODE_PASS;
	else if (!json_content(ct) || (ce != NULL &&
	    strcasecmp(ce, "identity") != 0)) {
		tls_close(&c->up);
		return send_status(c, 502, "hoop: the API server answered in "
		    "a form hoop cannot mask: refused") == -1 ? -1 : 0;
	} else
		mode = a.verb == HOOP_KUBE_WATCH ? MODE_EVENTS : MODE_WHOLE;

	switch (mode) {
	case MODE_WHOLE:
	case MODE_EVENTS:
		r = forward_json(c, mm, mode == MODE_EVENTS);
		break;
	case MODE_LINES:
		r = forward_lines(c);
		break;
	default:
		r = forward_pass(c);
		break;
	}
	if (!hoop_httpmsg_keep_alive(c->resp))
		tls_close(&c->up);
	return r;
}

void
kubewrap_serve(struct kubewrap *kw, int fd)
{
	struct conn c = { 0 };
	int r;

	c.kw = kw;
	c.cl.fd = fd;
	c.up.fd = -1;
	if (tls_accept(kw, fd, &c.cl) == -1)
		goto out;	/* tls_close below closes fd */
	if (hoop_httpmsg_create(&c.req) != HOOP_OK ||
	    hoop_httpmsg_create(&c.resp) != HOOP_OK)
		goto out;
	while ((r = read_request(&c)) == 1) {
		if (handle(&c) == -1 || !hoop_httpmsg_keep_alive(c.req))
			break;
	}
out:
	if (c.up.fd != -1)
		tls_close(&c.up);
	if (c.cl.fd != -1)
		tls_close(&c.cl);
	hoop_pg_buf_free(&c.in);
	hoop_pg_buf_free(&c.body);
	hoop_pg_buf_free(&c.uin);
	hoop_httpmsg_free(c.req);
	hoop_httpmsg_free(c.resp);
}
