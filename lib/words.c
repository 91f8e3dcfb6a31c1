/* Shell-like word splitting that evaluates nothing (see hoop_words.h). */
#include <stdlib.h>
#include <string.h>

#include "hoop_util.h"
#include "hoop_words.h"

static const char *
refusal(unsigned char c)
{
	switch (c) {
	case '|': return "a pipe ('|')";
	case '&': return "'&' (background or '&&')";
	case ';': return "a command separator (';')";
	case '<': case '>': return "a redirection ('<' or '>')";
	case '(': case ')': return "a subshell or function ('(' or ')')";
	case '$': return "a variable or substitution ('$')";
	case '`': return "command substitution ('`')";
	case '*': case '?': case '[': case ']':
		return "a glob pattern ('*', '?' or '[')";
	case '{': case '}': return "brace expansion ('{' or '}')";
	case '\n': return "a second command (a newline)";
	}
	return NULL;
}

static int
blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

hoop_err_t
hoop_words_split(const char *line, size_t len, struct hoop_words **out,
    char *why, size_t whylen)
{
	struct hoop_words *w = NULL;
	char *o, *word;
	size_t i = 0, n = 0, trail;
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *what;
	unsigned char c;
	int in_word;

	*out = NULL;
	if (len > HOOP_WORDS_MAX_LINE) {
		hoop_why(why, whylen, "the command line is longer than %d "
		    "bytes", HOOP_WORDS_MAX_LINE);
		goto out;
	}
	if (memchr(line, '\0', len) != NULL) {
		hoop_why(why, whylen, "the command line holds a NUL byte");
		goto out;
	}
	/* Trailing newlines and blanks end the line, they add nothing. */
	for (trail = len; trail > 0 && (blank((unsigned char)line[trail - 1])
	    || line[trail - 1] == '\n' || line[trail - 1] == '\r'); trail--)
		;
	len = trail;
	ret = HOOP_ERR_NOMEM;
	/* One allocation: the struct, argv (words are separated by blanks,
	 * so there are at most len / 2 + 1) and the words, which together
	 * are never longer than the line. */
	if ((w = malloc(sizeof(*w) + (len / 2 + 2) * sizeof(char *) +
	    len + 1)) == NULL)
		goto out;
	w->argv = (char **)(void *)(w + 1);
	o = (char *)(w->argv + len / 2 + 2);
	ret = HOOP_ERR_INVAL;
	while (i < len) {
		/* Blanks, and line continuations between words. */
		while (i < len && (blank((unsigned char)line[i]) ||
		    (line[i] == '\\' && i + 1 < len && line[i + 1] == '\n')))
			i += line[i] == '\\' ? 2 : 1;
		if (i == len)
			break;
		c = (unsigned char)line[i];
		if (c == '#') {
			hoop_why(why, whylen, "a comment ('#') is not allowed: "
			    "quote it");
			goto out;
		}
		if (c == '~') {
			hoop_why(why, whylen, "tilde expansion ('~') is not "
			    "allowed: quote it");
			goto out;
		}
		if (n == HOOP_WORDS_MAX_WORDS) {
			hoop_why(why, whylen, "more than %d words",
			    HOOP_WORDS_MAX_WORDS);
			goto out;
		}
		word = o;
		in_word = 1;
		while (in_word && i < len) {
			c = (unsigned char)line[i];
			if (blank(c)) {
				in_word = 0;
			} else if (c == '\'') {
				const char *end = memchr(line + i + 1, '\'',
				    len - i - 1);
				if (end == NULL) {
					hoop_why(why, whylen, "unterminated "
					    "single quote");
					goto out;
				}
				memcpy(o, line + i + 1, (size_t)(end - line) -
				    i - 1);
				o += (size_t)(end - line) - i - 1;
				i = (size_t)(end - line) + 1;
			} else if (c == '"') {
				for (i++; i < len && line[i] != '"'; i++) {
					c = (unsigned char)line[i];
					if (c == '$' || c == '`') {
						hoop_why(why, whylen, "%s is "
						    "not allowed, even in "
						    "double quotes: use single "
						    "quotes", refusal(c));
						goto out;
					}
					if (c == '\\' && i + 1 < len &&
					    strchr("$`\"\\\n", line[i + 1])) {
						if (line[++i] != '\n')
							*o++ = line[i];
						continue;
					}
					*o++ = (char)c;
				}
				if (i == len) {
					hoop_why(why, whylen, "unterminated "
					    "double quote");
					goto out;
				}
				i++;
			} else if (c == '\\') {
				if (i + 1 == len) {
					hoop_why(why, whylen, "a backslash "
					    "ends the line");
					goto out;
				}
				if (line[i + 1] != '\n')
					*o++ = line[i + 1];
				i += 2;
			} else if ((what = refusal(c)) != NULL) {
				hoop_why(why, whylen, "%s is not allowed: "
				    "commands run one at a time, and nothing "
				    "is expanded (quote it to pass it on "
				    "literally)", what);
				goto out;
			} else {
				*o++ = (char)c;
				i++;
			}
		}
		*o++ = '\0';
		w->argv[n++] = word;
	}
	w->argv[n] = NULL;
	w->argc = n;
	*out = w;
	w = NULL;
	ret = HOOP_OK;
out:
	free(w);
	return ret;
}

void
hoop_words_free(struct hoop_words *words)
{
	free(words);
}
