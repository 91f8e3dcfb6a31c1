#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hoop_devflow.h"
#include "hoop_tokenread.h"
#include "hoop_util.h"

/* The longest error code and description quoted back to the user. */
#define QUOTE_MAX 200

enum text_class {
	TEXT_URL,	/* printable ASCII, no space */
	TEXT_CODE,	/* printable ASCII and space */
	TEXT_ANY,	/* anything (sent back, never shown) */
};

static int
text_ok(const char *s, size_t len, enum text_class c)
{
	size_t i;
	unsigned char ch;

	if (c == TEXT_ANY)
		return strlen(s) == len;	/* no NUL inside */
	for (i = 0; i < len; i++) {
		ch = (unsigned char)s[i];
		if (ch > 0x7e || ch < (c == TEXT_URL ? 0x21 : 0x20))
			return 0;
	}
	return 1;
}

/* Issuer text for a message: at most QUOTE_MAX bytes, anything but
 * printable ASCII as '?', so that it cannot drive the terminal. */
static void
quote(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < QUOTE_MAX && i + 1 < outlen; i++)
		out[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (outlen > 0)
		out[i] = '\0';
}

static void
wipe_strings(json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach(obj, key, v)
		if (json_is_string(v))
			explicit_bzero((char *)json_string_value(v),
			    json_string_length(v));
}

static hoop_err_t
load_object(const char *body, size_t len, json_t **out)
{
	json_t *doc;

	if (len > HOOP_DEVFLOW_MAX_BODY)
		return HOOP_ERR_TOOBIG;
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		return HOOP_ERR_INVAL;
	}
	*out = doc;
	return HOOP_OK;
}

/* A string member: HOOP_ERR_NOTFOUND if absent, HOOP_ERR_INVAL for the
 * wrong type, an empty string or characters outside its class,
 * HOOP_ERR_TOOBIG over max. *out is a copy (or stays NULL if absent). */
static hoop_err_t
get_text(json_t *obj, const char *name, size_t max, enum text_class c,
    char **out, char *why, size_t whylen)
{
	json_t *v = json_object_get(obj, name);
	size_t len;

	if (v == NULL || json_is_null(v))
		return HOOP_ERR_NOTFOUND;
	if (!json_is_string(v) || (len = json_string_length(v)) == 0) {
		hoop_why(why, whylen, "\"%s\" is not a non-empty string", name);
		return HOOP_ERR_INVAL;
	}
	if (len > max) {
		hoop_why(why, whylen, "\"%s\" is %zu bytes, over %zu", name,
		    len, max);
		return HOOP_ERR_TOOBIG;
	}
	if (!text_ok(json_string_value(v), len, c)) {
		hoop_why(why, whylen, "\"%s\" has characters that are not "
		    "printable ASCII", name);
		return HOOP_ERR_INVAL;
	}
	if ((*out = strdup(json_string_value(v))) == NULL)
		return HOOP_ERR_NOMEM;
	return HOOP_OK;
}

static hoop_err_t
need_text(json_t *obj, const char *name, size_t max, enum text_class c,
    char **out, char *why, size_t whylen)
{
	hoop_err_t err = get_text(obj, name, max, c, out, why, whylen);

	if (err == HOOP_ERR_NOTFOUND) {
		hoop_why(why, whylen, "no \"%s\"", name);
		return HOOP_ERR_INVAL;
	}
	return err;
}

/* An integer member within lo..hi; *out keeps its value if absent. */
static hoop_err_t
get_seconds(json_t *obj, const char *name, long lo, long hi, int required,
    long *out, char *why, size_t whylen)
{
	json_t *v = json_object_get(obj, name);
	json_int_t n;

	if (v == NULL || json_is_null(v)) {
		if (!required)
			return HOOP_OK;
		hoop_why(why, whylen, "no \"%s\"", name);
		return HOOP_ERR_INVAL;
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < lo ||
	    n > hi) {
		hoop_why(why, whylen, "\"%s\" is not a number of seconds from "
		    "%ld to %ld", name, lo, hi);
		return HOOP_ERR_INVAL;
	}
	*out = (long)n;
	return HOOP_OK;
}

static size_t
trimmed_len(const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == '/')
		len--;
	return len;
}

static int
is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0 && url[8] != '\0';
}

void
hoop_devflow_endpoints_clear(struct hoop_devflow_endpoints *e)
{
	free(e->device_authorization);
	free(e->token);
	memset(e, 0, sizeof(*e));
}

