/* Policy decisions over hoop.conf's policies (see hoop_policy.h). */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "hoop_policy.h"
#include "store_internal.h"

static void
copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src != NULL ? (const char *)src : "");
}

/* Splits "a,b,c" in place into p->groups; empty names are skipped, and
 * groups past the array's room are dropped (fewer groups: fewer rights). */
static void
split_groups(struct hoop_principal *p)
{
	char *s = p->groups_buf, *comma;

	p->n_groups = 0;
	while (s != NULL && *s != '\0' &&
	    p->n_groups < sizeof(p->groups) / sizeof(p->groups[0])) {
		if ((comma = strchr(s, ',')) != NULL)
			*comma++ = '\0';
		if (*s != '\0')
			p->groups[p->n_groups++] = s;
		s = comma;
	}
}

/* The lease's groups into p->groups_buf. Past its room only whole names
 * are kept: a name cut short could be another group's ("sre-oncall" cut
 * to "sre"), a right the principal never had. */
static void
copy_groups(struct hoop_principal *p, const unsigned char *src)
{
	const char *text = src != NULL ? (const char *)src : "";
	size_t size = sizeof(p->groups_buf);
	char *comma;

	copy_text(p->groups_buf, size, src);
	if (strlen(text) >= size) {
		/* The cut fell inside a name unless a comma follows it. */
		if (text[size - 1] != ',') {
			comma = strrchr(p->groups_buf, ',');
			if (comma != NULL)
				*comma = '\0';
			else
				p->groups_buf[0] = '\0';
		}
	}
	split_groups(p);
}

hoop_err_t
hoop_policy_principal(hoop_store_t *store, const hoop_config_t *cfg,
    unsigned uid, long long now, struct hoop_principal *p)
{
	sqlite3 *db = hoop_store_db(store);
	sqlite3_stmt *st = NULL;
	const struct hoop_identity *id;
	hoop_err_t ret = HOOP_ERR_STORE;
	int rc;

	memset(p, 0, sizeof(*p));
	/* A lease being reaped, or past its end, no longer speaks for
	 * anyone: gc may not have run yet. */
	if (sqlite3_prepare_v2(db, "SELECT id, login, identity, issuer, "
	    "subject, groups, expires_at FROM leases WHERE uid = ? AND "
	    "ended_at IS NULL AND end_reason IS NULL AND expires_at > ?",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, now);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		ret = HOOP_ERR_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = hoop_store_err(rc);
		goto out;
	}
	p->uid = uid;
	p->lease_id = sqlite3_column_int64(st, 0);
	p->expires_at = sqlite3_column_int64(st, 6);
	copy_text(p->login, sizeof(p->login), sqlite3_column_text(st, 1));
	copy_text(p->issuer, sizeof(p->issuer), sqlite3_column_text(st, 3));
	copy_text(p->subject, sizeof(p->subject), sqlite3_column_text(st, 4));
	copy_groups(p, sqlite3_column_text(st, 5));
	id = hoop_config_identity(cfg, (const char *)sqlite3_column_text(st, 2));
	if (id == NULL || id->disabled) {
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	p->identity = id;
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	if (ret != HOOP_OK)
		p->identity = NULL;
	return ret;
}

int
hoop_principal_in_group(const struct hoop_principal *p, const char *group)
{
	size_t i;

	for (i = 0; i < p->n_groups; i++)
		if (strcmp(p->groups[i], group) == 0)
			return 1;
	return 0;
}

int
hoop_policy_applies(const struct hoop_policy *pol,
    const struct hoop_principal *p, const char *target)
{
	size_t i;
	int who = 0, where = target == NULL;

	if (p->identity == NULL)
		return 0;
	for (i = 0; i < pol->n_identities && !who; i++)
		who = pol->identities[i] == p->identity;
	for (i = 0; i < pol->n_groups && !who; i++)
		who = hoop_principal_in_group(p, pol->groups[i]);
	for (i = 0; i < pol->n_targets && !where; i++)
		where = strcmp(pol->targets[i]->name, target) == 0;
	return who && where;
}

static int
strength(enum hoop_rule_action action)
{
	switch (action) {
	case HOOP_ACTION_DENY:
		return 3;
	case HOOP_ACTION_APPROVE:
		return 2;
	case HOOP_ACTION_ALLOW:
		return 1;
	}
	return 3;
}

void
hoop_policy_decide(const hoop_config_t *cfg, const struct hoop_principal *p,
    const char *target, enum hoop_rule_kind kind, hoop_policy_match_fn match,
    void *arg, struct hoop_decision *d)
{
	const struct hoop_policy *pol;
	const struct hoop_rule *rule;
	size_t i, j;
	int best = 0;

	memset(d, 0, sizeof(*d));
	d->action = HOOP_ACTION_DENY;
	for (i = 0; i < hoop_config_policy_count(cfg); i++) {
		pol = hoop_config_policy_at(cfg, i);
		if (!hoop_policy_applies(pol, p, target))
			continue;
		for (j = 0; j < pol->n_rules; j++) {
			rule = &pol->rules[j];
			if (rule->kind != kind || strength(rule->action) <= best ||
			    !match(rule, arg))
				continue;
			best = strength(rule->action);
			d->action = rule->action;
			d->policy = pol;
			d->rule = rule;
		}
	}
	if (d->rule == NULL)
		snprintf(d->reason, sizeof(d->reason), "no rule allows it");
	else if (d->rule->reason != NULL)
		snprintf(d->reason, sizeof(d->reason), "%s", d->rule->reason);
	else
		snprintf(d->reason, sizeof(d->reason), "%s by rule %s of "
		    "policy %s", d->action == HOOP_ACTION_ALLOW ? "allowed" :
		    d->action == HOOP_ACTION_DENY ? "denied" :
		    "approval required", d->rule->name, d->policy->name);
}

int
hoop_policy_target_allowed(const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target)
{
	size_t i;

	if (target == NULL)
		return 0;
	for (i = 0; i < hoop_config_policy_count(cfg); i++)
		if (hoop_policy_applies(hoop_config_policy_at(cfg, i), p,
		    target))
			return 1;
	return 0;
}
