/*
 * One command line: split (nothing evaluated), decided by policy,
 * audited, then run with the user's rights only, its terminal or pipes
 * relayed through here so that everything is recorded before it is
 * shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hoop_approval.h"
#include "hoop_audit.h"
#include "hoop_util.h"
#include "hoop_words.h"
#include "shell.h"

#define RELAY_BUF	(64 * 1024)
/* After the command exits, how long what it left behind may keep its
 * output open before it is killed. */
#define DRAIN_GRACE_US	(1000 * 1000)

static int
shell_rule_matches(const struct hoop_rule *rule, void *arg)
{
	const char *name = arg;
	size_t i;

	for (i = 0; i < rule->match.shell.n_commands; i++)
		if (strcmp(rule->match.shell.commands[i], "*") == 0 ||
		    strcmp(rule->match.shell.commands[i], name) == 0)
			return 1;
	return 0;
}

/* Command names as hoop.conf allows them: no path, nothing odd. */
static int
valid_command_name(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && name[0] != '-' &&
	    strlen(name) < 128 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == strlen(name);
}

/* The command's file in shell_path: a regular file the user may run. */
static int
resolve(struct shell *sh, const char *name, char *path, size_t size)
{
	const char *const *dirs;
	struct stat st;
	size_t i, n;

	dirs = hoop_config_shell_path(sh->cfg, &n);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, size, "%s/%s", dirs[i], name) >=
		    size)
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    privs_user_may_exec(sh, path))
			return 0;
	}
	return -1;
}

/* The first argument, if it names a target: the audit event's target. */
static const char *
target_of(struct shell *sh, const struct hoop_words *w)
{
	size_t i;

	for (i = 1; i < w->argc && i < 4; i++)
		if (hoop_config_target(sh->cfg, w->argv[i]) != NULL)
			return w->argv[i];
	return NULL;
}

static int
audit_command(struct shell *sh, const char *line, const char *target,
    const char *decision, const char *rule, const char *reason)
{
	struct hoop_audit_event ev = { 0 };

	ev.session_id = sh->session_id;
	ev.principal = sh->who.login;
	ev.identity = sh->who.identity->name;
	ev.target = target;
	ev.kind = "shell";
	ev.action = line;
	ev.decision = decision;
	ev.rule = rule;
	ev.reason = reason;
	return hoop_audit_append(sh->store, &ev, NULL) == HOOP_OK ? 0 : -1;
}

/* In the child: the user's rights for good, then the command. */
static void __attribute__((noreturn))
exec_child(struct shell *sh, const char *path, char **argv, int in, int out,
    int err, int pty, pid_t parent)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	if (setsid() == -1)
		_exit(126);
	if (pty && ioctl(in, TIOCSCTTY, 0) == -1)
		_exit(126);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(126);
	hoop_closefrom(3);
	if (privs_child_drop(sh) == -1) {
		dprintf(2, "hoop-shell: cannot drop privileges\n");
		_exit(126);
	}
	/* Nothing outlives the recorder unrecorded: parent is the
	 * recorder's pid taken before fork, so a recorder that died in
	 * between is noticed here. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(126);
	umask(022);
	execve(path, argv, sh->env);
	dprintf(2, "hoop-shell: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The session's deadline while a command runs: if the recorder is stuck
 * (a client that reads nothing blocks its writes), the alarm still ends
 * the command. */
static volatile sig_atomic_t deadline_pgid;

static void
on_deadline(int sig)
{
	(void)sig;
	if (deadline_pgid > 0)
		kill(-(pid_t)deadline_pgid, SIGKILL);
	shell_write_abort = 1;
}

static void
arm_deadline(struct shell *sh, pid_t pgid)
{
	struct sigaction sa;
	int64_t left = sh->deadline - now_us() / 1000000;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_deadline;	/* no SA_RESTART: writes stop */
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, NULL);
	deadline_pgid = pgid;
	/* A second later than the poll loop's own check, which says why. */
	alarm(left < 0 ? 1 : (unsigned)(left > 86400 * 30 ? 86400 * 30 :
	    left + 1));
}

static void
disarm_deadline(void)
{
	alarm(0);
	deadline_pgid = 0;
}

