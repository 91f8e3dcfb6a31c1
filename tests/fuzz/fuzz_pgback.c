/*
 * What a server sends, on arbitrary bytes: typed messages through the
 * backend parsers, and the SASL exchange through the SCRAM client side
 * (the nonce of RFC 7677's example, fixed so that the corpus can hold
 * a whole exchange that succeeds). Invariants: framing never claims
 * more than it was given; whatever a parser accepts and a builder
 * exists for is written back byte for byte; nothing returned points
 * outside the message; the client accepts a server signature only
 * after it has sent its proof.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_pgauth.h"
#include "hoop_pgproto.h"
#include "fuzz_pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_MESSAGE	(1024 * 1024)
/* PBKDF2 runs with the server's iteration count: keep runs short. */
#define FUZZ_MAX_ITERATIONS	5000

static struct hoop_pg_row_description rowdesc;
static struct hoop_pg_data_row row;
static struct hoop_pg_copy_response copy_resp;
static struct hoop_pg_parameter_description params;

/* The iteration count in a server-first-message, or 0. */
static unsigned long
iterations(const unsigned char *p, size_t n)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i + 2 < n; i++) {
		if (p[i] == 'i' && p[i + 1] == '=' && (i == 0 ||
		    p[i - 1] == ',')) {
			for (i += 2; i < n && p[i] >= '0' && p[i] <= '9' &&
			    v <= FUZZ_MAX_ITERATIONS; i++)
				v = v * 10 + (p[i] - '0');
			return v;
		}
	}
	return 0;
}

struct sasl {
	hoop_pg_scram_client_t *client;
	int proof_sent;
};

static void
auth(const struct hoop_pg_msg *m, struct hoop_pg_buf *b, struct sasl *sc)
{
	struct hoop_pg_auth a;
	const char *out;
	char why[256];
	size_t outlen;

	if (hoop_pg_parse_auth(m, &a, why, sizeof(why)) != HOOP_OK)
		return;
	switch (a.code) {
	case HOOP_PG_AUTH_OK:
	case HOOP_PG_AUTH_CLEARTEXT:
		same(m, b, hoop_pg_put_auth(b, a.code));
		break;
	case HOOP_PG_AUTH_MD5:
		same(m, b, hoop_pg_put_auth_md5(b, a.salt));
		break;
	case HOOP_PG_AUTH_SASL:
		inside(m, a.data, a.data_len);
		if (!hoop_pg_auth_has_mechanism(&a, HOOP_PG_SCRAM_MECHANISM) ||
		    sc->client != NULL)
			break;
		if (hoop_pg_scram_client_create_fixed(NULL, "pencil",
		    "rOprNGfwEbeRWgbNEkqO", &sc->client, why, sizeof(why)) !=
		    HOOP_OK || hoop_pg_scram_client_first(sc->client, &out,
		    &outlen) != HOOP_OK)
			abort();
		break;
	case HOOP_PG_AUTH_SASL_CONTINUE:
		if (a.data_len > 0)
			inside(m, a.data, a.data_len);
		same(m, b, hoop_pg_put_auth_data(b, a.code, a.data,
		    a.data_len));
		if (sc->client == NULL ||
		    iterations(a.data, a.data_len) > FUZZ_MAX_ITERATIONS)
			break;
		if (hoop_pg_scram_client_final(sc->client, a.data, a.data_len,
		    &out, &outlen, why, sizeof(why)) == HOOP_OK) {
			if (strlen(out) != outlen)
				abort();
			sc->proof_sent = 1;
		}
		break;
	case HOOP_PG_AUTH_SASL_FINAL:
		same(m, b, hoop_pg_put_auth_data(b, a.code, a.data,
		    a.data_len));
		if (sc->client != NULL && hoop_pg_scram_client_verify(
		    sc->client, a.data, a.data_len, why, sizeof(why)) ==
		    HOOP_OK && !sc->proof_sent)
			abort();
		break;
	default:
		break;
	}
}

