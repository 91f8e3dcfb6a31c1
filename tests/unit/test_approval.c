/*
 * Just-in-time approvals: requests, decisions (self-approval, groups,
 * approvals_required in modes any and all, deny), waiting (woken by a
 * decision in another process, expiry, cancel, max_wait), what an
 * approval covers (once, for its fingerprint, used exactly once even by
 * concurrent callers; a grant that ends on time), 20 concurrent
 * requesters, listing and showing (escaping), audit events, the notify
 * configuration, signature and command hooks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hoop_approval.h"
#include "hoop_audit.h"
#include "hoop_config.h"
#include "hoop_log.h"
#include "hoop_notify.h"
#include "hoop_store.h"
#include "hoop_util.h"
#include "store_internal.h"
#include "tap.h"
#include "testdb.h"

static char dir[] = "/tmp/hoop-test-approval.XXXXXX";
static char db_path[256];
static hoop_config_t *cfg;
static hoop_store_t *store;
static hoop_approval_t *svc;
static int64_t fake_now;		/* 0: the real clock */

static const char config_text[] =
    "issuer \"sso\" {\n"
    "  url = \"https://sso.example.test\"\n"
    "  audience = {\"hoop\"}\n"
    "}\n"
    "identity \"staff\" {\n"
    "  issuer = \"sso\"\n"
    "  claim \"role\" { equals = {\"staff\"} }\n"
    "  login_template = \"sso-${user}\"\n"
    "}\n"
    "target \"db\" {\n"
    "  type = \"postgres\"\n"
    "  host = \"127.0.0.1\"\n"
    "  user = \"app\"\n"
    "}\n"
    "policy \"p\" {\n"
    "  identities = {\"staff\"}\n"
    "  targets = {\"db\"}\n"
    "  rule \"once\" { action = \"approve\" statements = {\"write\"}\n"
    "    approvers = {\"leads\"} }\n"
    "  rule \"any2\" { action = \"approve\" statements = {\"ddl\"}\n"
    "    approvers = {\"leads\", \"sec\"} approvals_required = 2 }\n"
    "  rule \"all2\" { action = \"approve\" statements = {\"dcl\"}\n"
    "    approvers = {\"leads\", \"sec\"} approvals_required = 2\n"
    "    approval_mode = \"all\" }\n"
    "  rule \"all1\" { action = \"approve\" statements = {\"admin\"}\n"
    "    approvers = {\"leads\", \"sec\"} approval_mode = \"all\" }\n"
    "  rule \"grant\" { action = \"approve\" statements = {\"copy\"}\n"
    "    approvers = {\"leads\"} approval_covers = \"grant\"\n"
    "    approval_grant = \"1h\" }\n"
    "  rule \"reads\" { action = \"allow\" statements = {\"read\"} }\n"
    "}\n";

static int64_t
test_clock(void *arg)
{
	(void)arg;
	return fake_now != 0 ? fake_now : (int64_t)time(NULL);
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Each process has its own connection: never one carried over fork. */
static int
open_all(const hoop_config_t *c)
{
	if (hoop_store_open(db_path, 0, &store) != HOOP_OK ||
	    hoop_approval_create(store, c, &svc) != HOOP_OK)
		return -1;
	hoop_approval_set_clock(svc, test_clock, NULL);
	return 0;
}

static void
close_all(void)
{
	hoop_approval_free(svc);
	hoop_store_close(store);
	svc = NULL;
	store = NULL;
}

static void
principal(struct hoop_principal *p, const char *login, const char *subject,
    const char *groups)
{
	char *s, *comma;

	memset(p, 0, sizeof(*p));
	snprintf(p->login, sizeof(p->login), "%s", login);
	snprintf(p->issuer, sizeof(p->issuer), "sso");
	snprintf(p->subject, sizeof(p->subject), "%s", subject);
	p->identity = hoop_config_identity(cfg, "staff");
	snprintf(p->groups_buf, sizeof(p->groups_buf), "%s", groups);
	for (s = p->groups_buf; s != NULL && *s != '\0'; s = comma) {
		if ((comma = strchr(s, ',')) != NULL)
			*comma++ = '\0';
		p->groups[p->n_groups++] = s;
	}
}

static const struct hoop_rule *
rule(const char *name)
{
	const struct hoop_policy *pol = hoop_config_policy(cfg, "p");
	size_t i;

	for (i = 0; pol != NULL && i < pol->n_rules; i++)
		if (strcmp(pol->rules[i].name, name) == 0)
			return &pol->rules[i];
	return NULL;
}

static struct hoop_approval_op
op_for(const char *rule_name, const char *fingerprint, const char *text)
{
	struct hoop_approval_op op = {
		.session_id = "sess-1",
		.target = "db",
		.request = text,
		.fingerprint = fingerprint,
		.policy = hoop_config_policy(cfg, "p"),
		.rule = rule(rule_name),
	};

	return op;
}

static long
count_events(const char *action, const char *id)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_events WHERE "
	    "kind = 'approval' AND action = '%s' AND json_extract(detail, "
	    "'$.id') = '%s'", action, id);
	return query_long(store, sql);
}

static long
row_long(const char *column, const char *id)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT %s FROM approvals WHERE id = '%s'",
	    column, id);
	return query_long(store, sql);
}

static int
status_is(const char *id, const char *status)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM approvals WHERE id = "
	    "'%s' AND status = '%s'", id, status);
	return query_long(store, sql) == 1;
}

static struct hoop_principal alice, bob, carol, dave, erin, both1, both2;
static struct hoop_principal alice_again, outsider;

static void
setup_people(void)
{
	principal(&alice, "sso-alice", "alice", "dev");
	/* Another login of the same person (issuer and subject). */
	principal(&alice_again, "sso-alice2", "alice", "leads");
	principal(&bob, "sso-bob", "bob", "leads");
	principal(&carol, "sso-carol", "carol", "leads");
	principal(&dave, "sso-dave", "dave", "sec");
	principal(&erin, "sso-erin", "erin", "sec");
	principal(&both1, "sso-both1", "both1", "dev,leads,sec");
	principal(&both2, "sso-both2", "both2", "leads,sec");
	principal(&outsider, "sso-out", "out", "dev,ops");
}