hoop_err_t
hoop_devflow_parse_discovery(const char *body, size_t len,
    const char *issuer, struct hoop_devflow_endpoints *out, char *why,
    size_t whylen)
{
	struct hoop_devflow_endpoints e = { 0 };
	hoop_err_t ret;
	json_t *doc = NULL;
	char *iss = NULL, sub[256] = "";

	memset(out, 0, sizeof(*out));
	if ((ret = load_object(body, len, &doc)) != HOOP_OK) {
		hoop_why(why, whylen, "the discovery document is %s",
		    ret == HOOP_ERR_TOOBIG ? "too large" : "not a JSON object");
		goto out;
	}
	if ((ret = need_text(doc, "issuer", HOOP_DEVFLOW_MAX_URL, TEXT_URL,
	    &iss, sub, sizeof(sub))) != HOOP_OK)
		goto bad;
	if (trimmed_len(iss) != trimmed_len(issuer) ||
	    memcmp(iss, issuer, trimmed_len(iss)) != 0) {
		hoop_why(why, whylen, "the discovery document is for another "
		    "issuer (%.200s)", iss);
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	ret = get_text(doc, "device_authorization_endpoint",
	    HOOP_DEVFLOW_MAX_URL, TEXT_URL, &e.device_authorization, sub,
	    sizeof(sub));
	if (ret == HOOP_ERR_NOTFOUND) {
		hoop_why(why, whylen, "the issuer does not offer the device "
		    "authorization grant (no device_authorization_endpoint in "
		    "its discovery document)");
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	if (ret != HOOP_OK ||
	    (ret = need_text(doc, "token_endpoint", HOOP_DEVFLOW_MAX_URL,
	    TEXT_URL, &e.token, sub, sizeof(sub))) != HOOP_OK)
		goto bad;
	if (!is_https(e.device_authorization) || !is_https(e.token)) {
		hoop_why(why, whylen, "the discovery document names an endpoint "
		    "that is not https");
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	*out = e;
	memset(&e, 0, sizeof(e));
	ret = HOOP_OK;
	goto out;
bad:
	if (ret != HOOP_ERR_NOMEM)
		hoop_why(why, whylen, "bad discovery document: %s", sub);
out:
	hoop_devflow_endpoints_clear(&e);
	free(iss);
	json_decref(doc);
	return ret;
}

/* An OAuth error answer: {"error": CODE, "error_description": TEXT}.
 * Returns the code (a pointer into obj) or NULL; desc gets the quoted
 * description, or "". */
static const char *
oauth_error(json_t *obj, char *desc, size_t desclen)
{
	json_t *e = json_object_get(obj, "error");
	json_t *d = json_object_get(obj, "error_description");

	if (desclen > 0)
		desc[0] = '\0';
	if (!json_is_string(e) || json_string_length(e) == 0)
		return NULL;
	if (json_is_string(d))
		quote(desc, desclen, json_string_value(d));
	return json_string_value(e);
}

/* "CODE" or "CODE: description", quoted, for a message. */
static void
quote_error(char *out, size_t outlen, const char *code, const char *desc)
{
	char q[QUOTE_MAX + 1];

	quote(q, sizeof(q), code);
	if (desc[0] != '\0')
		snprintf(out, outlen, "%s: %s", q, desc);
	else
		snprintf(out, outlen, "%s", q);
}

void
hoop_devflow_device_clear(struct hoop_devflow_device *d)
{
	hoop_wipe_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	memset(d, 0, sizeof(*d));
}

hoop_err_t
hoop_devflow_parse_device(long status, const char *body, size_t len,
    struct hoop_devflow_device *out, char *why, size_t whylen)
{
	struct hoop_devflow_device d = {
		.interval = HOOP_DEVFLOW_DEFAULT_INTERVAL,
	};
	hoop_err_t ret;
	json_t *doc = NULL;
	const char *code;
	char sub[256] = "", desc[QUOTE_MAX + 1], err[2 * QUOTE_MAX + 8];

	memset(out, 0, sizeof(*out));
	ret = load_object(body, len, &doc);
	if (ret == HOOP_OK && status != 200 &&
	    (code = oauth_error(doc, desc, sizeof(desc))) != NULL) {
		quote_error(err, sizeof(err), code, desc);
		hoop_why(why, whylen, "the issuer refused the device "
		    "authorization request: %s", err);
		ret = HOOP_ERR_DENIED;
		goto out;
	}
	if (status != 200) {
		hoop_why(why, whylen, "device authorization request: HTTP "
		    "status %ld", status);
		ret = HOOP_ERR_IO;
		goto out;
	}
	if (ret != HOOP_OK) {
		hoop_why(why, whylen, "the device authorization response is %s",
		    ret == HOOP_ERR_TOOBIG ? "too large" : "not a JSON object");
		goto out;
	}
	if ((ret = need_text(doc, "device_code", HOOP_DEVFLOW_MAX_DEVICE_CODE,
	    TEXT_ANY, &d.device_code, sub, sizeof(sub))) != HOOP_OK ||
	    (ret = need_text(doc, "user_code", HOOP_DEVFLOW_MAX_USER_CODE,
	    TEXT_CODE, &d.user_code, sub, sizeof(sub))) != HOOP_OK ||
	    (ret = need_text(doc, "verification_uri", HOOP_DEVFLOW_MAX_URL,
	    TEXT_URL, &d.verification_uri, sub, sizeof(sub))) != HOOP_OK)
		goto bad;
	ret = get_text(doc, "verification_uri_complete", HOOP_DEVFLOW_MAX_URL,
	    TEXT_URL, &d.verification_uri_complete, sub, sizeof(sub));
	if (ret != HOOP_OK && ret != HOOP_ERR_NOTFOUND)
		goto bad;
	/* An interval of 0 would poll in a tight loop: 1 s at least. */
	if ((ret = get_seconds(doc, "expires_in", 1,
	    HOOP_DEVFLOW_MAX_EXPIRES_IN, 1, &d.expires_in, sub,
	    sizeof(sub))) != HOOP_OK ||
	    (ret = get_seconds(doc, "interval", 0, HOOP_DEVFLOW_MAX_INTERVAL,
	    0, &d.interval, sub, sizeof(sub))) != HOOP_OK)
		goto bad;
	if (d.interval < 1)
		d.interval = 1;
	*out = d;
	memset(&d, 0, sizeof(d));
	ret = HOOP_OK;
	goto out;
bad:
	if (ret != HOOP_ERR_NOMEM)
		hoop_why(why, whylen, "bad device authorization response: %s",
		    sub);
out:
	hoop_devflow_device_clear(&d);
	wipe_strings(doc);
	json_decref(doc);
	return ret;
}

enum hoop_devflow_poll
hoop_devflow_parse_token(long status, const char *body, size_t len,
    char **id_token, char *why, size_t whylen)
{
	enum hoop_devflow_poll ret = HOOP_DEVFLOW_ERROR;
	json_t *doc = NULL;
	const char *code;
	char *tok = NULL, sub[256] = "", desc[QUOTE_MAX + 1];
	char err[2 * QUOTE_MAX + 8];
	hoop_err_t e;

	*id_token = NULL;
	if ((e = load_object(body, len, &doc)) != HOOP_OK) {
		if (status != 200)
			hoop_why(why, whylen, "token request: HTTP status %ld",
			    status);
		else
			hoop_why(why, whylen, "the token response is %s",
			    e == HOOP_ERR_TOOBIG ? "too large" :
			    "not a JSON object");
		goto out;
	}
	/* Some issuers answer the pending states with 200: the error
	 * member decides, whatever the status. */
	if ((code = oauth_error(doc, desc, sizeof(desc))) != NULL) {
		if (strcmp(code, "authorization_pending") == 0)
			ret = HOOP_DEVFLOW_PENDING;
		else if (strcmp(code, "slow_down") == 0)
			ret = HOOP_DEVFLOW_SLOW_DOWN;
		else if (strcmp(code, "access_denied") == 0)
			ret = HOOP_DEVFLOW_DENIED;
		else if (strcmp(code, "expired_token") == 0)
			ret = HOOP_DEVFLOW_EXPIRED;
		else {
			quote_error(err, sizeof(err), code, desc);
			hoop_why(why, whylen, "the issuer refused the token "
			    "request: %s", err);
		}
		goto out;
	}
	if (status != 200) {
		hoop_why(why, whylen, "token request: HTTP status %ld", status);
		goto out;
	}
	e = get_text(doc, "id_token", HOOP_TOKENREAD_MAX_TOKEN, TEXT_URL, &tok,
	    sub, sizeof(sub));
	if (e == HOOP_ERR_NOMEM) {
		ret = HOOP_DEVFLOW_NOMEM;
		goto out;
	}
	if (e == HOOP_ERR_NOTFOUND) {
		hoop_why(why, whylen, "the token response has no id_token (is "
		    "the openid scope allowed for this client?)");
		goto out;
	}
	if (e != HOOP_OK) {
		hoop_why(why, whylen, "bad token response: %s", sub);
		goto out;
	}
	if (!hoop_tokenread_chars_ok(tok, strlen(tok))) {
		hoop_why(why, whylen, "bad token response: the id_token is not "
		    "a JWT");
		goto out;
	}
	*id_token = tok;
	tok = NULL;
	ret = HOOP_DEVFLOW_TOKEN;
out:
	hoop_wipe_free(tok);
	wipe_strings(doc);
	json_decref(doc);
	return ret;
}
