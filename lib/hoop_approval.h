/*
 * Just-in-time approvals: the one service hoop-shell, hoop-pgwrap and
 * hoop-kubewrap call when a rule says "approve", and hoopctl's approver
 * commands. A caller only describes its operation (struct
 * hoop_approval_op); this module keeps the requests in the store, checks
 * who may decide, wakes waiters, announces requests and decisions
 * (lib/notify.c), and records every step as an audit event (kind
 * "approval"; actions requested, notified, voted, approved, denied,
 * expired, cancelled, used; the request id in the detail).
 *
 * What an approval covers is the rule's approval_covers, fixed when the
 * request is made:
 *  - once: the operation with this exact fingerprint, for this principal,
 *    target and rule, used once; it must be used within approval_timeout
 *    of the approval (a CI job that failed at once with the request id
 *    runs again and passes);
 *  - grant: every operation of this principal on this target under this
 *    rule, until approval_grant after the approval.
 * Who may approve is fixed at request time too (a snapshot of the rule's
 * approvers, approvals_required and approval_mode): a later change of
 * hoop.conf never changes what a request needs.
 *
 * Times are unix seconds from the service's clock (time() unless
 * replaced, for tests). A service is used by one thread.
 */
#ifndef HOOP_APPROVAL_H
#define HOOP_APPROVAL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_policy.h"
#include "hoop_store.h"

#define HOOP_APPROVAL_ID_LEN 12		/* 60 random bits, a-z and 2-9 */
#define HOOP_APPROVAL_MAX_REQUEST (32 * 1024)
#define HOOP_APPROVAL_MAX_FINGERPRINT 128
#define HOOP_APPROVAL_MAX_REASON 1024

typedef struct hoop_approval hoop_approval_t;

enum hoop_approval_status {
	HOOP_APPROVAL_PENDING,
	HOOP_APPROVAL_APPROVED,
	HOOP_APPROVAL_DENIED,
	HOOP_APPROVAL_EXPIRED,
	HOOP_APPROVAL_CANCELLED,
	HOOP_APPROVAL_USED,		/* a once-approval already used */
};

const char *hoop_approval_status_name(enum hoop_approval_status status);

/* What needs approval. Strings are copied; the rule is read only during
 * the call. */
struct hoop_approval_op {
	const char *session_id;		/* the requester's session, or NULL */
	const char *target;		/* target name, or NULL (shell) */
	/* The exact statement or request, shown to approvers (invalid
	 * UTF-8 is shown as '?'); at most HOOP_APPROVAL_MAX_REQUEST. */
	const char *request;
	/* What a once-approval is bound to: a digest of the normalised
	 * operation (printable ASCII, 1 to 128 characters). */
	const char *fingerprint;
	const struct hoop_policy *policy;	/* the rule's policy, or NULL */
	const struct hoop_rule *rule;	/* action approve; its kind is the
					 * request's kind */
};

struct hoop_approval_result {
	char id[HOOP_APPROVAL_ID_LEN + 1];
	enum hoop_approval_status status;
	int reused;		/* an earlier request: an approval that covers
				 * the operation, or the same one pending */
	int64_t expires_at;	/* pending: when it expires */
	int64_t valid_until;	/* approved: when the approval stops covering */
	unsigned votes;		/* approvals counted toward needed */
	unsigned needed;
	char approvers[512];	/* the approver groups, "a, b" */
	char mode[4];		/* any, all */
	long required;		/* approvals_required */
	char decided_by[512];	/* approvers (or the denier), "a, b" */
	char reason[HOOP_APPROVAL_MAX_REASON + 64];	/* denied, expired... */
};

typedef int64_t (*hoop_approval_clock_fn)(void *arg);

hoop_err_t hoop_approval_create(hoop_store_t *store, const hoop_config_t *cfg,
    hoop_approval_t **out);
/* Waits for notifications still being sent (each bounded by its timeout,
 * sent by threads of the service): call it before exec or exit, or they
 * are lost. */
void hoop_approval_free(hoop_approval_t *svc);
/* For tests: the clock that decides expiry and grant ends. */
void hoop_approval_set_clock(hoop_approval_t *svc, hoop_approval_clock_fn fn,
    void *arg);

/*
 * Asks for approval of op by p. If an approval covers it already (a grant
 * for p, the target and the rule that has not ended; or an unused
 * once-approval of exactly this fingerprint, which is marked used here,
 * atomically), res->status is APPROVED and res->reused 1. If the same
 * operation is already pending, res gives that request (reused 1).
 * Otherwise a new pending request (res->id, res->expires_at), announced
 * to the notify sinks. HOOP_ERR_INVAL: a bad op (not an approve rule, a
 * bad fingerprint...); HOOP_ERR_TOOBIG: request text too long.
 */
