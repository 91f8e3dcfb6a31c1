/*
 * Masking of API responses. What a Secret holds never reaches kubectl:
 * every value of data and stringData is replaced (data by the base64 of
 * HOOP_MASK_REDACTED, so that it still decodes), keys kept. Secrets are
 * found by kind ("Secret"; the items of a "SecretList", which carry no
 * kind of their own), and in a response about secrets every data and
 * stringData member is masked wherever it is (lists, watch events, Table
 * rows with their objects). The annotation kubectl apply leaves
 * (last-applied-configuration) holds a copy of the object: it is read as
 * JSON and masked the same way (a tree, jansson), or redacted whole.
 * Under the masks' patterns (hoop.conf mask sections), ConfigMap data
 * values and container env values are searched and masked.
 *
 * Responses are masked as a stream, in one pass as their bytes arrive:
 * bytes are copied, values replaced in place, nothing is held but the
 * token being read. A decision that needs an object's kind is taken
 * when the kind is read; the API server writes kind first, so an object
 * whose data comes before a kind that would mask it ends the stream
 * (fail closed).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hoop_pgproto.h"

#include "kubewrap.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MAX_DEPTH 512

struct walk {
	struct kubewrap *kw;
	enum kubewrap_mask_mode mode;
	int failed;
};

static void walk_value(struct walk *w, json_t *v, int depth, int secret);
static int mask_tree(struct kubewrap *kw, enum kubewrap_mask_mode mode,
    const char *in, size_t len, char **out, size_t *outlen);

/* Every value of obj (an object) replaced by with. */
static void
replace_values(json_t *obj, const char *with)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach(obj, key, v)
		json_object_set_new(obj, key, json_string(with));
}

static void
pattern_string(struct walk *w, json_t *s)
{
	char *out = NULL;
	size_t outlen;

	if (!json_is_string(s))
		return;
	if (kubewrap_mask_text(w->kw, json_string_value(s),
	    json_string_length(s), &out, &outlen) == -1) {
		json_string_set(s, HOOP_MASK_REDACTED);
		return;
	}
	if (out != NULL) {
		if (json_string_setn(s, out, outlen) == -1)
			json_string_set(s, HOOP_MASK_REDACTED);
		free(out);
	}
}

static void
pattern_values(struct walk *w, json_t *obj)
{
	const char *key;
	json_t *v;

	if (w->kw->mask == NULL || !json_is_object(obj))
		return;
	json_object_foreach(obj, key, v)
		pattern_string(w, v);
}

/* The annotation's copy of the object, masked as the object would be. */
static void
mask_last_applied(struct walk *w, json_t *annotations, int depth, int secret)
{
	json_t *s = json_object_get(annotations, LAST_APPLIED), *doc;
	char *dumped;

	if (!json_is_string(s))
		return;
	doc = json_loadb(json_string_value(s), json_string_length(s),
	    JSON_ALLOW_NUL, NULL);
	if (doc == NULL) {
		json_string_set(s, HOOP_MASK_REDACTED);
		return;
	}
	walk_value(w, doc, depth + 1, secret);
	dumped = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(doc);
	if (dumped == NULL || json_string_set(s, dumped) == -1)
		json_string_set(s, HOOP_MASK_REDACTED);
	free(dumped);
}

