/*
 * PostgreSQL protocol 3.0: framing, parsers, builders (hoop_pgproto.h).
 * All integers on the wire are big-endian.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_pgproto.h"
#include "hoop_util.h"

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t
get_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- Framing ---- */

int
hoop_pg_frame(const void *buf, size_t avail, size_t max_size,
    struct hoop_pg_msg *msg, size_t *need, char *why, size_t whylen)
{
	const unsigned char *p = buf;
	uint32_t n;

	if (max_size == 0)
		max_size = HOOP_PG_MAX_MESSAGE_DEFAULT;
	if (max_size > INT32_MAX)
		max_size = INT32_MAX;
	if (avail < 5) {
		if (need != NULL)
			*need = 5;
		return HOOP_PG_FRAME_MORE;
	}
	n = get_u32(p + 1);
	if (n < 4 || n > INT32_MAX) {
		hoop_why(why, whylen, "message '%c': invalid length %d",
		    p[0] >= 0x20 && p[0] < 0x7f ? p[0] : '?', (int32_t)n);
		return HOOP_PG_FRAME_ERROR;
	}
	if (n > max_size) {
		hoop_why(why, whylen,
		    "message '%c': length %u over the limit of %zu",
		    p[0] >= 0x20 && p[0] < 0x7f ? p[0] : '?', n, max_size);
		return HOOP_PG_FRAME_ERROR;
	}
	if (avail - 1 < n) {
		if (need != NULL)
			*need = (size_t)n + 1;
		return HOOP_PG_FRAME_MORE;
	}
	msg->type = p[0];
	msg->body = p + 5;
	msg->len = n - 4;
	msg->size = (size_t)n + 1;
	return HOOP_PG_FRAME_OK;
}

int
hoop_pg_frame_startup(const void *buf, size_t avail,
    struct hoop_pg_msg *msg, size_t *need, char *why, size_t whylen)
{
	const unsigned char *p = buf;
	uint32_t n;

	if (avail < 4) {
		if (need != NULL)
			*need = 4;
		return HOOP_PG_FRAME_MORE;
	}
	n = get_u32(p);
	if (n < 8 || n - 4 > HOOP_PG_STARTUP_MAX) {
		hoop_why(why, whylen, "startup packet: invalid length %d",
		    (int32_t)n);
		return HOOP_PG_FRAME_ERROR;
	}
	if (avail < n) {
		if (need != NULL)
			*need = n;
		return HOOP_PG_FRAME_MORE;
	}
	msg->type = 0;
	msg->body = p + 4;
	msg->len = n - 4;
	msg->size = n;
	return HOOP_PG_FRAME_OK;
}

/* ---- A bounded reader over one message body ---- */

struct rd {
	const unsigned char *p;
	size_t left;
	const char *what;	/* the message, for reasons */
	char *why;
	size_t whylen;
	int bad;
};

static void
rd_init(struct rd *r, const struct hoop_pg_msg *m, const char *what,
    char *why, size_t whylen)
{
	r->p = m->body;
	r->left = m->len;
	r->what = what;
	r->why = why;
	r->whylen = whylen;
	r->bad = 0;
}

