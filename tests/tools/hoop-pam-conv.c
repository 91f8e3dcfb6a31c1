/*
 * Test-only PAM client: runs a service from a private PAM configuration
 * directory the way sshd would (authenticate, account, open and close a
 * session) and answers token prompts from a file, either whole at the
 * first prompt (a client without the 1023-byte limit) or in parts.
 *
 *   hoop-pam-conv CONFDIR SERVICE USER TOKENFILE [PARTSIZE]
 *
 * PARTSIZE 0 (the default) answers the whole token at once. Prints one
 * line per step ("authenticate: Success") and the PAM environment the
 * module exported; exits 0 only if every step succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

struct answers {
	char *token;
	size_t len, off, part_size;
	unsigned prompts;
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct answers *a = arg;
	struct pam_response *r;
	size_t take;
	int i;

	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			a->prompts++;
			printf("prompt: %s\n", msg[i]->msg);
			take = a->len - a->off;
			if (a->part_size > 0 && take > a->part_size)
				take = a->part_size;
			if ((r[i].resp = malloc(take + 2)) == NULL)
				goto fail;
			memcpy(r[i].resp, a->token + a->off, take);
			a->off += take;
			/* The continuation mark of hoop_tokenread.h. */
			if (a->off < a->len)
				r[i].resp[take++] = '\\';
			r[i].resp[take] = '\0';
			break;
		default:
			printf("message: %s\n", msg[i]->msg);
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

int
main(int argc, char **argv)
{
	struct answers a = { 0 };
	struct pam_conv pc = { conv, &a };
	pam_handle_t *pamh = NULL;
	char **env;
	FILE *f;
	long n;
	int rc, ok = 1, i;

	/* Each line out at once: what was said survives a process that
	 * dies at exit (a sanitizer's own failure). */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc < 5) {
		fprintf(stderr, "usage: hoop-pam-conv CONFDIR SERVICE USER "
		    "TOKENFILE [PARTSIZE]\n");
		return 2;
	}
	if ((f = fopen(argv[4], "r")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (a.token = malloc((size_t)n + 1)) == NULL ||
	    fread(a.token, 1, (size_t)n, f) != (size_t)n) {
		perror(argv[4]);
		return 2;
	}
	fclose(f);
	a.len = (size_t)n;
	while (a.len > 0 && (a.token[a.len - 1] == '\n' ||
	    a.token[a.len - 1] == '\r'))
		a.len--;
	a.token[a.len] = '\0';
	a.part_size = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;

	if ((rc = pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh)) !=
	    PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %s\n", pam_strerror(NULL, rc));
		return 2;
	}
	pam_set_item(pamh, PAM_RHOST, "127.0.0.1");
	rc = pam_authenticate(pamh, 0);
	printf("authenticate: %s\n", pam_strerror(pamh, rc));
	if (rc == PAM_SUCCESS) {
		rc = pam_acct_mgmt(pamh, 0);
		printf("account: %s\n", pam_strerror(pamh, rc));
	}
	if (rc == PAM_SUCCESS) {
		rc = pam_open_session(pamh, 0);
		printf("open_session: %s\n", pam_strerror(pamh, rc));
	}
	if (rc == PAM_SUCCESS) {
		if ((env = pam_getenvlist(pamh)) != NULL) {
			for (i = 0; env[i] != NULL; i++) {
				printf("env: %s\n", env[i]);
				free(env[i]);
			}
			free(env);
		}
		rc = pam_close_session(pamh, 0);
		printf("close_session: %s\n", pam_strerror(pamh, rc));
	}
	ok = rc == PAM_SUCCESS;
	printf("prompts: %u\n", a.prompts);
	pam_end(pamh, rc);
	free(a.token);
	return ok ? 0 : 1;
}
