#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_nssdb.h"
#include "hoopctl.h"

/* One line as getent(1) would print it. */
static void
print_user(const struct hoop_nssdb_user *u)
{
	size_t i;

	printf("%s:*:%lu:%lu:%s:%s%s%s:%s\n", u->name, (unsigned long)u->uid,
	    (unsigned long)u->uid, u->gecos,
	    (u->flags & HOOP_NSSDB_HOME) ? u->home_base : "/",
	    (u->flags & HOOP_NSSDB_HOME) ? "/" : "",
	    (u->flags & HOOP_NSSDB_HOME) ? u->name : "", u->shell);
	if (!(u->flags & HOOP_NSSDB_LEASE))
		return;
	printf("# lease until @%" PRId64 ", local groups:", u->expires_at);
	for (i = 0; i < u->n_groups; i++)
		printf("%s%lu", i ? "," : " ",
		    (unsigned long)hoop_nssdb_user_group(u, i));
	printf("%s\n", u->n_groups == 0 ? " none" : "");
}

static int
nss_show(struct hoopctl *ctx, int argc, char **argv)
{
	struct hoop_nssdb_user u;
	hoop_nssdb_t *db = NULL;
	int64_t now = (int64_t)time(NULL);
	const char *pattern, *gecos;
	unsigned long uid;
	hoop_err_t err;
	char *end;
	size_t i;
	int ret = 1;

	if (argc > 2) {
		fprintf(stderr, "usage: hoopctl nss show [NAME|UID]\n");
		return 2;
	}
	if ((err = hoop_nssdb_open_file(ctx->nssdb_path, &db, NULL)) !=
	    HOOP_OK) {
		fprintf(stderr, "hoopctl: %s: %s\n", ctx->nssdb_path,
		    err == HOOP_ERR_INVAL ? "corrupt or not an nss_hoop file" :
		    hoop_strerror(err));
		goto out;
	}
	if (argc == 2) {
		errno = 0;
		uid = strtoul(argv[1], &end, 10);
		if (argv[1][0] >= '0' && argv[1][0] <= '9' && *end == '\0' &&
		    errno == 0 && uid <= UINT32_MAX)
			err = hoop_nssdb_by_uid(db, (uint32_t)uid, now, &u);
		else
			err = hoop_nssdb_by_name(db, argv[1], now, &u);
		if (err != HOOP_OK) {
			fprintf(stderr, "hoopctl: %s: not found\n", argv[1]);
			goto out;
		}
		print_user(&u);
		ret = 0;
		goto out;
	}
	printf("# %s: generated @%" PRId64 ", %zu names, %zu templates, "
	    "enumeration %s\n", ctx->nssdb_path, hoop_nssdb_generated_at(db),
	    hoop_nssdb_count(db), hoop_nssdb_template_count(db),
	    hoop_nssdb_enumerable(db) ? "on" : "off");
	for (i = 0; i < hoop_nssdb_template_count(db); i++) {
		pattern = hoop_nssdb_template_at(db, i, &gecos);
		printf("# template %s (%s)\n", pattern, gecos);
	}
	for (i = 0; i < hoop_nssdb_count(db); i++) {
		if (hoop_nssdb_lease_at(db, i, now, &u) == HOOP_OK)
			print_user(&u);
	}
	ret = 0;
out:
	hoop_nssdb_free(db);
	return ret;
}

int
cmd_nss(struct hoopctl *ctx, int argc, char **argv)
{
	hoop_err_t err;

	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return nss_show(ctx, argc - 1, argv + 1);
	if (argc != 2 || strcmp(argv[1], "sync") != 0) {
		fprintf(stderr, "usage: hoopctl nss sync | nss show "
		    "[NAME|UID]\n");
		return 2;
	}
	if (hoopctl_require_admin(ctx, "nss sync"))
		return 1;
	if (hoopctl_config(ctx) || hoopctl_store(ctx, 0))
		return 1;
	if ((err = hoop_nssdb_sync(ctx->cfg, ctx->store, ctx->nssdb_path)) !=
	    HOOP_OK) {
		fprintf(stderr, "hoopctl: nss sync %s: %s\n", ctx->nssdb_path,
		    hoop_strerror(err));
		return 1;
	}
	printf("nss sync: wrote %s\n", ctx->nssdb_path);
	return 0;
}
