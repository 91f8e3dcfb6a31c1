#ifndef HOOPCTL_H
#define HOOPCTL_H

#include <stdint.h>

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
int cmd_approvals(struct hoopctl *ctx, int argc, char **argv);
int cmd_setup(struct hoopctl *ctx, int argc, char **argv);
int cmd_doctor(struct hoopctl *ctx, int argc, char **argv);

/* Sessions and their recordings (cmd_sessions.c, cmd_replay.c). */
struct hoopctl_session {
	char *id, *login, *identity, *principal, *remote, *command;
	char *end_reason, *recording, *seal;
	int64_t lease_id, pid, started_at, ended_at;	/* seconds */
	int has_lease_id, has_pid, live;
};
/* The row of session id: 0, or -1 after saying why (not found too). */
int hoopctl_session_get(struct hoopctl *ctx, const char *id,
    struct hoopctl_session **out);
void hoopctl_session_free(struct hoopctl_session *s);
/* Records that the caller views s (action show, replay, export, grep;
 * detail a JSON object or NULL) before anything recorded is shown:
 * -1 after saying why when it cannot be recorded (refuse then). */
int hoopctl_view_event(struct hoopctl *ctx, const struct hoopctl_session *s,
    const char *action, const char *detail);
/* The configured recordings directory, or NULL after saying why s has no
 * recording to read. */
const char *hoopctl_session_recordings(struct hoopctl *ctx,
    const struct hoopctl_session *s);
/* Warns on stderr when s's recording does not verify against its seal. */
void hoopctl_session_check_seal(struct hoopctl *ctx,
    const struct hoopctl_session *s);
/* "+H:MM:SS.mmm" */
void hoopctl_format_offset(int64_t us, char *buf, size_t size);
/* @EPOCH, YYYY-MM-DD[THH:MM:SS[Z]] or a duration ago, in microseconds. */
int hoopctl_parse_when(const char *text, int64_t *us);
int cmd_sessions(struct hoopctl *ctx, int argc, char **argv);
int cmd_replay(struct hoopctl *ctx, int argc, char **argv);
int cmd_export(struct hoopctl *ctx, int argc, char **argv);

#endif
