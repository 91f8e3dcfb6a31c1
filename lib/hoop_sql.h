/*
 * SQL statements, classified for policy. The PostgreSQL parser itself
 * (libpg_query, PostgreSQL 15) reads the query; every node of each
 * statement's parse tree is visited, so what a statement does is decided
 * from its structure, never from its text (comments, quoting, dollar
 * quoting and escapes cannot hide anything).
 *
 * Classes (enum hoop_sql_class in hoop_config.h) are the union over
 * everything inside a statement: CTEs, subqueries, the statement inside
 * EXPLAIN (with or without ANALYZE: planning alone can run functions),
 * PREPARE, DECLARE CURSOR, CREATE RULE and SQL function bodies, COPY's
 * query. Notable classes:
 *   SELECT ... FOR UPDATE/SHARE, LOCK      write (+ HOOP_SQL_F_LOCK)
 *   SELECT INTO, CREATE TABLE AS           ddl + write
 *   TRUNCATE                               ddl + write
 *   REFRESH MATERIALIZED VIEW, NOTIFY      write
 *   COPY                                   copy + read (TO) or write (FROM);
 *                                          + admin for a server file or
 *                                          PROGRAM
 *   DO, CALL                               call
 *   SET ROLE, SET SESSION AUTHORIZATION,
 *   RESET ROLE/SESSION AUTHORIZATION,
 *   RESET ALL, DISCARD ALL                 dcl (+ HOOP_SQL_F_ROLE)
 *   other SET and RESET, DISCARD PLANS/
 *   SEQUENCES/TEMP, LISTEN, UNLISTEN,
 *   DEALLOCATE                             session
 *   SET TRANSACTION, SET CONSTRAINTS       transaction
 *   PREPARE TRANSACTION, COMMIT/ROLLBACK
 *   PREPARED                               transaction + admin
 *   EXPLAIN, SHOW, DECLARE/FETCH/MOVE/
 *   CLOSE (cursors)                        read
 *   VACUUM, ANALYZE, CLUSTER, REINDEX,
 *   CHECKPOINT, ALTER SYSTEM, LOAD         admin
 *   CREATE/ALTER EXTENSION, EVENT TRIGGER,
 *   TABLESPACE, SUBSCRIPTION, LANGUAGE,
 *   FOREIGN DATA WRAPPER, ACCESS METHOD    ddl + admin
 *   GRANT, REVOKE, roles, ALTER DEFAULT
 *   PRIVILEGES, SECURITY LABEL             dcl (+ ddl for owners, policies,
 *                                          user mappings, DROP OWNED)
 *   EXECUTE (a prepared statement)         unknown: the caller knows what
 *                                          it prepared (the prepared field)
 * A node type the walker does not know makes the statement unknown, and
 * so does a statement that ends up with no class: never read by default.
 *
 * Functions: every function call anywhere in the statement (FuncCall
 * nodes and CALL's procedure; operators are not functions here), lower
 * case, with the schema when written ("pg_catalog.pg_read_file"). Some
 * functions are dangerous whatever the statement; their classes join the
 * statement's (matched on the name without schema, so a schema cannot
 * hide them):
 *   admin:   pg_terminate_backend, pg_cancel_backend, pg_reload_conf,
 *            pg_rotate_logfile*, pg_promote, pg_switch_wal,
 *            pg_create_* (restore points, replication slots),
 *            pg_drop_replication_slot, pg_copy_*, pg_replication_*,
 *            pg_logical_*, pg_backup_*, pg_start_backup, pg_stop_backup,
 *            pg_wal_replay_*, pg_stat_reset*, pg_stat_statements_reset,
 *            pg_log_backend_memory_contexts, pg_import_system_collations,
 *            pg_prewarm, pg_truncate_visibility_map, txid_*,
 *            pg_current_xact_id*, binary_upgrade_*
 *   admin + HOOP_SQL_F_SERVER_FILE (the server's files):
 *            pg_read_file, pg_read_binary_file, pg_stat_file, pg_ls_*,
 *            pg_file_*, pg_logdir_ls, lo_import, lo_export
 *   write:   nextval, setval, pg_notify, lo_from_bytea, lo_put,
 *            lo_create, lo_creat, lo_unlink, lo_truncate*, lowrite
 *   session: set_config, pg_advisory_*, pg_try_advisory_*
 *   unknown (they run SQL text hoop cannot see, or reach other servers):
 *            dblink*, query_to_xml*, cursor_to_xml*, table_to_xml*,
 *            schema_to_xml*, database_to_xml*, ts_stat, ts_rewrite,
 *            pg_background_*
 * set_config's arguments are read like SET: a role or session
 * authorization adds dcl, standard_conforming_strings and client_encoding
 * set the flags below; a setting name that is not a constant adds
 * unknown. Argument-derived classes belong to the statement, not to the
 * function (a rule naming set_config does not allow role changes).
 * User-defined functions are not known to write: run sessions under a
 * least-privilege database role too.
 */
