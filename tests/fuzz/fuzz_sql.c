/* The SQL statement classifier on arbitrary input: parsing, then each
 * statement decided under a read-only policy and under one that allows
 * every class, with invariants that must hold for every input. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_CLASSES	(HOOP_SQL_UNKNOWN * 2 - 1)

static const char conf[] =
    "issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"ro\" { issuer = \"gh\" claim \"sub\" { equals = {\"ro\"} } "
    "login = \"ro\" }\n"
    "identity \"all\" { issuer = \"gh\" claim \"sub\" { equals = {\"all\"} } "
    "login = \"all\" }\n"
    "target \"db\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "policy \"read-only\" { identities = {\"ro\"} targets = {\"db\"}\n"
    "  rule \"read\" { action = \"allow\" statements = {\"read\"} }\n"
    "}\n"
    "policy \"everything\" { identities = {\"all\"} targets = {\"db\"}\n"
    "  rule \"all\" { action = \"allow\" statements = {\"read\", \"write\", "
    "\"ddl\", \"dcl\", \"admin\", \"transaction\", \"session\", \"copy\", "
    "\"call\", \"unknown\"} }\n"
    "}\n";

static hoop_config_t *
fixed_config(void)
{
	static hoop_config_t *cfg;

	/* Kept for the life of the process: loaded once, at first call. */
	if (cfg == NULL && hoop_config_load_buf(conf, sizeof(conf) - 1,
	    "fuzz", HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		abort();
	return cfg;
}

static void
check_stmt(const char *query, size_t size, const struct hoop_sql_stmt *st,
    const struct hoop_principal *ro, const struct hoop_principal *all)
{
	struct hoop_sql_decision d;
	const char *f;
	size_t i, j;

	if (st->classes == 0 || (st->classes & ~ALL_CLASSES) != 0 ||
	    st->tag == NULL || st->tag[0] == '\0')
		abort();
	/* The text is the query's own bytes, trimmed. */
	if (st->text == NULL || st->text_len == 0 || st->offset > size ||
	    st->text_len > size - st->offset ||
	    memcmp(query + st->offset, st->text, st->text_len) != 0 ||
	    st->text[st->text_len] != '\0' || isspace((unsigned char)
	    st->text[0]) || isspace((unsigned char)st->text[st->text_len - 1]))
		abort();
	if (strlen(st->fingerprint) != 16 ||
	    strspn(st->fingerprint, "0123456789abcdef") != 16)
		abort();
	if (st->n_functions > HOOP_SQL_MAX_FUNCTIONS ||
	    (st->n_functions > 0) != (st->functions != NULL))
		abort();
	for (i = 0; i < st->n_functions; i++) {
		f = st->functions[i];
		if (f == NULL || f[0] == '\0')
			abort();
		for (; *f != '\0'; f++)
			if (isupper((unsigned char)*f))
				abort();
		for (j = 0; j < i; j++)
			if (strcmp(st->functions[i], st->functions[j]) == 0)
				abort();
	}

	/* Read-only allows exactly the statements that only read. */
	hoop_sql_decide(fixed_config(), ro, "db", st, &d);
	if ((d.d.action == HOOP_ACTION_ALLOW) !=
	    (st->classes == HOOP_SQL_READ &&
	    !(st->flags & HOOP_SQL_F_LEXER)))
		abort();
	/* Every class allowed: only what changes lexing is refused. */
	hoop_sql_decide(fixed_config(), all, "db", st, &d);
	if ((d.d.action == HOOP_ACTION_ALLOW) ==
	    !!(st->flags & HOOP_SQL_F_LEXER))
		abort();
	if (d.n_approve_rules != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoop_principal ro, all;
	hoop_sql_t *sql = NULL;
	char why[256], *copy;
	size_t i;
	hoop_err_t err;

	memset(&ro, 0, sizeof(ro));
	memset(&all, 0, sizeof(all));
	ro.identity = hoop_config_identity(fixed_config(), "ro");
	all.identity = hoop_config_identity(fixed_config(), "all");
	/* Exactly size bytes, no NUL after them, so that a read past the
	 * end is caught. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	err = hoop_sql_parse(copy, size, &sql, why, sizeof(why));
	if ((err == HOOP_OK) != (sql != NULL))
		abort();
	if (size > HOOP_SQL_MAX_QUERY && err != HOOP_ERR_TOOBIG)
		abort();
	if (size > 0 && memchr(copy, '\0', size) != NULL &&
	    size <= HOOP_SQL_MAX_QUERY && err != HOOP_ERR_INVAL)
		abort();
	if (err != HOOP_OK && why[0] == '\0')
		abort();
	if (hoop_sql_count(sql) > HOOP_SQL_MAX_STATEMENTS ||
	    hoop_sql_stmt_at(sql, hoop_sql_count(sql)) != NULL)
		abort();
	for (i = 0; i < hoop_sql_count(sql); i++)
		check_stmt(copy, size, hoop_sql_stmt_at(sql, i), &ro, &all);
	hoop_sql_free(sql);
	free(copy);
	return 0;
}
