/*
 * The recording reader and verifier on arbitrary input. An input is
 * u32 output length, u32 events length (little-endian, cut to what is
 * there), then output.ttyrec, events.hrec and chain.hrec (the rest).
 *
 * The reader must stay inside its data and hand out only frames that
 * fit what it checked. Verification runs on the chain as given (hashes
 * almost never match) and on the chain with every hash recomputed, so
 * that the fuzzer reaches the offset, sequence and seal checks behind
 * them: a rebuilt chain whose ranges are in order and in bounds must
 * verify, against the head it reports too, and any other must not.
 * tests/tools/hoop-rec-sample -p writes seeds in this form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_recording.h"
#include "recording_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 512

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
check_str(const struct hoop_rec_frame *f, struct hoop_rec_str s)
{
	if (s.len > 0 && (s.ptr < (const char *)f->data ||
	    s.ptr + s.len > (const char *)f->data + f->len))
		abort();
}

static void
read_all(const uint8_t *out, size_t olen, const uint8_t *ev, size_t elen)
{
	struct hoop_rec_frame f;
	hoop_rec_reader_t *r = NULL;
	uint64_t next_off[2] = { 0, 0 };
	const char *p;
	hoop_err_t err;
	volatile unsigned sum = 0;
	size_t k;
	int n, eof = 0;

	if (hoop_rec_reader_open_mem(out, olen, ev, elen, &r) != HOOP_OK)
		return;
	for (n = 0; n < 1000000; n++) {
		err = hoop_rec_next(r, &f);
		if (err != HOOP_OK) {
			if (err != HOOP_ERR_REC_FORMAT &&
			    err != HOOP_ERR_REC_TRUNCATED &&
			    err != HOOP_ERR_NOMEM)
				abort();
			p = hoop_rec_reader_problem(r);
			if (p[0] == '\0')
				abort();
			/* Messages carry numbers, never the file's bytes. */
			for (; *p != '\0'; p++) {
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
			}
			/* Final. */
			if (hoop_rec_next(r, &f) != err)
				abort();
			break;
		}
		if (f.type == HOOP_REC_EOF) {
			if (eof++ > 0)
				break;
			continue;
		}
		if (eof || f.len > HOOP_REC_MAX_FRAME || f.offset !=
		    next_off[f.stream] || f.time_us < 0)
			abort();
		next_off[f.stream] = f.offset + HOOP_REC_HEADER_SIZE + f.len +
		    (f.stream == HOOP_REC_STREAM_EVENTS);
		if (next_off[f.stream] > (f.stream == HOOP_REC_STREAM_OUTPUT ?
		    olen : elen))
			abort();
		if ((f.stream == HOOP_REC_STREAM_OUTPUT) !=
		    (f.type == HOOP_REC_OUTPUT))
			abort();
		/* Every byte handed out is readable (ASan watches). */
		for (k = 0; k < f.len; k++)
			sum += f.data[k];
		switch (f.type) {
		case HOOP_REC_START:
			check_str(&f, f.u.start.session_id);
			break;
		case HOOP_REC_COMMAND:
			check_str(&f, f.u.command.line);
			check_str(&f, f.u.command.decision);
			check_str(&f, f.u.command.rule);
			check_str(&f, f.u.command.reason);
			break;
		case HOOP_REC_PAUSE:
		case HOOP_REC_RESUME:
			if (f.u.pause.direction > 1)
				abort();
			break;
		default:
			break;
		}
	}
	hoop_rec_reader_free(r);
}

static void
check_result(hoop_err_t err, const struct hoop_rec_verify_result *res)
{
	if (err == HOOP_OK && (res->broken_chunk != 0 || res->problem[0]))
		abort();
	if (err == HOOP_ERR_REC_BROKEN && (res->broken_chunk == 0 ||
	    res->problem[0] == '\0' || res->broken_chunk > res->chunks + 1))
		abort();
	if (err != HOOP_OK && err != HOOP_ERR_REC_BROKEN &&
	    err != HOOP_ERR_NOMEM && err != HOOP_ERR_CRYPTO)
		abort();
}