#ifndef HOOP_SQL_H
#define HOOP_SQL_H

#include <stddef.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_policy.h"

/* Largest query accepted (a Simple Query or a Parse message's text). */
#define HOOP_SQL_MAX_QUERY		(1024 * 1024)
/* Most statements in one query, and distinct functions per statement. */
#define HOOP_SQL_MAX_STATEMENTS		4096
#define HOOP_SQL_MAX_FUNCTIONS		1024

enum hoop_sql_flag {
	/* Changes the role privileges are checked against: SET ROLE,
	 * SET SESSION AUTHORIZATION, RESET ROLE, RESET ALL, DISCARD ALL,
	 * set_config('role' or 'session_authorization', ...). */
	HOOP_SQL_F_ROLE = 1 << 0,
	/* Changes how later statements are lexed, so hoop would read them
	 * differently from the server: standard_conforming_strings set to
	 * anything but on (SET, RESET, set_config), client_encoding set to
	 * anything but UTF8 or SQL_ASCII. hoop_sql_decide refuses it. */
	HOOP_SQL_F_LEXER = 1 << 1,
	/* Reads or writes the database server's files: COPY to or from a
	 * file, pg_read_file, lo_export, ... */
	HOOP_SQL_F_SERVER_FILE = 1 << 2,
	/* Runs a program on the database server: COPY ... PROGRAM. */
	HOOP_SQL_F_PROGRAM = 1 << 3,
	/* Takes row locks (FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE) or table
	 * locks (LOCK). */
	HOOP_SQL_F_LOCK = 1 << 4,
	/* COPY FROM STDIN: CopyData from the client follows. */
	HOOP_SQL_F_COPY_IN = 1 << 5,
	/* COPY TO STDOUT: CopyData to the client follows (to mask). */
	HOOP_SQL_F_COPY_OUT = 1 << 6,
	/* May make transactions read-write: BEGIN/START/SET TRANSACTION or
	 * SET SESSION CHARACTERISTICS with READ WRITE, default_transaction_
	 * read_only or transaction_read_only set to anything but on, reset,
	 * RESET ALL, DISCARD ALL. For a caller that pins sessions read-only
	 * on the server. */
	HOOP_SQL_F_READ_WRITE = 1 << 7,
};

/* One statement of a parsed query; owned by its hoop_sql_t. */
struct hoop_sql_stmt {
	unsigned classes;	/* enum hoop_sql_class bits, never 0 */
	unsigned flags;		/* enum hoop_sql_flag bits */
	const char *tag;	/* the command: "SELECT", "CREATE TABLE" */
	const char *text;	/* the statement's own text, NUL-terminated,
				 * without surrounding white space */
	size_t text_len;
	size_t offset;		/* where text starts in the query */
	/* pg_query_fingerprint of text, 16 hex digits: the same for
	 * statements that differ only in constants, white space, comments
	 * or the case of keywords. */
	char fingerprint[17];
	const char *const *functions;	/* each called function, once */
	size_t n_functions;
	/* PREPARE, EXECUTE, DEALLOCATE: the prepared statement's name
	 * (NULL for DEALLOCATE ALL and every other statement). */
	const char *prepared;
};