struct pending {
	char buf[RELAY_BUF];
	size_t off, len;
};

/* Echo state of the command's terminal: off only when the line
 * discipline would echo nothing (a password prompt); programs that turn
 * both echo and canonical mode off echo for themselves. */
static int
echo_on(int master)
{
	struct termios t;

	if (tcgetattr(master, &t) == -1)
		return 1;
	return (t.c_lflag & ECHO) || !(t.c_lflag & ICANON);
}

static void
copy_winsize(struct shell *sh, int master)
{
	struct winsize ws;

	if (ioctl(0, TIOCGWINSZ, &ws) == -1)
		return;
	(void)ioctl(master, TIOCSWINSZ, &ws);
	if (hoop_rec_winsize(sh->rec, ws.ws_row, ws.ws_col) != HOOP_OK)
		shell_end(sh, "the recording failed");
}

struct relay {
	int in_src;		/* our stdin, or -1 once closed */
	int in_dst;		/* the pty master or the stdin pipe, or -1 */
	int out_src[2];		/* pty master or stdout pipe; stderr pipe */
	int out_dst[2];
	int pty;
	pid_t pid;
	int reaped;
	int wstatus;
	int64_t reaped_at;
	int withheld_line;	/* a line was withheld since echo went off */
	struct pending in;
};

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

static void
handle_signals(struct shell *sh, struct relay *r)
{
	struct signalfd_siginfo si;
	int status;

	while (read(sh->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			if (r->pty)
				copy_winsize(sh, r->in_dst);
			break;
		case SIGCHLD:
			break;
		case SIGTERM:
		case SIGHUP:
			shell_end(sh, "the connection was closed (signal %u)",
			    si.ssi_signo);
			break;
		default:
			/* SIGINT and SIGQUIT reach the command through its
			 * own terminal; without one, they end it. */
			if (!r->pty && !r->reaped)
				kill(-r->pid, (int)si.ssi_signo);
			break;
		}
	}
	if (!r->reaped && waitpid(r->pid, &status, WNOHANG) == r->pid) {
		r->reaped = 1;
		r->wstatus = status;
		r->reaped_at = now_us();
	}
}

/* Our input to the command, recorded first. 0, or -1 on EOF. */
static int
relay_input(struct shell *sh, struct relay *r, int64_t *last_input)
{
	ssize_t n;
	hoop_err_t err = HOOP_OK;

	n = read(r->in_src, r->in.buf, sizeof(r->in.buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	*last_input = now_us();
	/* Echo off withholds a password, a line: what is typed after
	 * that line, still without echo, is recorded, so that turning echo
	 * off cannot hide a session's commands. */
	if (r->pty) {
		int on = echo_on(r->in_dst);

		if (on)
			r->withheld_line = 0;
		err = hoop_rec_echo(sh->rec, on || r->withheld_line);
		if (!on && (memchr(r->in.buf, '\n', (size_t)n) != NULL ||
		    memchr(r->in.buf, '\r', (size_t)n) != NULL))
			r->withheld_line = 1;
	}
	if (err == HOOP_OK)
		err = hoop_rec_input(sh->rec, r->in.buf, (size_t)n);
	if (err != HOOP_OK) {
		shell_end(sh, "the recording failed (%s)", hoop_strerror(err));
		return 0;
	}
	r->in.off = 0;
	r->in.len = (size_t)n;
	return 0;
}

static void
flush_input(struct relay *r)
{
	ssize_t n;

	while (r->in.len > 0) {
		n = write(r->in_dst, r->in.buf + r->in.off, r->in.len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				/* The command stopped reading for good. */
				r->in.len = 0;
				if (!r->pty)
					close_fd(&r->in_dst);
			}
			return;
		}
		r->in.off += (size_t)n;
		r->in.len -= (size_t)n;
	}
}

/* One read of the command's output, recorded, then shown. */
static void
relay_output(struct shell *sh, struct relay *r, int i)
{
	char buf[RELAY_BUF];
	ssize_t n;

	n = read(r->out_src[i], buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or EIO once nothing holds the pty's other side. */
		if (r->pty && r->out_src[i] == r->in_dst)
			r->in_dst = -1;
		close_fd(&r->out_src[i]);
		return;
	}
	(void)shell_output(sh, r->out_dst[i], buf, (size_t)n);
}

static void
stop_command(struct relay *r)
{
	int i, status;

	if (r->reaped)
		goto leftovers;
	kill(-r->pid, SIGHUP);
	kill(r->pid, SIGHUP);
	for (i = 0; i < 50; i++) {
		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			r->reaped = 1;
			r->wstatus = status;
			break;
		}
		usleep(20000);
	}
	if (!r->reaped) {
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		if (waitpid(r->pid, &status, 0) == r->pid) {
			r->reaped = 1;
			r->wstatus = status;
		}
	}
leftovers:
	/* Whatever the command left behind, in its process group or not. */
	kill(-r->pid, SIGKILL);
	(void)privs_kill_descendants();
}

