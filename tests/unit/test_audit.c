/* Audit chain: append, verify, and detection of edits, deletions,
 * reordering and tail truncation; field validation; list output. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hoop_audit.h"
#include "hoop_log.h"
#include "hoop_store.h"
#include "store_internal.h"
#include "tap.h"

static char dir[] = "/tmp/hoop-test-audit.XXXXXX";
static int db_counter;

/* A fresh store holding n events: principal alice/bob alternating,
 * decision allow/deny alternating, time_us = 1000000 * seq. */
static hoop_store_t *
fresh_store(int n)
{
	struct hoop_audit_event ev = { .kind = "sql", .target = "prod" };
	hoop_store_t *store = NULL;
	char path[256], action[32];
	int i;

	snprintf(path, sizeof(path), "%s/a%d.db", dir, db_counter++);
	if (hoop_store_open(path, HOOP_STORE_CREATE | HOOP_STORE_MIGRATE,
	    &store) != HOOP_OK || hoop_store_migrate(store, NULL, NULL))
		return NULL;
	for (i = 1; i <= n; i++) {
		snprintf(action, sizeof(action), "SELECT %d", i);
		ev.time_us = 1000000LL * i;
		ev.principal = i % 2 ? "alice" : "bob";
		ev.decision = i % 2 ? "allow" : "deny";
		ev.action = action;
		ev.session_id = i <= 5 ? "s1" : "s2";
		if (hoop_audit_append(store, &ev, NULL) != HOOP_OK)
			return NULL;
	}
	return store;
}

static int
tamper(hoop_store_t *store, const char *sql)
{
	return sqlite3_exec(hoop_store_db(store), sql, NULL, NULL, NULL) ==
	    SQLITE_OK;
}

static void
expect_broken(const char *sql, int64_t seq, const char *phrase,
    const char *what)
{
	struct hoop_audit_verify_result res;
	hoop_store_t *store = fresh_store(10);

	if (store == NULL || !tamper(store, sql)) {
		ok(0, "%s: set up", what);
		hoop_store_close(store);
		return;
	}
	is_int(hoop_audit_verify(store, 0, NULL, &res), HOOP_ERR_AUDIT_CHAIN,
	    "%s is detected", what);
	ok(res.broken_seq == seq && strstr(res.problem, phrase) != NULL,
	    "%s: first broken link is %ld (got %ld: %s)", what, (long)seq,
	    (long)res.broken_seq, res.problem);
	hoop_store_close(store);
}

