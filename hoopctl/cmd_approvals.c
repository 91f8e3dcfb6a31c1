/*
 * hoopctl approvals: approvers decide from their own bastion session.
 * The approver is the principal of the kernel's real uid (its live
 * lease), never an argument or the environment. Root holds no lease: it
 * may list and show every request, and approves only as a principal.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hoop_approval.h"
#include "hoop_policy.h"
#include "hoopctl.h"

static void
approvals_usage(void)
{
	fprintf(stderr, "usage: hoopctl approvals list [--all]\n"
	    "       hoopctl approvals show ID\n"
	    "       hoopctl approvals approve ID [--reason TEXT]\n"
	    "       hoopctl approvals deny ID --reason TEXT\n");
}

/* *viewer: the caller's principal, or NULL for root (sees all). */
static int
caller(struct hoopctl *ctx, const char *cmd, struct hoop_principal *p,
    const struct hoop_principal **viewer)
{
	uid_t uid = getuid();
	hoop_err_t err;

	*viewer = NULL;
	if (uid == 0)
		return 0;
	err = hoop_policy_principal(ctx->store, ctx->cfg, (unsigned)uid,
	    (long long)time(NULL), p);
	if (err == HOOP_ERR_NOTFOUND) {
		fprintf(stderr, "hoopctl: approvals %s: uid %lu has no live "
		    "hoop lease: approvers act from their own bastion "
		    "session\n", cmd, (unsigned long)uid);
		return -1;
	}
	if (err == HOOP_ERR_DENIED) {
		fprintf(stderr, "hoopctl: approvals %s: the identity of %s is "
		    "no longer configured or is disabled\n", cmd, p->login);
		return -1;
	}
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: approvals %s: %s\n", cmd,
		    hoop_strerror(err));
		return -1;
	}
	*viewer = p;
	return 0;
}

static int
approvals_list(struct hoopctl *ctx, hoop_approval_t *svc,
    const struct hoop_principal *viewer, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned flags = 0;
	hoop_err_t err;
	int ch;

	(void)ctx;
	optind = 0;	/* re-initialise getopt: main's "+" stopped at words */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'a') {
			approvals_usage();
			return 2;
		}
		flags |= HOOP_APPROVAL_LIST_ALL;
	}
	if (optind != argc) {
		approvals_usage();
		return 2;
	}
	if ((err = hoop_approval_list(svc, viewer, flags, stdout)) !=
	    HOOP_OK) {
		fprintf(stderr, "hoopctl: approvals list: %s\n",
		    hoop_strerror(err));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
approvals_show(hoop_approval_t *svc, const struct hoop_principal *viewer,
    int argc, char **argv)
{
	hoop_err_t err;

	if (argc != 2) {
		approvals_usage();
		return 2;
	}
	err = hoop_approval_show(svc, viewer, argv[1], stdout);
	if (err == HOOP_ERR_NOTFOUND) {
		fprintf(stderr, "hoopctl: approvals show: no request %.32s "
		    "that you may see\n", argv[1]);
		return 1;
	}
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: approvals show: %s\n",
		    hoop_strerror(err));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
approvals_decide(hoop_approval_t *svc, const struct hoop_principal *viewer,
    int approve, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = approve ? "approve" : "deny", *reason = NULL;
	struct hoop_approval_result res;
	char why[256] = "";
	hoop_err_t err;
	int ch;

	/* Options may follow the id: re-initialise getopt (main's "+"
	 * would stop at the id). */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r') {
			approvals_usage();
			return 2;
		}
		reason = optarg;
	}
	if (optind != argc - 1 || (!approve && reason == NULL)) {
		if (!approve && reason == NULL)
			fprintf(stderr, "hoopctl: approvals deny: --reason is "
			    "required\n");
		approvals_usage();
		return 2;
	}
	if (viewer == NULL) {
		fprintf(stderr, "hoopctl: approvals %s: root approves only as "
		    "a principal: log in to the bastion with your own identity "
		    "and decide from that session\n", cmd);
		return 1;
	}
	err = hoop_approval_decide(svc, viewer, argv[optind], approve, reason,
	    &res, why, sizeof(why));
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: approvals %s: %s\n", cmd,
		    why[0] != '\0' ? why : hoop_strerror(err));
		return 1;
	}
	if (res.status == HOOP_APPROVAL_PENDING)
		printf("vote recorded on request %s: %u of %u approvals\n",
		    res.id, res.votes, res.needed);
	else
		printf("request %s %s\n", res.id,
		    hoop_approval_status_name(res.status));
	return fflush(stdout) == 0 ? 0 : 1;
}

int
cmd_approvals(struct hoopctl *ctx, int argc, char **argv)
{
	const struct hoop_principal *viewer;
	struct hoop_principal p;
	hoop_approval_t *svc = NULL;
	const char *sub;
	hoop_err_t err;
	int ret = 1;

	if (argc < 2) {
		approvals_usage();
		return 2;
	}
	sub = argv[1];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 &&
	    strcmp(sub, "approve") != 0 && strcmp(sub, "deny") != 0) {
		approvals_usage();
		return 2;
	}
	if (hoopctl_config(ctx) || hoopctl_store(ctx, 0))
		return 1;
	if (caller(ctx, sub, &p, &viewer) == -1)
		return 1;
	if ((err = hoop_approval_create(ctx->store, ctx->cfg, &svc)) !=
	    HOOP_OK) {
		fprintf(stderr, "hoopctl: approvals: %s\n", hoop_strerror(err));
		return 1;
	}
	argc--;
	argv++;
	if (strcmp(sub, "list") == 0)
		ret = approvals_list(ctx, svc, viewer, argc, argv);
	else if (strcmp(sub, "show") == 0)
		ret = approvals_show(svc, viewer, argc, argv);
	else
		ret = approvals_decide(svc, viewer, strcmp(sub, "approve") == 0,
		    argc, argv);
	/* Waits for the notifications of a decision to go out. */
	hoop_approval_free(svc);
	return ret;
}
