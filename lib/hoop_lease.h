/*
 * Leases: a login name held by a principal, with its uid, until it
 * expires. One live lease per login and per uid (the store's unique
 * indexes); concurrent sessions of one login share its lease.
 *
 * A lease ends in two steps, so that a uid is never handed to a new
 * name while processes of the old one may still run: hoopctl gc marks
 * it end_reason 'reaping' (still live: the uid stays taken, the login
 * cannot rejoin it), kills the uid's processes and removes the home,
 * then sets ended_at.
 */
#ifndef HOOP_LEASE_H
#define HOOP_LEASE_H

#include <stdint.h>
#include <stdio.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_store.h"

struct hoop_lease_request {
	const char *login;
	uint32_t uid;			/* what getpwnam(login) answered */
	const char *identity;
	const char *issuer;
	const char *subject;
	const char *claims_digest;
	const char *groups;		/* the principal's groups, "a,b"; or NULL */
	int64_t expires_at;
	int64_t now;
};

struct hoop_lease_grant {
	int64_t lease_id;
	int created;			/* 1: new lease; 0: joined the live one */
	char reason[256];		/* on refusal: a line for the log */
};

/* The uid hoop gives login (hoop_nssdb_login_uid over the configured
 * range). */
uint32_t hoop_lease_uid(const hoop_config_t *cfg, const char *login);

/*
 * Records the lease of req->login, or joins the live one (its expiry
 * becomes the later of the two; its groups, the groups both hold, so a
 * session never gains groups another session's token brought).
 * Runs inside the caller's transaction if there is one (so the session
 * row can go in with it), else in its own. Refusals, with grant->reason:
 *  HOOP_ERR_UID_TAKEN   "uid N of NAME already leased to OTHER" (another
 *                       live lease, maybe expired and not yet reaped) or
 *                       "... belongs to local user OTHER" (getpwuid)
 *  HOOP_ERR_INVAL       req->uid is not the uid hoop gives the name (a
 *                       local account of that name shadows it), or
 *                       outside uid_min..uid_max, or a bad name
 *  HOOP_ERR_STORE_BUSY  the login's expired lease is being reaped
 */
hoop_err_t hoop_lease_acquire(hoop_store_t *store, const hoop_config_t *cfg,
    const struct hoop_lease_request *req, struct hoop_lease_grant *grant);

enum hoop_lease_format {
	HOOP_LEASE_TEXT,
	HOOP_LEASE_JSON_LINES,
};

#define HOOP_LEASE_LIST_ALL 0x1u	/* ended leases too */

/* Lists leases (live ones unless HOOP_LEASE_LIST_ALL), oldest first. */
hoop_err_t hoop_lease_list(hoop_store_t *store, unsigned flags,
    enum hoop_lease_format format, int64_t now, FILE *out);

struct hoop_gc_stats {
	unsigned expired;		/* leases found expired */
	unsigned ended;			/* reaped and ended */
	unsigned failed;		/* left 'reaping' for the next run */
	unsigned killed;		/* processes killed */
	unsigned orphans;		/* session rows whose recorder died */
};

/*
 * Ends the leases that expired at or before now: kills the processes of
 * each uid, removes the home under the configured home base (if it is a
 * directory owned by the uid), ends the lease and closes its session
 * rows, with an audit event for each lease (principal: the login; actor
 * in the detail). Never touches a uid outside uid_min..uid_max: such a
 * lease is ended with nothing killed and an error event. A lease whose
 * processes or home could not be removed stays 'reaping' (its uid
 * taken) for the next run. Then regenerates the nss_hoop file at
 * nssdb_path (unless NULL). Also closes the rows of the
 * sessions whose recorder (hoop-shell) was killed ('recorder gone').
 * Needs root.
 */
hoop_err_t hoop_lease_gc(const hoop_config_t *cfg, hoop_store_t *store,
    const char *nssdb_path, int64_t now, const char *actor,
    struct hoop_gc_stats *stats);

#endif
