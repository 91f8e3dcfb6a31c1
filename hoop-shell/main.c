/*
 * hoop-shell: the login shell and ForceCommand of hoop sessions. It
 * records the session (lib/recording.c) into files the user cannot
 * reach, and runs only what policy allows.
 *
 * Privilege: installed setuid root and setgid hoop (privs.c). The
 * recorder runs with root's ids in all three places and a few
 * capabilities, so the user can neither signal nor ptrace it; the store
 * and the recordings directory (root:hoop, 0770) are out of the user's
 * reach. Children get the user's rights only, for good, before anything
 * runs; what they leave behind is killed when they end.
 *
 * Who the user is comes from the store (the live lease of the kernel's
 * real uid), never from the environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_notify.h"
#include "hoop_util.h"
#include "shell.h"
#include "store_internal.h"

#ifndef HOOP_SHELL_CONFIG
#define HOOP_SHELL_CONFIG HOOP_SYSCONFDIR "/hoop/hoop.conf"
#endif

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer stops the world with ptrace, which a process that is not
 * dumpable (setgid, or PR_SET_DUMPABLE 0 below) refuses: its fatal error
 * would end every session of the sanitizer build. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

volatile sig_atomic_t shell_write_abort;

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	int nonblock = 0;
	ssize_t n;

	while (len > 0) {
		/* Past the deadline a client that reads nothing no longer
		 * holds us: what does not go at once is dropped. */
		if (shell_write_abort && !nonblock) {
			(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			nonblock = 1;
		}
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
shell_output(struct shell *sh, int fd, const void *buf, size_t len)
{
	hoop_err_t err;

	if (sh->rec == NULL || len == 0)
		return 0;
	if ((err = hoop_rec_output(sh->rec, buf, len)) != HOOP_OK) {
		shell_end(sh, "the recording failed (%s)", hoop_strerror(err));
		return -1;
	}
	(void)write_all(fd, buf, len);
	return 0;
}

static void
vsay(struct shell *sh, int fd, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	/* In raw mode the terminal does not turn \n into \r\n. */
	if (sh->tty_raw)
		line[n++] = '\r';
	line[n++] = '\n';
	(void)shell_output(sh, fd, line, (size_t)n);
}

void
shell_say(struct shell *sh, int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(sh, fd, fmt, ap);
	va_end(ap);
}

void
shell_end(struct shell *sh, const char *fmt, ...)
{
	char why[160], line[256];
	va_list ap;
	int n;

	if (sh->ending)
		return;
	sh->ending = 1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(sh->end_reason, sizeof(sh->end_reason), "%s", why);
	if (sh->status == 0)
		sh->status = 1;
	/* A failed recording cannot take the message; the user still
	 * gets it. */
	if (sh->rec != NULL && hoop_rec_note(sh->rec, why) == HOOP_OK) {
		n = snprintf(line, sizeof(line), "%shoop: session ended: %s%s\n",
		    sh->tty_raw ? "\r\n" : "", why, sh->tty_raw ? "\r" : "");
		if (n > 0 && hoop_rec_output(sh->rec, line, (size_t)n) ==
		    HOOP_OK) {
			(void)write_all(2, line, (size_t)n);
			return;
		}
	}
	n = snprintf(line, sizeof(line), "%shoop: session ended: %s%s\n",
	    sh->tty_raw ? "\r\n" : "", why, sh->tty_raw ? "\r" : "");
	if (n > 0)
		(void)write_all(2, line, (size_t)n);
}

int
shell_timeout_ms(const struct shell *sh, int64_t last_input_us)
{
	int64_t now = now_us(), until = (int64_t)sh->deadline * 1000000;
	int64_t ms;

	if (sh->idle_timeout > 0 && last_input_us > 0 &&
	    last_input_us + (int64_t)sh->idle_timeout * 1000000 < until)
		until = last_input_us + (int64_t)sh->idle_timeout * 1000000;
	ms = (until - now) / 1000 + 1;
	if (ms < 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int
shell_check_limits(struct shell *sh, int64_t last_input_us)
{
	int64_t now = now_us();

	if (sh->ending)
		return -1;
	if (now >= (int64_t)sh->deadline * 1000000) {
		shell_end(sh, "the session reached its time limit");
		return -1;
	}
	if (sh->idle_timeout > 0 && last_input_us > 0 &&
	    now - last_input_us >= (int64_t)sh->idle_timeout * 1000000) {
		shell_end(sh, "idle for %ld seconds", sh->idle_timeout);
		return -1;
	}
	return 0;
}

int
tty_raw(struct shell *sh)
{
	struct termios raw;

	if (!sh->tty_saved || sh->tty_raw)
		return 0;
	raw = sh->saved_tty;
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSADRAIN, &raw) == -1)
		return -1;
	sh->tty_raw = 1;
	return 0;
}

void
tty_restore(struct shell *sh)
{
	if (sh->tty_saved && sh->tty_raw) {
		(void)tcsetattr(0, TCSADRAIN, &sh->saved_tty);
		sh->tty_raw = 0;
	}
}

/* Dispositions and the mask come from whoever started us: an ignored
 * SIGCHLD would make waitpid() miss the command. */
static void
reset_signals(void)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Values passed on from the client: only what such a variable holds
 * (a locale name, a terminal type, a zone name, addresses), never a path
 * or escape sequences. */
static int
env_value_ok(const char *name, const char *v)
{
	const char *allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.@+-";

	if (strcmp(name, "TZ") == 0)
		return v[0] != '/' && strstr(v, "..") == NULL &&
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_+-:,/") == strlen(v);
	if (strncmp(name, "SSH_", 4) == 0)
		return strspn(v, "0123456789abcdefABCDEF.: ") == strlen(v);
	return strspn(v, allowed) == strlen(v);
}

static int
env_add(struct shell *sh, const char *name, const char *value)
{
	char *entry;

	if (value == NULL || sh->n_env == SHELL_ENV_MAX ||
	    strlen(value) > 4096 ||
	    asprintf(&entry, "%s=%s", name, value) == -1)
		return -1;
	sh->env[sh->n_env++] = entry;
	sh->env[sh->n_env] = NULL;
	return 0;
}

/* The child's environment: what describes the terminal and the
 * connection, then the session's own. Nothing from the client that
 * steers a program (LD_*, PATH, PAGER, PSQLRC...). */
static int
build_environment(struct shell *sh)
{
	/* Not SSH_TTY: the session's own terminal is not for commands. */
	static const char *const keep[] = { "TERM", "LANG", "LC_ALL",
	    "LC_CTYPE", "LC_MESSAGES", "LC_COLLATE", "LC_NUMERIC", "LC_TIME",
	    "TZ", "SSH_CONNECTION", "SSH_CLIENT", "COLORTERM",
	    "HOOP_APPROVAL_WAIT" };
	char path[PATH_MAX], num[32];
	const char *const *dirs;
	const char *home;
	size_t i, n, off = 0;
	int r = 0;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);

		if (v != NULL && strlen(v) < 256 && env_value_ok(keep[i], v))
			r |= env_add(sh, keep[i], v);
	}
	dirs = hoop_config_shell_path(sh->cfg, &n);
	path[0] = '\0';
	for (i = 0; i < n && off < sizeof(path); i++)
		off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s",
		    i ? ":" : "", dirs[i]);
	r |= env_add(sh, "PATH", path);
	r |= env_add(sh, "USER", sh->who.login);
	r |= env_add(sh, "LOGNAME", sh->who.login);
	home = getenv("HOME");
	r |= env_add(sh, "HOME", home != NULL && home[0] == '/' &&
	    strlen(home) < 256 ? home : "/");
	r |= env_add(sh, "SHELL", hoop_config_login_shell(sh->cfg));
	r |= env_add(sh, "HOOP_SESSION_ID", sh->session_id);
	r |= env_add(sh, "HOOP_PRINCIPAL", sh->who.subject);
	r |= env_add(sh, "HOOP_IDENTITY", sh->who.identity->name);
	snprintf(num, sizeof(num), "%lld", (long long)sh->deadline);
	r |= env_add(sh, "HOOP_SESSION_END", num);
	return r;
}

