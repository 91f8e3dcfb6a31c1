/* hoop-pgwrap's reading of the client's command line (hoop-pgwrap/args.c):
 * the target found wherever getopt_long would find it, options that point
 * the client elsewhere refused in every spelling, the rest given on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../hoop-pgwrap/pgwrap.h"
#include "tap.h"

/* The words of the last line parsed: the target points into them. */
static char *copy;

/* Parses the space-separated words of line (a '|' in a word is a
 * space); returns 0/-1 and fills a. */
static int
parse(enum pgwrap_client client, const char *line, struct pgwrap_args *a,
    char *why, size_t whylen)
{
	char *argv[32], *p, *save = NULL;
	int argc = 0;

	free(copy);
	copy = strdup(line);
	for (p = strtok_r(copy, " ", &save); p != NULL && argc < 31;
	    p = strtok_r(NULL, " ", &save)) {
		for (char *q = p; *q != '\0'; q++)
			if (*q == '|')
				*q = ' ';
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	return pgwrap_parse_args(client, argc, argv, a, why, whylen);
}

/* The client's argv joined with single spaces. */
static const char *
joined(const struct pgwrap_args *a)
{
	static char buf[512];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < a->argc && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    i ? " " : "", a->argv[i]);
	return buf;
}

static void
accepts(enum pgwrap_client client, const char *line, const char *target,
    const char *argv)
{
	struct pgwrap_args a;
	char why[256] = "";

	if (!ok(parse(client, line, &a, why, sizeof(why)) == 0, "accepts: %s",
	    line)) {
		printf("#   %s\n", why);
		return;
	}
	ok(target == NULL ? a.target == NULL : a.target != NULL &&
	    strcmp(a.target, target) == 0, "  target of %s", line);
	ok(strcmp(joined(&a), argv) == 0, "  client argv of %s: %s", line,
	    joined(&a));
	ok(a.argv[a.argc] == NULL, "  argv ends with NULL");
	pgwrap_args_free(&a);
}

static void
refuses(enum pgwrap_client client, const char *line, const char *why_part)
{
	struct pgwrap_args a;
	char why[256] = "";

	ok(parse(client, line, &a, why, sizeof(why)) == -1 &&
	    strstr(why, why_part) != NULL, "refuses: %s (%s)", line, why);
}

int
main(void)
{
	char *env1[] = { "HOME=/x", "PGHOSTX=1", "PGPORT=5", NULL };
	char *env2[] = { "PGAPPNAME=a", "XPGHOST=1", "PGHOST", NULL };

	accepts(PGWRAP_PSQL, "psql prod", "prod", "psql");
	accepts(PGWRAP_PSQL, "psql -c select|1 prod", "prod",
	    "psql -c select 1");
	accepts(PGWRAP_PSQL, "psql prod -Atc select|1", "prod",
	    "psql -A -t -c select 1");
	accepts(PGWRAP_PSQL, "psql -cSELECT -dprod", "prod", "psql -c SELECT");
	accepts(PGWRAP_PSQL, "psql --dbname=prod --comm=x --csv", "prod",
	    "psql --command=x --csv");
	accepts(PGWRAP_PSQL, "psql --dbn prod -v ON_ERROR_STOP=1", "prod",
	    "psql -v ON_ERROR_STOP=1");
	/* A value that looks like an option is still a value. */
	accepts(PGWRAP_PSQL, "psql -c -h prod", "prod", "psql -c -h");
	accepts(PGWRAP_PSQL, "psql -- prod", "prod", "psql");
	accepts(PGWRAP_PSQL, "psql -f - prod", "prod", "psql -f -");
	accepts(PGWRAP_PSQL, "psql --version", NULL, "psql --version");
	accepts(PGWRAP_PSQL, "psql --help=commands", NULL,
	    "psql --help=commands");
	accepts(PGWRAP_PG_DUMP, "pg_dump prod -Fc -f out -j 4", "prod",
	    "pg_dump -F c -f out -j 4");
	accepts(PGWRAP_PG_DUMP, "pg_dump --table=t --role r prod", "prod",
	    "pg_dump --table=t --role=r");

	refuses(PGWRAP_PSQL, "psql", "name a target");
	refuses(PGWRAP_PSQL, "psql -h db prod", "-h is not accepted");
	refuses(PGWRAP_PSQL, "psql prod -Xh db", "-h is not accepted");
	refuses(PGWRAP_PSQL, "psql prod --host=db", "--host is not accepted");
	refuses(PGWRAP_PSQL, "psql prod --ho db", "--host is not accepted");
	refuses(PGWRAP_PSQL, "psql prod -p5433", "-p is not accepted");
	refuses(PGWRAP_PSQL, "psql prod -U postgres", "-U is not accepted");
	refuses(PGWRAP_PSQL, "psql prod --usern=postgres", "--username");
	refuses(PGWRAP_PSQL, "psql prod -W", "-W is not accepted");
	refuses(PGWRAP_PSQL, "psql prod postgres", "name the target once");
	refuses(PGWRAP_PSQL, "psql -d prod prod", "name the target once");
	refuses(PGWRAP_PSQL, "psql -- prod other", "name the target once");
	refuses(PGWRAP_PSQL, "psql host=db|dbname=app", "connection strings");
	refuses(PGWRAP_PSQL, "psql -d postgresql://u@db/app",
	    "connection strings");
	refuses(PGWRAP_PSQL, "psql postgres://db", "connection strings");
	refuses(PGWRAP_PSQL, "psql prod --cluster 15/main", "unknown option");
	refuses(PGWRAP_PSQL, "psql prod -K", "unknown option -K");
	refuses(PGWRAP_PSQL, "psql prod --s", "ambiguous option");
	refuses(PGWRAP_PSQL, "psql prod --v=x", "ambiguous option");
	refuses(PGWRAP_PSQL, "psql prod -c", "needs a value");
	refuses(PGWRAP_PSQL, "psql prod --command", "needs a value");
	refuses(PGWRAP_PSQL, "psql prod --list=x", "takes no value");
	refuses(PGWRAP_PG_DUMP, "pg_dump prod -h db", "-h is not accepted");
	refuses(PGWRAP_PG_DUMP, "pg_dump prod -l", "unknown option -l");
	refuses(PGWRAP_PG_DUMP, "pg_dump dbname=app", "connection strings");

	ok(pgwrap_refused_env(env1) != NULL &&
	    strcmp(pgwrap_refused_env(env1), "PGPORT") == 0,
	    "PGPORT is refused, PGHOSTX is not PGHOST");
	ok(pgwrap_refused_env(env2) == NULL, "PGAPPNAME, XPGHOST and a bare "
	    "name without '=' are not refused");
	free(copy);
	return done_testing();
}