static void
test_request_and_refusals(void)
{
	struct hoop_approval_op op = op_for("once", "fp-1", "DELETE FROM t");
	struct hoop_approval_result res, again;
	char why[256];

	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_PENDING && !res.reused,
	    "a request is pending");
	ok(hoop_approval_id_valid(res.id), "its id is well formed (%s)",
	    res.id);
	ok(res.expires_at == test_clock(NULL) + 900 ||
	    res.expires_at == test_clock(NULL) + 899,
	    "it expires after approval_timeout (15m)");
	ok(strcmp(res.approvers, "leads") == 0 && res.required == 1 &&
	    res.needed == 1 && res.votes == 0, "who may approve is known");
	is_int(count_events("requested", res.id), 1, "'requested' recorded");
	ok(row_long("length(approvers)", res.id) == 5 &&
	    row_long("approvals_required", res.id) == 1,
	    "the rule's approver settings are kept with the request");

	ok(hoop_approval_request(svc, &alice, &op, &again) == HOOP_OK &&
	    again.status == HOOP_APPROVAL_PENDING && again.reused &&
	    strcmp(again.id, res.id) == 0,
	    "the same operation again gives the pending request");
	is_int(count_events("requested", res.id), 1,
	    "... without a second 'requested' event");

	is_int(hoop_approval_decide(svc, &alice, res.id, 1, NULL, &again, why,
	    sizeof(why)), HOOP_ERR_DENIED, "self-approval is refused");
	ok(strstr(why, "own request") != NULL, "... saying so (%s)", why);
	is_int(hoop_approval_decide(svc, &alice_again, res.id, 1, NULL, &again,
	    why, sizeof(why)), HOOP_ERR_DENIED,
	    "the same issuer and subject under another login is refused");
	is_int(hoop_approval_decide(svc, &dave, res.id, 1, NULL, &again, why,
	    sizeof(why)), HOOP_ERR_DENIED,
	    "an approver of the wrong group is refused");
	ok(strstr(why, "none of the approver groups") != NULL, "... saying "
	    "so (%s)", why);
	is_int(hoop_approval_decide(svc, &bob, "nosuchid2345", 1, NULL, &again,
	    why, sizeof(why)), HOOP_ERR_NOTFOUND, "an unknown id");
	is_int(hoop_approval_decide(svc, &bob, "../../etc", 1, NULL, &again,
	    why, sizeof(why)), HOOP_ERR_NOTFOUND, "a malformed id");
	is_int(hoop_approval_decide(svc, &bob, res.id, 0, "  ", &again, why,
	    sizeof(why)), HOOP_ERR_INVAL, "a denial without a reason");
	ok(status_is(res.id, "pending") &&
	    query_long(store, "SELECT count(*) FROM approval_votes") == 0,
	    "refusals change nothing");
	/* Left pending: later tests list it. */
}

static void
test_bad_ops(void)
{
	struct hoop_approval_op op = op_for("once", "fp-x", "x");
	struct hoop_approval_result res, other;
	struct hoop_principal nobody;
	char *big;

	op.fingerprint = "has space";
	is_int(hoop_approval_request(svc, &alice, &op, &res), HOOP_ERR_INVAL,
	    "a fingerprint with a space is refused");
	op.fingerprint = "";
	is_int(hoop_approval_request(svc, &alice, &op, &res), HOOP_ERR_INVAL,
	    "an empty fingerprint is refused");
	op = op_for("reads", "fp-x", "x");
	is_int(hoop_approval_request(svc, &alice, &op, &res), HOOP_ERR_INVAL,
	    "a rule that is not 'approve' is refused");
	op = op_for("once", "fp-x", "x");
	op.session_id = "a\nb";
	is_int(hoop_approval_request(svc, &alice, &op, &res), HOOP_ERR_INVAL,
	    "a session id with a newline is refused");
	op = op_for("once", "fp-x", "x");
	memset(&nobody, 0, sizeof(nobody));
	is_int(hoop_approval_request(svc, &nobody, &op, &res), HOOP_ERR_INVAL,
	    "an empty principal is refused");
	big = malloc(HOOP_APPROVAL_MAX_REQUEST + 2);
	memset(big, 'x', HOOP_APPROVAL_MAX_REQUEST + 1);
	big[HOOP_APPROVAL_MAX_REQUEST + 1] = '\0';
	op.request = big;
	is_int(hoop_approval_request(svc, &alice, &op, &res), HOOP_ERR_TOOBIG,
	    "a request text over the limit is refused");
	big[HOOP_APPROVAL_MAX_REQUEST] = '\0';
	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK,
	    "one at the limit is taken");
	free(big);
	ok(res.status == HOOP_APPROVAL_PENDING &&
	    hoop_approval_cancel(svc, &bob, res.id, &other) ==
	    HOOP_ERR_NOTFOUND, "only the requester cancels");
	ok(hoop_approval_cancel(svc, &alice, res.id, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_CANCELLED, "the requester does");
	is_int(count_events("cancelled", res.id), 1, "'cancelled' recorded");
	ok(!hoop_approval_id_valid("abcdefghijk") &&
	    !hoop_approval_id_valid("abcdefghijkmn") &&
	    !hoop_approval_id_valid("abcdefghijk1") &&
	    !hoop_approval_id_valid("ABCDEFGHIJKM") &&
	    hoop_approval_id_valid("abcdefghijk2"), "id format is strict");
}

/* A child that decides id after delay_ms and writes when decide()
 * returned (CLOCK_MONOTONIC, microseconds) to fd. */
static pid_t
decide_later(const char *id, const struct hoop_principal *who, int approve,
    const char *reason, int delay_ms, int fd)
{
	struct hoop_approval_result res;
	char why[256];
	int64_t t;
	pid_t pid;

	if ((pid = fork()) != 0)
		return pid;
	usleep((useconds_t)delay_ms * 1000);
	if (open_all(cfg) == -1)
		_exit(3);
	if (hoop_approval_decide(svc, who, id, approve, reason, &res, why,
	    sizeof(why)) != HOOP_OK)
		_exit(4);
	t = mono_us();
	if (write(fd, &t, sizeof(t)) != sizeof(t))
		_exit(5);
	close_all();
	_exit(0);
}

static int
child_status(pid_t pid)
{
	int status = -1;

	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
}

