#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hoop_approval.h"
#include "hoop_lease.h"
#include "hoopctl.h"

static int
leases_list(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	enum hoop_lease_format format = HOOP_LEASE_TEXT;
	unsigned flags = 0;
	hoop_err_t err;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			flags |= HOOP_LEASE_LIST_ALL;
			break;
		case 'j':
			format = HOOP_LEASE_JSON_LINES;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hoopctl: leases list: unexpected '%s'\n",
		    argv[optind]);
		return 2;
	}
	if (hoopctl_store(ctx, HOOP_STORE_READONLY))
		return 1;
	if ((err = hoop_lease_list(ctx->store, flags, format,
	    (int64_t)time(NULL), stdout)) != HOOP_OK) {
		fprintf(stderr, "hoopctl: leases list: %s\n",
		    hoop_strerror(err));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
cmd_leases(struct hoopctl *ctx, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "list") != 0) {
		fprintf(stderr, "usage: hoopctl leases list [--all] [--json]\n");
		return 2;
	}
	if (hoopctl_require_admin(ctx, "leases"))
		return 1;
	return leases_list(ctx, argc - 1, argv + 1);
}

int
cmd_gc(struct hoopctl *ctx, int argc, char **argv)
{
	struct hoop_gc_stats stats;
	hoop_approval_t *svc = NULL;
	unsigned expired_requests = 0;
	hoop_err_t err, aerr;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: hoopctl gc\n");
		return 2;
	}
	/* It kills processes of other users and removes their homes. */
	if (getuid() != 0 || geteuid() != 0) {
		fprintf(stderr, "hoopctl: gc needs root\n");
		return 1;
	}
	if (hoopctl_config(ctx) || hoopctl_store(ctx, 0))
		return 1;
	err = hoop_lease_gc(ctx->cfg, ctx->store, ctx->nssdb_path,
	    (int64_t)time(NULL), hoopctl_caller(), &stats);
	/* Requests past their time are also expired by whoever looks at
	 * them next; here they are expired (audited, announced) on time
	 * even when no one does. */
	aerr = hoop_approval_create(ctx->store, ctx->cfg, &svc);
	if (aerr == HOOP_OK)
		aerr = hoop_approval_expire(svc, &expired_requests);
	hoop_approval_free(svc);
	printf("gc: %u expired, %u ended, %u left for the next run, %u "
	    "processes killed, %u sessions whose recorder died closed, %u "
	    "approval requests expired\n", stats.expired, stats.ended,
	    stats.failed, stats.killed, stats.orphans, expired_requests);
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: gc: %s\n", hoop_strerror(err));
		return 1;
	}
	if (aerr != HOOP_OK) {
		fprintf(stderr, "hoopctl: gc: approval requests: %s\n",
		    hoop_strerror(aerr));
		return 1;
	}
	return stats.failed > 0 ? 1 : 0;
}
