/*
 * Approval latency: how long after an approver's decision the waiting
 * operation runs. A waiter process sits in hoop_approval_wait (asleep in
 * poll on the store's inotify watch); this process requests, lets the
 * waiter settle, then decides. Prints p50, p99 and max of the time from
 * hoop_approval_decide() returning to the waiter returning (negative
 * when the waiter is already running before decide() has written its
 * audit event), and from decide() being called. Figures only.
 *
 *   bench_approval [RUNS [DIR]]     (defaults: 200, /tmp)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hoop_approval.h"
#include "hoop_config.h"
#include "hoop_log.h"
#include "hoop_store.h"

static const char config_text[] =
    "issuer \"sso\" { url = \"https://sso.example.test\" audience = "
    "{\"hoop\"} }\n"
    "identity \"staff\" { issuer = \"sso\" claim \"role\" { equals = "
    "{\"staff\"} } login_template = \"sso-${user}\" }\n"
    "target \"db\" { type = \"postgres\" host = \"127.0.0.1\" user = "
    "\"app\" }\n"
    "policy \"p\" { identities = {\"staff\"} targets = {\"db\"}\n"
    "  rule \"w\" { action = \"approve\" statements = {\"write\"} "
    "approvers = {\"leads\"} } }\n";

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
principal(struct hoop_principal *p, const hoop_config_t *cfg,
    const char *login, const char *subject, const char *group)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->login, sizeof(p->login), "%s", login);
	snprintf(p->issuer, sizeof(p->issuer), "sso");
	snprintf(p->subject, sizeof(p->subject), "%s", subject);
	snprintf(p->groups_buf, sizeof(p->groups_buf), "%s", group);
	p->groups[0] = p->groups_buf;
	p->n_groups = 1;
	p->identity = hoop_config_identity(cfg, "staff");
}

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%-34s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", what,
	    v[n / 2] / 1000.0, v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] /
	    1000.0, v[n - 1] / 1000.0);
}

/* The waiter: ids in on one pipe, return times out on the other. */
static void
waiter(const char *db, const hoop_config_t *cfg, int in, int out)
{
	struct hoop_approval_result res;
	struct hoop_principal alice;
	hoop_approval_t *svc = NULL;
	hoop_store_t *store = NULL;
	char id[HOOP_APPROVAL_ID_LEN + 1];
	int64_t t;

	principal(&alice, cfg, "sso-alice", "alice", "dev");
	if (hoop_store_open(db, 0, &store) != HOOP_OK ||
	    hoop_approval_create(store, cfg, &svc) != HOOP_OK)
		_exit(1);
	while (read(in, id, sizeof(id)) == (ssize_t)sizeof(id)) {
		if (hoop_approval_wait(svc, &alice, id, NULL, &res) !=
		    HOOP_OK || res.status != HOOP_APPROVAL_APPROVED)
			_exit(2);
		t = mono_us();
		if (write(out, &t, sizeof(t)) != sizeof(t))
			_exit(3);
	}
	hoop_approval_free(svc);
	hoop_store_close(store);
	_exit(0);
}

int
main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200, i, to[2], from[2], status;
	const char *base = argc > 2 ? argv[2] : "/tmp";
	struct hoop_approval_result res, r;
	struct hoop_principal alice, bob;
	hoop_approval_t *svc = NULL;
	hoop_store_t *store = NULL;
	hoop_config_t *cfg = NULL;
	char dir[512], db[600], fp[32], why[256];
	int64_t *after_return, *after_call, t0, t1, t2;
	struct hoop_approval_op op = { .session_id = "bench", .target = "db",
	    .request = "UPDATE t SET x = 1" };
	pid_t pid;

	if (runs < 1 || runs > 100000) {
		fprintf(stderr, "usage: bench_approval [RUNS [DIR]]\n");
		return 2;
	}
	hoop_log_init("bench_approval", LOG_USER, HOOP_LOG_STDERR |
	    HOOP_LOG_NO_SYSLOG);
	snprintf(dir, sizeof(dir), "%s/hoop-bench-approval.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(db, sizeof(db), "%s/hoop.db", dir);
	if (hoop_config_load_buf(config_text, strlen(config_text), "bench",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK ||
	    hoop_store_open(db, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE,
	    &store) != HOOP_OK || hoop_store_migrate(store, NULL, NULL) !=
	    HOOP_OK) {
		fprintf(stderr, "bench_approval: set-up failed\n");
		return 1;
	}
	/* No connection is carried over fork. */
	hoop_store_close(store);
	store = NULL;
	if (pipe(to) == -1 || pipe(from) == -1)
		return 1;
	if ((pid = fork()) == 0) {
		close(to[1]);
		close(from[0]);
		waiter(db, cfg, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	after_return = calloc((size_t)runs, sizeof(*after_return));
	after_call = calloc((size_t)runs, sizeof(*after_call));
	if (after_return == NULL || after_call == NULL ||
	    hoop_store_open(db, 0, &store) != HOOP_OK ||
	    hoop_approval_create(store, cfg, &svc) != HOOP_OK)
		return 1;
	principal(&alice, cfg, "sso-alice", "alice", "dev");
	principal(&bob, cfg, "sso-bob", "bob", "leads");
	op.policy = hoop_config_policy(cfg, "p");
	op.rule = &op.policy->rules[0];
	op.fingerprint = fp;
	for (i = 0; i < runs; i++) {
		snprintf(fp, sizeof(fp), "fp-%d", i);
		if (hoop_approval_request(svc, &alice, &op, &res) != HOOP_OK ||
		    write(to[1], res.id, sizeof(res.id)) != sizeof(res.id))
			return 1;
		/* Let the waiter reach its poll(). */
		usleep(30000);
		t0 = mono_us();
		if (hoop_approval_decide(svc, &bob, res.id, 1, NULL, &r, why,
		    sizeof(why)) != HOOP_OK) {
			fprintf(stderr, "decide: %s\n", why);
			return 1;
		}
		t1 = mono_us();
		if (read(from[0], &t2, sizeof(t2)) != sizeof(t2))
			return 1;
		after_return[i] = t2 - t1;
		after_call[i] = t2 - t0;
	}
	close(to[1]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	printf("# %d approvals, store in %s (synchronous=FULL)\n", runs, base);
	report("decide() returned -> waiter done", after_return, runs);
	report("decide() called -> waiter done", after_call, runs);
	hoop_approval_free(svc);
	hoop_store_close(store);
	hoop_config_free(cfg);
	snprintf(db, sizeof(db), "rm -rf '%s'", dir);
	return system(db) == 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0 ? 0 : 1;
}
