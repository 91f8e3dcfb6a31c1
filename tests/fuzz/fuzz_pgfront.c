/*
 * What a client sends, on arbitrary bytes: the startup packets (after
 * SSLRequest or GSSENCRequest, another one), then typed messages through
 * the frontend parsers, and SASL messages through the SCRAM server side.
 * Invariants: framing never claims more than it was given; whatever a
 * parser accepts, the builder writes back byte for byte (one encoding
 * per message), and nothing it returns points outside the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_pgauth.h"
#include "hoop_pgproto.h"
#include "fuzz_pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small, so that limits are reached by fuzzed inputs. */
#define FUZZ_MAX_MESSAGE	4096

static struct hoop_pg_parse parse;
static struct hoop_pg_bind bind;
static struct hoop_pg_function_call call;

static void
startup(const struct hoop_pg_msg *m, struct hoop_pg_buf *b)
{
	struct hoop_pg_startup s;
	char why[256];
	size_t i;

	if (hoop_pg_parse_startup(m, &s, why, sizeof(why)) != HOOP_OK)
		return;
	if (s.kind != HOOP_PG_STARTUP_MESSAGE)
		return;
	if (s.nparams > HOOP_PG_STARTUP_MAX_PARAMS || s.version >> 16 != 3)
		abort();
	for (i = 0; i < s.nparams; i++) {
		inside_str(m, s.params[i].name);
		inside_str(m, s.params[i].value);
		if (s.params[i].name[0] == '\0' ||
		    hoop_pg_startup_get(&s, s.params[i].name) !=
		    s.params[i].value)
			abort();
	}
	if (s.version == HOOP_PG_PROTOCOL_3_0) {
		if (hoop_pg_put_startup(b, s.params, s.nparams) != HOOP_OK ||
		    b->len != m->size || memcmp(b->data + 4, m->body, m->len))
			abort();
		b->len = 0;
	}
}

/* SASL messages, in order, through a SCRAM server. */
static void
sasl(const struct hoop_pg_msg *m, hoop_pg_scram_server_t **scram)
{
	struct hoop_pg_sasl_initial si;
	const char *out;
	char why[256];
	size_t outlen;

	if (*scram == NULL) {
		if (hoop_pg_parse_sasl_initial(m, &si, why, sizeof(why)) !=
		    HOOP_OK || si.data_len < 0)
			return;
		if (si.data_len > 0)
			inside(m, si.data, (size_t)si.data_len);
		/* One iteration: the exchange, not PBKDF2, is under test. */
		if (hoop_pg_scram_server_create("pencil", 1, scram, why,
		    sizeof(why)) != HOOP_OK)
			abort();
		if (hoop_pg_scram_server_first(*scram, si.data,
		    (size_t)si.data_len, &out, &outlen, why, sizeof(why)) ==
		    HOOP_OK && (outlen == 0 || strlen(out) != outlen))
			abort();
		return;
	}
	if (hoop_pg_scram_server_final(*scram, m->body, m->len, &out, &outlen,
	    why, sizeof(why)) == HOOP_OK)
		abort();	/* no proof can be right without the nonce */
}

