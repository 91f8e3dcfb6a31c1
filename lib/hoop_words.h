/*
 * Command lines as a shell would split them into words, with nothing
 * evaluated: quotes and backslashes are honoured, and everything a shell
 * would expand or act on (variables, command substitution, globbing,
 * redirections, pipes, command separators, brace and tilde expansion,
 * comments) is refused with a message saying what was found. What runs
 * is then exactly the words the user sees.
 */
#ifndef HOOP_WORDS_H
#define HOOP_WORDS_H

#include <stddef.h>

#include "hoop_err.h"

#define HOOP_WORDS_MAX_LINE	(64 * 1024)
#define HOOP_WORDS_MAX_WORDS	1024

struct hoop_words {
	char **argv;		/* argc words, then NULL */
	size_t argc;
};

/*
 * Splits len bytes of line (no NUL inside). On refusal or malformed input
 * (an unterminated quote, a trailing backslash, too long, too many
 * words): HOOP_ERR_INVAL and a sentence in why. A line of blanks gives
 * argc 0.
 */
hoop_err_t hoop_words_split(const char *line, size_t len,
    struct hoop_words **out, char *why, size_t whylen);
void hoop_words_free(struct hoop_words *words);

#endif
