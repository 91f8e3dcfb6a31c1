/*
 * Policy decisions: which rules of hoop.conf apply to a principal, and
 * what they say about one operation. Components describe the operation
 * (a matcher over the rules of their kind); this module picks the
 * policies and combines the rules: deny wins over approve, approve over
 * allow, and an operation no rule allows is refused.
 */
#ifndef HOOP_POLICY_H
#define HOOP_POLICY_H

#include <stddef.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_store.h"

/* Who is asking: always from the store (the live lease of the kernel's
 * uid), never from the environment or arguments. */
struct hoop_principal {
	char login[64];
	unsigned uid;
	long long lease_id;
	long long expires_at;		/* the lease's end (unix seconds) */
	const struct hoop_identity *identity;
	char subject[256];
	char issuer[64];		/* issuer name in hoop.conf */
	/* Groups the principal holds: the lease's groups ("a,b"), split. */
	char groups_buf[1024];
	const char *groups[64];
	size_t n_groups;
};

/*
 * Fills *p from the live lease of uid (ended_at NULL, not reaping, not
 * expired at now) and the identity it names, which must still exist and
 * not be disabled. HOOP_ERR_NOTFOUND: no live lease for uid (the caller
 * refuses); HOOP_ERR_DENIED: the identity is gone or disabled.
 */
hoop_err_t hoop_policy_principal(hoop_store_t *store,
    const hoop_config_t *cfg, unsigned uid, long long now,
    struct hoop_principal *p);

/* Does the principal hold group (one of its groups, exactly)? */
int hoop_principal_in_group(const struct hoop_principal *p,
    const char *group);

/* Does the policy apply to the principal (its identity is listed, or it
 * holds one of the policy's groups)? And to target (NULL: any)? */
int hoop_policy_applies(const struct hoop_policy *pol,
    const struct hoop_principal *p, const char *target);

/* Says whether rule (of the kind asked for) matches the operation. */
typedef int (*hoop_policy_match_fn)(const struct hoop_rule *rule, void *arg);

struct hoop_decision {
	enum hoop_rule_action action;	/* DENY when nothing matched */
	const struct hoop_policy *policy;	/* NULL: no rule matched */
	const struct hoop_rule *rule;
	char reason[256];		/* for the user and the audit event */
};

/*
 * Decides one operation: every rule of kind in every policy that applies
 * to p and target (NULL: the policy's targets are not considered, as for
 * shell commands) is asked through match; the strongest matching action
 * wins (deny > approve > allow; on a tie, the first in file order), and
 * nothing matching is a deny with reason "no rule allows it".
 */
void hoop_policy_decide(const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target,
    enum hoop_rule_kind kind, hoop_policy_match_fn match, void *arg,
    struct hoop_decision *d);

/* Is target reachable at all by p (some applying policy lists it)? */
int hoop_policy_target_allowed(const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target);

#endif
