/* nss_hoop: ephemeral users for the bastion.
 *
 * This version has the module's entry points only; the lease data reader
 * lands next (docs/STATUS.md). Until then every name, uid and gid is
 * unknown here, which is the safe answer: nothing resolves, nothing logs
 * in through it. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

enum nss_status
_nss_hoop_getpwnam_r(const char *name, struct passwd *pw, char *buf,
    size_t buflen, int *errnop)
{
	(void)name; (void)pw; (void)buf; (void)buflen;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status
_nss_hoop_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	(void)uid; (void)pw; (void)buf; (void)buflen;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status
_nss_hoop_setpwent(int stayopen)
{
	(void)stayopen;
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_hoop_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	(void)pw; (void)buf; (void)buflen;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status
_nss_hoop_endpwent(void)
{
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_hoop_getgrnam_r(const char *name, struct group *gr, char *buf,
    size_t buflen, int *errnop)
{
	(void)name; (void)gr; (void)buf; (void)buflen;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status
_nss_hoop_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
    int *errnop)
{
	(void)gid; (void)gr; (void)buf; (void)buflen;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status
_nss_hoop_initgroups_dyn(const char *user, gid_t group, long *start,
    long *size, gid_t **groups, long limit, int *errnop)
{
	(void)user; (void)group; (void)start; (void)size; (void)groups;
	(void)limit;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}
