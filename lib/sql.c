/* SQL statement classification over libpg_query's parse tree (hoop_sql.h). */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pg_query.h>

#include "hoop_sql.h"
#include "hoop_util.h"

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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * libpg_query recurses once per level of the tree when it writes its
 * output, without a depth check, and a left-deep chain ("1+1+1...")
 * costs it about 80 bytes of stack per byte of query. Short queries are
 * parsed on the caller's stack; longer ones on a thread whose stack is
 * sized from the query's length.
 */
#define INLINE_PARSE_MAX	4096
#define THREAD_STACK_BASE	((size_t)8 << 20)
#define THREAD_STACK_PER_BYTE	192

/* Tokens of libpg_query's JSON output (16 bytes each): a hostile 1 MiB
 * query can produce 13 million; past this (128 MiB) it is refused. */
#define MAX_TOKENS		((uint32_t)1 << 23)

/* ---- libpg_query's JSON output, tokenised in place ---- */

enum jtype { J_OBJ = 1, J_ARR, J_STR, J_PRIM };

struct jtok {
	uint32_t start;		/* strings: first byte inside the quotes */
	uint32_t len;		/* strings and primitives: raw byte length */
	uint32_t next;		/* the token after this one's subtree (while
				 * a container is open: its parent) */
	uint8_t type;
	uint8_t key;		/* a string in key position */
	uint8_t esc;		/* a string holding a backslash escape */
};

struct jdoc {
	const char *s;
	size_t len;
	struct jtok *t;
	uint32_t n, cap;
};

#define J_NONE	UINT32_MAX

static hoop_err_t
jnew(struct jdoc *d, enum jtype type, uint32_t *idx)
{
	struct jtok *t;
	uint32_t cap;

	if (d->n == d->cap) {
		if (d->cap >= MAX_TOKENS)
			return HOOP_ERR_TOOBIG;
		cap = d->cap > MAX_TOKENS / 2 ? MAX_TOKENS : d->cap * 2;
		if ((t = realloc(d->t, (size_t)cap * sizeof(*t))) == NULL)
			return HOOP_ERR_NOMEM;
		d->t = t;
		d->cap = cap;
	}
	t = &d->t[d->n];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->next = d->n + 1;
	*idx = d->n++;
	return HOOP_OK;
}

/* The string whose opening quote is at *pos: escapes are checked, not
 * undone; *pos moves past the closing quote. */
static int
jscan_string(const struct jdoc *d, size_t *pos, struct jtok *t)
{
	const char *s = d->s;
	size_t i = *pos + 1, k;
	unsigned char c;

	t->start = (uint32_t)i;
	for (;;) {
		if (i >= d->len)
			return -1;
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			i++;
			continue;
		}
		t->esc = 1;
		if (i + 1 >= d->len)
			return -1;
		c = (unsigned char)s[i + 1];
		if (c == 'u') {
			if (d->len - i < 6)
				return -1;
			for (k = 2; k < 6; k++)
				if (!isxdigit((unsigned char)s[i + k]))
					return -1;
			i += 6;
		} else if (c != '\0' && strchr("\"\\/bfnrt", c) != NULL) {
			i += 2;
		} else {
			return -1;
		}
	}
	t->len = (uint32_t)(i - t->start);
	*pos = i + 1;
	return 0;
}

static int
jprim_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '+' || c == '.';
}

/*
 * Tokenises d->s without recursion (an open container keeps its parent
 * in next until it closes), strictly: anything but one well-formed value
 * is refused.
 */
static hoop_err_t
jparse(struct jdoc *d)
{
	enum { ST_VALUE, ST_KEY, ST_COLON, ST_NEXT, ST_DONE } st = ST_VALUE;
	uint32_t cur = J_NONE, idx;
	struct jtok tmp;
	size_t i = 0;
	int open = 0;		/* just after '{' or '[': it may close */
	unsigned char c;
	hoop_err_t err;

	if (d->len >= UINT32_MAX)
		return HOOP_ERR_TOOBIG;
	while (i < d->len) {
		c = (unsigned char)d->s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			i++;
			continue;
		}
		if (st == ST_DONE)
			return HOOP_ERR_INVAL;
		if (st == ST_COLON) {
			if (c != ':')
				return HOOP_ERR_INVAL;
			st = ST_VALUE;
			i++;
			continue;
		}
		if (st == ST_NEXT && c == ',') {
			st = d->t[cur].type == J_OBJ ? ST_KEY : ST_VALUE;
			open = 0;
			i++;
			continue;
		}
		if (st == ST_KEY && c == '"') {
			memset(&tmp, 0, sizeof(tmp));
			/* Keys are names libpg_query writes: never escaped. */
			if (jscan_string(d, &i, &tmp) != 0 || tmp.esc ||
			    tmp.len == 0)
				return HOOP_ERR_INVAL;
			if ((err = jnew(d, J_STR, &idx)) != HOOP_OK)
				return err;
			d->t[idx].start = tmp.start;
			d->t[idx].len = tmp.len;
			d->t[idx].key = 1;
			st = ST_COLON;
			open = 0;
			continue;
		}
		if (st == ST_VALUE && (c == '{' || c == '[')) {
			if ((err = jnew(d, c == '{' ? J_OBJ : J_ARR, &idx)) !=
			    HOOP_OK)
				return err;
			d->t[idx].next = cur;
			cur = idx;
			st = c == '{' ? ST_KEY : ST_VALUE;
			open = 1;
			i++;
			continue;
		}
		if (st == ST_VALUE && c == '"') {
			memset(&tmp, 0, sizeof(tmp));
			if (jscan_string(d, &i, &tmp) != 0)
				return HOOP_ERR_INVAL;
			if ((err = jnew(d, J_STR, &idx)) != HOOP_OK)
				return err;
			d->t[idx].start = tmp.start;
			d->t[idx].len = tmp.len;
			d->t[idx].esc = tmp.esc;
		} else if (st == ST_VALUE && jprim_char(c)) {
			if ((err = jnew(d, J_PRIM, &idx)) != HOOP_OK)
				return err;
			d->t[idx].start = (uint32_t)i;
			while (i < d->len && jprim_char((unsigned char)d->s[i]))
				i++;
			d->t[idx].len = (uint32_t)(i - d->t[idx].start);
		} else {
			/* A close: after a member, or just after the open. */
			if ((st != ST_NEXT && !open) || cur == J_NONE ||
			    c != (d->t[cur].type == J_OBJ ? '}' : ']'))
				return HOOP_ERR_INVAL;
			i++;
			idx = cur;
			cur = d->t[idx].next;
			d->t[idx].next = d->n;
		}
		open = 0;
		st = cur == J_NONE ? ST_DONE : ST_NEXT;
	}
	return st == ST_DONE && d->t[0].type == J_OBJ ? HOOP_OK :
	    HOOP_ERR_INVAL;
}

static int
jkey_is(const struct jdoc *d, uint32_t k, const char *key)
{
	size_t n = strlen(key);

	return d->t[k].len == n && memcmp(d->s + d->t[k].start, key, n) == 0;
}

/* The value of key in object obj, or J_NONE. */
static uint32_t
jget(const struct jdoc *d, uint32_t obj, const char *key)
{
	uint32_t i;

	if (obj >= d->n || d->t[obj].type != J_OBJ)
		return J_NONE;
	for (i = obj + 1; i < d->t[obj].next; i = d->t[i + 1].next)
		if (jkey_is(d, i, key))
			return i + 1;
	return J_NONE;
}

/* The fields of the wrapped node {"Type": {...}} at v, and in *type the
 * key naming its type; J_NONE if v is not one. */
static uint32_t
jnode(const struct jdoc *d, uint32_t v, uint32_t *type)
{
	uint32_t k = v + 1;

	if (v >= d->n || d->t[v].type != J_OBJ || d->t[v].next == k ||
	    d->t[k + 1].type != J_OBJ || d->t[k + 1].next != d->t[v].next ||
	    !isupper((unsigned char)d->s[d->t[k].start]))
		return J_NONE;
	*type = k;
	return k + 1;
}