static int
new_id(char out[33])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -1;
	hoop_hex_encode(raw, sizeof(raw), out);
	return 0;
}

/*
 * The session row: the one pam_hoop opened for this login (its id comes
 * from the environment, so it is only taken if it belongs to the same
 * lease and nothing records it yet), or a new one. One recording per
 * row: a second channel of the same connection gets its own.
 */
static int
open_session_row(struct shell *sh, const char *command)
{
	sqlite3 *db = hoop_store_db(sh->store);
	sqlite3_stmt *st = NULL;
	const char *hint = getenv("HOOP_SESSION_ID");
	char id[33];
	int ret = -1;

	if (hoop_store_begin(sh->store) != HOOP_OK)
		return -1;
	if (hint != NULL && strlen(hint) == 32 &&
	    strspn(hint, "0123456789abcdef") == 32) {
		if (sqlite3_prepare_v2(db, "UPDATE sessions SET recording = "
		    "?1, pid = ?2, command = ?3 WHERE id = ?1 AND lease_id = ?4 "
		    "AND recording IS NULL AND ended_at IS NULL", -1, &st,
		    NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(st, 1, hint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, getpid());
		sqlite3_bind_text(st, 3, command, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, sh->who.lease_id);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_changes(db) == 1) {
			snprintf(sh->session_id, sizeof(sh->session_id), "%s",
			    hint);
			sh->claimed_pam_row = 1;
			ret = 0;
			goto out;
		}
	}
	if (new_id(id) == -1 || sqlite3_prepare_v2(db, "INSERT INTO sessions "
	    "(id, lease_id, login, identity, principal, remote, command, pid, "
	    "started_at, recording) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?1)",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, sh->who.lease_id);
	sqlite3_bind_text(st, 3, sh->who.login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sh->who.identity->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, sh->who.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, sh->remote[0] ? sh->remote : NULL, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 7, command, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, getpid());
	sqlite3_bind_int64(st, 9, (long long)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	snprintf(sh->session_id, sizeof(sh->session_id), "%s", id);
	ret = 0;
out:
	sqlite3_finalize(st);
	if (ret == 0 && hoop_store_commit(sh->store) != HOOP_OK)
		ret = -1;
	if (ret == -1)
		hoop_store_rollback(sh->store);
	return ret;
}

/* Seals the recording and closes the row with the seal's head. */
static void
close_session(struct shell *sh)
{
	char head[HOOP_REC_HEAD_MAX] = "";
	sqlite3_stmt *st = NULL;
	hoop_err_t err = HOOP_ERR_INVAL;
	struct hoop_audit_event ev = { 0 };
	char detail[256];

	if (sh->rec != NULL) {
		err = hoop_rec_seal(sh->rec, head);
		hoop_rec_free(sh->rec);
		sh->rec = NULL;
	}
	if (sqlite3_prepare_v2(hoop_store_db(sh->store), "UPDATE sessions SET "
	    "ended_at = ?1, end_reason = ?2, seal = ?3 WHERE id = ?4", -1, &st,
	    NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (long long)time(NULL));
		sqlite3_bind_text(st, 2, sh->end_reason[0] ? sh->end_reason :
		    "exit", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, err == HOOP_OK ? head : NULL, -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 4, sh->session_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			/* The seal's head must survive somewhere. */
			hoop_log(LOG_ERR, "session %s: cannot close its row (%s); "
			    "recording sealed with head %s", sh->session_id,
			    hoop_store_errmsg(sh->store), err == HOOP_OK ? head :
			    "(none)");
	}
	sqlite3_finalize(st);
	snprintf(detail, sizeof(detail), "{\"seal\":\"%s\",\"sealed\":%s}",
	    head, err == HOOP_OK ? "true" : "false");
	ev.session_id = sh->session_id;
	ev.principal = sh->who.login;
	ev.identity = sh->who.identity->name;
	ev.kind = "session";
	ev.action = "shell-end";
	ev.decision = err == HOOP_OK ? "info" : "error";
	ev.reason = sh->end_reason[0] ? sh->end_reason : "exit";
	ev.detail = detail;
	(void)hoop_audit_append(sh->store, &ev, NULL);
}

/* The recordings directory is made by the administrator (root:hoop,
 * 2770): a user's session must not be the one creating it, or the user
 * would own it. */
static int
recordings_dir_safe(const char *dir, uid_t uid, char *why, size_t whylen)
{
	struct stat st;

	if (lstat(dir, &st) == -1) {
		hoop_why(why, whylen, "%s: %s (create it root:hoop, mode 2770)",
		    dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		hoop_why(why, whylen, "%s is not a directory", dir);
		return -1;
	}
	if (uid != 0 && st.st_uid == uid) {
		hoop_why(why, whylen, "%s belongs to the session's own user",
		    dir);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		hoop_why(why, whylen, "%s is writable by everyone", dir);
		return -1;
	}
	return 0;
}

static int
is_self(const char *cmd, const char *argv0)
{
	const char *base = strrchr(cmd, '/');

	base = base != NULL ? base + 1 : cmd;
	(void)argv0;
	return strcmp(base, "hoop-shell") == 0 && strspn(cmd, " \t") == 0 &&
	    strpbrk(cmd, " \t") == NULL;
}

static void
remote_from_env(struct shell *sh)
{
	const char *c = getenv("SSH_CONNECTION");
	size_t n;

	if (c == NULL)
		return;
	n = strcspn(c, " ");
	if (n < sizeof(sh->remote) && n > 0)
		snprintf(sh->remote, sizeof(sh->remote), "%.*s", (int)n, c);
}

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("hoop-shell: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
diag(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "hoop-shell: %s\n", message);
}

int
main(int argc, char **argv)
{
	struct shell sh;
	struct hoop_rec_options opts;
	struct hoop_audit_event ev = { 0 };
	const char *command = NULL;
	char *line_copy = NULL, why[256];
	sigset_t mask;
	hoop_err_t err;
	struct winsize ws;
	int64_t now;

	hoop_sanitize_fds();
	reset_signals();
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(007);
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sh, 0, sizeof(sh));
	sh.signal_fd = -1;
	hoop_log_init("hoop-shell", LOG_AUTHPRIV, 0);
	/* Before anything else: the user's processes lose the means to
	 * stop or trace us. */
	why[0] = '\0';
	if (privs_init(&sh, why, sizeof(why)) == -1 || privs_limit(1) == -1)
		fatal("%s: refusing the session", why[0] ? why :
		    "cannot drop capabilities");
	hoop_notify_hook_user(sh.user_uid, sh.user_gid);

	/* sshd runs "SHELL -c COMMAND", or SHELL as a login shell; with
	 * ForceCommand COMMAND is hoop-shell itself and the client's
	 * command is in SSH_ORIGINAL_COMMAND. */
	if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		command = argv[2];
		if (is_self(command, argv[0]))
			command = getenv("SSH_ORIGINAL_COMMAND");
	} else if (argc == 1) {
		/* ForceCommand through another login shell. */
		command = getenv("SSH_ORIGINAL_COMMAND");
	} else {
		fatal("usage: hoop-shell [-c COMMAND] (the login shell of "
		    "hoop sessions)");
	}
	if (command != NULL && (line_copy = strdup(command)) == NULL)
		fatal("out of memory");
	remote_from_env(&sh);

	if ((err = hoop_config_load(HOOP_SHELL_CONFIG, 0, &sh.cfg, diag,
	    NULL)) != HOOP_OK)
		fatal("no valid configuration (%s): refusing the session",
		    hoop_strerror(err));
	if ((err = hoop_store_open(hoop_config_store_path(sh.cfg), 0,
	    &sh.store)) != HOOP_OK)
		fatal("cannot open the store (%s): refusing the session",
		    hoop_strerror(err));
	now = time(NULL);
	if ((err = hoop_policy_principal(sh.store, sh.cfg, sh.user_uid, now,
	    &sh.who)) != HOOP_OK)
		fatal(err == HOOP_ERR_NOTFOUND ? "uid %u has no live hoop "
		    "lease: refusing the session" : "the lease of uid %u is "
		    "not usable (%s): refusing the session",
		    (unsigned)sh.user_uid, hoop_strerror(err));
	/* A user of hoop's: the session's terminal is taken from them now,
	 * and the capabilities that found its holders go. */
	if (privs_claim_tty(&sh, why, sizeof(why)) == -1 ||
	    privs_limit(0) == -1)
		fatal("%s: refusing the session", why[0] ? why :
		    "cannot drop capabilities");
	sh.deadline = sh.who.expires_at;
	if (sh.who.identity->max_session > 0 &&
	    now + sh.who.identity->max_session < sh.deadline)
		sh.deadline = now + sh.who.identity->max_session;
	sh.interactive = isatty(0) && isatty(1);
	sh.idle_timeout = sh.interactive ? sh.who.identity->idle_timeout : 0;

	if (open_session_row(&sh, command) == -1)
		fatal("cannot record the session in the store (%s): refusing "
		    "the session", hoop_store_errmsg(sh.store));
	if (recordings_dir_safe(hoop_config_recordings_dir(sh.cfg),
	    sh.user_uid, why, sizeof(why)) == -1) {
		snprintf(sh.end_reason, sizeof(sh.end_reason), "recording "
		    "could not start: %.100s", why);
		close_session(&sh);
		fatal("cannot record: %s: refusing the session", why);
	}
	hoop_rec_options_init(&opts);
	opts.record_input = sh.who.identity->record_input;
	opts.max_bytes = sh.who.identity->recording_max_size;
	opts.limit_policy = sh.who.identity->recording_limit ==
	    HOOP_RECORDING_LIMIT_SKIP ? HOOP_REC_LIMIT_SKIP : HOOP_REC_LIMIT_END;
	if ((err = hoop_rec_create(sh.cfg, sh.session_id, &opts, &sh.rec)) !=
	    HOOP_OK) {
		snprintf(sh.end_reason, sizeof(sh.end_reason), "recording "
		    "could not start: %s", hoop_strerror(err));
		close_session(&sh);
		fatal("cannot start the recording (%s): refusing the session",
		    hoop_strerror(err));
	}
	if (build_environment(&sh) == -1) {
		shell_end(&sh, "cannot build the environment");
		goto done;
	}
	ev.session_id = sh.session_id;
	ev.principal = sh.who.login;
	ev.identity = sh.who.identity->name;
	ev.kind = "session";
	ev.action = "shell-start";
	ev.decision = "info";
	ev.reason = command != NULL ? "command" : "interactive";
	if (hoop_audit_append(sh.store, &ev, NULL) != HOOP_OK) {
		shell_end(&sh, "cannot write the audit log");
		goto done;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sh.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) ==
	    -1) {
		shell_end(&sh, "cannot set up signal handling");
		goto done;
	}
	if (isatty(0) && tcgetattr(0, &sh.saved_tty) == 0)
		sh.tty_saved = 1;
	if (sh.tty_saved && ioctl(0, TIOCGWINSZ, &ws) == 0 &&
	    hoop_rec_winsize(sh.rec, ws.ws_row, ws.ws_col) != HOOP_OK) {
		shell_end(&sh, "the recording failed");
		goto done;
	}

	if (line_copy != NULL) {
		sh.status = shell_run_line(&sh, line_copy, strlen(line_copy),
		    sh.interactive);
	} else if (sh.interactive) {
		shell_interactive(&sh);
	} else {
		shell_say(&sh, 2, "hoop: no command given and no terminal: "
		    "run ssh with a command, or with -t");
		sh.status = 2;
	}
done:
	tty_restore(&sh);
	(void)privs_kill_descendants();
	close_session(&sh);
	hoop_store_close(sh.store);
	hoop_config_free(sh.cfg);
	free(line_copy);
	return sh.status;
}
