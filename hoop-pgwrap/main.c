/*
 * hoop-pgwrap: psql (or pg_dump) against a target by name, through a
 * PostgreSQL protocol proxy that holds the target's credentials and
 * decides every statement.
 *
 * Privilege: installed setgid hoop. The group reads hoop.conf's secret
 * files and writes the store (audit events, approvals). The process that
 * keeps the secret is the proxy; the kernel makes a setgid process
 * undumpable, so the user can neither trace it nor read its memory or
 * /proc files (PR_SET_DUMPABLE 0 is also set here). psql is its child,
 * started with the group dropped for good (setresgid, checked), a
 * parent-death signal and an environment built from a list: it holds a
 * one-time password good for this proxy's socket only, in a private
 * directory of the user's, and never anything of the target's.
 *
 * Who the user is comes from the store (the live lease of the kernel's
 * real uid); the session from HOOP_SESSION_ID only when the store says
 * it is a live session of that same lease.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_util.h"
#include "pgwrap.h"
#include "store_internal.h"

#ifndef HOOP_PGWRAP_CONFIG
#define HOOP_PGWRAP_CONFIG HOOP_SYSCONFDIR "/hoop/hoop.conf"
#endif

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer stops the world with ptrace, which an undumpable process
 * refuses: its fatal error at exit would turn every run of the sanitizer
 * build into a failure. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

#define SECRET_MAX	4096

extern char **environ;

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("hoop-pgwrap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void
diag(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "hoop-pgwrap: %s\n", message);
}

/* ---- The client's environment ---- */

/* What describes the terminal, the user and psql's own preferences;
 * nothing that tells libpq where or how to connect (set after). */
static void
base_environment(struct hoop_env *e)
{
	static const char *const keep[] = { "TERM", "COLORTERM", "LANG",
	    "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_COLLATE", "LC_NUMERIC",
	    "LC_TIME", "LC_MONETARY", "TZ", "HOME", "USER", "LOGNAME", "SHELL",
	    "PAGER", "PSQL_PAGER", "PSQL_WATCH_PAGER", "EDITOR", "VISUAL",
	    "PSQL_EDITOR", "PSQL_EDITOR_LINENUMBER_ARG", "PSQLRC",
	    "PSQL_HISTORY", "COLUMNS", "LINES", "TMPDIR", "SSH_CONNECTION",
	    "SSH_CLIENT", "SSH_TTY", "HOOP_SESSION_ID", "HOOP_PRINCIPAL",
	    "HOOP_IDENTITY", "HOOP_SESSION_END", "HOOP_APPROVAL_WAIT",
	    "PGAPPNAME", "PGDATESTYLE", "PGTZ" };
	const char *v;

	hoop_env_keep(e, keep, sizeof(keep) / sizeof(keep[0]));
	v = getenv("PATH");
	(void)hoop_env_add(e, "PATH", v != NULL ? v : "/usr/bin:/bin");
}

/* ---- Set-up ---- */

/* The session of HOOP_SESSION_ID, if the store has it live for this
 * principal's lease; else none. */
static void
find_session(struct pgwrap *pw)
{
	const char *hint = getenv("HOOP_SESSION_ID");
	sqlite3_stmt *st = NULL;

	if (hint == NULL || strlen(hint) != 32 ||
	    strspn(hint, "0123456789abcdef") != 32)
		return;
	if (sqlite3_prepare_v2(hoop_store_db(pw->store), "SELECT 1 FROM "
	    "sessions WHERE id = ?1 AND lease_id = ?2 AND ended_at IS NULL",
	    -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, hint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pw->who.lease_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(pw->session_buf, sizeof(pw->session_buf), "%s", hint);
		pw->session_id = pw->session_buf;
	}
	sqlite3_finalize(st);
}

static void
refuse_target(struct pgwrap *pw, const char *name, const char *reason)
{
	struct hoop_audit_event ev = { 0 };
	size_t i;
	int any = 0;

	ev.session_id = pw->session_id;
	ev.principal = pw->who.login;
	ev.identity = pw->who.identity->name;
	ev.target = name;
	ev.kind = "sql";
	ev.action = "connect";
	ev.decision = "deny";
	ev.reason = reason;
	(void)hoop_audit_append(pw->store, &ev, NULL);
	fprintf(stderr, "hoop-pgwrap: %s\n", reason);
	for (i = 0; i < hoop_config_target_count(pw->cfg); i++) {
		const struct hoop_target *t = hoop_config_target_at(pw->cfg, i);

		if (t->type != HOOP_TARGET_POSTGRES ||
		    !hoop_policy_target_allowed(pw->cfg, &pw->who, t->name))
			continue;
		fprintf(stderr, "%s%s", any ? ", " : "targets you may use: ",
		    t->name);
		any = 1;
	}
	if (any)
		fputc('\n', stderr);
	exit(2);
}

static char *
read_secret(const struct hoop_target *t)
{
	char *buf = NULL;
	size_t len = 0;
	hoop_err_t err;

	if (t->secret_file == NULL)
		return NULL;
	if ((err = hoop_read_file(t->secret_file, SECRET_MAX, &buf, &len)) !=
	    HOOP_OK)
		fail(1, "cannot read the secret of target %s (%s): tell an "
		    "administrator", t->name, hoop_strerror(err));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len || strchr(buf, '\n') != NULL) {
		hoop_wipe_free(buf);
		fail(1, "the secret of target %s is empty or not one line: "
		    "tell an administrator", t->name);
	}
	return buf;
}