static int
jarray(const struct jdoc *d, uint32_t v)
{
	return v < d->n && d->t[v].type == J_ARR;
}

static int
jtrue(const struct jdoc *d, uint32_t v)
{
	return v < d->n && d->t[v].type == J_PRIM && d->t[v].len == 4 &&
	    memcmp(d->s + d->t[v].start, "true", 4) == 0;
}

/* An integer primitive; absent is 0 (libpg_query leaves zeros out). */
static int
jint(const struct jdoc *d, uint32_t v, long long *out)
{
	const char *p;
	uint32_t i = 0;
	int neg = 0;

	*out = 0;
	if (v == J_NONE)
		return 0;
	if (v >= d->n || d->t[v].type != J_PRIM || d->t[v].len == 0)
		return -1;
	p = d->s + d->t[v].start;
	if (p[0] == '-') {
		neg = 1;
		i++;
	}
	if (i == d->t[v].len)
		return -1;
	for (; i < d->t[v].len; i++) {
		if (!isdigit((unsigned char)p[i]) ||
		    *out > (LLONG_MAX - 9) / 10)
			return -1;
		*out = *out * 10 + (p[i] - '0');
	}
	if (neg)
		*out = -*out;
	return 0;
}

static int
hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' :
	    tolower((unsigned char)c) - 'a' + 10;
}

/*
 * String v with its escapes undone into out (size > 0, NUL-terminated,
 * cut to fit); returns its whole length, or (size_t)-1 if v is not a
 * string. libpg_query writes bytes from 0x80 as they are and escapes
 * control characters only; a \u escape of NUL or of anything past ASCII
 * is refused too (-1), so that no two spellings compare equal.
 */
static size_t
jstr(const struct jdoc *d, uint32_t v, char *out, size_t size)
{
	const char *p;
	size_t n = 0, i, k;
	unsigned cp;
	char c;

	out[0] = '\0';
	if (v >= d->n || d->t[v].type != J_STR)
		return (size_t)-1;
	p = d->s + d->t[v].start;
	for (i = 0; i < d->t[v].len; i++, n++) {
		c = p[i];
		if (c == '\\') {
			switch (p[++i]) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				/* jscan_string checked the four digits. */
				for (cp = 0, k = 1; k <= 4; k++)
					cp = cp << 4 |
					    (unsigned)hexval(p[i + k]);
				if (cp == 0 || cp > 0x7f)
					return (size_t)-1;
				c = (char)cp;
				i += 4;
				break;
			default: c = p[i]; break;
			}
		}
		if (n + 1 < size)
			out[n] = c;
	}
	out[n + 1 < size ? n : size - 1] = '\0';
	return n;
}

/* Whether string v is text exactly, or (icase) without regard to case. */
static int
jstr_is(const struct jdoc *d, uint32_t v, const char *text, int icase)
{
	char buf[128];
	size_t n = jstr(d, v, buf, sizeof(buf));

	if (n == (size_t)-1 || n >= sizeof(buf) || n != strlen(text))
		return 0;
	return icase ? strcasecmp(buf, text) == 0 : strcmp(buf, text) == 0;
}

/* ---- What the nodes of a statement say ---- */

/* Nodes that need more than their row: what to look at in their fields. */
enum node_act {
	A_PLAIN, A_FUNCCALL, A_COPY, A_SET, A_TRANSACTION, A_DISCARD,
	A_PREPARED, A_SELECT, A_CTAS, A_VACUUM, A_FETCH, A_GRANT, A_LOCK,
};

struct node_kind {
	const char *name;
	unsigned classes;
	const char *tag;	/* as a statement; NULL: never one */
	enum node_act act;
};

#define NODE(name)		{ name, 0, NULL, A_PLAIN }
#define STMT(name, classes, tag)	{ name, classes, tag, A_PLAIN }
#define SPECIAL(name, classes, tag, act)	{ name, classes, tag, act }

/*
 * Every node type libpg_query's raw parse trees hold, sorted (strcmp) for
 * bsearch. Nodes the parser only makes later (Var, Query, TargetEntry...)
 * and PLAssignStmt (PL/pgSQL only) are left out: meeting one, or any type
 * a newer parser adds, makes the statement unknown. Expression and
 * clause nodes add nothing by themselves.
 */
