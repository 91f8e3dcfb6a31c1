#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hoop_nssdb.h"
#include "hoop_reap.h"

#define MAX_DEPTH 256

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
hoop_proc_ids(int procfd, const char *pid, unsigned long uids[3], char *state)
{
	char path[64], buf[2048], *line;
	unsigned long f;
	ssize_t n;
	int fd, found = 0;

	*state = '?';
	if (strlen(pid) > 20)
		return -1;
	snprintf(path, sizeof(path), "%s/status", pid);
	if ((fd = openat(procfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (line = buf; line != NULL && *line != '\0';) {
		if (strncmp(line, "State:", 6) == 0)
			sscanf(line + 6, " %c", state);
		else if (strncmp(line, "Uid:", 4) == 0 &&
		    sscanf(line + 4, "%lu %lu %lu %lu", &uids[0], &uids[1],
		    &uids[2], &f) == 4)
			found = 1;
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	}
	return found ? 0 : -1;
}

/* Whether /proc/PID/status shows a live process of uid. */
static int
process_of(int dirfd, const char *pid, uint32_t uid)
{
	unsigned long ids[3];
	char state;

	/* Real or saved uid: the processes kill(2) lets that uid signal.
	 * Zombies run no code; their parents reap them. */
	return hoop_proc_ids(dirfd, pid, ids, &state) == 0 &&
	    state != 'Z' && state != 'X' && (ids[0] == uid || ids[2] == uid);
}

int
hoop_reap_count(uint32_t uid)
{
	struct dirent *de;
	DIR *dir;
	int n = 0;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		n += process_of(dirfd(dir), de->d_name, uid);
	}
	closedir(dir);
	return n;
}

/* One round in a child that is uid and nothing else: kill(-1) reaches
 * exactly the processes that uid may signal, itself excepted. Only
 * async-signal-safe calls after fork. */
static int
kill_round(uint32_t uid)
{
	pid_t pid;
	int status, i;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		(void)close_range(3, ~0U, 0);
		if (setgroups(0, NULL) == -1 ||
		    setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) == -1 ||
		    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) == -1)
			_exit(2);
		/* Not ptrace-able by the processes it is about to kill. */
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		for (i = 0; i < 50; i++) {
			(void)kill(-1, SIGKILL);
			if (kill(-1, 0) == -1 && errno == ESRCH)
				_exit(0);
			sleep_ms(2);
		}
		_exit(1);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return -2;
	return 0;
}

hoop_err_t
hoop_reap_uid(uint32_t uid, unsigned timeout_ms, unsigned *killed)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	long long deadline = now_ms() + timeout_ms;
	int n, rc;

	if (killed != NULL)
		*killed = 0;
	if (uid < HOOP_NSSDB_UID_FLOOR)
		goto out;
	if ((n = hoop_reap_count(uid)) > 0 && killed != NULL)
		*killed = (unsigned)n;
	for (;;) {
		if (n == 0) {
			ret = HOOP_OK;
			goto out;
		}
		/* A process of uid may kill our child first (it is uid
		 * too): another round then. */
		if ((rc = kill_round(uid)) == -2) {
			ret = HOOP_ERR_PERM;
			goto out;
		}
		if (rc == -1) {
			ret = HOOP_ERR_IO;
			goto out;
		}
		if ((n = hoop_reap_count(uid)) == 0)
			continue;
		if (now_ms() >= deadline) {
			ret = HOOP_ERR_IO;
			goto out;
		}
		sleep_ms(10);
	}
out:
	return ret;
}

/* Empties the directory open at fd: every entry, depth first, on the
 * same filesystem, without following symbolic links. */
static int
empty_dir(int fd, dev_t dev, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int sub, dup_fd = -1, ret = -1, removed;

	if (depth > MAX_DEPTH || (dup_fd = dup(fd)) == -1)
		goto out;
	if ((dir = fdopendir(dup_fd)) == NULL)
		goto out;
	dup_fd = -1;
	/* Removing entries while reading the directory may hide others:
	 * read again until a pass finds nothing. */
	do {
		removed = 0;
		rewinddir(dir);
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(fd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				goto out;
			if (S_ISDIR(st.st_mode)) {
				if (st.st_dev != dev)
					goto out;
				sub = openat(fd, de->d_name, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub == -1)
					goto out;
				if (empty_dir(sub, dev, depth + 1) == -1) {
					close(sub);
					goto out;
				}
				close(sub);
				if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == -1)
					goto out;
			} else if (unlinkat(fd, de->d_name, 0) == -1)
				goto out;
			removed = 1;
		}
	} while (removed);
	ret = 0;
out:
	if (dir != NULL)
		closedir(dir);
	if (dup_fd != -1)
		close(dup_fd);
	return ret;
}

hoop_err_t
hoop_reap_home(const char *home_base, const char *login, uint32_t uid,
    enum hoop_reap_home *result)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	struct stat st, fst;
	int base = -1, fd = -1;

	*result = HOOP_REAP_HOME_NOT_OURS;
	/* A login name has no '/' and is never "." or "..". */
	if (home_base == NULL || home_base[0] != '/' || login == NULL ||
	    !hoop_nssdb_valid_name(login) || uid < HOOP_NSSDB_UID_FLOOR)
		goto out;
	if ((base = open(home_base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT) {
			*result = HOOP_REAP_HOME_ABSENT;
			ret = HOOP_OK;
		} else
			ret = HOOP_ERR_IO;
		goto out;
	}
	if (fstatat(base, login, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT) {
			*result = HOOP_REAP_HOME_ABSENT;
			ret = HOOP_OK;
		} else
			ret = HOOP_ERR_IO;
		goto out;
	}
	/* Not the home we made for uid: not ours to remove. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != (uid_t)uid) {
		ret = HOOP_OK;
		goto out;
	}
	ret = HOOP_ERR_IO;
	if ((fd = openat(base, login, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &fst) == -1 ||
	    fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
		goto out;
	if (empty_dir(fd, fst.st_dev, 0) == -1)
		goto out;
	close(fd);
	fd = -1;
	if (unlinkat(base, login, AT_REMOVEDIR) == -1)
		goto out;
	*result = HOOP_REAP_HOME_REMOVED;
	ret = HOOP_OK;
out:
	if (fd != -1)
		close(fd);
	if (base != -1)
		close(base);
	return ret;
}
