/* The command-line word splitter: what it splits, and what it refuses. */
#include <stdlib.h>
#include <string.h>

#include "hoop_words.h"
#include "tap.h"

/* Splits line; joins the words with '|' into got (or "REFUSED: why"). */
static void
split(const char *line, char *got, size_t size)
{
	struct hoop_words *w = NULL;
	char why[256] = "";
	size_t i, off = 0;

	if (hoop_words_split(line, strlen(line), &w, why, sizeof(why)) !=
	    HOOP_OK) {
		snprintf(got, size, "REFUSED: %s", why);
		return;
	}
	got[0] = '\0';
	for (i = 0; i < w->argc; i++)
		off += (size_t)snprintf(got + off, size - off, "%s%s",
		    i ? "|" : "", w->argv[i]);
	if (w->argv[w->argc] != NULL)
		snprintf(got, size, "argv not NULL-terminated");
	hoop_words_free(w);
}

static void
check(const char *line, const char *want)
{
	char got[1024];

	split(line, got, sizeof(got));
	if (!ok(strcmp(got, want) == 0, "split [%s]", line))
		printf("#   got  [%s]\n#   want [%s]\n", got, want);
}

static void
refused(const char *line, const char *mention)
{
	char got[1024];

	split(line, got, sizeof(got));
	if (!ok(strncmp(got, "REFUSED: ", 9) == 0 &&
	    strstr(got, mention) != NULL, "refused [%s] (%s)", line, mention))
		printf("#   got [%s]\n", got);
}

int
main(void)
{
	char *big;
	size_t i;
	struct hoop_words *w;
	char why[128];

	check("psql prod", "psql|prod");
	check("  psql   prod  ", "psql|prod");
	check("psql\tprod\n", "psql|prod");
	check("", "");
	check("   \n", "");
	check("psql prod -c 'select * from t where a = $1; -- x'",
	    "psql|prod|-c|select * from t where a = $1; -- x");
	check("echo \"a b\" c", "echo|a b|c");
	check("echo \"a \\\"q\\\" \\\\ b\"", "echo|a \"q\" \\ b");
	check("echo \"back\\slash\"", "echo|back\\slash");
	check("echo a\\ b", "echo|a b");
	check("echo \\|", "echo||");
	check("echo '' x", "echo||x");
	check("echo \"\"", "echo|");
	check("echo a'b'\"c\"d", "echo|abcd");
	check("echo a#b", "echo|a#b");
	check("echo a~b", "echo|a~b");
	check("echo 'it''s'", "echo|its");
	check("echo a\\\nb", "echo|ab");
	/* Between words a continuation is a blank, as sh has it. */
	check("a \\\n b", "a|b");
	check("a\\\n\\\n b", "a|b");
	check("\\\na", "a");
	check("kubectl --context prod get pods -o=jsonpath='{.items}'",
	    "kubectl|--context|prod|get|pods|-o=jsonpath={.items}");
	check("echo caf\xc3\xa9", "echo|caf\xc3\xa9");

	refused("psql prod; rm -rf /", "separator");
	refused("psql prod && id", "'&'");
	refused("psql prod & id", "'&'");
	refused("psql prod | tee x", "pipe");
	refused("psql prod > out", "redirection");
	refused("psql prod < in", "redirection");
	refused("psql prod 2>&1", "redirection");
	refused("echo $HOME", "variable");
	refused("echo ${HOME}", "variable");
	refused("echo \"$HOME\"", "double quotes");
	refused("echo \"`id`\"", "double quotes");
	refused("echo `id`", "substitution");
	refused("echo $(id)", "variable");
	refused("(id)", "subshell");
	refused("ls *", "glob");
	refused("ls ?", "glob");
	refused("ls [ab]", "glob");
	refused("echo a{b,c}", "brace");
	refused("cat ~/x", "tilde");
	refused("echo x # comment", "comment");
	refused("id\nrm -rf /", "newline");
	refused("echo 'open", "unterminated single");
	refused("echo \"open", "unterminated double");
	refused("echo \\", "backslash");

	/* NUL bytes, size and count limits. */
	ok(hoop_words_split("a\0b", 3, &w, why, sizeof(why)) == HOOP_ERR_INVAL &&
	    strstr(why, "NUL") != NULL, "NUL byte refused");
	big = malloc(HOOP_WORDS_MAX_LINE + 2);
	memset(big, 'a', HOOP_WORDS_MAX_LINE + 1);
	ok(hoop_words_split(big, HOOP_WORDS_MAX_LINE + 1, &w, why,
	    sizeof(why)) == HOOP_ERR_INVAL && strstr(why, "longer") != NULL,
	    "over-long line refused");
	ok(hoop_words_split(big, HOOP_WORDS_MAX_LINE, &w, why, sizeof(why)) ==
	    HOOP_OK && w->argc == 1 && strlen(w->argv[0]) ==
	    HOOP_WORDS_MAX_LINE, "longest line accepted as one word");
	hoop_words_free(w);
	for (i = 0; i < HOOP_WORDS_MAX_LINE; i += 2) {
		big[i] = 'a';
		big[i + 1] = ' ';
	}
	ok(hoop_words_split(big, 2 * HOOP_WORDS_MAX_WORDS, &w, why,
	    sizeof(why)) == HOOP_OK && w->argc == HOOP_WORDS_MAX_WORDS,
	    "%d words accepted", HOOP_WORDS_MAX_WORDS);
	hoop_words_free(w);
	ok(hoop_words_split(big, 2 * HOOP_WORDS_MAX_WORDS + 2, &w, why,
	    sizeof(why)) == HOOP_ERR_INVAL && strstr(why, "words") != NULL,
	    "too many words refused");
	/* Every word empty: argv's room is the worst case. */
	for (i = 0; i + 3 <= 3000; i += 3)
		memcpy(big + i, "'' ", 3);
	ok(hoop_words_split(big, 3000, &w, why, sizeof(why)) == HOOP_OK &&
	    w->argc == 1000 && w->argv[999][0] == '\0', "empty words");
	hoop_words_free(w);
	free(big);
	hoop_words_free(NULL);
	return done_testing();
}