static const struct node_kind node_kinds[] = {
	NODE("A_ArrayExpr"),
	NODE("A_Const"),
	NODE("A_Expr"),
	NODE("A_Indices"),
	NODE("A_Indirection"),
	NODE("A_Star"),
	NODE("AccessPriv"),
	NODE("Alias"),
	STMT("AlterCollationStmt", DDL, "ALTER COLLATION"),
	STMT("AlterDatabaseRefreshCollStmt", DDL, "ALTER DATABASE"),
	STMT("AlterDatabaseSetStmt", DDL, "ALTER DATABASE"),
	STMT("AlterDatabaseStmt", DDL, "ALTER DATABASE"),
	STMT("AlterDefaultPrivilegesStmt", DCL, "ALTER DEFAULT PRIVILEGES"),
	STMT("AlterDomainStmt", DDL, "ALTER DOMAIN"),
	STMT("AlterEnumStmt", DDL, "ALTER TYPE"),
	STMT("AlterEventTrigStmt", DDL | ADM, "ALTER EVENT TRIGGER"),
	STMT("AlterExtensionContentsStmt", DDL | ADM, "ALTER EXTENSION"),
	STMT("AlterExtensionStmt", DDL | ADM, "ALTER EXTENSION"),
	STMT("AlterFdwStmt", DDL | ADM, "ALTER FOREIGN DATA WRAPPER"),
	STMT("AlterForeignServerStmt", DDL, "ALTER SERVER"),
	STMT("AlterFunctionStmt", DDL, "ALTER FUNCTION"),
	STMT("AlterObjectDependsStmt", DDL, "ALTER"),
	STMT("AlterObjectSchemaStmt", DDL, "ALTER"),
	STMT("AlterOpFamilyStmt", DDL, "ALTER OPERATOR FAMILY"),
	STMT("AlterOperatorStmt", DDL, "ALTER OPERATOR"),
	STMT("AlterOwnerStmt", DDL | DCL, "ALTER"),
	STMT("AlterPolicyStmt", DDL | DCL, "ALTER POLICY"),
	STMT("AlterPublicationStmt", DDL, "ALTER PUBLICATION"),
	STMT("AlterRoleSetStmt", DCL, "ALTER ROLE"),
	STMT("AlterRoleStmt", DCL, "ALTER ROLE"),
	STMT("AlterSeqStmt", DDL, "ALTER SEQUENCE"),
	STMT("AlterStatsStmt", DDL, "ALTER STATISTICS"),
	STMT("AlterSubscriptionStmt", DDL | ADM, "ALTER SUBSCRIPTION"),
	STMT("AlterSystemStmt", ADM, "ALTER SYSTEM"),
	STMT("AlterTSConfigurationStmt", DDL,
	    "ALTER TEXT SEARCH CONFIGURATION"),
	STMT("AlterTSDictionaryStmt", DDL, "ALTER TEXT SEARCH DICTIONARY"),
	NODE("AlterTableCmd"),
	STMT("AlterTableMoveAllStmt", DDL, "ALTER TABLE"),
	STMT("AlterTableSpaceOptionsStmt", DDL | ADM, "ALTER TABLESPACE"),
	STMT("AlterTableStmt", DDL, "ALTER TABLE"),
	STMT("AlterTypeStmt", DDL, "ALTER TYPE"),
	STMT("AlterUserMappingStmt", DDL | DCL, "ALTER USER MAPPING"),
	NODE("BitString"),
	NODE("BoolExpr"),
	NODE("Boolean"),
	NODE("BooleanTest"),
	NODE("CTECycleClause"),
	NODE("CTESearchClause"),
	STMT("CallStmt", CALL, "CALL"),
	NODE("CaseExpr"),
	NODE("CaseWhen"),
	STMT("CheckPointStmt", ADM, "CHECKPOINT"),
	STMT("ClosePortalStmt", RD, "CLOSE CURSOR"),
	STMT("ClusterStmt", ADM, "CLUSTER"),
	NODE("CoalesceExpr"),
	NODE("CollateClause"),
	NODE("ColumnDef"),
	NODE("ColumnRef"),
	STMT("CommentStmt", DDL, "COMMENT"),
	NODE("CommonTableExpr"),
	STMT("CompositeTypeStmt", DDL, "CREATE TYPE"),
	NODE("Constraint"),
	STMT("ConstraintsSetStmt", TX, "SET CONSTRAINTS"),
	SPECIAL("CopyStmt", CPY, "COPY", A_COPY),
	STMT("CreateAmStmt", DDL | ADM, "CREATE ACCESS METHOD"),
	STMT("CreateCastStmt", DDL, "CREATE CAST"),
	STMT("CreateConversionStmt", DDL, "CREATE CONVERSION"),
	STMT("CreateDomainStmt", DDL, "CREATE DOMAIN"),
	STMT("CreateEnumStmt", DDL, "CREATE TYPE"),
	STMT("CreateEventTrigStmt", DDL | ADM, "CREATE EVENT TRIGGER"),
	STMT("CreateExtensionStmt", DDL | ADM, "CREATE EXTENSION"),
	STMT("CreateFdwStmt", DDL | ADM, "CREATE FOREIGN DATA WRAPPER"),
	STMT("CreateForeignServerStmt", DDL, "CREATE SERVER"),
	STMT("CreateForeignTableStmt", DDL, "CREATE FOREIGN TABLE"),
	STMT("CreateFunctionStmt", DDL, "CREATE FUNCTION"),
	NODE("CreateOpClassItem"),
	STMT("CreateOpClassStmt", DDL, "CREATE OPERATOR CLASS"),
	STMT("CreateOpFamilyStmt", DDL, "CREATE OPERATOR FAMILY"),
	STMT("CreatePLangStmt", DDL | ADM, "CREATE LANGUAGE"),
	STMT("CreatePolicyStmt", DDL | DCL, "CREATE POLICY"),
	STMT("CreatePublicationStmt", DDL, "CREATE PUBLICATION"),
	STMT("CreateRangeStmt", DDL, "CREATE TYPE"),
	STMT("CreateRoleStmt", DCL, "CREATE ROLE"),
	STMT("CreateSchemaStmt", DDL, "CREATE SCHEMA"),
	STMT("CreateSeqStmt", DDL, "CREATE SEQUENCE"),
	STMT("CreateStatsStmt", DDL, "CREATE STATISTICS"),
	STMT("CreateStmt", DDL, "CREATE TABLE"),
	STMT("CreateSubscriptionStmt", DDL | ADM, "CREATE SUBSCRIPTION"),
	SPECIAL("CreateTableAsStmt", DDL | WR, "CREATE TABLE AS", A_CTAS),
	STMT("CreateTableSpaceStmt", DDL | ADM, "CREATE TABLESPACE"),
	STMT("CreateTransformStmt", DDL, "CREATE TRANSFORM"),
	STMT("CreateTrigStmt", DDL, "CREATE TRIGGER"),
	STMT("CreateUserMappingStmt", DDL | DCL, "CREATE USER MAPPING"),
	STMT("CreatedbStmt", DDL, "CREATE DATABASE"),
	NODE("CurrentOfExpr"),
	SPECIAL("DeallocateStmt", SES, "DEALLOCATE", A_PREPARED),
	STMT("DeclareCursorStmt", RD, "DECLARE CURSOR"),
	NODE("DefElem"),
	STMT("DefineStmt", DDL, "CREATE"),
	STMT("DeleteStmt", WR, "DELETE"),
	SPECIAL("DiscardStmt", SES, "DISCARD", A_DISCARD),
	STMT("DoStmt", CALL, "DO"),
	STMT("DropOwnedStmt", DDL | DCL, "DROP OWNED"),
	STMT("DropRoleStmt", DCL, "DROP ROLE"),
	STMT("DropStmt", DDL, "DROP"),
	STMT("DropSubscriptionStmt", DDL | ADM, "DROP SUBSCRIPTION"),
	STMT("DropTableSpaceStmt", DDL | ADM, "DROP TABLESPACE"),
	STMT("DropUserMappingStmt", DDL | DCL, "DROP USER MAPPING"),
	STMT("DropdbStmt", DDL, "DROP DATABASE"),
	SPECIAL("ExecuteStmt", UNK, "EXECUTE", A_PREPARED),
	STMT("ExplainStmt", RD, "EXPLAIN"),
	SPECIAL("FetchStmt", RD, "FETCH", A_FETCH),
	NODE("Float"),
	SPECIAL("FuncCall", 0, NULL, A_FUNCCALL),
	NODE("FunctionParameter"),
	SPECIAL("GrantRoleStmt", DCL, "GRANT ROLE", A_GRANT),
	SPECIAL("GrantStmt", DCL, "GRANT", A_GRANT),
	NODE("GroupingFunc"),
	NODE("GroupingSet"),
	STMT("ImportForeignSchemaStmt", DDL, "IMPORT FOREIGN SCHEMA"),
	NODE("IndexElem"),
	STMT("IndexStmt", DDL, "CREATE INDEX"),
	NODE("InferClause"),
	STMT("InsertStmt", WR, "INSERT"),
	NODE("IntList"),
	NODE("Integer"),
	STMT("IntoClause", DDL | WR, NULL),
	NODE("JoinExpr"),
	NODE("List"),
	STMT("ListenStmt", SES, "LISTEN"),
	STMT("LoadStmt", ADM, "LOAD"),
	SPECIAL("LockStmt", WR, "LOCK TABLE", A_LOCK),
	SPECIAL("LockingClause", WR, NULL, A_LOCK),
	STMT("MergeStmt", WR, "MERGE"),
	NODE("MergeWhenClause"),
	NODE("MinMaxExpr"),
	NODE("MultiAssignRef"),
	NODE("NamedArgExpr"),
	STMT("NotifyStmt", WR, "NOTIFY"),
	NODE("NullTest"),
	NODE("ObjectWithArgs"),
	NODE("OidList"),
	NODE("OnConflictClause"),
	NODE("ParamRef"),
	NODE("PartitionBoundSpec"),
	NODE("PartitionCmd"),
	NODE("PartitionElem"),
	NODE("PartitionRangeDatum"),
	NODE("PartitionSpec"),
	SPECIAL("PrepareStmt", 0, "PREPARE", A_PREPARED),
	NODE("PublicationObjSpec"),
	NODE("PublicationTable"),
	NODE("RangeFunction"),
	NODE("RangeSubselect"),
	NODE("RangeTableFunc"),
	NODE("RangeTableFuncCol"),
	NODE("RangeTableSample"),
	NODE("RangeVar"),
	STMT("ReassignOwnedStmt", DCL, "REASSIGN OWNED"),
	STMT("RefreshMatViewStmt", WR, "REFRESH MATERIALIZED VIEW"),
	STMT("ReindexStmt", ADM, "REINDEX"),
	STMT("RenameStmt", DDL, "ALTER"),
	STMT("ReplicaIdentityStmt", DDL, NULL),
	NODE("ResTarget"),
	NODE("ReturnStmt"),
	NODE("RoleSpec"),
	NODE("RowExpr"),
	STMT("RuleStmt", DDL, "CREATE RULE"),
	NODE("SQLValueFunction"),
	STMT("SecLabelStmt", DCL, "SECURITY LABEL"),
	SPECIAL("SelectStmt", RD, "SELECT", A_SELECT),
	NODE("SetToDefault"),
	NODE("SortBy"),
	NODE("StatsElem"),
	NODE("String"),
	NODE("SubLink"),
	NODE("TableLikeClause"),
	SPECIAL("TransactionStmt", TX, NULL, A_TRANSACTION),
	NODE("TriggerTransition"),
	STMT("TruncateStmt", DDL | WR, "TRUNCATE TABLE"),
	NODE("TypeCast"),
	NODE("TypeName"),
	STMT("UnlistenStmt", SES, "UNLISTEN"),
	STMT("UpdateStmt", WR, "UPDATE"),
	NODE("VacuumRelation"),
	SPECIAL("VacuumStmt", ADM, "VACUUM", A_VACUUM),
	SPECIAL("VariableSetStmt", 0, "SET", A_SET),
	STMT("VariableShowStmt", RD, "SHOW"),
	STMT("ViewStmt", DDL, "CREATE VIEW"),
	NODE("WindowDef"),
	NODE("WithClause"),
	NODE("XmlExpr"),
	NODE("XmlSerialize"),
};

