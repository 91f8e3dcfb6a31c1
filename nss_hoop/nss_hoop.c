/* nss_hoop: ephemeral users for the bastion.
 *
 *   passwd: files hoop
 *   group:  files hoop
 *
 * Answers from one world-readable file (hoop_nssdb.h), at a path fixed
 * when the module is built: nothing in the environment or in the calling
 * process can point it elsewhere. The file is mapped read-only once per
 * change and shared by every thread; each lookup checks with one lstat()
 * that it is still the current file.
 *
 * Rules for code in here: it runs inside every process on the host, as
 * any user, from any thread. No NSS calls (no recursion into ourselves),
 * no logging, no writes, every descriptor O_CLOEXEC and closed before
 * returning, never a byte past the caller's buffer.
 */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "hoop_nssdb.h"

/* The mapped file, shared by all threads; freed when the last user lets
 * go of it after a newer file replaced it. */
struct mapping {
	hoop_nssdb_t	*db;
	struct stat	 st;
	unsigned	 refs;
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *current;

/* Enumeration state (getpwent); glibc serialises these calls already,
 * the lock makes that not matter. */
static pthread_mutex_t ent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *ent_map;
static size_t ent_index;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork while another thread holds a lock would leave the child's copy
 * locked forever: take them around fork. */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&ent_lock);
	pthread_mutex_lock(&map_lock);
}

