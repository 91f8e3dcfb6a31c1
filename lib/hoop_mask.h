/*
 * Masking for hoop-pgwrap: what the masks of hoop.conf make of query
 * results (DataRow messages) and of COPY ... TO STDOUT data, before
 * they reach the user.
 *
 * A set is built once per session from the masks of every policy that
 * applies to the principal and the target. For each result set the
 * proxy makes a plan from the RowDescription: each column gets an
 * action, decided by the table and column the server says it comes from
 * (its table oid and attribute number, which an alias cannot change),
 * never by the name the query gave it. Table oids become names through
 * a resolver the proxy provides (a catalog lookup); its answers are
 * cached in the set. A column that is not a table column (table oid 0:
 * expressions, functions, unions) is "computed": the masks' patterns
 * are applied to it, or the result is refused (mask_computed). Anything
 * the engine cannot decide safely (a failed lookup, a binary value it
 * cannot mask, a malformed row) refuses the result: HOOP_ERR_DENIED and
 * a sentence in why, for the ErrorResponse.
 *
 * Values are masked as text: a whole column by its strategy, or every
 * match of a pattern inside a value. Strategies:
 *  - redact: the value becomes HOOP_MASK_REDACTED;
 *  - partial: every character (UTF-8; a byte that starts no valid
 *    sequence counts as one) becomes '*' but the last `keep`, and never
 *    more than half of them are kept;
 *  - hash: HMAC-SHA256 under the mask key, the first
 *    HOOP_MASK_HASH_LEN hex digits: equal values stay equal (within one
 *    key), so joins by eye still work, and guessing needs the key.
 * NULL stays NULL. A pattern that cannot finish its search (match
 * limits) masks the whole value (redact): never passed unsearched.
 *
 * Binary format: text, varchar, bpchar, name, json and unknown are
 * their text, and jsonb a version byte then its text: masked as text.
 * int2, int4, int8, oid and bool under patterns only are searched as
 * their decimal text and never changed (a match refuses). Any other
 * masked column in binary format refuses the result.
 *
 * Nothing here allocates per value or per row once the buffers have
 * grown to the largest row (HMAC included, unless OpenSSL was built
 * without its deprecated API). One set and its plans and COPY streams
 * are used by one thread.
 */
#ifndef HOOP_MASK_H
#define HOOP_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_pgproto.h"

struct hoop_principal;

/* What redact writes, and how many hex digits hash writes. */
#define HOOP_MASK_REDACTED	"***"
#define HOOP_MASK_HASH_LEN	16
/* The mask key (mask_key_file): bytes, one trailing newline dropped. */
#define HOOP_MASK_KEY_MIN	32
#define HOOP_MASK_KEY_MAX	4096
/* A COPY row held while it arrives in pieces, at most (default). */
#define HOOP_MASK_MAX_ROW_DEFAULT	(64u * 1024 * 1024)
/* Resolver answers stay cached this long (default), in seconds. */
#define HOOP_MASK_CACHE_TTL_DEFAULT	60

/*
 * Built-in patterns, named in hoop.conf as pattern = "builtin:NAME":
 *  email        addresses (ASCII or UTF-8 local part and domain);
 *  card         13 to 19 digits, single spaces or dashes between them,
 *               passing the Luhn check (other digit runs stay);
 *  token        JWTs (eyJ...), "Bearer <16+ characters>" (the token
 *               only), GitHub, GitLab and Slack token formats;
 *  private_key  PEM private key blocks, BEGIN to END (to the end of the
 *               value when END is missing);
 *  aws_key      AWS access key ids (AKIA..., ASIA...) and 40-character
 *               secret keys written after secret_access_key.
 */
int hoop_mask_builtin_known(const char *name);
/* "email, card, token, private_key, aws_key", for messages. */
const char *hoop_mask_builtin_list(void);

/* ---- The resolver: table oid and attribute number to names ---- */

/* NAMEDATALEN: an identifier is at most 63 bytes. */
#define HOOP_MASK_IDENT_MAX	64
#define HOOP_MASK_NAMES_MAX	16

/* A column as schema, table and column: as in the catalog (any case;
 * compared to hoop.conf without regard to ASCII case), NUL-terminated. */
struct hoop_mask_name {
	char schema[HOOP_MASK_IDENT_MAX];
	char table[HOOP_MASK_IDENT_MAX];
	char column[HOOP_MASK_IDENT_MAX];	/* "": the whole row */
};

/*
 * One question to the resolver, one answer. It is asked for table_oid
 * and attnum (negative: a system column; 0: a whole-row reference such
 * as "SELECT u FROM users u", to be answered with the table and an
 * empty column, which counts as every column of that table) and sets:
 *  - found: 1 if it knows the column (0, or any error: the result is
 *    refused, and the answer is not cached);
 *  - names: the column itself first; for a view column, the base
 *    columns it shows too (a view column is masked when any of its
 *    names is). A resolver that cannot map a view's columns exactly
 *    may list every base column the view reads that some mask names
 *    (hoop_mask_set_names_column tells which);
 *  - computed: 1 for a view column that is an expression rather than a
 *    base column (the computed-column rule then applies as well).
 */
