/* A small HTTP client for hoop-ssh (libcurl): the CI runtime's token
 * endpoint and the SSO provider's device flow. Bounded in time and size,
 * no redirects, certificates verified. Plain HTTP is allowed to loopback
 * only, where CI runners serve their token endpoint; anywhere else a
 * bearer token or an ID token would cross the network in the clear. */
#ifndef HOOPSSH_HTTP_H
#define HOOPSSH_HTTP_H

#include <stddef.h>

#include "hoop_err.h"

#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_TIMEOUT 30L
#define HTTP_CONNECT_TIMEOUT 10L

struct http_response {
	long status;
	char *body;		/* NUL-terminated; free with http_response_clear */
	size_t len;
};

/* GET (post_body NULL) or POST of an application/x-www-form-urlencoded
 * body (for the device flow of `hoop-ssh login`, to come). bearer, if not NULL, goes in an Authorization header. On
 * HOOP_OK *resp holds the status and body, whatever the status; on
 * failure why says what went wrong (never the bearer). */
hoop_err_t http_request(const char *url, const char *bearer,
    const char *post_body, struct http_response *resp, char *why,
    size_t whylen);

/* Wipes (the body may hold a token) and frees. */
void http_response_clear(struct http_response *resp);

/* Appends "&name=value" (or "?name=value" for the first parameter) to
 * *url, the value percent-encoded; returns -1 on failure. */
int http_url_add_param(char **url, const char *name, const char *value);

/* Wipes (it may hold a secret) and frees a string. */
void http_wipe_free(char *s);

#endif
