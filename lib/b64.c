#include <stdlib.h>
#include <string.h>

#include "hoop_b64.h"

/* The 6-bit value of one base64url character, or -1. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

hoop_err_t
hoop_b64url_decode(const char *in, size_t inlen, unsigned char **out,
    size_t *outlen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	unsigned char *buf = NULL;
	size_t rem = inlen % 4, len, i, o = 0;
	unsigned long acc = 0;
	int v, n = 0;

	if (rem == 1)
		goto out;
	len = inlen / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	/* One spare byte so that an empty result is still a real pointer. */
	if ((buf = malloc(len + 1)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < inlen; i++) {
		if ((v = b64url_value((unsigned char)in[i])) < 0)
			goto out;
		acc = (acc << 6) | (unsigned long)v;
		if (++n == 4) {
			buf[o++] = (unsigned char)(acc >> 16);
			buf[o++] = (unsigned char)(acc >> 8);
			buf[o++] = (unsigned char)acc;
			acc = 0;
			n = 0;
		}
	}
	/* A partial group: 2 characters carry 8 bits and 4 unused ones,
	 * 3 characters carry 16 bits and 2 unused ones. */
	if (n == 2) {
		if ((acc & 0x0f) != 0)
			goto out;
		buf[o++] = (unsigned char)(acc >> 4);
	} else if (n == 3) {
		if ((acc & 0x03) != 0)
			goto out;
		buf[o++] = (unsigned char)(acc >> 10);
		buf[o++] = (unsigned char)(acc >> 2);
	}
	*out = buf;
	buf = NULL;
	*outlen = o;
	ret = HOOP_OK;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	return ret;
}
