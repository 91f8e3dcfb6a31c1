#ifndef HOOPCTL_H
#define HOOPCTL_H

#include "hoop_config.h"
#include "hoop_store.h"

struct hoopctl {
	const char *config_path;
	const char *store_path;		/* -s: overrides the config */
	const char *nssdb_path;		/* --nss-db: the nss_hoop file */
	int privileged;			/* running with setgid elevation */
	hoop_config_t *cfg;
	hoop_store_t *store;
};

/* Loads the configuration once; prints every problem and returns -1 on an
 * invalid one (commands fail closed). */
int hoopctl_config(struct hoopctl *ctx);
/* Prints one configuration problem; arg counts them (int *). */
void hoopctl_print_diag(void *arg, const char *message);
/* Opens the store named by the configuration (or -s). */
int hoopctl_store(struct hoopctl *ctx, unsigned flags);
/* Refuses unless the real user may administer or audit the bastion. */
int hoopctl_require_admin(struct hoopctl *ctx, const char *what);
/* Drops setgid elevation for good (before touching caller-chosen files). */
int hoopctl_drop_privileges(struct hoopctl *ctx);
/* The real user, as recorded in audit events. */
const char *hoopctl_caller(void);

int cmd_config(struct hoopctl *ctx, int argc, char **argv);
int cmd_db(struct hoopctl *ctx, int argc, char **argv);
int cmd_audit(struct hoopctl *ctx, int argc, char **argv);
int cmd_leases(struct hoopctl *ctx, int argc, char **argv);
int cmd_gc(struct hoopctl *ctx, int argc, char **argv);
int cmd_nss(struct hoopctl *ctx, int argc, char **argv);

#endif