/* Functions that are not "read" whatever the statement (hoop_sql.h has
 * the same list for readers); matched on the name without schema. */
struct danger {
	const char *name;
	int prefix;		/* every function whose name starts so */
	unsigned classes;
	unsigned flags;
};

static const struct danger dangers[] = {
	/* Other sessions, the server's configuration and logs. */
	{ "pg_terminate_backend", 0, ADM, 0 },
	{ "pg_cancel_backend", 0, ADM, 0 },
	{ "pg_reload_conf", 0, ADM, 0 },
	{ "pg_rotate_logfile", 1, ADM, 0 },
	{ "pg_log_backend_memory_contexts", 0, ADM, 0 },
	{ "pg_promote", 0, ADM, 0 },
	/* WAL, backups, replication, transaction ids. */
	{ "pg_switch_wal", 0, ADM, 0 },
	{ "pg_create_", 1, ADM, 0 },
	{ "pg_drop_replication_slot", 0, ADM, 0 },
	{ "pg_copy_", 1, ADM, 0 },
	{ "pg_replication_", 1, ADM, 0 },
	{ "pg_logical_", 1, ADM, 0 },
	{ "pg_backup_", 1, ADM, 0 },
	{ "pg_start_backup", 0, ADM, 0 },
	{ "pg_stop_backup", 0, ADM, 0 },
	{ "pg_wal_replay_", 1, ADM, 0 },
	{ "txid_", 1, ADM, 0 },
	{ "pg_current_xact_id", 1, ADM, 0 },
	/* Statistics, caches and catalogs. */
	{ "pg_stat_reset", 1, ADM, 0 },
	{ "pg_stat_statements_reset", 0, ADM, 0 },
	{ "pg_import_system_collations", 0, ADM, 0 },
	{ "pg_prewarm", 0, ADM, 0 },
	{ "pg_truncate_visibility_map", 0, ADM, 0 },
	{ "binary_upgrade_", 1, ADM, 0 },
	/* The database server's files. */
	{ "pg_read_file", 0, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "pg_read_binary_file", 0, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "pg_stat_file", 0, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "pg_ls_", 1, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "pg_file_", 1, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "pg_logdir_ls", 0, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "lo_import", 0, ADM, HOOP_SQL_F_SERVER_FILE },
	{ "lo_export", 0, ADM, HOOP_SQL_F_SERVER_FILE },
	/* Writes through a function. */
	{ "nextval", 0, WR, 0 },
	{ "setval", 0, WR, 0 },
	{ "pg_notify", 0, WR, 0 },
	{ "lo_from_bytea", 0, WR, 0 },
	{ "lo_put", 0, WR, 0 },
	{ "lo_create", 0, WR, 0 },
	{ "lo_creat", 0, WR, 0 },
	{ "lo_unlink", 0, WR, 0 },
	{ "lo_truncate", 1, WR, 0 },
	{ "lowrite", 0, WR, 0 },
	/* Session state: settings (arguments read as SET), advisory locks. */
	{ "set_config", 0, SES, 0 },
	{ "pg_advisory_", 1, SES, 0 },
	{ "pg_try_advisory_", 1, SES, 0 },
	/* SQL text hoop cannot see, other servers. */
	{ "dblink", 1, UNK, 0 },
	{ "query_to_xml", 1, UNK, 0 },
	{ "cursor_to_xml", 1, UNK, 0 },
	{ "table_to_xml", 1, UNK, 0 },
	{ "schema_to_xml", 1, UNK, 0 },
	{ "database_to_xml", 1, UNK, 0 },
	{ "ts_stat", 0, UNK, 0 },
	{ "ts_rewrite", 0, UNK, 0 },
	{ "pg_background_", 1, UNK, 0 },
};

static const char *const class_names[] = {
	"read", "write", "ddl", "dcl", "admin", "transaction", "session",
	"copy", "call", "unknown",
};

struct fn {
	char *name;		/* lower case, "schema.name" as written */
	const char *bare;	/* the name without schema, inside name */
	const struct danger *danger;	/* NULL: not in dangers[] */
};

struct stmt {
	struct hoop_sql_stmt pub;	/* first: hoop_sql_decide casts back */
	unsigned node_classes;		/* from nodes, set_config arguments */
	struct fn *fns;
	size_t n_fns, cap_fns;
	const char **names;		/* pub.functions */
	char *text;
	char *prepared;
};

struct hoop_sql {
	struct stmt *stmts;
	size_t n;
};

struct walk {
	const struct jdoc *d;
	struct stmt *st;
	hoop_err_t err;
};

/* A constant, seen through casts ('on'::text). */
struct cval {
	enum { C_OTHER, C_STRING, C_INT, C_BOOL } kind;
	uint32_t str;		/* C_STRING: its token; J_NONE: '' */
	long long ival;
	int bval;
};

static void
jconst(const struct jdoc *d, uint32_t v, struct cval *c)
{
	uint32_t f, type, x;
	int casts;

	memset(c, 0, sizeof(*c));
	c->kind = C_OTHER;
	for (casts = 0; casts < 16; casts++) {
		if ((f = jnode(d, v, &type)) == J_NONE)
			return;
		if (jkey_is(d, type, "TypeCast")) {
			v = jget(d, f, "arg");
			continue;
		}
		if (!jkey_is(d, type, "A_Const"))
			return;
		if ((x = jget(d, f, "sval")) != J_NONE) {
			c->kind = C_STRING;
			c->str = jget(d, x, "sval");
		} else if ((x = jget(d, f, "ival")) != J_NONE) {
			if (jint(d, jget(d, x, "ival"), &c->ival) == 0)
				c->kind = C_INT;
		} else if ((x = jget(d, f, "boolval")) != J_NONE) {
			c->kind = C_BOOL;
			c->bval = jtrue(d, jget(d, x, "boolval"));
		}
		return;
	}
}

/* Is the value one the server reads as on? Anything unclear is not. */
static int
cval_on(const struct jdoc *d, const struct cval *c)
{
	char buf[8];
	size_t n;

	switch (c->kind) {
	case C_INT:
		return c->ival != 0;
	case C_BOOL:
		return c->bval;
	case C_STRING:
		n = jstr(d, c->str, buf, sizeof(buf));
		if (n == 0 || n >= sizeof(buf))
			return 0;
		return strcasecmp(buf, "on") == 0 || strcmp(buf, "1") == 0 ||
		    strncasecmp("true", buf, n) == 0 ||
		    strncasecmp("yes", buf, n) == 0;
	default:
		return 0;
	}
}

/* Client encodings whose bytes the parser reads as the server does: no
 * multibyte character hides an ASCII quote or backslash. */
static int
encoding_safe(const struct jdoc *d, const struct cval *c)
{
	static const char *const safe[] = { "utf8", "unicode", "sqlascii" };
	char buf[32], norm[32];
	size_t i, n, k = 0;

	if (c->kind != C_STRING)
		return 0;
	n = jstr(d, c->str, buf, sizeof(buf));
	if (n == (size_t)-1 || n >= sizeof(buf))
		return 0;
	/* The server compares names without case or punctuation. */
	for (i = 0; i < n; i++)
		if (isalnum((unsigned char)buf[i]))
			norm[k++] = (char)tolower((unsigned char)buf[i]);
	norm[k] = '\0';
	for (i = 0; i < NELEM(safe); i++)
		if (strcmp(norm, safe[i]) == 0)
			return 1;
	return 0;
}

