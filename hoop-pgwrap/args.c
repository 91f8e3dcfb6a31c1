/*
 * The client's command line. psql and pg_dump read their options with
 * getopt_long, so options and arguments may come in any order, short
 * options may be grouped ("-Atc SQL"), a value may be glued on ("-cSQL",
 * "--command=SQL") and a long option may be abbreviated to any unique
 * prefix. The same is done here, with each client's whole option table:
 * an option not in it is refused, since whether it takes a value (and so
 * where the target is) could not be told.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_util.h"
#include "pgwrap.h"

enum opt_act {
	PASS,		/* given to the client as it is */
	DBNAME,		/* names the target */
	REFUSE,		/* would point the client elsewhere */
	INFO,		/* help or version: no connection */
};

struct opt {
	const char *name;	/* long name, or NULL */
	char letter;		/* short letter, or 0 */
	int arg;		/* 0 none, 1 required, 2 optional (long only) */
	enum opt_act act;
};

static const struct opt psql_opts[] = {
	{ "echo-all", 'a', 0, PASS },
	{ "no-align", 'A', 0, PASS },
	{ "echo-errors", 'b', 0, PASS },
	{ "command", 'c', 1, PASS },
	{ "dbname", 'd', 1, DBNAME },
	{ "echo-queries", 'e', 0, PASS },
	{ "echo-hidden", 'E', 0, PASS },
	{ "file", 'f', 1, PASS },
	{ "field-separator", 'F', 1, PASS },
	{ "host", 'h', 1, REFUSE },
	{ "html", 'H', 0, PASS },
	{ "list", 'l', 0, PASS },
	{ "log-file", 'L', 1, PASS },
	{ "no-readline", 'n', 0, PASS },
	{ "output", 'o', 1, PASS },
	{ "port", 'p', 1, REFUSE },
	{ "pset", 'P', 1, PASS },
	{ "quiet", 'q', 0, PASS },
	{ "record-separator", 'R', 1, PASS },
	{ "single-step", 's', 0, PASS },
	{ "single-line", 'S', 0, PASS },
	{ "tuples-only", 't', 0, PASS },
	{ "table-attr", 'T', 1, PASS },
	{ "username", 'U', 1, REFUSE },
	{ "set", 'v', 1, PASS },
	{ "variable", 'v', 1, PASS },
	{ "version", 'V', 0, INFO },
	{ "no-password", 'w', 0, PASS },
	{ "password", 'W', 0, REFUSE },
	{ "expanded", 'x', 0, PASS },
	{ "no-psqlrc", 'X', 0, PASS },
	{ "field-separator-zero", 'z', 0, PASS },
	{ "record-separator-zero", '0', 0, PASS },
	{ "single-transaction", '1', 0, PASS },
	{ "csv", 0, 0, PASS },
	{ "help", '?', 2, INFO },
	{ NULL, 0, 0, PASS },
};

static const struct opt pg_dump_opts[] = {
	{ "data-only", 'a', 0, PASS },
	{ "blobs", 'b', 0, PASS },
	{ "large-objects", 0, 0, PASS },
	{ "no-blobs", 'B', 0, PASS },
	{ "no-large-objects", 0, 0, PASS },
	{ "clean", 'c', 0, PASS },
	{ "create", 'C', 0, PASS },
	{ "dbname", 'd', 1, DBNAME },
	{ "extension", 'e', 1, PASS },
	{ "encoding", 'E', 1, PASS },
	{ "file", 'f', 1, PASS },
	{ "format", 'F', 1, PASS },
	{ "host", 'h', 1, REFUSE },
	{ "jobs", 'j', 1, PASS },
	{ "schema", 'n', 1, PASS },
	{ "exclude-schema", 'N', 1, PASS },
	{ "no-owner", 'O', 0, PASS },
	{ "port", 'p', 1, REFUSE },
	{ NULL, 'R', 0, PASS },
	{ "schema-only", 's', 0, PASS },
	{ "superuser", 'S', 1, PASS },
	{ "table", 't', 1, PASS },
	{ "exclude-table", 'T', 1, PASS },
	{ "username", 'U', 1, REFUSE },
	{ "verbose", 'v', 0, PASS },
	{ "version", 'V', 0, INFO },
	{ "no-password", 'w', 0, PASS },
	{ "password", 'W', 0, REFUSE },
	{ "no-privileges", 'x', 0, PASS },
	{ "no-acl", 0, 0, PASS },
	{ "compress", 'Z', 1, PASS },
	{ "help", '?', 0, INFO },
	{ "lock-wait-timeout", 0, 1, PASS },
	{ "no-sync", 0, 0, PASS },
	{ "attribute-inserts", 0, 0, PASS },
	{ "binary-upgrade", 0, 0, PASS },
	{ "column-inserts", 0, 0, PASS },
	{ "disable-dollar-quoting", 0, 0, PASS },
	{ "disable-triggers", 0, 0, PASS },
	{ "enable-row-security", 0, 0, PASS },
	{ "exclude-table-data", 0, 1, PASS },
	{ "extra-float-digits", 0, 1, PASS },
	{ "if-exists", 0, 0, PASS },
	{ "include-foreign-data", 0, 1, PASS },
	{ "inserts", 0, 0, PASS },
	{ "load-via-partition-root", 0, 0, PASS },
	{ "no-comments", 0, 0, PASS },
	{ "no-publications", 0, 0, PASS },
	{ "no-security-labels", 0, 0, PASS },
	{ "no-subscriptions", 0, 0, PASS },
	{ "no-table-access-method", 0, 0, PASS },
	{ "no-tablespaces", 0, 0, PASS },
	{ "no-toast-compression", 0, 0, PASS },
	{ "no-unlogged-table-data", 0, 0, PASS },
	{ "on-conflict-do-nothing", 0, 0, PASS },
	{ "quote-all-identifiers", 0, 0, PASS },
	{ "restrict-key", 0, 1, PASS },
	{ "rows-per-insert", 0, 1, PASS },
	{ "section", 0, 1, PASS },
	{ "serializable-deferrable", 0, 0, PASS },
	{ "snapshot", 0, 1, PASS },
	{ "strict-names", 0, 0, PASS },
	{ "use-set-session-authorization", 0, 0, PASS },
	{ "role", 0, 1, PASS },
	{ NULL, 0, 0, PASS },
};