static void
test_wait_woken_by_another_process(void)
{
	struct hoop_approval_op op = op_for("once", "fp-wake", "UPDATE t "
	    "SET x = 1");
	struct hoop_approval_result res, w;
	int64_t decided = 0, returned;
	int fds[2];
	pid_t pid;

	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK,
	    "request for the wake test");
	close_all();
	if (pipe(fds) == -1)
		abort();
	pid = decide_later(res.id, &bob, 1, "looks fine", 300, fds[1]);
	close(fds[1]);
	if (open_all(cfg) == -1)
		abort();
	ok(hoop_approval_wait(svc, &alice, res.id, NULL, &w) == HOOP_OK &&
	    w.status == HOOP_APPROVAL_APPROVED, "the waiter sees the approval");
	returned = mono_us();
	is_int(child_status(pid), 0, "the approver's process decided");
	ok(read(fds[0], &decided, sizeof(decided)) == sizeof(decided),
	    "decision time read");
	close(fds[0]);
	printf("# approve -> waiter returned: %.1f ms\n",
	    (returned - decided) / 1000.0);
	/* The safety poll is 1 s: well under it means the wake worked. */
	ok(returned - decided < 400000, "woken at once, not by the safety "
	    "poll (%.1f ms)", (returned - decided) / 1000.0);
	ok(strcmp(w.decided_by, "sso-bob") == 0, "decided by bob (%s)",
	    w.decided_by);
	ok(status_is(res.id, "used") && row_long("used_at", res.id) > 0,
	    "the once-approval is used by the waiter");
	is_int(count_events("approved", res.id), 1, "'approved' recorded");
	is_int(count_events("used", res.id), 1, "'used' recorded");
	ok(hoop_approval_wait(svc, &alice, res.id, NULL, &w) == HOOP_OK &&
	    w.status == HOOP_APPROVAL_USED, "a second wait cannot use it");
	ok(hoop_approval_request(svc, &alice, &op, &w) == HOOP_OK &&
	    w.status == HOOP_APPROVAL_PENDING && !w.reused &&
	    strcmp(w.id, res.id) != 0, "the same statement again needs a new "
	    "approval");
	ok(hoop_approval_cancel(svc, &alice, w.id, &w) == HOOP_OK,
	    "(cancelled)");
	ok(hoop_approval_wait(svc, &bob, res.id, NULL, &w) ==
	    HOOP_ERR_NOTFOUND, "another principal cannot wait on it");
}

static void
test_once_rerun(void)
{
	struct hoop_approval_op op = op_for("once", "fp-ci", "DELETE FROM x");
	struct hoop_approval_op other = op_for("once", "fp-other", "DELETE "
	    "FROM y");
	struct hoop_approval_result res, r2;
	char why[256];

	/* CI: fail at once with the id, run again after the approval. */
	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_PENDING, "CI asks and leaves");
	ok(hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r2, why,
	    sizeof(why)) == HOOP_OK && r2.status == HOOP_APPROVAL_APPROVED,
	    "approved");
	ok(hoop_approval_request(svc, &alice, &other, &r2) == HOOP_OK &&
	    r2.status == HOOP_APPROVAL_PENDING && strcmp(r2.id, res.id) != 0,
	    "it does not cover another statement");
	ok(hoop_approval_request(svc, &carol, &op, &r2) == HOOP_OK &&
	    r2.status == HOOP_APPROVAL_PENDING && strcmp(r2.id, res.id) != 0,
	    "nor another principal's same statement");
	ok(hoop_approval_request(svc, &alice, &op, &r2) == HOOP_OK &&
	    r2.status == HOOP_APPROVAL_APPROVED && r2.reused &&
	    strcmp(r2.id, res.id) == 0, "the re-run passes");
	ok(status_is(res.id, "used"), "and uses it");
	is_int(count_events("used", res.id), 1, "'used' recorded once");
	ok(hoop_approval_request(svc, &alice, &op, &r2) == HOOP_OK &&
	    r2.status == HOOP_APPROVAL_PENDING, "a third run needs approval "
	    "again");
}

static void
test_once_used_exactly_once(void)
{
	struct hoop_approval_op op = op_for("once", "fp-race", "DROP TABLE z");
	struct hoop_approval_result res, r2;
	int gate[2], approved = 0, pending = 0, i;
	pid_t pids[8];
	char why[256], c;

	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK &&
	    hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r2, why,
	    sizeof(why)) == HOOP_OK, "an approved once-approval");
	close_all();
	if (pipe(gate) == -1)
		abort();
	for (i = 0; i < 8; i++) {
		if ((pids[i] = fork()) == 0) {
			close(gate[1]);
			if (read(gate[0], &c, 1) != 0 || open_all(cfg) == -1)
				_exit(3);
			if (hoop_approval_request(svc, &alice, &op, &r2) !=
			    HOOP_OK)
				_exit(4);
			close_all();
			_exit(r2.status == HOOP_APPROVAL_APPROVED ? 10 :
			    r2.status == HOOP_APPROVAL_PENDING ? 11 : 12);
		}
	}
	close(gate[0]);
	close(gate[1]);		/* all go at once */
	for (i = 0; i < 8; i++) {
		switch (child_status(pids[i])) {
		case 10:
			approved++;
			break;
		case 11:
			pending++;
			break;
		}
	}
	if (open_all(cfg) == -1)
		abort();
	ok(approved == 1 && pending == 7, "8 concurrent runs: exactly one "
	    "uses it (%d approved, %d pending)", approved, pending);
	is_int(count_events("used", res.id), 1, "one 'used' event");
	is_int(query_long(store, "SELECT count(*) FROM approvals WHERE "
	    "fingerprint = 'fp-race' AND status = 'pending'"), 1,
	    "the others share one new pending request");
}

