#include <stdio.h>
#include <string.h>

#include "hoop_audit.h"
#include "hoopctl.h"

int
cmd_db(struct hoopctl *ctx, int argc, char **argv)
{
	struct hoop_audit_event ev = { .kind = "admin", .decision = "info" };
	char action[64];
	hoop_err_t err;
	int from = 0, to = 0, version = 0;

	if (argc != 2 || (strcmp(argv[1], "migrate") != 0 &&
	    strcmp(argv[1], "version") != 0)) {
		fprintf(stderr, "usage: hoopctl db migrate | db version\n");
		return 2;
	}
	if (hoopctl_require_admin(ctx, "db"))
		return 1;
	if (strcmp(argv[1], "version") == 0) {
		if (hoopctl_store(ctx, HOOP_STORE_MIGRATE | HOOP_STORE_READONLY))
			return 1;
		if ((err = hoop_store_schema_version(ctx->store, &version))) {
			fprintf(stderr, "hoopctl: %s\n", hoop_strerror(err));
			return 1;
		}
		printf("schema %d (this program: %d)\n", version,
		    HOOP_STORE_SCHEMA_VERSION);
		return version == HOOP_STORE_SCHEMA_VERSION ? 0 : 1;
	}
	if (hoopctl_store(ctx, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE))
		return 1;
	if ((err = hoop_store_migrate(ctx->store, &from, &to)) != HOOP_OK) {
		fprintf(stderr, "hoopctl: migrate: %s (%s)\n",
		    hoop_strerror(err), hoop_store_errmsg(ctx->store));
		return 1;
	}
	printf("schema %d -> %d\n", from, to);
	if (from != to) {
		snprintf(action, sizeof(action), "db migrate %d -> %d", from,
		    to);
		ev.principal = hoopctl_caller();
		ev.action = action;
		if ((err = hoop_audit_append(ctx->store, &ev, NULL))) {
			fprintf(stderr, "hoopctl: audit: %s\n",
			    hoop_strerror(err));
			return 1;
		}
	}
	return 0;
}