static void rd_fail(struct rd *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rd_fail(struct rd *r, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	if (r->bad)
		return;
	r->bad = 1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	hoop_why(r->why, r->whylen, "%s: %s", r->what, reason);
}

static const unsigned char *
rd_bytes(struct rd *r, size_t n, const char *item)
{
	const unsigned char *p;

	if (r->bad)
		return NULL;
	if (n > r->left) {
		rd_fail(r, "%s runs past the end of the message", item);
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

static uint8_t
rd_u8(struct rd *r, const char *item)
{
	const unsigned char *p = rd_bytes(r, 1, item);

	return p != NULL ? p[0] : 0;
}

static uint16_t
rd_u16(struct rd *r, const char *item)
{
	const unsigned char *p = rd_bytes(r, 2, item);

	return p != NULL ? get_u16(p) : 0;
}

static uint32_t
rd_u32(struct rd *r, const char *item)
{
	const unsigned char *p = rd_bytes(r, 4, item);

	return p != NULL ? get_u32(p) : 0;
}

/* A NUL-terminated string inside the message; *len (if not NULL) is its
 * strlen. */
static const char *
rd_str(struct rd *r, const char *item, size_t *len)
{
	const unsigned char *nul;
	const char *s;

	if (r->bad)
		return NULL;
	if ((nul = memchr(r->p, '\0', r->left)) == NULL) {
		rd_fail(r, "%s is not NUL-terminated", item);
		return NULL;
	}
	s = (const char *)r->p;
	if (len != NULL)
		*len = (size_t)(nul - r->p);
	r->left -= (size_t)(nul - r->p) + 1;
	r->p = nul + 1;
	return s;
}

/* A count of items of at least min_size bytes each, checked against
 * what is left, so that a hostile count allocates nothing. */
static uint16_t
rd_count(struct rd *r, size_t min_size, const char *item)
{
	uint16_t n = rd_u16(r, item);

	if (!r->bad && (size_t)n * min_size > r->left) {
		rd_fail(r, "%u %s do not fit in the message", n, item);
		return 0;
	}
	return n;
}

/* An int32 length then that many bytes; -1 is NULL. */
static void
rd_value(struct rd *r, struct hoop_pg_value *v, const char *item)
{
	int32_t len = (int32_t)rd_u32(r, item);

	v->data = NULL;
	v->len = -1;
	if (r->bad || len == -1)
		return;
	if (len < -1) {
		rd_fail(r, "%s has invalid length %d", item, len);
		return;
	}
	if ((v->data = rd_bytes(r, (size_t)len, item)) != NULL)
		v->len = len;
}

static int16_t
rd_format(struct rd *r, const char *item)
{
	uint16_t f = rd_u16(r, item);

	if (!r->bad && f > 1)
		rd_fail(r, "%s has unknown format code %u", item, f);
	return (int16_t)f;
}

static hoop_err_t
rd_done(struct rd *r)
{
	if (!r->bad && r->left != 0)
		rd_fail(r, "%zu bytes after the end", r->left);
	return r->bad ? HOOP_ERR_INVAL : HOOP_OK;
}

static int
rd_type(struct rd *r, const struct hoop_pg_msg *m, unsigned char type)
{
	if (m->type != type) {
		rd_fail(r, "not this message type (got '%c')",
		    m->type >= 0x20 && m->type < 0x7f ? m->type : '?');
		return 0;
	}
	return 1;
}

/* Makes room for n elements of size in a reused owned array. */
static int
rd_array(struct rd *r, void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (r->bad)
		return 0;
	if (n <= *cap)
		return 1;
	if ((p = reallocarray(*arr, n, size)) == NULL) {
		rd_fail(r, "out of memory");
		return 0;
	}
	*arr = p;
	*cap = n;
	return 1;
}

/* ---- Startup ---- */

hoop_err_t
hoop_pg_parse_startup(const struct hoop_pg_msg *m,
    struct hoop_pg_startup *out, char *why, size_t whylen)
{
	struct rd r;
	const char *name, *value;
	uint32_t code;
	size_t i;

	rd_init(&r, m, "startup packet", why, whylen);
	out->nparams = 0;
	out->version = 0;
	out->pid = out->secret = 0;
	if (m->type != 0) {
		rd_fail(&r, "typed message where a startup packet belongs");
		return HOOP_ERR_INVAL;
	}
	code = rd_u32(&r, "protocol code");
	switch (code) {
	case HOOP_PG_SSL_CODE:
		out->kind = HOOP_PG_STARTUP_SSL;
		return rd_done(&r);
	case HOOP_PG_GSSENC_CODE:
		out->kind = HOOP_PG_STARTUP_GSSENC;
		return rd_done(&r);
	case HOOP_PG_CANCEL_CODE:
		out->kind = HOOP_PG_STARTUP_CANCEL;
		out->pid = rd_u32(&r, "pid");
		out->secret = rd_u32(&r, "secret key");
		return rd_done(&r);
	default:
		break;
	}
	if (r.bad)
		return HOOP_ERR_INVAL;
	if (code >> 16 != 3) {
		rd_fail(&r, "unsupported protocol %u.%u", code >> 16,
		    code & 0xffff);
		return HOOP_ERR_INVAL;
	}
	out->kind = HOOP_PG_STARTUP_MESSAGE;
	out->version = code;
	for (;;) {
		if ((name = rd_str(&r, "parameter name", NULL)) == NULL)
			return HOOP_ERR_INVAL;
		if (name[0] == '\0')
			break;
		if ((value = rd_str(&r, "parameter value", NULL)) == NULL)
			return HOOP_ERR_INVAL;
		for (i = 0; i < out->nparams; i++) {
			if (strcmp(out->params[i].name, name) == 0) {
				rd_fail(&r, "parameter \"%.64s\" given twice",
				    name);
				return HOOP_ERR_INVAL;
			}
		}
		if (out->nparams == HOOP_PG_STARTUP_MAX_PARAMS) {
			rd_fail(&r, "more than %d parameters",
			    HOOP_PG_STARTUP_MAX_PARAMS);
			return HOOP_ERR_INVAL;
		}
		out->params[out->nparams].name = name;
		out->params[out->nparams].value = value;
		out->nparams++;
	}
	return rd_done(&r);
}

const char *
hoop_pg_startup_get(const struct hoop_pg_startup *s, const char *name)
{
	size_t i;

	if (s->kind != HOOP_PG_STARTUP_MESSAGE)
		return NULL;
	for (i = 0; i < s->nparams; i++) {
		if (strcmp(s->params[i].name, name) == 0)
			return s->params[i].value;
	}
	return NULL;
}

/* ---- Frontend ---- */

hoop_err_t
hoop_pg_parse_query(const struct hoop_pg_msg *m, struct hoop_pg_query *out,
    char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "Query", why, whylen);
	if (rd_type(&r, m, HOOP_PG_F_QUERY))
		out->sql = rd_str(&r, "query string", &out->sql_len);
	return rd_done(&r);
}

/* A count of type oids then the oids. */
static uint16_t
rd_oids(struct rd *r, uint32_t **arr, size_t *cap)
{
	uint16_t n = rd_count(r, 4, "parameter types"), i;

	if (!rd_array(r, (void **)arr, cap, n, sizeof(**arr)))
		return 0;
	for (i = 0; i < n; i++)
		(*arr)[i] = rd_u32(r, "parameter type");
	return r->bad ? 0 : n;
}

hoop_err_t
hoop_pg_parse_parse(const struct hoop_pg_msg *m, struct hoop_pg_parse *out,
    char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "Parse", why, whylen);
	out->nparams = 0;
	if (!rd_type(&r, m, HOOP_PG_F_PARSE))
		return rd_done(&r);
	out->name = rd_str(&r, "statement name", NULL);
	out->query = rd_str(&r, "query string", &out->query_len);
	out->nparams = rd_oids(&r, &out->param_types, &out->param_types_cap);
	return rd_done(&r);
}

void
hoop_pg_parse_release(struct hoop_pg_parse *p)
{
	free(p->param_types);
	memset(p, 0, sizeof(*p));
}

/* A count of format codes then the codes. */
static uint16_t
rd_formats(struct rd *r, int16_t **arr, size_t *cap, const char *item)
{
	uint16_t n = rd_count(r, 2, item), i;

	if (!rd_array(r, (void **)arr, cap, n, sizeof(**arr)))
		return 0;
	for (i = 0; i < n; i++)
		(*arr)[i] = rd_format(r, item);
	return n;
}

/* A count of values then the values (each at least its length word). */
static uint16_t
rd_values(struct rd *r, struct hoop_pg_value **arr, size_t *cap,
    const char *item)
{
	uint16_t n = rd_count(r, 4, item), i;

	if (!rd_array(r, (void **)arr, cap, n, sizeof(**arr)))
		return 0;
	for (i = 0; i < n; i++)
		rd_value(r, &(*arr)[i], item);
	return n;
}

hoop_err_t
hoop_pg_parse_bind(const struct hoop_pg_msg *m, struct hoop_pg_bind *out,
    char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "Bind", why, whylen);
	out->nformats = out->nparams = out->nresults = 0;
	if (!rd_type(&r, m, HOOP_PG_F_BIND))
		return rd_done(&r);
	out->portal = rd_str(&r, "portal name", NULL);
	out->statement = rd_str(&r, "statement name", NULL);
	out->nformats = rd_formats(&r, &out->formats, &out->formats_cap,
	    "parameter formats");
	out->nparams = rd_values(&r, &out->params, &out->params_cap,
	    "parameters");
	if (!r.bad && out->nformats > 1 && out->nformats != out->nparams)
		rd_fail(&r, "%u parameter formats for %u parameters",
		    out->nformats, out->nparams);
	out->nresults = rd_formats(&r, &out->result_formats,
	    &out->results_cap, "result formats");
	if (r.bad)
		out->nformats = out->nparams = out->nresults = 0;
	return rd_done(&r);
}

