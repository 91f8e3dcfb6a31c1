/* hoop-ssh: the CI-side client of the hoop bastion (libssh).
 *
 *   hoop-ssh [options] [user@]host [command ...]
 *
 * Verifies the host key against known_hosts or a pinned fingerprint
 * (never trust on first use), logs in over keyboard-interactive with an
 * OIDC token answered whole at pam_hoop's first prompt (libssh has none
 * of the stock client's 1023-byte cut), then runs the command like
 * ssh(1): stdin, stdout, stderr and the exit status pass through; 255
 * means hoop-ssh itself failed. The token comes from --token-file,
 * HOOP_TOKEN, HOOP_TOKEN_FILE, GitHub Actions, a GitLab CI id_tokens
 * variable (token.c), or the cache of `hoop-ssh login`, which staff run
 * to get a token from the SSO issuer (login.c, cache.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "hoop_util.h"
#include "hoopssh.h"
#include "token.h"

#define DEFAULT_CONNECT_TIMEOUT 30L

enum {
	OPT_KNOWN_HOSTS = 256,
	OPT_PIN,
	OPT_TOKEN_FILE,
	OPT_AUDIENCE,
	OPT_GITLAB_VAR,
	OPT_CONNECT_TIMEOUT,
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "login", required_argument, NULL, 'l' },
	{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
	{ "host-key-sha256", required_argument, NULL, OPT_PIN },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "audience", required_argument, NULL, OPT_AUDIENCE },
	{ "gitlab-token-var", required_argument, NULL, OPT_GITLAB_VAR },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hoop-ssh [options] [user@]host [command ...]\n"
	    "       hoop-ssh login [options]   (hoop-ssh login --help)\n"
	    "       hoop-ssh logout\n"
	    "  -p, --port PORT            server port (22)\n"
	    "  -l, --login USER           login name\n"
	    "      --known-hosts FILE     default ~/.ssh/known_hosts\n"
	    "      --host-key-sha256 FP   pinned host key (SHA256:...; "
	    "or HOOP_SSH_HOST_KEY)\n"
	    "      --token-file FILE      the OIDC token\n"
	    "      --audience AUD         GitHub Actions token audience "
	    "(or HOOP_AUDIENCE)\n"
	    "      --gitlab-token-var VAR GitLab id_tokens variable "
	    "(HOOP_ID_TOKEN)\n"
	    "      --connect-timeout DUR  connection timeout (30s)\n"
	    "  -t / -T                    force / disable a pty\n"
	    "  -v, --verbose\n"
	    "Token: --token-file, HOOP_TOKEN, HOOP_TOKEN_FILE, GitHub Actions "
	    "(id-token: write),\na GitLab CI id_tokens variable, or the "
	    "token of 'hoop-ssh login'. Exit status:\nthe remote command's, "
	    "255 on errors.\n");
}

static int
parse_port(const char *s, unsigned *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct hoopssh_opts o = { .port = 22, .want_tty = -1,
	    .connect_timeout = DEFAULT_CONNECT_TIMEOUT };
	struct token_opts to = { 0 };
	struct rlimit no_core = { 0, 0 };
	ssh_session s = NULL;
	const char *source = NULL, *env;
	char *token = NULL, *dest, *at, why[512];
	int c, auth, ret = HOOPSSH_EXIT_ERROR;
	long secs;

	/* A core dump would hold the token. */
	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGPIPE, SIG_IGN);
	/* Staff's own token, from the SSO issuer (a host named login is
	 * reached as user@login or after --). */
	if (argc > 1 && strcmp(argv[1], "login") == 0)
		return login_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "logout") == 0)
		return logout_main(argc - 1, argv + 1);
	/* '+': options stop at the host, the command's own are its own. */
	while ((c = getopt_long(argc, argv, "+p:l:tTvh", long_opts, NULL)) !=
	    -1) {
		switch (c) {
		case 'p':
			if (parse_port(optarg, &o.port) == -1) {
				hoopssh_err("bad port: %s", optarg);
				goto out;
			}
			break;
		case 'l':
			o.user = optarg;
			break;
		case 't':
			o.want_tty = 1;
			break;
		case 'T':
			o.want_tty = 0;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		case OPT_KNOWN_HOSTS:
			o.known_hosts = optarg;
			break;
		case OPT_PIN:
			o.pin = optarg;
			break;
		case OPT_TOKEN_FILE:
			to.file = optarg;
			break;
		case OPT_AUDIENCE:
			to.audience = optarg;
			break;
		case OPT_GITLAB_VAR:
			to.gitlab_var = optarg;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (hoop_parse_duration(optarg, &secs) == -1 ||
			    secs < 1 || secs > 3600) {
				hoopssh_err("bad --connect-timeout: %s "
				    "(1s to 1h)", optarg);
				goto out;
			}
			o.connect_timeout = secs;
			break;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		goto out;
	}
	dest = argv[optind++];
	if ((at = strrchr(dest, '@')) != NULL) {
		*at = '\0';
		if (o.user == NULL)
			o.user = dest;
		dest = at + 1;
	}
	if (*dest == '\0' || (o.user != NULL && *o.user == '\0')) {
		hoopssh_err("bad destination");
		goto out;
	}
	o.host = dest;
	o.argv = argv + optind;
	o.argc = argc - optind;
	if (o.pin == NULL && (env = getenv("HOOP_SSH_HOST_KEY")) != NULL &&
	    *env != '\0')
		o.pin = env;
	if (o.pin != NULL && strncmp(o.pin, "SHA256:", 7) != 0) {
		hoopssh_err("the pinned host key must be a SHA256:... "
		    "fingerprint as ssh-keygen -l prints it");
		goto out;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	ssh_init();
	/* The token first: a job without one fails before connecting. */
	if (token_get(&to, &token, &source, why, sizeof(why)) != HOOP_OK) {
		hoopssh_err("%s", why);
		goto out;
	}
	if (o.verbose)
		hoopssh_err("token from %s", source);
	if (hoopssh_connect(&o, &s) == -1)
		goto out;
	if ((auth = hoopssh_auth(s, token)) != 0) {
		if (auth == HOOPSSH_AUTH_REFUSED &&
		    strcmp(source, TOKEN_SOURCE_CACHE) == 0)
			hoopssh_err("the token came from 'hoop-ssh login'; run "
			    "it again for a new one");
		goto out;
	}
	token_free(token);
	token = NULL;
	if (o.verbose)
		hoopssh_err("authenticated");
	ret = hoopssh_run(s, &o);
out:
	token_free(token);
	if (s != NULL) {
		ssh_disconnect(s);
		ssh_free(s);
	}
	ssh_finalize();
	curl_global_cleanup();
	return ret;
}