static void
walk_object(struct walk *w, json_t *o, int depth, int secret)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *key;
	json_t *v, *e;
	size_t i;
	int is_secret = secret || (kind != NULL && strcmp(kind, "Secret") == 0);
	int items_secret = kind != NULL && strcmp(kind, "SecretList") == 0;
	int configmap = (kind != NULL && strcmp(kind, "ConfigMap") == 0) ||
	    w->mode == KUBEWRAP_MASK_CONFIGMAPS;

	json_object_foreach(o, key, v) {
		if (is_secret && (strcmp(key, "data") == 0 ||
		    strcmp(key, "stringData") == 0)) {
			replace_values(v, strcmp(key, "data") == 0 ? "Kioq" :
			    HOOP_MASK_REDACTED);
			if (!json_is_object(v) && !json_is_null(v))
				json_object_set_new(o, key, json_object());
			continue;
		}
		if (configmap && strcmp(key, "data") == 0) {
			pattern_values(w, v);
			continue;
		}
		if (strcmp(key, "env") == 0 && json_is_array(v) &&
		    w->kw->mask != NULL) {
			json_array_foreach(v, i, e)
				if (json_is_object(e))
					pattern_string(w,
					    json_object_get(e, "value"));
		}
		if (strcmp(key, "annotations") == 0 && json_is_object(v))
			mask_last_applied(w, v, depth, is_secret);
		if (items_secret && strcmp(key, "items") == 0 &&
		    json_is_array(v)) {
			json_array_foreach(v, i, e)
				walk_value(w, e, depth + 1, 1);
			continue;
		}
		walk_value(w, v, depth + 1, w->mode == KUBEWRAP_MASK_SECRETS);
	}
}

