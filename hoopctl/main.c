/* hoopctl: administration, approvals and audit for the hoop bastion. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoop_log.h"
#include "hoop_nssdb.h"
#include "hoop_util.h"
#include "hoopctl.h"

static const struct {
	const char *name;
	int (*run)(struct hoopctl *, int, char **);
	const char *summary;
} commands[] = {
	{ "config", cmd_config, "config check [FILE]" },
	{ "db", cmd_db, "db migrate | db version" },
	{ "audit", cmd_audit,
	    "audit list [filters] [--json] | audit verify [--anchor SEQ:HASH] "
	    "| audit head" },
	{ "leases", cmd_leases, "leases list [--all] [--json]" },
	{ "gc", cmd_gc, "gc" },
	{ "setup", cmd_setup, "setup [--root DIR] [--group NAME|GID]" },
	{ "doctor", cmd_doctor, "doctor [--root DIR] [--group NAME|GID]" },
	{ "nss", cmd_nss, "nss sync | nss show [NAME|UID]" },
	{ "approvals", cmd_approvals, "approvals list [--all] | show ID | "
	    "approve ID [--reason TEXT] | deny ID --reason TEXT" },
	{ "sessions", cmd_sessions, "sessions list [filters] [--json] | "
	    "show ID [--json] | verify ID|--all | grep [-i] PATTERN" },
	{ "replay", cmd_replay,
	    "replay [--speed F] [--idle-limit S] [--follow] ID" },
	{ "export", cmd_export,
	    "export ID --format asciicast|ttyrec|text [-o FILE]" },
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: hoopctl [-c CONFIG] [-s STORE] [--nss-db FILE] "
	    "COMMAND ...\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "       hoopctl %s\n", commands[i].summary);
}

/* The environment a setgid program keeps: nothing that steers it. */
static void
sanitize_environment(void)
{
	static const char *const keep[] = { "TERM", "LANG", "LC_ALL",
	    "LC_MESSAGES", "LC_CTYPE" };
	char *saved[sizeof(keep) / sizeof(keep[0])];
	size_t i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);

		saved[i] = v != NULL && strlen(v) < 256 ? strdup(v) : NULL;
	}
	clearenv();
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (saved[i] != NULL)
			setenv(keep[i], saved[i], 1);
		free(saved[i]);
	}
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
}

/* 0, 1 and 2 must be open, or a file we open later could become someone's
 * stdout; everything else inherited is closed. */
static void
sanitize_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			abort();
	hoop_closefrom(3);
}

int
hoopctl_drop_privileges(struct hoopctl *ctx)
{
	gid_t gid = getgid();

	if (setresgid(gid, gid, gid) == -1 || getegid() != gid) {
		fprintf(stderr, "hoopctl: cannot drop privileges: %s\n",
		    strerror(errno));
		return -1;
	}
	ctx->privileged = 0;
	return 0;
}

void
hoopctl_print_diag(void *arg, const char *message)
{
	int *count = arg;

	(*count)++;
	fprintf(stderr, "%s\n", message);
}

int
hoopctl_config(struct hoopctl *ctx)
{
	hoop_err_t err;
	int problems = 0;

	if (ctx->cfg != NULL)
		return 0;
	err = hoop_config_load(ctx->config_path, 0, &ctx->cfg, hoopctl_print_diag,
	    &problems);
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: %s: %s%s\n", ctx->config_path,
		    hoop_strerror(err), problems > 0 ? "; refusing to go on" :
		    "");
		return -1;
	}
	return 0;
}

int
hoopctl_store(struct hoopctl *ctx, unsigned flags)
{
	const char *path = ctx->store_path;
	hoop_err_t err;

	if (ctx->store != NULL)
		return 0;
	if (path == NULL) {
		if (hoopctl_config(ctx) == -1)
			return -1;
		path = hoop_config_store_path(ctx->cfg);
	}
	err = hoop_store_open(path, flags, &ctx->store);
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: store %s: %s\n", path,
		    hoop_strerror(err));
		return -1;
	}
	return 0;
}

int
hoopctl_require_admin(struct hoopctl *ctx, const char *what)
{
	gid_t groups[NGROUPS_MAX];
	int n, i;

	/* Without elevation the store's own permissions decide. */
	if (!ctx->privileged || getuid() == 0)
		return 0;
	n = getgroups(NGROUPS_MAX, groups);
	for (i = 0; i < n; i++)
		if (groups[i] == getegid())
			return 0;
	fprintf(stderr, "hoopctl: %s needs root or membership in the hoop "
	    "group\n", what);
	return -1;
}

const char *
hoopctl_caller(void)
{
	static char name[64];
	struct passwd *pw;

	if (name[0] == '\0') {
		pw = getpwuid(getuid());
		if (pw != NULL && strlen(pw->pw_name) < sizeof(name))
			snprintf(name, sizeof(name), "%s", pw->pw_name);
		else
			snprintf(name, sizeof(name), "uid:%lu",
			    (unsigned long)getuid());
	}
	return name;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "nss-db", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hoopctl ctx = { .config_path = hoop_config_default_path(),
	    .nssdb_path = hoop_nssdb_default_path() };
	int ch, ret = 2, caller_paths = 0;
	size_t i;

	sanitize_fds();
	ctx.privileged = getegid() != getgid() || geteuid() != getuid();
	if (ctx.privileged)
		sanitize_environment();
	umask(007);
	hoop_log_init("hoopctl", LOG_AUTHPRIV, HOOP_LOG_STDERR);

	/* "+": stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx.config_path = optarg;
			caller_paths = 1;
			break;
		case 's':
			ctx.store_path = optarg;
			caller_paths = 1;
			break;
		case 'n':
			ctx.nssdb_path = optarg;
			caller_paths = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Files chosen by the caller are read with the caller's rights. */
	if (caller_paths && ctx.privileged && hoopctl_drop_privileges(&ctx))
		return 1;
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			optind = 1;
			ret = commands[i].run(&ctx, argc, argv);
			goto out;
		}
	}
	fprintf(stderr, "hoopctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
out:
	hoop_store_close(ctx.store);
	hoop_config_free(ctx.cfg);
	return ret;
}
