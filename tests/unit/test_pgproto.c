/* PostgreSQL protocol: framing, parsers, builders, SCRAM and md5. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_pgauth.h"
#include "hoop_pgproto.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- Raw messages, written by hand so hostile ones can be made ---- */

struct raw {
	unsigned char b[70000];
	size_t n;
	int typed;
};

static struct raw R;

static void
r_start(unsigned char type)
{
	R.n = 0;
	R.typed = type != 0;
	if (R.typed)
		R.b[R.n++] = type;
	R.n += 4;
}

static void
r_u8(unsigned v)
{
	R.b[R.n++] = (unsigned char)v;
}

static void
r_u16(unsigned v)
{
	r_u8(v >> 8);
	r_u8(v);
}

static void
r_u32(uint32_t v)
{
	r_u16(v >> 16);
	r_u16(v & 0xffff);
}

static void
r_mem(const void *p, size_t n)
{
	memcpy(R.b + R.n, p, n);
	R.n += n;
}

static void
r_str(const char *s)
{
	r_mem(s, strlen(s) + 1);
}

/* Writes the length word; returns the bytes. */
static size_t
r_end(void)
{
	size_t at = R.typed ? 1 : 0;
	uint32_t len = (uint32_t)(R.n - at);

	R.b[at] = (unsigned char)(len >> 24);
	R.b[at + 1] = (unsigned char)(len >> 16);
	R.b[at + 2] = (unsigned char)(len >> 8);
	R.b[at + 3] = (unsigned char)len;
	return R.n;
}

/* The message in a heap block of exactly its size, so that any read
 * past it trips ASan; the block lives until the next call. */
static unsigned char *held;

static int
frame_bytes(const void *p, size_t n, struct hoop_pg_msg *m)
{
	char why[256];

	free(held);
	held = malloc(n > 0 ? n : 1);
	memcpy(held, p, n);
	if (R.typed)
		return hoop_pg_frame(held, n, 0, m, NULL, why, sizeof(why)) ==
		    HOOP_PG_FRAME_OK;
	return hoop_pg_frame_startup(held, n, m, NULL, why, sizeof(why)) ==
	    HOOP_PG_FRAME_OK;
}

static int
frame_raw(struct hoop_pg_msg *m)
{
	return frame_bytes(R.b, r_end(), m);
}

/* A built message framed from a buffer's start. */
static int
frame_buf(const struct hoop_pg_buf *b, int typed, struct hoop_pg_msg *m)
{
	R.typed = typed;
	return frame_bytes(b->data, b->len, m) && m->size == b->len;
}

/* ---- Framing ---- */