hoop_err_t hoop_approval_request(hoop_approval_t *svc,
    const struct hoop_principal *p, const struct hoop_approval_op *op,
    struct hoop_approval_result *res);

struct hoop_approval_progress {
	const char *id;
	long elapsed;		/* seconds since the wait began */
	long remaining;		/* seconds until the request expires */
	unsigned votes, needed;
};

struct hoop_approval_wait_opts {
	/* Cancels the request when set (a SIGINT handler's flag), or NULL. */
	volatile sig_atomic_t *cancel_flag;
	/* Cancels the request when it returns non-zero, or NULL. */
	int (*cancelled)(void *arg);
	/* Called about once a second while waiting, or NULL. */
	void (*progress)(void *arg, const struct hoop_approval_progress *pr);
	void *arg;
	/* Stop waiting after this many seconds with status PENDING (the
	 * request stays, for a later run); 0: until decided or expired. */
	long max_wait;
};

/*
 * Waits until request id of p is decided, expires or is cancelled. Wakes
 * on changes to the store's files (inotify), with a slow safety poll.
 * res->status: APPROVED (a once-approval is now used; a grant is valid
 * until res->valid_until), DENIED (res->reason, res->decided_by),
 * EXPIRED, CANCELLED, USED (another run used it first), or PENDING
 * (max_wait reached). HOOP_ERR_NOTFOUND: no such request of p.
 */
hoop_err_t hoop_approval_wait(hoop_approval_t *svc,
    const struct hoop_principal *p, const char *id,
    const struct hoop_approval_wait_opts *opts,
    struct hoop_approval_result *res);

/* Cancels p's pending request id (res->status is then CANCELLED, or what
 * the request had become). */
hoop_err_t hoop_approval_cancel(hoop_approval_t *svc,
    const struct hoop_principal *p, const char *id,
    struct hoop_approval_result *res);

/*
 * One vote of approver on request id. Refused (HOOP_ERR_DENIED, why says
 * it) when the approver is the requester (same login, or same issuer and
 * subject), holds none of the request's approver groups, has voted on it
 * already, or the request is no longer pending or has expired. A deny
 * (reason required) denies the request; approvals decide it when
 * approvals_required distinct approvers agreed (mode all: that many from
 * each approver group; an approver counts for every group they hold).
 * res->status is the request's status after the vote.
 */
hoop_err_t hoop_approval_decide(hoop_approval_t *svc,
    const struct hoop_principal *approver, const char *id, int approve,
    const char *reason, struct hoop_approval_result *res, char *why,
    size_t whylen);

/* Marks pending requests past their time expired (also done lazily by
 * every other call); *count (if not NULL) gets how many. */
hoop_err_t hoop_approval_expire(hoop_approval_t *svc, unsigned *count);

#define HOOP_APPROVAL_LIST_ALL 0x1u	/* every status and every request
					 * the viewer may see */

/*
 * Lists requests as text, newest first. viewer NULL (root) sees every
 * request; a principal sees its own requests and those it holds an
 * approver group of. Without HOOP_APPROVAL_LIST_ALL: pending requests the
 * viewer may still decide (all pending ones for NULL).
 */
hoop_err_t hoop_approval_list(hoop_approval_t *svc,
    const struct hoop_principal *viewer, unsigned flags, FILE *out);
/* Everything about request id (principal, session, target, the exact
 * request, the rule, times, votes); HOOP_ERR_NOTFOUND when there is no
 * such request the viewer may see. */
hoop_err_t hoop_approval_show(hoop_approval_t *svc,
    const struct hoop_principal *viewer, const char *id, FILE *out);

/* Is id well formed (HOOP_APPROVAL_ID_LEN characters of the alphabet)? */
int hoop_approval_id_valid(const char *id);

/*
 * The whole flow for a wrapper: request; if pending, tell the user on out
 * (the id, who may approve) and, unless wait_limit < 0 (fail at once
 * with the id, for CI: a run after the approval passes), wait up to
 * wait_limit seconds (0: until the request expires) with a live spinner
 * when out is a terminal, a line every 10 s otherwise. SIGINT cancels
 * the request while waiting (the caller's handler is restored after).
 * Prints the outcome. HOOP_OK: the operation may run now; otherwise
 * HOOP_ERR_DENIED (res->status says why), or the error met.
 */
/* The wait_limit for hoop_approval_obtain: interactive callers wait until
 * the request is decided or expires (0); others follow the client's
 * HOOP_APPROVAL_WAIT (a duration; 0 fails at once with the request id,
 * so that a run after the approval passes: -1), else wait (0). */
long hoop_approval_wait_limit(int interactive);

hoop_err_t hoop_approval_obtain(hoop_approval_t *svc,
    const struct hoop_principal *p, const struct hoop_approval_op *op,
    long wait_limit, FILE *out, struct hoop_approval_result *res);

#endif