static void
message(const struct hoop_pg_msg *m, struct hoop_pg_buf *b,
    hoop_pg_scram_server_t **scram)
{
	struct hoop_pg_execute e;
	struct hoop_pg_target t;
	struct hoop_pg_query q;
	const char *s;
	char why[256];
	size_t n, i;

	switch (m->type) {
	case HOOP_PG_F_QUERY:
		if (hoop_pg_parse_query(m, &q, why, sizeof(why)) != HOOP_OK)
			break;
		inside_str(m, q.sql);
		if (q.sql_len != strlen(q.sql))
			abort();
		same(m, b, hoop_pg_put_query(b, q.sql));
		break;
	case HOOP_PG_F_PARSE:
		if (hoop_pg_parse_parse(m, &parse, why, sizeof(why)) != HOOP_OK)
			break;
		inside_str(m, parse.name);
		inside_str(m, parse.query);
		same(m, b, hoop_pg_put_parse(b, parse.name, parse.query,
		    parse.param_types, parse.nparams));
		break;
	case HOOP_PG_F_BIND:
		if (hoop_pg_parse_bind(m, &bind, why, sizeof(why)) != HOOP_OK)
			break;
		for (i = 0; i < bind.nparams; i++) {
			if (bind.params[i].len > 0)
				inside(m, bind.params[i].data,
				    (size_t)bind.params[i].len);
			else if (bind.params[i].len < -1)
				abort();
		}
		if (bind.nformats > 1 && bind.nformats != bind.nparams)
			abort();
		same(m, b, hoop_pg_put_bind(b, bind.portal, bind.statement,
		    bind.formats, bind.nformats, bind.params, bind.nparams,
		    bind.result_formats, bind.nresults));
		break;
	case HOOP_PG_F_DESCRIBE:
	case HOOP_PG_F_CLOSE:
		if ((m->type == HOOP_PG_F_DESCRIBE ?
		    hoop_pg_parse_describe(m, &t, why, sizeof(why)) :
		    hoop_pg_parse_close(m, &t, why, sizeof(why))) != HOOP_OK)
			break;
		same(m, b, hoop_pg_put_target(b, m->type, t.kind, t.name));
		break;
	case HOOP_PG_F_EXECUTE:
		if (hoop_pg_parse_execute(m, &e, why, sizeof(why)) == HOOP_OK)
			same(m, b, hoop_pg_put_execute(b, e.portal,
			    e.max_rows));
		break;
	case HOOP_PG_F_FUNCTION_CALL:
		if (hoop_pg_parse_function_call(m, &call, why, sizeof(why)) ==
		    HOOP_OK) {
			for (i = 0; i < call.nargs; i++) {
				if (call.args[i].len > 0)
					inside(m, call.args[i].data,
					    (size_t)call.args[i].len);
			}
		}
		break;
	case HOOP_PG_F_SYNC:
	case HOOP_PG_F_FLUSH:
	case HOOP_PG_F_TERMINATE:
	case HOOP_PG_F_COPY_DONE:
		if (hoop_pg_parse_empty(m, m->type, why, sizeof(why)) ==
		    HOOP_OK)
			same(m, b, hoop_pg_put_empty(b, m->type));
		break;
	case HOOP_PG_F_COPY_FAIL:
		if (hoop_pg_parse_string(m, m->type, &s, &n, why,
		    sizeof(why)) == HOOP_OK && n + 1 != m->len)
			abort();
		break;
	case HOOP_PG_F_PASSWORD:
		if (hoop_pg_parse_string(m, m->type, &s, &n, why,
		    sizeof(why)) == HOOP_OK)
			same(m, b, hoop_pg_put_password(b, s));
		sasl(m, scram);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hoop_pg_scram_server_t *scram = NULL;
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_startup s;
	struct hoop_pg_msg m;
	unsigned char *copy;
	size_t off = 0, need;
	char why[256];
	int rc, rounds;

	/* Exactly size bytes, so that a read past the end is caught. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	/* Startup packets: after SSLRequest or GSSENCRequest comes
	 * another one; at most three. */
	for (rounds = 0; rounds < 3; rounds++) {
		rc = hoop_pg_frame_startup(copy + off, size - off, &m, &need,
		    why, sizeof(why));
		if (rc == HOOP_PG_FRAME_MORE && need <= size - off)
			abort();
		if (rc != HOOP_PG_FRAME_OK)
			goto out;
		if (m.size > size - off || m.size != m.len + 4 ||
		    m.len > HOOP_PG_STARTUP_MAX)
			abort();
		off += m.size;
		startup(&m, &b);
		if (hoop_pg_parse_startup(&m, &s, why, sizeof(why)) !=
		    HOOP_OK || (s.kind != HOOP_PG_STARTUP_SSL &&
		    s.kind != HOOP_PG_STARTUP_GSSENC))
			break;
	}
	for (;;) {
		rc = hoop_pg_frame(copy + off, size - off, FUZZ_MAX_MESSAGE,
		    &m, &need, why, sizeof(why));
		if (rc == HOOP_PG_FRAME_MORE && need <= size - off)
			abort();
		if (rc != HOOP_PG_FRAME_OK)
			break;
		if (m.size > size - off || m.size != m.len + 5 ||
		    m.len + 4 > FUZZ_MAX_MESSAGE)
			abort();
		off += m.size;
		message(&m, &b, &scram);
	}
out:
	hoop_pg_scram_server_free(scram);
	hoop_pg_buf_free(&b);
	free(copy);
	return 0;
}
