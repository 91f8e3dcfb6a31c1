#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "hoop_http.h"
#include "hoop_util.h"

struct body {
	char *data;
	size_t len;
	size_t max;
	int too_big;
};

void
hoop_http_response_clear(struct hoop_http_response *resp)
{
	if (resp->body != NULL) {
		explicit_bzero(resp->body, resp->len);
		free(resp->body);
	}
	memset(resp, 0, sizeof(*resp));
}

static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (n > b->max - b->len) {
		b->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	/* Grow into a fresh buffer so no copy of a token is left behind
	 * in freed memory (realloc may move without wiping). */
	if ((p = malloc(b->len + n + 1)) == NULL)
		return 0;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->data = p;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static int
loopback_host(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strncmp(host, "127.", 4) == 0;
}

/* https anywhere; http only to loopback, unless https_only. */
static int
url_allowed(const char *url, int https_only, char *why, size_t whylen)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		hoop_why(why, whylen, "not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "https") == 0 || (!https_only &&
	    strcmp(scheme, "http") == 0 && loopback_host(host)))
		ok = 1;
	else
		hoop_why(why, whylen, "refusing %s URL to %s (%s)", scheme, host,
		    https_only ? "https only" : "https, or http to loopback "
		    "only");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

hoop_err_t
hoop_http_request(const struct hoop_http_request *req,
    struct hoop_http_response *resp, char *why, size_t whylen)
{
	const char *url = req->url, *bearer = req->bearer;
	hoop_err_t ret = HOOP_ERR_IO;
	struct curl_slist *headers = NULL, *h;
	struct body b = { .max = req->max_body };
	char *auth = NULL;
	CURL *curl = NULL;
	CURLcode rc;
	size_t n;

	memset(resp, 0, sizeof(*resp));
	if (!url_allowed(url, req->flags & HOOP_HTTP_HTTPS_ONLY, why,
	    whylen)) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	if ((curl = curl_easy_init()) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((h = curl_slist_append(headers, "Accept: application/json")) ==
	    NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	headers = h;
	if (bearer != NULL) {
		n = strlen("Authorization: Bearer ") + strlen(bearer) + 1;
		if ((auth = malloc(n)) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		snprintf(auth, n, "Authorization: Bearer %s", bearer);
		if ((h = curl_slist_append(headers, auth)) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		headers = h;
	}
	for (n = 0; req->headers != NULL && req->headers[n] != NULL; n++) {
		if ((h = curl_slist_append(headers, req->headers[n])) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		headers = h;
	}
	/* Redirects off: a bearer token must not follow them elsewhere. */
	if (curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR,
	    (req->flags & HOOP_HTTP_HTTPS_ONLY) ? "https" : "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    req->connect_timeout) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_TIMEOUT, req->timeout) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE, (long)req->max_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_USERAGENT, "hoop") != CURLE_OK ||
	    (req->ca_file != NULL &&
	    curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b) != CURLE_OK ||
	    (req->post_body != NULL &&
	    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->post_body) !=
	    CURLE_OK)) {
		hoop_why(why, whylen, "cannot set up the HTTP request");
		goto out;
	}
	rc = curl_easy_perform(curl);
	if (b.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		hoop_why(why, whylen, "response larger than %zu bytes",
		    req->max_body);
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if (rc != CURLE_OK) {
		hoop_why(why, whylen, "%s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (b.data == NULL && (b.data = strdup("")) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	resp->body = b.data;
	resp->len = b.len;
	b.data = NULL;
	ret = HOOP_OK;
out:
	if (b.data != NULL) {
		explicit_bzero(b.data, b.len);
		free(b.data);
	}
	hoop_wipe_free(auth);
	/* curl copied the header into the list: wipe that copy too. */
	for (h = headers; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return ret;
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

/* Appends sep name=value to *s (value percent-encoded). */
static int
append_pair(char **s, const char *sep, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t have = *s != NULL ? strlen(*s) : 0, i, o;
	size_t need = have + strlen(sep) + strlen(name) + 1 +
	    3 * strlen(value) + 1;
	char *p;

	if ((p = malloc(need)) == NULL)
		return -1;
	o = (size_t)snprintf(p, need, "%s%s%s=", *s != NULL ? *s : "", sep,
	    name);
	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if (unreserved(c))
			p[o++] = (char)c;
		else {
			p[o++] = '%';
			p[o++] = hex[c >> 4];
			p[o++] = hex[c & 15];
		}
	}
	p[o] = '\0';
	hoop_wipe_free(*s);
	*s = p;
	return 0;
}

int
hoop_http_url_add_param(char **url, const char *name, const char *value)
{
	return append_pair(url, strchr(*url, '?') != NULL ? "&" : "?", name,
	    value);
}

int
hoop_http_form_add(char **body, const char *name, const char *value)
{
	return append_pair(body, *body != NULL ? "&" : "", name, value);
}