static void
test_frame(void)
{
	unsigned char hdr[5] = { 'Q', 0, 0, 0, 0 }, two[64];
	struct hoop_pg_msg m;
	size_t need = 0, i, off;
	char why[256] = "";
	int rc;

	for (i = 0; i < 5; i++) {
		rc = hoop_pg_frame(hdr, i, 0, &m, &need, why, sizeof(why));
		ok(rc == HOOP_PG_FRAME_MORE && need == 5,
		    "frame: %zu bytes need the header", i);
	}
	/* Length 3: shorter than the length word itself. */
	hdr[4] = 3;
	ok(hoop_pg_frame(hdr, 5, 0, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "frame: length 3 refused (%s)", why);
	hdr[4] = 0;
	ok(hoop_pg_frame(hdr, 5, 0, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "frame: length 0 refused");
	hdr[1] = 0x80;
	ok(hoop_pg_frame(hdr, 5, 0, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "frame: negative length refused");
	hdr[1] = 0xff; hdr[2] = 0xff; hdr[3] = 0xff; hdr[4] = 0xff;
	ok(hoop_pg_frame(hdr, 5, 0, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "frame: length -1 refused");
	/* Just over the default limit: refused from the header alone. */
	hdr[1] = 0x04; hdr[2] = 0; hdr[3] = 0; hdr[4] = 1;
	ok(hoop_pg_frame(hdr, 5, 0, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "frame: 64 MiB + 1 refused by default (%s)",
	    why);
	hdr[4] = 0;
	rc = hoop_pg_frame(hdr, 5, 0, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_MORE && need == (64u << 20) + 1,
	    "frame: exactly 64 MiB waits for its bytes");
	hdr[1] = 0; hdr[2] = 0; hdr[3] = 0; hdr[4] = 101;
	ok(hoop_pg_frame(hdr, 5, 100, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "frame: over a configured limit refused");
	hdr[4] = 100;
	rc = hoop_pg_frame(hdr, 5, 100, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_MORE && need == 101,
	    "frame: at the configured limit, need the whole message");

	/* Two messages back to back, offered a byte at a time. */
	r_start('Q');
	r_str("SELECT 1");
	r_end();
	memcpy(two, R.b, R.n);
	off = R.n;
	r_start('X');
	r_end();
	memcpy(two + off, R.b, R.n);
	off += R.n;
	for (i = 0; i < off - 5; i++) {
		rc = hoop_pg_frame(two, i, 0, &m, &need, why, sizeof(why));
		if (rc != HOOP_PG_FRAME_MORE || need <= i)
			break;
	}
	rc = hoop_pg_frame(two, i, 0, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_OK && i == 14 && m.type == 'Q' &&
	    m.len == 9 && m.size == 14 && memcmp(m.body, "SELECT 1", 9) == 0,
	    "frame: first message whole at its last byte");
	rc = hoop_pg_frame(two + m.size, off - m.size, 0, &m, &need, why,
	    sizeof(why));
	ok(rc == HOOP_PG_FRAME_OK && m.type == 'X' && m.len == 0 &&
	    m.size == 5, "frame: then Terminate");
}

static void
test_frame_startup(void)
{
	unsigned char p[16] = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";
	size_t need = 0;
	int rc;

	rc = hoop_pg_frame_startup(p, 3, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_MORE && need == 4, "startup: need 4 bytes");
	p[3] = 7;
	ok(hoop_pg_frame_startup(p, 16, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "startup: length 7 refused (%s)", why);
	p[3] = 8;
	rc = hoop_pg_frame_startup(p, 7, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_MORE && need == 8, "startup: need 8");
	rc = hoop_pg_frame_startup(p, 16, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_OK && m.len == 4 && m.size == 8 && m.type == 0,
	    "startup: 8-byte packet framed");
	p[2] = 0x27; p[3] = 0x14;	/* 10004: 10000 after the length */
	rc = hoop_pg_frame_startup(p, 16, &m, &need, why, sizeof(why));
	ok(rc == HOOP_PG_FRAME_MORE && need == 10004,
	    "startup: 10000 bytes of body allowed");
	p[3] = 0x15;
	ok(hoop_pg_frame_startup(p, 16, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "startup: 10001 bytes of body refused");
	p[0] = 0xff;
	ok(hoop_pg_frame_startup(p, 16, &m, &need, why, sizeof(why)) ==
	    HOOP_PG_FRAME_ERROR, "startup: negative length refused");
}

/* ---- Startup packets ---- */

static void
test_startup(void)
{
	struct hoop_pg_param params[] = {
		{ "user", "alice" }, { "database", "prod" },
		{ "application_name", "" },
	};
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_startup s;
	struct hoop_pg_msg m;
	char why[256] = "", name[16];
	int i;

	ok(hoop_pg_put_startup(&b, params, NELEM(params)) == HOOP_OK &&
	    frame_buf(&b, 0, &m) &&
	    hoop_pg_parse_startup(&m, &s, why, sizeof(why)) == HOOP_OK &&
	    s.kind == HOOP_PG_STARTUP_MESSAGE &&
	    s.version == HOOP_PG_PROTOCOL_3_0 && s.nparams == 3,
	    "startup: built and parsed (%s)", why);
	ok(strcmp(hoop_pg_startup_get(&s, "user"), "alice") == 0 &&
	    strcmp(hoop_pg_startup_get(&s, "application_name"), "") == 0 &&
	    hoop_pg_startup_get(&s, "options") == NULL,
	    "startup: parameters found by name");
	b.len = 0;
	ok(hoop_pg_put_request(&b, HOOP_PG_SSL_CODE) == HOOP_OK &&
	    b.len == 8 && frame_buf(&b, 0, &m) &&
	    hoop_pg_parse_startup(&m, &s, why, sizeof(why)) == HOOP_OK &&
	    s.kind == HOOP_PG_STARTUP_SSL, "startup: SSLRequest");
	b.len = 0;
	ok(hoop_pg_put_request(&b, HOOP_PG_GSSENC_CODE) == HOOP_OK &&
	    frame_buf(&b, 0, &m) &&
	    hoop_pg_parse_startup(&m, &s, why, sizeof(why)) == HOOP_OK &&
	    s.kind == HOOP_PG_STARTUP_GSSENC, "startup: GSSENCRequest");
	b.len = 0;
	ok(hoop_pg_put_request(&b, 1234) == HOOP_ERR_INVAL && b.len == 0,
	    "startup: unknown request code not built");
	ok(hoop_pg_put_cancel(&b, 4242, 0xdeadbeef) == HOOP_OK &&
	    b.len == 16 && frame_buf(&b, 0, &m) &&
	    hoop_pg_parse_startup(&m, &s, why, sizeof(why)) == HOOP_OK &&
	    s.kind == HOOP_PG_STARTUP_CANCEL && s.pid == 4242 &&
	    s.secret == 0xdeadbeef, "startup: CancelRequest with pid and key");
	hoop_pg_buf_free(&b);

	r_start(0);
	r_u32(HOOP_PG_CANCEL_CODE);
	r_u32(1);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: short CancelRequest refused (%s)", why);
	r_start(0);
	r_u32(HOOP_PG_SSL_CODE);
	r_u32(0);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: SSLRequest with extra bytes refused");
	r_start(0);
	r_u32(0x00020000);
	r_str("user");
	r_str("x");
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: protocol 2.0 refused (%s)", why);
	r_start(0);
	r_u32(0x00030002);
	r_str("user");
	r_str("x");
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_OK && s.version == 0x00030002,
	    "startup: protocol 3.2 reported for the caller to decide");
	r_start(0);
	r_u32(HOOP_PG_PROTOCOL_3_0);
	r_str("user");
	r_str("alice");
	r_str("user");
	r_str("postgres");
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: a parameter given twice refused (%s)",
	    why);
	r_start(0);
	r_u32(HOOP_PG_PROTOCOL_3_0);
	r_str("user");
	r_str("alice");
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: list without its terminator refused");
	r_start(0);
	r_u32(HOOP_PG_PROTOCOL_3_0);
	r_str("user");
	r_mem("alice", 5);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: value without its NUL refused");
	r_start(0);
	r_u32(HOOP_PG_PROTOCOL_3_0);
	r_str("user");
	r_str("alice");
	r_u8(0);
	r_str("database");
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: bytes after the terminator refused");
	r_start(0);
	r_u32(HOOP_PG_PROTOCOL_3_0);
	for (i = 0; i <= HOOP_PG_STARTUP_MAX_PARAMS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		r_str(name);
		r_str("v");
	}
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_startup(&m, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "startup: more than %d parameters refused",
	    HOOP_PG_STARTUP_MAX_PARAMS);
	m.type = 'Q';
	ok(hoop_pg_parse_startup(&m, &s, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "startup: typed message refused");
}

static void
test_startup_too_big(void)
{
	struct hoop_pg_param p = { "options", NULL };
	struct hoop_pg_buf b = { 0 };
	char *big = malloc(10001);

	memset(big, 'a', 10000);
	big[10000] = '\0';
	p.value = big;
	ok(hoop_pg_put_startup(&b, &p, 1) == HOOP_ERR_TOOBIG && b.len == 0,
	    "startup: a packet over 10000 bytes is not built");
	big[9970] = '\0';
	ok(hoop_pg_put_startup(&b, &p, 1) == HOOP_OK && b.len <= 10004,
	    "startup: one just under it is");
	free(big);
	hoop_pg_buf_free(&b);
}

/* ---- Frontend ---- */

static void
test_query(void)
{
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_query q;
	struct hoop_pg_msg m;
	char why[256] = "";

	ok(hoop_pg_put_query(&b, "SELECT 1; SELECT 2") == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_query(&m, &q, why, sizeof(why)) == HOOP_OK &&
	    strcmp(q.sql, "SELECT 1; SELECT 2") == 0 && q.sql_len == 18,
	    "Query: round trip");
	hoop_pg_buf_free(&b);
	r_start('Q');
	r_mem("SELECT 1", 8);
	ok(frame_raw(&m) && hoop_pg_parse_query(&m, &q, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Query: no NUL refused (%s)", why);
	r_start('Q');
	r_str("SELECT 1");
	r_str("DROP TABLE t");
	ok(frame_raw(&m) && hoop_pg_parse_query(&m, &q, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Query: text hidden after a NUL refused (%s)",
	    why);
	r_start('Q');
	ok(frame_raw(&m) && hoop_pg_parse_query(&m, &q, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Query: empty body refused");
	r_start('P');
	r_str("SELECT 1");
	ok(frame_raw(&m) && hoop_pg_parse_query(&m, &q, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Query: another type refused");
}

static void
test_parse(void)
{
	uint32_t types[] = { 23, 0, 25 };
	struct hoop_pg_parse p = { 0 };
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";

	ok(hoop_pg_put_parse(&b, "s1", "SELECT $1, $2, $3", types, 3) ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_parse(&m, &p, why, sizeof(why)) == HOOP_OK &&
	    strcmp(p.name, "s1") == 0 &&
	    strcmp(p.query, "SELECT $1, $2, $3") == 0 && p.query_len == 17 &&
	    p.nparams == 3 && p.param_types[0] == 23 &&
	    p.param_types[1] == 0 && p.param_types[2] == 25,
	    "Parse: round trip");
	hoop_pg_buf_free(&b);
	r_start('P');
	r_str("");
	r_str("SELECT 1");
	r_u16(65535);
	r_u32(23);
	ok(frame_raw(&m) && hoop_pg_parse_parse(&m, &p, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && p.nparams == 0,
	    "Parse: count larger than the message refused (%s)", why);
	r_start('P');
	r_str("");
	r_str("SELECT 1");
	r_u16(1);
	r_u16(23);
	ok(frame_raw(&m) && hoop_pg_parse_parse(&m, &p, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Parse: truncated type refused");
	r_start('P');
	r_str("");
	r_str("SELECT 1");
	r_u16(0);
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_parse(&m, &p, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Parse: trailing byte refused (%s)", why);
	r_start('P');
	r_mem("stmt", 4);
	ok(frame_raw(&m) && hoop_pg_parse_parse(&m, &p, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Parse: name without NUL refused");
	r_start('P');
	r_str("s");
	r_str("SELECT 1");
	ok(frame_raw(&m) && hoop_pg_parse_parse(&m, &p, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Parse: missing count refused");
	hoop_pg_parse_release(&p);
}

static void
test_bind(void)
{
	struct hoop_pg_value vals[] = {
		{ (const unsigned char *)"42", 2 }, { NULL, -1 },
		{ (const unsigned char *)"\0\1\2", 3 }, { NULL, 0 },
	};
	int16_t fmts[] = { 0, 0, 1, 0 }, rfmts[] = { 1 };
	struct hoop_pg_bind bd = { 0 };
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";

	ok(hoop_pg_put_bind(&b, "p1", "s1", fmts, 4, vals, 4, rfmts, 1) ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) == HOOP_OK,
	    "Bind: round trip (%s)", why);
	ok(strcmp(bd.portal, "p1") == 0 && strcmp(bd.statement, "s1") == 0 &&
	    bd.nformats == 4 && bd.formats[2] == 1 && bd.nparams == 4 &&
	    bd.params[0].len == 2 && memcmp(bd.params[0].data, "42", 2) == 0 &&
	    bd.params[1].len == -1 && bd.params[1].data == NULL &&
	    bd.params[2].len == 3 &&
	    memcmp(bd.params[2].data, "\0\1\2", 3) == 0 &&
	    bd.params[3].len == 0 && bd.nresults == 1 &&
	    bd.result_formats[0] == 1, "Bind: every part as sent");
	b.len = 0;
	ok(hoop_pg_put_bind(&b, "", "", NULL, 0, NULL, 0, NULL, 0) ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) == HOOP_OK &&
	    bd.nparams == 0 && bd.nformats == 0 && bd.nresults == 0,
	    "Bind: no parameters");
	hoop_pg_buf_free(&b);

	r_start('B');
	r_str("");
	r_str("");
	r_u16(0);
	r_u16(1);
	r_u32((uint32_t)-2);
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: length -2 refused (%s)", why);
	r_start('B');
	r_str("");
	r_str("");
	r_u16(0);
	r_u16(1);
	r_u32(100);
	r_mem("abc", 3);
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: value longer than the message refused");
	r_start('B');
	r_str("");
	r_str("");
	r_u16(0);
	r_u16(1);
	r_u32(0x7fffffff);
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: value length INT32_MAX refused");
	r_start('B');
	r_str("");
	r_str("");
	r_u16(1);
	r_u16(2);
	r_u16(0);
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: format code 2 refused (%s)", why);
	r_start('B');
	r_str("");
	r_str("");
	r_u16(2);
	r_u16(0);
	r_u16(0);
	r_u16(3);
	r_u32(1); r_u8('a');
	r_u32(1); r_u8('b');
	r_u32(1); r_u8('c');
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: 2 formats for 3 parameters refused (%s)",
	    why);
	r_start('B');
	r_str("");
	r_str("");
	r_u16(0);
	r_u16(65535);
	r_u32(0);
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: 65535 parameters in a short message "
	    "refused");
	r_start('B');
	r_str("");
	r_str("");
	r_u16(0);
	r_u16(0);
	r_u16(0);
	r_u8(1);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: trailing byte refused");
	r_start('B');
	r_str("");
	r_str("");
	r_u16(0);
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_bind(&m, &bd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Bind: missing result formats refused");
	hoop_pg_bind_release(&bd);
}

static void
test_describe_close_execute(void)
{
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_execute e;
	struct hoop_pg_target t;
	struct hoop_pg_msg m;
	char why[256] = "";

	ok(hoop_pg_put_target(&b, HOOP_PG_F_DESCRIBE, 'S', "s1") == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_describe(&m, &t, why, sizeof(why)) == HOOP_OK &&
	    t.kind == 'S' && strcmp(t.name, "s1") == 0, "Describe: statement");
	b.len = 0;
	ok(hoop_pg_put_target(&b, HOOP_PG_F_CLOSE, 'P', "") == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_close(&m, &t, why, sizeof(why)) == HOOP_OK &&
	    t.kind == 'P' && t.name[0] == '\0', "Close: unnamed portal");
	ok(hoop_pg_parse_describe(&m, &t, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Describe: a Close message refused");
	b.len = 0;
	ok(hoop_pg_put_target(&b, HOOP_PG_F_CLOSE, 'X', "") ==
	    HOOP_ERR_INVAL && b.len == 0, "Close: kind X not built");
	ok(hoop_pg_put_execute(&b, "p", 100) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_execute(&m, &e, why, sizeof(why)) == HOOP_OK &&
	    strcmp(e.portal, "p") == 0 && e.max_rows == 100,
	    "Execute: round trip");
	hoop_pg_buf_free(&b);
	r_start('D');
	r_u8('X');
	r_str("s");
	ok(frame_raw(&m) && hoop_pg_parse_describe(&m, &t, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Describe: kind X refused (%s)", why);
	r_start('D');
	r_u8('S');
	r_mem("s", 1);
	ok(frame_raw(&m) && hoop_pg_parse_describe(&m, &t, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Describe: name without NUL refused");
	r_start('D');
	ok(frame_raw(&m) && hoop_pg_parse_describe(&m, &t, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Describe: empty refused");
	r_start('E');
	r_str("");
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_execute(&m, &e, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Execute: truncated row limit refused");
}

static void
test_function_call(void)
{
	struct hoop_pg_function_call f = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";

	r_start('F');
	r_u32(2245);
	r_u16(1);
	r_u16(0);
	r_u16(2);
	r_u32(3); r_mem("abc", 3);
	r_u32((uint32_t)-1);
	r_u16(1);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_function_call(&m, &f, why, sizeof(why)) == HOOP_OK &&
	    f.oid == 2245 && f.nformats == 1 && f.nargs == 2 &&
	    f.args[0].len == 3 && f.args[1].len == -1 &&
	    f.result_format == 1, "FunctionCall: parsed (%s)", why);
	r_start('F');
	r_u32(2245);
	r_u16(0);
	r_u16(2);
	r_u32(3); r_mem("abc", 3);
	r_u16(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_function_call(&m, &f, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "FunctionCall: missing argument refused (%s)",
	    why);
	r_start('F');
	r_u32(2245);
	r_u16(0);
	r_u16(0);
	r_u16(7);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_function_call(&m, &f, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "FunctionCall: result format 7 refused");
	hoop_pg_function_call_release(&f);
}

static void
test_small_frontend(void)
{
	struct hoop_pg_sasl_initial si;
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";
	const char *s = NULL;
	size_t n = 0;

	ok(hoop_pg_put_empty(&b, HOOP_PG_F_SYNC) == HOOP_OK && b.len == 5 &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_empty(&m, HOOP_PG_F_SYNC, why, sizeof(why)) ==
	    HOOP_OK, "Sync: round trip");
	ok(hoop_pg_parse_empty(&m, HOOP_PG_F_TERMINATE, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Sync is not Terminate");
	r_start('S');
	r_u8(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_empty(&m, HOOP_PG_F_SYNC, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "Sync: with a body refused");
	b.len = 0;
	ok(hoop_pg_put_password(&b, "hunter2") == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_string(&m, HOOP_PG_F_PASSWORD, &s, &n, why,
	    sizeof(why)) == HOOP_OK && strcmp(s, "hunter2") == 0 && n == 7,
	    "PasswordMessage: round trip");
	hoop_pg_buf_wipe(&b);
	ok(b.len == 0 && b.data[0] == 0 && b.data[6] == 0,
	    "buffer: wiped after a password");
	ok(hoop_pg_put_sasl_initial(&b, "SCRAM-SHA-256", "n,,n=,r=abc", 11) ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_sasl_initial(&m, &si, why, sizeof(why)) == HOOP_OK &&
	    strcmp(si.mechanism, "SCRAM-SHA-256") == 0 && si.data_len == 11 &&
	    memcmp(si.data, "n,,n=,r=abc", 11) == 0,
	    "SASLInitialResponse: round trip");
	b.len = 0;
	ok(hoop_pg_put_sasl_response(&b, "c=biws", 6) == HOOP_OK &&
	    frame_buf(&b, 1, &m) && m.type == 'p' && m.len == 6,
	    "SASLResponse: raw bytes");
	hoop_pg_buf_free(&b);
	r_start('p');
	r_str("SCRAM-SHA-256");
	r_u32((uint32_t)-1);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_sasl_initial(&m, &si, why, sizeof(why)) == HOOP_OK &&
	    si.data_len == -1 && si.data == NULL,
	    "SASLInitialResponse: no initial response");
	r_start('p');
	r_str("SCRAM-SHA-256");
	r_u32(20);
	r_mem("n,,", 3);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_sasl_initial(&m, &si, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASLInitialResponse: length past the end "
	    "refused");
	r_start('p');
	r_str("SCRAM-SHA-256");
	r_u32((uint32_t)-5);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_sasl_initial(&m, &si, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASLInitialResponse: length -5 refused");
	r_start('p');
	r_str("");
	r_u32(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_sasl_initial(&m, &si, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASLInitialResponse: empty mechanism refused");
	r_start('f');
	r_str("aborted by user");
	ok(frame_raw(&m) &&
	    hoop_pg_parse_string(&m, HOOP_PG_F_COPY_FAIL, &s, &n, why,
	    sizeof(why)) == HOOP_OK && n == 15, "CopyFail: parsed");
	r_start('f');
	r_str("a");
	r_u8('b');
	ok(frame_raw(&m) &&
	    hoop_pg_parse_string(&m, HOOP_PG_F_COPY_FAIL, &s, &n, why,
	    sizeof(why)) == HOOP_ERR_INVAL, "CopyFail: trailing byte refused");
}

/* ---- Backend ---- */

static void
test_auth(void)
{
	const char *mechs[] = { "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256" };
	unsigned char salt[4] = { 1, 2, 3, 0xfe };
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_auth a;
	struct hoop_pg_msg m;
	char why[256] = "";

	ok(hoop_pg_put_auth(&b, HOOP_PG_AUTH_OK) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_auth(&m, &a, why, sizeof(why)) == HOOP_OK &&
	    a.code == HOOP_PG_AUTH_OK, "AuthenticationOk");
	b.len = 0;
	ok(hoop_pg_put_auth(&b, HOOP_PG_AUTH_CLEARTEXT) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_auth(&m, &a, why, sizeof(why)) == HOOP_OK &&
	    a.code == HOOP_PG_AUTH_CLEARTEXT,
	    "AuthenticationCleartextPassword");
	b.len = 0;
	ok(hoop_pg_put_auth_md5(&b, salt) == HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_auth(&m, &a, why, sizeof(why)) == HOOP_OK &&
	    a.code == HOOP_PG_AUTH_MD5 && memcmp(a.salt, salt, 4) == 0,
	    "AuthenticationMD5Password with its salt");
	b.len = 0;
	ok(hoop_pg_put_auth_sasl(&b, mechs, 2) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_auth(&m, &a, why, sizeof(why)) == HOOP_OK &&
	    a.code == HOOP_PG_AUTH_SASL &&
	    hoop_pg_auth_has_mechanism(&a, "SCRAM-SHA-256") &&
	    hoop_pg_auth_has_mechanism(&a, "SCRAM-SHA-256-PLUS") &&
	    !hoop_pg_auth_has_mechanism(&a, "SCRAM-SHA-1") &&
	    !hoop_pg_auth_has_mechanism(&a, ""),
	    "AuthenticationSASL with its mechanisms");
	b.len = 0;
	ok(hoop_pg_put_auth_data(&b, HOOP_PG_AUTH_SASL_CONTINUE, "r=x", 3) ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_auth(&m, &a, why, sizeof(why)) == HOOP_OK &&
	    a.code == HOOP_PG_AUTH_SASL_CONTINUE && a.data_len == 3 &&
	    memcmp(a.data, "r=x", 3) == 0, "AuthenticationSASLContinue");
	b.len = 0;
	ok(hoop_pg_put_auth_data(&b, HOOP_PG_AUTH_SASL_FINAL, "v=x", 3) ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_auth(&m, &a, why, sizeof(why)) == HOOP_OK &&
	    a.code == HOOP_PG_AUTH_SASL_FINAL && a.data_len == 3,
	    "AuthenticationSASLFinal");
	b.len = 0;
	ok(hoop_pg_put_auth_data(&b, HOOP_PG_AUTH_OK, "x", 1) ==
	    HOOP_ERR_INVAL && b.len == 0, "auth data: only for *Continue, "
	    "Final");
	ok(hoop_pg_put_auth_sasl(&b, mechs, 0) == HOOP_ERR_INVAL && b.len == 0,
	    "AuthenticationSASL: no mechanism not built");
	hoop_pg_buf_free(&b);

	r_start('R');
	r_u32(HOOP_PG_AUTH_SASL);
	r_str("SCRAM-SHA-256");
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASL list without its end refused (%s)", why);
	r_start('R');
	r_u32(HOOP_PG_AUTH_SASL);
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASL list with no mechanism refused");
	r_start('R');
	r_u32(HOOP_PG_AUTH_SASL);
	r_mem("SCRAM", 5);
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASL mechanism without NUL refused");
	r_start('R');
	r_u32(HOOP_PG_AUTH_SASL);
	r_str("SCRAM-SHA-256");
	r_u8(0);
	r_u8('x');
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "SASL list with trailing bytes refused");
	r_start('R');
	r_u32(HOOP_PG_AUTH_MD5);
	r_mem("abc", 3);
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "MD5 with a 3-byte salt refused");
	r_start('R');
	r_u32(HOOP_PG_AUTH_OK);
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "AuthenticationOk with a byte more refused");
	r_start('R');
	r_u32(4);
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "unknown request 4 (crypt) refused (%s)", why);
	r_start('R');
	r_u16(0);
	ok(frame_raw(&m) && hoop_pg_parse_auth(&m, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "truncated code refused");
}

static void
test_small_backend(void)
{
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_param ps;
	struct hoop_pg_msg m;
	uint32_t pid = 0, key = 0;
	char why[256] = "", st = 0;
	const char *s = NULL;
	size_t n = 0;

	ok(hoop_pg_put_parameter_status(&b, "server_version", "15.2") ==
	    HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_parameter_status(&m, &ps, why, sizeof(why)) ==
	    HOOP_OK && strcmp(ps.name, "server_version") == 0 &&
	    strcmp(ps.value, "15.2") == 0, "ParameterStatus: round trip");
	b.len = 0;
	ok(hoop_pg_put_backend_key(&b, 77, 0x80000001u) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_backend_key(&m, &pid, &key, why, sizeof(why)) ==
	    HOOP_OK && pid == 77 && key == 0x80000001u,
	    "BackendKeyData: round trip");
	b.len = 0;
	ok(hoop_pg_put_ready(&b, 'T') == HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_ready(&m, &st, why, sizeof(why)) == HOOP_OK &&
	    st == 'T', "ReadyForQuery: round trip");
	b.len = 0;
	ok(hoop_pg_put_ready(&b, 'X') == HOOP_ERR_INVAL && b.len == 0,
	    "ReadyForQuery: status X not built");
	ok(hoop_pg_put_command_complete(&b, "SELECT 3") == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_string(&m, HOOP_PG_B_COMMAND_COMPLETE, &s, &n, why,
	    sizeof(why)) == HOOP_OK && strcmp(s, "SELECT 3") == 0,
	    "CommandComplete: round trip");
	b.len = 0;
	ok(hoop_pg_put_empty(&b, HOOP_PG_B_EMPTY_QUERY) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_empty(&m, HOOP_PG_B_EMPTY_QUERY, why, sizeof(why)) ==
	    HOOP_OK, "EmptyQueryResponse: round trip");
	hoop_pg_buf_free(&b);
	r_start('Z');
	r_u8('X');
	ok(frame_raw(&m) && hoop_pg_parse_ready(&m, &st, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ReadyForQuery: status X refused");
	r_start('Z');
	r_u8('I');
	r_u8('I');
	ok(frame_raw(&m) && hoop_pg_parse_ready(&m, &st, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ReadyForQuery: 2 bytes refused");
	r_start('Z');
	ok(frame_raw(&m) && hoop_pg_parse_ready(&m, &st, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ReadyForQuery: empty refused");
	r_start('K');
	r_u32(1);
	r_u32(2);
	r_u32(3);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_backend_key(&m, &pid, &key, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "BackendKeyData: a longer key refused (3.0)");
	r_start('S');
	r_str("name");
	ok(frame_raw(&m) &&
	    hoop_pg_parse_parameter_status(&m, &ps, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ParameterStatus: missing value refused");
}

static void
test_row_description(void)
{
	struct hoop_pg_field f[] = {
		{ "id", 16384, 1, 23, 4, -1, 0 },
		{ "email", 16384, 3, 25, -1, -1, 0 },
		{ "?column?", 0, 0, 17, -1, -1, 1 },
	};
	struct hoop_pg_row_description rd = { 0 };
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";
	int same = 1;
	size_t i;

	ok(hoop_pg_put_row_description(&b, f, 3) == HOOP_OK &&
	    frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_row_description(&m, &rd, why, sizeof(why)) ==
	    HOOP_OK && rd.nfields == 3, "RowDescription: round trip");
	for (i = 0; i < 3 && rd.nfields == 3; i++) {
		same &= strcmp(rd.fields[i].name, f[i].name) == 0 &&
		    rd.fields[i].table_oid == f[i].table_oid &&
		    rd.fields[i].attnum == f[i].attnum &&
		    rd.fields[i].type_oid == f[i].type_oid &&
		    rd.fields[i].typlen == f[i].typlen &&
		    rd.fields[i].typmod == f[i].typmod &&
		    rd.fields[i].format == f[i].format;
	}
	ok(same, "RowDescription: every attribute as sent");
	f[0].format = 2;
	b.len = 0;
	ok(hoop_pg_put_row_description(&b, f, 3) == HOOP_ERR_INVAL &&
	    b.len == 0, "RowDescription: format 2 not built");
	hoop_pg_buf_free(&b);
	r_start('T');
	r_u16(2);
	r_str("a");
	r_u32(0); r_u16(0); r_u32(23); r_u16(4); r_u32(-1); r_u16(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_row_description(&m, &rd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && rd.nfields == 0,
	    "RowDescription: count larger than the fields refused (%s)", why);
	r_start('T');
	r_u16(1);
	r_str("a");
	r_u32(0); r_u16(0); r_u32(23); r_u16(4); r_u32(-1); r_u16(2);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_row_description(&m, &rd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "RowDescription: format 2 refused");
	r_start('T');
	r_u16(1);
	r_mem("abcdefghijklmnopqrstuvwxyz", 26);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_row_description(&m, &rd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "RowDescription: name without NUL refused");
	r_start('T');
	r_u16(0);
	r_u8(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_row_description(&m, &rd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "RowDescription: trailing byte refused");
	hoop_pg_row_description_release(&rd);
}

static void
test_data_row(void)
{
	struct hoop_pg_value v[] = {
		{ (const unsigned char *)"1", 1 }, { NULL, -1 },
		{ (const unsigned char *)"", 0 },
		{ (const unsigned char *)"a\0b", 3 },
	}, masked[2];
	struct hoop_pg_data_row row = { 0 };
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	unsigned char *big;
	char why[256] = "";
	size_t cap;

	ok(hoop_pg_put_data_row(&b, v, 4) == HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) == HOOP_OK &&
	    row.ncols == 4 && row.values[0].len == 1 &&
	    row.values[0].data[0] == '1' && row.values[1].len == -1 &&
	    row.values[1].data == NULL && row.values[2].len == 0 &&
	    row.values[3].len == 3 && memcmp(row.values[3].data, "a\0b", 3) ==
	    0, "DataRow: round trip with NULL, empty and a NUL byte");
	/* Masking: a row rebuilt from parsed values, one of them changed,
	 * gets the right lengths. */
	masked[0] = row.values[0];
	masked[1].data = (const unsigned char *)"****";
	masked[1].len = 4;
	cap = row.values_cap;
	b.len = 0;
	ok(hoop_pg_put_data_row(&b, masked, 2) == HOOP_OK &&
	    frame_buf(&b, 1, &m) && m.len == 2 + 4 + 1 + 4 + 4 &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) == HOOP_OK &&
	    row.ncols == 2 && row.values[1].len == 4 &&
	    memcmp(row.values[1].data, "****", 4) == 0 &&
	    row.values_cap == cap, "DataRow: rebuilt row, storage reused");
	b.len = 0;
	v[0].len = -2;
	ok(hoop_pg_put_data_row(&b, v, 4) == HOOP_ERR_INVAL && b.len == 0,
	    "DataRow: length -2 not built, buffer unchanged");
	v[0].len = 1;
	v[0].data = NULL;
	ok(hoop_pg_put_data_row(&b, v, 4) == HOOP_ERR_INVAL && b.len == 0,
	    "DataRow: a length without data not built");
	/* A 1 MiB value. */
	big = malloc(1 << 20);
	memset(big, 'x', 1 << 20);
	v[0].data = big;
	v[0].len = 1 << 20;
	ok(hoop_pg_put_data_row(&b, v, 1) == HOOP_OK && frame_buf(&b, 1, &m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) == HOOP_OK &&
	    row.values[0].len == 1 << 20 && row.values[0].data[12345] == 'x',
	    "DataRow: a 1 MiB value");
	free(big);
	hoop_pg_buf_free(&b);

	r_start('D');
	r_u16(1);
	r_u32((uint32_t)-2);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && row.ncols == 0, "DataRow: length -2 refused");
	r_start('D');
	r_u16(1);
	r_u32(5);
	r_mem("abcd", 4);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "DataRow: value past the end refused (%s)", why);
	r_start('D');
	r_u16(1);
	r_u32(0x80000000u);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "DataRow: length INT32_MIN refused");
	r_start('D');
	r_u16(3);
	r_u32(1); r_u8('a');
	r_u32(1); r_u8('b');
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "DataRow: fewer columns than counted refused");
	r_start('D');
	r_u16(1);
	r_u32(1); r_u8('a');
	r_u32(1); r_u8('b');
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "DataRow: a column more than counted refused");
	r_start('D');
	r_u16(65535);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "DataRow: 65535 columns in 2 bytes refused");
	r_start('D');
	r_u8(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_data_row(&m, &row, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "DataRow: truncated count refused");
	hoop_pg_data_row_release(&row);
}

static void
test_notice(void)
{
	struct hoop_pg_notice n;
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	char why[256] = "";

	ok(hoop_pg_put_error(&b, "ERROR", "42501", "refused by rule reads",
	    "DELETE is a write", "ask for approval") == HOOP_OK &&
	    frame_buf(&b, 1, &m) && m.type == 'E' &&
	    hoop_pg_parse_notice(&m, &n, why, sizeof(why)) == HOOP_OK &&
	    strcmp(n.field['S'], "ERROR") == 0 &&
	    strcmp(n.field['V'], "ERROR") == 0 &&
	    strcmp(n.field['C'], "42501") == 0 &&
	    strcmp(n.field['M'], "refused by rule reads") == 0 &&
	    strcmp(n.field['D'], "DELETE is a write") == 0 &&
	    strcmp(n.field['H'], "ask for approval") == 0 &&
	    n.field['P'] == NULL, "ErrorResponse: round trip");
	b.len = 0;
	ok(hoop_pg_put_notice(&b, 'N', "NOTICE", "00000", "hello", NULL,
	    NULL) == HOOP_OK && frame_buf(&b, 1, &m) && m.type == 'N' &&
	    hoop_pg_parse_notice(&m, &n, why, sizeof(why)) == HOOP_OK &&
	    n.field['D'] == NULL && n.field['H'] == NULL,
	    "NoticeResponse: round trip without detail and hint");
	b.len = 0;
	ok(hoop_pg_put_error(&b, "ERROR", "425", "x", NULL, NULL) ==
	    HOOP_ERR_INVAL && b.len == 0, "ErrorResponse: short SQLSTATE not "
	    "built");
	ok(hoop_pg_put_error(&b, "ERROR", "42501", NULL, NULL, NULL) ==
	    HOOP_ERR_INVAL && b.len == 0, "ErrorResponse: no message not "
	    "built");
	hoop_pg_buf_free(&b);
	r_start('E');
	r_u8('S'); r_str("ERROR");
	r_u8('C'); r_str("42501");
	r_u8('M'); r_str("x");
	ok(frame_raw(&m) && hoop_pg_parse_notice(&m, &n, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ErrorResponse: missing terminator refused (%s)",
	    why);
	r_start('E');
	r_u8('S'); r_str("ERROR");
	r_u8('C'); r_str("42501");
	r_u8('M'); r_str("x");
	r_u8('M'); r_str("y");
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_notice(&m, &n, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ErrorResponse: a field twice refused");
	r_start('E');
	r_u8('S'); r_str("ERROR");
	r_u8('C'); r_str("42501");
	r_u8(0);
	ok(frame_raw(&m) && hoop_pg_parse_notice(&m, &n, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ErrorResponse: no message refused");
	r_start('E');
	r_u8('S'); r_str("ERROR");
	r_u8('C'); r_str("42501");
	r_u8('M'); r_mem("xyz", 3);
	ok(frame_raw(&m) && hoop_pg_parse_notice(&m, &n, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ErrorResponse: value without NUL refused");
	r_start('E');
	r_u8('S'); r_str("ERROR");
	r_u8('C'); r_str("42501");
	r_u8('M'); r_str("x");
	r_u8(0);
	r_u8('x');
	ok(frame_raw(&m) && hoop_pg_parse_notice(&m, &n, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ErrorResponse: trailing byte refused");
}

static void
test_copy_and_others(void)
{
	struct hoop_pg_parameter_description pd = { 0 };
	struct hoop_pg_copy_response c = { 0 };
	struct hoop_pg_notification nt;
	struct hoop_pg_value v;
	struct hoop_pg_msg m;
	uint32_t minor = 0, nopt = 0;
	const char *opts = NULL;
	char why[256] = "";

	r_start('H');
	r_u8(0);
	r_u16(2);
	r_u16(0); r_u16(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_copy_response(&m, &c, why, sizeof(why)) == HOOP_OK &&
	    c.format == 0 && c.ncols == 2, "CopyOutResponse: text");
	r_start('G');
	r_u8(1);
	r_u16(2);
	r_u16(1); r_u16(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_copy_response(&m, &c, why, sizeof(why)) == HOOP_OK &&
	    c.format == 1 && c.formats[0] == 1, "CopyInResponse: binary");
	r_start('W');
	r_u8(0);
	r_u16(1);
	r_u16(1);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_copy_response(&m, &c, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "CopyBothResponse: binary column in text refused");
	r_start('H');
	r_u8(2);
	r_u16(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_copy_response(&m, &c, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "CopyOutResponse: format 2 refused");
	r_start('H');
	r_u8(0);
	r_u16(3);
	r_u16(0);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_copy_response(&m, &c, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "CopyOutResponse: count past the end refused");
	hoop_pg_copy_response_release(&c);

	r_start('t');
	r_u16(2);
	r_u32(23);
	r_u32(25);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_parameter_description(&m, &pd, why, sizeof(why)) ==
	    HOOP_OK && pd.nparams == 2 && pd.types[1] == 25,
	    "ParameterDescription: parsed");
	r_start('t');
	r_u16(3);
	r_u32(23);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_parameter_description(&m, &pd, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "ParameterDescription: count past the end "
	    "refused");
	hoop_pg_parameter_description_release(&pd);

	r_start('A');
	r_u32(99);
	r_str("chan");
	r_str("payload");
	ok(frame_raw(&m) &&
	    hoop_pg_parse_notification(&m, &nt, why, sizeof(why)) == HOOP_OK &&
	    nt.pid == 99 && strcmp(nt.payload, "payload") == 0,
	    "NotificationResponse: parsed");
	r_start('V');
	r_u32(2);
	r_mem("ok", 2);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_function_result(&m, &v, why, sizeof(why)) ==
	    HOOP_OK && v.len == 2, "FunctionCallResponse: parsed");
	r_start('V');
	r_u32(3);
	r_mem("ok", 2);
	ok(frame_raw(&m) &&
	    hoop_pg_parse_function_result(&m, &v, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "FunctionCallResponse: short value refused");
	r_start('v');
	r_u32(0);
	r_u32(1);
	r_str("_pq_.x");
	ok(frame_raw(&m) &&
	    hoop_pg_parse_negotiate_version(&m, &minor, &nopt, &opts, why,
	    sizeof(why)) == HOOP_OK && minor == 0 && nopt == 1 &&
	    strcmp(opts, "_pq_.x") == 0, "NegotiateProtocolVersion: parsed");
	r_start('v');
	r_u32(0);
	r_u32(0xffffffffu);
	r_str("_pq_.x");
	ok(frame_raw(&m) &&
	    hoop_pg_parse_negotiate_version(&m, &minor, &nopt, &opts, why,
	    sizeof(why)) == HOOP_ERR_INVAL,
	    "NegotiateProtocolVersion: huge count refused");
}

static void
test_builders(void)
{
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_value *many;
	struct hoop_pg_msg m;
	size_t i;

	ok(hoop_pg_put_message(&b, 0, "x", 1) == HOOP_ERR_INVAL && b.len == 0,
	    "message: type 0 not built");
	ok(hoop_pg_put_message(&b, 'd', NULL, 5) == HOOP_ERR_INVAL &&
	    b.len == 0, "message: length without data not built");
	many = calloc(65536, sizeof(*many));
	for (i = 0; i < 65536; i++)
		many[i].len = -1;
	ok(hoop_pg_put_data_row(&b, many, 65536) == HOOP_ERR_TOOBIG &&
	    b.len == 0, "DataRow: 65536 columns not built (16-bit count)");
	ok(hoop_pg_put_data_row(&b, many, 65535) == HOOP_OK &&
	    frame_buf(&b, 1, &m), "DataRow: 65535 columns built");
	free(many);
	/* Messages accumulate; consume drops the first. */
	b.len = 0;
	ok(hoop_pg_put_query(&b, "SELECT 1") == HOOP_OK &&
	    hoop_pg_put_empty(&b, HOOP_PG_F_TERMINATE) == HOOP_OK &&
	    b.len == 14 + 5, "buffer: two messages");
	hoop_pg_buf_consume(&b, 14);
	ok(b.len == 5 && b.data[0] == 'X', "buffer: consume keeps the rest");
	hoop_pg_buf_consume(&b, 100);
	ok(b.len == 0, "buffer: consume past the end empties");
	ok(hoop_pg_buf_reserve(&b, SIZE_MAX - 10) == HOOP_ERR_TOOBIG,
	    "buffer: absurd reservation refused");
	hoop_pg_buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "buffer: freed");
}

/* ---- SCRAM ---- */

#define RFC_NONCE	"rOprNGfwEbeRWgbNEkqO"
#define RFC_SFIRST	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)" \
			"hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CFINAL	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)" \
			"hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SFINAL	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const unsigned char *
U(const char *s)
{
	return (const unsigned char *)s;
}

/* A client at the point of client-final for server-first sf. */
static hoop_err_t
rfc_client(hoop_pg_scram_client_t **c, const char *sf, const char **msg)
{
	char why[256];
	size_t len;
	hoop_err_t err;

	*c = NULL;
	if ((err = hoop_pg_scram_client_create_fixed("user", "pencil",
	    RFC_NONCE, c, why, sizeof(why))) != HOOP_OK ||
	    (err = hoop_pg_scram_client_first(*c, msg, &len)) != HOOP_OK)
		return err;
	return hoop_pg_scram_client_final(*c, U(sf), strlen(sf), msg, &len,
	    why, sizeof(why));
}

static void
test_scram_rfc7677(void)
{
	hoop_pg_scram_client_t *c = NULL;
	const char *msg = NULL;
	char why[256] = "", tampered[] = RFC_SFINAL;
	size_t len = 0;

	ok(hoop_pg_scram_client_create_fixed("user", "pencil", RFC_NONCE, &c,
	    why, sizeof(why)) == HOOP_OK &&
	    hoop_pg_scram_client_first(c, &msg, &len) == HOOP_OK &&
	    len == strlen(msg) &&
	    strcmp(msg, "n,,n=user,r=" RFC_NONCE) == 0,
	    "RFC 7677: client-first-message");
	ok(hoop_pg_scram_client_first(c, &msg, &len) == HOOP_ERR_INVAL,
	    "SCRAM client: first message only once");
	hoop_pg_scram_client_free(c);
	ok(rfc_client(&c, RFC_SFIRST, &msg) == HOOP_OK &&
	    strcmp(msg, RFC_CFINAL) == 0, "RFC 7677: client-final-message "
	    "(proof)");
	ok(hoop_pg_scram_client_verify(c, U(RFC_SFINAL), strlen(RFC_SFINAL),
	    why, sizeof(why)) == HOOP_OK, "RFC 7677: server signature "
	    "accepted");
	hoop_pg_scram_client_free(c);

	tampered[5] ^= 1;
	rfc_client(&c, RFC_SFIRST, &msg);
	ok(hoop_pg_scram_client_verify(c, U(tampered), strlen(tampered), why,
	    sizeof(why)) == HOOP_ERR_DENIED, "tampered server signature "
	    "refused (%s)", why);
	ok(hoop_pg_scram_client_verify(c, U(RFC_SFINAL), strlen(RFC_SFINAL),
	    why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM client: nothing accepted after a failure");
	hoop_pg_scram_client_free(c);
	rfc_client(&c, RFC_SFIRST, &msg);
	ok(hoop_pg_scram_client_verify(c, U("e=invalid-proof"), 15, why,
	    sizeof(why)) == HOOP_ERR_DENIED, "server error e= refused (%s)",
	    why);
	hoop_pg_scram_client_free(c);
	rfc_client(&c, RFC_SFIRST, &msg);
	ok(hoop_pg_scram_client_verify(c, U(RFC_SFINAL ",x=1"),
	    strlen(RFC_SFINAL ",x=1"), why, sizeof(why)) == HOOP_ERR_INVAL,
	    "server-final with an extension refused");
	hoop_pg_scram_client_free(c);
	rfc_client(&c, RFC_SFIRST, &msg);
	ok(hoop_pg_scram_client_verify(c, U("v=6rriTRBi23WpRR"), 16, why,
	    sizeof(why)) == HOOP_ERR_INVAL, "short server signature refused");
	hoop_pg_scram_client_free(c);
}

static void
test_scram_client_hostile(void)
{
	static const char *const bad[] = {
		/* nonce not extending ours */
		"r=XOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		/* nonce equal to ours (the server added nothing) */
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
		/* salt: non-canonical, unpadded, bad characters, empty */
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6g-==,i=4096",
		"r=" RFC_NONCE "x,s=,i=4096",
		"r=" RFC_NONCE "x,s=W22Z=J0SNY7soEsUEjb6gQ==,i=4096",
		/* order, extensions, reserved */
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" RFC_NONCE "x,i=4096",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",
		"m=1,r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"",
	};
	static const char nul_first[] = RFC_SFIRST "\0,x=1";
	hoop_pg_scram_client_t *c = NULL;
	char why[256] = "";
	const char *msg;
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		ok(rfc_client(&c, bad[i], &msg) == HOOP_ERR_INVAL,
		    "SCRAM client refuses server-first \"%s\"", bad[i]);
		hoop_pg_scram_client_free(c);
	}
	/* A NUL inside the message: what comes before it alone would be
	 * accepted. */
	hoop_pg_scram_client_create_fixed("user", "pencil", RFC_NONCE, &c,
	    why, sizeof(why));
	hoop_pg_scram_client_first(c, &msg, &i);
	ok(hoop_pg_scram_client_final(c, U(nul_first), sizeof(nul_first) - 1,
	    &msg, &i, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM client refuses a NUL in server-first");
	hoop_pg_scram_client_free(c);
	c = NULL;
	ok(hoop_pg_scram_client_create("p\xc3\xa4ss", &c, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && c == NULL, "non-ASCII password refused (%s)",
	    why);
	ok(hoop_pg_scram_client_create("", &c, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "empty password refused");
	ok(hoop_pg_scram_client_create_fixed("u", "p", "a,b", &c, why,
	    sizeof(why)) == HOOP_ERR_INVAL, "nonce with a comma refused");
}

/* One whole exchange; *server_err and *client_err say where it ended. */
static void
exchange(const char *client_pw, const char *server_pw, int tamper,
    hoop_err_t *server_err, hoop_err_t *client_err)
{
	hoop_pg_scram_server_t *s = NULL;
	hoop_pg_scram_client_t *c = NULL;
	const char *cm = NULL, *sm = NULL;
	size_t cl = 0, sl = 0;
	char why[256], *copy = NULL;

	*server_err = *client_err = HOOP_ERR_INVAL;
	if (hoop_pg_scram_client_create(client_pw, &c, why, sizeof(why)) !=
	    HOOP_OK || hoop_pg_scram_server_create(server_pw, 0, &s, why,
	    sizeof(why)) != HOOP_OK ||
	    hoop_pg_scram_client_first(c, &cm, &cl) != HOOP_OK ||
	    hoop_pg_scram_server_first(s, U(cm), cl, &sm, &sl, why,
	    sizeof(why)) != HOOP_OK ||
	    hoop_pg_scram_client_final(c, U(sm), sl, &cm, &cl, why,
	    sizeof(why)) != HOOP_OK)
		goto out;
	*server_err = hoop_pg_scram_server_final(s, U(cm), cl, &sm, &sl, why,
	    sizeof(why));
	if (*server_err != HOOP_OK)
		goto out;
	copy = strndup(sm, sl);
	if (tamper)
		copy[sl - 3] = copy[sl - 3] == 'A' ? 'B' : 'A';
	*client_err = hoop_pg_scram_client_verify(c, U(copy), sl, why,
	    sizeof(why));
out:
	free(copy);
	hoop_pg_scram_client_free(c);
	hoop_pg_scram_server_free(s);
}

static void
test_scram_pair(void)
{
	hoop_err_t se, ce;
	char otp[HOOP_PG_OTP_LEN + 1], otp2[HOOP_PG_OTP_LEN + 1];

	exchange("s3cret", "s3cret", 0, &se, &ce);
	ok(se == HOOP_OK && ce == HOOP_OK, "SCRAM: client and server agree");
	exchange("s3cret", "other", 0, &se, &ce);
	is_int(se, HOOP_ERR_DENIED, "SCRAM: wrong password refused by the "
	    "server");
	exchange("s3cret", "s3cret", 1, &se, &ce);
	ok(se == HOOP_OK && ce == HOOP_ERR_DENIED,
	    "SCRAM: tampered server signature refused by the client");
	ok(hoop_pg_one_time_password(otp) == HOOP_OK &&
	    hoop_pg_one_time_password(otp2) == HOOP_OK &&
	    strlen(otp) == HOOP_PG_OTP_LEN && strcmp(otp, otp2) != 0 &&
	    strspn(otp, "0123456789abcdef") == HOOP_PG_OTP_LEN,
	    "one-time passwords: 48 hex digits, fresh each time");
	exchange(otp, otp, 0, &se, &ce);
	ok(se == HOOP_OK && ce == HOOP_OK, "SCRAM with a one-time password");
}

/* A server after client-first cf; returns server-first's nonce. */
static hoop_pg_scram_server_t *
server_at(const char *cf, char *nonce, size_t nlen)
{
	hoop_pg_scram_server_t *s = NULL;
	const char *sm;
	char why[256];
	size_t sl;

	if (hoop_pg_scram_server_create("pencil", 4096, &s, why,
	    sizeof(why)) != HOOP_OK)
		return NULL;
	if (hoop_pg_scram_server_first(s, U(cf), strlen(cf), &sm, &sl, why,
	    sizeof(why)) != HOOP_OK) {
		hoop_pg_scram_server_free(s);
		return NULL;
	}
	snprintf(nonce, nlen, "%.*s", (int)strcspn(sm + 2, ","), sm + 2);
	return s;
}

static void
test_scram_server_hostile(void)
{
	static const char *const bad_first[] = {
		"p=tls-server-end-point,,n=,r=abc",
		"n,a=admin,n=,r=abc",
		"x,,n=,r=abc",
		"n,,n=,r=abc,x=ext",
		"n,,m=ext,n=,r=abc",
		"n,,n=,r=",
		"n,,n=,r=a,b",
		"n,,n=a=2Xb,r=abc",
		"n,,r=abc",
		"n,,n=",
		"n,",
		"",
	};
	hoop_pg_scram_server_t *s;
	char why[256] = "", nonce[256], cf[512];
	const char *sm;
	size_t i, sl;

	for (i = 0; i < NELEM(bad_first); i++) {
		s = NULL;
		hoop_pg_scram_server_create("pencil", 4096, &s, why,
		    sizeof(why));
		ok(hoop_pg_scram_server_first(s, U(bad_first[i]),
		    strlen(bad_first[i]), &sm, &sl, why, sizeof(why)) ==
		    HOOP_ERR_INVAL, "SCRAM server refuses client-first \"%s\"",
		    bad_first[i]);
		hoop_pg_scram_server_free(s);
	}
	ok((s = server_at("y,,n=,r=abc", nonce, sizeof(nonce))) != NULL &&
	    strncmp(nonce, "abc", 3) == 0 && strlen(nonce) == 3 + 24,
	    "SCRAM server: 'y' flag accepted, nonce extended");
	/* Channel binding data must be "y,," here, not "n,,". */
	snprintf(cf, sizeof(cf), "c=biws,r=%s,p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
	    "MHgsqmmiz7AndVQ=", nonce);
	ok(s != NULL && hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm,
	    &sl, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: channel binding data not matching the header "
	    "refused (%s)", why);
	hoop_pg_scram_server_free(s);

	s = server_at("n,,n=user,r=abc", nonce, sizeof(nonce));
	snprintf(cf, sizeof(cf), "c=biws,r=%sX,p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
	    "MHgsqmmiz7AndVQ=", nonce);
	ok(s != NULL && hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm,
	    &sl, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: wrong nonce refused (%s)", why);
	hoop_pg_scram_server_free(s);

	s = server_at("n,,n=user,r=abc", nonce, sizeof(nonce));
	snprintf(cf, sizeof(cf), "c=biws,r=%s,p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
	    "MHgsqmmiz7AndVQ=", nonce);
	ok(s != NULL && hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm,
	    &sl, why, sizeof(why)) == HOOP_ERR_DENIED,
	    "SCRAM server: a proof made for another salt refused (%s)", why);
	ok(hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm, &sl, why,
	    sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: no second try after a failure");
	hoop_pg_scram_server_free(s);

	s = server_at("n,,n=user,r=abc", nonce, sizeof(nonce));
	snprintf(cf, sizeof(cf), "c=biws,r=%s,p=dHzbZapWIk4jUhN+Ute9", nonce);
	ok(s != NULL && hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm,
	    &sl, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: short proof refused");
	hoop_pg_scram_server_free(s);

	s = server_at("n,,n=user,r=abc", nonce, sizeof(nonce));
	snprintf(cf, sizeof(cf), "c=biws,r=%s,x=1,p=dHzbZapWIk4jUhN+Ute9ytag"
	    "9zjfMHgsqmmiz7AndVQ=", nonce);
	ok(s != NULL && hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm,
	    &sl, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: extension before the proof refused");
	hoop_pg_scram_server_free(s);

	s = server_at("n,,n=user,r=abc", nonce, sizeof(nonce));
	snprintf(cf, sizeof(cf), "c=biws,r=%s,p=dHzbZapWIk4jUhN+Ute9ytag9zjf"
	    "MHgsqmmiz7AndVQ=,x=1", nonce);
	ok(s != NULL && hoop_pg_scram_server_final(s, U(cf), strlen(cf), &sm,
	    &sl, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: anything after the proof refused");
	hoop_pg_scram_server_free(s);

	s = NULL;
	ok(hoop_pg_scram_server_create("pencil", 4096, &s, why,
	    sizeof(why)) == HOOP_OK && hoop_pg_scram_server_final(s,
	    U("c=biws"), 6, &sm, &sl, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "SCRAM server: final before first refused");
	hoop_pg_scram_server_free(s);
	s = NULL;
	ok(hoop_pg_scram_server_create("pencil",
	    HOOP_PG_SCRAM_MAX_ITERATIONS + 1, &s, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && s == NULL, "SCRAM server: too many iterations "
	    "refused");
}

static void
test_md5(void)
{
	unsigned char salt[4] = { 1, 2, 3, 0xfe };
	char out[HOOP_PG_MD5_ANSWER_LEN + 1];

	ok(hoop_pg_md5_password("alice", "secret", salt, out) == HOOP_OK &&
	    strlen(out) == HOOP_PG_MD5_ANSWER_LEN &&
	    strcmp(out, "md556592c7d3e04bf4285656239c81b2e30") == 0,
	    "md5: answer for a known password, user and salt");
	salt[0] = 2;
	ok(hoop_pg_md5_password("alice", "secret", salt, out) == HOOP_OK &&
	    strcmp(out, "md556592c7d3e04bf4285656239c81b2e30") != 0,
	    "md5: the salt changes the answer");
}

int
main(void)
{
	test_frame();
	test_frame_startup();
	test_startup();
	test_startup_too_big();
	test_query();
	test_parse();
	test_bind();
	test_describe_close_execute();
	test_function_call();
	test_small_frontend();
	test_auth();
	test_small_backend();
	test_row_description();
	test_data_row();
	test_notice();
	test_copy_and_others();
	test_builders();
	test_scram_rfc7677();
	test_scram_client_hostile();
	test_scram_pair();
	test_scram_server_hostile();
	test_md5();
	free(held);
	return done_testing();
}
