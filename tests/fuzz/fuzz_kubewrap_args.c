/* kubectl's command line on arbitrary input: NUL-separated words. What
 * parses never passes on a refused flag before "--", and the target, if
 * any, is a plain name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hoop-kubewrap/kubewrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubewrap_args a;
	char *buf, *argv[130], why[256];
	size_t i, start = 0;
	int argc = 0, dashdash = 0;

	if (size > 4096 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"kubectl";
	for (i = 0; i <= size && argc < 129; i++)
		if (buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	argv[argc] = NULL;
	if (kubewrap_parse_args(argc, argv, &a, why, sizeof(why)) == 0) {
		if (a.target != NULL && (a.target[0] == '\0' ||
		    strpbrk(a.target, "/= ") != NULL))
			abort();
		for (i = 1; i < a.argc; i++) {
			const char *w = a.argv[i];

			if (strcmp(w, "--") == 0)
				dashdash = 1;
			if (dashdash)
				continue;
			if (strncmp(w, "--server", 8) == 0 && (w[8] == '\0' ||
			    w[8] == '='))
				abort();
			if (strncmp(w, "--token", 7) == 0 && (w[7] == '\0' ||
			    w[7] == '='))
				abort();
			if (strncmp(w, "--context", 9) == 0 && (w[9] == '\0' ||
			    w[9] == '='))
				abort();
			if (strcmp(w, "-s") == 0)
				abort();
		}
		if (a.argv[a.argc] != NULL)
			abort();
		kubewrap_args_free(&a);
	}
	free(buf);
	return 0;
}