static void
fork_done(void)
{
	pthread_mutex_unlock(&map_lock);
	pthread_mutex_unlock(&ent_lock);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(fork_prepare, fork_done, fork_done);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
mapping_put(struct mapping *m)
{
	int last;

	if (m == NULL)
		return;
	pthread_mutex_lock(&map_lock);
	last = --m->refs == 0;
	pthread_mutex_unlock(&map_lock);
	if (last) {
		hoop_nssdb_free(m->db);
		free(m);
	}
}

/* Replaces the cached mapping (NULL: none); drops the cache's hold. */
static void
mapping_install(struct mapping *m)
{
	struct mapping *old;

	pthread_mutex_lock(&map_lock);
	old = current;
	current = m;
	if (m != NULL)
		m->refs++;
	pthread_mutex_unlock(&map_lock);
	mapping_put(old);
}

/* The current file, held for the caller (mapping_put when done).
 * NOTFOUND: no file. UNAVAIL: a file we cannot use. */
static enum nss_status
mapping_get(struct mapping **out, int *errnop)
{
	struct mapping *m = NULL;
	struct stat st;
	hoop_err_t err;

	*out = NULL;
	(void)pthread_once(&atfork_once, register_atfork);
	if (lstat(HOOP_NSSDB_PATH, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR) {
			mapping_install(NULL);
			*errnop = ENOENT;
			return NSS_STATUS_NOTFOUND;
		}
		*errnop = errno;
		return NSS_STATUS_UNAVAIL;
	}
	pthread_mutex_lock(&map_lock);
	if (current != NULL && same_file(&current->st, &st)) {
		current->refs++;
		*out = current;
	}
	pthread_mutex_unlock(&map_lock);
	if (*out != NULL)
		return NSS_STATUS_SUCCESS;

	/* A new file: map and check it outside the lock. Two threads may
	 * both do so; the later install wins, both views are valid. */
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	}
	err = hoop_nssdb_open_file(HOOP_NSSDB_PATH, &m->db, &m->st);
	if (err != HOOP_OK) {
		free(m);
		if (err == HOOP_ERR_NOTFOUND) {
			mapping_install(NULL);
			*errnop = ENOENT;
			return NSS_STATUS_NOTFOUND;
		}
		if (err == HOOP_ERR_NOMEM) {
			*errnop = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
		*errnop = err == HOOP_ERR_PERM ? EACCES : EIO;
		return NSS_STATUS_UNAVAIL;
	}
	m->refs = 1;
	mapping_install(m);
	*out = m;
	return NSS_STATUS_SUCCESS;
}

/* Carves strings out of the caller's buffer. */
struct arena {
	char	*p;
	size_t	 left;
};

static char *
arena_str(struct arena *a, const char *s1, const char *s2, const char *s3)
{
	size_t n1 = strlen(s1), n2 = s2 ? strlen(s2) : 0,
	    n3 = s3 ? strlen(s3) : 0;
	char *p = a->p;

	if (n1 + n2 + n3 + 1 > a->left)
		return NULL;
	memcpy(p, s1, n1);
	if (n2 > 0)
		memcpy(p + n1, s2, n2);
	if (n3 > 0)
		memcpy(p + n1 + n2, s3, n3);
	p[n1 + n2 + n3] = '\0';
	a->p += n1 + n2 + n3 + 1;
	a->left -= n1 + n2 + n3 + 1;
	return p;
}

static enum nss_status
erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

static enum nss_status
fill_passwd(const struct hoop_nssdb_user *u, struct passwd *pw, char *buf,
    size_t buflen, int *errnop)
{
	struct arena a = { buf, buflen };
	int home = (u->flags & HOOP_NSSDB_HOME) != 0;

	if ((pw->pw_name = arena_str(&a, u->name, NULL, NULL)) == NULL ||
	    (pw->pw_passwd = arena_str(&a, "*", NULL, NULL)) == NULL ||
	    (pw->pw_gecos = arena_str(&a, u->gecos, NULL, NULL)) == NULL ||
	    (pw->pw_dir = home ? arena_str(&a, u->home_base, "/", u->name) :
	    arena_str(&a, "/", NULL, NULL)) == NULL ||
	    (pw->pw_shell = arena_str(&a, u->shell, NULL, NULL)) == NULL)
		return erange(errnop);
	pw->pw_uid = (uid_t)u->uid;
	pw->pw_gid = (gid_t)u->uid;
	return NSS_STATUS_SUCCESS;
}

/* The user's own group: gid == uid, name == login, no members. */
static enum nss_status
fill_group(const struct hoop_nssdb_user *u, struct group *gr, char *buf,
    size_t buflen, int *errnop)
{
	uintptr_t addr = (uintptr_t)buf;
	size_t pad = (sizeof(char *) - addr % sizeof(char *)) %
	    sizeof(char *);
	struct arena a;
	char **mem;

	/* The member list (one NULL) first, aligned for char *. */
	if (buflen < pad + sizeof(char *))
		return erange(errnop);
	mem = (char **)(void *)(buf + pad);
	mem[0] = NULL;
	a.p = buf + pad + sizeof(char *);
	a.left = buflen - pad - sizeof(char *);
	if ((gr->gr_name = arena_str(&a, u->name, NULL, NULL)) == NULL ||
	    (gr->gr_passwd = arena_str(&a, "*", NULL, NULL)) == NULL)
		return erange(errnop);
	gr->gr_gid = (gid_t)u->uid;
	gr->gr_mem = mem;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status
notfound(int *errnop)
{
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

/* One lookup, by name (name not NULL) or by uid/gid, filled in as a
 * passwd entry (pw not NULL) or a group entry while the mapping is held,
 * since the strings live in it. A name hoop could never give, or an id
 * below the floor, is answered without any file access. */
static enum nss_status
lookup(const char *name, uint32_t id, struct passwd *pw, struct group *gr,
    char *buf, size_t buflen, int *errnop)
{
	struct hoop_nssdb_user u;
	struct mapping *m;
	enum nss_status ret;
	hoop_err_t found;
	int64_t now = (int64_t)time(NULL);

	if (name != NULL ? !hoop_nssdb_valid_name(name) :
	    id < HOOP_NSSDB_UID_FLOOR)
		return notfound(errnop);
	if ((ret = mapping_get(&m, errnop)) != NSS_STATUS_SUCCESS)
		return ret;
	found = name != NULL ? hoop_nssdb_by_name(m->db, name, now, &u) :
	    hoop_nssdb_by_uid(m->db, id, now, &u);
	if (found != HOOP_OK)
		ret = notfound(errnop);
	else if (pw != NULL)
		ret = fill_passwd(&u, pw, buf, buflen, errnop);
	else
		ret = fill_group(&u, gr, buf, buflen, errnop);
	mapping_put(m);
	return ret;
}

enum nss_status
_nss_hoop_getpwnam_r(const char *name, struct passwd *pw, char *buf,
    size_t buflen, int *errnop)
{
	if (name == NULL)
		return notfound(errnop);
	return lookup(name, 0, pw, NULL, buf, buflen, errnop);
}

enum nss_status
_nss_hoop_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	return lookup(NULL, (uint32_t)uid, pw, NULL, buf, buflen, errnop);
}

enum nss_status
_nss_hoop_setpwent(int stayopen)
{
	struct mapping *m = NULL, *old;
	int err;

	(void)stayopen;
	/* Enumeration is off unless the file says otherwise. */
	if (mapping_get(&m, &err) == NSS_STATUS_SUCCESS &&
	    !hoop_nssdb_enumerable(m->db)) {
		mapping_put(m);
		m = NULL;
	}
	pthread_mutex_lock(&ent_lock);
	old = ent_map;
	ent_map = m;
	ent_index = 0;
	pthread_mutex_unlock(&ent_lock);
	mapping_put(old);
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_hoop_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	struct hoop_nssdb_user u;
	enum nss_status ret = NSS_STATUS_NOTFOUND;
	int64_t now = (int64_t)time(NULL);

	*errnop = ENOENT;
	pthread_mutex_lock(&ent_lock);
	while (ent_map != NULL && ent_index < hoop_nssdb_count(ent_map->db)) {
		if (hoop_nssdb_lease_at(ent_map->db, ent_index, now, &u) !=
		    HOOP_OK) {
			ent_index++;
			continue;
		}
		/* On ERANGE the same entry comes again with a larger
		 * buffer. */
		if ((ret = fill_passwd(&u, pw, buf, buflen, errnop)) ==
		    NSS_STATUS_SUCCESS)
			ent_index++;
		break;
	}
	pthread_mutex_unlock(&ent_lock);
	return ret;
}

enum nss_status
_nss_hoop_endpwent(void)
{
	struct mapping *old;

	pthread_mutex_lock(&ent_lock);
	old = ent_map;
	ent_map = NULL;
	ent_index = 0;
	pthread_mutex_unlock(&ent_lock);
	mapping_put(old);
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_hoop_getgrnam_r(const char *name, struct group *gr, char *buf,
    size_t buflen, int *errnop)
{
	if (name == NULL)
		return notfound(errnop);
	return lookup(name, 0, NULL, gr, buf, buflen, errnop);
}

enum nss_status
_nss_hoop_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
    int *errnop)
{
	return lookup(NULL, (uint32_t)gid, NULL, gr, buf, buflen, errnop);
}

/* The lease's local supplementary groups, appended to *groups (which
 * glibc lets us grow with realloc, up to limit if limit > 0). */
enum nss_status
_nss_hoop_initgroups_dyn(const char *user, gid_t group, long *start,
    long *size, gid_t **groups, long limit, int *errnop)
{
	struct hoop_nssdb_user u;
	struct mapping *m;
	enum nss_status ret;
	gid_t gid, *grown;
	long j, newsize;
	size_t i;

	if (user == NULL || !hoop_nssdb_valid_name(user))
		return notfound(errnop);
	if ((ret = mapping_get(&m, errnop)) != NSS_STATUS_SUCCESS)
		return ret;
	if (hoop_nssdb_by_name(m->db, user, (int64_t)time(NULL), &u) !=
	    HOOP_OK || !(u.flags & HOOP_NSSDB_LEASE)) {
		ret = notfound(errnop);
		goto out;
	}
	ret = NSS_STATUS_SUCCESS;
	for (i = 0; i < u.n_groups; i++) {
		gid = (gid_t)hoop_nssdb_user_group(&u, i);
		if (gid == group)
			continue;
		for (j = 0; j < *start && (*groups)[j] != gid; j++)
			;
		if (j < *start)
			continue;
		if (*start == *size) {
			if (limit > 0 && *size >= limit)
				break;
			newsize = *size > 0 ? 2 * *size : 16;
			if (limit > 0 && newsize > limit)
				newsize = limit;
			if ((size_t)newsize > SIZE_MAX / sizeof(gid_t) ||
			    (grown = realloc(*groups, (size_t)newsize *
			    sizeof(gid_t))) == NULL) {
				*errnop = ENOMEM;
				ret = NSS_STATUS_TRYAGAIN;
				break;
			}
			*groups = grown;
			*size = newsize;
		}
		(*groups)[(*start)++] = gid;
	}
out:
	mapping_put(m);
	return ret;
}
