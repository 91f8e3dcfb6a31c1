/* Reading a token over keyboard-interactive prompts, in parts.
 *
 * The stock ssh client cuts every answer at 1023 bytes and CI tokens are
 * 2 KB, so a token may arrive in parts. Each prompt names the part it asks
 * for ("OIDC token (part N): "). An answer ending in a backslash says more
 * parts follow (a backslash is never part of a JWS, whose alphabet is
 * base64url and '.'); an answer without one is the last part. A client
 * without the limit answers the first prompt with the whole token. */
#ifndef HOOP_TOKENREAD_H
#define HOOP_TOKENREAD_H

#include <stddef.h>

#include "hoop_err.h"

#define HOOP_TOKENREAD_MAX_TOKEN (16 * 1024)
#define HOOP_TOKENREAD_MAX_PARTS 32
/* What hoop-askpass sends per part: under 1023 with the backslash. */
#define HOOP_TOKENREAD_PART_SIZE 1000
#define HOOP_TOKENREAD_PROMPT "OIDC token (part %u): "

/* Asks one prompt (no echo); returns a malloc'd answer in *answer, or -1
 * when the conversation fails or the client gave up. */
typedef int (*hoop_tokenread_ask_fn)(void *arg, const char *prompt,
    char **answer);

enum hoop_tokenread_result {
	HOOP_TOKENREAD_OK,
	HOOP_TOKENREAD_NO_ANSWER,	/* conversation failed or empty */
	HOOP_TOKENREAD_TOO_LARGE,	/* over the size or part limit */
	HOOP_TOKENREAD_BAD_CHARS,	/* not base64url and dots */
	HOOP_TOKENREAD_NOMEM,
};

const char *hoop_tokenread_result_str(enum hoop_tokenread_result r);

/* Whether len bytes are all base64url or dots, the only characters a
 * compact JWS has (clients check before sending what they were given). */
int hoop_tokenread_chars_ok(const char *s, size_t len);

/* On success *token is the assembled token (malloc'd; the caller wipes
 * and frees it with hoop_tokenread_free) and *parts how many it took. */
enum hoop_tokenread_result hoop_tokenread(hoop_tokenread_ask_fn ask,
    void *arg, char **token, unsigned *parts);
void hoop_tokenread_free(char *token);

#endif
