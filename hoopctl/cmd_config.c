#include <stdio.h>
#include <string.h>

#include "hoopctl.h"

int
cmd_config(struct hoopctl *ctx, int argc, char **argv)
{
	hoop_config_t *cfg = NULL;
	const char *path = ctx->config_path;
	hoop_err_t err;
	int problems = 0;

	if (argc < 2 || strcmp(argv[1], "check") != 0 || argc > 3) {
		fprintf(stderr, "usage: hoopctl config check [FILE]\n");
		return 2;
	}
	if (argc == 3) {
		path = argv[2];
		/* Never parse a caller-chosen file with the hoop group's
		 * rights: its error messages would quote a secret. */
		if (ctx->privileged && hoopctl_drop_privileges(ctx))
			return 1;
	}
	err = hoop_config_load(path, 0, &cfg, hoopctl_print_diag, &problems);
	if (err != HOOP_OK) {
		if (problems == 0)
			fprintf(stderr, "%s: %s\n", path, hoop_strerror(err));
		fprintf(stderr, "%s: invalid (%d problem%s)\n", path,
		    problems > 0 ? problems : 1, problems == 1 ? "" : "s");
		return 1;
	}
	printf("%s: ok\n", path);
	hoop_config_free(cfg);
	return 0;
}
