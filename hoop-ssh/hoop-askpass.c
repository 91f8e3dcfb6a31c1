/* hoop-askpass: lets the stock ssh client answer pam_hoop's token prompts.
 *
 *   export HOOP_TOKEN=...          (or HOOP_TOKEN_FILE=/path/to/token)
 *   SSH_ASKPASS=hoop-askpass SSH_ASKPASS_REQUIRE=force ssh deploy@bastion cmd
 *
 * ssh runs this once per prompt with the prompt text as argv[1]. For
 * "OIDC token (part N): " it prints part N of the token, ending in a
 * backslash when more parts follow. Anything else (a host key question, a
 * password prompt) gets no answer: it never says yes to an unknown host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_tokenread.h"
#include "hoop_util.h"

/* The server, not this helper, decides how large a token may be; this
 * only bounds what is read. */
#define HOOP_ASKPASS_MAX_FILE (1024 * 1024)

static int
prompt_part(const char *prompt, unsigned *part)
{
	const char *close;
	unsigned n;
	int used = -1;

	/* OpenSSH 8.x and later name the account first: "(user@host) ". */
	if (prompt[0] == '(' && (close = strstr(prompt, ") ")) != NULL &&
	    memchr(prompt, '\n', (size_t)(close - prompt)) == NULL)
		prompt = close + 2;
	if (sscanf(prompt, "OIDC token (part %u): %n", &n, &used) != 1 ||
	    used < 0 || prompt[used] != '\0' || n == 0 ||
	    n > HOOP_TOKENREAD_MAX_PARTS)
		return -1;
	*part = n;
	return 0;
}

static char *
load_token(void)
{
	const char *env = getenv("HOOP_TOKEN"), *file;
	char *token = NULL;
	size_t len;

	if (env != NULL && *env != '\0')
		return strdup(env);
	file = getenv("HOOP_TOKEN_FILE");
	if (file == NULL || hoop_read_file(file, HOOP_ASKPASS_MAX_FILE,
	    &token, &len) != HOOP_OK)
		return NULL;
	while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r'))
		token[--len] = '\0';
	return token;
}

int
main(int argc, char **argv)
{
	size_t len, start, chunk;
	unsigned part;
	char *token;
	int ret = 1;

	if (argc != 2 || prompt_part(argv[1], &part) == -1) {
		fprintf(stderr, "hoop-askpass: not a hoop token prompt: %s\n",
		    argc > 1 ? argv[1] : "(none)");
		return 1;
	}
	if ((token = load_token()) == NULL) {
		fprintf(stderr, "hoop-askpass: set HOOP_TOKEN or "
		    "HOOP_TOKEN_FILE\n");
		return 1;
	}
	len = strlen(token);
	start = (size_t)(part - 1) * HOOP_TOKENREAD_PART_SIZE;
	if (start >= len && !(start == 0 && len == 0)) {
		fprintf(stderr, "hoop-askpass: the server asked for part %u of "
		    "a %zu-byte token\n", part, len);
		goto out;
	}
	chunk = len - start > HOOP_TOKENREAD_PART_SIZE ?
	    HOOP_TOKENREAD_PART_SIZE : len - start;
	fwrite(token + start, 1, chunk, stdout);
	if (start + chunk < len)
		fputc('\\', stdout);
	fputc('\n', stdout);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	explicit_bzero(token, len);
	free(token);
	return ret;
}
