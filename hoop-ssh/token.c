#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "hoop_b64.h"
#include "hoop_tokenread.h"
#include "hoop_util.h"
#include "hoop_http.h"
#include "token.h"

/* The runtime answers {"count": N, "value": "<jwt>"}: a few KB. */
#define TOKEN_HTTP_MAX_BODY (64 * 1024)

/* What a token file may hold before we stop reading: far more than the
 * server takes, so that the size error comes from token_check. */
#define TOKEN_FILE_MAX (1024 * 1024)

void
token_free(char *token)
{
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
}

int
token_check(char *token, const char *source, char *why, size_t whylen)
{
	size_t len = strlen(token), dots = 0, i;

	while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r' ||
	    token[len - 1] == ' ' || token[len - 1] == '\t'))
		token[--len] = '\0';
	if (len == 0) {
		hoop_why(why, whylen, "the token from %s is empty", source);
		return -1;
	}
	if (len > HOOP_TOKENREAD_MAX_TOKEN) {
		hoop_why(why, whylen, "the token from %s is %zu bytes, over the "
		    "bastion's limit of %d", source, len,
		    HOOP_TOKENREAD_MAX_TOKEN);
		return -1;
	}
	if (!hoop_tokenread_chars_ok(token, len)) {
		hoop_why(why, whylen, "the token from %s is not a JWT "
		    "(characters outside base64url)", source);
		return -1;
	}
	for (i = 0; i < len; i++)
		dots += token[i] == '.';
	if (dots != 2) {
		hoop_why(why, whylen, "the token from %s is not a JWT (%zu "
		    "segments, not 3)", source, dots + 1);
		return -1;
	}
	return 0;
}

