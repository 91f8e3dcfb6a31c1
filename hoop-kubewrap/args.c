/*
 * kubectl's command line. kubectl reads flags with pflag: a long flag as
 * --name or --name=value (never abbreviated), shorthand flags grouped
 * ("-it", "-nprod"), a shorthand taking a value swallowing the rest of
 * its group, flags anywhere before "--". What would make kubectl talk to
 * another server or as someone else is refused in every spelling; the
 * cluster is named with --context, which is taken out (the kubeconfig
 * hoop writes has that one context).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_util.h"
#include "kubewrap.h"

static const char *const refused_long[] = {
	"server", "token", "kubeconfig", "cluster", "user", "username",
	"password", "client-certificate", "client-key",
	"certificate-authority", "insecure-skip-tls-verify", "as",
	"as-group", "as-uid", "tls-server-name", "token-file",
	"auth-provider", "auth-provider-arg", "exec-command", "exec-arg",
	"exec-env", "exec-api-version",
};

/* Shorthands that take a value in some kubectl command: the rest of the
 * group is that value. Any other letter is read as a switch, so a
 * refused letter anywhere before such a value is found. */
static const char value_letters[] = "nlofckLvcp";

static int
refused(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(refused_long) / sizeof(refused_long[0]); i++)
		if (strlen(refused_long[i]) == len &&
		    strncmp(refused_long[i], name, len) == 0)
			return 1;
	return 0;
}

static int
valid_target(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int
kubewrap_parse_args(int argc, char **argv, struct kubewrap_args *out,
    char *why, size_t whylen)
{
	const char *a, *eq, *target = NULL, *word = NULL;
	char **v = NULL;
	size_t n = 0, len;
	int i, j, dashdash = 0, help = 0;

	memset(out, 0, sizeof(*out));
	if (argc < 1 || (v = calloc((size_t)argc + 1, sizeof(*v))) == NULL) {
		hoop_why(why, whylen, "no memory");
		goto fail;
	}
	v[n++] = (char *)"kubectl";
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (dashdash) {
			v[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			v[n++] = argv[i];
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			a += 2;
			eq = strchr(a, '=');
			len = eq != NULL ? (size_t)(eq - a) : strlen(a);
			if (refused(a, len)) {
				hoop_why(why, whylen, "--%.*s is refused: hoop "
				    "connects kubectl to the cluster for you "
				    "(name it with --context)", (int)len, a);
				goto fail;
			}
			if (len == 4 && strncmp(a, "help", 4) == 0)
				help = 1;
			if (len != 7 || strncmp(a, "context", 7) != 0) {
				v[n++] = argv[i];
				continue;
			}
			if (eq == NULL && i + 1 == argc) {
				hoop_why(why, whylen, "--context needs the name "
				    "of a cluster");
				goto fail;
			}
			a = eq != NULL ? eq + 1 : argv[++i];
			if (!valid_target(a)) {
				hoop_why(why, whylen, "--context: \"%.64s\" is "
				    "not a cluster name", a);
				goto fail;
			}
			if (target != NULL && strcmp(target, a) != 0) {
				hoop_why(why, whylen, "--context given twice");
				goto fail;
			}
			target = a;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			for (j = 1; a[j] != '\0'; j++) {
				if (a[j] == 's') {
					hoop_why(why, whylen, "-s (--server) is "
					    "refused: hoop connects kubectl to "
					    "the cluster for you");
					goto fail;
				}
				if (a[j] == 'h')
					help = 1;
				if (strchr(value_letters, a[j]) != NULL)
					break;
			}
			v[n++] = argv[i];
			continue;
		}
		if (word == NULL)
			word = a;
		v[n++] = argv[i];
	}
	v[n] = NULL;
	out->target = target;
	out->argv = v;
	out->argc = n;
	out->info_only = help || word == NULL || strcmp(word, "help") == 0 ||
	    strcmp(word, "completion") == 0 || strcmp(word, "options") == 0;
	return 0;
fail:
	free(v);
	memset(out, 0, sizeof(*out));
	return -1;
}

void
kubewrap_args_free(struct kubewrap_args *a)
{
	free(a->argv);
	memset(a, 0, sizeof(*a));
}

const char *
kubewrap_refused_env(char **envp)
{
	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, "KUBECONFIG=", 11) == 0)
			return "KUBECONFIG";
	return NULL;
}
