/*
 * Notifications of approval requests and decisions: to each `notify`
 * section of hoop.conf, a webhook (a JSON POST, or a Slack-compatible
 * {"text": ...}, signed with HMAC-SHA256 when a secret is configured) or
 * a command hook (the JSON on its standard input). Every sink is bounded
 * in time; a failing one is reported to the caller and never changes a
 * decision.
 *
 * Webhook signature: X-Hoop-Timestamp: T (unix seconds) and
 * X-Hoop-Signature: sha256=HEX, HEX the HMAC-SHA256 of "T.BODY" under the
 * secret file's contents (one trailing newline removed). A receiver
 * recomputes it, compares in constant time and refuses an old T.
 */
#ifndef HOOP_NOTIFY_H
#define HOOP_NOTIFY_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "hoop_config.h"
#include "hoop_err.h"

/* "sha256=" and 64 hex digits. */
#define HOOP_NOTIFY_SIG_LEN (7 + 64)
/* Largest secret file read. */
#define HOOP_NOTIFY_SECRET_MAX 4096

/* A message: the JSON event object and a one-line text for chat. */
struct hoop_notify_message {
	const char *json;
	const char *text;
};

/* What one sink did, for the caller's audit event. */
typedef void (*hoop_notify_done_fn)(void *arg, const struct hoop_notify *sink,
    int ok, const char *why);

/* Sends msg to every notify section of cfg in turn; done (if not NULL) is
 * called once per sink. Never fails: failures go to done and to syslog. */
void hoop_notify_send(const hoop_config_t *cfg,
    const struct hoop_notify_message *msg, hoop_notify_done_fn done,
    void *arg);

/* One sink. HOOP_OK when the webhook answered 2xx or the hook exited 0;
 * otherwise why says what went wrong. */
hoop_err_t hoop_notify_webhook(const struct hoop_notify *sink,
    const struct hoop_notify_message *msg, char *why, size_t whylen);
/* Command hooks run with these ids (all three of each) instead of the
 * real ones: a root process says whose rights a hook gets. */
void hoop_notify_hook_user(uid_t uid, gid_t gid);
hoop_err_t hoop_notify_command(const struct hoop_notify *sink,
    const struct hoop_notify_message *msg, char *why, size_t whylen);

/* The X-Hoop-Signature value for body sent at timestamp (decimal text). */
hoop_err_t hoop_notify_sign(const unsigned char *key, size_t keylen,
    const char *timestamp, const char *body,
    char out[HOOP_NOTIFY_SIG_LEN + 1]);

#endif