static void
test_chain(void)
{
	struct hoop_audit_verify_result res;
	hoop_store_t *store = fresh_store(10);
	char head[HOOP_AUDIT_HASH_HEX + 1];
	int64_t seq = 0;
	struct hoop_audit_event ev = { .kind = "auth", .decision = "deny",
	    .principal = "mallory", .reason = "expired token" };

	ok(store != NULL, "append 10 events");
	if (store == NULL)
		return;
	is_int(hoop_audit_verify(store, 0, NULL, &res), HOOP_OK,
	    "untouched chain verifies");
	ok(res.events == 10 && res.head_seq == 10 && res.broken_seq == 0,
	    "10 events, head 10");
	memcpy(head, res.head_hash, sizeof(head));
	ok(hoop_audit_append(store, &ev, &seq) == HOOP_OK && seq == 11,
	    "append returns the next seq");
	is_int(hoop_audit_verify(store, 10, head, &res), HOOP_OK,
	    "verify against a matching anchor");
	hoop_store_close(store);

	expect_broken("UPDATE audit_events SET reason = 'innocent' "
	    "WHERE seq = 5", 5, "altered", "an edited field");
	expect_broken("UPDATE audit_events SET reason = '' WHERE seq = 4", 4,
	    "altered", "NULL turned into an empty string");
	expect_broken("UPDATE audit_events SET time_us = time_us + 1 "
	    "WHERE seq = 7", 7, "altered", "an edited timestamp");
	expect_broken("DELETE FROM audit_events WHERE seq = 4", 4, "missing",
	    "a deleted event");
	expect_broken("DELETE FROM audit_events WHERE seq = 1", 1, "missing",
	    "a deleted first event");
	/* Reorder: events 3 and 6 swap places (contents and links). */
	expect_broken("UPDATE audit_events SET seq = -3 WHERE seq = 3;"
	    "UPDATE audit_events SET seq = 3 WHERE seq = 6;"
	    "UPDATE audit_events SET seq = 6 WHERE seq = -3", 3, "link",
	    "two swapped events");
	/* Renumber after a deletion so no gap shows: the link breaks. */
	expect_broken("DELETE FROM audit_events WHERE seq = 5;"
	    "UPDATE audit_events SET seq = seq - 1 WHERE seq > 5", 5, "link",
	    "a deletion hidden by renumbering");
	expect_broken("UPDATE audit_events SET hash = "
	    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
	    " WHERE seq = 8", 8, "altered", "a replaced hash");

	/* The tail: a chain alone cannot see it; an anchor can. */
	store = fresh_store(10);
	if (store == NULL) {
		ok(0, "fresh store for tail test");
		return;
	}
	hoop_audit_verify(store, 0, NULL, &res);
	memcpy(head, res.head_hash, sizeof(head));
	tamper(store, "DELETE FROM audit_events WHERE seq >= 9");
	is_int(hoop_audit_verify(store, 0, NULL, &res), HOOP_OK,
	    "tail deletion is invisible without an anchor");
	is_int(hoop_audit_verify(store, 10, head, &res), HOOP_ERR_AUDIT_CHAIN,
	    "tail deletion is caught by the anchor");
	ok(strstr(res.problem, "deleted") != NULL, "reason says deleted: %s",
	    res.problem);
	is_int(hoop_audit_verify(store, 5, head, &res), HOOP_ERR_AUDIT_CHAIN,
	    "an anchor hash that does not match is a rewrite");
	hoop_store_close(store);
}

static void
test_validation(void)
{
	hoop_store_t *store = fresh_store(0);
	struct hoop_audit_event ev = { .kind = "sql", .decision = "allow" };
	char *big;

	if (store == NULL) {
		ok(0, "store for validation");
		return;
	}
	ev.kind = NULL;
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_ERR_INVAL,
	    "kind is required");
	ev.kind = "sql";
	ev.decision = "";
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_ERR_INVAL,
	    "decision is required");
	ev.decision = "deny";
	big = malloc(HOOP_AUDIT_MAX_FIELD + 2);
	memset(big, 'x', HOOP_AUDIT_MAX_FIELD + 1);
	big[HOOP_AUDIT_MAX_FIELD + 1] = '\0';
	ev.action = big;
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_ERR_TOOBIG,
	    "an oversized field is refused");
	big[HOOP_AUDIT_MAX_FIELD] = '\0';
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_OK,
	    "a field at the limit is kept");
	free(big);
	ev.action = "\xff\xfe not utf-8";
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_ERR_INVAL,
	    "invalid UTF-8 is refused");
	ev.action = "ok";
	ev.detail = "{not json";
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_ERR_INVAL,
	    "a detail that is not JSON is refused");
	ev.detail = "[1,2]";
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_ERR_INVAL,
	    "a detail that is not an object is refused");
	ev.detail = "{\"rows\": 3}";
	is_int(hoop_audit_append(store, &ev, NULL), HOOP_OK,
	    "a JSON object detail is kept");
	hoop_store_close(store);
}

static char *
list(hoop_store_t *store, const struct hoop_audit_filter *f,
    enum hoop_audit_format format, size_t *lines)
{
	char *buf = NULL;
	size_t size = 0, i;
	FILE *out = open_memstream(&buf, &size);

	if (hoop_audit_list(store, f, format, out) != HOOP_OK) {
		fclose(out);
		free(buf);
		return NULL;
	}
	fclose(out);
	*lines = 0;
	for (i = 0; i < size; i++)
		if (buf[i] == '\n')
			(*lines)++;
	return buf;
}

