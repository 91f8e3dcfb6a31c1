/* Where hoop-ssh gets its OIDC token: a file, the environment, or the CI
 * system itself (GitHub Actions' ID token request, a GitLab CI id_tokens
 * variable), then the cache of `hoop-ssh login`. */
#ifndef HOOPSSH_TOKEN_H
#define HOOPSSH_TOKEN_H

#include <stddef.h>

#include "hoop_err.h"

#define TOKEN_DEFAULT_GITLAB_VAR "HOOP_ID_TOKEN"

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

#endif
