/* `hoop-ssh login`: an ID token for ops staff from the SSO issuer, with
 * the OAuth 2.0 Device Authorization Grant (RFC 8628): discovery, the
 * device authorization request, the code shown to the user, polling the
 * token endpoint (authorization_pending, slow_down, access_denied,
 * expired_token), then the ID token into the private cache (cache.c),
 * where later connections find it. `hoop-ssh logout` removes it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "hoop_devflow.h"
#include "hoop_http.h"
#include "hoop_util.h"
#include "hoopssh.h"
#include "token.h"

#define LOGIN_EXIT_FAIL 1
#define SCOPE_MAX 1024
#define DISCOVERY_PATH "/.well-known/openid-configuration"

struct login_opts {
	const char *issuer;
	const char *client_id;
	const char *audience;
	const char *ca_file;
	char scope[SCOPE_MAX];
	int verbose;
};

enum {
	OPT_ISSUER = 256,
	OPT_CLIENT_ID,
	OPT_SCOPE,
	OPT_AUDIENCE,
	OPT_CA_FILE,
};

static const struct option login_long_opts[] = {
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "audience", required_argument, NULL, OPT_AUDIENCE },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
login_usage(FILE *f)
{
	fprintf(f,
	    "usage: hoop-ssh login [options]\n"
	    "  --issuer URL       the SSO issuer (or HOOP_SSO_ISSUER)\n"
	    "  --client-id ID     its client for hoop (or HOOP_SSO_CLIENT_ID)\n"
	    "  --scope SCOPE      scopes besides openid (or HOOP_SSO_SCOPE)\n"
	    "  --audience AUD     audience parameter, for issuers that take "
	    "one\n"
	    "                     (or HOOP_SSO_AUDIENCE)\n"
	    "  --ca-file FILE     CAs for the issuer's certificate "
	    "(or HOOP_SSO_CA_FILE)\n"
	    "  -v, --verbose\n"
	    "Shows a code to enter at the issuer's sign-in page, waits for "
	    "the sign-in,\nthen keeps the ID token in the private cache "
	    "for later connections.\n");
}

static const char *
env_or(const char *value, const char *name)
{
	const char *env;

	if (value != NULL)
		return value;
	env = getenv(name);
	return env != NULL && *env != '\0' ? env : NULL;
}

/* scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 3.3). */
static int
scope_token_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	return len > 0;
}

/* Adds the words of a --scope value (spaces or commas between them),
 * each once, after "openid". */