static void
test_list(void)
{
	hoop_store_t *store = fresh_store(10);
	struct hoop_audit_filter f = { 0 };
	struct hoop_audit_event ev = { .kind = "shell", .decision = "deny",
	    .principal = "eve", .action = "echo \x1b]0;pwned\x07" };
	size_t lines = 0;
	char *out, *line, *save;
	json_t *obj;
	int all_json = 1, all_alice = 1;

	if (store == NULL) {
		ok(0, "store for list");
		return;
	}
	out = list(store, &f, HOOP_AUDIT_TEXT, &lines);
	ok(out != NULL && lines == 10, "list all: %zu lines", lines);
	free(out);
	f.principal = "alice";
	out = list(store, &f, HOOP_AUDIT_JSON_LINES, &lines);
	ok(out != NULL && lines == 5, "filter by principal: %zu lines", lines);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		obj = json_loads(line, 0, NULL);
		if (obj == NULL || !json_is_integer(json_object_get(obj, "seq")) ||
		    !json_is_string(json_object_get(obj, "hash")))
			all_json = 0;
		if (obj == NULL || strcmp(json_string_value(json_object_get(obj,
		    "principal")), "alice") != 0)
			all_alice = 0;
		json_decref(obj);
	}
	ok(all_json, "every JSON line parses with seq and hash");
	ok(all_alice, "every line is alice's");
	free(out);
	f.principal = NULL;
	f.decision = "deny";
	f.session_id = "s2";
	out = list(store, &f, HOOP_AUDIT_TEXT, &lines);
	ok(lines == 3, "decision and session filters combine (%zu)", lines);
	free(out);
	memset(&f, 0, sizeof(f));
	f.since_us = 3000000;
	f.until_us = 6000000;
	out = list(store, &f, HOOP_AUDIT_TEXT, &lines);
	ok(lines == 4, "time range is inclusive (%zu)", lines);
	free(out);
	f.limit = 2;
	out = list(store, &f, HOOP_AUDIT_TEXT, &lines);
	ok(lines == 2, "limit (%zu)", lines);
	free(out);
	memset(&f, 0, sizeof(f));
	f.principal = "eve";
	hoop_audit_append(store, &ev, NULL);
	out = list(store, &f, HOOP_AUDIT_TEXT, &lines);
	ok(out != NULL && strchr(out, 0x1b) == NULL && strchr(out, 0x07) ==
	    NULL && strstr(out, "\\x1b]0;pwned\\x07") != NULL,
	    "terminal escapes in fields are shown escaped: %s", out);
	free(out);
	out = list(store, &f, HOOP_AUDIT_JSON_LINES, &lines);
	obj = out != NULL ? json_loads(out, 0, NULL) : NULL;
	ok(obj != NULL && strcmp(json_string_value(json_object_get(obj,
	    "action")), ev.action) == 0, "JSON keeps the exact bytes");
	json_decref(obj);
	free(out);
	hoop_store_close(store);
}