/* Recomputes every record's hash (and sequence number) over the data it
 * names; returns whether verification must then pass. */
static int
rebuild(uint8_t *chain, size_t n, const uint8_t *out, size_t olen,
    const uint8_t *ev, size_t elen)
{
	unsigned char prev[32], md[2][32];
	uint64_t pos[2] = { 0, 0 }, end[2];
	size_t k;
	int good = 1, sealed = 0;

	if (hoop_rec_genesis("fuzz", prev) != HOOP_OK)
		return 0;
	for (k = 0; k < n; k++) {
		uint8_t *rec = chain + k * HOOP_REC_CHAIN_RECORD;

		memcpy(rec, "hrc1", 4);
		rec[4] &= 1;
		rec[5] = rec[6] = rec[7] = 0;
		put_le64(rec + 8, k + 1);
		end[0] = le64(rec + 16);
		end[1] = le64(rec + 24);
		if (sealed || end[0] < pos[0] || end[0] > olen ||
		    end[1] < pos[1] || end[1] > elen) {
			/* The rest cannot be hashed: leave it as it is. */
			return 0;
		}
		if (hoop_rec_sha256(out + pos[0], end[0] - pos[0],
		    md[0]) != HOOP_OK || hoop_rec_sha256(ev + pos[1],
		    end[1] - pos[1], md[1]) != HOOP_OK ||
		    hoop_rec_chunk_hash(prev, rec, md[0], md[1],
		    rec + HOOP_REC_CHAIN_HASHED) != HOOP_OK)
			return 0;
		memcpy(prev, rec + HOOP_REC_CHAIN_HASHED, 32);
		pos[0] = end[0];
		pos[1] = end[1];
		sealed = rec[4] & 1;
	}
	if (sealed && (pos[0] != olen || pos[1] != elen))
		good = 0;
	return good;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoop_rec_verify_result res;
	const uint8_t *out, *ev;
	uint8_t *copy, *chain;
	size_t olen, elen, clen, n;
	hoop_err_t err;
	char head[HOOP_REC_HEAD_MAX];
	int must_pass;

	if (size < 8)
		return 0;
	/* One exact-size copy, so that a read past any part is caught at
	 * the end of the buffer at least for the chain. */
	if ((copy = malloc(size - 8 > 0 ? size - 8 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 8, size - 8);
	olen = le32(data);
	if (olen > size - 8)
		olen = size - 8;
	elen = le32(data + 4);
	if (elen > size - 8 - olen)
		elen = size - 8 - olen;
	out = copy;
	ev = copy + olen;
	chain = copy + olen + elen;
	clen = size - 8 - olen - elen;

	read_all(out, olen, ev, elen);

	err = hoop_rec_verify_mem("fuzz", out, olen, ev, elen, chain, clen,
	    NULL, &res);
	check_result(err, &res);

	n = clen / HOOP_REC_CHAIN_RECORD;
	if (n > 0 && n <= MAX_RECORDS) {
		must_pass = rebuild(chain, n, out, olen, ev, elen) &&
		    clen % HOOP_REC_CHAIN_RECORD == 0;
		err = hoop_rec_verify_mem("fuzz", out, olen, ev, elen, chain,
		    clen, NULL, &res);
		check_result(err, &res);
		if (must_pass && (err != HOOP_OK || res.chunks != n))
			abort();
		if (err == HOOP_OK) {
			memcpy(head, res.head, sizeof(head));
			err = hoop_rec_verify_mem("fuzz", out, olen, ev, elen,
			    chain, clen, head, &res);
			if (err != HOOP_OK || strcmp(head, res.head) != 0)
				abort();
		}
	}
	free(copy);
	return 0;
}
