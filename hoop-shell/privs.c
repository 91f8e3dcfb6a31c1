/*
 * hoop-shell's privileges. Installed setuid root (and setgid hoop), it
 * becomes root in all three uids at once, so that the user can neither
 * signal (kill, SIGSTOP in the middle of a store write) nor ptrace the
 * recorder, and keeps only the capabilities it uses:
 *   CAP_CHOWN    the session's terminal to root, the command's to the user
 *   CAP_KILL     whatever the user's commands leave behind
 *   CAP_SETUID, CAP_SETGID   the children become the user for good
 * and, until the terminal is claimed, CAP_SYS_PTRACE and
 * CAP_DAC_READ_SEARCH: finding who holds it open reads other processes'
 * descriptors. The terminal is claimed only once the user is known to
 * have a live lease, so that running hoop-shell from anywhere else
 * changes nothing.
 * Files are reached as root without CAP_DAC_OVERRIDE: the store, the
 * configuration and the recordings belong to root:hoop.
 *
 * The session's own terminal (sshd's /dev/pts/N) is the user's when sshd
 * hands it over: any process of the user could open it by name and write
 * to the client, or read its keystrokes, past the recorder. It is taken
 * away first (root, 0600), and a process of the user that opened it in
 * the moment before is killed.
 *
 * The recorder is a child subreaper: what a command leaves behind (a
 * setsid daemon, a double fork, a setgid wrapper that lost its parent
 * death signal) is reparented to it and killed when the command ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hoop_log.h"
#include "hoop_reap.h"
#include "hoop_util.h"
#include "shell.h"

int
privs_init(struct shell *sh, char *why, size_t whylen)
{
	uid_t r, e, s;
	gid_t hoop = getegid(), gr, ge, gs;

	sh->user_uid = getuid();
	sh->user_gid = getgid();
	if (geteuid() != 0) {
		hoop_why(why, whylen, "hoop-shell is not setuid root (install "
		    "it root:hoop, mode 6755): without it the user could stop "
		    "or bypass the recorder");
		return -1;
	}
	if (setresgid(hoop, hoop, hoop) == -1 || setresuid(0, 0, 0) == -1 ||
	    getresuid(&r, &e, &s) == -1 || r != 0 || e != 0 || s != 0 ||
	    getresgid(&gr, &ge, &gs) == -1 || gr != hoop || ge != hoop ||
	    gs != hoop) {
		hoop_why(why, whylen, "cannot take the recorder's ids: %s",
		    strerror(errno));
		return -1;
	}
	/* Setting ids made it dumpable again on some kernels' settings. */
	if (prctl(PR_SET_DUMPABLE, 0) == -1 ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		hoop_why(why, whylen, "prctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
set_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

#define CAP(c)	((uint64_t)1 << (c))

int
privs_limit(int claiming)
{
	uint64_t keep = CAP(CAP_CHOWN) | CAP(CAP_KILL) | CAP(CAP_SETUID) |
	    CAP(CAP_SETGID);

	/* Until the terminal is claimed: other processes' descriptors are
	 * read in /proc. */
	if (claiming)
		keep |= CAP(CAP_SYS_PTRACE) | CAP(CAP_DAC_READ_SEARCH);
	return set_caps(keep);
}

/* Whether /proc/PID is one of the user's processes: real or effective
 * uid (a setgid program the user runs keeps both). */
static int
belongs_to(int procfd, const char *pid, uid_t uid)
{
	unsigned long ids[3];
	char state;

	return hoop_proc_ids(procfd, pid, ids, &state) == 0 &&
	    (ids[0] == uid || ids[1] == uid);
}

/* The parent of pid, from /proc/PID/stat; -1 if unknown. */
static long
parent_of(long pid)
{
	char path[64], buf[512], *close_paren;
	long ppid = -1;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	/* "pid (comm) state ppid": comm may hold anything. */
	if ((close_paren = strrchr(buf, ')')) == NULL ||
	    sscanf(close_paren + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return ppid;
}

static int
is_ancestor(long pid)
{
	long p = getppid();
	int depth;

	for (depth = 0; p > 1 && depth < 64; depth++) {
		if (p == pid)
			return 1;
		p = parent_of(p);
	}
	return 0;
}

/* Processes other than this one with a descriptor on the device dev:
 * those of the user are killed. Returns how many were, or -2 when one
 * of them is an ancestor (a login shell that did not exec hoop-shell:
 * killing it would end the session, and leaving it would leave the
 * terminal open to whatever can trace it). */
static int
kill_holders(struct shell *sh, dev_t dev)
{
	char path[64 + NAME_MAX];
	struct dirent *p, *f;
	DIR *proc, *fds;
	struct stat st;
	pid_t self = getpid();
	int killed = 0, procfd;

	if ((proc = opendir("/proc")) == NULL)
		return -1;
	procfd = dirfd(proc);
	while ((p = readdir(proc)) != NULL) {
		int fdfd, holds = 0;

		if (p->d_name[0] < '1' || p->d_name[0] > '9' ||
		    atol(p->d_name) == self)
			continue;
		snprintf(path, sizeof(path), "%s/fd", p->d_name);
		if ((fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || (fds = fdopendir(fdfd)) == NULL) {
			if (fdfd != -1)
				close(fdfd);
			continue;
		}
		while (!holds && (f = readdir(fds)) != NULL)
			holds = f->d_name[0] != '.' &&
			    fstatat(fdfd, f->d_name, &st, 0) == 0 &&
			    S_ISCHR(st.st_mode) && st.st_rdev == dev;
		closedir(fds);
		if (holds && belongs_to(procfd, p->d_name, sh->user_uid) &&
		    is_ancestor(atol(p->d_name))) {
			closedir(proc);
			return -2;
		}
		if (holds && belongs_to(procfd, p->d_name, sh->user_uid)) {
			hoop_log(LOG_WARNING, "uid %u: process %s held the "
			    "session's terminal open: killed",
			    (unsigned)sh->user_uid, p->d_name);
			kill((pid_t)atol(p->d_name), SIGKILL);
			killed++;
		}
	}
	closedir(proc);
	return killed;
}

int
privs_claim_tty(struct shell *sh, char *why, size_t whylen)
{
	struct stat st;

	if (!isatty(0))
		return 0;
	if (fstat(0, &st) == -1 || !S_ISCHR(st.st_mode)) {
		hoop_why(why, whylen, "the terminal: %s", strerror(errno));
		return -1;
	}
	/* sshd gives the user the terminal; anything else (root's own
	 * terminal, a terminal already taken) is left as it is. */
	if (st.st_uid != sh->user_uid || sh->user_uid == 0)
		return 0;
	if (fchown(0, 0, (gid_t)-1) == -1 || fchmod(0, 0600) == -1) {
		hoop_why(why, whylen, "cannot take the session's terminal "
		    "from the user: %s", strerror(errno));
		return -1;
	}
	switch (kill_holders(sh, st.st_rdev)) {
	case -1:
		hoop_why(why, whylen, "cannot check who holds the terminal: "
		    "%s", strerror(errno));
		return -1;
	case -2:
		hoop_why(why, whylen, "the login shell that started "
		    "hoop-shell keeps the session's terminal open (make "
		    "hoop-shell the login shell, or use a shell that execs "
		    "its last command)");
		return -1;
	}
	return 0;
}

int
privs_user_may_exec(struct shell *sh, const char *path)
{
	int ok, saved;

	/* As the user, with the user's groups: ACLs and all. */
	if (setresgid(-1, sh->user_gid, -1) == -1)
		return 0;
	if (setresuid(-1, sh->user_uid, -1) == -1) {
		(void)setresgid(-1, getgid(), -1);
		return 0;
	}
	ok = faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
	saved = errno;
	if (setresuid(-1, 0, -1) == -1 || setresgid(-1, getgid(), -1) == -1) {
		/* Half-dropped is no state to go on in. */
		hoop_log(LOG_ERR, "cannot take back the recorder's ids: %s",
		    strerror(errno));
		_exit(1);
	}
	(void)prctl(PR_SET_DUMPABLE, 0);
	errno = saved;
	return ok;
}

int
privs_child_drop(const struct shell *sh)
{
	uid_t u1, u2, u3;
	gid_t g1, g2, g3;

	if (setresgid(sh->user_gid, sh->user_gid, sh->user_gid) == -1 ||
	    setresuid(sh->user_uid, sh->user_uid, sh->user_uid) == -1 ||
	    getresgid(&g1, &g2, &g3) == -1 || g1 != sh->user_gid ||
	    g2 != sh->user_gid || g3 != sh->user_gid ||
	    getresuid(&u1, &u2, &u3) == -1 || u1 != sh->user_uid ||
	    u2 != sh->user_uid || u3 != sh->user_uid)
		return -1;
	/* Root's ids cannot come back. */
	if (sh->user_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		return -1;
	return 0;
}

/* Children of this process, from /proc (each one's parent). */
static size_t
children(pid_t self, pid_t *out, size_t max)
{
	struct dirent *p;
	size_t n = 0;
	DIR *proc;

	if ((proc = opendir("/proc")) == NULL)
		return 0;
	while (n < max && (p = readdir(proc)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		if (parent_of(atol(p->d_name)) == (long)self)
			out[n++] = (pid_t)atol(p->d_name);
	}
	closedir(proc);
	return n;
}

int
privs_kill_descendants(void)
{
	pid_t kids[256], self = getpid();
	int killed = 0, status, round;
	size_t i, n;

	/* Each round kills the children; their own children come to us
	 * (the subreaper) as they die, and are killed in the next. */
	for (round = 0; round < 1000; round++) {
		n = children(self, kids, sizeof(kids) / sizeof(kids[0]));
		for (i = 0; i < n; i++)
			if (kill(kids[i], SIGKILL) == 0)
				killed++;
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		if (waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD)
			return killed;
		if (n == 0)
			usleep(2000);
	}
	hoop_log(LOG_ERR, "processes left behind could not all be killed");
	return killed;
}
