/* Kubernetes API request attributes, policy decisions and Status objects
 * (hoop_kube.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hoop_kube.h"
#include "hoop_util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define V_GET		HOOP_KUBE_GET
#define V_LIST		HOOP_KUBE_LIST
#define V_WATCH		HOOP_KUBE_WATCH
#define V_CREATE	HOOP_KUBE_CREATE
#define V_UPDATE	HOOP_KUBE_UPDATE
#define V_PATCH		HOOP_KUBE_PATCH
#define V_DELETE	HOOP_KUBE_DELETE
#define V_DELETECOLL	HOOP_KUBE_DELETECOLLECTION

/* Verbs that act on a whole collection, reaching every object in it. */
#define V_COLLECTION	(V_LIST | V_WATCH | V_DELETECOLL)

/* Longest decoded selector value read here. */
#define MAX_SELECTOR	HOOP_KUBE_MAX_PATH

/* Bytes that are not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static int
span_is(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Go's string order: bytewise, a prefix first. */
static int
span_cmp(struct span x, struct span y)
{
	int c = memcmp(x.p, y.p, x.n < y.n ? x.n : y.n);

	if (c != 0)
		return c;
	return x.n < y.n ? -1 : x.n > y.n;
}

static void
span_copy(char *dst, size_t cap, struct span s)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/* Splits s at its first c: 0 if there is none. */
static int
split_at(struct span s, char c, struct span *left, struct span *right)
{
	const char *at = s.n > 0 ? memchr(s.p, c, s.n) : NULL;

	if (at == NULL)
		return 0;
	left->p = s.p;
	left->n = (size_t)(at - s.p);
	right->p = at + 1;
	right->n = s.n - left->n - 1;
	return 1;
}

/* The byte "%XX" at p (left bytes from p on) stands for; -1 if it is not
 * an escape. */
static int
pct_byte(const char *p, size_t left)
{
	int v = 0, i, d;

	if (left < 3)
		return -1;
	for (i = 1; i <= 2; i++) {
		d = (unsigned char)p[i];
		if (d >= '0' && d <= '9')
			d -= '0';
		else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f')
			d = (d | 0x20) - 'a' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static int
lower_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* What a path segment may hold once decoded: letters, digits and marks
 * that mean nothing special to a URI path, a query or the apiserver. */
static int
segment_char(unsigned char c)
{
	return lower_digit(c) || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("-._~:@+=,", c) != NULL);
}

/* What a query may hold raw (RFC 3986 query characters, less ';', which
 * Go's query parser treats as an error and drops the pair for). */
static int
query_char(unsigned char c)
{
	return lower_digit(c) || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("-._~!$&'()*+,=:@/?%", c) != NULL);
}

/* Versions, resources, subresources: [a-z0-9-], 1 to 63 bytes. */
static int
label_ok(struct span s)
{
	size_t i;

	if (s.n == 0 || s.n > HOOP_KUBE_MAX_LABEL)
		return 0;
	for (i = 0; i < s.n; i++)
		if (!lower_digit((unsigned char)s.p[i]) && s.p[i] != '-')
			return 0;
	return 1;
}

/* A namespace is a DNS label: no '-' at either end. */
static int
namespace_ok(struct span s)
{
	return label_ok(s) && s.p[0] != '-' && s.p[s.n - 1] != '-';
}

static int
group_ok(struct span s)
{
	size_t i;

	if (s.n == 0 || s.n > HOOP_KUBE_MAX_NAME)
		return 0;
	for (i = 0; i < s.n; i++)
		if (!lower_digit((unsigned char)s.p[i]) && s.p[i] != '-' &&
		    s.p[i] != '.')
			return 0;
	return 1;
}

static int
name_ok(struct span s)
{
	size_t i;

	if (s.n == 0 || s.n > HOOP_KUBE_MAX_NAME || span_is(s, ".") ||
	    span_is(s, ".."))
		return 0;
	for (i = 0; i < s.n; i++)
		if (!segment_char((unsigned char)s.p[i]))
			return 0;
	return 1;
}

/* The parts of a resource path, each with its shape. */
enum part {
	P_GROUP, P_VERSION, P_NAMESPACE, P_RESOURCE, P_NAME, P_SUBRESOURCE
};

static const struct {
	const char *what;
	int (*valid)(struct span);
} part_shape[] = {
	[P_GROUP] = { "API group ([a-z0-9.-], at most 253 bytes)", group_ok },
	[P_VERSION] = { "API version ([a-z0-9-], at most 63 bytes)",
	    label_ok },
	[P_NAMESPACE] = { "namespace (a DNS label: [a-z0-9-], at most 63 "
	    "bytes)", namespace_ok },
	[P_RESOURCE] = { "resource ([a-z0-9-], at most 63 bytes)", label_ok },
	[P_NAME] = { "name (letters, digits and \"-._~:@+=,\", at most 253 "
	    "bytes)", name_ok },
	[P_SUBRESOURCE] = { "subresource ([a-z0-9-], at most 63 bytes)",
	    label_ok },
};

/* Copies part s into dst if it has the shape its place needs. */
static int
take(char *dst, size_t cap, struct span s, enum part kind, char *why,
    size_t whylen)
{
	if (!part_shape[kind].valid(s)) {
		hoop_why(why, whylen, "an invalid %s", part_shape[kind].what);
		return -1;
	}
	span_copy(dst, cap, s);
	return 0;
}