static int64_t
count_events(hoop_store_t *store)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(hoop_store_db(store),
	    "SELECT count(*) FROM audit_events", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_batch(void)
{
	struct hoop_audit_verify_result res;
	hoop_store_t *store = fresh_store(3);
	struct hoop_audit_event evs[4];
	int64_t seqs[4] = { 0 }, seq = 0;
	char head[HOOP_AUDIT_HASH_HEX + 1];
	int i;

	if (store == NULL) {
		ok(0, "batch: set up");
		return;
	}
	for (i = 0; i < 4; i++)
		evs[i] = (struct hoop_audit_event){ .kind = "sql",
		    .decision = i % 2 ? "info" : "allow", .principal = "carol",
		    .action = i % 2 ? "result" : "SELECT 1",
		    .detail = i % 2 ? "{\"rows\":1}" : NULL };
	is_int(hoop_audit_append_batch(store, evs, 4, seqs), HOOP_OK,
	    "a batch of 4 is written");
	ok(seqs[0] == 4 && seqs[1] == 5 && seqs[2] == 6 && seqs[3] == 7,
	    "batch seqs follow the head in array order (%ld..%ld)",
	    (long)seqs[0], (long)seqs[3]);
	is_int(hoop_audit_verify(store, 0, NULL, &res), HOOP_OK,
	    "the chain with a batch verifies: %s", res.problem);
	ok(res.events == 7 && res.head_seq == 7, "7 events after the batch");

	/* Single appends and batches interleave on one chain. */
	is_int(hoop_audit_append(store, &evs[0], &seq), HOOP_OK,
	    "single append after a batch");
	ok(seq == 8, "single append takes seq 8 (%ld)", (long)seq);
	is_int(hoop_audit_append_batch(store, evs + 1, 2, seqs), HOOP_OK,
	    "batch after a single append");
	ok(seqs[0] == 9 && seqs[1] == 10, "then seqs 9 and 10");
	is_int(hoop_audit_verify(store, 0, NULL, &res), HOOP_OK,
	    "interleaved chain verifies: %s", res.problem);
	memcpy(head, res.head_hash, sizeof(head));
	ok(res.head_seq == 10, "head is 10");

	/* An invalid event in the middle: nothing of the batch is written. */
	evs[2].decision = NULL;
	seqs[0] = seqs[1] = seqs[2] = -1;
	is_int(hoop_audit_append_batch(store, evs, 3, seqs), HOOP_ERR_INVAL,
	    "a batch with an invalid event is refused");
	ok(count_events(store) == 10 && seqs[0] == -1,
	    "and none of its events is written (%ld)",
	    (long)count_events(store));
	evs[2].decision = "allow";
	evs[2].detail = "[1]";
	is_int(hoop_audit_append_batch(store, evs, 3, NULL), HOOP_ERR_INVAL,
	    "a batch with a non-object detail is refused");
	evs[2].detail = NULL;

	/* A failure inside the transaction rolls back the inserted ones. */
	ok(tamper(store, "CREATE TEMP TRIGGER boom BEFORE INSERT ON "
	    "main.audit_events WHEN NEW.action = 'boom' BEGIN "
	    "SELECT RAISE(ABORT, 'refused'); END"), "set up a failing insert");
	evs[2].action = "boom";
	ok(hoop_audit_append_batch(store, evs, 4, NULL) != HOOP_OK,
	    "a batch whose third insert fails fails");
	ok(count_events(store) == 10, "and leaves no event behind (%ld)",
	    (long)count_events(store));
	ok(tamper(store, "DROP TRIGGER temp.boom"), "drop the trigger");
	evs[2].action = "SELECT 1";

	/* n == 0 writes nothing and succeeds. */
	seqs[0] = -1;
	is_int(hoop_audit_append_batch(store, evs, 0, seqs), HOOP_OK,
	    "an empty batch succeeds");
	is_int(hoop_audit_append_batch(store, NULL, 0, NULL), HOOP_OK,
	    "an empty batch with no array succeeds");
	ok(count_events(store) == 10 && seqs[0] == -1,
	    "and writes nothing");
	is_int(hoop_audit_append_batch(store, evs, 4, seqs), HOOP_OK,
	    "a batch after the failures is written");
	ok(seqs[0] == 11 && seqs[3] == 14, "at seqs 11..14 (%ld..%ld)",
	    (long)seqs[0], (long)seqs[3]);
	is_int(hoop_audit_verify(store, 10, head, &res), HOOP_OK,
	    "the chain verifies against the earlier anchor: %s", res.problem);
	ok(res.events == 14, "14 events in all");
	hoop_store_close(store);
}

int
main(void)
{
	char cmd[300];

	hoop_log_init("test_audit", LOG_USER, HOOP_LOG_NO_SYSLOG);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_chain();
	test_validation();
	test_list();
	test_batch();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return done_testing();
}
