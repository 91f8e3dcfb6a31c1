/* The token cache of `hoop-ssh login`: one file in the user's private
 * cache directory. Every access goes through a descriptor of the checked
 * directory (ours, no group or other access, not a symlink), so that no
 * one else can read the token, or plant one of theirs for us to log in
 * with. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hoop_tokenread.h"
#include "hoop_util.h"
#include "token.h"

#define CACHE_DIR "hoop"
#define CACHE_FILE "id-token"
/* A token and its newline: anything larger is not ours. */
#define CACHE_MAX (HOOP_TOKENREAD_MAX_TOKEN + 2)

/* $XDG_CACHE_HOME (if absolute, as the XDG spec asks), else ~/.cache. */
static int
cache_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (xdg != NULL && xdg[0] == '/')
		return snprintf(buf, len, "%s", xdg) < (int)len ? 0 : -1;
	if ((home == NULL || home[0] != '/') &&
	    (pw = getpwuid(geteuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL || home[0] != '/')
		return -1;
	return snprintf(buf, len, "%s/.cache", home) < (int)len ? 0 : -1;
}

int
token_cache_path(char *buf, size_t len)
{
	char base[4096];

	if (cache_base(base, sizeof(base)) == -1)
		return -1;
	return snprintf(buf, len, "%s/" CACHE_DIR "/" CACHE_FILE, base) <
	    (int)len ? 0 : -1;
}

/* Refuses what someone else could read or replace. */
static int
private_enough(const struct stat *st, const char *what, const char *path,
    char *why, size_t whylen)
{
	if (st->st_uid != geteuid()) {
		hoop_why(why, whylen, "the token cache %s %s belongs to uid %u, "
		    "not to you: refusing it", what, path,
		    (unsigned)st->st_uid);
		return 0;
	}
	if (st->st_mode & 077) {
		hoop_why(why, whylen, "the token cache %s %s is open to others "
		    "(mode %04o): refusing it; 'chmod %s %s' makes it private",
		    what, path, (unsigned)(st->st_mode & 07777),
		    S_ISDIR(st->st_mode) ? "700" : "600", path);
		return 0;
	}
	return 1;
}

/* The cache directory's descriptor; create makes it (and its parent)
 * if missing. HOOP_ERR_NOTFOUND: no directory and !create. */
static hoop_err_t
open_dir(int create, int *out, char *why, size_t whylen)
{
	char base[4096], dir[4200];
	struct stat st;
	int fd = -1;
	hoop_err_t ret = HOOP_ERR_IO;

	if (cache_base(base, sizeof(base)) == -1) {
		hoop_why(why, whylen, "no cache directory for the token (set "
		    "HOME or XDG_CACHE_HOME)");
		ret = HOOP_ERR_NOTFOUND;
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/" CACHE_DIR, base);
	if (create && ((mkdir(base, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST))) {
		hoop_why(why, whylen, "cannot make the token cache directory "
		    "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			ret = HOOP_ERR_NOTFOUND;
			hoop_why(why, whylen, "no token cache directory %s",
			    dir);
		} else
			hoop_why(why, whylen, "cannot open the token cache "
			    "directory %s: %s", dir, errno == ELOOP ||
			    errno == ENOTDIR ? "a symlink or not a directory" :
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		hoop_why(why, whylen, "cannot stat %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (!private_enough(&st, "directory", dir, why, whylen)) {
		ret = HOOP_ERR_PERM;
		goto out;
	}
	*out = fd;
	fd = -1;
	ret = HOOP_OK;
out:
	if (fd != -1)
		close(fd);
	return ret;
}

hoop_err_t
token_cache_read(char **token, char *why, size_t whylen)
{
	hoop_err_t ret;
	struct stat st;
	char path[4300] = "", *buf = NULL;
	size_t have = 0;
	ssize_t n;
	int dfd = -1, fd = -1;

	*token = NULL;
	token_cache_path(path, sizeof(path));
	if ((ret = open_dir(0, &dfd, why, whylen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_IO;
	if ((fd = openat(dfd, CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1) {
		if (errno == ENOENT) {
			ret = HOOP_ERR_NOTFOUND;
			hoop_why(why, whylen, "no cached token");
		} else
			hoop_why(why, whylen, "cannot open the token cache %s: "
			    "%s", path, errno == ELOOP ? "a symlink" :
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		hoop_why(why, whylen, "the token cache %s is not a regular "
		    "file", path);
		goto out;
	}
	if (!private_enough(&st, "file", path, why, whylen)) {
		ret = HOOP_ERR_PERM;
		goto out;
	}
	if ((buf = malloc(CACHE_MAX + 1)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	while (have <= CACHE_MAX) {
		n = read(fd, buf + have, CACHE_MAX + 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			hoop_why(why, whylen, "cannot read the token cache %s: "
			    "%s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	if (have > CACHE_MAX) {
		hoop_why(why, whylen, "the token cache %s is too large", path);
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	buf[have] = '\0';
	*token = buf;
	buf = NULL;
	ret = HOOP_OK;
out:
	if (buf != NULL) {
		explicit_bzero(buf, have);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return ret;
}

hoop_err_t
token_cache_prepare(char *why, size_t whylen)
{
	hoop_err_t ret;
	int dfd = -1;

	if ((ret = open_dir(1, &dfd, why, whylen)) == HOOP_OK)
		close(dfd);
	return ret;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

hoop_err_t
token_cache_write(const char *token, char *why, size_t whylen)
{
	hoop_err_t ret;
	char tmp[64], path[4300] = "";
	int dfd = -1, fd = -1, tries;

	token_cache_path(path, sizeof(path));
	if ((ret = open_dir(1, &dfd, why, whylen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_IO;
	snprintf(tmp, sizeof(tmp), "." CACHE_FILE ".%ld", (long)getpid());
	/* A temporary file of ours left by a crash under the same pid is
	 * removed once; anything else in the way is an error. */
	for (tries = 0; tries < 2; tries++) {
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
		unlinkat(dfd, tmp, 0);
	}
	if (fd == -1) {
		hoop_why(why, whylen, "cannot write the token cache %s: %s",
		    path, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (write_all(fd, token, strlen(token)) == -1 ||
	    write_all(fd, "\n", 1) == -1 || fchmod(fd, 0600) == -1 ||
	    fsync(fd) == -1) {
		hoop_why(why, whylen, "cannot write the token cache %s: %s",
		    path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		hoop_why(why, whylen, "cannot write the token cache %s: %s",
		    path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, CACHE_FILE) == -1) {
		hoop_why(why, whylen, "cannot write the token cache %s: %s",
		    path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	(void)fsync(dfd);
	ret = HOOP_OK;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1 && tmp[0] != '\0')
		unlinkat(dfd, tmp, 0);
	if (dfd != -1)
		close(dfd);
	return ret;
}

hoop_err_t
token_cache_remove(char *why, size_t whylen)
{
	hoop_err_t ret;
	char path[4300] = "";
	int dfd = -1;

	token_cache_path(path, sizeof(path));
	if ((ret = open_dir(0, &dfd, why, whylen)) != HOOP_OK)
		goto out;
	if (unlinkat(dfd, CACHE_FILE, 0) == -1) {
		if (errno == ENOENT) {
			ret = HOOP_ERR_NOTFOUND;
			hoop_why(why, whylen, "no cached token (%s)", path);
		} else {
			ret = HOOP_ERR_IO;
			hoop_why(why, whylen, "cannot remove %s: %s", path,
			    strerror(errno));
		}
		goto out;
	}
	ret = HOOP_OK;
out:
	if (dfd != -1)
		close(dfd);
	return ret;
}

void
token_format_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, len, "@%lld", t);
}

void
token_format_span(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = -secs;
	if (secs < 120)
		snprintf(buf, len, "%llds", secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lldm", secs / 60);
	else if (secs < 2 * 86400)
		snprintf(buf, len, "%lldh", secs / 3600);
	else
		snprintf(buf, len, "%lldd", secs / 86400);
}