static void
walk_value(struct walk *w, json_t *v, int depth, int secret)
{
	json_t *e;
	size_t i;

	if (depth > MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	if (json_is_object(v))
		walk_object(w, v, depth, secret);
	else if (json_is_array(v))
		json_array_foreach(v, i, e)
			walk_value(w, e, depth + 1, secret);
}

/* The whole document as a tree: for documents where a Secret or a
 * ConfigMap may sit among other objects (told by its kind, which may
 * come after its data). */
static int
mask_tree(struct kubewrap *kw, enum kubewrap_mask_mode mode,
    const char *in, size_t len, char **out, size_t *outlen)
{
	struct walk w = { .kw = kw, .mode = mode };
	json_t *doc;
	char *s = NULL;

	if ((doc = json_loadb(in, len, JSON_ALLOW_NUL, NULL)) == NULL)
		return -1;
	walk_value(&w, doc, 0, mode == KUBEWRAP_MASK_SECRETS);
	if (!w.failed)
		s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(doc);
	if (s == NULL)
		return -1;
	*out = s;
	*outlen = strlen(s);
	return 0;
}

int
kubewrap_mask_text(struct kubewrap *kw, const char *in, size_t len,
    char **out, size_t *outlen)
{
	const unsigned char *res;
	size_t res_len;
	int changed = 0, r = -1;

	*out = NULL;
	if (kw->mask == NULL)
		return 0;
	pthread_mutex_lock(&kw->mask_lock);
	if (hoop_mask_set_text(kw->mask, in, len, &res, &res_len, &changed) !=
	    HOOP_OK)
		goto out;
	r = 0;
	if (changed) {
		if ((*out = malloc(res_len + 1)) == NULL) {
			r = -1;
			goto out;
		}
		memcpy(*out, res, res_len);
		(*out)[res_len] = '\0';
		*outlen = res_len;
	}
out:
	pthread_mutex_unlock(&kw->mask_lock);
	return r;
}

/* ---- The stream ---- */

enum role {
	R_NONE,
	R_SECRET_OBJ,		/* an object known to be a Secret */
	R_SECRET_B64,		/* Secret data: every value becomes Kioq */
	R_SECRET_TEXT,		/* stringData: every value becomes *** */
	R_PATTERN_DATA,		/* ConfigMap data: patterns on every string */
	R_ENV,			/* an env array */
	R_ENV_VAR,		/* one env entry: patterns on "value" */
	R_ANNOTATIONS,
	R_SECRET_ITEMS,		/* the items of a SecretList */
};

enum kind { K_OTHER, K_SECRET, K_SECRET_LIST, K_CONFIGMAP };

enum expect {
	E_VALUE,		/* a value (or, just opened, the end) */
	E_KEY,			/* a key (or, just opened, the end) */
	E_COLON,
	E_AFTER,		/* ',' or the end */
};

struct frame {
	char type;		/* '{' or '[' */
	enum role role;
	enum kind kind;
	enum expect expect;
	int fresh;		/* just opened: the end may come at once */
	int seen_data;		/* data or stringData passed, kind unknown */
	int seen_items;		/* items passed, kind unknown */
	char key[64];		/* object: the current member's key */
};

struct kubewrap_jstream {
	struct kubewrap *kw;
	enum kubewrap_mask_mode mode;
	int many;		/* documents one after another (watch) */
	int top_done;		/* a whole document has been read */
	int failed;
	struct frame stack[MAX_DEPTH];
	size_t depth;
	struct hoop_pg_buf in;	/* input not yet passed on */
	size_t copied;		/* in[0, copied) is in out already */
	struct hoop_pg_buf out;
};

static int
emit(struct hoop_pg_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (hoop_pg_buf_reserve(b, n) != HOOP_OK)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* The token in[s, e) becomes repl (already JSON). */
static int
replace(struct kubewrap_jstream *js, size_t s, size_t e, const char *repl,
    size_t rl)
{
	if (emit(&js->out, js->in.data + js->copied, s - js->copied) == -1 ||
	    emit(&js->out, repl, rl) == -1)
		return -1;
	js->copied = e;
	return 0;
}

#define INCOMPLETE ((size_t)-1)

/* The end of the string token at i (its opening quote): the index after
 * the closing quote, 0 if malformed, INCOMPLETE if it goes on. */
static size_t
string_end(const unsigned char *p, size_t len, size_t i)
{
	size_t k;

	for (i++; i < len; i++) {
		if (p[i] == '"')
			return i + 1;
		if (p[i] < 0x20)
			return 0;
		if (p[i] != '\\')
			continue;
		if (++i >= len)
			return INCOMPLETE;
		if (p[i] == 'u') {
			for (k = 1; k <= 4; k++) {
				if (i + k >= len)
					return INCOMPLETE;
				if (!isxdigit(p[i + k]))
					return 0;
			}
			i += 4;
		} else if (p[i] == '\0' || strchr("\"\\/bfnrt", p[i]) == NULL) {
			return 0;
		}
	}
	return INCOMPLETE;
}

/* A string token as text (escapes decoded): new json_t, or NULL. */
static json_t *
string_value(const unsigned char *tok, size_t n)
{
	return json_loadb((const char *)tok, n, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL);
}

/* A string value under patterns, or the last-applied annotation (masked
 * as the object it holds, as a secret when secret). */
static int
rewrite_string(struct kubewrap_jstream *js, size_t s, size_t e,
    int annotation, int secret)
{
	json_t *v;
	char *text = NULL, *enc = NULL;
	size_t tl = 0;
	int r = -1, failed;

	/* Most values hold no escape: searched as they are, decoded only
	 * to be written back changed. */
	if (!annotation && memchr(js->in.data + s, '\\', e - s) == NULL) {
		if (kubewrap_mask_text(js->kw, (const char *)js->in.data + s + 1,
		    e - s - 2, &text, &tl) == -1)
			return replace(js, s, e, "\"" HOOP_MASK_REDACTED "\"",
			    strlen(HOOP_MASK_REDACTED) + 2);
		if (text == NULL)
			return 0;
		free(text);
		text = NULL;
	}
	v = string_value(js->in.data + s, e - s);

	if (!json_is_string(v)) {
		/* Not text jansson reads (invalid UTF-8): searched or not,
		 * it cannot be shown. */
		r = replace(js, s, e, "\"" HOOP_MASK_REDACTED "\"",
		    strlen(HOOP_MASK_REDACTED) + 2);
		goto out;
	}
	failed = annotation ? mask_tree(js->kw, secret ?
	    KUBEWRAP_MASK_SECRETS : js->mode, json_string_value(v),
	    json_string_length(v), &text, &tl) : kubewrap_mask_text(js->kw,
	    json_string_value(v), json_string_length(v), &text, &tl);
	if (failed == -1) {
		r = replace(js, s, e, "\"" HOOP_MASK_REDACTED "\"",
		    strlen(HOOP_MASK_REDACTED) + 2);
		goto out;
	}
	if (text == NULL) {
		r = 0;
		goto out;
	}
	if (json_string_setn(v, text, tl) == -1 ||
	    (enc = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		goto out;
	r = replace(js, s, e, enc, strlen(enc));
out:
	free(text);
	free(enc);
	json_decref(v);
	return r;
}

static int
secret_object(const struct kubewrap_jstream *js, const struct frame *f)
{
	return f->type == '{' && (js->mode == KUBEWRAP_MASK_SECRETS ||
	    f->kind == K_SECRET || f->role == R_SECRET_OBJ);
}

/* What a container becomes, from its parent and the key it sits at. */
static enum role
child_role(const struct kubewrap_jstream *js, const struct frame *parent,
    char type)
{
	const char *k;

	if (parent == NULL)
		return R_NONE;
	if (parent->role == R_SECRET_B64 || parent->role == R_SECRET_TEXT)
		return parent->role;
	if (parent->type == '[') {
		if (type != '{')
			return R_NONE;
		return parent->role == R_ENV ? R_ENV_VAR :
		    parent->role == R_SECRET_ITEMS ? R_SECRET_OBJ : R_NONE;
	}
	k = parent->key;
	if (type == '{' && secret_object(js, parent) &&
	    strcmp(k, "data") == 0)
		return R_SECRET_B64;
	if (type == '{' && secret_object(js, parent) &&
	    strcmp(k, "stringData") == 0)
		return R_SECRET_TEXT;
	if (type == '{' && js->kw->mask != NULL && strcmp(k, "data") == 0 &&
	    (js->mode == KUBEWRAP_MASK_CONFIGMAPS ||
	    parent->kind == K_CONFIGMAP))
		return R_PATTERN_DATA;
	if (type == '[' && js->kw->mask != NULL && strcmp(k, "env") == 0)
		return R_ENV;
	if (type == '[' && parent->kind == K_SECRET_LIST &&
	    strcmp(k, "items") == 0)
		return R_SECRET_ITEMS;
	if (type == '{' && strcmp(k, "annotations") == 0)
		return R_ANNOTATIONS;
	return R_NONE;
}

/* A scalar value at [s, e) in frame f (NULL: the document itself):
 * replaced as its place says. */
static int
scalar_in(struct kubewrap_jstream *js, struct frame *f, size_t s, size_t e,
    int string)
{
	if (f == NULL)
		return 0;
	if (f->role == R_SECRET_B64 || f->role == R_SECRET_TEXT)
		return replace(js, s, e, f->role == R_SECRET_B64 ?
		    "\"Kioq\"" : "\"" HOOP_MASK_REDACTED "\"",
		    f->role == R_SECRET_B64 ? 6 :
		    strlen(HOOP_MASK_REDACTED) + 2);
	if (f->type != '{' || !string)
		return 0;
	switch (f->role) {
	case R_PATTERN_DATA:
		return rewrite_string(js, s, e, 0, 0);
	case R_ENV_VAR:
		return strcmp(f->key, "value") == 0 ?
		    rewrite_string(js, s, e, 0, 0) : 0;
	case R_ANNOTATIONS:
		return strcmp(f->key, LAST_APPLIED) == 0 ? rewrite_string(js,
		    s, e, 1, js->depth >= 3 &&
		    secret_object(js, &js->stack[js->depth - 3])) : 0;
	default:
		break;
	}
	if (strcmp(f->key, "kind") == 0 && e - s <= 14) {
		enum kind k = K_OTHER;

		if (e - s == 8 && memcmp(js->in.data + s, "\"Secret\"", 8) == 0)
			k = K_SECRET;
		else if (e - s == 12 && memcmp(js->in.data + s,
		    "\"SecretList\"", 12) == 0)
			k = K_SECRET_LIST;
		else if (e - s == 11 && memcmp(js->in.data + s,
		    "\"ConfigMap\"", 11) == 0)
			k = K_CONFIGMAP;
		/* Too late: the data went as it was. */
		if ((k == K_SECRET && f->seen_data && !secret_object(js, f)) ||
		    (k == K_SECRET_LIST && f->seen_items &&
		    js->mode != KUBEWRAP_MASK_SECRETS) ||
		    (k == K_CONFIGMAP && f->seen_data && js->kw->mask != NULL &&
		    js->mode != KUBEWRAP_MASK_CONFIGMAPS))
			return -1;
		f->kind = k;
	}
	return 0;
}

/* The key token [s, e) into f->key ("" when it does not fit: such a key
 * matches nothing looked for here). */
static void
set_key(struct frame *f, const unsigned char *tok, size_t n)
{
	json_t *v;

	f->key[0] = '\0';
	if (memchr(tok, '\\', n) == NULL) {
		if (n - 2 < sizeof(f->key)) {
			memcpy(f->key, tok + 1, n - 2);
			f->key[n - 2] = '\0';
		}
	} else {
		v = string_value(tok, n);
		if (json_is_string(v) && json_string_length(v) <
		    sizeof(f->key) && strlen(json_string_value(v)) ==
		    json_string_length(v))
			snprintf(f->key, sizeof(f->key), "%s",
			    json_string_value(v));
		json_decref(v);
	}
	if (strcmp(f->key, "data") == 0 || strcmp(f->key, "stringData") == 0)
		f->seen_data = 1;
	if (strcmp(f->key, "items") == 0)
		f->seen_items = 1;
}

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_number(const unsigned char *p, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (p[k] == '\0' || strchr("-+.eE0123456789", p[k]) == NULL)
			return 0;
	return 1;
}

/* A value ended in the current frame (or the document ended). */
static void
value_done(struct kubewrap_jstream *js)
{
	if (js->depth == 0)
		js->top_done = 1;
	else
		js->stack[js->depth - 1].expect = E_AFTER;
}

/* Reads what it can of in; stops before a token that goes on past the
 * input, unless final. 0, or -1: not JSON, or not safe to pass. */
static int
scan(struct kubewrap_jstream *js, int final)
{
	const unsigned char *in = js->in.data;
	size_t i = js->copied, e, len = js->in.len;
	struct frame *f;
	unsigned char c;

	for (;;) {
		while (i < len && is_ws(in[i]))
			i++;
		if (i == len)
			break;
		c = in[i];
		if (js->top_done) {
			if (!js->many)
				return -1;	/* bytes after the document */
			js->top_done = 0;
		}
		f = js->depth > 0 ? &js->stack[js->depth - 1] : NULL;
		if (f != NULL && f->fresh && c == (f->type == '{' ? '}' : ']')) {
			i++;
			js->depth--;
			value_done(js);
			continue;
		}
		if (f != NULL)
			f->fresh = 0;
		if (f != NULL && f->expect == E_AFTER) {
			if (c == ',') {
				f->expect = f->type == '{' ? E_KEY : E_VALUE;
				i++;
				continue;
			}
			if (c != (f->type == '{' ? '}' : ']'))
				return -1;
			i++;
			js->depth--;
			value_done(js);
			continue;
		}
		if (f != NULL && f->expect == E_KEY) {
			if (c != '"')
				return -1;
			if ((e = string_end(in, len, i)) == 0)
				return -1;
			if (e == INCOMPLETE)
				break;
			set_key(f, in + i, e - i);
			f->expect = E_COLON;
			i = e;
			continue;
		}
		if (f != NULL && f->expect == E_COLON) {
			if (c != ':')
				return -1;
			f->expect = E_VALUE;
			i++;
			continue;
		}
		switch (c) {
		case '{':
		case '[':
			if (js->depth == MAX_DEPTH)
				return -1;
			js->stack[js->depth] = (struct frame){ .type = (char)c,
			    .role = child_role(js, f, (char)c), .fresh = 1,
			    .expect = c == '{' ? E_KEY : E_VALUE };
			js->depth++;
			i++;
			continue;
		case '"':
			if ((e = string_end(in, len, i)) == 0)
				return -1;
			if (e == INCOMPLETE)
				goto more;
			if (scalar_in(js, f, i, e, 1) == -1)
				return -1;
			break;
		default:
			for (e = i; e < len && (isalnum(in[e]) || in[e] == '-' ||
			    in[e] == '+' || in[e] == '.'); e++)
				;
			if (e == len && !final)
				goto more;
			if (e == i || !((e - i == 4 && (memcmp(in + i, "true",
			    4) == 0 || memcmp(in + i, "null", 4) == 0)) ||
			    (e - i == 5 && memcmp(in + i, "false", 5) == 0) ||
			    is_number(in + i, e - i)))
				return -1;
			if (scalar_in(js, f, i, e, 0) == -1)
				return -1;
			break;
		}
		i = e;
		value_done(js);
	}
more:
	/* Everything before i is decided: out with it. */
	if (emit(&js->out, in + js->copied, i - js->copied) == -1)
		return -1;
	js->copied = i;
	hoop_pg_buf_consume(&js->in, js->copied);
	js->copied = 0;
	return 0;
}

hoop_err_t
kubewrap_jstream_create(struct kubewrap *kw, enum kubewrap_mask_mode mode,
    int many, struct kubewrap_jstream **out)
{
	struct kubewrap_jstream *js = calloc(1, sizeof(*js));

	if (js == NULL)
		return HOOP_ERR_NOMEM;
	js->kw = kw;
	js->mode = mode;
	js->many = many;
	*out = js;
	return HOOP_OK;
}

int
kubewrap_jstream_feed(struct kubewrap_jstream *js, const void *data,
    size_t len, const unsigned char **out, size_t *outlen)
{
	js->out.len = 0;
	if (js->failed || emit(&js->in, data, len) == -1 ||
	    js->in.len > KUBEWRAP_MAX_EVENT || scan(js, 0) == -1) {
		js->failed = 1;
		return -1;
	}
	/* Never NULL, even with nothing to pass on: callers copy from it. */
	*out = js->out.data != NULL ? js->out.data : (const unsigned char *)"";
	*outlen = js->out.len;
	return 0;
}

int
kubewrap_jstream_end(struct kubewrap_jstream *js, const unsigned char **out,
    size_t *outlen)
{
	js->out.len = 0;
	if (js->failed || scan(js, 1) == -1 || js->in.len > 0 ||
	    js->depth > 0 || (!js->top_done && !js->many)) {
		js->failed = 1;
		return -1;
	}
	/* Never NULL, even with nothing to pass on: callers copy from it. */
	*out = js->out.data != NULL ? js->out.data : (const unsigned char *)"";
	*outlen = js->out.len;
	return 0;
}

void
kubewrap_jstream_free(struct kubewrap_jstream *js)
{
	if (js == NULL)
		return;
	hoop_pg_buf_free(&js->in);
	hoop_pg_buf_free(&js->out);
	free(js);
}

int
kubewrap_mask_json(struct kubewrap *kw, enum kubewrap_mask_mode mode,
    const char *in, size_t len, char **out, size_t *outlen)
{
	struct kubewrap_jstream *js = NULL;
	struct hoop_pg_buf all = { 0 };
	const unsigned char *p;
	size_t n;
	int r = -1;

	if (kubewrap_jstream_create(kw, mode, 0, &js) != HOOP_OK ||
	    kubewrap_jstream_feed(js, in, len, &p, &n) == -1 ||
	    emit(&all, p, n) == -1 || kubewrap_jstream_end(js, &p, &n) == -1 ||
	    emit(&all, p, n) == -1 || emit(&all, "", 1) == -1) {
		hoop_pg_buf_free(&all);
		goto out;
	}
	*out = (char *)all.data;
	*outlen = all.len - 1;
	r = 0;
out:
	kubewrap_jstream_free(js);
	return r;
}