static const char *const client_names[] = { "psql", "pg_dump" };

/* Long option by exact name, else by unique prefix (getopt_long's
 * rule; two names for one option, like --set and --variable, are one
 * match). */
static const struct opt *
find_long(const struct opt *tab, const char *name, size_t len, int *ambiguous)
{
	const struct opt *o, *found = NULL;

	*ambiguous = 0;
	for (o = tab; o->name != NULL || o->letter != 0; o++)
		if (o->name != NULL && strlen(o->name) == len &&
		    strncmp(o->name, name, len) == 0)
			return o;
	for (o = tab; o->name != NULL || o->letter != 0; o++) {
		if (o->name == NULL || strncmp(o->name, name, len) != 0)
			continue;
		if (found != NULL && (found->letter != o->letter ||
		    found->letter == 0 || found->arg != o->arg)) {
			*ambiguous = 1;
			return NULL;
		}
		if (found == NULL)
			found = o;
	}
	return found;
}

static const struct opt *
find_short(const struct opt *tab, char letter)
{
	const struct opt *o;

	for (o = tab; o->name != NULL || o->letter != 0; o++)
		if (o->letter == letter)
			return o;
	return NULL;
}

static int
push(struct pgwrap_args *a, const char *s)
{
	if ((a->argv[a->argc] = strdup(s)) == NULL)
		return -1;
	a->argc++;
	return 0;
}

static const char *
opt_label(const struct opt *o, char *buf, size_t len)
{
	if (o->name != NULL)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "-%c", o->letter);
	return buf;
}

/* A connection string or URI where a target name belongs. */
static int
is_conninfo(const char *s)
{
	return strchr(s, '=') != NULL ||
	    strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0;
}

static int
set_target(struct pgwrap_args *a, const char *name, char *why, size_t whylen)
{
	if (a->target != NULL) {
		hoop_why(why, whylen, "name the target once (\"%.64s\" and "
		    "\"%.64s\"); connecting as another user is not possible "
		    "here", a->target, name);
		return -1;
	}
	if (is_conninfo(name)) {
		hoop_why(why, whylen, "connection strings are not accepted: "
		    "name a target (%s TARGET)", client_names[a->client]);
		return -1;
	}
	a->target = name;
	return 0;
}

/* One option with its value (NULL: none): refused, taken or kept. */
static int
apply(struct pgwrap_args *a, const struct opt *o, const char *value,
    int *info, char *why, size_t whylen)
{
	char label[48], *tok;
	int r;

	switch (o->act) {
	case REFUSE:
		hoop_why(why, whylen, "%s is not accepted: hoop connects %s to "
		    "the target for you (name the target: %s TARGET)",
		    opt_label(o, label, sizeof(label)), client_names[a->client],
		    client_names[a->client]);
		return -1;
	case DBNAME:
		return set_target(a, value, why, whylen);
	case INFO:
		*info = 1;
		break;
	case PASS:
		break;
	}
	if (o->name != NULL) {
		if (asprintf(&tok, "--%s%s%s", o->name, value != NULL ? "=" : "",
		    value != NULL ? value : "") == -1)
			return -1;
		a->argv[a->argc++] = tok;
		return 0;
	}
	snprintf(label, sizeof(label), "-%c", o->letter);
	r = push(a, label);
	if (r == 0 && value != NULL)
		r = push(a, value);
	return r;
}