static unsigned
method_verb(const char *m)
{
	static const struct {
		const char *method;
		unsigned verb;
	} map[] = {
		{ "GET", V_GET }, { "HEAD", V_GET }, { "POST", V_CREATE },
		{ "PUT", V_UPDATE }, { "PATCH", V_PATCH },
		{ "DELETE", V_DELETE },
	};
	size_t i;

	for (i = 0; i < NELEM(map); i++)
		if (strcmp(m, map[i].method) == 0)
			return map[i].verb;
	return 0;
}

const char *
hoop_kube_verb_name(unsigned verb)
{
	static const char *const names[] = {
		"get", "list", "watch", "create", "update", "patch", "delete",
		"deletecollection",
	};
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		if (verb == 1u << i)
			return names[i];
	return NULL;
}

/*
 * Decodes the raw path into out (NUL-terminated; never longer than the
 * raw path). The apiserver decodes every escape; whatever would make the
 * decoded path mean something its bytes do not show is refused.
 */
static hoop_err_t
decode_path(const char *raw, size_t n, char *out, char *why, size_t whylen)
{
	size_t i, o = 0;
	unsigned char c;
	int v;

	for (i = 0; i < n; i++) {
		c = (unsigned char)raw[i];
		if (c == '%') {
			if ((v = pct_byte(raw + i, n - i)) < 0) {
				hoop_why(why, whylen, "a malformed percent "
				    "escape in the path");
				return HOOP_ERR_INVAL;
			}
			c = (unsigned char)v;
			i += 2;
			if (c == '/' || c == '.' || c == '%') {
				hoop_why(why, whylen, "an encoded %s (%%%02X) in "
				    "the path", c == '/' ? "slash" : c == '.' ?
				    "dot" : "percent sign", c);
				return HOOP_ERR_INVAL;
			}
			if (!segment_char(c)) {
				hoop_why(why, whylen, "an encoded byte 0x%02x "
				    "in the path", c);
				return HOOP_ERR_INVAL;
			}
		} else if (c != '/' && !segment_char(c)) {
			hoop_why(why, whylen, "byte 0x%02x in the path", c);
			return HOOP_ERR_INVAL;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return HOOP_OK;
}

/* Splits the decoded path into its segments; every one must be
 * there and mean only itself. */
static hoop_err_t
split_path(const char *path, struct span *seg, size_t *nseg, char *why,
    size_t whylen)
{
	const char *p = path + 1, *slash;
	struct span s;
	size_t n = 0;

	*nseg = 0;
	if (path[0] != '/') {
		hoop_why(why, whylen, "the path does not start with '/'");
		return HOOP_ERR_INVAL;
	}
	if (*p == '\0')
		return HOOP_OK;
	for (;;) {
		slash = strchr(p, '/');
		s.p = p;
		s.n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (s.n == 0) {
			hoop_why(why, whylen, "an empty path segment ('//' or "
			    "a trailing '/')");
			return HOOP_ERR_INVAL;
		}
		if (span_is(s, ".") || span_is(s, "..")) {
			hoop_why(why, whylen, "a dot segment ('%s') in the "
			    "path", s.n == 1 ? "." : "..");
			return HOOP_ERR_INVAL;
		}
		if (n == HOOP_KUBE_MAX_SEGMENTS) {
			hoop_why(why, whylen, "more than %d path segments",
			    HOOP_KUBE_MAX_SEGMENTS);
			return HOOP_ERR_TOOBIG;
		}
		seg[n++] = s;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	*nseg = n;
	return HOOP_OK;
}

/*
 * Decodes one query component as Go's QueryUnescape does ('+' is a
 * space). Writes at most cap bytes to out (NULL: none), returns the
 * decoded length, or -1 for a bad escape. *ctl is set if a decoded byte
 * is a control byte (NUL included) or not ASCII.
 */
static long
query_unescape(struct span s, char *out, size_t cap, int *ctl)
{
	size_t i, o = 0;
	unsigned char c;
	int v;

	*ctl = 0;
	for (i = 0; i < s.n; i++) {
		c = (unsigned char)s.p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if ((v = pct_byte(s.p + i, s.n - i)) < 0)
				return -1;
			c = (unsigned char)v;
			i += 2;
		}
		if (c < 0x20 || c >= 0x7f)
			*ctl = 1;
		if (out != NULL && o < cap)
			out[o] = (char)c;
		o++;
	}
	return (long)o;
}

/* Convert_Slice_string_To_bool: "0" and "false" (any case) are false,
 * anything else, the empty string included, is true. */
static int
query_bool(struct span v, hoop_err_t *err)
{
	char buf[8];
	long n;
	int ctl;

	if ((n = query_unescape(v, buf, sizeof(buf), &ctl)) < 0 || ctl) {
		*err = HOOP_ERR_INVAL;
		return 0;
	}
	if (n == 1 && buf[0] == '0')
		return 0;
	return !(n == 5 && strncasecmp(buf, "false", 5) == 0);
}

struct query {
	int watch, follow;		/* -1: not given */
	struct span field, label;	/* first value as sent; p NULL: none */
	int dry_run;
};

/* A repeated parameter must say the same thing each time: the apiserver
 * reads the first, and a proxy must never see another. */
static hoop_err_t
query_once_bool(int *slot, struct span v, const char *key, char *why,
    size_t whylen)
{
	hoop_err_t err = HOOP_OK;
	int b = query_bool(v, &err);

	if (err != HOOP_OK) {
		hoop_why(why, whylen, "a control or non-ASCII byte in the %s "
		    "parameter", key);
		return err;
	}
	if (*slot != -1 && *slot != b) {
		hoop_why(why, whylen, "%s parameters that disagree", key);
		return HOOP_ERR_INVAL;
	}
	*slot = b;
	return HOOP_OK;
}

static hoop_err_t
query_once_span(struct span *slot, struct span v, const char *key,
    char *why, size_t whylen)
{
	int ctl;

	if (query_unescape(v, NULL, 0, &ctl) > MAX_SELECTOR) {
		hoop_why(why, whylen, "the %s parameter is longer than %d "
		    "bytes", key, MAX_SELECTOR);
		return HOOP_ERR_TOOBIG;
	}
	if (ctl) {
		hoop_why(why, whylen, "a control or non-ASCII byte in the %s "
		    "parameter", key);
		return HOOP_ERR_INVAL;
	}
	if (slot->p != NULL && (slot->n != v.n ||
	    memcmp(slot->p, v.p, v.n) != 0)) {
		hoop_why(why, whylen, "%s parameters that disagree", key);
		return HOOP_ERR_INVAL;
	}
	*slot = v;
	return HOOP_OK;
}

/* Reads the query the way Go's url.ParseQuery does (pairs split on '&',
 * the key before the first '='), keeping what the proxy needs. */
static hoop_err_t
parse_query(struct span qs, struct query *q, char *why, size_t whylen)
{
	struct span piece, key, val;
	const char *end, *p = qs.p, *amp;
	char kbuf[16], vbuf[8];
	size_t i, count = 0;
	long kn, vn;
	int ctl, vctl;
	hoop_err_t err;

	memset(q, 0, sizeof(*q));
	q->watch = q->follow = -1;
	if (qs.p == NULL)
		return HOOP_OK;
	end = qs.p + qs.n;
	for (i = 0; i < qs.n; i++) {
		if (qs.p[i] == ';') {
			hoop_why(why, whylen, "a ';' in the query");
			return HOOP_ERR_INVAL;
		}
		if (!query_char((unsigned char)qs.p[i])) {
			hoop_why(why, whylen, "byte 0x%02x in the query",
			    (unsigned char)qs.p[i]);
			return HOOP_ERR_INVAL;
		}
	}
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		piece.p = p;
		piece.n = (size_t)((amp != NULL ? amp : end) - p);
		p = amp != NULL ? amp + 1 : end;
		if (piece.n == 0)
			continue;
		if (++count > HOOP_KUBE_MAX_PARAMS) {
			hoop_why(why, whylen, "more than %d query parameters",
			    HOOP_KUBE_MAX_PARAMS);
			return HOOP_ERR_TOOBIG;
		}
		if (!split_at(piece, '=', &key, &val)) {
			key = piece;
			val.p = piece.p + piece.n;
			val.n = 0;
		}
		kn = query_unescape(key, kbuf, sizeof(kbuf), &ctl);
		vn = query_unescape(val, NULL, 0, &vctl);
		if (kn < 0 || vn < 0) {
			hoop_why(why, whylen, "a malformed percent escape in "
			    "the query");
			return HOOP_ERR_INVAL;
		}
		if (ctl) {
			hoop_why(why, whylen, "a control or non-ASCII byte in "
			    "a query parameter's name");
			return HOOP_ERR_INVAL;
		}
		if ((size_t)kn >= sizeof(kbuf))
			continue;
		kbuf[kn] = '\0';
		err = HOOP_OK;
		if (strcmp(kbuf, "watch") == 0)
			err = query_once_bool(&q->watch, val, kbuf, why,
			    whylen);
		else if (strcmp(kbuf, "follow") == 0)
			err = query_once_bool(&q->follow, val, kbuf, why,
			    whylen);
		else if (strcmp(kbuf, "fieldSelector") == 0)
			err = query_once_span(&q->field, val, kbuf, why,
			    whylen);
		else if (strcmp(kbuf, "labelSelector") == 0)
			err = query_once_span(&q->label, val, kbuf, why,
			    whylen);
		else if (strcmp(kbuf, "dryRun") == 0 &&
		    query_unescape(val, vbuf, sizeof(vbuf), &ctl) == 3 &&
		    memcmp(vbuf, "All", 3) == 0)
			q->dry_run = 1;
		if (err != HOOP_OK)
			return err;
	}
	return HOOP_OK;
}

/*
 * A field selector term as the apiserver splits it: at the first place
 * where "!=", "==" or "=" starts (tried in that order). Returns the
 * operator's length, 0 if there is none; *op_at is where it starts.
 */
static size_t
term_operator(struct span t, size_t *op_at)
{
	size_t i;

	for (i = 0; i < t.n; i++) {
		*op_at = i;
		if (i + 1 < t.n && (t.p[i] == '!' || t.p[i] == '=') &&
		    t.p[i + 1] == '=')
			return 2;
		if (t.p[i] == '=')
			return 1;
	}
	return 0;
}

/* A field selector value: '\' escapes '\', ',' and '='; those two may
 * not stand unescaped. Writes the value (NULL: only checks); -1 if bad. */
static long
selector_unescape(struct span v, char *out, size_t cap)
{
	size_t i, o = 0;
	int in_slash = 0;
	char c;

	for (i = 0; i < v.n; i++) {
		c = v.p[i];
		if (in_slash) {
			if (c != '\\' && c != ',' && c != '=')
				return -1;
			in_slash = 0;
		} else if (c == '\\') {
			in_slash = 1;
			continue;
		} else if (c == ',' || c == '=') {
			return -1;
		}
		if (out != NULL && o < cap)
			out[o] = c;
		o++;
	}
	return in_slash ? -1 : (long)o;
}

/*
 * The name a list or watch is limited to by its field selector, as the
 * apiserver derives it (fields.ParseSelector, then RequiresExactMatch of
 * metadata.name): terms split at unescaped commas and sorted, each one
 * must parse or the selector gives no name at all, and the first
 * metadata.name term with = or == in sorted order gives its value.
 * An invalid path segment name gives no name (as there); a name hoop
 * cannot represent refuses the request. The apiserver also gives no name
 * when another list parameter (limit, a label selector) does not decode;
 * its list handler then answers 400, whatever was decided here.
 */
static hoop_err_t
selector_name(const char *fs, size_t n, struct hoop_kube_attrs *a,
    char *why, size_t whylen)
{
	struct span term, best = { NULL, 0 }, rhs, nm;
	size_t i, start = 0, op_at = 0, op_len;
	char value[HOOP_KUBE_MAX_NAME + 2];
	int in_slash = 0;
	long vn;

	for (i = 0; i <= n; i++) {
		if (i < n) {
			if (in_slash) {
				in_slash = 0;
				continue;
			}
			if (fs[i] == '\\') {
				in_slash = 1;
				continue;
			}
			if (fs[i] != ',')
				continue;
		}
		term.p = fs + start;
		term.n = i - start;
		start = i + 1;
		if (term.n == 0)
			continue;
		if ((op_len = term_operator(term, &op_at)) == 0)
			return HOOP_OK;
		rhs.p = term.p + op_at + op_len;
		rhs.n = term.n - op_at - op_len;
		if (selector_unescape(rhs, NULL, 0) < 0)
			return HOOP_OK;
		if (term.p[op_at] == '!' || op_at != strlen("metadata.name") ||
		    memcmp(term.p, "metadata.name", op_at) != 0)
			continue;
		if (best.p == NULL || span_cmp(term, best) < 0)
			best = term;
	}
	if (best.p == NULL)
		return HOOP_OK;
	op_len = term_operator(best, &op_at);
	rhs.p = best.p + op_at + op_len;
	rhs.n = best.n - op_at - op_len;
	vn = selector_unescape(rhs, value, sizeof(value));
	nm.p = value;
	nm.n = (size_t)vn < sizeof(value) ? (size_t)vn : sizeof(value);
	/* path.IsValidPathSegmentName: the apiserver ignores such a name. */
	if (vn == 0 || span_is(nm, ".") || span_is(nm, "..") ||
	    memchr(nm.p, '/', nm.n) != NULL || memchr(nm.p, '%', nm.n) != NULL)
		return HOOP_OK;
	if (!name_ok(nm)) {
		hoop_why(why, whylen, "the fieldSelector names an object hoop "
		    "cannot check (a name of 1 to %d letters, digits and "
		    "\"-._~:@+=,\")", HOOP_KUBE_MAX_NAME);
		return HOOP_ERR_INVAL;
	}
	span_copy(a->name, sizeof(a->name), nm);
	a->params |= HOOP_KUBE_P_NAME_FROM_SELECTOR;
	return HOOP_OK;
}

static int
discovery_path(const struct span *seg, size_t n)
{
	if (n == 0)
		return 0;
	if (span_is(seg[0], "api"))
		return n == 1 || (n == 2 && label_ok(seg[1]));
	if (span_is(seg[0], "apis"))
		return n == 1 || (n == 2 && group_ok(seg[1])) ||
		    (n == 3 && group_ok(seg[1]) && label_ok(seg[2]));
	if (n == 1)
		return span_is(seg[0], "version") ||
		    span_is(seg[0], "healthz") || span_is(seg[0], "livez") ||
		    span_is(seg[0], "readyz");
	if (span_is(seg[0], "openapi"))
		return (n == 2 && span_is(seg[1], "v2")) ||
		    span_is(seg[1], "v3");
	return 0;
}

static int
connect_subresource(const char *sub)
{
	return strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0 ||
	    strcmp(sub, "portforward") == 0;
}

/* The request's verb, resource, namespace, name and subresource from the
 * segments after the version (RequestInfoFactory's steps). */
static hoop_err_t
resource_parts(struct hoop_kube_attrs *a, struct span *parts, size_t n,
    unsigned verb, const struct query *q, char *why, size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	char fs[MAX_SELECTOR + 1];
	long fn;
	int ctl;

	if (span_is(parts[0], "proxy")) {
		hoop_why(why, whylen, "the legacy /proxy/ path prefix (use "
		    "the proxy subresource)");
		goto out;
	}
	if (span_is(parts[0], "watch")) {
		if (n < 2) {
			hoop_why(why, whylen, "a watch path prefix without a "
			    "resource");
			goto out;
		}
		if (verb != V_GET) {
			hoop_why(why, whylen, "a watch path prefix with method "
			    "%s", a->method);
			goto out;
		}
		a->legacy_watch = 1;
		verb = V_WATCH;
		parts++;
		n--;
	}
	if (span_is(parts[0], "namespaces") && n > 1) {
		if (take(a->namespace, sizeof(a->namespace), parts[1],
		    P_NAMESPACE, why, whylen) != 0)
			goto out;
		/* namespaces/NS/status and /finalize are the namespace's own
		 * subresources; anything else after NS is a resource in it. */
		if (n > 2 && !span_is(parts[2], "status") &&
		    !span_is(parts[2], "finalize")) {
			parts += 2;
			n -= 2;
			if (span_is(parts[0], "namespaces")) {
				hoop_why(why, whylen, "namespaces inside a "
				    "namespace");
				goto out;
			}
		}
	}
	if (take(a->resource, sizeof(a->resource), parts[0], P_RESOURCE, why,
	    whylen) != 0 || (n >= 2 && take(a->name, sizeof(a->name), parts[1],
	    P_NAME, why, whylen) != 0) || (n >= 3 && take(a->subresource,
	    sizeof(a->subresource), parts[2], P_SUBRESOURCE, why, whylen) != 0))
		goto out;
	if (n >= 3 && a->legacy_watch) {
		hoop_why(why, whylen, "a watch path prefix with a subresource");
		goto out;
	}
	if (n > 3) {
		/* Only a proxy passes the rest of the path on. */
		if (strcmp(a->subresource, "proxy") != 0) {
			hoop_why(why, whylen, "path segments after the %s "
			    "subresource", a->subresource);
			goto out;
		}
		a->proxy_rest = (size_t)(parts[3].p - 1 - a->path);
	}

	if (verb == V_GET && a->name[0] == '\0') {
		verb = q->watch == 1 ? V_WATCH : V_LIST;
		if (q->field.p != NULL) {
			fn = query_unescape(q->field, fs, sizeof(fs), &ctl);
			ret = selector_name(fs, (size_t)fn, a, why, whylen);
			if (ret != HOOP_OK)
				goto out;
			ret = HOOP_ERR_INVAL;
		}
	}
	if (verb == V_DELETE && a->name[0] == '\0')
		verb = V_DELETECOLL;
	/* Exec, attach and portforward run something: create, however the
	 * stream is asked for (GET for WebSocket, POST for SPDY). */
	if (connect_subresource(a->subresource)) {
		if (strcmp(a->method, "GET") != 0 &&
		    strcmp(a->method, "POST") != 0) {
			hoop_why(why, whylen, "%s with method %s",
			    a->subresource, a->method);
			goto out;
		}
		verb = V_CREATE;
	}
	if (a->upgrade && !connect_subresource(a->subresource) &&
	    strcmp(a->subresource, "proxy") != 0) {
		hoop_why(why, whylen, "a protocol upgrade on a request other "
		    "than exec, attach, portforward or proxy");
		goto out;
	}
	a->verb = verb;
	ret = HOOP_OK;
out:
	return ret;
}

hoop_err_t
hoop_kube_attributes(const char *method, const char *target, size_t len,
    int upgrade, struct hoop_kube_attrs *a, char *why, size_t whylen)
{
	struct span seg[HOOP_KUBE_MAX_SEGMENTS], qs = { NULL, 0 };
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *qmark;
	struct query q;
	size_t nseg, plen, first;
	unsigned verb;

	memset(a, 0, sizeof(*a));
	if (method == NULL || target == NULL) {
		hoop_why(why, whylen, "no method or request-target");
		goto out;
	}
	if ((verb = method_verb(method)) == 0) {
		hoop_why(why, whylen, "a method kube-apiserver does not serve "
		    "(GET, HEAD, POST, PUT, PATCH and DELETE only)");
		goto out;
	}
	snprintf(a->method, sizeof(a->method), "%s", method);
	a->upgrade = upgrade != 0;
	if (len > HOOP_KUBE_MAX_TARGET) {
		hoop_why(why, whylen, "the request-target is longer than %d "
		    "bytes", HOOP_KUBE_MAX_TARGET);
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if (memchr(target, '\0', len) != NULL) {
		hoop_why(why, whylen, "a NUL byte in the request-target");
		goto out;
	}
	if (len == 0 || target[0] != '/') {
		hoop_why(why, whylen, "the request-target is not a path");
		goto out;
	}
	qmark = memchr(target, '?', len);
	plen = qmark != NULL ? (size_t)(qmark - target) : len;
	if (qmark != NULL) {
		qs.p = qmark + 1;
		qs.n = len - plen - 1;
	}
	if (plen > HOOP_KUBE_MAX_PATH) {
		hoop_why(why, whylen, "the path is longer than %d bytes",
		    HOOP_KUBE_MAX_PATH);
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if ((ret = decode_path(target, plen, a->path, why, whylen)) !=
	    HOOP_OK ||
	    (ret = split_path(a->path, seg, &nseg, why, whylen)) != HOOP_OK ||
	    (ret = parse_query(qs, &q, why, whylen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	if (q.field.p != NULL)
		a->params |= HOOP_KUBE_P_FIELD_SELECTOR;
	if (q.label.p != NULL)
		a->params |= HOOP_KUBE_P_LABEL_SELECTOR;
	if (q.dry_run)
		a->params |= HOOP_KUBE_P_DRY_RUN;
	if (q.follow == 1)
		a->params |= HOOP_KUBE_P_FOLLOW;
	if (q.watch == 1)
		a->params |= HOOP_KUBE_P_WATCH;

	/* /api/VERSION/RESOURCE... and /apis/GROUP/VERSION/RESOURCE...;
	 * anything shorter or elsewhere is a non-resource request. */
	if (nseg < 3 || !(span_is(seg[0], "api") || span_is(seg[0], "apis")) ||
	    (span_is(seg[0], "apis") && nseg < 4)) {
		if (a->upgrade) {
			hoop_why(why, whylen, "a protocol upgrade on a "
			    "non-resource path");
			goto out;
		}
		a->discovery = verb == V_GET && discovery_path(seg, nseg);
		ret = HOOP_OK;
		goto out;
	}
	a->resource_request = 1;
	span_copy(a->api_prefix, sizeof(a->api_prefix), seg[0]);
	first = 1;
	if (span_is(seg[0], "apis")) {
		if (take(a->group, sizeof(a->group), seg[1], P_GROUP, why,
		    whylen) != 0)
			goto out;
		first = 2;
	}
	if (take(a->version, sizeof(a->version), seg[first], P_VERSION, why,
	    whylen) != 0)
		goto out;
	first++;
	ret = resource_parts(a, seg + first, nseg - first, verb, &q, why,
	    whylen);
out:
	if (ret != HOOP_OK)
		memset(a, 0, sizeof(*a));
	return ret;
}

/* Appends formatted text at *used; -1 if it does not fit. */
static int
put(char *buf, size_t len, size_t *used, const char *s)
{
	size_t n = strlen(s);

	if (n >= len - *used)
		return -1;
	memcpy(buf + *used, s, n + 1);
	*used += n;
	return 0;
}

hoop_err_t
hoop_kube_canonical_path(const struct hoop_kube_attrs *a, char *buf,
    size_t len)
{
	size_t used = 0;
	int bad = 0;

	if (len == 0)
		return HOOP_ERR_TOOBIG;
	buf[0] = '\0';
	if (!a->resource_request) {
		if (a->path[0] != '/')
			return HOOP_ERR_INVAL;
		return put(buf, len, &used, a->path) == 0 ? HOOP_OK :
		    HOOP_ERR_TOOBIG;
	}
	if (a->resource[0] == '\0' || a->version[0] == '\0' ||
	    (a->proxy_rest != 0 && (strcmp(a->subresource, "proxy") != 0 ||
	    a->proxy_rest >= strnlen(a->path, sizeof(a->path)))))
		return HOOP_ERR_INVAL;
	bad |= put(buf, len, &used, "/");
	bad |= put(buf, len, &used, a->api_prefix);
	if (a->group[0] != '\0') {
		bad |= put(buf, len, &used, "/");
		bad |= put(buf, len, &used, a->group);
	}
	bad |= put(buf, len, &used, "/");
	bad |= put(buf, len, &used, a->version);
	if (a->legacy_watch)
		bad |= put(buf, len, &used, "/watch");
	if (a->namespace[0] != '\0' && strcmp(a->resource, "namespaces") == 0) {
		/* The namespace itself: its name is the namespace. */
		if (strcmp(a->name, a->namespace) != 0)
			return HOOP_ERR_INVAL;
		bad |= put(buf, len, &used, "/namespaces/");
		bad |= put(buf, len, &used, a->namespace);
	} else {
		if (a->namespace[0] != '\0') {
			bad |= put(buf, len, &used, "/namespaces/");
			bad |= put(buf, len, &used, a->namespace);
		}
		bad |= put(buf, len, &used, "/");
		bad |= put(buf, len, &used, a->resource);
		if (a->name[0] != '\0' &&
		    !(a->params & HOOP_KUBE_P_NAME_FROM_SELECTOR)) {
			bad |= put(buf, len, &used, "/");
			bad |= put(buf, len, &used, a->name);
		}
	}
	if (a->subresource[0] != '\0') {
		bad |= put(buf, len, &used, "/");
		bad |= put(buf, len, &used, a->subresource);
	}
	if (a->proxy_rest != 0)
		bad |= put(buf, len, &used, a->path + a->proxy_rest);
	return bad ? HOOP_ERR_TOOBIG : HOOP_OK;
}

/* ---- decisions ---- */

static int
listed(const char *const *list, size_t n, const char *v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], v) == 0)
			return 1;
	return 0;
}

/* Rule resources "*", "res", "res/sub", "res/" + "*", "*" + "/sub"
 * (hoop_kube.h). */
static int
resource_matches(const char *rule, const char *res, const char *sub)
{
	const char *slash = strchr(rule, '/');
	size_t rlen;

	if (strcmp(rule, "*") == 0)
		return 1;
	if (slash == NULL)
		return sub[0] == '\0' && strcmp(rule, res) == 0;
	if (sub[0] == '\0')
		return 0;
	rlen = (size_t)(slash - rule);
	if (!(rlen == 1 && rule[0] == '*') &&
	    !(strlen(res) == rlen && memcmp(rule, res, rlen) == 0))
		return 0;
	return strcmp(slash + 1, "*") == 0 || strcmp(slash + 1, sub) == 0;
}

static int
match_resource(const struct hoop_rule *rule, void *arg)
{
	const struct hoop_kube_attrs *a = arg;
	const struct hoop_kube_match *m = &rule->match.kube;
	int restricts = rule->action != HOOP_ACTION_ALLOW;
	size_t i;
	int any = 0;

	if (!(m->verbs & a->verb))
		return 0;
	if (m->n_api_groups > 0 && !listed(m->api_groups, m->n_api_groups,
	    "*") && !listed(m->api_groups, m->n_api_groups, a->group))
		return 0;
	for (i = 0; i < m->n_resources && !any; i++)
		any = resource_matches(m->resources[i], a->resource,
		    a->subresource);
	if (!any)
		return 0;
	if (m->n_namespaces > 0) {
		if (a->namespace[0] == '\0') {
			/* Cluster scope: never inside a listed namespace,
			 * but a collection there spans all of them. */
			if (!restricts || !(a->verb & V_COLLECTION))
				return 0;
		} else if (!listed(m->namespaces, m->n_namespaces, "*") &&
		    !listed(m->namespaces, m->n_namespaces, a->namespace)) {
			return 0;
		}
	}
	if (m->n_names > 0) {
		if (a->name[0] == '\0') {
			/* Nothing named: it may reach any object. */
			if (!restricts)
				return 0;
		} else if (!listed(m->names, m->n_names, "*") &&
		    !listed(m->names, m->n_names, a->name)) {
			return 0;
		}
	}
	return 1;
}

/* A deny rule that covers everything covers discovery too. */
static int
match_discovery_deny(const struct hoop_rule *rule, void *arg)
{
	const struct hoop_kube_match *m = &rule->match.kube;

	(void)arg;
	return rule->action == HOOP_ACTION_DENY && (m->verbs & V_GET) &&
	    listed(m->resources, m->n_resources, "*") &&
	    m->n_namespaces == 0 && m->n_names == 0 &&
	    (m->n_api_groups == 0 ||
	    listed(m->api_groups, m->n_api_groups, "*"));
}

void
hoop_kube_decide(const hoop_config_t *cfg, const struct hoop_principal *p,
    const char *target, const struct hoop_kube_attrs *a,
    struct hoop_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->action = HOOP_ACTION_DENY;
	if (cfg == NULL || p == NULL || target == NULL || a == NULL) {
		hoop_why(d->reason, sizeof(d->reason), "nothing to decide on "
		    "(no configuration, principal, target or request)");
		return;
	}
	if (!a->resource_request) {
		if (!a->discovery || a->path[0] != '/') {
			hoop_why(d->reason, sizeof(d->reason), "no non-resource "
			    "path is allowed but discovery, version, OpenAPI "
			    "and health (GET)");
			return;
		}
		if (!hoop_policy_target_allowed(cfg, p, target)) {
			hoop_why(d->reason, sizeof(d->reason), "no policy "
			    "opens target %s", target);
			return;
		}
		hoop_policy_decide(cfg, p, target, HOOP_RULE_KUBE,
		    match_discovery_deny, NULL, d);
		if (d->rule != NULL)
			return;
		d->action = HOOP_ACTION_ALLOW;
		hoop_why(d->reason, sizeof(d->reason), "discovery is open to "
		    "every principal of the target");
		return;
	}
	if (hoop_kube_verb_name(a->verb) == NULL || a->resource[0] == '\0' ||
	    a->version[0] == '\0') {
		hoop_why(d->reason, sizeof(d->reason), "the request's "
		    "attributes are incomplete");
		return;
	}
	hoop_policy_decide(cfg, p, target, HOOP_RULE_KUBE, match_resource,
	    (void *)a, d);
}

void
hoop_kube_message(const struct hoop_kube_attrs *a,
    const struct hoop_decision *d, char *buf, size_t len)
{
	char what[HOOP_KUBE_MAX_PATH + 768], rule[160] = "";
	const char *verb = hoop_kube_verb_name(a->verb), *outcome;

	if (len == 0)
		return;
	outcome = d->action == HOOP_ACTION_ALLOW ? "is allowed" :
	    d->action == HOOP_ACTION_APPROVE ? "needs approval" : "is denied";
	if (d->rule != NULL && d->rule->name != NULL)
		snprintf(rule, sizeof(rule), "%.120s: ", d->rule->name);
	if (!a->resource_request || verb == NULL)
		snprintf(what, sizeof(what), "%s %s", a->method[0] != '\0' ?
		    a->method : "?", a->path[0] != '\0' ? a->path : "?");
	else
		snprintf(what, sizeof(what), "%s %s%s%s%s%s%s%s%s%s%s", verb,
		    a->resource, a->group[0] != '\0' ? "." : "", a->group,
		    a->subresource[0] != '\0' ? "/" : "", a->subresource,
		    a->name[0] != '\0' ? " \"" : "", a->name,
		    a->name[0] != '\0' ? "\"" : "",
		    a->namespace[0] != '\0' ? " in namespace " : "",
		    a->namespace);
	snprintf(buf, len, "hoop: %s%s %s: %s", rule, what, outcome,
	    d->reason[0] != '\0' ? d->reason : "no reason given");
}

/* ---- Status objects ---- */

static const char *
status_reason(int code)
{
	static const struct {
		int code;
		const char *reason;
	} map[] = {
		{ 400, "BadRequest" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "NotFound" },
		{ 405, "MethodNotAllowed" }, { 406, "NotAcceptable" },
		{ 409, "Conflict" }, { 410, "Expired" },
		{ 413, "RequestEntityTooLarge" },
		{ 415, "UnsupportedMediaType" }, { 422, "Invalid" },
		{ 429, "TooManyRequests" }, { 500, "InternalError" },
		{ 503, "ServiceUnavailable" }, { 504, "Timeout" },
	};
	size_t i;

	for (i = 0; i < NELEM(map); i++)
		if (map[i].code == code)
			return map[i].reason;
	return "";
}

/* Printable ASCII only: what kubectl prints is what hoop meant. */
static char *
printable_copy(const char *s)
{
	size_t i, n = strlen(s);
	char *c = malloc(n + 1);

	if (c == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		c[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	c[n] = '\0';
	return c;
}

hoop_err_t
hoop_kube_status_json(int code, const char *reason, const char *message,
    char **out, size_t *outlen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	char *msg = NULL, *rsn = NULL, *text = NULL;
	json_t *o = NULL;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (code < 100 || code > 599)
		goto out;
	ret = HOOP_ERR_NOMEM;
	if ((msg = printable_copy(message != NULL ? message : "")) == NULL ||
	    (rsn = printable_copy(reason != NULL ? reason :
	    status_reason(code))) == NULL)
		goto out;
	if ((o = json_pack("{s:s, s:s, s:{}, s:s, s:s}", "kind", "Status",
	    "apiVersion", "v1", "metadata", "status", "Failure", "message",
	    msg)) == NULL)
		goto out;
	if (rsn[0] != '\0' &&
	    json_object_set_new(o, "reason", json_string(rsn)) != 0)
		goto out;
	if (json_object_set_new(o, "code", json_integer(code)) != 0)
		goto out;
	if ((text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	if (outlen != NULL)
		*outlen = strlen(text);
	*out = text;
	text = NULL;
	ret = HOOP_OK;
out:
	free(text);
	free(msg);
	free(rsn);
	json_decref(o);
	return ret;
}

/* ---- Accept ---- */

static int
token_char(unsigned char c)
{
	return lower_digit(c) || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct span
trim(struct span s)
{
	while (s.n > 0 && ows(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && ows(s.p[s.n - 1]))
		s.n--;
	return s;
}

static int
token_ok(struct span s, int at)
{
	size_t i;

	if (s.n == 0)
		return 0;
	for (i = 0; i < s.n; i++)
		if (!token_char((unsigned char)s.p[i]) &&
		    !(at && s.p[i] == '@'))
			return 0;
	return 1;
}

static int
span_ieq(struct span s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

/* A qvalue: 0 to 1 with up to three decimals. 1 if zero, 0 if not, -1 if
 * malformed. */
static int
qvalue_zero(struct span v)
{
	size_t i;
	int nonzero = 0;

	if (v.n == 0 || (v.p[0] != '0' && v.p[0] != '1') || v.n > 5 ||
	    (v.n > 1 && v.p[1] != '.'))
		return -1;
	for (i = 2; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' ||
		    (v.p[0] == '1' && v.p[i] != '0'))
			return -1;
		nonzero |= v.p[i] != '0';
	}
	return v.p[0] == '0' && !nonzero;
}

/* Appends item to the comma-separated list in out unless it is there. */
static int
accept_add(char *out, size_t outlen, size_t *used, struct span item)
{
	const char *p = out, *comma;
	struct span have;

	while (*used > 0) {
		comma = strchr(p, ',');
		have.p = p;
		have.n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (span_cmp(have, item) == 0)
			return 0;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (item.n + (*used > 0) >= outlen - *used)
		return -1;
	if (*used > 0)
		out[(*used)++] = ',';
	memcpy(out + *used, item.p, item.n);
	*used += item.n;
	out[*used] = '\0';
	return 0;
}

hoop_err_t
hoop_kube_accept_json(const char *accept, char *out, size_t outlen,
    unsigned *flags)
{
	static const char json[] = "application/json";
	struct span all, range, mt, type, sub, param, pname, pval;
	char item[HOOP_KUBE_MAX_ACCEPT + 1];
	const char *end, *p, *comma, *semi;
	size_t used = 0, ilen, n, i;
	int zero, ranges = 0, is_json, wildcard;
	hoop_err_t ret = HOOP_ERR_INVAL;

	*flags = 0;
	if (outlen > 0)
		out[0] = '\0';
	if (accept == NULL)
		accept = "";
	if ((n = strlen(accept)) > HOOP_KUBE_MAX_ACCEPT) {
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (((unsigned char)accept[i] < 0x20 && accept[i] != '\t') ||
		    (unsigned char)accept[i] >= 0x7f || accept[i] == '"')
			goto out;
	all.p = accept;
	all.n = n;
	end = accept + n;
	for (p = all.p; p <= end; p = comma + 1) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		range.p = p;
		range.n = (size_t)(comma - p);
		range = trim(range);
		if (range.n == 0)
			continue;
		semi = memchr(range.p, ';', range.n);
		mt.p = range.p;
		mt.n = semi != NULL ? (size_t)(semi - range.p) : range.n;
		mt = trim(mt);
		if (!split_at(mt, '/', &type, &sub))
			goto out;
		/* '@' is no token character, but kubectl asks for
		 * application/com.github.proto-openapi.spec.v2@v1.0+protobuf. */
		if (!token_ok(type, 0) || !token_ok(sub, 1))
			goto out;
		/* The media type, then each parameter, without spaces. */
		ilen = (size_t)snprintf(item, sizeof(item), "%.*s",
		    (int)mt.n, mt.p);
		zero = 0;
		while (semi != NULL) {
			param.p = semi + 1;
			param.n = (size_t)(range.p + range.n - param.p);
			semi = memchr(param.p, ';', param.n);
			if (semi != NULL)
				param.n = (size_t)(semi - param.p);
			param = trim(param);
			if (!split_at(param, '=', &pname, &pval) ||
			    !token_ok(pname, 0) || !token_ok(pval, 0))
				goto out;
			if (span_ieq(pname, "q")) {
				if ((zero = qvalue_zero(pval)) < 0)
					goto out;
			}
			ilen += (size_t)snprintf(item + ilen, sizeof(item) -
			    ilen, ";%.*s", (int)param.n, param.p);
		}
		ranges++;
		if (zero)
			continue;
		wildcard = (span_is(sub, "*") && (span_is(type, "*") ||
		    span_ieq(type, "application")));
		is_json = span_ieq(type, "application") &&
		    span_ieq(sub, "json");
		if (wildcard) {
			range.p = json;
			range.n = strlen(json);
		} else if (is_json) {
			range.p = item;
			range.n = ilen;
		} else {
			*flags |= HOOP_KUBE_ACCEPT_DROPPED;
			if (span_ieq(type, "application") &&
			    span_ieq(sub, "vnd.kubernetes.protobuf"))
				*flags |= HOOP_KUBE_ACCEPT_PROTOBUF;
			continue;
		}
		if (accept_add(out, outlen, &used, range) != 0) {
			ret = HOOP_ERR_TOOBIG;
			goto out;
		}
	}
	if (used == 0) {
		if (ranges > 0)
			*flags |= HOOP_KUBE_ACCEPT_INSISTED;
		range.p = json;
		range.n = strlen(json);
		if (accept_add(out, outlen, &used, range) != 0) {
			ret = HOOP_ERR_TOOBIG;
			goto out;
		}
	}
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK) {
		*flags = 0;
		if (outlen > 0)
			out[0] = '\0';
	}
	return ret;
}
