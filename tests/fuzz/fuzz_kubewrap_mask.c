/* The response masker on arbitrary input. Byte 0 picks the mode (and
 * a piece size). Fed in pieces, the stream must give exactly what one
 * piece gives; what jansson reads before masking it must read after;
 * and in a response about Secrets no value of data may survive: every
 * string inside a data object is Kioq. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../hoop-kubewrap/kubewrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
data_clean(json_t *v, int depth)
{
	const char *k;
	json_t *e, *x;
	size_t i;

	if (depth > 600)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if (strcmp(k, "data") == 0 && json_is_object(e)) {
				const char *kk;

				json_object_foreach(e, kk, x)
					if (json_is_string(x) &&
					    strcmp(json_string_value(x), "Kioq"))
						return 0;
			}
			if (!data_clean(e, depth + 1))
				return 0;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!data_clean(e, depth + 1))
				return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kubewrap kw;
	static int init;
	enum kubewrap_mask_mode mode;
	struct kubewrap_jstream *js;
	const unsigned char *p;
	char *out = NULL, *pieces;
	size_t outlen, n, off, step, pl = 0;
	json_t *doc;
	int ok;

	if (!init) {
		pthread_mutex_init(&kw.mask_lock, NULL);
		init = 1;
	}
	if (size < 1)
		return 0;
	mode = data[0] % 3 == 0 ? KUBEWRAP_MASK_NONE : data[0] % 3 == 1 ?
	    KUBEWRAP_MASK_SECRETS : KUBEWRAP_MASK_CONFIGMAPS;
	step = (size_t)(data[0] >> 2) + 1;
	data++;
	size--;
	ok = kubewrap_mask_json(&kw, mode, (const char *)data, size, &out,
	    &outlen) == 0;
	/* In pieces, the same answer. */
	if (kubewrap_jstream_create(&kw, mode, 0, &js) != HOOP_OK ||
	    (pieces = malloc(size * 8 + 64)) == NULL)
		abort();
	for (off = 0; off < size; off += step) {
		if (kubewrap_jstream_feed(js, data + off, size - off < step ?
		    size - off : step, &p, &n) == -1)
			break;
		memcpy(pieces + pl, p, n);
		pl += n;
	}
	if (off >= size && kubewrap_jstream_end(js, &p, &n) == 0) {
		memcpy(pieces + pl, p, n);
		pl += n;
		if (!ok || pl != outlen || memcmp(pieces, out, pl) != 0)
			abort();
	} else if (ok) {
		abort();
	}
	kubewrap_jstream_free(js);
	free(pieces);
	if (ok) {
		/* What jansson reads before, it reads after. */
		doc = json_loadb((const char *)data, size, JSON_DECODE_ANY |
		    JSON_ALLOW_NUL, NULL);
		if (doc != NULL) {
			json_decref(doc);
			doc = json_loadb(out, outlen, JSON_DECODE_ANY |
			    JSON_ALLOW_NUL, NULL);
			if (doc == NULL)
				abort();
			if (mode == KUBEWRAP_MASK_SECRETS &&
			    !data_clean(doc, 0))
				abort();
			json_decref(doc);
		}
		free(out);
	}
	return 0;
}