int
pgwrap_parse_args(enum pgwrap_client client, int argc, char **argv,
    struct pgwrap_args *out, char *why, size_t whylen)
{
	const struct opt *tab = client == PGWRAP_PSQL ? psql_opts :
	    pg_dump_opts, *o;
	struct opt s;
	struct pgwrap_args a = { 0 };
	int i, info = 0, ambiguous, ret = -1, no_more_options = 0;
	const char *arg, *eq, *value;
	size_t j, len;

	a.client = client;
	/* Every argument gives at most two tokens, plus argv[0] and NULL. */
	if ((a.argv = calloc((size_t)argc * 2 + 2, sizeof(char *))) == NULL)
		goto nomem;
	if (push(&a, client_names[client]) == -1)
		goto nomem;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (no_more_options || arg[0] != '-' || arg[1] == '\0') {
			if (set_target(&a, arg, why, whylen) == -1)
				goto out;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			no_more_options = 1;
			continue;
		}
		if (arg[1] == '-') {
			eq = strchr(arg + 2, '=');
			len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			o = find_long(tab, arg + 2, len, &ambiguous);
			if (o == NULL) {
				hoop_why(why, whylen, "%s option %.64s for %s",
				    ambiguous ? "ambiguous" : "unknown", arg,
				    client_names[client]);
				goto out;
			}
			value = eq != NULL ? eq + 1 : NULL;
			if (o->arg == 0 && value != NULL) {
				hoop_why(why, whylen, "option --%s takes no "
				    "value", o->name);
				goto out;
			}
			if (o->arg == 1 && value == NULL) {
				if (i + 1 >= argc) {
					hoop_why(why, whylen, "option --%s needs "
					    "a value", o->name);
					goto out;
				}
				value = argv[++i];
			}
			if (apply(&a, o, value, &info, why, whylen) == -1)
				goto out;
			continue;
		}
		for (j = 1; arg[j] != '\0'; j++) {
			if ((o = find_short(tab, arg[j])) == NULL) {
				hoop_why(why, whylen, "unknown option -%c for "
				    "%s", arg[j], client_names[client]);
				goto out;
			}
			value = NULL;
			if (o->arg == 1) {
				if (arg[j + 1] != '\0')
					value = arg + j + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else {
					hoop_why(why, whylen, "option -%c needs "
					    "a value", o->letter);
					goto out;
				}
			}
			/* A short option is given on (and named in a refusal)
			 * as its letter, never as a long name it may not
			 * have. */
			s = *o;
			s.name = NULL;
			if (apply(&a, &s, value, &info, why, whylen) == -1)
				goto out;
			if (value != NULL)
				break;
		}
	}
	if (a.target == NULL && !info) {
		hoop_why(why, whylen, "name a target: %s TARGET [OPTION]...",
		    client_names[client]);
		goto out;
	}
	a.info_only = info && a.target == NULL;
	*out = a;
	memset(&a, 0, sizeof(a));
	ret = 0;
	goto out;
nomem:
	hoop_why(why, whylen, "out of memory");
out:
	pgwrap_args_free(&a);
	return ret;
}

void
pgwrap_args_free(struct pgwrap_args *a)
{
	size_t i;

	if (a->argv != NULL)
		for (i = 0; i < a->argc; i++)
			free(a->argv[i]);
	free(a->argv);
	memset(a, 0, sizeof(*a));
}

/*
 * libpq reads these; each could send the client somewhere else, as
 * someone else, with other credentials, TLS settings or server options.
 * The client never gets them (its environment is built from a list), but
 * a user who set one expects it to work: say so instead.
 */
static const char *const refused_env[] = {
	"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER",
	"PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE",
	"PGSYSCONFDIR", "PGOPTIONS", "PGSSLMODE", "PGREQUIRESSL",
	"PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLCRL",
	"PGSSLCRLDIR", "PGSSLSNI", "PGSSLCOMPRESSION", "PGSSLMINPROTOCOLVERSION",
	"PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE", "PGGSSLIB", "PGKRBSRVNAME",
	"PGREQUIREPEER", "PGREQUIREAUTH", "PGCHANNELBINDING",
	"PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS", "PGCLUSTER",
};

const char *
pgwrap_refused_env(char **envp)
{
	size_t i, n;

	for (; envp != NULL && *envp != NULL; envp++) {
		for (i = 0; i < sizeof(refused_env) / sizeof(refused_env[0]);
		    i++) {
			n = strlen(refused_env[i]);
			if (strncmp(*envp, refused_env[i], n) == 0 &&
			    (*envp)[n] == '=')
				return refused_env[i];
		}
	}
	return NULL;
}