int
token_exp(const char *token, long long *exp)
{
	const char *p = strchr(token, '.'), *q;
	unsigned char *payload = NULL;
	size_t len = 0;
	json_t *claims = NULL, *v;
	int ret = -1;

	if (p == NULL || (q = strchr(p + 1, '.')) == NULL)
		goto out;
	if (hoop_b64url_decode(p + 1, (size_t)(q - p - 1), &payload, &len) !=
	    HOOP_OK)
		goto out;
	if ((claims = json_loadb((const char *)payload, len,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (v = json_object_get(claims, "exp")) == NULL ||
	    !json_is_integer(v))
		goto out;
	*exp = (long long)json_integer_value(v);
	ret = 0;
out:
	json_decref(claims);
	if (payload != NULL) {
		explicit_bzero(payload, len);
		free(payload);
	}
	return ret;
}

static hoop_err_t
from_file(const char *path, char **token, char *why, size_t whylen)
{
	hoop_err_t err;
	size_t len;

	if ((err = hoop_read_file(path, TOKEN_FILE_MAX, token, &len)) !=
	    HOOP_OK)
		hoop_why(why, whylen, "cannot read token file %s: %s", path,
		    hoop_strerror(err));
	return err;
}

/* GitHub Actions: the runner's ID token request. The job needs
 * `permissions: id-token: write`, without which the two variables are
 * not set. The response is {"count": N, "value": "<jwt>"}. */
static hoop_err_t
from_github(const char *req_url, const char *req_token, const char *aud,
    char **token, char *why, size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_IO;
	struct hoop_http_response resp = { 0 };
	struct hoop_http_request req = {
		.bearer = req_token, .max_body = TOKEN_HTTP_MAX_BODY,
		.connect_timeout = 10, .timeout = 30,
	};
	char *url = NULL, herr[256];
	json_t *doc = NULL, *v;
	json_error_t jerr;

	if ((url = strdup(req_url)) == NULL ||
	    (aud != NULL && hoop_http_url_add_param(&url, "audience", aud) == -1)) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	req.url = url;
	if ((ret = hoop_http_request(&req, &resp, herr, sizeof(herr))) !=
	    HOOP_OK) {
		hoop_why(why, whylen, "GitHub Actions ID token request: %s",
		    herr);
		goto out;
	}
	ret = HOOP_ERR_IO;
	if (resp.status != 200) {
		hoop_why(why, whylen, "GitHub Actions ID token request: HTTP "
		    "status %ld", resp.status);
		goto out;
	}
	if ((doc = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(doc) ||
	    (v = json_object_get(doc, "value")) == NULL || !json_is_string(v)) {
		hoop_why(why, whylen, "GitHub Actions ID token request: the "
		    "response has no \"value\" string");
		goto out;
	}
	if ((*token = strdup(json_string_value(v))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	ret = HOOP_OK;
out:
	/* jansson holds a copy of the token: wipe it before the free. */
	if (doc != NULL && (v = json_object_get(doc, "value")) != NULL &&
	    json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
	json_decref(doc);
	free(url);
	hoop_http_response_clear(&resp);
	return ret;
}

/* The token `hoop-ssh login` cached, unless it has expired (or is
 * about to): the bastion would refuse it, and the user should know why. */
static hoop_err_t
from_cache(char **token, char *why, size_t whylen)
{
	hoop_err_t ret;
	long long exp, now = (long long)time(NULL);
	char *t = NULL, when[64], span[32];

	if ((ret = token_cache_read(&t, why, whylen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	if (token_exp(t, &exp) == -1) {
		hoop_why(why, whylen, "the cached token has no expiry; run "
		    "'hoop-ssh login' for a new one");
		goto out;
	}
	if (exp <= now + TOKEN_CACHE_MARGIN) {
		token_format_time(exp, when, sizeof(when));
		token_format_span(exp - now, span, sizeof(span));
		hoop_why(why, whylen, "the token from 'hoop-ssh login' %s %s "
		    "(%s %s); run 'hoop-ssh login' for a new one",
		    exp <= now ? "expired at" : "expires at", when, span,
		    exp <= now ? "ago" : "from now, too soon to use");
		goto out;
	}
	*token = t;
	t = NULL;
	ret = HOOP_OK;
out:
	token_free(t);
	return ret;
}

hoop_err_t
token_get(const struct token_opts *o, char **token, const char **source,
    char *why, size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_NOTFOUND;
	const char *env, *gh_url, *gh_token, *var, *src = NULL, *aud;
	char *t = NULL;

	var = o->gitlab_var != NULL ? o->gitlab_var : TOKEN_DEFAULT_GITLAB_VAR;
	gh_url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	gh_token = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	aud = o->audience != NULL ? o->audience : getenv("HOOP_AUDIENCE");
	if (aud != NULL && *aud == '\0')
		aud = NULL;
	if (o->file != NULL) {
		src = "--token-file";
		if ((ret = from_file(o->file, &t, why, whylen)) != HOOP_OK)
			goto out;
	} else if ((env = getenv("HOOP_TOKEN")) != NULL && *env != '\0') {
		src = "HOOP_TOKEN";
		if ((t = strdup(env)) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
	} else if ((env = getenv("HOOP_TOKEN_FILE")) != NULL && *env != '\0') {
		src = "HOOP_TOKEN_FILE";
		if ((ret = from_file(env, &t, why, whylen)) != HOOP_OK)
			goto out;
	} else if (gh_url != NULL && *gh_url != '\0' && gh_token != NULL &&
	    *gh_token != '\0') {
		src = "GitHub Actions";
		if ((ret = from_github(gh_url, gh_token, aud, &t, why,
		    whylen)) != HOOP_OK)
			goto out;
	} else if ((env = getenv(var)) != NULL && *env != '\0') {
		src = var;
		if ((t = strdup(env)) == NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
	} else if ((ret = from_cache(&t, why, whylen)) != HOOP_ERR_NOTFOUND) {
		src = TOKEN_SOURCE_CACHE;
		if (ret != HOOP_OK)
			goto out;
	} else {
		env = getenv("GITHUB_ACTIONS");
		if (env != NULL && strcmp(env, "true") == 0)
			hoop_why(why, whylen, "no token: in GitHub Actions the job "
			    "needs 'permissions: id-token: write' (then "
			    "ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN are set)");
		else if (getenv("GITLAB_CI") != NULL)
			hoop_why(why, whylen, "no token: in GitLab CI declare "
			    "'id_tokens: %s: aud: ...' in the job, or name "
			    "the variable with --gitlab-token-var", var);
		else
			hoop_why(why, whylen, "no token: use --token-file, "
			    "HOOP_TOKEN or HOOP_TOKEN_FILE, run in GitHub "
			    "Actions or GitLab CI, or log in with 'hoop-ssh "
			    "login'");
		goto out;
	}
	if (token_check(t, src, why, whylen) == -1) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	*token = t;
	t = NULL;
	*source = src;
	ret = HOOP_OK;
out:
	token_free(t);
	return ret;
}