struct hoop_mask_column {
	uint32_t table_oid;
	int16_t attnum;
	int found;
	int computed;
	size_t n_names;
	struct hoop_mask_name names[HOOP_MASK_NAMES_MAX];
};

/* Answers n questions at once (one catalog query for a whole
 * RowDescription). Return HOOP_OK, or an error with a reason in why:
 * the result is refused. */
typedef hoop_err_t (*hoop_mask_resolve_fn)(void *arg,
    struct hoop_mask_column *cols, size_t n, char *why, size_t whylen);

/* ---- Sets: one per session ---- */

typedef struct hoop_mask_set hoop_mask_set_t;

struct hoop_mask_options {
	hoop_mask_resolve_fn resolve;	/* needed when column masks apply */
	void *resolve_arg;
	/* The hash key; NULL: mask_key_file is read, if a hash mask
	 * applies (so the caller must still hold the hoop group). */
	const void *key;
	size_t key_len;
	size_t max_row;			/* 0: HOOP_MASK_MAX_ROW_DEFAULT */
	long cache_ttl;			/* seconds; 0: the default; <0: none */
};

/*
 * The masks of every policy that applies to p and target, their
 * patterns compiled (JIT), the key read if a hash mask is among them.
 * Errors: HOOP_ERR_CONFIG (the key file is missing, short or unreadable;
 * a mask's pattern does not compile), HOOP_ERR_INVAL (no resolver while
 * column masks apply), HOOP_ERR_NOMEM; why says which.
 */
hoop_err_t hoop_mask_set_create(const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target,
    const struct hoop_mask_options *opt, hoop_mask_set_t **out, char *why,
    size_t whylen);
void hoop_mask_set_free(hoop_mask_set_t *s);

/* 0 if no mask applies: results and COPY data pass as they are. */
int hoop_mask_set_active(const hoop_mask_set_t *s);
/* Does some column mask name this column (for resolvers that filter
 * the base columns of a view)? */
int hoop_mask_set_names_column(const hoop_mask_set_t *s,
    const struct hoop_mask_name *name);
/* Drops the cached resolver answers: call after the session changed the
 * schema (a DDL statement), since names and views may now differ. */
void hoop_mask_set_forget(hoop_mask_set_t *s);
/*
 * Text the server sends beside results, which may quote row values:
 * ErrorResponse and NoticeResponse fields (a unique violation's DETAIL
 * names the key's value, "Failing row contains (...)" the whole row),
 * NotificationResponse payloads. Every pattern of the set is applied,
 * as for a computed column; column masks cannot reach such text, so
 * while any apply the proxy should also drop DETAIL fields. *res is
 * the text itself or bytes that live until the next call on the set.
 */
hoop_err_t hoop_mask_set_text(hoop_mask_set_t *s, const void *text,
    size_t len, const unsigned char **res, size_t *res_len, int *changed);
/* 1 if column masks apply (so DETAIL fields should go). */
int hoop_mask_set_has_columns(const hoop_mask_set_t *s);

/* ---- Plans: one per result set ---- */

typedef struct hoop_mask_plan hoop_mask_plan_t;

/*
 * A plan for the n columns of a RowDescription. nformats says which
 * format each DataRow value will have: -1 takes fields[i].format (right
 * for a simple Query and a Describe of a portal); otherwise it is the
 * Bind's result formats (0: all text; 1: formats[0] for all; n: one
 * each), since a Describe of a statement says 0 for every column.
 * HOOP_ERR_DENIED: the result must be refused (a computed column under
 * mask_computed = refuse, a masked column in a binary format that
 * cannot be masked, a failed or incomplete lookup); why says which
 * column and why.
 */
hoop_err_t hoop_mask_plan_create(hoop_mask_set_t *s,
    const struct hoop_pg_field *fields, size_t n, const int16_t *formats,
    int nformats, hoop_mask_plan_t **out, char *why, size_t whylen);
void hoop_mask_plan_free(hoop_mask_plan_t *plan);

/* 1 if no column is masked: DataRows may be forwarded untouched. */
int hoop_mask_plan_passes(const hoop_mask_plan_t *plan);
/* How many columns are masked (for the audit event). */
size_t hoop_mask_plan_masked(const hoop_mask_plan_t *plan);

/*
 * One DataRow message (as framed by hoop_pg_frame) appended to out,
 * masked: values that change are rebuilt with their new lengths, a row
 * where nothing changed is copied as it is. HOOP_ERR_INVAL: not a
 * DataRow, or not as many columns as the plan; HOOP_ERR_DENIED: a
 * binary value that cannot be masked (the proxy sends an ErrorResponse
 * in place of the row and drops the rest of the result); out is then
 * left as it was.
 */
