/* hoop-kubewrap/args.c: kubectl's command line, with every spelling of
 * the refused flags, --context in both forms, "--" and hostile input. */
#include <stdlib.h>
#include <string.h>

#include "../../hoop-kubewrap/kubewrap.h"
#include "tap.h"

static struct kubewrap_args args;
static char why[256];

/* Parses a space-separated command line (after "kubectl"). */
static int
parse(const char *line)
{
	char *copy = strdup(line), *argv[64], *tok, *save = NULL;
	int argc = 0, r;

	argv[argc++] = (char *)"kubectl";
	for (tok = strtok_r(copy, " ", &save); tok != NULL && argc < 63;
	    tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	kubewrap_args_free(&args);
	why[0] = '\0';
	r = kubewrap_parse_args(argc, argv, &args, why, sizeof(why));
	if (r == 0) {
		/* The strings point into copy: keep what the tests read. */
		static char target[80], joined[512];
		size_t i, off = 0;

		snprintf(target, sizeof(target), "%s", args.target != NULL ?
		    args.target : "");
		joined[0] = '\0';
		for (i = 1; i < args.argc; i++)
			off += (size_t)snprintf(joined + off, sizeof(joined) -
			    off, "%s%s", i > 1 ? " " : "", args.argv[i]);
		args.target = target[0] ? target : NULL;
		free(args.argv);
		args.argv = calloc(2, sizeof(char *));
		args.argv[0] = joined;
		args.argc = 1;
	}
	free(copy);
	return r;
}

static int
refused(const char *line)
{
	return parse(line) == -1 && strstr(why, "refused") != NULL;
}

int
main(void)
{
	static const char *const bad[] = {
		"get pods --server=https://x", "get pods --server https://x",
		"-s https://x get pods", "-shttps://x get pods",
		"get pods -As x", "--token=t get pods", "--token t get pods",
		"--kubeconfig=/tmp/k get pods", "--kubeconfig /tmp/k get pods",
		"--cluster=c get pods", "--user=u get pods",
		"--username=u get pods", "--password=p get pods",
		"--client-certificate=c get pods", "--client-key=k get pods",
		"--certificate-authority=ca get pods",
		"--insecure-skip-tls-verify get pods",
		"--insecure-skip-tls-verify=true get pods",
		"--as=admin get pods", "--as admin get pods",
		"--as-group=system:masters get pods", "--as-uid=0 get pods",
		"--tls-server-name=x get pods", "get pods --token-file=/t",
		"get -ws https://x pods",
	};
	size_t i;

	ok(parse("--context prod get pods -n kube-system") == 0 &&
	    strcmp(args.target, "prod") == 0 &&
	    strcmp(args.argv[0], "get pods -n kube-system") == 0 &&
	    !args.info_only, "--context NAME taken out");
	ok(parse("get pods --context=prod") == 0 &&
	    strcmp(args.target, "prod") == 0 &&
	    strcmp(args.argv[0], "get pods") == 0, "--context=NAME");
	ok(parse("get pods") == 0 && args.target == NULL, "no context");
	ok(parse("--context prod --context prod get pods") == 0,
	    "the same context twice");
	ok(parse("--context prod --context dev get pods") == -1,
	    "two contexts refused");
	ok(parse("get pods --context") == -1, "--context without a name");
	ok(parse("--context=a/b get pods") == -1, "a context that is no name");
	ok(parse("--context=") == -1, "an empty context");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(refused(bad[i]), "refused: %s", bad[i]);

	/* Values glued to a value-taking shorthand are values. */
	ok(parse("get pods -lapp=s -nsys -ojsonpath={.s}") == 0,
	    "'s' inside a shorthand's value is no -s");
	ok(parse("get pods -n s") == 0, "a value word 's' is fine");
	/* After "--", words are the command's. */
	ok(parse("--context prod exec toolbox -- echo --token=x -s --as=y")
	    == 0 && strcmp(args.argv[0], "exec toolbox -- echo --token=x -s "
	    "--as=y") == 0, "words after -- pass as they are");
	ok(parse("exec toolbox -- kubectl --context=other") == 0 &&
	    args.target == NULL, "--context after -- is not read");
	/* Names that only start like a refused flag. */
	ok(parse("get pods --server-side") == 0, "--server-side passes");
	ok(parse("apply --server-side -f x.yaml") == 0, "apply --server-side");
	ok(parse("get pods --user-agent-x") == 0, "prefixes are not flags");

	/* help and completion need no cluster. */
	ok(parse("help") == 0 && args.info_only, "help");
	ok(parse("") == 0 && args.info_only, "nothing at all");
	ok(parse("get pods -h") == 0 && args.info_only, "-h");
	ok(parse("get --help") == 0 && args.info_only, "--help");
	ok(parse("completion bash") == 0 && args.info_only, "completion");
	ok(parse("get pods") == 0 && !args.info_only, "get is not info");

	{
		char *env1[] = { "PATH=/bin", "KUBECONFIG=/x", NULL };
		char *env2[] = { "PATH=/bin", "KUBECONFIGX=/x", NULL };

		ok(kubewrap_refused_env(env1) != NULL &&
		    strcmp(kubewrap_refused_env(env1), "KUBECONFIG") == 0,
		    "KUBECONFIG refused");
		ok(kubewrap_refused_env(env2) == NULL, "a longer name is not");
		ok(kubewrap_refused_env(NULL) == NULL, "no environment");
	}
	kubewrap_args_free(&args);
	return done_testing();
}
