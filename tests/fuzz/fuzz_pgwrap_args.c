/* hoop-pgwrap's reading of the client's command line on arbitrary
 * arguments (NUL-separated): never reads or writes out of bounds, and
 * what it accepts gives the client a NULL-terminated argv that reads
 * back the same (so no refused option is given on, in any spelling). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hoop-pgwrap/pgwrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgwrap_args a;
	char *buf, *argv[MAX_ARGS + 1], why[256];
	size_t i, start = 0;
	int argc = 0, client;

	if (size > 4096 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i <= size && argc < MAX_ARGS; i++)
		if (buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	argv[argc] = NULL;
	if (argc == 0) {
		free(buf);
		return 0;
	}
	for (client = PGWRAP_PSQL; client <= PGWRAP_PG_DUMP; client++) {
		struct pgwrap_args b;
		char *again[2 * MAX_ARGS + 4];

		if (pgwrap_parse_args((enum pgwrap_client)client, argc, argv, &a,
		    why, sizeof(why)) != 0)
			continue;
		if (a.argv[a.argc] != NULL || a.argc > 2 * (size_t)argc + 1)
			abort();
		/* What the client gets reads back the same with a target:
		 * a refused option given on would be refused here. */
		for (i = 0; i < a.argc; i++)
			again[i] = a.argv[i];
		again[a.argc] = "prod";
		again[a.argc + 1] = NULL;
		if (pgwrap_parse_args((enum pgwrap_client)client,
		    (int)a.argc + 1, again, &b, why, sizeof(why)) != 0 ||
		    b.argc != a.argc || strcmp(b.target, "prod") != 0)
			abort();
		for (i = 0; i < a.argc; i++)
			if (strcmp(a.argv[i], b.argv[i]) != 0)
				abort();
		pgwrap_args_free(&b);
		pgwrap_args_free(&a);
	}
	(void)pgwrap_refused_env(argv);
	free(buf);
	return 0;
}
