#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "hoop_http.h"
#include "hoop_log.h"
#include "hoop_oidc.h"
#include "hoop_util.h"
#include "store_internal.h"

/* GET over HTTPS only, certificate verified, bounded in time and size;
 * anything but 200 is a failure. */
static hoop_err_t
https_get(const char *url, const char *ca_file, size_t max,
    struct hoop_http_response *resp, char *why, size_t whylen)
{
	struct hoop_http_request req = {
		.url = url, .ca_file = ca_file, .max_body = max,
		.connect_timeout = 5, .timeout = HOOP_OIDC_TIMEOUT,
		.flags = HOOP_HTTP_HTTPS_ONLY,
	};
	char herr[256];
	hoop_err_t ret;

	if ((ret = hoop_http_request(&req, resp, herr, sizeof(herr))) !=
	    HOOP_OK) {
		hoop_why(why, whylen, "%s: %s", url, herr);
		return ret;
	}
	if (resp->status != 200) {
		hoop_why(why, whylen, "%s: HTTP status %ld", url, resp->status);
		hoop_http_response_clear(resp);
		return HOOP_ERR_IO;
	}
	return HOOP_OK;
}

/* Discovery, then the key set; returns the JWKS text after checking that
 * it parses. The discovery document must name the configured issuer
 * exactly (OpenID Connect Discovery 1.0, section 4.3). */