/*
 * A setting changed by SET, RESET or set_config: value is the new value,
 * or NULL for DEFAULT, RESET and FROM CURRENT. Returns DCL for a role
 * change, else 0; sets the statement's flags.
 */
static unsigned
setting(struct walk *w, const char *name, const struct cval *value)
{
	unsigned *flags = &w->st->pub.flags;

	if (strcasecmp(name, "role") == 0 ||
	    strcasecmp(name, "session_authorization") == 0) {
		*flags |= HOOP_SQL_F_ROLE;
		return DCL;
	}
	if (strcasecmp(name, "standard_conforming_strings") == 0) {
		if (value == NULL || !cval_on(w->d, value))
			*flags |= HOOP_SQL_F_LEXER;
	} else if (strcasecmp(name, "client_encoding") == 0) {
		if (value != NULL && !encoding_safe(w->d, value))
			*flags |= HOOP_SQL_F_LEXER;
	} else if (strcasecmp(name, "default_transaction_read_only") == 0 ||
	    strcasecmp(name, "transaction_read_only") == 0) {
		if (value == NULL || !cval_on(w->d, value))
			*flags |= HOOP_SQL_F_READ_WRITE;
	}
	return 0;
}

/* BEGIN, SET TRANSACTION, SET SESSION CHARACTERISTICS options. */
static void
transaction_options(struct walk *w, uint32_t list)
{
	const struct jdoc *d = w->d;
	struct cval v;
	uint32_t i, f, type;

	if (!jarray(d, list))
		return;
	for (i = list + 1; i < d->t[list].next; i = d->t[i].next) {
		if ((f = jnode(d, i, &type)) == J_NONE ||
		    !jkey_is(d, type, "DefElem") ||
		    !jstr_is(d, jget(d, f, "defname"), "transaction_read_only",
		    0))
			continue;
		jconst(d, jget(d, f, "arg"), &v);
		if (!cval_on(d, &v))
			w->st->pub.flags |= HOOP_SQL_F_READ_WRITE;
	}
}

static void
on_set(struct walk *w, uint32_t f, int top)
{
	const struct jdoc *d = w->d;
	uint32_t kind = jget(d, f, "kind"), args = jget(d, f, "args");
	struct stmt *st = w->st;
	unsigned extra;
	struct cval v;
	char name[128];
	size_t n;

	if (jstr_is(d, kind, "VAR_RESET_ALL", 0) ||
	    jstr_is(d, kind, "VAR_RESET", 0)) {
		if (top)
			st->pub.tag = "RESET";
	}
	/* RESET ALL resets the role too, and any read-only default. */
	if (jstr_is(d, kind, "VAR_RESET_ALL", 0)) {
		st->node_classes |= SES | DCL;
		st->pub.flags |= HOOP_SQL_F_ROLE | HOOP_SQL_F_READ_WRITE;
		return;
	}
	n = jstr(d, jget(d, f, "name"), name, sizeof(name));
	if (n == (size_t)-1 || n >= sizeof(name)) {
		st->node_classes |= UNK;
		return;
	}
	if (jstr_is(d, kind, "VAR_SET_MULTI", 0)) {
		if (strcmp(name, "TRANSACTION") == 0 ||
		    strcmp(name, "TRANSACTION SNAPSHOT") == 0)
			st->node_classes |= TX;
		else if (strcmp(name, "SESSION CHARACTERISTICS") == 0)
			st->node_classes |= SES;
		else
			st->node_classes |= UNK;
		transaction_options(w, args);
		return;
	}
	if (jstr_is(d, kind, "VAR_SET_VALUE", 0)) {
		/* A list (search_path = a, b): the first value decides. */
		jconst(d, jarray(d, args) ? args + 1 : J_NONE, &v);
		extra = setting(w, name, &v);
	} else if (jstr_is(d, kind, "VAR_SET_DEFAULT", 0) ||
	    jstr_is(d, kind, "VAR_SET_CURRENT", 0) ||
	    jstr_is(d, kind, "VAR_RESET", 0)) {
		extra = setting(w, name, NULL);
	} else {
		st->node_classes |= UNK;
		return;
	}
	st->node_classes |= extra != 0 ? extra : SES;
}

/* set_config(setting_name, new_value, is_local), by position or name. */
static void
on_set_config(struct walk *w, uint32_t f)
{
	const struct jdoc *d = w->d;
	uint32_t args = jget(d, f, "args"), i, na, type;
	uint32_t name_arg = J_NONE, value_arg = J_NONE;
	struct cval name, value;
	char setting_name[128];
	size_t n;
	int pos = 0;

	if (jarray(d, args)) {
		for (i = args + 1; i < d->t[args].next; i = d->t[i].next) {
			na = jnode(d, i, &type);
			if (na != J_NONE && jkey_is(d, type, "NamedArgExpr")) {
				if (jstr_is(d, jget(d, na, "name"),
				    "setting_name", 1))
					name_arg = jget(d, na, "arg");
				else if (jstr_is(d, jget(d, na, "name"),
				    "new_value", 1))
					value_arg = jget(d, na, "arg");
			} else if (pos++ == 0) {
				name_arg = i;
			} else if (pos == 2) {
				value_arg = i;
			}
		}
	}
	jconst(d, name_arg, &name);
	n = name.kind == C_STRING ? jstr(d, name.str, setting_name,
	    sizeof(setting_name)) : (size_t)-1;
	if (n == (size_t)-1 || n >= sizeof(setting_name)) {
		/* A computed name could be anything, the role included. */
		w->st->node_classes |= UNK;
		return;
	}
	jconst(d, value_arg, &value);
	w->st->node_classes |= setting(w, setting_name, &value);
}

static const struct danger *
danger_of(const char *bare)
{
	size_t i;

	for (i = 0; i < NELEM(dangers); i++) {
		if (dangers[i].prefix ? strncmp(bare, dangers[i].name,
		    strlen(dangers[i].name)) == 0 :
		    strcmp(bare, dangers[i].name) == 0)
			return &dangers[i];
	}
	return NULL;
}

static void
add_function(struct walk *w, const char *name)
{
	struct stmt *st = w->st;
	struct fn *fns, *fn;
	const char *dot;
	size_t i, cap;

	for (i = 0; i < st->n_fns; i++)
		if (strcmp(st->fns[i].name, name) == 0)
			return;
	if (st->n_fns >= HOOP_SQL_MAX_FUNCTIONS) {
		w->err = HOOP_ERR_TOOBIG;
		return;
	}
	if (st->n_fns == st->cap_fns) {
		cap = st->cap_fns == 0 ? 4 : st->cap_fns * 2;
		if ((fns = realloc(st->fns, cap * sizeof(*fns))) == NULL) {
			w->err = HOOP_ERR_NOMEM;
			return;
		}
		st->fns = fns;
		st->cap_fns = cap;
	}
	fn = &st->fns[st->n_fns];
	if ((fn->name = strdup(name)) == NULL) {
		w->err = HOOP_ERR_NOMEM;
		return;
	}
	dot = strrchr(fn->name, '.');
	fn->bare = dot != NULL ? dot + 1 : fn->name;
	fn->danger = danger_of(fn->bare);
	st->n_fns++;
}

