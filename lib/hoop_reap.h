/* The reaper's two hands: kill every process of a uid, remove an
 * ephemeral home. hoopctl gc uses them once a lease has expired. */
#ifndef HOOP_REAP_H
#define HOOP_REAP_H

#include <stdint.h>

#include "hoop_err.h"

/* Kills every process whose real or saved uid is uid: a child that has
 * become uid (and nothing else) sends kill(-1, SIGKILL) until none is
 * left but zombies, for up to timeout_ms. Refuses uids below 1000 (and
 * so root). HOOP_ERR_PERM if we may not become uid (not root);
 * HOOP_ERR_IO if processes remain. *killed (if not NULL) is how many
 * live processes there were at the start. */
hoop_err_t hoop_reap_uid(uint32_t uid, unsigned timeout_ms,
    unsigned *killed);

/* The uids of /proc/PID (procfd: an open /proc; pid: its entry's name):
 * real, effective and saved, and its state letter. 0, or -1 when it is
 * gone or unreadable. */
int hoop_proc_ids(int procfd, const char *pid, unsigned long uids[3],
    char *state);

/* Processes (not zombies) whose real or saved uid is uid, from /proc. */
int hoop_reap_count(uint32_t uid);

enum hoop_reap_home {
	HOOP_REAP_HOME_REMOVED,
	HOOP_REAP_HOME_ABSENT,
	HOOP_REAP_HOME_NOT_OURS,	/* not a directory owned by uid: kept */
};

/* Removes home_base/login, which must be a directory owned by uid, and
 * everything in it. Never follows a symbolic link, never leaves
 * home_base/login (a mount point inside it is an error), never touches
 * what is not below it. HOOP_ERR_IO if something could not be removed. */
hoop_err_t hoop_reap_home(const char *home_base, const char *login,
    uint32_t uid, enum hoop_reap_home *result);

#endif