hoop_err_t hoop_mask_data_row(hoop_mask_plan_t *plan,
    const struct hoop_pg_msg *msg, struct hoop_pg_buf *out, char *why,
    size_t whylen);

/* One text-format value of column col, masked: *res and *res_len are
 * the value itself or bytes that live until the next call on the set.
 * *changed says which. For tests and for values met outside DataRow. */
hoop_err_t hoop_mask_plan_value(hoop_mask_plan_t *plan, size_t col,
    const void *value, size_t len, const unsigned char **res,
    size_t *res_len, int *changed);

/* ---- COPY ... TO STDOUT ---- */

enum hoop_mask_copy_kind {
	HOOP_MASK_COPY_TEXT,
	HOOP_MASK_COPY_CSV,
	HOOP_MASK_COPY_BINARY,
};

/* The COPY statement's options, as written in it (0 / NULL: the
 * default of the format). */
struct hoop_mask_copy_format {
	enum hoop_mask_copy_kind kind;
	char delimiter;			/* text '\t', csv ',' */
	char quote;			/* csv: '"' */
	char escape;			/* csv: the quote */
	const char *null_string;	/* text "\\N", csv "" */
	int header;			/* the first row holds column names */
};

typedef struct hoop_mask_copy hoop_mask_copy_t;

/*
 * A COPY TO STDOUT stream. columns are the COPY's output columns in
 * order, as a RowDescription would give them (table_oid and attnum; 0
 * and 0 for a computed one; format ignored): the proxy learns them by
 * describing the COPY's query, or "SELECT cols FROM table", on the same
 * session. The format must be what the server will send (the COPY's
 * options); a binary COPY is refused unless nothing in it is masked.
 * HOOP_ERR_DENIED as for plans; HOOP_ERR_INVAL for bad options.
 */
hoop_err_t hoop_mask_copy_start(hoop_mask_set_t *s,
    const struct hoop_pg_field *columns, size_t n,
    const struct hoop_mask_copy_format *fmt, hoop_mask_copy_t **out,
    char *why, size_t whylen);
/*
 * The body of one CopyData message from the server. Whole rows are
 * masked and appended to out as CopyData messages (none while a row is
 * still incomplete: rows may be split across messages in any way).
 * HOOP_ERR_DENIED: a row with another number of fields than columns;
 * HOOP_ERR_TOOBIG: a row longer than max_row. After an error the
 * stream is unusable: the proxy ends the COPY with an ErrorResponse.
 */
hoop_err_t hoop_mask_copy_data(hoop_mask_copy_t *c, const void *data,
    size_t len, struct hoop_pg_buf *out, char *why, size_t whylen);
/* At CopyDone: a last row without its newline is masked and appended;
 * data that ends inside a quoted CSV field is HOOP_ERR_INVAL. */
hoop_err_t hoop_mask_copy_end(hoop_mask_copy_t *c, struct hoop_pg_buf *out,
    char *why, size_t whylen);
/* Rows seen so far (the header not counted). */
unsigned long long hoop_mask_copy_rows(const hoop_mask_copy_t *c);
/* How many of its columns are masked (for the audit event). */
size_t hoop_mask_copy_masked(const hoop_mask_copy_t *c);
void hoop_mask_copy_free(hoop_mask_copy_t *c);

/* The longest NULL string a COPY may name while masks apply. */
#define HOOP_MASK_COPY_NULL_MAX	1024

/*
 * A COPY ... TO STDOUT statement, read for masking: the format the
 * server will write (fmt, its null_string pointing into null_buf) and a
 * query whose description (Parse and Describe on the same session)
 * gives the COPY's columns in order: the COPY's own query, as written,
 * or "SELECT cols FROM table" (every column: "SELECT *").
 */
struct hoop_mask_copy_statement {
	struct hoop_mask_copy_format fmt;
	char null_buf[HOOP_MASK_COPY_NULL_MAX + 1];
	char *describe;			/* owned */
};

/*
 * Reads one COPY statement (text as lib/sql.c gives a statement; len
 * bytes, no NUL) with the PostgreSQL parser. HOOP_ERR_INVAL with why:
 * not a COPY TO STDOUT, or an option whose effect on the data hoop does
 * not know (an ENCODING other than UTF8 or SQL_ASCII, HEADER MATCH, an
 * unknown option), so the stream could not be read as the server
 * writes it; HOOP_ERR_TOOBIG: over HOOP_SQL_MAX_QUERY bytes.
 */
hoop_err_t hoop_mask_copy_statement(const char *text, size_t len,
    struct hoop_mask_copy_statement *out, char *why, size_t whylen);
void hoop_mask_copy_statement_release(struct hoop_mask_copy_statement *st);

#endif
