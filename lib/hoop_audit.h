/* The audit log: one append-only, hash-chained event per security
 * decision. Each event's hash covers its fields and the previous event's
 * hash, so an edit, a deletion or a reordering breaks the chain. */
#ifndef HOOP_AUDIT_H
#define HOOP_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "hoop_err.h"
#include "hoop_store.h"

#define HOOP_AUDIT_HASH_HEX 64	/* SHA-256, lower-case hex */
/* No field may be larger: an event is a decision, not a payload. */
#define HOOP_AUDIT_MAX_FIELD (64 * 1024)

struct hoop_audit_event {
	int64_t time_us;	/* 0: now */
	const char *session_id;
	const char *principal;	/* who: login name or subject */
	const char *identity;	/* the identity rule that matched */
	const char *target;	/* where */
	const char *kind;	/* auth, shell, sql, kube, approval, admin... */
	const char *action;	/* what was attempted */
	const char *decision;	/* allow, deny, approve, error, info */
	const char *reason;
	const char *rule;
	const char *detail;	/* optional JSON object */
};

/* Appends one event. A caller that cannot record its decision must not
 * act on it: on error, fail closed. kind "auth" also goes to syslog
 * (authpriv). */
hoop_err_t hoop_audit_append(hoop_store_t *store,
    const struct hoop_audit_event *event, int64_t *seq_out);

/* Appends n events in one transaction, chained in array order: all of
 * them or none. seqs (may be NULL) receives each event's seq. Events
 * with time_us 0 share one "now". n == 0 writes nothing. */
hoop_err_t hoop_audit_append_batch(hoop_store_t *store,
    const struct hoop_audit_event *events, size_t n, int64_t *seqs);

struct hoop_audit_verify_result {
	int64_t events;		/* events checked */
	int64_t broken_seq;	/* first broken link, 0 if intact */
	char problem[160];	/* what is wrong there */
	int64_t head_seq;	/* last event */
	char head_hash[HOOP_AUDIT_HASH_HEX + 1];
};

/* Walks the whole chain. HOOP_OK when intact, HOOP_ERR_AUDIT_CHAIN with
 * result->broken_seq and result->problem otherwise. If anchor_seq > 0, the
 * event with that seq must exist and carry anchor_hash: a hash kept
 * elsewhere (hoopctl audit head) catches deletion of the newest events,
 * which a chain alone cannot. */
hoop_err_t hoop_audit_verify(hoop_store_t *store, int64_t anchor_seq,
    const char *anchor_hash, struct hoop_audit_verify_result *result);

struct hoop_audit_filter {
	const char *principal;
	const char *session_id;
	const char *target;
	const char *decision;
	const char *kind;
	int64_t since_us;	/* 0: no lower bound */
	int64_t until_us;	/* 0: no upper bound */
	int64_t limit;		/* 0: all */
};

enum hoop_audit_format {
	HOOP_AUDIT_TEXT,
	HOOP_AUDIT_JSON_LINES,
};

hoop_err_t hoop_audit_list(hoop_store_t *store,
    const struct hoop_audit_filter *filter, enum hoop_audit_format format,
    FILE *out);

#endif
