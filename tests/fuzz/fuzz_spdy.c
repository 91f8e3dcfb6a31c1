/*
 * SPDY/3.1 frame reader: any bytes, fed in pieces whose sizes come from
 * the input itself, must be framed or refused without reading or
 * writing out of bounds; a refused reader stays refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hoop_spdy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(void *arg, const struct hoop_spdy_frame *f)
{
	size_t *total = arg, i;

	*total += f->len;
	for (i = 0; i < f->n_headers; i++)
		*total += strlen(f->headers[i].name) + f->headers[i].value_len;
	(void)hoop_spdy_header(f, "streamtype");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hoop_spdy_t *r = NULL;
	size_t off = 1, step, total = 0;

	if (size < 1 || hoop_spdy_create(&r) != HOOP_OK)
		return 0;
	step = (size_t)data[0] + 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (hoop_spdy_feed(r, data + off, n, check, &total) != HOOP_OK) {
			if (hoop_spdy_feed(r, "x", 1, check, &total) == HOOP_OK)
				__builtin_trap();
			break;
		}
		off += n;
	}
	hoop_spdy_free(r);
	return 0;
}
