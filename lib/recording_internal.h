/* The seal's hash functions, for the fuzz target, which rebuilds chains
 * over its inputs so that verification gets past the first hash. */
#ifndef HOOP_RECORDING_INTERNAL_H
#define HOOP_RECORDING_INTERNAL_H

#include <stddef.h>

#include "hoop_err.h"

#define HOOP_REC_CHAIN_RECORD	72	/* bytes per chain record */
#define HOOP_REC_CHAIN_HASHED	40	/* leading record bytes in its hash */

/* The hash chunk 1 chains from: binds the chain to its session id. */
hoop_err_t hoop_rec_genesis(const char *session_id, unsigned char out[32]);
/* A chunk's hash from the previous one, its record's first 40 bytes and
 * the SHA-256 of its output and events bytes. */
hoop_err_t hoop_rec_chunk_hash(const unsigned char prev[32],
    const unsigned char record[HOOP_REC_CHAIN_HASHED],
    const unsigned char output_md[32], const unsigned char events_md[32],
    unsigned char out[32]);
/* SHA-256 of a buffer. */
hoop_err_t hoop_rec_sha256(const void *data, size_t len,
    unsigned char out[32]);

#endif