/* A call: FuncCall's fields, or CALL's funccall. */
static void
on_funccall(struct walk *w, uint32_t f)
{
	const struct jdoc *d = w->d;
	uint32_t names = jget(d, f, "funcname"), i, s, type;
	char name[256], part[128];
	const char *bare;
	size_t len = 0, n, k;
	int parts = 0;

	if (!jarray(d, names))
		goto unknown;
	for (i = names + 1; i < d->t[names].next; i = d->t[i].next) {
		if ((s = jnode(d, i, &type)) == J_NONE ||
		    !jkey_is(d, type, "String"))
			goto unknown;
		n = jstr(d, jget(d, s, "sval"), part, sizeof(part));
		if (n == (size_t)-1 || n == 0 || n >= sizeof(part) ||
		    ++parts > 3 || len + n + 2 > sizeof(name))
			goto unknown;
		if (len > 0)
			name[len++] = '.';
		for (k = 0; k < n; k++)
			name[len++] = (char)tolower((unsigned char)part[k]);
	}
	if (parts == 0)
		goto unknown;
	name[len] = '\0';
	bare = strrchr(name, '.');
	if (strcmp(bare != NULL ? bare + 1 : name, "set_config") == 0)
		on_set_config(w, f);
	add_function(w, name);
	return;
unknown:
	/* A call hoop cannot name could be any function. */
	w->st->node_classes |= UNK;
}


struct name_ref {
	const char *s;
	size_t len;
};

static int
node_cmp(const void *key, const void *elem)
{
	const struct name_ref *k = key;
	const char *name = ((const struct node_kind *)elem)->name;
	int c = strncmp(k->s, name, k->len);

	if (c != 0)
		return c;
	return name[k->len] == '\0' ? 0 : -1;
}

static const struct node_kind *
node_kind_of(const struct jdoc *d, uint32_t k)
{
	struct name_ref key = { d->s + d->t[k].start, d->t[k].len };

	return bsearch(&key, node_kinds, NELEM(node_kinds),
	    sizeof(node_kinds[0]), node_cmp);
}

static void
set_prepared(struct walk *w, uint32_t f)
{
	char name[128];
	size_t n;

	if (w->st->prepared != NULL)
		return;
	n = jstr(w->d, jget(w->d, f, "name"), name, sizeof(name));
	if (n == (size_t)-1)
		return;		/* DEALLOCATE ALL */
	if (n >= sizeof(name)) {
		/* Longer than any identifier: the caller cannot track it. */
		w->st->node_classes |= UNK;
		return;
	}
	if ((w->st->prepared = strdup(name)) == NULL)
		w->err = HOOP_ERR_NOMEM;
}

static const struct {
	const char *kind, *tag;
	unsigned classes;
} transaction_kinds[] = {
	{ "TRANS_STMT_BEGIN", "BEGIN", TX },
	{ "TRANS_STMT_START", "START TRANSACTION", TX },
	{ "TRANS_STMT_COMMIT", "COMMIT", TX },
	{ "TRANS_STMT_ROLLBACK", "ROLLBACK", TX },
	{ "TRANS_STMT_SAVEPOINT", "SAVEPOINT", TX },
	{ "TRANS_STMT_RELEASE", "RELEASE", TX },
	{ "TRANS_STMT_ROLLBACK_TO", "ROLLBACK", TX },
	/* Prepared transactions outlive the session, holding locks. */
	{ "TRANS_STMT_PREPARE", "PREPARE TRANSACTION", TX | ADM },
	{ "TRANS_STMT_COMMIT_PREPARED", "COMMIT PREPARED", TX | ADM },
	{ "TRANS_STMT_ROLLBACK_PREPARED", "ROLLBACK PREPARED", TX | ADM },
};

static void
on_transaction(struct walk *w, uint32_t f, int top)
{
	uint32_t kind = jget(w->d, f, "kind");
	size_t i;

	for (i = 0; i < NELEM(transaction_kinds); i++) {
		if (jstr_is(w->d, kind, transaction_kinds[i].kind, 0)) {
			w->st->node_classes |= transaction_kinds[i].classes;
			if (top)
				w->st->pub.tag = transaction_kinds[i].tag;
			transaction_options(w, jget(w->d, f, "options"));
			return;
		}
	}
	w->st->node_classes |= UNK;
}

static void
on_discard(struct walk *w, uint32_t f, int top)
{
	uint32_t target = jget(w->d, f, "target");
	struct stmt *st = w->st;

	if (jstr_is(w->d, target, "DISCARD_ALL", 0)) {
		/* DISCARD ALL runs RESET ALL and resets the session user. */
		st->node_classes |= SES | DCL;
		st->pub.flags |= HOOP_SQL_F_ROLE | HOOP_SQL_F_READ_WRITE;
		if (top)
			st->pub.tag = "DISCARD ALL";
	} else if (jstr_is(w->d, target, "DISCARD_PLANS", 0) ||
	    jstr_is(w->d, target, "DISCARD_SEQUENCES", 0) ||
	    jstr_is(w->d, target, "DISCARD_TEMP", 0)) {
		st->node_classes |= SES;
	} else {
		st->node_classes |= UNK;
	}
}

static void
on_copy(struct walk *w, uint32_t f)
{
	const struct jdoc *d = w->d;
	struct stmt *st = w->st;
	int from = jtrue(d, jget(d, f, "is_from"));

	st->node_classes |= from ? WR : RD;
	if (jtrue(d, jget(d, f, "is_program"))) {
		st->node_classes |= ADM;
		st->pub.flags |= HOOP_SQL_F_PROGRAM;
	} else if (jget(d, f, "filename") != J_NONE) {
		st->node_classes |= ADM;
		st->pub.flags |= HOOP_SQL_F_SERVER_FILE;
	} else {
		st->pub.flags |= from ? HOOP_SQL_F_COPY_IN :
		    HOOP_SQL_F_COPY_OUT;
	}
}

/* The node whose type is key k (its fields follow); top: the statement
 * itself, which names the command tag. */
static void
on_node(struct walk *w, uint32_t k, int top)
{
	const struct jdoc *d = w->d;
	const struct node_kind *nk;
	struct stmt *st = w->st;
	uint32_t f = k + 1;

	if (d->t[f].type != J_OBJ || (nk = node_kind_of(d, k)) == NULL) {
		st->node_classes |= UNK;
		return;
	}
	st->node_classes |= nk->classes;
	if (top && nk->tag != NULL)
		st->pub.tag = nk->tag;
	switch (nk->act) {
	case A_PLAIN:
		break;
	case A_LOCK:
		st->pub.flags |= HOOP_SQL_F_LOCK;
		break;
	case A_FUNCCALL:
		on_funccall(w, f);
		break;
	case A_COPY:
		on_copy(w, f);
		break;
	case A_SET:
		on_set(w, f, top);
		break;
	case A_TRANSACTION:
		on_transaction(w, f, top);
		break;
	case A_DISCARD:
		on_discard(w, f, top);
		break;
	case A_PREPARED:
		set_prepared(w, f);
		break;
	case A_SELECT:
		if (top && jget(d, f, "intoClause") != J_NONE)
			st->pub.tag = "SELECT INTO";
		break;
	case A_CTAS:
		if (!top)
			break;
		if (jstr_is(d, jget(d, f, "objtype"), "OBJECT_MATVIEW", 0))
			st->pub.tag = "CREATE MATERIALIZED VIEW";
		else if (jtrue(d, jget(d, f, "is_select_into")))
			st->pub.tag = "SELECT INTO";
		break;
	case A_VACUUM:
		if (top && !jtrue(d, jget(d, f, "is_vacuumcmd")))
			st->pub.tag = "ANALYZE";
		break;
	case A_FETCH:
		if (top && jtrue(d, jget(d, f, "ismove")))
			st->pub.tag = "MOVE";
		break;
	case A_GRANT:
		if (top && !jtrue(d, jget(d, f, "is_grant")))
			st->pub.tag = jkey_is(d, k, "GrantRoleStmt") ?
			    "REVOKE ROLE" : "REVOKE";
		break;
	}
}

/*
 * Every token of the statement's subtree, in order: each wrapped node
 * is met wherever it sits, however deep, without recursion. Two typed
 * fields hold nodes without a wrapper: SELECT's intoClause (SELECT INTO,
 * in any branch of a set operation) and CALL's funccall.
 */