static hoop_err_t
fetch_jwks(const struct hoop_issuer *iss, char **jwks_text,
    hoop_jwks_t **keys, char *why, size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_IO;
	struct hoop_http_response disc = { 0 }, set = { 0 };
	json_t *doc = NULL;
	const char *issuer, *jwks_uri;
	char url[2048], perr[160];
	size_t ulen = strlen(iss->url);

	if (snprintf(url, sizeof(url), "%s%s", iss->url,
	    ulen > 0 && iss->url[ulen - 1] == '/' ?
	    ".well-known/openid-configuration" :
	    "/.well-known/openid-configuration") >= (int)sizeof(url)) {
		hoop_why(why, whylen, "issuer URL too long");
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if ((ret = https_get(url, iss->ca_file, HOOP_OIDC_MAX_DISCOVERY, &disc,
	    why, whylen)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_INVAL;
	doc = json_loadb(disc.body, disc.len, JSON_REJECT_DUPLICATES, NULL);
	issuer = json_string_value(json_object_get(doc, "issuer"));
	jwks_uri = json_string_value(json_object_get(doc, "jwks_uri"));
	if (doc == NULL || !json_is_object(doc) || jwks_uri == NULL) {
		hoop_why(why, whylen, "%s: not a discovery document", url);
		goto out;
	}
	if (issuer == NULL || strcmp(issuer, iss->url) != 0) {
		hoop_why(why, whylen, "%s: names issuer '%s', expected '%s'",
		    url, issuer != NULL ? issuer : "(none)", iss->url);
		goto out;
	}
	if ((ret = https_get(jwks_uri, iss->ca_file, HOOP_JWKS_MAX_SIZE, &set,
	    why, whylen)) != HOOP_OK)
		goto out;
	if ((ret = hoop_jwks_parse(set.body, set.len, keys, perr,
	    sizeof(perr))) != HOOP_OK) {
		hoop_why(why, whylen, "%s: %s", jwks_uri, perr);
		goto out;
	}
	*jwks_text = set.body;
	set.body = NULL;
	ret = HOOP_OK;
out:
	json_decref(doc);
	hoop_http_response_clear(&disc);
	hoop_http_response_clear(&set);
	return ret;
}

struct cache_row {
	char *jwks;
	long long expires_at;
	long long last_attempt;
	long long fetched_at;
	int present;
};

static hoop_err_t
cache_read(hoop_store_t *store, const char *issuer, struct cache_row *row)
{
	sqlite3_stmt *st = NULL;
	hoop_err_t ret = HOOP_ERR_STORE;
	const unsigned char *text;
	int rc;

	memset(row, 0, sizeof(*row));
	if (sqlite3_prepare_v2(hoop_store_db(store), "SELECT jwks, expires_at,"
	    " coalesce(last_attempt, 0), fetched_at FROM jwks_cache WHERE "
	    "issuer = ?", -1,
	    &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		text = sqlite3_column_text(st, 0);
		if (text != NULL && (row->jwks = strdup((const char *)text)) ==
		    NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		row->expires_at = sqlite3_column_int64(st, 1);
		row->last_attempt = sqlite3_column_int64(st, 2);
		row->present = row->jwks != NULL && row->jwks[0] != '\0';
		row->fetched_at = sqlite3_column_int64(st, 3);
	} else if (rc != SQLITE_DONE)
		goto out;
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Records a fetch attempt, and the new key set when there is one. */
static void
cache_write(hoop_store_t *store, const char *issuer, const char *jwks,
    long long now, long long expires_at)
{
	sqlite3_stmt *st = NULL;
	const char *sql = jwks != NULL ?
	    "INSERT INTO jwks_cache (issuer, jwks, fetched_at, expires_at, "
	    "last_attempt) VALUES (?1, ?2, ?3, ?4, ?3) ON CONFLICT(issuer) DO "
	    "UPDATE SET jwks = ?2, fetched_at = ?3, expires_at = ?4, "
	    "last_attempt = ?3" :
	    /* A failed fetch is remembered even with nothing cached, so
	     * that the next logins do not each wait on a dead issuer. */
	    "INSERT INTO jwks_cache (issuer, jwks, fetched_at, expires_at, "
	    "last_attempt) VALUES (?1, '', 0, 0, ?3) ON CONFLICT(issuer) DO "
	    "UPDATE SET last_attempt = ?3";

	if (sqlite3_prepare_v2(hoop_store_db(store), sql, -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
	if (jwks != NULL)
		sqlite3_bind_text(st, 2, jwks, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (jwks != NULL)
		sqlite3_bind_int64(st, 4, expires_at);
	if (sqlite3_step(st) != SQLITE_DONE)
		hoop_log(LOG_WARNING, "oidc: cannot update key cache for %s: "
		    "%s", issuer, sqlite3_errmsg(hoop_store_db(store)));
out:
	sqlite3_finalize(st);
}

hoop_err_t
hoop_oidc_keys(hoop_store_t *store, const struct hoop_issuer *iss,
    unsigned flags, hoop_jwks_t **keys, const char **source, char *why,
    size_t whylen)
{
	hoop_err_t ret = HOOP_ERR_IO;
	struct cache_row row = { 0 };
	char *text = NULL, perr[160], fetch_why[256] = "";
	size_t len = 0;
	long long now = (long long)time(NULL);
	int cache_valid, may_fetch, recent;

	*keys = NULL;
	if (iss->jwks_file != NULL) {
		if ((ret = hoop_read_file(iss->jwks_file, HOOP_JWKS_MAX_SIZE,
		    &text, &len)) != HOOP_OK) {
			hoop_why(why, whylen, "%s: %s", iss->jwks_file,
			    hoop_strerror(ret));
			goto out;
		}
		if ((ret = hoop_jwks_parse(text, len, keys, perr,
		    sizeof(perr))) != HOOP_OK) {
			hoop_why(why, whylen, "%s: %s", iss->jwks_file, perr);
			goto out;
		}
		*source = "file";
		goto out;
	}
	if ((ret = cache_read(store, iss->url, &row)) != HOOP_OK) {
		hoop_why(why, whylen, "key cache: %s", hoop_store_errmsg(store));
		goto out;
	}
	cache_valid = row.present && now < row.expires_at;
	if (cache_valid && !(flags & HOOP_OIDC_REFRESH)) {
		ret = hoop_jwks_parse(row.jwks, strlen(row.jwks), keys, perr,
		    sizeof(perr));
		if (ret == HOOP_OK) {
			*source = "cache";
			goto out;
		}
		/* A cache entry that no longer parses is refetched. */
	}
	/* An unknown kid refetches at most once per interval; after a
	 * failed fetch, so does everything else: a dead issuer costs one
	 * timeout per interval, not one per login. */
	recent = now - row.last_attempt < iss->jwks_refresh_interval;
	if (flags & HOOP_OIDC_REFRESH)
		may_fetch = !recent;
	else
		may_fetch = !(recent && row.last_attempt > row.fetched_at);
	if (may_fetch) {
		ret = fetch_jwks(iss, &text, keys, fetch_why,
		    sizeof(fetch_why));
		if (ret == HOOP_OK) {
			cache_write(store, iss->url, text, now,
			    now + iss->jwks_cache);
			*source = "fetched";
			goto out;
		}
		cache_write(store, iss->url, NULL, now, 0);
		hoop_log(LOG_WARNING, "oidc: issuer %s: %s", iss->name,
		    fetch_why);
	} else
		snprintf(fetch_why, sizeof(fetch_why), "fetch held back (last "
		    "attempt %llds ago%s)", now - row.last_attempt,
		    row.last_attempt > row.fetched_at ? ", failed" : "");
	if (cache_valid && hoop_jwks_parse(row.jwks, strlen(row.jwks), keys,
	    perr, sizeof(perr)) == HOOP_OK) {
		*source = may_fetch ? "cache (issuer unreachable)" : "cache";
		ret = HOOP_OK;
		goto out;
	}
	hoop_why(why, whylen, "no usable keys for issuer %s: %s", iss->name,
	    fetch_why);
	ret = HOOP_ERR_NOTFOUND;
out:
	free(row.jwks);
	free(text);
	return ret;
}
