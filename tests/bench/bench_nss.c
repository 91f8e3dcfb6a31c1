/*
 * nss_hoop lookup latency next to nss_files, in one run: prints figures,
 * passes or fails nothing (run it with `make bench`).
 *
 * Both modules are called at their entry points, as glibc calls them
 * (no nscd, no glibc front end): nss_hoop's test build, dlopen'ed, with
 * its data file holding 10 and then 10,000 live leases; glibc's
 * _nss_files_getpwnam_r/_getpwuid_r against /etc/passwd. For an entry of
 * the same shape in both, as root the benchmark appends the benchmark
 * user to a copy of /etc/passwd bind-mounted over it in a private mount
 * namespace (the host's file is untouched); otherwise it looks up the
 * last entry of /etc/passwd as it is.
 *
 * Usage: bench_nss [-n ITERATIONS] [BUILD_DIR]
 */
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hoop_nssdb.h"
#include "hoop_util.h"

#define UID_MIN 60000
#define UID_MAX 60999
#define BENCH_USER "sso-bench"
#define ROUNDS 5

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *,
    size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t,
    int *);

static long iterations = 100000;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over ROUNDS of the mean time per call; -1 if a call fails. */
static double
time_pwnam(pwnam_fn fn, const char *name, long n)
{
	struct passwd pw;
	char buf[1024];
	double r[ROUNDS], t;
	int err, k;
	long i;

	for (k = 0; k < ROUNDS; k++) {
		t = now_ns();
		for (i = 0; i < n; i++) {
			if (fn(name, &pw, buf, sizeof(buf), &err) !=
			    NSS_STATUS_SUCCESS)
				return -1;
		}
		r[k] = (now_ns() - t) / (double)n;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	return r[ROUNDS / 2];
}

static double
time_pwuid(pwuid_fn fn, uid_t uid, long n)
{
	struct passwd pw;
	char buf[1024];
	double r[ROUNDS], t;
	int err, k;
	long i;

	for (k = 0; k < ROUNDS; k++) {
		t = now_ns();
		for (i = 0; i < n; i++) {
			if (fn(uid, &pw, buf, sizeof(buf), &err) !=
			    NSS_STATUS_SUCCESS)
				return -1;
		}
		r[k] = (now_ns() - t) / (double)n;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	return r[ROUNDS / 2];
}

/* The data file with n live leases, the benchmark user among them. */
static int
write_db(const char *path, int n)
{
	hoop_nssdb_builder_t *b = NULL;
	void *image = NULL;
	size_t len = 0;
	char name[40];
	int i, rc = -1;
	uint32_t uid;

	if (hoop_nssdb_builder_create(UID_MIN, UID_MAX, "/var/lib/hoop-home",
	    "/usr/bin/hoop-shell", 0, &b) != HOOP_OK)
		goto out;
	if (hoop_nssdb_builder_add_login(b, "deploy", "hoop identity ci", 0) !=
	    HOOP_OK || hoop_nssdb_builder_add_template(b, "sso-${user}",
	    "hoop identity staff", HOOP_NSSDB_HOME) != HOOP_OK ||
	    hoop_nssdb_builder_add_lease(b, BENCH_USER,
	    hoop_nssdb_login_uid(BENCH_USER, UID_MIN, UID_MAX), INT64_MAX / 2,
	    "hoop identity staff", HOOP_NSSDB_HOME, NULL, 0) != HOOP_OK)
		goto out;
	for (i = 1; i < n; i++) {
		snprintf(name, sizeof(name), "sso-user%d", i);
		/* Spread like real leases, clear of the bench user's uid. */
		uid = 1000000 + (uint32_t)i;
		if (hoop_nssdb_builder_add_lease(b, name, uid, INT64_MAX / 2,
		    "hoop identity staff", HOOP_NSSDB_HOME, NULL, 0) !=
		    HOOP_OK)
			goto out;
	}
	if (hoop_nssdb_builder_finish(b, (int64_t)time(NULL), &image, &len) !=
	    HOOP_OK || hoop_write_file_atomic(path, image, len, 0644) !=
	    HOOP_OK)
		goto out;
	rc = 0;
out:
	free(image);
	hoop_nssdb_builder_free(b);
	return rc;
}

/* As root: /etc/passwd plus the benchmark user, in a mount namespace of
 * our own. Fills name/uid with the entry nss_files will be asked for. */
static const char *
prepare_files(const char *tmpdir, char *name, size_t size, uid_t *uid)
{
	char path[4096], *text = NULL, *line, *last = NULL, *p;
	size_t len = 0;
	FILE *f;

	if (hoop_read_file("/etc/passwd", 16 * 1024 * 1024, &text, &len) !=
	    HOOP_OK)
		return "cannot read /etc/passwd";
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		snprintf(path, sizeof(path), "%s/passwd", tmpdir);
		if ((f = fopen(path, "w")) != NULL) {
			*uid = hoop_nssdb_login_uid(BENCH_USER, UID_MIN,
			    UID_MAX);
			fprintf(f, "%s%s%s:x:%lu:%lu:hoop identity staff:"
			    "/var/lib/hoop-home/%s:/usr/bin/hoop-shell\n", text,
			    len > 0 && text[len - 1] != '\n' ? "\n" : "",
			    BENCH_USER, (unsigned long)*uid,
			    (unsigned long)*uid, BENCH_USER);
			if (fclose(f) == 0 && mount(path, "/etc/passwd", NULL,
			    MS_BIND, NULL) == 0) {
				snprintf(name, size, "%s", BENCH_USER);
				free(text);
				return "/etc/passwd + the bench user (last line),"
				    " private mount namespace";
			}
		}
	}
	/* Not root: the last entry of the file as it is. */
	for (line = strtok_r(text, "\n", &p); line != NULL;
	    line = strtok_r(NULL, "\n", &p))
		if (line[0] != '#' && strchr(line, ':') != NULL)
			last = line;
	if (last == NULL) {
		free(text);
		return "no entry in /etc/passwd";
	}
	snprintf(name, size, "%.*s", (int)strcspn(last, ":"), last);
	p = strchr(strchr(last, ':') + 1, ':');
	*uid = p != NULL ? (uid_t)strtoul(p + 1, NULL, 10) : 0;
	free(text);
	return "/etc/passwd as it is, its last entry";
}

static void
row(const char *what, double files, double h10, double h10k)
{
	char f[32];

	if (files > 0)
		snprintf(f, sizeof(f), "%9.0f", files);
	else
		snprintf(f, sizeof(f), "%9s", "-");
	printf("%-22s %s %9.0f %9.0f", what, f, h10, h10k);
	if (files > 0)
		printf(" %8.2fx", h10 / files);
	else
		printf(" %9s", "-");
	printf(" %8.2fx\n", h10k / h10);
}

int
main(int argc, char **argv)
{
	const char *build = getenv("HOOP_BUILD"), *how;
	char module[4096], db[4096], tmpdir[] = "/tmp/hoop-bench.XXXXXX";
	char files_name[64];
	uid_t files_uid = 0, hoop_uid;
	pwnam_fn hoop_nam, files_nam;
	pwuid_fn hoop_uid_fn, files_uid_fn;
	double fn, fu, n10, u10, t10, n10k, u10k, t10k;
	void *h, *files;
	int ch;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		if (ch != 'n' || (iterations = atol(optarg)) <= 0) {
			fprintf(stderr, "usage: bench_nss [-n ITERATIONS] "
			    "[BUILD_DIR]\n");
			return 2;
		}
	}
	if (optind < argc)
		build = argv[optind];
	if (build == NULL)
		build = "build";
	snprintf(module, sizeof(module), "%s/tests/nss/libnss_hoop.so.2",
	    build);
	snprintf(db, sizeof(db), "%s/tests/nss/passwd.db", build);
	if ((h = dlopen(module, RTLD_NOW)) == NULL) {
		fprintf(stderr, "bench_nss: %s\n", dlerror());
		return 1;
	}
	hoop_nam = (pwnam_fn)dlsym(h, "_nss_hoop_getpwnam_r");
	hoop_uid_fn = (pwuid_fn)dlsym(h, "_nss_hoop_getpwuid_r");
	/* glibc 2.34 and later carry nss_files in libc itself. */
	files_nam = (pwnam_fn)dlsym(RTLD_DEFAULT, "_nss_files_getpwnam_r");
	files_uid_fn = (pwuid_fn)dlsym(RTLD_DEFAULT, "_nss_files_getpwuid_r");
	if ((files_nam == NULL || files_uid_fn == NULL) &&
	    (files = dlopen("libnss_files.so.2", RTLD_NOW)) != NULL) {
		files_nam = (pwnam_fn)dlsym(files, "_nss_files_getpwnam_r");
		files_uid_fn = (pwuid_fn)dlsym(files, "_nss_files_getpwuid_r");
	}
	if (hoop_nam == NULL || hoop_uid_fn == NULL || files_nam == NULL ||
	    files_uid_fn == NULL || mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "bench_nss: cannot find the entry points\n");
		return 1;
	}
	how = prepare_files(tmpdir, files_name, sizeof(files_name),
	    &files_uid);
	hoop_uid = hoop_nssdb_login_uid(BENCH_USER, UID_MIN, UID_MAX);

	fn = time_pwnam(files_nam, files_name, iterations / 4);
	fu = time_pwuid(files_uid_fn, files_uid, iterations / 4);
	if (write_db(db, 10) == -1) {
		fprintf(stderr, "bench_nss: cannot write %s\n", db);
		return 1;
	}
	n10 = time_pwnam(hoop_nam, BENCH_USER, iterations);
	u10 = time_pwuid(hoop_uid_fn, hoop_uid, iterations);
	t10 = time_pwnam(hoop_nam, "sso-not-logged-in", iterations);
	if (write_db(db, 10000) == -1) {
		fprintf(stderr, "bench_nss: cannot write %s\n", db);
		return 1;
	}
	n10k = time_pwnam(hoop_nam, BENCH_USER, iterations);
	u10k = time_pwuid(hoop_uid_fn, hoop_uid, iterations);
	t10k = time_pwnam(hoop_nam, "sso-not-logged-in", iterations);
	unlink(db);
	snprintf(db, sizeof(db), "%s/passwd", tmpdir);
	/* Still bind-mounted in our namespace: unlink fails; umount first. */
	(void)umount("/etc/passwd");
	unlink(db);
	rmdir(tmpdir);

	printf("# nss_files: %s (%s, uid %lu)\n", how, files_name,
	    (unsigned long)files_uid);
	printf("# nss_hoop: %s, the same entry as a live lease; median of %d "
	    "runs of %ld calls\n", module, ROUNDS, iterations);
	printf("%-22s %9s %9s %9s %9s %9s\n", "ns per call", "files",
	    "hoop 10", "hoop 10k", "10/files", "10k/10");
	row("getpwnam (lease)", fn, n10, n10k);
	row("getpwuid (lease)", fu, u10, u10k);
	row("getpwnam (template)", 0, t10, t10k);
	if (fn < 0 || fu < 0 || n10 < 0 || u10 < 0 || n10k < 0 || u10k < 0 ||
	    t10 < 0 || t10k < 0)
		printf("# a lookup failed: figures marked -1 are not valid\n");
	return 0;
}