typedef struct hoop_sql hoop_sql_t;

/*
 * Parses query (len bytes, no NUL inside; it need not be NUL-terminated)
 * into its statements. A query with no statement (empty, only comments or
 * semicolons) gives a hoop_sql_t with none. HOOP_ERR_TOOBIG: over
 * HOOP_SQL_MAX_QUERY bytes, HOOP_SQL_MAX_STATEMENTS statements or
 * HOOP_SQL_MAX_FUNCTIONS functions, or a parse tree too large to walk;
 * HOOP_ERR_INVAL: a syntax error (why holds the parser's message and the
 * byte offset) or a NUL byte. Nesting is bounded: libpg_query refuses
 * deeper than its own limit, long queries are parsed on a thread whose
 * stack grows with their length, and the walk here does not recurse.
 */
hoop_err_t hoop_sql_parse(const char *query, size_t len, hoop_sql_t **out,
    char *why, size_t whylen);
void hoop_sql_free(hoop_sql_t *sql);

size_t hoop_sql_count(const hoop_sql_t *sql);
/* NULL when index >= hoop_sql_count(). */
const struct hoop_sql_stmt *hoop_sql_stmt_at(const hoop_sql_t *sql,
    size_t index);

/* "read", "write", ... for one class bit (NULL for anything else), and
 * all of classes as "read,write" into buf (empty for none). */
const char *hoop_sql_class_name(unsigned class_bit);
void hoop_sql_classes_format(unsigned classes, char *buf, size_t len);

/* Most approve rules one statement can need at once. */
#define HOOP_SQL_MAX_APPROVE_RULES	8

struct hoop_sql_decision {
	/* The outcome: action, the rule and policy that decided it, and a
	 * reason naming the class or function it was decided on. */
	struct hoop_decision d;
	/* For HOOP_ACTION_APPROVE: every approve rule that matched something
	 * of the statement; the approval must satisfy each of them. */
	const struct hoop_rule *approve_rules[HOOP_SQL_MAX_APPROVE_RULES];
	size_t n_approve_rules;
};

/*
 * Decides one statement for principal p on target (a target name; NULL
 * is refused) under the sql rules of every policy that applies
 * (hoop_policy_decide). How rules combine:
 *
 *  1. The statement is split into items: each class bit of the classes
 *     its nodes gave (its own and every nested statement's, plus those
 *     set_config's arguments gave), and each function it calls.
 *  2. A class item is matched by the rules whose statements hold that
 *     class; a function item by the rules whose functions list it. Names
 *     compare without regard to case and with "pg_catalog." ignored on
 *     either side; a deny or approve rule also matches the function in
 *     any schema (qualifying the call cannot dodge it), an allow rule
 *     only as described.
 *  3. Each item gets the strongest action of the rules matching it (deny
 *     > approve > allow, hoop_policy_decide); the statement gets the
 *     strongest over its items, the first item in that order naming the
 *     rule and reason on a tie. A rule that matches one item says
 *     nothing about another: allowing read allows no write inside it.
 *  4. An item no rule matches is a deny ("no rule allows it"), except a
 *     function outside the dangerous table (then it adds nothing).
 *  5. A dangerous function is also decided by its classes from the table:
 *     each must be allowed by a class rule, unless a rule naming the
 *     function matched it; a deny or approve rule matching one of those
 *     classes applies either way.
 *  6. HOOP_SQL_F_LEXER is a deny whatever the rules say.
 *
 * An approve outcome lists every approve rule that matched an item in
 * approve_rules; more than HOOP_SQL_MAX_APPROVE_RULES is a deny.
 */
void hoop_sql_decide(const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target,
    const struct hoop_sql_stmt *stmt, struct hoop_sql_decision *d);

#endif
