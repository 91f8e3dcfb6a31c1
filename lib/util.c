#include <stdarg.h>
#include <sys/prctl.h>
#include <signal.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hoop_util.h"

hoop_err_t
hoop_read_file(const char *path, size_t max_size, char **out, size_t *len)
{
	hoop_err_t ret = HOOP_ERR_IO;
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd == -1) {
		/* ELOOP: the path is a symlink, which we never follow. */
		ret = errno == ENOENT ? HOOP_ERR_NOTFOUND :
		    errno == EACCES ? HOOP_ERR_PERM :
		    errno == ELOOP ? HOOP_ERR_INVAL : HOOP_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size > max_size) {
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	/* Read to EOF rather than trusting st_size: the file may grow. */
	if ((buf = malloc(max_size + 1)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, buf + have, max_size + 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max_size) {
			ret = HOOP_ERR_TOOBIG;
			goto out;
		}
	}
	buf[have] = '\0';
	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = have;
	ret = HOOP_OK;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return ret;
}

hoop_err_t
hoop_write_file_atomic(const char *path, const void *data, size_t len,
    unsigned mode)
{
	hoop_err_t ret = HOOP_ERR_IO;
	char tmp[PATH_MAX];
	const char *p = data;
	size_t done = 0;
	ssize_t n;
	int fd = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		ret = errno == EACCES || errno == EPERM || errno == EROFS ?
		    HOOP_ERR_PERM : errno == ENOENT ? HOOP_ERR_NOTFOUND :
		    HOOP_ERR_IO;
		tmp[0] = '\0';
		goto out;
	}
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	tmp[0] = '\0';
	ret = HOOP_OK;
out:
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return ret;
}

void
hoop_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void
hoop_closefrom(int lowfd)
{
	DIR *dir;
	struct dirent *de;
	long fd, maxfd;
	char *end;

	/* One system call, async-signal-safe (children of threaded
	 * programs call this between fork and exec). */
	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	/* Older kernels: /proc/self/fd, then the rlimit. */
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		int dfd = dirfd(dir);

		while ((de = readdir(dir)) != NULL) {
			errno = 0;
			fd = strtol(de->d_name, &end, 10);
			if (errno != 0 || *end != '\0' || end == de->d_name)
				continue;
			if (fd >= lowfd && fd != dfd)
				close((int)fd);
		}
		closedir(dir);
		return;
	}
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (fd = lowfd; fd < maxfd; fd++)
		close((int)fd);
}

hoop_err_t
hoop_read_secret(const char *path, size_t max, char **out, size_t *len,
    char *why, size_t whylen)
{
	hoop_err_t err;
	char *buf = NULL;
	size_t n = 0;

	if ((err = hoop_read_file(path, max, &buf, &n)) != HOOP_OK) {
		hoop_why(why, whylen, "%s: %s", path, hoop_strerror(err));
		return err;
	}
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n == 0) {
		hoop_why(why, whylen, "%s is empty", path);
		hoop_wipe_free(buf);
		return HOOP_ERR_INVAL;
	}
	*out = buf;
	*len = n;
	return HOOP_OK;
}

int64_t
hoop_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hoop_sanitize_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 && open("/dev/null", O_RDWR) != fd)
			_exit(1);
	hoop_closefrom(3);
}

int
hoop_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

int
hoop_parse_duration(const char *text, long *seconds)
{
	const char *p = text;
	long total = 0, value, unit;
	int parts = 0;

	if (text == NULL || *text == '\0')
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		value = 0;
		while (*p >= '0' && *p <= '9') {
			if (value > (LONG_MAX - (*p - '0')) / 10)
				return -1;
			value = value * 10 + (*p - '0');
			p++;
		}
		switch (*p) {
		case '\0':
			/* A bare number is seconds, but only on its own. */
			if (parts > 0)
				return -1;
			unit = 1;
			break;
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = 86400; p++; break;
		default:
			return -1;
		}
		if (value > LONG_MAX / unit || total > LONG_MAX - value * unit)
			return -1;
		total += value * unit;
		parts++;
	}
	*seconds = total;
	return 0;
}

int
hoop_parse_size(const char *text, unsigned long long *bytes)
{
	unsigned long long value = 0, unit = 1;
	const char *p = text;

	if (text == NULL || *p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (value > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			return -1;
		value = value * 10 + (unsigned)(*p - '0');
		p++;
	}
	switch (*p) {
	case '\0': break;
	case 'K': case 'k': unit = 1ULL << 10; p++; break;
	case 'M': unit = 1ULL << 20; p++; break;
	case 'G': unit = 1ULL << 30; p++; break;
	case 'T': unit = 1ULL << 40; p++; break;
	default: return -1;
	}
	if (*p != '\0' || value > ULLONG_MAX / unit)
		return -1;
	*bytes = value * unit;
	return 0;
}

int
hoop_list_has(const char *list, const char *name, size_t n)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

void
hoop_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

void
hoop_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

size_t
hoop_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, k;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ?
	    3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	if (n == 0 || n > len)
		return 0;
	c = s[0] & (0x7f >> n);
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[k] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int
hoop_deceptive_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

void
hoop_put_safe(FILE *out, const char *s, size_t len)
{
	hoop_put_safe_ex(out, s, len, 0);
}

void
hoop_put_safe_ex(FILE *out, const char *s, size_t len, int keep_backslash)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, n;

	if (s == NULL) {
		putc('-', out);
		return;
	}
	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == '\\' && !keep_backslash) ||
		    (n = hoop_utf8_next(p + i, len - i, &cp)) == 0) {
			fprintf(out, "\\x%02x", p[i++]);
			continue;
		}
		if (hoop_deceptive_cp(cp))
			fprintf(out, "\\u{%04" PRIx32 "}", cp);
		else
			fwrite(p + i, 1, n, out);
		i += n;
	}
}

int
hoop_env_add(struct hoop_env *e, const char *name, const char *value)
{
	char *entry;

	if (value == NULL || e->n == HOOP_ENV_MAX || strlen(value) > 4096 ||
	    strchr(value, '\n') != NULL ||
	    asprintf(&entry, "%s=%s", name, value) == -1)
		return -1;
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
	return 0;
}

void
hoop_env_keep(struct hoop_env *e, const char *const *names, size_t n)
{
	const char *v;
	size_t i;

	for (i = 0; i < n; i++)
		if ((v = getenv(names[i])) != NULL)
			(void)hoop_env_add(e, names[i], v);
}

void
hoop_env_free(struct hoop_env *e)
{
	while (e->n > 0)
		free(e->v[--e->n]);
	e->v[0] = NULL;
}

void
hoop_exec_dropped(const char *prog, const char *path, char **argv,
    char **envp, pid_t parent)
{
	gid_t rgid = getgid(), g1, g2, g3;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	if (setresgid(rgid, rgid, rgid) == -1 ||
	    getresgid(&g1, &g2, &g3) == -1 || g1 != rgid || g2 != rgid ||
	    g3 != rgid) {
		dprintf(2, "%s: cannot drop privileges\n", prog);
		_exit(126);
	}
	/* After the change of group: changing credentials clears it. The
	 * program must not outlive its proxy. */
	if (parent != 0 && (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
	    getppid() != parent))
		_exit(126);
	hoop_closefrom(3);
	umask(022);
	execve(path, argv, envp);
	dprintf(2, "%s: %s: %s\n", prog, path, strerror(errno));
	_exit(127);
}
