/* The command-line word splitter on arbitrary input: never reads or
 * writes out of bounds, and what it accepts holds no unquoted
 * metacharacter's effect: re-quoting each word and splitting again gives
 * the same words. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_words.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Single-quotes s ('\'' for a quote) into out; returns the length. */
static size_t
quote(const char *s, char *out)
{
	size_t n = 0;

	out[n++] = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '\'';
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoop_words *w = NULL, *again = NULL;
	char why[256], *line;
	size_t i, n = 0;

	if (hoop_words_split((const char *)data, size, &w, why, sizeof(why)) !=
	    HOOP_OK)
		return 0;
	if (w->argv[w->argc] != NULL)
		abort();
	if ((line = malloc(size * 4 + 3 * w->argc + 1)) == NULL)
		abort();
	for (i = 0; i < w->argc; i++) {
		n += quote(w->argv[i], line + n);
		line[n++] = ' ';
	}
	if (n <= HOOP_WORDS_MAX_LINE) {
		if (hoop_words_split(line, n, &again, why, sizeof(why)) !=
		    HOOP_OK || again->argc != w->argc)
			abort();
		for (i = 0; i < w->argc; i++)
			if (strcmp(again->argv[i], w->argv[i]) != 0)
				abort();
	}
	hoop_words_free(again);
	hoop_words_free(w);
	free(line);
	return 0;
}
