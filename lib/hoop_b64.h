/* Strict base64url (RFC 4648 section 5, unpadded as JOSE uses it). */
#ifndef HOOP_B64_H
#define HOOP_B64_H

#include <stddef.h>

#include "hoop_err.h"

/*
 * Decodes exactly inlen bytes of unpadded base64url. Refused, with
 * HOOP_ERR_INVAL: any byte outside A-Z a-z 0-9 - _ (so padding, whitespace,
 * '+', '/' and NUL), a length of 1 mod 4, and a final character whose
 * unused low bits are not zero (each byte string has one encoding only,
 * so a token cannot be altered without changing its signed bytes).
 * On success *out is a fresh buffer of *outlen bytes (never NULL, even for
 * empty input); free with free().
 */
hoop_err_t hoop_b64url_decode(const char *in, size_t inlen,
    unsigned char **out, size_t *outlen);

#endif
