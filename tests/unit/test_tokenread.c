/* Token transport over keyboard-interactive prompts: parts, limits,
 * refusal of anything that is not a token. */
#include <stdlib.h>
#include <string.h>

#include "hoop_tokenread.h"
#include "tap.h"

struct script {
	const char *answers[40];
	unsigned asked;
	char prompts[40][64];
};

static int
scripted(void *arg, const char *prompt, char **answer)
{
	struct script *s = arg;
	const char *a = s->answers[s->asked];

	if (s->asked < 40)
		strncpy(s->prompts[s->asked], prompt, 63);
	s->asked++;
	if (a == NULL)
		return -1;
	*answer = strdup(a);
	return 0;
}

static char *
repeat(char c, size_t n, int more)
{
	char *s = malloc(n + 2);

	memset(s, c, n);
	s[n] = more ? '\\' : '\0';
	s[n + 1] = '\0';
	return s;
}

int
main(void)
{
	struct script s;
	char *token = NULL, *big[40];
	unsigned parts = 0, i;

	memset(&s, 0, sizeof(s));
	s.answers[0] = "aaa.bbb.ccc";
	is_int(hoop_tokenread(scripted, &s, &token, &parts), HOOP_TOKENREAD_OK,
	    "a whole token in one answer");
	ok(strcmp(token, "aaa.bbb.ccc") == 0 && parts == 1 && s.asked == 1,
	    "one prompt, token intact");
	ok(strcmp(s.prompts[0], "OIDC token (part 1): ") == 0,
	    "the prompt names the part");
	hoop_tokenread_free(token);

	memset(&s, 0, sizeof(s));
	s.answers[0] = "aaa.b\\";
	s.answers[1] = "bb.c\\";
	s.answers[2] = "cc";
	is_int(hoop_tokenread(scripted, &s, &token, &parts), HOOP_TOKENREAD_OK,
	    "a token in three parts");
	ok(strcmp(token, "aaa.bbb.ccc") == 0 && parts == 3,
	    "parts joined without their backslashes");
	ok(strcmp(s.prompts[2], "OIDC token (part 3): ") == 0,
	    "third prompt asks for part 3");
	hoop_tokenread_free(token);

	/* 8 KB in 1000-byte parts, as hoop-askpass sends it. */
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 9; i++) {
		big[i] = repeat('x', i < 8 ? 1000 : 192, i < 8);
		s.answers[i] = big[i];
	}
	is_int(hoop_tokenread(scripted, &s, &token, &parts), HOOP_TOKENREAD_OK,
	    "an 8 KB token in 9 parts");
	ok(token != NULL && strlen(token) == 8192 && parts == 9, "8192 bytes");
	hoop_tokenread_free(token);
	for (i = 0; i < 9; i++)
		free(big[i]);

	memset(&s, 0, sizeof(s));
	big[0] = repeat('y', HOOP_TOKENREAD_MAX_TOKEN + 1, 0);
	s.answers[0] = big[0];
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_TOO_LARGE, "one oversized answer is refused");
	free(big[0]);

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 40; i++)
		s.answers[i] = "z\\";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_TOO_LARGE, "endless parts are cut off");
	is_int(s.asked, HOOP_TOKENREAD_MAX_PARTS, "after the part limit");

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 17; i++) {
		big[i] = repeat('w', 1000, 1);
		s.answers[i] = big[i];
	}
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_TOO_LARGE, "parts adding up past 16 KiB refused");
	for (i = 0; i < 17; i++)
		free(big[i]);

	memset(&s, 0, sizeof(s));
	s.answers[0] = "";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_NO_ANSWER, "an empty answer is no token");
	memset(&s, 0, sizeof(s));
	s.answers[0] = "abc\\";
	s.answers[1] = "\\";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_NO_ANSWER, "an empty middle part is refused");
	memset(&s, 0, sizeof(s));
	s.answers[0] = "abc\\";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_NO_ANSWER, "a client that stops mid-token fails");
	memset(&s, 0, sizeof(s));
	s.answers[0] = "abc def.ghi";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_BAD_CHARS, "a space is not a token character");
	memset(&s, 0, sizeof(s));
	s.answers[0] = "abc\x1b[31m";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_BAD_CHARS, "escape sequences are refused");
	memset(&s, 0, sizeof(s));
	s.answers[0] = "a+b/c=";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_BAD_CHARS, "standard base64 characters are refused");
	memset(&s, 0, sizeof(s));
	s.answers[0] = "a\\b";
	is_int(hoop_tokenread(scripted, &s, &token, &parts),
	    HOOP_TOKENREAD_BAD_CHARS, "a backslash inside a part is refused");
	ok(strcmp(hoop_tokenread_result_str(HOOP_TOKENREAD_TOO_LARGE),
	    "token too large") == 0, "results have log words");
	return done_testing();
}
