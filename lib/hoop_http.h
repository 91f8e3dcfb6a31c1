/* A small, bounded HTTP client (libcurl) for the issuer's discovery and
 * keys (lib/oidc.c) and for hoop-ssh (the CI runtime's token endpoint).
 * No redirects, certificates verified, limits on time and size. Plain
 * HTTP is allowed to loopback only, where CI runners serve their token
 * endpoint, and never with HOOP_HTTP_HTTPS_ONLY; anywhere else a bearer
 * token or an ID token would cross the network in the clear. */
#ifndef HOOP_HTTP_H
#define HOOP_HTTP_H

#include <stddef.h>

#include "hoop_err.h"

enum hoop_http_flags {
	HOOP_HTTP_HTTPS_ONLY = 1 << 0,
};

struct hoop_http_request {
	const char *url;
	const char *bearer;	/* Authorization: Bearer, or NULL */
	const char *post_body;	/* form-encoded POST body, or NULL: GET */
	/* More request headers ("Name: value"), NULL-terminated, or NULL;
	 * "Content-Type: ..." here replaces the form type of post_body. */
	const char *const *headers;
	const char *ca_file;	/* CAs to trust, or NULL: the system's */
	size_t max_body;	/* a larger answer is HOOP_ERR_TOOBIG */
	long connect_timeout;	/* seconds */
	long timeout;		/* seconds, for the whole exchange */
	unsigned flags;		/* HOOP_HTTP_* */
};

struct hoop_http_response {
	long status;
	char *body;		/* NUL-terminated; hoop_http_response_clear */
	size_t len;
};

/* On HOOP_OK *resp holds the status and body, whatever the status; on
 * failure why says what went wrong (never the bearer). */
hoop_err_t hoop_http_request(const struct hoop_http_request *req,
    struct hoop_http_response *resp, char *why, size_t whylen);

/* Wipes (the body may hold a token) and frees. */
void hoop_http_response_clear(struct hoop_http_response *resp);

/* Appends "&name=value" (or "?name=value" for the first parameter) to
 * *url, the value percent-encoded; returns -1 on failure. */
int hoop_http_url_add_param(char **url, const char *name, const char *value);

/* Appends "name=value" to a form body for post_body ("&" between pairs;
 * *body NULL starts one), the value percent-encoded; -1 on failure. The
 * old body is wiped (it may hold a device code). */
int hoop_http_form_add(char **body, const char *name, const char *value);

#endif