static void
relay(struct shell *sh, struct relay *r)
{
	struct pollfd pfd[5];
	int64_t last_input = now_us();
	int n, i, timeout, in_slot, out_slot[2], sig_slot;

	for (;;) {
		if (sh->ending)
			break;
		if (shell_check_limits(sh, sh->interactive ? last_input : 0))
			break;
		if (r->reaped && r->out_src[0] == -1 && r->out_src[1] == -1)
			break;
		if (r->reaped && now_us() - r->reaped_at > DRAIN_GRACE_US)
			break;
		n = 0;
		pfd[n].fd = sh->signal_fd;
		pfd[n].events = POLLIN;
		sig_slot = n++;
		in_slot = -1;
		if (r->in.len > 0 && r->in_dst != -1) {
			pfd[n].fd = r->in_dst;
			pfd[n].events = POLLOUT;
			in_slot = n++;
		} else if (r->in_src != -1 && r->in_dst != -1) {
			pfd[n].fd = r->in_src;
			pfd[n].events = POLLIN;
			in_slot = n++;
		}
		for (i = 0; i < 2; i++) {
			out_slot[i] = -1;
			if (r->out_src[i] != -1) {
				pfd[n].fd = r->out_src[i];
				pfd[n].events = POLLIN;
				out_slot[i] = n++;
			}
		}
		timeout = shell_timeout_ms(sh, sh->interactive ? last_input :
		    0);
		if (r->reaped)
			timeout = 100;
		if (poll(pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			shell_end(sh, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[sig_slot].revents)
			handle_signals(sh, r);
		for (i = 0; i < 2; i++)
			if (out_slot[i] != -1 && pfd[out_slot[i]].revents &&
			    r->out_src[i] != -1)
				relay_output(sh, r, i);
		if (in_slot != -1 && pfd[in_slot].revents) {
			if (r->in.len > 0) {
				flush_input(r);
			} else if (relay_input(sh, r, &last_input) == -1) {
				close_fd(&r->in_src);
				/* Without a terminal, EOF is passed on; on a
				 * terminal it means the user has gone. */
				if (r->pty)
					shell_end(sh, "the terminal was "
					    "closed");
				else
					close_fd(&r->in_dst);
			} else {
				flush_input(r);
			}
		}
		if (r->in.len == 0 && r->in_src == -1 && !r->pty)
			close_fd(&r->in_dst);
	}
	stop_command(r);
}

/* A terminal of its own for the command, like the user's. */
static int
open_pty(struct shell *sh, int *master, int *slave)
{
	struct winsize ws;
	char *name;

	*master = *slave = -1;
	if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    grantpt(*master) == -1 || unlockpt(*master) == -1 ||
	    (name = ptsname(*master)) == NULL ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		goto fail;
	/* Opened by root, it is root's: the command's terminal is the
	 * user's, as sshd's would be. */
	if (fchmod(*slave, 0620) == -1 ||
	    fchown(*slave, sh->user_uid, (gid_t)-1) == -1)
		goto fail;
	if (sh->tty_saved)
		(void)tcsetattr(*slave, TCSANOW, &sh->saved_tty);
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(*slave, TIOCSWINSZ, &ws);
	return 0;
fail:
	if (*slave != -1)
		close(*slave);
	if (*master != -1)
		close(*master);
	*master = *slave = -1;
	return -1;
}

static int
spawn(struct shell *sh, const char *path, char **argv, int use_pty,
    struct relay *r)
{
	int master = -1, slave = -1, in[2] = { -1, -1 }, out[2] = { -1, -1 },
	    err[2] = { -1, -1 };
	pid_t pid, self = getpid();

	memset(r, 0, sizeof(*r));
	r->in_src = 0;
	r->pty = use_pty;
	if (use_pty) {
		if (open_pty(sh, &master, &slave) == -1)
			return -1;
	} else if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1) {
		goto fail;
	}
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0) {
		if (use_pty)
			exec_child(sh, path, argv, slave, slave, slave, 1, self);
		exec_child(sh, path, argv, in[0], out[1], err[1], 0, self);
	}
	r->pid = pid;
	if (use_pty) {
		close(slave);
		r->in_dst = r->out_src[0] = master;
		r->out_src[1] = -1;
		r->out_dst[0] = 1;
		(void)fcntl(master, F_SETFL, O_NONBLOCK);
	} else {
		close(in[0]);
		close(out[1]);
		close(err[1]);
		r->in_dst = in[1];
		r->out_src[0] = out[0];
		r->out_src[1] = err[0];
		r->out_dst[0] = 1;
		r->out_dst[1] = 2;
		(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	}
	return 0;
fail:
	if (master != -1)
		close(master);
	if (slave != -1)
		close(slave);
	for (int i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	return -1;
}

static void
help(struct shell *sh)
{
	size_t i, j, k;
	const struct hoop_policy *pol;
	int fd = 1;

	shell_say(sh, fd, "Commands you may run here:");
	for (i = 0; i < hoop_config_policy_count(sh->cfg); i++) {
		pol = hoop_config_policy_at(sh->cfg, i);
		if (!hoop_policy_applies(pol, &sh->who, NULL))
			continue;
		for (j = 0; j < pol->n_rules; j++) {
			const struct hoop_rule *rule = &pol->rules[j];

			if (rule->kind != HOOP_RULE_SHELL ||
			    rule->action == HOOP_ACTION_DENY)
				continue;
			for (k = 0; k < rule->match.shell.n_commands; k++)
				shell_say(sh, fd, "  %-16s%s",
				    rule->match.shell.commands[k],
				    rule->action == HOOP_ACTION_APPROVE ?
				    " (needs approval)" : "");
		}
	}
	shell_say(sh, fd, "Targets:");
	for (i = 0; i < hoop_config_target_count(sh->cfg); i++) {
		const struct hoop_target *t = hoop_config_target_at(sh->cfg, i);

		if (hoop_policy_target_allowed(sh->cfg, &sh->who, t->name))
			shell_say(sh, fd, "  %-16s%s", t->name,
			    hoop_target_type_name(t->type));
	}
	shell_say(sh, fd, "Built in: help, exit. Nothing is expanded: no "
	    "pipes, redirections, variables or globbing.");
}

/* Signals that arrived while nothing was listening (an approval
 * wait): -1 if one of them ends the session. */
static int
drain_signals(struct shell *sh)
{
	struct signalfd_siginfo si;

	while (read(sh->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
			shell_end(sh, "the connection was closed (signal %u)",
			    si.ssi_signo);
			return -1;
		}
	}
	return 0;
}

/* The approval service's messages to the user, recorded like any
 * other output. */
static ssize_t
approval_write(void *cookie, const char *buf, size_t len)
{
	struct shell *sh = cookie;

	return shell_output(sh, 2, buf, len) == -1 ? -1 : (ssize_t)len;
}

/* What a once-approval of a command is bound to: its words, exactly. */
static int
command_fingerprint(const struct hoop_words *w, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	size_t i;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < w->argc; i++)
		ok = EVP_DigestUpdate(ctx, w->argv[i],
		    strlen(w->argv[i]) + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	hoop_hex_encode(md, 32, out);
	return 0;
}

/* Asks for approval of a command (lib/approval.c): HOOP_OK when it may
 * run, else d says why not. */
static void
approve_command(struct shell *sh, const struct hoop_words *w,
    const char *line, const char *target, struct hoop_decision *d)
{
	struct hoop_approval_op op = { 0 };
	struct hoop_approval_result res;
	hoop_approval_t *svc = NULL;
	char fp[65];
	sigset_t intr;
	hoop_err_t err;

	if (command_fingerprint(w, fp) == -1 ||
	    hoop_approval_create(sh->store, sh->cfg, &svc) != HOOP_OK) {
		d->action = HOOP_ACTION_DENY;
		snprintf(d->reason, sizeof(d->reason), "needs approval (rule "
		    "%s), and the approval service is not available",
		    d->rule->name);
		return;
	}
	op.session_id = sh->session_id;
	op.target = target;
	op.request = line;
	op.fingerprint = fp;
	op.policy = d->policy;
	op.rule = d->rule;
	/* Ctrl-C cancels the wait: SIGINT reaches the service's handler
	 * instead of the signalfd while it waits. */
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	sigprocmask(SIG_UNBLOCK, &intr, NULL);
	cookie_io_functions_t io = { .write = approval_write };
	FILE *out = fopencookie(sh, "w", io);

	if (out == NULL) {
		hoop_approval_free(svc);
		sigprocmask(SIG_BLOCK, &intr, NULL);
		d->action = HOOP_ACTION_DENY;
		snprintf(d->reason, sizeof(d->reason), "cannot show the "
		    "approval request");
		return;
	}
	setvbuf(out, NULL, _IONBF, 0);
	err = hoop_approval_obtain(svc, &sh->who, &op,
	    hoop_approval_wait_limit(sh->interactive), out, &res);
	fclose(out);
	sigprocmask(SIG_BLOCK, &intr, NULL);
	hoop_approval_free(svc);
	if (err == HOOP_OK) {
		d->action = HOOP_ACTION_ALLOW;
		snprintf(d->reason, sizeof(d->reason), "approved (request %s, "
		    "rule %s)", res.id, d->rule->name);
	} else {
		d->action = HOOP_ACTION_DENY;
		snprintf(d->reason, sizeof(d->reason), "not approved "
		    "(request %s: %.160s)", res.id[0] ? res.id : "-",
		    res.reason[0] ? res.reason : hoop_strerror(err));
	}
}

int
shell_run_line(struct shell *sh, const char *line, size_t len, int use_pty)
{
	struct hoop_words *w = NULL;
	struct hoop_decision d;
	struct hoop_rec_command rc = { 0 };
	struct relay r;
	char why[256], path[PATH_MAX];
	const char *target = NULL;
	uint32_t id = 0;
	int status = 126, raw_here = 0;
	hoop_err_t err;

	if (hoop_words_split(line, len, &w, why, sizeof(why)) != HOOP_OK) {
		rc.line = line;
		rc.decision = "deny";
		rc.reason = why;
		if (audit_command(sh, line, NULL, "deny", NULL, why) == -1 ||
		    hoop_rec_command(sh->rec, &rc, NULL) != HOOP_OK) {
			shell_end(sh, "cannot record the refusal");
			goto out;
		}
		shell_say(sh, 2, "hoop: refused: %s", why);
		goto out;
	}
	if (w->argc == 0) {
		status = 0;
		goto out;
	}
	if (strcmp(w->argv[0], "help") == 0 && w->argc == 1) {
		help(sh);
		status = 0;
		goto out;
	}
	target = target_of(sh, w);
	if (!valid_command_name(w->argv[0])) {
		snprintf(why, sizeof(why), "\"%.64s\" is not a command name "
		    "(give the name alone, without a path)", w->argv[0]);
		d.action = HOOP_ACTION_DENY;
		d.rule = NULL;
		snprintf(d.reason, sizeof(d.reason), "%s", why);
	} else {
		hoop_policy_decide(sh->cfg, &sh->who, NULL, HOOP_RULE_SHELL,
		    shell_rule_matches, w->argv[0], &d);
	}
	if (d.action == HOOP_ACTION_APPROVE) {
		/* The request is itself a decision on the record. */
		rc.line = line;
		rc.decision = "approve";
		rc.rule = d.rule->name;
		rc.reason = d.reason;
		if (audit_command(sh, line, target, "approve", rc.rule,
		    d.reason) == -1 ||
		    hoop_rec_command(sh->rec, &rc, NULL) != HOOP_OK) {
			shell_end(sh, "cannot record the command");
			goto out;
		}
		tty_restore(sh);
		approve_command(sh, w, line, target, &d);
		/* The wait may have outlived the session or its client. */
		if (d.action == HOOP_ACTION_ALLOW && (drain_signals(sh) == -1 ||
		    shell_check_limits(sh, 0) == -1))
			goto out;
	}
	if (d.action == HOOP_ACTION_ALLOW &&
	    resolve(sh, w->argv[0], path, sizeof(path)) == -1) {
		d.action = HOOP_ACTION_DENY;
		snprintf(d.reason, sizeof(d.reason), "%.64s: command not found",
		    w->argv[0]);
		status = 127;
	}
	rc.line = line;
	rc.decision = d.action == HOOP_ACTION_ALLOW ? "allow" : "deny";
	rc.rule = d.rule != NULL ? d.rule->name : NULL;
	rc.reason = d.reason;
	if (audit_command(sh, line, target, rc.decision, rc.rule, rc.reason) ==
	    -1 || (err = hoop_rec_command(sh->rec, &rc, &id)) != HOOP_OK) {
		/* A decision that cannot be recorded is not acted on. */
		shell_end(sh, "cannot record the command");
		status = 126;
		goto out;
	}
	if (d.action != HOOP_ACTION_ALLOW) {
		shell_say(sh, 2, "hoop: %s: %s", w->argv[0], d.reason);
		goto out;
	}
	if (use_pty && !sh->tty_raw) {
		if (tty_raw(sh) == -1) {
			shell_end(sh, "cannot set up the terminal");
			goto out;
		}
		raw_here = 1;
	}
	if (spawn(sh, path, w->argv, use_pty, &r) == -1) {
		shell_say(sh, 2, "hoop: cannot start %s: %s", w->argv[0],
		    strerror(errno));
		goto out;
	}
	arm_deadline(sh, r.pid);
	relay(sh, &r);
	disarm_deadline();
	if (shell_write_abort)
		shell_end(sh, "the session reached its time limit");
	for (int i = 0; i < 2; i++)
		if (r.out_src[i] != -1 && r.out_src[i] != r.in_dst)
			close(r.out_src[i]);
	if (r.in_dst != -1)
		close(r.in_dst);
	status = r.reaped ? hoop_exit_status(r.wstatus) : 255;
	if (r.reaped && hoop_rec_exit(sh->rec, id, r.wstatus) != HOOP_OK)
		shell_end(sh, "the recording failed");
out:
	if (raw_here)
		tty_restore(sh);
	hoop_words_free(w);
	return status;
}

void
shell_complete(struct shell *sh, int word, const char *prefix,
    size_t prefix_len, shell_candidate_fn add, void *arg)
{
	static const char *const builtins[] = { "help", "exit" };
	const struct hoop_policy *pol;
	const char *name;
	size_t i, j, k;

	if (word > 0) {
		for (i = 0; i < hoop_config_target_count(sh->cfg); i++) {
			name = hoop_config_target_at(sh->cfg, i)->name;
			if (strncmp(name, prefix, prefix_len) == 0 &&
			    hoop_policy_target_allowed(sh->cfg, &sh->who, name))
				add(arg, name);
		}
		return;
	}
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strncmp(builtins[i], prefix, prefix_len) == 0)
			add(arg, builtins[i]);
	for (i = 0; i < hoop_config_policy_count(sh->cfg); i++) {
		pol = hoop_config_policy_at(sh->cfg, i);
		if (!hoop_policy_applies(pol, &sh->who, NULL))
			continue;
		for (j = 0; j < pol->n_rules; j++) {
			const struct hoop_rule *rule = &pol->rules[j];

			if (rule->kind != HOOP_RULE_SHELL ||
			    rule->action == HOOP_ACTION_DENY)
				continue;
			for (k = 0; k < rule->match.shell.n_commands; k++) {
				name = rule->match.shell.commands[k];
				if (strcmp(name, "*") != 0 &&
				    strncmp(name, prefix, prefix_len) == 0)
					add(arg, name);
			}
		}
	}
}
