/*
 * nss_hoop as glibc sees it: the built module dlopen'ed and its entry
 * points called directly. The test build of the module
 * (BUILD/tests/nss/libnss_hoop.so.2) reads BUILD/tests/nss/passwd.db,
 * which this test writes; the installed build reads only its fixed path.
 *
 * Usage: test_nss [BUILD_DIR]    (else $HOOP_BUILD, else "build")
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hoop_nssdb.h"
#include "hoop_util.h"
#include "tap.h"

#define UID_MIN 60000
#define UID_MAX 60999
#define HOME_BASE "/var/lib/hoop-home"
#define SHELL "/usr/bin/hoop-shell"
#define THREADS 16
#define GUARD 64

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *,
    size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t,
    int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *,
    size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t,
    int *);
typedef enum nss_status (*setpwent_fn)(int);
typedef enum nss_status (*getpwent_fn)(struct passwd *, char *, size_t,
    int *);
typedef enum nss_status (*endpwent_fn)(void);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long *, long *,
    gid_t **, long, int *);

struct module {
	void		*handle;
	pwnam_fn	 getpwnam;
	pwuid_fn	 getpwuid;
	grnam_fn	 getgrnam;
	grgid_fn	 getgrgid;
	setpwent_fn	 setpwent;
	getpwent_fn	 getpwent;
	endpwent_fn	 endpwent;
	initgroups_fn	 initgroups;
};

static struct module mod;
static char db_path[4096];
static uint32_t uid_alice, uid_old, uid_deploy, uid_bob;
static int64_t now;

static int
load_module(struct module *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	if ((m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		printf("# dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	m->getpwnam = (pwnam_fn)dlsym(m->handle, "_nss_hoop_getpwnam_r");
	m->getpwuid = (pwuid_fn)dlsym(m->handle, "_nss_hoop_getpwuid_r");
	m->getgrnam = (grnam_fn)dlsym(m->handle, "_nss_hoop_getgrnam_r");
	m->getgrgid = (grgid_fn)dlsym(m->handle, "_nss_hoop_getgrgid_r");
	m->setpwent = (setpwent_fn)dlsym(m->handle, "_nss_hoop_setpwent");
	m->getpwent = (getpwent_fn)dlsym(m->handle, "_nss_hoop_getpwent_r");
	m->endpwent = (endpwent_fn)dlsym(m->handle, "_nss_hoop_endpwent");
	m->initgroups = (initgroups_fn)dlsym(m->handle,
	    "_nss_hoop_initgroups_dyn");
	return m->getpwnam && m->getpwuid && m->getgrnam && m->getgrgid &&
	    m->setpwent && m->getpwent && m->endpwent && m->initgroups ? 0 : -1;
}

/* The standard image: a fixed login with a live lease, a template, a
 * live lease from the template with two local groups, an expired one. */
static hoop_err_t
build_image(unsigned flags, int extra, void **image, size_t *len)
{
	static const uint32_t gids[] = { 44, 27 };
	hoop_nssdb_builder_t *b = NULL;
	hoop_err_t err;
	char name[40];
	int i;

	if ((err = hoop_nssdb_builder_create(UID_MIN, UID_MAX, HOME_BASE,
	    SHELL, flags, &b)) != HOOP_OK)
		return err;
	if ((err = hoop_nssdb_builder_add_login(b, "deploy",
	    "hoop identity ci-deploy", 0)) != HOOP_OK ||
	    (err = hoop_nssdb_builder_add_template(b, "sso-${username}",
	    "hoop identity staff", HOOP_NSSDB_HOME)) != HOOP_OK ||
	    (err = hoop_nssdb_builder_add_lease(b, "deploy", uid_deploy,
	    now + 3600, "hoop identity ci-deploy", 0, NULL, 0)) != HOOP_OK ||
	    (err = hoop_nssdb_builder_add_lease(b, "sso-alice", uid_alice,
	    now + 3600, "hoop identity staff", HOOP_NSSDB_HOME, gids, 2)) !=
	    HOOP_OK ||
	    (err = hoop_nssdb_builder_add_lease(b, "sso-old", uid_old,
	    now - 10, "hoop identity staff", HOOP_NSSDB_HOME, NULL, 0)) !=
	    HOOP_OK)
		goto out;
	for (i = 0; i < extra && err == HOOP_OK; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		err = hoop_nssdb_builder_add_lease(b, name, 70000 + i,
		    now + 3600, "hoop identity bulk", 0, NULL, 0);
	}
	if (err == HOOP_OK)
		err = hoop_nssdb_builder_finish(b, now, image, len);
out:
	hoop_nssdb_builder_free(b);
	return err;
}