/* The private directory (the user's, 0700), its socket and the one-time
 * password file libpq reads. */
static void
make_socket(struct pgwrap *pw)
{
	struct sockaddr_un sun = { 0 };
	struct stat st;
	char line[HOOP_PG_OTP_LEN + 16];
	int fd, n;

	snprintf(pw->dir, sizeof(pw->dir), "/tmp/hoop-pgwrap.XXXXXX");
	if (mkdtemp(pw->dir) == NULL)
		fail(1, "cannot make a private directory: %s", strerror(errno));
	if ((pw->dir_fd = open(pw->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(pw->dir_fd, &st) == -1 ||
	    st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
		fail(1, "the private directory %s is not private", pw->dir);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/.s.PGSQL.%s", pw->dir, PGWRAP_PORT) >= sizeof(sun.sun_path) ||
	    (pw->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1 ||
	    bind(pw->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(pw->listen_fd, 16) == -1)
		fail(1, "cannot listen on %s: %s", sun.sun_path,
		    strerror(errno));
	if (hoop_pg_one_time_password(pw->otp) != HOOP_OK)
		fail(1, "cannot make a one-time password");
	n = snprintf(line, sizeof(line), "*:*:*:*:%s\n", pw->otp);
	if ((fd = openat(pw->dir_fd, "pgpass", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    write(fd, line, (size_t)n) != n || close(fd) == -1)
		fail(1, "cannot write the one-time password file: %s",
		    strerror(errno));
	explicit_bzero(line, sizeof(line));
}

static void
remove_socket(struct pgwrap *pw)
{
	char name[32];

	if (pw->dir_fd == -1)
		return;
	snprintf(name, sizeof(name), ".s.PGSQL.%s", PGWRAP_PORT);
	(void)unlinkat(pw->dir_fd, name, 0);
	(void)unlinkat(pw->dir_fd, "pgpass", 0);
	close(pw->dir_fd);
	pw->dir_fd = -1;
	(void)rmdir(pw->dir);
}

static int
client_environment(struct pgwrap *pw, struct hoop_env *e)
{
	char path[128];
	int r = 0;

	base_environment(e);
	snprintf(path, sizeof(path), "%s/pgpass", pw->dir);
	r |= hoop_env_add(e, "PGHOST", pw->dir);
	r |= hoop_env_add(e, "PGPORT", PGWRAP_PORT);
	r |= hoop_env_add(e, "PGUSER", pw->who.login);
	r |= hoop_env_add(e, "PGDATABASE", pw->target->name);
	r |= hoop_env_add(e, "PGPASSFILE", path);
	/* A private socket: nothing to negotiate. */
	r |= hoop_env_add(e, "PGSSLMODE", "disable");
	r |= hoop_env_add(e, "PGGSSENCMODE", "disable");
	return r;
}

static enum pgwrap_client
client_of(int *argc, char ***argv)
{
	const char *base = strrchr((*argv)[0], '/');

	base = base != NULL ? base + 1 : (*argv)[0];
	if (strcmp(base, "psql") == 0)
		return PGWRAP_PSQL;
	if (strcmp(base, "pg_dump") == 0)
		return PGWRAP_PG_DUMP;
	if (*argc >= 2 && strcmp((*argv)[1], "psql") == 0) {
		(*argc)--;
		(*argv)++;
		return PGWRAP_PSQL;
	}
	if (*argc >= 2 && strcmp((*argv)[1], "pg_dump") == 0) {
		(*argc)--;
		(*argv)++;
		return PGWRAP_PG_DUMP;
	}
	fail(2, "usage: hoop-pgwrap psql|pg_dump TARGET [OPTION]... (or run "
	    "it as psql or pg_dump)");
}

int
main(int argc, char **argv)
{
	static struct pgwrap pw;
	struct pgwrap_args args;
	struct hoop_env env = { 0 };
	const char *refused, *path;
	unsigned char raw[16];
	char why[512];
	sigset_t mask;
	hoop_err_t err;
	pid_t child, self;
	int status;

	hoop_sanitize_fds();
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	hoop_log_init("hoop-pgwrap", LOG_AUTHPRIV, 0);
	pw.dir_fd = pw.listen_fd = pw.signal_fd = -1;

	pw.client = client_of(&argc, &argv);
	path = pw.client == PGWRAP_PSQL ? HOOP_PGWRAP_PSQL : HOOP_PGWRAP_PG_DUMP;
	if (pgwrap_parse_args(pw.client, argc, argv, &args, why,
	    sizeof(why)) == -1)
		fail(2, "%s", why);
	if ((refused = pgwrap_refused_env(environ)) != NULL)
		fail(2, "%s is set: hoop connects to the target for you; unset "
		    "it and name the target", refused);
	if (args.info_only) {
		base_environment(&env);
		hoop_exec_dropped("hoop-pgwrap", path, args.argv, env.v, 0);
	}

	if ((err = hoop_config_load(HOOP_PGWRAP_CONFIG, 0, &pw.cfg, diag,
	    NULL)) != HOOP_OK)
		fail(2, "no valid configuration (%s): refusing",
		    hoop_strerror(err));
	if ((err = hoop_store_open(hoop_config_store_path(pw.cfg), 0,
	    &pw.store)) != HOOP_OK)
		fail(2, "cannot open the store (%s): refusing",
		    hoop_strerror(err));
	if ((err = hoop_policy_principal(pw.store, pw.cfg, getuid(),
	    time(NULL), &pw.who)) != HOOP_OK)
		fail(2, err == HOOP_ERR_NOTFOUND ? "uid %u has no live hoop "
		    "lease: refusing" : "the lease of uid %u is not usable "
		    "(%s): refusing", (unsigned)getuid(), hoop_strerror(err));
	find_session(&pw);
	pw.target = hoop_config_target(pw.cfg, args.target);
	if (pw.target == NULL || pw.target->type != HOOP_TARGET_POSTGRES ||
	    !hoop_policy_target_allowed(pw.cfg, &pw.who, args.target)) {
		snprintf(why, sizeof(why), "\"%.64s\" is not a PostgreSQL target "
		    "you may use", args.target);
		refuse_target(&pw, args.target, why);
	}
	pw.secret = read_secret(pw.target);
	/* While the group is held: the mask key is hoop's. */
	if (pgwrap_mask_start(&pw, why, sizeof(why)) == -1) {
		(void)pgwrap_audit(&pw, "connect", "error", NULL, why, NULL,
		    NULL);
		fail(1, "the masks of target %s cannot be set up (%s): "
		    "refusing; tell an administrator", pw.target->name, why);
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fail(1, "no randomness");
	hoop_hex_encode(raw, sizeof(raw), pw.nonce);
	make_socket(&pw);
	if (client_environment(&pw, &env) == -1) {
		remove_socket(&pw);
		fail(1, "cannot build the environment");
	}
	pw.interactive = isatty(0) && isatty(2);

	/* SIGINT and SIGQUIT are psql's (Ctrl-C becomes a CancelRequest);
	 * an approval wait takes SIGINT for itself while it lasts. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (pw.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) ==
	    -1) {
		remove_socket(&pw);
		fail(1, "cannot set up signals: %s", strerror(errno));
	}
	/* The proxy's pid before fork: a child that finds another parent
	 * (the proxy died in between) must not run unwatched. */
	self = getpid();
	if ((child = fork()) == -1) {
		remove_socket(&pw);
		fail(1, "fork: %s", strerror(errno));
	}
	if (child == 0) {
		/* Nothing of the proxy's stays in the child's memory longer
		 * than it must (it execs at once). */
		if (pw.secret != NULL)
			explicit_bzero(pw.secret, strlen(pw.secret));
		hoop_exec_dropped("hoop-pgwrap", path, args.argv, env.v, self);
	}
	pw.child = child;
	hoop_env_free(&env);
	pgwrap_args_free(&args);
	/* The terminal's input is psql's alone. */
	status = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (status != -1) {
		(void)dup2(status, 0);
		(void)dup2(status, 1);
		close(status);
	}

	(void)pgwrap_proxy_run(&pw);
	pgwrap_mask_end(&pw);

	remove_socket(&pw);
	if (pw.secret != NULL)
		hoop_wipe_free(pw.secret);
	explicit_bzero(pw.otp, sizeof(pw.otp));
	if (!pw.child_done) {
		kill(pw.child, SIGTERM);
		if (waitpid(pw.child, &status, 0) == pw.child) {
			pw.child_done = 1;
			pw.child_status = status;
		}
	}
	hoop_store_close(pw.store);
	hoop_config_free(pw.cfg);
	return pw.child_done ? hoop_exit_status(pw.child_status) : 1;
}