static void
message(const struct hoop_pg_msg *m, struct hoop_pg_buf *b, struct sasl *sc)
{
	struct hoop_pg_notification nt;
	struct hoop_pg_notice n;
	struct hoop_pg_param ps;
	struct hoop_pg_value v;
	uint32_t pid, key, minor, nopt;
	const char *s, *opts;
	char why[256], st;
	size_t len, i;

	switch (m->type) {
	case HOOP_PG_B_AUTH:
		auth(m, b, sc);
		break;
	case HOOP_PG_B_PARAMETER_STATUS:
		if (hoop_pg_parse_parameter_status(m, &ps, why, sizeof(why)) ==
		    HOOP_OK)
			same(m, b, hoop_pg_put_parameter_status(b, ps.name,
			    ps.value));
		break;
	case HOOP_PG_B_BACKEND_KEY:
		if (hoop_pg_parse_backend_key(m, &pid, &key, why,
		    sizeof(why)) == HOOP_OK)
			same(m, b, hoop_pg_put_backend_key(b, pid, key));
		break;
	case HOOP_PG_B_READY:
		if (hoop_pg_parse_ready(m, &st, why, sizeof(why)) == HOOP_OK)
			same(m, b, hoop_pg_put_ready(b, st));
		break;
	case HOOP_PG_B_ROW_DESCRIPTION:
		if (hoop_pg_parse_row_description(m, &rowdesc, why,
		    sizeof(why)) != HOOP_OK)
			break;
		for (i = 0; i < rowdesc.nfields; i++)
			inside_str(m, rowdesc.fields[i].name);
		same(m, b, hoop_pg_put_row_description(b, rowdesc.fields,
		    rowdesc.nfields));
		break;
	case HOOP_PG_B_DATA_ROW:
		if (hoop_pg_parse_data_row(m, &row, why, sizeof(why)) !=
		    HOOP_OK)
			break;
		for (i = 0; i < row.ncols; i++) {
			if (row.values[i].len > 0)
				inside(m, row.values[i].data,
				    (size_t)row.values[i].len);
			else if (row.values[i].len < -1)
				abort();
		}
		same(m, b, hoop_pg_put_data_row(b, row.values, row.ncols));
		break;
	case HOOP_PG_B_COMMAND_COMPLETE:
		if (hoop_pg_parse_string(m, m->type, &s, &len, why,
		    sizeof(why)) == HOOP_OK)
			same(m, b, hoop_pg_put_command_complete(b, s));
		break;
	case HOOP_PG_B_ERROR:
	case HOOP_PG_B_NOTICE:
		if (hoop_pg_parse_notice(m, &n, why, sizeof(why)) != HOOP_OK)
			break;
		if (n.field[0] != NULL || n.field['S'] == NULL ||
		    n.field['C'] == NULL || n.field['M'] == NULL)
			abort();
		for (i = 1; i < 256; i++) {
			if (n.field[i] != NULL)
				inside_str(m, n.field[i]);
		}
		break;
	case HOOP_PG_B_COPY_IN:
	case HOOP_PG_B_COPY_OUT:
	case HOOP_PG_B_COPY_BOTH:
		if (hoop_pg_parse_copy_response(m, &copy_resp, why,
		    sizeof(why)) == HOOP_OK && copy_resp.format == 0) {
			for (i = 0; i < copy_resp.ncols; i++) {
				if (copy_resp.formats[i] != 0)
					abort();
			}
		}
		break;
	case HOOP_PG_B_PARAMETER_DESCRIPTION:
		(void)hoop_pg_parse_parameter_description(m, &params, why,
		    sizeof(why));
		break;
	case HOOP_PG_B_NOTIFICATION:
		if (hoop_pg_parse_notification(m, &nt, why, sizeof(why)) ==
		    HOOP_OK) {
			inside_str(m, nt.channel);
			inside_str(m, nt.payload);
		}
		break;
	case HOOP_PG_B_FUNCTION_RESULT:
		if (hoop_pg_parse_function_result(m, &v, why, sizeof(why)) ==
		    HOOP_OK && v.len > 0)
			inside(m, v.data, (size_t)v.len);
		break;
	case HOOP_PG_B_NEGOTIATE_VERSION:
		if (hoop_pg_parse_negotiate_version(m, &minor, &nopt, &opts,
		    why, sizeof(why)) == HOOP_OK && nopt > m->len)
			abort();
		break;
	case HOOP_PG_B_EMPTY_QUERY:
	case HOOP_PG_B_PARSE_COMPLETE:
	case HOOP_PG_B_BIND_COMPLETE:
	case HOOP_PG_B_CLOSE_COMPLETE:
	case HOOP_PG_B_NO_DATA:
	case HOOP_PG_B_PORTAL_SUSPENDED:
	case HOOP_PG_B_COPY_DONE:
		if (hoop_pg_parse_empty(m, m->type, why, sizeof(why)) ==
		    HOOP_OK)
			same(m, b, hoop_pg_put_empty(b, m->type));
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl sc = { NULL, 0 };
	struct hoop_pg_buf b = { 0 };
	struct hoop_pg_msg m;
	unsigned char *copy;
	size_t off = 0, need;
	char why[256];
	int rc;

	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	for (;;) {
		rc = hoop_pg_frame(copy + off, size - off, FUZZ_MAX_MESSAGE,
		    &m, &need, why, sizeof(why));
		if (rc == HOOP_PG_FRAME_MORE && need <= size - off)
			abort();
		if (rc != HOOP_PG_FRAME_OK)
			break;
		if (m.size > size - off || m.size != m.len + 5)
			abort();
		off += m.size;
		message(&m, &b, &sc);
	}
	hoop_pg_scram_client_free(sc.client);
	hoop_pg_buf_free(&b);
	free(copy);
	return 0;
}
