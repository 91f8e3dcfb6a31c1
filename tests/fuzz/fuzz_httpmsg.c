/* HTTP/1.1 heads and chunked bodies on arbitrary input. Byte 0: bit 0
 * request or response, bit 1 an answer to HEAD, bits 2-7 the piece size
 * for the chunked decoder. What parses must hold up: the head's length
 * within the input, headers readable, framing consistent; the chunked
 * decoder must make progress and never hand out bytes outside its
 * input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_httpmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static hoop_httpmsg_t *m;
	struct hoop_httpmsg_chunked c = { 0 };
	const struct hoop_httpmsg_header *h;
	enum hoop_httpmsg_kind kind;
	size_t hl = 0, off, used, dl, step, i;
	const void *d;
	char why[256];

	if (size < 1)
		return 0;
	if (m == NULL && hoop_httpmsg_create(&m) != HOOP_OK)
		abort();
	kind = data[0] & 1 ? HOOP_HTTPMSG_RESPONSE : HOOP_HTTPMSG_REQUEST;
	step = (size_t)(data[0] >> 2) + 1;
	data++;
	size--;
	if (hoop_httpmsg_parse(m, kind, data[-1] & 2, data, size, &hl, why,
	    sizeof(why)) == HOOP_OK && hl > 0) {
		if (hl > size || hl < 4 || memcmp(data + hl - 4, "\r\n\r\n", 4))
			abort();
		for (i = 0; i < hoop_httpmsg_header_count(m); i++) {
			h = hoop_httpmsg_header_at(m, i);
			if (h->name[0] == '\0' || strchr(h->value, '\n'))
				abort();
			(void)hoop_httpmsg_hop_by_hop(m, h->name);
		}
		if (hoop_httpmsg_body(m) == HOOP_HTTPMSG_BODY_LENGTH &&
		    hoop_httpmsg_content_length(m) > HOOP_HTTPMSG_MAX_LENGTH)
			abort();
		if (hoop_httpmsg_header(m, "Content-Length", NULL) != NULL &&
		    hoop_httpmsg_header(m, "Transfer-Encoding", NULL) != NULL)
			abort();
	}
	for (off = hl; off < size && !c.done;) {
		size_t piece = size - off < step ? size - off : step;

		if (hoop_httpmsg_chunked_step(&c, data + off, piece, &used, &d,
		    &dl, why, sizeof(why)) != HOOP_OK)
			break;
		if (used > piece || (dl > 0 && ((const uint8_t *)d <
		    data + off || (const uint8_t *)d + dl > data + off + used)))
			abort();
		if (used == 0)
			abort();
		off += used;
	}
	return 0;
}
