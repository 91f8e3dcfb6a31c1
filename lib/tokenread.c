#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_tokenread.h"
#include "hoop_util.h"

const char *
hoop_tokenread_result_str(enum hoop_tokenread_result r)
{
	switch (r) {
	case HOOP_TOKENREAD_OK: return "ok";
	case HOOP_TOKENREAD_NO_ANSWER: return "no token given";
	case HOOP_TOKENREAD_TOO_LARGE: return "token too large";
	case HOOP_TOKENREAD_BAD_CHARS: return "token has characters outside "
	    "base64url";
	case HOOP_TOKENREAD_NOMEM: return "out of memory";
	}
	return "unknown";
}

static int
token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int
hoop_tokenread_chars_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

void
hoop_tokenread_free(char *token)
{
	hoop_wipe_free(token);
}

enum hoop_tokenread_result
hoop_tokenread(hoop_tokenread_ask_fn ask, void *arg, char **token,
    unsigned *parts)
{
	enum hoop_tokenread_result ret = HOOP_TOKENREAD_NO_ANSWER;
	char prompt[64], *answer = NULL, *buf = NULL;
	size_t have = 0, len, i;
	unsigned part;
	int more = 1;

	if ((buf = calloc(1, HOOP_TOKENREAD_MAX_TOKEN + 1)) == NULL) {
		ret = HOOP_TOKENREAD_NOMEM;
		goto out;
	}
	for (part = 1; more; part++) {
		if (part > HOOP_TOKENREAD_MAX_PARTS) {
			ret = HOOP_TOKENREAD_TOO_LARGE;
			goto out;
		}
		snprintf(prompt, sizeof(prompt), HOOP_TOKENREAD_PROMPT, part);
		if (ask(arg, prompt, &answer) == -1 || answer == NULL) {
			ret = HOOP_TOKENREAD_NO_ANSWER;
			goto out;
		}
		/* Measure without trusting a terminator far away. */
		len = strnlen(answer, HOOP_TOKENREAD_MAX_TOKEN + 2);
		more = len > 0 && answer[len - 1] == '\\';
		if (more)
			len--;
		if (len == 0) {
			ret = HOOP_TOKENREAD_NO_ANSWER;
			goto out;
		}
		if (len > HOOP_TOKENREAD_MAX_TOKEN - have) {
			ret = HOOP_TOKENREAD_TOO_LARGE;
			goto out;
		}
		for (i = 0; i < len; i++) {
			if (!token_char((unsigned char)answer[i])) {
				ret = HOOP_TOKENREAD_BAD_CHARS;
				goto out;
			}
		}
		memcpy(buf + have, answer, len);
		have += len;
		hoop_wipe_free(answer);
		answer = NULL;
	}
	buf[have] = '\0';
	*token = buf;
	buf = NULL;
	if (parts != NULL)
		*parts = part - 1;
	ret = HOOP_TOKENREAD_OK;
out:
	hoop_wipe_free(answer);
	if (buf != NULL) {
		explicit_bzero(buf, HOOP_TOKENREAD_MAX_TOKEN + 1);
		free(buf);
	}
	return ret;
}