static void
walk_stmt(struct walk *w, uint32_t v)
{
	const struct jdoc *d = w->d;
	uint32_t i, end = d->t[v].next, type;
	char c;

	if (jnode(d, v, &type) == J_NONE) {
		w->st->node_classes |= UNK;
		return;
	}
	for (i = v; i < end && w->err == HOOP_OK; i++) {
		if (!d->t[i].key)
			continue;
		c = d->s[d->t[i].start];
		if (c >= 'A' && c <= 'Z')
			on_node(w, i, i == type);
		else if (jkey_is(d, i, "intoClause") &&
		    d->t[i + 1].type == J_OBJ)
			w->st->node_classes |= DDL | WR;
		else if (jkey_is(d, i, "funccall") &&
		    d->t[i + 1].type == J_OBJ)
			on_funccall(w, i + 1);
	}
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* One element of "stmts": its text, its tree, its fingerprint. */
static hoop_err_t
build_stmt(const struct jdoc *d, uint32_t e, const char *query, size_t len,
    struct stmt *st, char *why, size_t whylen)
{
	struct walk w = { d, st, HOOP_OK };
	PgQueryFingerprintResult fp;
	int have_fp = 0;
	uint32_t v = jget(d, e, "stmt");
	long long loc, slen;
	unsigned all;
	size_t i, start, end;
	hoop_err_t ret = HOOP_ERR_INVAL;

	if (v == J_NONE || jint(d, jget(d, e, "stmt_location"), &loc) != 0 ||
	    jint(d, jget(d, e, "stmt_len"), &slen) != 0 || loc < 0 ||
	    slen < 0 || (size_t)loc > len || (size_t)slen > len - loc) {
		hoop_why(why, whylen, "unreadable parse tree");
		goto out;
	}
	/* A length of 0: up to the end of the query. */
	start = (size_t)loc;
	end = slen == 0 ? len : start + (size_t)slen;
	while (start < end && is_space(query[start]))
		start++;
	while (end > start && is_space(query[end - 1]))
		end--;
	if ((st->text = strndup(query + start, end - start)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	st->pub.text = st->text;
	st->pub.text_len = end - start;
	st->pub.offset = start;
	st->pub.tag = "UNKNOWN";

	walk_stmt(&w, v);
	if (w.err != HOOP_OK) {
		ret = w.err;
		if (w.err == HOOP_ERR_TOOBIG)
			hoop_why(why, whylen, "more than %d functions in one "
			    "statement", HOOP_SQL_MAX_FUNCTIONS);
		else
			hoop_why(why, whylen, "%s", hoop_strerror(w.err));
		goto out;
	}
	all = st->node_classes;
	for (i = 0; i < st->n_fns; i++) {
		if (st->fns[i].danger != NULL) {
			all |= st->fns[i].danger->classes;
			st->pub.flags |= st->fns[i].danger->flags;
		}
	}
	if (all == 0) {
		/* Nothing known about it: never read by default. */
		st->node_classes |= UNK;
		all = UNK;
	}
	st->pub.classes = all;
	st->pub.prepared = st->prepared;
	if (st->n_fns > 0) {
		if ((st->names = calloc(st->n_fns, sizeof(*st->names))) ==
		    NULL) {
			ret = HOOP_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < st->n_fns; i++)
			st->names[i] = st->fns[i].name;
	}
	st->pub.functions = st->names;
	st->pub.n_functions = st->n_fns;

	fp = pg_query_fingerprint(st->text);
	have_fp = 1;
	if (fp.error != NULL || fp.fingerprint_str == NULL ||
	    strlen(fp.fingerprint_str) != sizeof(st->pub.fingerprint) - 1) {
		hoop_why(why, whylen, "cannot fingerprint statement %.64s",
		    st->text);
		goto out;
	}
	memcpy(st->pub.fingerprint, fp.fingerprint_str,
	    sizeof(st->pub.fingerprint));
	ret = HOOP_OK;
out:
	if (have_fp)
		pg_query_free_fingerprint_result(fp);
	return ret;
}

static void
stmt_free(struct stmt *st)
{
	size_t i;

	for (i = 0; i < st->n_fns; i++)
		free(st->fns[i].name);
	free(st->fns);
	free(st->names);
	free(st->text);
	free(st->prepared);
}

void
hoop_sql_free(hoop_sql_t *sql)
{
	size_t i;

	if (sql == NULL)
		return;
	for (i = 0; i < sql->n; i++)
		stmt_free(&sql->stmts[i]);
	free(sql->stmts);
	free(sql);
}

struct job {
	const char *query;	/* NUL-terminated */
	size_t len;
	hoop_sql_t *sql;
	hoop_err_t err;
	char why[256];
};

static void
run_job(struct job *job)
{
	PgQueryParseResult r;
	struct jdoc d = { 0 };
	hoop_sql_t *sql = NULL;
	uint32_t stmts, e;
	size_t n = 0;
	hoop_err_t ret = HOOP_ERR_INVAL;

	r = pg_query_parse(job->query);
	if (r.error != NULL) {
		hoop_why(job->why, sizeof(job->why), "%s (at character %d)",
		    r.error->message != NULL ? r.error->message : "error",
		    r.error->cursorpos);
		goto out;
	}
	if (r.parse_tree == NULL) {
		hoop_why(job->why, sizeof(job->why), "no parse tree");
		goto out;
	}
	d.s = r.parse_tree;
	d.len = strlen(r.parse_tree);
	d.cap = d.len / 8 + 64 > MAX_TOKENS ? MAX_TOKENS :
	    (uint32_t)(d.len / 8 + 64);
	if ((d.t = malloc((size_t)d.cap * sizeof(*d.t))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if ((ret = jparse(&d)) != HOOP_OK) {
		hoop_why(job->why, sizeof(job->why), "%s",
		    ret == HOOP_ERR_TOOBIG ? "statement too large to check" :
		    ret == HOOP_ERR_NOMEM ? hoop_strerror(ret) :
		    "unreadable parse tree");
		goto out;
	}
	ret = HOOP_ERR_INVAL;
	stmts = jget(&d, 0, "stmts");
	if (stmts != J_NONE && !jarray(&d, stmts)) {
		hoop_why(job->why, sizeof(job->why), "unreadable parse tree");
		goto out;
	}
	if (stmts != J_NONE)
		for (e = stmts + 1; e < d.t[stmts].next; e = d.t[e].next)
			n++;
	if (n > HOOP_SQL_MAX_STATEMENTS) {
		ret = HOOP_ERR_TOOBIG;
		hoop_why(job->why, sizeof(job->why), "more than %d statements "
		    "in one query", HOOP_SQL_MAX_STATEMENTS);
		goto out;
	}
	if ((sql = calloc(1, sizeof(*sql))) == NULL ||
	    (n > 0 && (sql->stmts = calloc(n, sizeof(*sql->stmts))) ==
	    NULL)) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if (stmts != J_NONE) {
		for (e = stmts + 1; e < d.t[stmts].next; e = d.t[e].next) {
			ret = build_stmt(&d, e, job->query, job->len,
			    &sql->stmts[sql->n++], job->why, sizeof(job->why));
			if (ret != HOOP_OK)
				goto out;
		}
	}
	job->sql = sql;
	sql = NULL;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK && job->why[0] == '\0')
		hoop_why(job->why, sizeof(job->why), "%s", hoop_strerror(ret));
	job->err = ret;
	hoop_sql_free(sql);
	free(d.t);
	pg_query_free_parse_result(r);
}

static void *
job_thread(void *arg)
{
	run_job(arg);
	return NULL;
}

hoop_err_t
hoop_sql_parse(const char *query, size_t len, hoop_sql_t **out, char *why,
    size_t whylen)
{
	struct job job = { 0 };
	pthread_attr_t attr;
	pthread_t thread;
	char *copy = NULL;
	hoop_err_t ret = HOOP_ERR_INVAL;
	int rc;

	*out = NULL;
	if (query == NULL && len > 0) {
		hoop_why(why, whylen, "no query");
		goto out;
	}
	if (len > HOOP_SQL_MAX_QUERY) {
		ret = HOOP_ERR_TOOBIG;
		hoop_why(why, whylen, "query of %zu bytes is over the limit of "
		    "%d", len, HOOP_SQL_MAX_QUERY);
		goto out;
	}
	/* The server stops at a NUL: the parser must see what it sees. */
	if (len > 0 && memchr(query, '\0', len) != NULL) {
		hoop_why(why, whylen, "NUL byte in the query");
		goto out;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(copy, query, len);
	copy[len] = '\0';
	job.query = copy;
	job.len = len;
	if (len <= INLINE_PARSE_MAX) {
		run_job(&job);
	} else {
		if ((rc = pthread_attr_init(&attr)) == 0) {
			rc = pthread_attr_setstacksize(&attr,
			    THREAD_STACK_BASE + THREAD_STACK_PER_BYTE * len);
			if (rc == 0)
				rc = pthread_create(&thread, &attr,
				    job_thread, &job);
			pthread_attr_destroy(&attr);
		}
		if (rc != 0) {
			ret = HOOP_ERR_NOMEM;
			hoop_why(why, whylen, "cannot start the parser: %s",
			    strerror(rc));
			goto out;
		}
		pthread_join(thread, NULL);
	}
	ret = job.err;
	if (ret != HOOP_OK) {
		hoop_why(why, whylen, "%s", job.why);
		goto out;
	}
	*out = job.sql;
	job.sql = NULL;
out:
	hoop_sql_free(job.sql);
	free(copy);
	return ret;
}

size_t
hoop_sql_count(const hoop_sql_t *sql)
{
	return sql != NULL ? sql->n : 0;
}

const struct hoop_sql_stmt *
hoop_sql_stmt_at(const hoop_sql_t *sql, size_t index)
{
	return sql != NULL && index < sql->n ? &sql->stmts[index].pub : NULL;
}

const char *
hoop_sql_class_name(unsigned class_bit)
{
	size_t i;

	for (i = 0; i < NELEM(class_names); i++)
		if (class_bit == 1u << i)
			return class_names[i];
	return NULL;
}

void
hoop_sql_classes_format(unsigned classes, char *buf, size_t len)
{
	size_t i, used = 0, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < NELEM(class_names); i++) {
		if (!(classes & 1u << i))
			continue;
		n = strlen(class_names[i]) + (used > 0);
		if (used + n >= len)
			break;
		snprintf(buf + used, len - used, "%s%s", used > 0 ? "," : "",
		    class_names[i]);
		used += n;
	}
}

/* ---- Decisions ---- */

static int
strength(enum hoop_rule_action action)
{
	switch (action) {
	case HOOP_ACTION_ALLOW:
		return 1;
	case HOOP_ACTION_APPROVE:
		return 2;
	case HOOP_ACTION_DENY:
		return 3;
	}
	return 3;
}

static int
match_class(const struct hoop_rule *rule, void *arg)
{
	const unsigned *bit = arg;

	return (rule->match.sql.statements & *bit) != 0;
}

static const char *
without_catalog(const char *name)
{
	return strncasecmp(name, "pg_catalog.", 11) == 0 ? name + 11 : name;
}

/* Does a rule's function name denote fn? any_schema: also the same
 * function name in another schema. */
static int
function_named(const char *listed, const struct fn *fn, int any_schema)
{
	const char *dot;

	if (strcasecmp(without_catalog(listed), without_catalog(fn->name)) ==
	    0)
		return 1;
	if (!any_schema)
		return 0;
	dot = strrchr(listed, '.');
	return strcasecmp(dot != NULL ? dot + 1 : listed, fn->bare) == 0;
}

static int
match_function(const struct hoop_rule *rule, void *arg)
{
	const struct fn *fn = arg;
	size_t i;

	for (i = 0; i < rule->match.sql.n_functions; i++)
		if (function_named(rule->match.sql.functions[i], fn,
		    rule->action != HOOP_ACTION_ALLOW))
			return 1;
	return 0;
}

struct outcome {
	struct hoop_sql_decision *d;
	int best;		/* strength so far; 0: nothing yet */
	int overflow;		/* more approve rules than approve_rules */
};

/* One item's decision, about what: kept if stronger than the rest. */
static void
consider(struct outcome *o, const struct hoop_decision *item,
    const char *what)
{
	struct hoop_sql_decision *d = o->d;
	size_t i;

	if (item->action == HOOP_ACTION_APPROVE && item->rule != NULL) {
		for (i = 0; i < d->n_approve_rules &&
		    d->approve_rules[i] != item->rule; i++)
			;
		if (i == d->n_approve_rules) {
			if (i < HOOP_SQL_MAX_APPROVE_RULES)
				d->approve_rules[d->n_approve_rules++] =
				    item->rule;
			else
				o->overflow = 1;
		}
	}
	if (strength(item->action) <= o->best)
		return;
	o->best = strength(item->action);
	d->d = *item;
	hoop_why(d->d.reason, sizeof(d->d.reason), "%s: %s", what,
	    item->reason);
}

void
hoop_sql_decide(const hoop_config_t *cfg, const struct hoop_principal *p,
    const char *target, const struct hoop_sql_stmt *stmt,
    struct hoop_sql_decision *d)
{
	const struct stmt *st = (const struct stmt *)stmt;
	struct outcome o = { d, 0, 0 };
	struct hoop_decision item;
	const struct fn *fn;
	char what[160];
	unsigned bit;
	size_t i;
	int named;

	memset(d, 0, sizeof(*d));
	d->d.action = HOOP_ACTION_DENY;
	if (cfg == NULL || p == NULL || target == NULL || stmt == NULL) {
		hoop_why(d->d.reason, sizeof(d->d.reason), "nothing to decide "
		    "on (no configuration, principal, target or statement)");
		return;
	}
	if (st->pub.flags & HOOP_SQL_F_LEXER) {
		hoop_why(d->d.reason, sizeof(d->d.reason), "refused: it would "
		    "make the server read statements differently from hoop "
		    "(standard_conforming_strings off or a client_encoding "
		    "other than UTF8)");
		return;
	}
	for (bit = 1; bit <= UNK; bit <<= 1) {
		if (!(st->node_classes & bit))
			continue;
		hoop_policy_decide(cfg, p, target, HOOP_RULE_SQL, match_class,
		    &bit, &item);
		consider(&o, &item, hoop_sql_class_name(bit));
	}
	for (i = 0; i < st->n_fns; i++) {
		fn = &st->fns[i];
		hoop_policy_decide(cfg, p, target, HOOP_RULE_SQL,
		    match_function, (void *)fn, &item);
		hoop_why(what, sizeof(what), "function %s", fn->name);
		if ((named = item.rule != NULL))
			consider(&o, &item, what);
		if (fn->danger == NULL)
			continue;
		for (bit = 1; bit <= UNK; bit <<= 1) {
			if (!(fn->danger->classes & bit))
				continue;
			hoop_policy_decide(cfg, p, target, HOOP_RULE_SQL,
			    match_class, &bit, &item);
			/* A rule naming the function stands in for a
			 * missing allow of its class, never for a deny. */
			if (item.rule == NULL && named)
				continue;
			hoop_why(what, sizeof(what), "function %s (%s)",
			    fn->name, hoop_sql_class_name(bit));
			consider(&o, &item, what);
		}
	}
	if (o.best == 0)
		hoop_why(d->d.reason, sizeof(d->d.reason), "nothing allows it");
	if (d->d.action == HOOP_ACTION_APPROVE && o.overflow) {
		d->d.action = HOOP_ACTION_DENY;
		d->d.rule = NULL;
		d->d.policy = NULL;
		hoop_why(d->d.reason, sizeof(d->d.reason), "needs more than %d "
		    "approval rules at once", HOOP_SQL_MAX_APPROVE_RULES);
	}
	if (d->d.action != HOOP_ACTION_APPROVE) {
		memset(d->approve_rules, 0, sizeof(d->approve_rules));
		d->n_approve_rules = 0;
	}
}