static int
scope_add(char *scope, size_t size, const char *words)
{
	const char *p = words, *end;
	size_t len, have;
	char word[SCOPE_MAX], *hit;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (end = p; *end != '\0' && *end != ' ' && *end != ','; end++)
			;
		if ((len = (size_t)(end - p)) == 0)
			break;
		if (!scope_token_ok(p, len) || len >= sizeof(word)) {
			hoopssh_err("bad scope: %.*s", (int)len, p);
			return -1;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		/* Already there as a whole word? */
		for (hit = strstr(scope, word); hit != NULL;
		    hit = strstr(hit + 1, word))
			if ((hit == scope || hit[-1] == ' ') &&
			    (hit[len] == ' ' || hit[len] == '\0'))
				break;
		if (hit == NULL) {
			have = strlen(scope);
			if (have + 1 + len + 1 > size) {
				hoopssh_err("too many scopes");
				return -1;
			}
			scope[have] = ' ';
			memcpy(scope + have + 1, word, len + 1);
		}
		p = end;
	}
	return 0;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_seconds(long secs)
{
	struct timespec left = { .tv_sec = secs, .tv_nsec = 0 };

	while (nanosleep(&left, &left) == -1 && errno == EINTR)
		;
}

static hoop_err_t
http_call(const struct login_opts *o, const char *url, const char *form,
    struct hoop_http_response *resp, char *why, size_t whylen)
{
	struct hoop_http_request req = {
		.url = url, .post_body = form, .ca_file = o->ca_file,
		.max_body = HOOP_DEVFLOW_MAX_BODY, .connect_timeout = 10,
		.timeout = 30, .flags = HOOP_HTTP_HTTPS_ONLY,
	};

	return hoop_http_request(&req, resp, why, whylen);
}

static int
discover(const struct login_opts *o, struct hoop_devflow_endpoints *ep)
{
	struct hoop_http_response resp = { 0 };
	char *url = NULL, why[512];
	size_t len = strlen(o->issuer);
	int ret = -1;

	while (len > 0 && o->issuer[len - 1] == '/')
		len--;
	if ((url = malloc(len + sizeof(DISCOVERY_PATH))) == NULL) {
		hoopssh_err("out of memory");
		goto out;
	}
	memcpy(url, o->issuer, len);
	memcpy(url + len, DISCOVERY_PATH, sizeof(DISCOVERY_PATH));
	if (o->verbose)
		hoopssh_err("discovery: %s", url);
	if (http_call(o, url, NULL, &resp, why, sizeof(why)) != HOOP_OK) {
		hoopssh_err("cannot reach the issuer: %s: %s", url, why);
		goto out;
	}
	if (resp.status != 200) {
		hoopssh_err("issuer discovery %s: HTTP status %ld (is the "
		    "issuer URL right?)", url, resp.status);
		goto out;
	}
	if (hoop_devflow_parse_discovery(resp.body, resp.len, o->issuer, ep,
	    why, sizeof(why)) != HOOP_OK) {
		hoopssh_err("issuer %s: %s", o->issuer, why);
		goto out;
	}
	ret = 0;
out:
	hoop_http_response_clear(&resp);
	free(url);
	return ret;
}

static int
start_device_flow(const struct login_opts *o,
    const struct hoop_devflow_endpoints *ep, struct hoop_devflow_device *dev)
{
	struct hoop_http_response resp = { 0 };
	char *form = NULL, why[512];
	int ret = -1;

	if (hoop_http_form_add(&form, "client_id", o->client_id) == -1 ||
	    hoop_http_form_add(&form, "scope", o->scope) == -1 ||
	    (o->audience != NULL &&
	    hoop_http_form_add(&form, "audience", o->audience) == -1)) {
		hoopssh_err("out of memory");
		goto out;
	}
	if (o->verbose)
		hoopssh_err("device authorization: %s (scope \"%s\")",
		    ep->device_authorization, o->scope);
	if (http_call(o, ep->device_authorization, form, &resp, why,
	    sizeof(why)) != HOOP_OK) {
		hoopssh_err("device authorization request to %s: %s",
		    ep->device_authorization, why);
		goto out;
	}
	if (hoop_devflow_parse_device(resp.status, resp.body, resp.len, dev,
	    why, sizeof(why)) != HOOP_OK) {
		hoopssh_err("%s", why);
		goto out;
	}
	ret = 0;
out:
	hoop_http_response_clear(&resp);
	hoop_wipe_free(form);
	return ret;
}

static void
show_code(const struct login_opts *o, const struct hoop_devflow_device *dev)
{
	char span[32];

	token_format_span(dev->expires_in, span, sizeof(span));
	fprintf(stderr, "hoop-ssh: to sign in to %s, open\n"
	    "hoop-ssh:     %s\n"
	    "hoop-ssh: and enter the code\n"
	    "hoop-ssh:     %s\n", o->issuer, dev->verification_uri,
	    dev->user_code);
	if (dev->verification_uri_complete != NULL)
		fprintf(stderr, "hoop-ssh: (or open %s, which holds the code)"
		    "\n", dev->verification_uri_complete);
	fprintf(stderr, "hoop-ssh: waiting for the sign-in (the code expires "
	    "in %s)...\n", span);
}

/* Polls until the user signs in, refuses, or the code expires. On
 * success *id_token is the token (malloc'd). */
static int
poll_token(const struct login_opts *o, const struct hoop_devflow_endpoints *ep,
    const struct hoop_devflow_device *dev, char **id_token)
{
	struct hoop_http_response resp = { 0 };
	enum hoop_devflow_poll st;
	double deadline = mono_now() + (double)dev->expires_in;
	long interval = dev->interval;
	char *form = NULL, why[512];
	int ret = -1, warned = 0;

	if (hoop_http_form_add(&form, "grant_type",
	    "urn:ietf:params:oauth:grant-type:device_code") == -1 ||
	    hoop_http_form_add(&form, "device_code", dev->device_code) == -1 ||
	    hoop_http_form_add(&form, "client_id", o->client_id) == -1) {
		hoopssh_err("out of memory");
		goto out;
	}
	for (;;) {
		if (mono_now() + (double)interval > deadline) {
			hoopssh_err("the code expired before the sign-in was "
			    "done; run 'hoop-ssh login' again");
			goto out;
		}
		sleep_seconds(interval);
		hoop_http_response_clear(&resp);
		if (http_call(o, ep->token, form, &resp, why, sizeof(why)) !=
		    HOOP_OK) {
			/* RFC 8628 3.5: back off on connection trouble. */
			interval = interval * 2 > HOOP_DEVFLOW_MAX_INTERVAL ?
			    HOOP_DEVFLOW_MAX_INTERVAL : interval * 2;
			if (!warned || o->verbose)
				hoopssh_err("token endpoint %s: %s; trying "
				    "again every %lds", ep->token, why,
				    interval);
			warned = 1;
			continue;
		}
		st = hoop_devflow_parse_token(resp.status, resp.body,
		    resp.len, id_token, why, sizeof(why));
		switch (st) {
		case HOOP_DEVFLOW_TOKEN:
			ret = 0;
			goto out;
		case HOOP_DEVFLOW_PENDING:
			if (o->verbose)
				hoopssh_err("authorization pending");
			break;
		case HOOP_DEVFLOW_SLOW_DOWN:
			interval += HOOP_DEVFLOW_SLOW_DOWN_STEP;
			if (interval > HOOP_DEVFLOW_MAX_INTERVAL)
				interval = HOOP_DEVFLOW_MAX_INTERVAL;
			if (o->verbose)
				hoopssh_err("slow_down: polling every %lds now",
				    interval);
			break;
		case HOOP_DEVFLOW_DENIED:
			hoopssh_err("the sign-in was denied (access_denied)");
			goto out;
		case HOOP_DEVFLOW_EXPIRED:
			hoopssh_err("the code expired before the sign-in was "
			    "done (expired_token); run 'hoop-ssh login' "
			    "again");
			goto out;
		case HOOP_DEVFLOW_NOMEM:
			hoopssh_err("out of memory");
			goto out;
		case HOOP_DEVFLOW_ERROR:
		default:
			hoopssh_err("%s", why);
			goto out;
		}
	}
out:
	hoop_http_response_clear(&resp);
	hoop_wipe_free(form);
	return ret;
}

/* Checks what the issuer gave and caches it. */
static int
keep_token(char *id_token)
{
	long long exp, now = (long long)time(NULL);
	char why[512], when[64], span[32], path[4300] = "";

	if (token_check(id_token, "the issuer", why, sizeof(why)) == -1) {
		hoopssh_err("%s", why);
		return -1;
	}
	if (token_exp(id_token, &exp) == -1) {
		hoopssh_err("the ID token from the issuer has no exp claim");
		return -1;
	}
	token_format_time(exp, when, sizeof(when));
	if (exp <= now + TOKEN_CACHE_MARGIN) {
		hoopssh_err("the ID token from the issuer expires at %s, "
		    "already or too soon to use (is the clock right?)", when);
		return -1;
	}
	if (token_cache_write(id_token, why, sizeof(why)) != HOOP_OK) {
		hoopssh_err("%s", why);
		return -1;
	}
	token_cache_path(path, sizeof(path));
	token_format_span(exp - now, span, sizeof(span));
	hoopssh_err("signed in; the token is good until %s (%s), kept in %s",
	    when, span, path);
	return 0;
}

int
login_main(int argc, char **argv)
{
	struct login_opts o = { .scope = "openid" };
	struct hoop_devflow_endpoints ep = { 0 };
	struct hoop_devflow_device dev = { 0 };
	const char *scope_words = NULL;
	char *id_token = NULL, why[512];
	int c, ret = LOGIN_EXIT_FAIL, scoped = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", login_long_opts, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_ISSUER:
			o.issuer = optarg;
			break;
		case OPT_CLIENT_ID:
			o.client_id = optarg;
			break;
		case OPT_SCOPE:
			if (scope_add(o.scope, sizeof(o.scope), optarg) == -1)
				return LOGIN_EXIT_FAIL;
			scoped = 1;
			break;
		case OPT_AUDIENCE:
			o.audience = optarg;
			break;
		case OPT_CA_FILE:
			o.ca_file = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			login_usage(stdout);
			return 0;
		default:
			login_usage(stderr);
			return LOGIN_EXIT_FAIL;
		}
	}
	if (optind != argc) {
		login_usage(stderr);
		return LOGIN_EXIT_FAIL;
	}
	o.issuer = env_or(o.issuer, "HOOP_SSO_ISSUER");
	o.client_id = env_or(o.client_id, "HOOP_SSO_CLIENT_ID");
	o.audience = env_or(o.audience, "HOOP_SSO_AUDIENCE");
	o.ca_file = env_or(o.ca_file, "HOOP_SSO_CA_FILE");
	if (!scoped && (scope_words = env_or(NULL, "HOOP_SSO_SCOPE")) != NULL &&
	    scope_add(o.scope, sizeof(o.scope), scope_words) == -1)
		return LOGIN_EXIT_FAIL;
	if (o.issuer == NULL) {
		hoopssh_err("no issuer: give --issuer URL or set "
		    "HOOP_SSO_ISSUER");
		return LOGIN_EXIT_FAIL;
	}
	if (strncmp(o.issuer, "https://", 8) != 0) {
		hoopssh_err("the issuer must be an https:// URL: %s", o.issuer);
		return LOGIN_EXIT_FAIL;
	}
	if (o.client_id == NULL) {
		hoopssh_err("no client id: give --client-id ID or set "
		    "HOOP_SSO_CLIENT_ID (the issuer's client for hoop)");
		return LOGIN_EXIT_FAIL;
	}
	/* Before the user signs in, not after: the token must have a
	 * place to go. */
	if (token_cache_prepare(why, sizeof(why)) != HOOP_OK) {
		hoopssh_err("%s", why);
		return LOGIN_EXIT_FAIL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (discover(&o, &ep) == -1 || start_device_flow(&o, &ep, &dev) == -1)
		goto out;
	show_code(&o, &dev);
	if (poll_token(&o, &ep, &dev, &id_token) == -1 ||
	    keep_token(id_token) == -1)
		goto out;
	ret = 0;
out:
	token_free(id_token);
	hoop_devflow_device_clear(&dev);
	hoop_devflow_endpoints_clear(&ep);
	curl_global_cleanup();
	return ret;
}

int
logout_main(int argc, char **argv)
{
	char why[512];
	hoop_err_t err;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") ==
		    0) {
			printf("usage: hoop-ssh logout\nRemoves the token of "
			    "'hoop-ssh login' from the cache.\n");
			return 0;
		}
		fprintf(stderr, "usage: hoop-ssh logout\n");
		return LOGIN_EXIT_FAIL;
	}
	err = token_cache_remove(why, sizeof(why));
	if (err == HOOP_ERR_NOTFOUND) {
		hoopssh_err("%s", why);
		return 0;
	}
	if (err != HOOP_OK) {
		hoopssh_err("%s", why);
		return LOGIN_EXIT_FAIL;
	}
	hoopssh_err("the cached token is removed");
	return 0;
}