void
hoop_pg_bind_release(struct hoop_pg_bind *b)
{
	free(b->formats);
	free(b->params);
	free(b->result_formats);
	memset(b, 0, sizeof(*b));
}

static hoop_err_t
parse_target(const struct hoop_pg_msg *m, unsigned char type,
    const char *what, struct hoop_pg_target *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, what, why, whylen);
	if (rd_type(&r, m, type)) {
		out->kind = (char)rd_u8(&r, "kind");
		if (!r.bad && out->kind != 'S' && out->kind != 'P')
			rd_fail(&r, "kind is neither 'S' nor 'P'");
		out->name = rd_str(&r, "name", NULL);
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_describe(const struct hoop_pg_msg *m,
    struct hoop_pg_target *out, char *why, size_t whylen)
{
	return parse_target(m, HOOP_PG_F_DESCRIBE, "Describe", out, why,
	    whylen);
}

hoop_err_t
hoop_pg_parse_close(const struct hoop_pg_msg *m, struct hoop_pg_target *out,
    char *why, size_t whylen)
{
	return parse_target(m, HOOP_PG_F_CLOSE, "Close", out, why, whylen);
}

hoop_err_t
hoop_pg_parse_execute(const struct hoop_pg_msg *m,
    struct hoop_pg_execute *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "Execute", why, whylen);
	if (rd_type(&r, m, HOOP_PG_F_EXECUTE)) {
		out->portal = rd_str(&r, "portal name", NULL);
		out->max_rows = (int32_t)rd_u32(&r, "row limit");
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_function_call(const struct hoop_pg_msg *m,
    struct hoop_pg_function_call *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "FunctionCall", why, whylen);
	out->nformats = out->nargs = 0;
	if (!rd_type(&r, m, HOOP_PG_F_FUNCTION_CALL))
		return rd_done(&r);
	out->oid = rd_u32(&r, "function oid");
	out->nformats = rd_formats(&r, &out->formats, &out->formats_cap,
	    "argument formats");
	out->nargs = rd_values(&r, &out->args, &out->args_cap, "arguments");
	if (!r.bad && out->nformats > 1 && out->nformats != out->nargs)
		rd_fail(&r, "%u argument formats for %u arguments",
		    out->nformats, out->nargs);
	out->result_format = rd_format(&r, "result format");
	if (r.bad)
		out->nformats = out->nargs = 0;
	return rd_done(&r);
}

void
hoop_pg_function_call_release(struct hoop_pg_function_call *f)
{
	free(f->formats);
	free(f->args);
	memset(f, 0, sizeof(*f));
}

hoop_err_t
hoop_pg_parse_string(const struct hoop_pg_msg *m, unsigned char type,
    const char **s, size_t *len, char *why, size_t whylen)
{
	struct rd r;
	size_t n = 0;

	rd_init(&r, m, "message", why, whylen);
	if (rd_type(&r, m, type))
		*s = rd_str(&r, "string", &n);
	if (len != NULL)
		*len = n;
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_sasl_initial(const struct hoop_pg_msg *m,
    struct hoop_pg_sasl_initial *out, char *why, size_t whylen)
{
	struct hoop_pg_value v;
	struct rd r;

	rd_init(&r, m, "SASLInitialResponse", why, whylen);
	if (rd_type(&r, m, HOOP_PG_F_PASSWORD)) {
		out->mechanism = rd_str(&r, "mechanism", NULL);
		if (!r.bad && out->mechanism[0] == '\0')
			rd_fail(&r, "empty mechanism");
		rd_value(&r, &v, "initial response");
		out->data = v.data;
		out->data_len = v.len;
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_empty(const struct hoop_pg_msg *m, unsigned char type,
    char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "message", why, whylen);
	(void)rd_type(&r, m, type);
	return rd_done(&r);
}

/* ---- Backend ---- */

hoop_err_t
hoop_pg_parse_auth(const struct hoop_pg_msg *m, struct hoop_pg_auth *out,
    char *why, size_t whylen)
{
	const unsigned char *p;
	const char *mech;
	size_t n = 0;
	struct rd r;

	rd_init(&r, m, "Authentication", why, whylen);
	out->data = NULL;
	out->data_len = 0;
	memset(out->salt, 0, sizeof(out->salt));
	if (!rd_type(&r, m, HOOP_PG_B_AUTH))
		return rd_done(&r);
	out->code = rd_u32(&r, "request code");
	if (r.bad)
		return rd_done(&r);
	switch (out->code) {
	case HOOP_PG_AUTH_OK:
	case HOOP_PG_AUTH_KERBEROS_V5:
	case HOOP_PG_AUTH_CLEARTEXT:
	case HOOP_PG_AUTH_GSS:
	case HOOP_PG_AUTH_SSPI:
		break;
	case HOOP_PG_AUTH_MD5:
		if ((p = rd_bytes(&r, 4, "salt")) != NULL)
			memcpy(out->salt, p, 4);
		break;
	case HOOP_PG_AUTH_SASL:
		out->data = r.p;
		out->data_len = r.left;
		while ((mech = rd_str(&r, "mechanism", NULL)) != NULL &&
		    mech[0] != '\0')
			n++;
		if (!r.bad && n == 0)
			rd_fail(&r, "no SASL mechanism offered");
		break;
	case HOOP_PG_AUTH_GSS_CONTINUE:
	case HOOP_PG_AUTH_SASL_CONTINUE:
	case HOOP_PG_AUTH_SASL_FINAL:
		out->data = r.p;
		out->data_len = r.left;
		(void)rd_bytes(&r, r.left, "data");
		break;
	default:
		rd_fail(&r, "unknown request %u", out->code);
		break;
	}
	return rd_done(&r);
}

int
hoop_pg_auth_has_mechanism(const struct hoop_pg_auth *a,
    const char *mechanism)
{
	const char *p, *end;

	if (a->code != HOOP_PG_AUTH_SASL || a->data == NULL)
		return 0;
	/* The parser checked that the list is NUL-terminated strings
	 * closed by an empty one. */
	p = (const char *)a->data;
	end = p + a->data_len;
	while (p < end && *p != '\0') {
		if (strcmp(p, mechanism) == 0)
			return 1;
		p += strlen(p) + 1;
	}
	return 0;
}

hoop_err_t
hoop_pg_parse_parameter_status(const struct hoop_pg_msg *m,
    struct hoop_pg_param *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "ParameterStatus", why, whylen);
	if (rd_type(&r, m, HOOP_PG_B_PARAMETER_STATUS)) {
		out->name = rd_str(&r, "name", NULL);
		out->value = rd_str(&r, "value", NULL);
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_backend_key(const struct hoop_pg_msg *m, uint32_t *pid,
    uint32_t *secret, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "BackendKeyData", why, whylen);
	if (rd_type(&r, m, HOOP_PG_B_BACKEND_KEY)) {
		*pid = rd_u32(&r, "pid");
		*secret = rd_u32(&r, "secret key");
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_ready(const struct hoop_pg_msg *m, char *status, char *why,
    size_t whylen)
{
	struct rd r;
	char s;

	rd_init(&r, m, "ReadyForQuery", why, whylen);
	if (rd_type(&r, m, HOOP_PG_B_READY)) {
		s = (char)rd_u8(&r, "status");
		if (!r.bad && s != 'I' && s != 'T' && s != 'E')
			rd_fail(&r, "unknown transaction status");
		*status = s;
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_row_description(const struct hoop_pg_msg *m,
    struct hoop_pg_row_description *out, char *why, size_t whylen)
{
	struct hoop_pg_field *f;
	struct rd r;
	uint16_t i;

	rd_init(&r, m, "RowDescription", why, whylen);
	out->nfields = 0;
	if (!rd_type(&r, m, HOOP_PG_B_ROW_DESCRIPTION))
		return rd_done(&r);
	/* A field is at least an empty name and 18 bytes. */
	out->nfields = rd_count(&r, 19, "fields");
	if (!rd_array(&r, (void **)&out->fields, &out->fields_cap,
	    out->nfields, sizeof(*out->fields))) {
		out->nfields = 0;
		return rd_done(&r);
	}
	for (i = 0; i < out->nfields && !r.bad; i++) {
		f = &out->fields[i];
		f->name = rd_str(&r, "field name", NULL);
		f->table_oid = rd_u32(&r, "table oid");
		f->attnum = (int16_t)rd_u16(&r, "attribute number");
		f->type_oid = rd_u32(&r, "type oid");
		f->typlen = (int16_t)rd_u16(&r, "type length");
		f->typmod = (int32_t)rd_u32(&r, "type modifier");
		f->format = rd_format(&r, "field");
	}
	if (r.bad)
		out->nfields = 0;
	return rd_done(&r);
}

void
hoop_pg_row_description_release(struct hoop_pg_row_description *rd)
{
	free(rd->fields);
	memset(rd, 0, sizeof(*rd));
}

hoop_err_t
hoop_pg_parse_data_row(const struct hoop_pg_msg *m,
    struct hoop_pg_data_row *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "DataRow", why, whylen);
	out->ncols = 0;
	if (rd_type(&r, m, HOOP_PG_B_DATA_ROW))
		out->ncols = rd_values(&r, &out->values, &out->values_cap,
		    "columns");
	if (r.bad)
		out->ncols = 0;
	return rd_done(&r);
}

void
hoop_pg_data_row_release(struct hoop_pg_data_row *row)
{
	free(row->values);
	memset(row, 0, sizeof(*row));
}

hoop_err_t
hoop_pg_parse_notice(const struct hoop_pg_msg *m, struct hoop_pg_notice *out,
    char *why, size_t whylen)
{
	const char *value;
	struct rd r;
	uint8_t code;

	rd_init(&r, m, m->type == HOOP_PG_B_NOTICE ? "NoticeResponse" :
	    "ErrorResponse", why, whylen);
	memset(out, 0, sizeof(*out));
	if (m->type != HOOP_PG_B_ERROR && m->type != HOOP_PG_B_NOTICE) {
		rd_fail(&r, "not this message type");
		return HOOP_ERR_INVAL;
	}
	while ((code = rd_u8(&r, "field code")) != 0) {
		if ((value = rd_str(&r, "field value", NULL)) == NULL)
			break;
		if (out->field[code] != NULL) {
			rd_fail(&r, "field '%c' given twice",
			    code >= 0x20 && code < 0x7f ? code : '?');
			break;
		}
		out->field[code] = value;
	}
	if (!r.bad && (out->field['S'] == NULL || out->field['C'] == NULL ||
	    out->field['M'] == NULL))
		rd_fail(&r, "severity, code or message missing");
	if (rd_done(&r) != HOOP_OK) {
		memset(out, 0, sizeof(*out));
		return HOOP_ERR_INVAL;
	}
	return HOOP_OK;
}

hoop_err_t
hoop_pg_parse_copy_response(const struct hoop_pg_msg *m,
    struct hoop_pg_copy_response *out, char *why, size_t whylen)
{
	struct rd r;
	uint16_t i;

	rd_init(&r, m, "Copy*Response", why, whylen);
	out->ncols = 0;
	if (m->type != HOOP_PG_B_COPY_IN && m->type != HOOP_PG_B_COPY_OUT &&
	    m->type != HOOP_PG_B_COPY_BOTH) {
		rd_fail(&r, "not this message type");
		return HOOP_ERR_INVAL;
	}
	out->format = (int8_t)rd_u8(&r, "overall format");
	if (!r.bad && out->format != 0 && out->format != 1)
		rd_fail(&r, "unknown overall format %d", out->format);
	out->ncols = rd_formats(&r, &out->formats, &out->formats_cap,
	    "column formats");
	for (i = 0; i < out->ncols && !r.bad; i++) {
		if (out->format == 0 && out->formats[i] != 0)
			rd_fail(&r, "binary column in a text copy");
	}
	if (r.bad)
		out->ncols = 0;
	return rd_done(&r);
}

void
hoop_pg_copy_response_release(struct hoop_pg_copy_response *c)
{
	free(c->formats);
	memset(c, 0, sizeof(*c));
}

hoop_err_t
hoop_pg_parse_parameter_description(const struct hoop_pg_msg *m,
    struct hoop_pg_parameter_description *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "ParameterDescription", why, whylen);
	out->nparams = 0;
	if (rd_type(&r, m, HOOP_PG_B_PARAMETER_DESCRIPTION))
		out->nparams = rd_oids(&r, &out->types, &out->types_cap);
	return rd_done(&r);
}

void
hoop_pg_parameter_description_release(
    struct hoop_pg_parameter_description *p)
{
	free(p->types);
	memset(p, 0, sizeof(*p));
}

hoop_err_t
hoop_pg_parse_notification(const struct hoop_pg_msg *m,
    struct hoop_pg_notification *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "NotificationResponse", why, whylen);
	if (rd_type(&r, m, HOOP_PG_B_NOTIFICATION)) {
		out->pid = rd_u32(&r, "pid");
		out->channel = rd_str(&r, "channel", NULL);
		out->payload = rd_str(&r, "payload", NULL);
	}
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_function_result(const struct hoop_pg_msg *m,
    struct hoop_pg_value *out, char *why, size_t whylen)
{
	struct rd r;

	rd_init(&r, m, "FunctionCallResponse", why, whylen);
	if (rd_type(&r, m, HOOP_PG_B_FUNCTION_RESULT))
		rd_value(&r, out, "result");
	return rd_done(&r);
}

hoop_err_t
hoop_pg_parse_negotiate_version(const struct hoop_pg_msg *m,
    uint32_t *minor, uint32_t *noptions, const char **options, char *why,
    size_t whylen)
{
	struct rd r;
	uint32_t i, n;

	rd_init(&r, m, "NegotiateProtocolVersion", why, whylen);
	*options = NULL;
	if (!rd_type(&r, m, HOOP_PG_B_NEGOTIATE_VERSION))
		return rd_done(&r);
	*minor = rd_u32(&r, "minor version");
	n = rd_u32(&r, "option count");
	/* Each name takes at least its NUL. */
	if (!r.bad && n > r.left)
		rd_fail(&r, "%u options do not fit in the message", n);
	*options = (const char *)r.p;
	for (i = 0; i < n && !r.bad; i++)
		(void)rd_str(&r, "option name", NULL);
	*noptions = r.bad ? 0 : n;
	return rd_done(&r);
}

/* ---- Buffers ---- */

hoop_err_t
hoop_pg_buf_reserve(struct hoop_pg_buf *b, size_t n)
{
	unsigned char *nd;
	size_t cap;

	if (n <= b->cap - b->len)
		return HOOP_OK;
	if (n > SIZE_MAX / 2 - b->len)
		return HOOP_ERR_TOOBIG;
	cap = b->cap > 0 ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	/* Not realloc: the old block may hold a password. */
	if ((nd = malloc(cap)) == NULL)
		return HOOP_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(nd, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = nd;
	b->cap = cap;
	return HOOP_OK;
}

void
hoop_pg_buf_consume(struct hoop_pg_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
hoop_pg_buf_wipe(struct hoop_pg_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	b->len = 0;
}

void
hoop_pg_buf_free(struct hoop_pg_buf *b)
{
	hoop_pg_buf_wipe(b);
	free(b->data);
	b->data = NULL;
	b->cap = 0;
}

/* ---- Builders ----
 * A message is built in place: begin (type, room for the length), add
 * pieces, end (length written). The first failure sticks; end then
 * drops the partial message. */

struct wr {
	struct hoop_pg_buf *b;
	size_t start;		/* where the message begins */
	hoop_err_t err;
};

static void
wr_add(struct wr *w, const void *p, size_t n)
{
	if (w->err != HOOP_OK)
		return;
	if ((w->err = hoop_pg_buf_reserve(w->b, n)) != HOOP_OK)
		return;
	if (n > 0)
		memcpy(w->b->data + w->b->len, p, n);
	w->b->len += n;
}

static void
wr_u8(struct wr *w, uint8_t v)
{
	wr_add(w, &v, 1);
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	unsigned char p[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	wr_add(w, p, 2);
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	unsigned char p[4] = {
		(unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v,
	};

	wr_add(w, p, 4);
}

static void
wr_str(struct wr *w, const char *s)
{
	if (s == NULL)
		w->err = HOOP_ERR_INVAL;
	else
		wr_add(w, s, strlen(s) + 1);
}

/* Counts go out as 16 bits: more is an error, not a wrap. */
static void
wr_count(struct wr *w, size_t n)
{
	if (n > UINT16_MAX && w->err == HOOP_OK)
		w->err = HOOP_ERR_TOOBIG;
	wr_u16(w, (uint16_t)n);
}

static void
wr_value(struct wr *w, const struct hoop_pg_value *v)
{
	if (v->len < -1 || (v->len > 0 && v->data == NULL)) {
		if (w->err == HOOP_OK)
			w->err = HOOP_ERR_INVAL;
		return;
	}
	wr_u32(w, (uint32_t)v->len);
	if (v->len > 0)
		wr_add(w, v->data, (size_t)v->len);
}

static void
wr_formats(struct wr *w, const int16_t *f, size_t n)
{
	size_t i;

	wr_count(w, n);
	for (i = 0; i < n; i++)
		wr_u16(w, (uint16_t)f[i]);
}

/* type 0: an untyped startup packet. */
static void
wr_begin(struct wr *w, struct hoop_pg_buf *b, unsigned char type)
{
	w->b = b;
	w->start = b->len;
	w->err = HOOP_OK;
	if (type != 0)
		wr_u8(w, type);
	wr_u32(w, 0);
}

static hoop_err_t
wr_end(struct wr *w, int typed)
{
	size_t len = 0;
	unsigned char *p;

	if (w->err == HOOP_OK) {
		len = w->b->len - w->start - (typed ? 1 : 0);
		if (len > INT32_MAX || (!typed && len - 4 >
		    HOOP_PG_STARTUP_MAX))
			w->err = HOOP_ERR_TOOBIG;
	}
	if (w->err != HOOP_OK) {
		/* Drop, and wipe, the partial message. */
		if (w->b->data != NULL && w->b->len > w->start)
			explicit_bzero(w->b->data + w->start,
			    w->b->len - w->start);
		w->b->len = w->start;
		return w->err;
	}
	p = w->b->data + w->start + (typed ? 1 : 0);
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return HOOP_OK;
}

hoop_err_t
hoop_pg_put_message(struct hoop_pg_buf *b, unsigned char type,
    const void *body, size_t len)
{
	struct wr w;

	wr_begin(&w, b, type);
	if (type == 0 || (len > 0 && body == NULL))
		w.err = HOOP_ERR_INVAL;
	if (len > INT32_MAX - 4 && w.err == HOOP_OK)
		w.err = HOOP_ERR_TOOBIG;
	wr_add(&w, body, len);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_empty(struct hoop_pg_buf *b, unsigned char type)
{
	return hoop_pg_put_message(b, type, NULL, 0);
}

hoop_err_t
hoop_pg_put_notice(struct hoop_pg_buf *b, unsigned char type,
    const char *severity, const char *sqlstate, const char *message,
    const char *detail, const char *hint)
{
	struct wr w;

	wr_begin(&w, b, type);
	if ((type != HOOP_PG_B_ERROR && type != HOOP_PG_B_NOTICE) ||
	    sqlstate == NULL || strlen(sqlstate) != 5)
		w.err = HOOP_ERR_INVAL;
	wr_u8(&w, 'S');
	wr_str(&w, severity);
	wr_u8(&w, 'V');
	wr_str(&w, severity);
	wr_u8(&w, 'C');
	wr_str(&w, sqlstate);
	wr_u8(&w, 'M');
	wr_str(&w, message);
	if (detail != NULL) {
		wr_u8(&w, 'D');
		wr_str(&w, detail);
	}
	if (hint != NULL) {
		wr_u8(&w, 'H');
		wr_str(&w, hint);
	}
	wr_u8(&w, 0);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_error(struct hoop_pg_buf *b, const char *severity,
    const char *sqlstate, const char *message, const char *detail,
    const char *hint)
{
	return hoop_pg_put_notice(b, HOOP_PG_B_ERROR, severity, sqlstate,
	    message, detail, hint);
}

hoop_err_t
hoop_pg_put_ready(struct hoop_pg_buf *b, char status)
{
	if (status != 'I' && status != 'T' && status != 'E')
		return HOOP_ERR_INVAL;
	return hoop_pg_put_message(b, HOOP_PG_B_READY, &status, 1);
}

hoop_err_t
hoop_pg_put_auth(struct hoop_pg_buf *b, uint32_t code)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_B_AUTH);
	wr_u32(&w, code);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_auth_md5(struct hoop_pg_buf *b, const unsigned char salt[4])
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_B_AUTH);
	wr_u32(&w, HOOP_PG_AUTH_MD5);
	wr_add(&w, salt, 4);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_auth_sasl(struct hoop_pg_buf *b, const char *const *mechanisms,
    size_t n)
{
	struct wr w;
	size_t i;

	wr_begin(&w, b, HOOP_PG_B_AUTH);
	if (n == 0)
		w.err = HOOP_ERR_INVAL;
	wr_u32(&w, HOOP_PG_AUTH_SASL);
	for (i = 0; i < n; i++) {
		if (mechanisms[i] == NULL || mechanisms[i][0] == '\0')
			w.err = HOOP_ERR_INVAL;
		wr_str(&w, mechanisms[i]);
	}
	wr_u8(&w, 0);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_auth_data(struct hoop_pg_buf *b, uint32_t code,
    const void *data, size_t len)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_B_AUTH);
	if ((code != HOOP_PG_AUTH_SASL_CONTINUE &&
	    code != HOOP_PG_AUTH_SASL_FINAL &&
	    code != HOOP_PG_AUTH_GSS_CONTINUE) || (len > 0 && data == NULL))
		w.err = HOOP_ERR_INVAL;
	wr_u32(&w, code);
	if (len > INT32_MAX && w.err == HOOP_OK)
		w.err = HOOP_ERR_TOOBIG;
	wr_add(&w, data, len);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_parameter_status(struct hoop_pg_buf *b, const char *name,
    const char *value)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_B_PARAMETER_STATUS);
	wr_str(&w, name);
	wr_str(&w, value);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_backend_key(struct hoop_pg_buf *b, uint32_t pid,
    uint32_t secret)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_B_BACKEND_KEY);
	wr_u32(&w, pid);
	wr_u32(&w, secret);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_row_description(struct hoop_pg_buf *b,
    const struct hoop_pg_field *fields, size_t n)
{
	struct wr w;
	size_t i;

	wr_begin(&w, b, HOOP_PG_B_ROW_DESCRIPTION);
	wr_count(&w, n);
	for (i = 0; i < n && w.err == HOOP_OK; i++) {
		if (fields[i].format != 0 && fields[i].format != 1)
			w.err = HOOP_ERR_INVAL;
		wr_str(&w, fields[i].name);
		wr_u32(&w, fields[i].table_oid);
		wr_u16(&w, (uint16_t)fields[i].attnum);
		wr_u32(&w, fields[i].type_oid);
		wr_u16(&w, (uint16_t)fields[i].typlen);
		wr_u32(&w, (uint32_t)fields[i].typmod);
		wr_u16(&w, (uint16_t)fields[i].format);
	}
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_data_row(struct hoop_pg_buf *b,
    const struct hoop_pg_value *values, size_t n)
{
	size_t i, total = 2;
	struct wr w;

	/* One reservation for the whole row: masking rebuilds every row. */
	for (i = 0; i < n && total <= INT32_MAX; i++)
		total += 4 + (values[i].len > 0 ? (size_t)values[i].len : 0);
	if (total > INT32_MAX - 4)
		return HOOP_ERR_TOOBIG;
	wr_begin(&w, b, HOOP_PG_B_DATA_ROW);
	if (w.err == HOOP_OK)
		w.err = hoop_pg_buf_reserve(b, total);
	wr_count(&w, n);
	for (i = 0; i < n && w.err == HOOP_OK; i++)
		wr_value(&w, &values[i]);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_command_complete(struct hoop_pg_buf *b, const char *tag)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_B_COMMAND_COMPLETE);
	wr_str(&w, tag);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_startup(struct hoop_pg_buf *b, const struct hoop_pg_param *params,
    size_t n)
{
	struct wr w;
	size_t i;

	wr_begin(&w, b, 0);
	wr_u32(&w, HOOP_PG_PROTOCOL_3_0);
	for (i = 0; i < n && w.err == HOOP_OK; i++) {
		if (params[i].name == NULL || params[i].name[0] == '\0')
			w.err = HOOP_ERR_INVAL;
		wr_str(&w, params[i].name);
		wr_str(&w, params[i].value);
	}
	wr_u8(&w, 0);
	return wr_end(&w, 0);
}

hoop_err_t
hoop_pg_put_request(struct hoop_pg_buf *b, uint32_t code)
{
	struct wr w;

	wr_begin(&w, b, 0);
	if (code != HOOP_PG_SSL_CODE && code != HOOP_PG_GSSENC_CODE)
		w.err = HOOP_ERR_INVAL;
	wr_u32(&w, code);
	return wr_end(&w, 0);
}

hoop_err_t
hoop_pg_put_cancel(struct hoop_pg_buf *b, uint32_t pid, uint32_t secret)
{
	struct wr w;

	wr_begin(&w, b, 0);
	wr_u32(&w, HOOP_PG_CANCEL_CODE);
	wr_u32(&w, pid);
	wr_u32(&w, secret);
	return wr_end(&w, 0);
}

hoop_err_t
hoop_pg_put_query(struct hoop_pg_buf *b, const char *sql)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_F_QUERY);
	wr_str(&w, sql);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_parse(struct hoop_pg_buf *b, const char *name, const char *query,
    const uint32_t *types, size_t ntypes)
{
	struct wr w;
	size_t i;

	wr_begin(&w, b, HOOP_PG_F_PARSE);
	wr_str(&w, name);
	wr_str(&w, query);
	wr_count(&w, ntypes);
	for (i = 0; i < ntypes && w.err == HOOP_OK; i++)
		wr_u32(&w, types[i]);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_bind(struct hoop_pg_buf *b, const char *portal,
    const char *statement, const int16_t *formats, size_t nformats,
    const struct hoop_pg_value *params, size_t nparams,
    const int16_t *result_formats, size_t nresults)
{
	struct wr w;
	size_t i;

	wr_begin(&w, b, HOOP_PG_F_BIND);
	wr_str(&w, portal);
	wr_str(&w, statement);
	wr_formats(&w, formats, nformats);
	wr_count(&w, nparams);
	for (i = 0; i < nparams && w.err == HOOP_OK; i++)
		wr_value(&w, &params[i]);
	wr_formats(&w, result_formats, nresults);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_target(struct hoop_pg_buf *b, unsigned char type, char kind,
    const char *name)
{
	struct wr w;

	wr_begin(&w, b, type);
	if ((type != HOOP_PG_F_DESCRIBE && type != HOOP_PG_F_CLOSE) ||
	    (kind != 'S' && kind != 'P'))
		w.err = HOOP_ERR_INVAL;
	wr_u8(&w, (uint8_t)kind);
	wr_str(&w, name);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_execute(struct hoop_pg_buf *b, const char *portal,
    int32_t max_rows)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_F_EXECUTE);
	wr_str(&w, portal);
	wr_u32(&w, (uint32_t)max_rows);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_password(struct hoop_pg_buf *b, const char *password)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_F_PASSWORD);
	wr_str(&w, password);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_sasl_initial(struct hoop_pg_buf *b, const char *mechanism,
    const void *data, size_t len)
{
	struct wr w;

	wr_begin(&w, b, HOOP_PG_F_PASSWORD);
	if (mechanism == NULL || mechanism[0] == '\0' ||
	    (len > 0 && data == NULL))
		w.err = HOOP_ERR_INVAL;
	if (len > INT32_MAX && w.err == HOOP_OK)
		w.err = HOOP_ERR_TOOBIG;
	wr_str(&w, mechanism);
	wr_u32(&w, (uint32_t)len);
	wr_add(&w, data, len);
	return wr_end(&w, 1);
}

hoop_err_t
hoop_pg_put_sasl_response(struct hoop_pg_buf *b, const void *data,
    size_t len)
{
	return hoop_pg_put_message(b, HOOP_PG_F_PASSWORD, data, len);
}