static void
test_required_two(void)
{
	struct hoop_approval_op any = op_for("any2", "fp-any2", "ALTER "
	    "TABLE t ADD c int");
	struct hoop_approval_op all = op_for("all2", "fp-all2", "GRANT x TO "
	    "y");
	struct hoop_approval_op all1 = op_for("all1", "fp-all1", "VACUUM");
	struct hoop_approval_result res, r;
	char why[256];

	ok(hoop_approval_request(svc, &alice, &any, &res) == HOOP_OK,
	    "any2: request");
	ok(hoop_approval_decide(svc, &bob, res.id, 1, "ok", &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_PENDING &&
	    r.votes == 1 && r.needed == 2, "any2: one approval is not enough");
	is_int(count_events("voted", res.id), 1, "'voted' recorded");
	is_int(hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)), HOOP_ERR_DENIED, "one vote per approver");
	ok(strstr(why, "already") != NULL, "... saying so (%s)", why);
	ok(hoop_approval_decide(svc, &dave, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_APPROVED,
	    "any2: a second approver from any group decides");
	ok(strcmp(r.decided_by, "sso-bob, sso-dave") == 0, "both named (%s)",
	    r.decided_by);

	ok(hoop_approval_request(svc, &alice, &all, &res) == HOOP_OK,
	    "all2: request");
	ok(hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && hoop_approval_decide(svc, &carol,
	    res.id, 1, NULL, &r, why, sizeof(why)) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_PENDING && r.votes == 2 && r.needed == 4,
	    "all2: two leads are not enough (%u of %u)", r.votes, r.needed);
	ok(hoop_approval_decide(svc, &dave, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_PENDING,
	    "all2: nor two leads and one of sec");
	ok(hoop_approval_decide(svc, &erin, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_APPROVED,
	    "all2: two of each group decide");

	ok(hoop_approval_request(svc, &alice, &all, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_APPROVED, "(the approval covers the "
	    "re-run)");
	all.fingerprint = "fp-all2-b";
	ok(hoop_approval_request(svc, &alice, &all, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_PENDING, "all2: another request");
	ok(hoop_approval_decide(svc, &both1, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_PENDING &&
	    r.votes == 2, "all2: a holder of both groups counts for each");
	ok(hoop_approval_decide(svc, &both2, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_APPROVED,
	    "all2: two such holders decide");

	ok(hoop_approval_request(svc, &alice, &all1, &res) == HOOP_OK &&
	    hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_PENDING &&
	    hoop_approval_decide(svc, &dave, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_APPROVED,
	    "all1: one from each group");
}

static void
test_deny(void)
{
	struct hoop_approval_op op = op_for("any2", "fp-deny", "TRUNCATE t");
	struct hoop_approval_result res, r, w;
	char why[256];

	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK &&
	    hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK, "one approval of two");
	ok(hoop_approval_decide(svc, &dave, res.id, 0, "not during the "
	    "sale", &r, why, sizeof(why)) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_DENIED, "a deny by any approver denies");
	ok(hoop_approval_wait(svc, &alice, res.id, NULL, &w) == HOOP_OK &&
	    w.status == HOOP_APPROVAL_DENIED &&
	    strcmp(w.reason, "not during the sale") == 0 &&
	    strcmp(w.decided_by, "sso-dave") == 0,
	    "the waiter learns who denied and why (%s: %s)", w.decided_by,
	    w.reason);
	is_int(hoop_approval_decide(svc, &carol, res.id, 1, NULL, &r, why,
	    sizeof(why)), HOOP_ERR_DENIED, "a denied request is decided");
	ok(strstr(why, "not pending") != NULL, "... saying so (%s)", why);
	is_int(count_events("denied", res.id), 1, "'denied' recorded");
	ok(hoop_approval_request(svc, &alice, &op, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_PENDING && strcmp(r.id, res.id) != 0,
	    "asking again makes a new request");
	(void)hoop_approval_cancel(svc, &alice, r.id, &r);
}

static void
test_expiry(void)
{
	struct hoop_approval_op op = op_for("once", "fp-exp", "DELETE FROM e");
	struct hoop_approval_result res, r;
	int64_t t0 = time(NULL);
	unsigned n = 0;
	char why[256];

	fake_now = t0;
	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK,
	    "request at t0");
	fake_now = t0 + 899;
	ok(hoop_approval_wait(svc, &alice, res.id,
	    &(struct hoop_approval_wait_opts){ .max_wait = 1 }, &r) ==
	    HOOP_OK && r.status == HOOP_APPROVAL_PENDING,
	    "still pending a second before the timeout (max_wait ends it)");
	fake_now = t0 + 900;
	ok(hoop_approval_wait(svc, &alice, res.id, NULL, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_EXPIRED, "expired at the timeout");
	is_int(count_events("expired", res.id), 1, "'expired' recorded");
	is_int(hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)), HOOP_ERR_DENIED, "an expired request cannot be "
	    "approved");

	fake_now = t0;
	ok(hoop_approval_request(svc, &carol, &op, &res) == HOOP_OK,
	    "another request at t0");
	fake_now = t0 + 901;
	ok(hoop_approval_expire(svc, &n) == HOOP_OK && n >= 1 &&
	    status_is(res.id, "expired"), "hoop_approval_expire expires it "
	    "(%u)", n);
	fake_now = 0;
}

static int calls;

static int
cancel_on_second_call(void *arg)
{
	(void)arg;
	return ++calls >= 2;
}

static void
test_cancel(void)
{
	struct hoop_approval_op op = op_for("once", "fp-cancel", "DELETE");
	struct hoop_approval_result res, r;
	volatile sig_atomic_t flag = 1;
	struct hoop_approval_wait_opts wo = { .cancel_flag = &flag };
	int64_t t;

	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK,
	    "request");
	ok(hoop_approval_wait(svc, &alice, res.id, &wo, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_CANCELLED && status_is(res.id,
	    "cancelled"), "a set flag (Ctrl-C) cancels the request");
	is_int(count_events("cancelled", res.id), 1, "'cancelled' recorded");

	op.fingerprint = "fp-cancel-2";
	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK,
	    "another request");
	memset(&wo, 0, sizeof(wo));
	wo.cancelled = cancel_on_second_call;
	t = mono_us();
	ok(hoop_approval_wait(svc, &alice, res.id, &wo, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_CANCELLED, "a callback cancels it");
	ok(mono_us() - t < 2500000, "within the safety poll (%.0f ms)",
	    (mono_us() - t) / 1000.0);
}

static void
test_grant(void)
{
	struct hoop_approval_op op = op_for("grant", "fp-g1", "COPY t TO "
	    "STDOUT");
	struct hoop_approval_result res, r;
	int64_t t0 = time(NULL);
	char why[256];

	fake_now = t0;
	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK &&
	    hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_APPROVED,
	    "a grant is approved at t0");
	ok(hoop_approval_wait(svc, &alice, res.id, NULL, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_APPROVED && r.valid_until == t0 + 3600,
	    "the waiter runs; the grant lasts 1h");
	ok(status_is(res.id, "approved"), "a grant stays approved");
	fake_now = t0 + 3599;
	op.fingerprint = "fp-g2";
	op.request = "COPY u TO STDOUT";
	ok(hoop_approval_request(svc, &alice, &op, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_APPROVED && r.reused &&
	    strcmp(r.id, res.id) == 0, "it covers another operation at "
	    "t0+3599");
	is_int(count_events("used", res.id), 2, "each use recorded");
	op.target = NULL;
	ok(hoop_approval_request(svc, &alice, &op, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_PENDING, "not another target");
	(void)hoop_approval_cancel(svc, &alice, r.id, &r);
	op.target = "db";
	ok(hoop_approval_request(svc, &carol, &op, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_PENDING, "not another principal");
	(void)hoop_approval_cancel(svc, &carol, r.id, &r);
	fake_now = t0 + 3600;
	ok(hoop_approval_request(svc, &alice, &op, &r) == HOOP_OK &&
	    r.status == HOOP_APPROVAL_PENDING && strcmp(r.id, res.id) != 0,
	    "it has ended at t0+3600");
	(void)hoop_approval_cancel(svc, &alice, r.id, &r);
	fake_now = 0;
}

#define N_REQUESTERS 20

static void
test_twenty_concurrent(void)
{
	struct hoop_approval_result r;
	struct hoop_principal p;
	pid_t pids[N_REQUESTERS];
	int i, right = 0, pending = 0, tries;
	char login[32], subject[32], fp[32], text[64], reason[32], why[256];
	char sql[256];

	close_all();
	for (i = 0; i < N_REQUESTERS; i++) {
		if ((pids[i] = fork()) != 0)
			continue;
		snprintf(login, sizeof(login), "sso-u%d", i);
		snprintf(subject, sizeof(subject), "u%d", i);
		snprintf(fp, sizeof(fp), "fp-u%d", i);
		snprintf(text, sizeof(text), "DELETE FROM t WHERE id = %d", i);
		snprintf(reason, sizeof(reason), "no %d", i);
		principal(&p, login, subject, "dev");
		struct hoop_approval_op op = op_for("once", fp, text);
		if (open_all(cfg) == -1 ||
		    hoop_approval_request(svc, &p, &op, &r) != HOOP_OK)
			_exit(3);
		if (hoop_approval_wait(svc, &p, r.id,
		    &(struct hoop_approval_wait_opts){ .max_wait = 60 }, &r) !=
		    HOOP_OK)
			_exit(4);
		close_all();
		if (r.status == HOOP_APPROVAL_APPROVED)
			_exit(10);
		if (r.status == HOOP_APPROVAL_DENIED &&
		    strcmp(r.reason, reason) == 0)
			_exit(11);
		_exit(12);
	}
	if (open_all(cfg) == -1)
		abort();
	for (tries = 0; tries < 3000 && pending < N_REQUESTERS; tries++) {
		pending = (int)query_long(store, "SELECT count(*) FROM "
		    "approvals WHERE principal LIKE 'sso-u%' AND status = "
		    "'pending'");
		usleep(10000);
	}
	is_int(pending, N_REQUESTERS, "20 requests pending at once");
	for (i = 0; i < N_REQUESTERS; i++) {
		sqlite3_stmt *st;
		char id[32] = "";

		snprintf(sql, sizeof(sql), "SELECT id FROM approvals WHERE "
		    "principal = 'sso-u%d' AND status = 'pending'", i);
		if (sqlite3_prepare_v2(hoop_store_db(store), sql, -1, &st,
		    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			snprintf(id, sizeof(id), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		snprintf(reason, sizeof(reason), "no %d", i);
		if (hoop_approval_decide(svc, i % 2 == 0 ? &bob : &carol, id,
		    i % 2 == 0, i % 2 == 0 ? NULL : reason, &r, why,
		    sizeof(why)) != HOOP_OK && i % 2 == 0)
			printf("# decide %d: %s\n", i, why);
	}
	for (i = 0; i < N_REQUESTERS; i++)
		if (child_status(pids[i]) == (i % 2 == 0 ? 10 : 11))
			right++;
	is_int(right, N_REQUESTERS, "each of 20 concurrent requesters got its "
	    "own decision");
}

static int
capture(void (*fn)(FILE *, void *), void *arg, char *buf, size_t size)
{
	FILE *fp;

	memset(buf, 0, size);
	if ((fp = fmemopen(buf, size, "w")) == NULL)
		return -1;
	fn(fp, arg);
	fclose(fp);
	buf[size - 1] = '\0';
	return 0;
}

struct show_arg {
	const struct hoop_principal *viewer;
	const char *id;
	unsigned flags;
	hoop_err_t err;
};

static void
do_show(FILE *fp, void *arg)
{
	struct show_arg *a = arg;

	a->err = hoop_approval_show(svc, a->viewer, a->id, fp);
}

static void
do_list(FILE *fp, void *arg)
{
	struct show_arg *a = arg;

	a->err = hoop_approval_list(svc, a->viewer, a->flags, fp);
}

static void
test_list_show(void)
{
	struct hoop_approval_op op = op_for("once", "fp-show", "SELECT 1;\n"
	    "\x1b[2J DELETE FROM t -- \xe2\x80\xae evil\n\xff end");
	struct hoop_approval_result res, r;
	struct show_arg a = { 0 };
	char out[16384], why[256];

	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK,
	    "a request with hostile text");
	a.viewer = &bob;
	a.id = res.id;
	capture(do_show, &a, out, sizeof(out));
	ok(a.err == HOOP_OK, "an approver shows it");
	ok(strstr(out, "principal:   sso-alice (identity staff, issuer sso, "
	    "subject alice)") != NULL && strstr(out, "session:     sess-1") !=
	    NULL && strstr(out, "target:      db") != NULL &&
	    strstr(out, "rule:        p/once") != NULL, "with principal, "
	    "session, target and rule");
	ok(strstr(out, "\x1b") == NULL && strstr(out, "\\x1b[2J") != NULL,
	    "escape sequences are shown escaped");
	ok(strstr(out, "\xe2\x80\xae") == NULL &&
	    strstr(out, "\\u{202e}") != NULL, "bidi overrides too");
	ok(strstr(out, "    SELECT 1;\n    \\x1b") != NULL,
	    "lines of the statement are kept, indented");
	ok(strstr(out, "? end") != NULL, "invalid UTF-8 is stored as '?'");
	a.viewer = NULL;
	capture(do_show, &a, out, sizeof(out));
	ok(a.err == HOOP_OK, "root shows it");
	a.viewer = &outsider;
	capture(do_show, &a, out, sizeof(out));
	is_int(a.err, HOOP_ERR_NOTFOUND, "someone who is neither requester "
	    "nor approver does not");
	a.viewer = &alice;
	capture(do_show, &a, out, sizeof(out));
	ok(a.err == HOOP_OK, "the requester does");

	a.viewer = &bob;
	a.id = NULL;
	capture(do_list, &a, out, sizeof(out));
	ok(a.err == HOOP_OK && strstr(out, res.id) != NULL &&
	    strstr(out, "ID") == out, "the approver lists it");
	ok(strstr(out, "\x1b") == NULL, "list escapes too");
	a.viewer = &alice;
	capture(do_list, &a, out, sizeof(out));
	ok(a.err == HOOP_OK && strstr(out, res.id) == NULL,
	    "the requester's list of requests to decide leaves it out");
	a.flags = HOOP_APPROVAL_LIST_ALL;
	capture(do_list, &a, out, sizeof(out));
	ok(a.err == HOOP_OK && strstr(out, res.id) != NULL,
	    "... --all shows it");
	a.viewer = &outsider;
	capture(do_list, &a, out, sizeof(out));
	ok(a.err == HOOP_OK && strstr(out, res.id) == NULL,
	    "an outsider's --all does not");
	ok(hoop_approval_decide(svc, &bob, res.id, 1, "fine\x1b[0m", &r, why,
	    sizeof(why)) == HOOP_OK, "approved with a hostile reason");
	a.viewer = &bob;
	a.id = res.id;
	capture(do_show, &a, out, sizeof(out));
	ok(strstr(out, "vote:") != NULL && strstr(out, "sso-bob approve as "
	    "leads: fine\\x1b[0m") != NULL, "votes are shown, escaped");
	a.flags = 0;
	a.id = NULL;
	capture(do_list, &a, out, sizeof(out));
	ok(strstr(out, res.id) == NULL, "a decided request leaves the list");
}

static void
test_audit_chain(void)
{
	struct hoop_audit_verify_result v = { 0 };

	ok(hoop_audit_verify(store, 0, NULL, &v) == HOOP_OK,
	    "the audit chain verifies after all this (head %lld)",
	    (long long)v.head_seq);
	is_int(query_long(store, "SELECT count(*) FROM audit_events WHERE "
	    "kind = 'approval' AND json_extract(detail, '$.id') IS NULL"), 0,
	    "every approval event names its request");
}

static void
mark_sigint(int sig)
{
	(void)sig;
}

static char *
slurp(FILE *fp)
{
	static char buf[8192];
	size_t n;

	fflush(fp);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	rewind(fp);
	if (ftruncate(fileno(fp), 0) != 0)
		buf[0] = '\0';
	return buf;
}

/* The wrappers' flow: CI mode, a wait ended by another process, Ctrl-C. */
static void
test_obtain(void)
{
	struct hoop_approval_op op = op_for("once", "fp-obtain", "DELETE FROM "
	    "o");
	struct hoop_approval_result res, r;
	struct sigaction sa, now;
	char path[300], want[128], why[256], *text;
	FILE *out;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/obtain.out", dir);
	if ((out = fopen(path, "w+")) == NULL)
		abort();
	is_int(hoop_approval_obtain(svc, &alice, &op, -1, out, &res),
	    HOOP_ERR_DENIED, "CI mode: refused at once");
	text = slurp(out);
	snprintf(want, sizeof(want), "request %s, 1 approval from leads\n"
	    "hoop: an approver runs: hoopctl approvals approve %s\n", res.id,
	    res.id);
	ok(res.status == HOOP_APPROVAL_PENDING && strstr(text, want) != NULL &&
	    strstr(text, "run this again once request") != NULL,
	    "with the id and who may approve");
	ok(hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK, "approved meanwhile");
	ok(hoop_approval_obtain(svc, &alice, &op, -1, out, &r) == HOOP_OK &&
	    strstr(slurp(out), "allowed by approval") != NULL,
	    "the re-run passes");

	op.fingerprint = "fp-obtain-2";
	close_all();
	if ((pid = fork()) == 0) {
		sqlite3_stmt *st;
		char id[32] = "";
		int i;

		if (open_all(cfg) == -1)
			_exit(3);
		for (i = 0; i < 500 && id[0] == '\0'; i++) {
			usleep(10000);
			if (sqlite3_prepare_v2(hoop_store_db(store), "SELECT id "
			    "FROM approvals WHERE fingerprint = 'fp-obtain-2' "
			    "AND status = 'pending'", -1, &st, NULL) ==
			    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
				snprintf(id, sizeof(id), "%s",
				    (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
		usleep(200000);
		_exit(hoop_approval_decide(svc, &bob, id, 1, NULL, &r, why,
		    sizeof(why)) == HOOP_OK ? 0 : 4);
	}
	if (open_all(cfg) == -1)
		abort();
	ok(hoop_approval_obtain(svc, &alice, &op, 0, out, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_APPROVED, "a wait ended by an approver "
	    "in another process");
	is_int(child_status(pid), 0, "(the approver)");
	text = slurp(out);
	ok(strstr(text, "waiting up to 15m0s; Ctrl-C cancels") != NULL &&
	    strstr(text, "approved by sso-bob") != NULL, "the user is told");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mark_sigint;
	sigaction(SIGINT, &sa, NULL);
	op.fingerprint = "fp-obtain-3";
	if ((pid = fork()) == 0) {
		usleep(300000);
		kill(getppid(), SIGINT);
		_exit(0);
	}
	ok(hoop_approval_obtain(svc, &alice, &op, 0, out, &res) ==
	    HOOP_ERR_DENIED && res.status == HOOP_APPROVAL_CANCELLED,
	    "Ctrl-C cancels the request");
	child_status(pid);
	ok(strstr(slurp(out), "cancelled") != NULL, "and says so");
	ok(sigaction(SIGINT, NULL, &now) == 0 &&
	    now.sa_handler == mark_sigint, "the caller's SIGINT handler is "
	    "back");
	is_int(query_long(store, "SELECT count(*) FROM approvals WHERE "
	    "fingerprint = 'fp-obtain-3' AND status = 'cancelled'"), 1,
	    "the request is cancelled in the store");
	signal(SIGINT, SIG_DFL);
	fclose(out);
}

/*
 * Notifications.
 */

struct diag {
	char text[4096];
};

static void
collect(void *arg, const char *message)
{
	struct diag *d = arg;
	size_t n = strlen(d->text);

	snprintf(d->text + n, sizeof(d->text) - n, "%s%s", n > 0 ? " | " : "",
	    message);
}

static hoop_err_t
load_notify(const char *section, unsigned flags, struct diag *d,
    hoop_config_t **out)
{
	char buf[2048];

	memset(d, 0, sizeof(*d));
	snprintf(buf, sizeof(buf), "%s", section);
	return hoop_config_load_buf(buf, strlen(buf), "n.conf", flags, out,
	    collect, d);
}

static void
test_notify_config(void)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "notify \"a\" {\n}\n", "n.conf:1: notify \"a\": needs url" },
		{ "notify \"a\" {\n url = \"https://x.test/h\"\n command = "
		    "{\"/bin/true\"}\n}\n", "n.conf:1: notify \"a\": needs url" },
		{ "notify \"a\" {\n url = \"http://hooks.example.com/x\"\n}\n",
		    "n.conf:2: notify \"a\": url: \"http://hooks.example.com/x\""
		    ": http:// only to loopback" },
		{ "notify \"a\" {\n url = \"http://127.0.0.1.evil.test/x\"\n}\n",
		    "only to loopback" },
		{ "notify \"a\" {\n url = \"https://user:pw@x.test/\"\n}\n",
		    "no user or password" },
		{ "notify \"a\" {\n url = \"ftp://x.test/\"\n}\n",
		    "must start with https://" },
		{ "notify \"a\" {\n command = {\"sendmail\", \"-t\"}\n}\n",
		    "absolute path" },
		{ "notify \"a\" {\n command = {\"/bin/true\"}\n format = "
		    "\"slack\"\n}\n", "go with url only" },
		{ "notify \"a\" {\n url = \"https://x.test/\"\n format = "
		    "\"xml\"\n}\n", "n.conf:3: notify \"a\": format: invalid "
		    "value \"xml\"" },
		{ "notify \"a\" {\n url = \"https://x.test/\"\n timeout = "
		    "\"61s\"\n}\n", "timeout is at most 60s" },
		{ "notify \"a\" {\n url = \"https://x.test/\"\n timeout = "
		    "\"0s\"\n}\n", "longer than 0s" },
		{ "notify \"a b\" {\n url = \"https://x.test/\"\n}\n",
		    "invalid name" },
		{ "notify \"a\" {\n url = \"https://x.test/\"\n bogus = 1\n}\n",
		    "bogus" },
		{ "notify \"a\" {\n url = \"https://x.test/\"\n}\nnotify \"a\" "
		    "{\n url = \"https://y.test/\"\n}\n", "" },
	};
	const struct hoop_notify *n;
	hoop_config_t *c = NULL;
	struct diag d;
	char secret[300], text[1024];
	size_t i;

	ok(load_notify("notify \"ops\" {\n url = \"https://hooks.example.com/"
	    "x?y=1\"\n secret_file = \"/etc/hoop/secrets/wh\"\n format = "
	    "\"slack\"\n timeout = \"3s\"\n}\nnotify \"mail\" {\n command = "
	    "{\"/usr/sbin/sendmail\", \"-t\"}\n}\nnotify \"local\" {\n url = "
	    "\"http://127.0.0.1:8080/h\"\n}\nnotify \"v6\" {\n url = "
	    "\"http://[::1]:9/h\"\n}\n", HOOP_CONFIG_NO_FS_CHECKS, &d, &c) ==
	    HOOP_OK, "valid notify sections load (%s)", d.text);
	ok(c != NULL && hoop_config_notify_count(c) == 4,
	    "four notify sections");
	if (c != NULL && (n = hoop_config_notify_at(c, 0)) != NULL)
		ok(strcmp(n->name, "ops") == 0 && n->format ==
		    HOOP_NOTIFY_SLACK && n->timeout == 3 &&
		    strcmp(n->secret_file, "/etc/hoop/secrets/wh") == 0 &&
		    n->n_command == 0, "webhook settings");
	if (c != NULL && (n = hoop_config_notify_at(c, 1)) != NULL)
		ok(n->url == NULL && n->n_command == 2 &&
		    strcmp(n->command[1], "-t") == 0 && n->timeout == 5 &&
		    n->format == HOOP_NOTIFY_JSON, "hook settings, timeout "
		    "5s by default");
	ok(c != NULL && hoop_config_notify_at(c, 4) == NULL, "no fifth");
	hoop_config_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		ok(load_notify(bad[i].text, HOOP_CONFIG_NO_FS_CHECKS, &d, &c) ==
		    HOOP_ERR_CONFIG && c == NULL && strstr(d.text,
		    bad[i].error) != NULL, "refused: %s", d.text);
	}
	snprintf(secret, sizeof(secret), "%s/open.secret", dir);
	close(open(secret, O_WRONLY | O_CREAT, 0644));
	chmod(secret, 0644);
	snprintf(text, sizeof(text), "notify \"a\" {\n url = \"https://x.test"
	    "/\"\n secret_file = \"%s\"\n}\n", secret);
	c = NULL;
	ok(load_notify(text, 0, &d, &c) == HOOP_ERR_CONFIG &&
	    strstr(d.text, "accessible by other users") != NULL,
	    "a world-readable secret file is refused (%s)", d.text);
	chmod(secret, 0640);
	ok(load_notify(text, 0, &d, &c) == HOOP_OK, "a private one is taken");
	hoop_config_free(c);
}

static void
test_notify_sign(void)
{
	static const char key[] = "k3y", body[] = "{\"a\":1}";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char sig[HOOP_NOTIFY_SIG_LEN + 1], want[HOOP_NOTIFY_SIG_LEN + 1];
	char msg[64];
	unsigned i;

	/* Computed with another OpenSSL interface than lib/notify.c's. */
	snprintf(msg, sizeof(msg), "1700000000.%s", body);
	HMAC(EVP_sha256(), key, 3, (unsigned char *)msg, strlen(msg), md,
	    &mdlen);
	strcpy(want, "sha256=");
	for (i = 0; i < mdlen; i++)
		sprintf(want + 7 + 2 * i, "%02x", md[i]);
	ok(hoop_notify_sign((const unsigned char *)key, 3, "1700000000", body,
	    sig) == HOOP_OK && strcmp(sig, want) == 0,
	    "the signature is HMAC-SHA256 of \"T.BODY\"");
	ok(hoop_notify_sign((const unsigned char *)key, 3, "1700000001", body,
	    sig) == HOOP_OK && strcmp(sig, want) != 0,
	    "it covers the timestamp");
	is_int(hoop_notify_sign((const unsigned char *)key, 0, "1", body, sig),
	    HOOP_ERR_INVAL, "an empty key is refused");
}

static void
test_notify_command(void)
{
	struct hoop_notify sink = { .name = "hook", .timeout = 5 };
	struct hoop_notify_message msg = { .json = "{\"event\":\"x\"}",
	    .text = "x" };
	char out[300], script[700], why[256], *got = NULL, *big;
	const char *argv[4];
	int64_t t;
	size_t len;

	snprintf(out, sizeof(out), "%s/hook.out", dir);
	snprintf(script, sizeof(script), "cat > %s; id -g >> %s", out, out);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = NULL;
	sink.command = argv;
	sink.n_command = 3;
	ok(hoop_notify_command(&sink, &msg, why, sizeof(why)) == HOOP_OK,
	    "a hook runs (%s)", why);
	ok(hoop_read_file(out, 4096, &got, &len) == HOOP_OK &&
	    strncmp(got, msg.json, strlen(msg.json)) == 0,
	    "it gets the JSON on its input");
	free(got);
	argv[2] = "exit 3";
	ok(hoop_notify_command(&sink, &msg, why, sizeof(why)) != HOOP_OK &&
	    strstr(why, "exit status 3") != NULL, "a failing hook is "
	    "reported (%s)", why);
	argv[0] = "/nonexistent/hook";
	sink.n_command = 1;
	ok(hoop_notify_command(&sink, &msg, why, sizeof(why)) != HOOP_OK &&
	    strstr(why, "127") != NULL, "a missing program too (%s)", why);
	argv[0] = "/bin/sleep";
	argv[1] = "30";
	sink.n_command = 2;
	sink.timeout = 1;
	t = mono_us();
	ok(hoop_notify_command(&sink, &msg, why, sizeof(why)) != HOOP_OK &&
	    strstr(why, "killed after") != NULL, "a late hook is killed (%s)",
	    why);
	ok(mono_us() - t < 3000000, "on time (%.0f ms)",
	    (mono_us() - t) / 1000.0);
	/* A hook that never reads a big input must not take us down with
	 * SIGPIPE or hold us past its exit. */
	big = malloc(4 << 20);
	memset(big, 'a', (4 << 20) - 1);
	big[(4 << 20) - 1] = '\0';
	msg.json = big;
	argv[0] = "/bin/true";
	sink.n_command = 1;
	sink.timeout = 5;
	ok(hoop_notify_command(&sink, &msg, why, sizeof(why)) == HOOP_OK,
	    "a hook that ignores its input (%s)", why);
	free(big);
}

static void
test_notify_through_service(void)
{
	struct hoop_approval_op op;
	struct hoop_approval_result res, r;
	hoop_config_t *nc = NULL;
	struct diag d;
	char text[sizeof(config_text) + 1024], out[256], why[256], *got = NULL;
	char sql[256];
	size_t len;

	snprintf(out, sizeof(out), "%s/events.out", dir);
	snprintf(text, sizeof(text), "%snotify \"hook\" {\n command = "
	    "{\"/bin/sh\", \"-c\", \"cat >> %s; echo >> %s\"}\n}\nnotify "
	    "\"dead\" {\n url = \"http://127.0.0.1:1/hook\"\n timeout = "
	    "\"2s\"\n}\n", config_text, out, out);
	ok(load_notify(text, HOOP_CONFIG_NO_FS_CHECKS, &d, &nc) == HOOP_OK,
	    "a configuration with a hook and a dead webhook (%s)", d.text);
	close_all();
	if (open_all(nc) == -1)
		abort();
	op = op_for("once", "fp-notify", "DELETE FROM n");
	ok(hoop_approval_request(svc, &alice, &op, &res) == HOOP_OK &&
	    res.status == HOOP_APPROVAL_PENDING, "request (the dead webhook "
	    "does not hold it up)");
	ok(hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
	    sizeof(why)) == HOOP_OK && r.status == HOOP_APPROVAL_APPROVED,
	    "approved");
	close_all();		/* waits for the notifications */
	if (open_all(cfg) == -1)
		abort();
	ok(hoop_read_file(out, 65536, &got, &len) == HOOP_OK &&
	    strstr(got, "\"event\":\"requested\"") != NULL &&
	    strstr(got, "\"event\":\"approved\"") != NULL &&
	    strstr(got, res.id) != NULL && strstr(got, "\"by\":\"sso-bob\"") !=
	    NULL, "the hook got the request and the decision");
	free(got);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_events WHERE "
	    "action = 'notified' AND decision = 'info' AND "
	    "json_extract(detail, '$.id') = '%s' AND json_extract(detail, "
	    "'$.sink') = 'hook'", res.id);
	is_int(query_long(store, sql), 2, "two 'notified' ok events for the "
	    "hook");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_events WHERE "
	    "action = 'notified' AND decision = 'error' AND "
	    "json_extract(detail, '$.id') = '%s' AND json_extract(detail, "
	    "'$.sink') = 'dead'", res.id);
	is_int(query_long(store, sql), 2, "two failed ones for the dead "
	    "webhook");
	ok(status_is(res.id, "approved"), "failures changed nothing");
	hoop_config_free(nc);
}

int
main(void)
{
	hoop_store_t *s = NULL;
	struct diag d;
	char cmd[300];

	hoop_log_init("test_approval", LOG_USER, HOOP_LOG_NO_SYSLOG);
	signal(SIGPIPE, SIG_DFL);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db_path, sizeof(db_path), "%s/hoop.db", dir);
	memset(&d, 0, sizeof(d));
	if (hoop_config_load_buf(config_text, strlen(config_text), "t.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, collect, &d) != HOOP_OK) {
		printf("Bail out! config: %s\n", d.text);
		return 1;
	}
	if (hoop_store_open(db_path, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE,
	    &s) != HOOP_OK || hoop_store_migrate(s, NULL, NULL) != HOOP_OK) {
		printf("Bail out! store\n");
		return 1;
	}
	hoop_store_close(s);
	if (open_all(cfg) == -1) {
		printf("Bail out! open\n");
		return 1;
	}
	setup_people();
	test_request_and_refusals();
	test_bad_ops();
	test_wait_woken_by_another_process();
	test_once_rerun();
	test_once_used_exactly_once();
	test_required_two();
	test_deny();
	test_expiry();
	test_cancel();
	test_grant();
	test_twenty_concurrent();
	test_list_show();
	test_obtain();
	test_notify_config();
	test_notify_sign();
	test_notify_command();
	test_notify_through_service();
	test_audit_chain();
	close_all();
	hoop_config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
