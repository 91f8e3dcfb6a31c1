/* Where hoop-ssh gets its OIDC token: a file, the environment, or the CI
 * system itself (GitHub Actions' ID token request, a GitLab CI id_tokens
 * variable), then the cache of `hoop-ssh login`. */
#ifndef HOOPSSH_TOKEN_H
#define HOOPSSH_TOKEN_H

#include <stddef.h>

#include "hoop_err.h"

#define TOKEN_DEFAULT_GITLAB_VAR "HOOP_ID_TOKEN"
#define TOKEN_SOURCE_CACHE "the hoop-ssh login cache"

struct token_opts {
	const char *file;	/* --token-file */
	const char *audience;	/* --audience / HOOP_AUDIENCE (GitHub) */
	const char *gitlab_var;	/* --gitlab-token-var */
};

/* On HOOP_OK, *token is the token (malloc'd; free with token_free) and
 * *source a static description of where it came from ("HOOP_TOKEN",
 * "GitHub Actions", ...). On failure why tells the user what to do. */
hoop_err_t token_get(const struct token_opts *o, char **token,
    const char **source, char *why, size_t whylen);

/* Trims trailing white space and checks the shape of a token (size,
 * base64url and dots, three segments); returns -1 with why set. */
int token_check(char *token, const char *source, char *why, size_t whylen);

/* The token's exp claim (unverified: only to know when to stop using
 * it); -1 if it has none. */
int token_exp(const char *token, long long *exp);

void token_free(char *token);

/* A cached token closer than this to its exp is not used. */
#define TOKEN_CACHE_MARGIN 15

/* The cache of `hoop-ssh login` (cache.c): $XDG_CACHE_HOME/hoop/id-token
 * or ~/.cache/hoop/id-token, the directory 0700 and the file 0600, both
 * the user's; anything else is refused. Each returns HOOP_ERR_NOTFOUND
 * when there is nothing cached, and sets why on every failure. */
int token_cache_path(char *buf, size_t len);
hoop_err_t token_cache_read(char **token, char *why, size_t whylen);
hoop_err_t token_cache_write(const char *token, char *why, size_t whylen);
/* Makes the directory if missing and checks it, before a login. */
hoop_err_t token_cache_prepare(char *why, size_t whylen);
hoop_err_t token_cache_remove(char *why, size_t whylen);

/* "2026-11-25 14:03:00 CET", and "42s", "12m", "3h", "2d". */
void token_format_time(long long t, char *buf, size_t len);
void token_format_span(long long secs, char *buf, size_t len);

/* `hoop-ssh login` and `hoop-ssh logout` (login.c): exit statuses. */
int login_main(int argc, char **argv);
int logout_main(int argc, char **argv);

#endif