static int
install_image(const void *image, size_t len)
{
	return hoop_write_file_atomic(db_path, image, len, 0644) == HOOP_OK ?
	    0 : -1;
}

static int
install_standard(unsigned flags)
{
	void *image = NULL;
	size_t len = 0;
	int rc = -1;

	if (build_image(flags, 0, &image, &len) == HOOP_OK)
		rc = install_image(image, len);
	free(image);
	return rc;
}

/* A buffer with guard bytes after it: nothing may be written there. */
struct guarded {
	char mem[8192 + GUARD];
};

static void
guard_set(struct guarded *g, size_t len)
{
	memset(g->mem, 0x5a, sizeof(g->mem));
	(void)len;
}

static int
guard_ok(const struct guarded *g, size_t len)
{
	size_t i;

	for (i = len; i < len + GUARD; i++)
		if ((unsigned char)g->mem[i] != 0x5a)
			return 0;
	return 1;
}

static void
test_missing(void)
{
	struct passwd pw;
	struct group gr;
	char buf[1024];
	int err = 0;

	unlink(db_path);
	is_int(mod.getpwnam("deploy", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "no data file: getpwnam NOTFOUND");
	is_int(err, ENOENT, "errno ENOENT");
	is_int(mod.getpwuid(UID_MIN + 1, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "no data file: getpwuid NOTFOUND");
	is_int(mod.getgrnam("deploy", &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "no data file: getgrnam NOTFOUND");
}

static void
test_names(void)
{
	struct passwd pw;
	char buf[1024], home[256];
	int err = 0;

	ok(install_standard(0) == 0, "install a data file");
	is_int(mod.getpwnam("deploy", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "fixed login resolves");
	ok(strcmp(pw.pw_name, "deploy") == 0 && pw.pw_uid == uid_deploy &&
	    pw.pw_gid == uid_deploy, "deploy: uid %lu = gid = the name's hash",
	    (unsigned long)pw.pw_uid);
	ok(strcmp(pw.pw_dir, "/") == 0 && strcmp(pw.pw_shell, SHELL) == 0 &&
	    strcmp(pw.pw_gecos, "hoop identity ci-deploy") == 0 &&
	    strcmp(pw.pw_passwd, "*") == 0,
	    "deploy: no home (home = false), hoop-shell, gecos names the "
	    "identity, no password");

	is_int(mod.getpwnam("sso-bob", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "a template name resolves before any login");
	snprintf(home, sizeof(home), "%s/sso-bob", HOME_BASE);
	ok(pw.pw_uid == uid_bob && pw.pw_gid == uid_bob &&
	    strcmp(pw.pw_dir, home) == 0 &&
	    strcmp(pw.pw_gecos, "hoop identity staff") == 0,
	    "sso-bob: uid %lu, home %s", (unsigned long)pw.pw_uid, pw.pw_dir);
	ok(pw.pw_uid >= UID_MIN && pw.pw_uid <= UID_MAX, "uid in the range");

	is_int(mod.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "a leased name resolves");
	ok(pw.pw_uid == uid_alice, "with the lease's uid");
	is_int(mod.getpwnam("sso-old", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "an expired lease's name still matches its "
	    "template");
	ok(pw.pw_uid == uid_old, "with the same uid");

	is_int(mod.getpwnam("stranger", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "a name no identity could log in as: "
	    "NOTFOUND");
	is_int(err, ENOENT, "errno ENOENT");
	is_int(mod.getpwnam("sso-", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "the template with an empty claim");
	is_int(mod.getpwnam("SSO-bob", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "upper case is not a login name");
	is_int(mod.getpwnam("sso-b/../x", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "'/' is not in a login name");
	is_int(mod.getpwnam("sso-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &pw, buf,
	    sizeof(buf), &err), NSS_STATUS_NOTFOUND, "33 characters: too long");
	is_int(mod.getpwnam("", &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "empty name");
}

static void
test_uids(void)
{
	struct passwd pw;
	char buf[1024];
	int err = 0;

	is_int(mod.getpwuid(uid_alice, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "a live lease resolves by uid");
	ok(strcmp(pw.pw_name, "sso-alice") == 0 && pw.pw_gid == uid_alice,
	    "to its name");
	is_int(mod.getpwuid(uid_deploy, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "the fixed login's lease resolves by uid");
	is_int(mod.getpwuid(uid_old, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "an expired lease does not resolve by uid");
	is_int(mod.getpwuid(uid_bob, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "a name without a lease: its uid is unknown");
	is_int(mod.getpwuid(0, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "uid 0: NOTFOUND");
	is_int(mod.getpwuid(UID_MAX + 1, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "an unleased uid: NOTFOUND");
}

static void
test_groups(void)
{
	struct group gr;
	char buf[1024];
	gid_t *groups;
	long start, size;
	int err = 0;

	is_int(mod.getgrnam("sso-alice", &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "the user's own group by name");
	ok(gr.gr_gid == uid_alice && strcmp(gr.gr_name, "sso-alice") == 0 &&
	    gr.gr_mem != NULL && gr.gr_mem[0] == NULL,
	    "gid = uid, no members");
	is_int(mod.getgrnam("sso-carol", &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "a template name's group before login");
	is_int(mod.getgrgid(uid_alice, &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS, "a live lease's group by gid");
	ok(strcmp(gr.gr_name, "sso-alice") == 0, "named after the login");
	is_int(mod.getgrgid(uid_old, &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "an expired lease's gid: NOTFOUND");
	is_int(mod.getgrgid(0, &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "gid 0: NOTFOUND");
	is_int(mod.getgrnam("stranger", &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND, "an unknown group name: NOTFOUND");

	/* initgroups: glibc passes its array with the primary group in. */
	size = 1;
	start = 1;
	groups = malloc(sizeof(*groups));
	groups[0] = uid_alice;
	is_int(mod.initgroups("sso-alice", uid_alice, &start, &size, &groups,
	    0, &err), NSS_STATUS_SUCCESS, "initgroups_dyn for a lease");
	ok(start == 3 && groups[1] == 44 && groups[2] == 27 && size >= 3,
	    "adds the lease's local groups, growing the array (%ld)", start);
	is_int(mod.initgroups("sso-alice", uid_alice, &start, &size, &groups,
	    0, &err), NSS_STATUS_SUCCESS, "again");
	is_int(start, 3, "groups already there are not added twice");
	free(groups);

	size = 1;
	start = 0;
	groups = malloc(sizeof(*groups));
	is_int(mod.initgroups("sso-alice", 44, &start, &size, &groups, 1,
	    &err), NSS_STATUS_SUCCESS, "initgroups_dyn with limit 1");
	ok(start == 1 && size == 1 && groups[0] == 27,
	    "the primary group is skipped and the limit kept");
	free(groups);

	size = 4;
	start = 0;
	groups = calloc(4, sizeof(*groups));
	is_int(mod.initgroups("sso-bob", uid_bob, &start, &size, &groups, 0,
	    &err), NSS_STATUS_NOTFOUND, "no lease: no supplementary groups");
	is_int(mod.initgroups("sso-old", uid_old, &start, &size, &groups, 0,
	    &err), NSS_STATUS_NOTFOUND, "expired lease: none either");
	is_int(start, 0, "nothing added");
	free(groups);
}

/* Every buffer size short of the need gives ERANGE/TRYAGAIN and leaves
 * the bytes after the buffer alone; the first that fits succeeds. */
static void
test_buffers(void)
{
	static struct guarded g;
	struct passwd pw;
	struct group gr;
	size_t len, need_pw = 0, need_gr = 0, off;
	enum nss_status st;
	int err = 0, bad = 0;

	for (len = 0; len < 200; len++) {
		guard_set(&g, len);
		err = 0;
		st = mod.getpwnam("sso-alice", &pw, g.mem, len, &err);
		if (!guard_ok(&g, len))
			bad++;
		if (st == NSS_STATUS_SUCCESS) {
			need_pw = len;
			break;
		}
		if (st != NSS_STATUS_TRYAGAIN || err != ERANGE)
			bad++;
	}
	ok(bad == 0 && need_pw > 0, "getpwnam: ERANGE/TRYAGAIN below %zu "
	    "bytes, never a write past the buffer", need_pw);
	ok(need_pw > 0 && strcmp(pw.pw_dir, HOME_BASE "/sso-alice") == 0,
	    "and a right answer at %zu", need_pw);
	bad = 0;
	for (len = 0; len < need_pw; len++) {
		guard_set(&g, len);
		if (mod.getpwuid(uid_alice, &pw, g.mem, len, &err) !=
		    NSS_STATUS_TRYAGAIN || err != ERANGE || !guard_ok(&g, len))
			bad++;
	}
	ok(bad == 0, "getpwuid: the same");
	/* Group entries start with an aligned pointer array: try every
	 * misalignment as well. */
	bad = 0;
	for (off = 0; off < sizeof(char *); off++) {
		for (len = 0; len < 100; len++) {
			guard_set(&g, off + len);
			err = 0;
			st = mod.getgrnam("sso-alice", &gr, g.mem + off, len,
			    &err);
			if (!guard_ok(&g, off + len))
				bad++;
			if (st == NSS_STATUS_SUCCESS) {
				if (gr.gr_mem[0] != NULL ||
				    ((uintptr_t)gr.gr_mem % sizeof(char *)) != 0)
					bad++;
				if (off == 0)
					need_gr = len;
				break;
			}
			if (st != NSS_STATUS_TRYAGAIN || err != ERANGE)
				bad++;
		}
	}
	ok(bad == 0 && need_gr > 0, "getgrnam: ERANGE below %zu bytes at "
	    "every alignment, aligned member list, no overrun", need_gr);
	guard_set(&g, 0);
	ok(mod.getgrgid(uid_alice, &gr, g.mem + 1, 3, &err) ==
	    NSS_STATUS_TRYAGAIN && err == ERANGE && guard_ok(&g, 4),
	    "getgrgid with a tiny unaligned buffer");
}

static void
test_enumeration(void)
{
	struct passwd pw;
	char buf[1024];
	int err = 0, n = 0, alice = 0, other = 0;

	mod.setpwent(0);
	is_int(mod.getpwent(&pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND,
	    "enumeration is off by default");
	mod.endpwent();
	ok(install_standard(HOOP_NSSDB_ENUMERATE) == 0,
	    "a file that allows enumeration");
	mod.setpwent(0);
	/* A too small buffer first: the same entry must come again. */
	is_int(mod.getpwent(&pw, buf, 8, &err), NSS_STATUS_TRYAGAIN,
	    "getpwent_r with a small buffer: TRYAGAIN");
	while (mod.getpwent(&pw, buf, sizeof(buf), &err) ==
	    NSS_STATUS_SUCCESS && n < 10) {
		n++;
		if (strcmp(pw.pw_name, "sso-alice") == 0)
			alice++;
		else if (strcmp(pw.pw_name, "deploy") != 0)
			other++;
	}
	mod.endpwent();
	ok(n == 2 && alice == 1 && other == 0, "lists the live leases only "
	    "(%d entries)", n);
	ok(install_standard(0) == 0, "enumeration off again");
}

/* Changes are seen at once; a replaced file is unmapped only when the
 * last thread using it is done. */
struct worker {
	int	 failures;
	int	 lookups;
};

static volatile int stop_workers;

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct passwd pw;
	struct group gr;
	char buf[512], name[32];
	int err, i;

	for (i = 0; !stop_workers || i < 2000; i++) {
		switch (i % 5) {
		case 0:
			if (mod.getpwnam("sso-alice", &pw, buf, sizeof(buf),
			    &err) != NSS_STATUS_SUCCESS ||
			    pw.pw_uid != uid_alice)
				w->failures++;
			break;
		case 1:
			if (mod.getpwuid(uid_alice, &pw, buf, sizeof(buf),
			    &err) != NSS_STATUS_SUCCESS ||
			    strcmp(pw.pw_name, "sso-alice") != 0)
				w->failures++;
			break;
		case 2:
			snprintf(name, sizeof(name), "sso-u%d", i);
			if (mod.getpwnam(name, &pw, buf, sizeof(buf), &err) !=
			    NSS_STATUS_SUCCESS || pw.pw_uid !=
			    hoop_nssdb_login_uid(name, UID_MIN, UID_MAX))
				w->failures++;
			break;
		case 3:
			if (mod.getgrgid(uid_deploy, &gr, buf, sizeof(buf),
			    &err) != NSS_STATUS_SUCCESS)
				w->failures++;
			break;
		default:
			if (mod.getpwnam("stranger", &pw, buf, sizeof(buf),
			    &err) != NSS_STATUS_NOTFOUND)
				w->failures++;
		}
		w->lookups++;
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	void *images[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 };
	int i, started = 0, failures = 0, lookups = 0, swaps = 0;

	memset(w, 0, sizeof(w));
	ok(build_image(0, 0, &images[0], &lens[0]) == HOOP_OK &&
	    build_image(0, 500, &images[1], &lens[1]) == HOOP_OK,
	    "two images");
	install_image(images[0], lens[0]);
	stop_workers = 0;
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) == 0)
			started++;
	/* Replace the file under them, again and again. */
	for (swaps = 0; swaps < 60; swaps++) {
		install_image(images[swaps % 2], lens[swaps % 2]);
		usleep(2000);
	}
	stop_workers = 1;
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failures += w[i].failures;
		lookups += w[i].lookups;
	}
	ok(started == THREADS, "%d threads", THREADS);
	ok(failures == 0, "%d lookups from %d threads while the file was "
	    "replaced %d times: %d wrong answers", lookups, started, swaps,
	    failures);
	free(images[0]);
	free(images[1]);
	install_standard(0);
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
wr32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
reseal(unsigned char *img, size_t len)
{
	uint64_t c = hoop_nssdb_checksum(img, len);
	int i;

	for (i = 0; i < 8; i++)
		img[HOOP_NSSDB_H_CHECKSUM + i] = (unsigned char)(c >> (8 * i));
}

/* Every lookup on the file answers UNAVAIL (never a crash, never an
 * entry). */
static int
all_unavail(void)
{
	struct passwd pw;
	struct group gr;
	char buf[1024];
	int err;

	return mod.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err) ==
	    NSS_STATUS_UNAVAIL &&
	    mod.getpwuid(uid_alice, &pw, buf, sizeof(buf), &err) ==
	    NSS_STATUS_UNAVAIL &&
	    mod.getgrnam("deploy", &gr, buf, sizeof(buf), &err) ==
	    NSS_STATUS_UNAVAIL;
}

static void
test_corrupt(void)
{
	unsigned char *img = NULL, *copy = NULL;
	void *image = NULL;
	size_t len = 0, i, bad;
	uint32_t entries, n_entries, strings, strings_size, name_slots;
	struct {
		const char *what;
		size_t off;
		uint32_t value;
		int relative;	/* value is added to the field */
	} patches[] = {
		{ "entry count past the file", HOOP_NSSDB_H_N_ENTRIES,
		    0x00ffffff, 0 },
		{ "entries offset past the end", HOOP_NSSDB_H_ENTRIES,
		    0xfffffff0u, 0 },
		{ "strings size past the end", HOOP_NSSDB_H_STRINGS_SIZE,
		    1000000, 1 },
		{ "slot count not a power of two", HOOP_NSSDB_H_N_SLOTS, 1,
		    1 },
		{ "slot count of zero", HOOP_NSSDB_H_N_SLOTS, 0, 0 },
		{ "template count past the end", HOOP_NSSDB_H_N_TEMPLATES,
		    0x10000000, 0 },
		{ "gid count past the end", HOOP_NSSDB_H_N_GIDS, 0x40000000,
		    0 },
		{ "uid range starting at 0", HOOP_NSSDB_H_UID_MIN, 0, 0 },
		{ "uid range over nobody", HOOP_NSSDB_H_UID_MAX, 70000, 0 },
		{ "unknown flags", HOOP_NSSDB_H_FLAGS, 0x80, 0 },
		{ "version 2", HOOP_NSSDB_H_VERSION, 2, 0 },
		{ "home base string out of range", HOOP_NSSDB_H_HOME_BASE,
		    0x7fffffff, 0 },
		{ "shell pointing at a non-path string", HOOP_NSSDB_H_SHELL,
		    0, 0 },
	};
	struct stat st;

	ok(build_image(0, 0, &image, &len) == HOOP_OK, "image to corrupt");
	img = image;
	copy = malloc(len);

	/* Every truncation. */
	bad = 0;
	for (i = 0; i < len; i += (i < 200 ? 1 : 7)) {
		install_image(img, i);
		if (!all_unavail())
			bad++;
	}
	ok(bad == 0, "every truncation of a %zu-byte file: UNAVAIL", len);

	/* Every single-byte change (checksum). */
	bad = 0;
	for (i = 0; i < len; i++) {
		memcpy(copy, img, len);
		copy[i] ^= 0x41;
		install_image(copy, len);
		if (!all_unavail())
			bad++;
	}
	ok(bad == 0, "every flipped byte: UNAVAIL");

	/* Hostile: consistent checksum, lying fields. */
	for (i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		memcpy(copy, img, len);
		wr32(copy + patches[i].off, patches[i].relative ?
		    rd32(copy + patches[i].off) + patches[i].value :
		    patches[i].value);
		reseal(copy, len);
		install_image(copy, len);
		ok(all_unavail(), "hostile file (%s): UNAVAIL", patches[i].what);
	}
	entries = rd32(img + HOOP_NSSDB_H_ENTRIES);
	n_entries = rd32(img + HOOP_NSSDB_H_N_ENTRIES);
	strings = rd32(img + HOOP_NSSDB_H_STRINGS);
	strings_size = rd32(img + HOOP_NSSDB_H_STRINGS_SIZE);
	name_slots = rd32(img + HOOP_NSSDB_H_NAME_SLOTS);

	memcpy(copy, img, len);
	for (i = 0; i < n_entries; i++) {
		unsigned char *e = copy + entries + i * HOOP_NSSDB_ENTRY_SIZE;

		if (rd32(e + HOOP_NSSDB_E_FLAGS) & HOOP_NSSDB_LEASE)
			wr32(e + HOOP_NSSDB_E_UID, 0);
	}
	reseal(copy, len);
	install_image(copy, len);
	ok(all_unavail(), "hostile file (a lease for uid 0): UNAVAIL");

	memcpy(copy, img, len);
	wr32(copy + name_slots, n_entries + 5);
	reseal(copy, len);
	install_image(copy, len);
	ok(all_unavail(), "hostile file (a slot past the entries): UNAVAIL");

	memcpy(copy, img, len);
	wr32(copy + entries + HOOP_NSSDB_E_FIRST_GID, 0xfffffff0u);
	wr32(copy + entries + HOOP_NSSDB_E_N_GIDS, 0x20);
	reseal(copy, len);
	install_image(copy, len);
	ok(all_unavail(), "hostile file (gids out of range): UNAVAIL");

	memcpy(copy, img, len);
	copy[strings + strings_size - 1] = 'x';
	reseal(copy, len);
	install_image(copy, len);
	ok(all_unavail(), "hostile file (unterminated strings): UNAVAIL");

	/* A name turned into one with ':' (the passwd separator). */
	memcpy(copy, img, len);
	for (i = strings; i + 9 < strings + strings_size; i++) {
		if (memcmp(copy + i, "sso-alice", 9) == 0)
			copy[i + 3] = ':';
	}
	reseal(copy, len);
	install_image(copy, len);
	ok(all_unavail(), "hostile file (':' in a name): UNAVAIL");

	unlink(db_path);
	ok(symlink("/etc/passwd", db_path) == 0, "a symlink at the path");
	ok(all_unavail(), "symlink: UNAVAIL (never followed)");
	unlink(db_path);
	ok(mkdir(db_path, 0755) == 0 && all_unavail(),
	    "a directory at the path: UNAVAIL");
	rmdir(db_path);
	install_image("", 0);
	ok(all_unavail(), "an empty file: UNAVAIL");
	ok(install_standard(0) == 0 && stat(db_path, &st) == 0,
	    "a good file again");
	{
		struct passwd pw;
		char buf[512];
		int err;

		is_int(mod.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err),
		    NSS_STATUS_SUCCESS, "and lookups work again at once");
	}
	free(copy);
	free(image);
}

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_fds_and_speed(void)
{
	struct passwd pw;
	char buf[512];
	struct timespec a, b;
	int before, after, err, i;
	double us;

	before = count_fds();
	for (i = 0; i < 1000; i++) {
		mod.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err);
		mod.getpwuid(uid_alice, &pw, buf, sizeof(buf), &err);
	}
	install_standard(0);
	mod.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err);
	after = count_fds();
	is_int(after, before, "no descriptor left open by lookups or remaps");

	unlink(db_path);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 10000; i++)
		mod.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 /
	    10000;
	ok(us < 200, "missing file: NOTFOUND in %.2f us per lookup", us);
	install_standard(0);
}

/* The installed build reads only its fixed path. */
static void
test_installed_build(const char *build)
{
	struct module inst;
	struct passwd pw;
	struct stat st;
	char path[4096], buf[512];
	int err = 0;
	enum nss_status s;

	snprintf(path, sizeof(path), "%s/libnss_hoop.so.2", build);
	if (load_module(&inst, path) == -1) {
		ok(0, "load %s", path);
		return;
	}
	if (stat(HOOP_NSSDB_PATH, &st) == 0) {
		ok(1, "# SKIP %s exists on this host", HOOP_NSSDB_PATH);
	} else {
		s = inst.getpwnam("sso-alice", &pw, buf, sizeof(buf), &err);
		ok(s == NSS_STATUS_NOTFOUND, "the installed build ignores the "
		    "test file (reads %s only)", HOOP_NSSDB_PATH);
	}
	dlclose(inst.handle);
}

int
main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : getenv("HOOP_BUILD");
	char path[4096];

	if (build == NULL)
		build = "build";
	snprintf(path, sizeof(path), "%s/tests/nss/libnss_hoop.so.2", build);
	snprintf(db_path, sizeof(db_path), "%s/tests/nss/passwd.db", build);
	now = (int64_t)time(NULL);
	uid_alice = hoop_nssdb_login_uid("sso-alice", UID_MIN, UID_MAX);
	uid_old = hoop_nssdb_login_uid("sso-old", UID_MIN, UID_MAX);
	uid_deploy = hoop_nssdb_login_uid("deploy", UID_MIN, UID_MAX);
	uid_bob = hoop_nssdb_login_uid("sso-bob", UID_MIN, UID_MAX);
	if (load_module(&mod, path) == -1) {
		ok(0, "load the test build of the module");
		return done_testing();
	}
	ok(1, "loaded %s", path);
	test_missing();
	test_names();
	test_uids();
	test_groups();
	test_buffers();
	test_enumeration();
	test_threads();
	test_corrupt();
	test_fds_and_speed();
	test_installed_build(build);
	unlink(db_path);
	dlclose(mod.handle);
	return done_testing();
}
