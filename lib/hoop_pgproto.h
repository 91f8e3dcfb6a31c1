/*
 * The PostgreSQL frontend/backend protocol, version 3.0, as hoop-pgwrap
 * speaks it on both sides: framing over a byte buffer, strict parsers
 * for the messages it must understand, and builders.
 *
 * Framing never reads past the bytes it is given and never trusts a
 * length: a startup packet is at most HOOP_PG_STARTUP_MAX bytes after
 * its length word (as the server has it), a typed message at most the
 * caller's max_size, and no length word is below 4.
 *
 * Parsed messages are views: strings and byte strings point into the
 * message body (every string is checked to end with a NUL inside the
 * message, so they are plain C strings), and live as long as the
 * buffer. Arrays (fields, values, type oids, format codes) are decoded
 * into storage the struct owns, reused from one parse to the next, so
 * that a stream of DataRow messages costs no allocation per row;
 * release it with the struct's _release function. Start every struct
 * zeroed. Every parser refuses, with HOOP_ERR_INVAL and a reason in
 * why: a message of another type, counts or lengths that do not fit in
 * what is left of the message, strings without their NUL, values
 * outside the protocol's (format codes other than 0 and 1, lengths
 * below -1), and bytes left over at the end. Counts are 16-bit
 * unsigned on the wire, as the server reads them.
 *
 * Builders append one message to a hoop_pg_buf. On failure the buffer
 * is left as it was. No message is built whose length word would pass
 * INT32_MAX.
 */
#ifndef HOOP_PGPROTO_H
#define HOOP_PGPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "hoop_err.h"

#define HOOP_PG_PROTOCOL_3_0	0x00030000u
#define HOOP_PG_CANCEL_CODE	80877102u
#define HOOP_PG_SSL_CODE	80877103u
#define HOOP_PG_GSSENC_CODE	80877104u
/* A startup packet's bytes after its length word, at most (the server's
 * limit). */
#define HOOP_PG_STARTUP_MAX	10000
/* Startup parameters beyond this many are refused (a client sends a
 * handful). */
#define HOOP_PG_STARTUP_MAX_PARAMS	64
/* Default limit on a typed message's length word. */
#define HOOP_PG_MAX_MESSAGE_DEFAULT	(64u * 1024 * 1024)

/* Message types sent by the client (frontend). */
enum {
	HOOP_PG_F_BIND = 'B',
	HOOP_PG_F_CLOSE = 'C',
	HOOP_PG_F_COPY_DATA = 'd',
	HOOP_PG_F_COPY_DONE = 'c',
	HOOP_PG_F_COPY_FAIL = 'f',
	HOOP_PG_F_DESCRIBE = 'D',
	HOOP_PG_F_EXECUTE = 'E',
	HOOP_PG_F_FLUSH = 'H',
	HOOP_PG_F_FUNCTION_CALL = 'F',
	HOOP_PG_F_PARSE = 'P',
	/* PasswordMessage, SASLInitialResponse, SASLResponse: which one
	 * depends on the authentication request it answers. */
	HOOP_PG_F_PASSWORD = 'p',
	HOOP_PG_F_QUERY = 'Q',
	HOOP_PG_F_SYNC = 'S',
	HOOP_PG_F_TERMINATE = 'X',
};

/* Message types sent by the server (backend). */
enum {
	HOOP_PG_B_AUTH = 'R',
	HOOP_PG_B_BACKEND_KEY = 'K',
	HOOP_PG_B_BIND_COMPLETE = '2',
	HOOP_PG_B_CLOSE_COMPLETE = '3',
	HOOP_PG_B_COMMAND_COMPLETE = 'C',
	HOOP_PG_B_COPY_BOTH = 'W',
	HOOP_PG_B_COPY_DATA = 'd',
	HOOP_PG_B_COPY_DONE = 'c',
	HOOP_PG_B_COPY_IN = 'G',
	HOOP_PG_B_COPY_OUT = 'H',
	HOOP_PG_B_DATA_ROW = 'D',
	HOOP_PG_B_EMPTY_QUERY = 'I',
	HOOP_PG_B_ERROR = 'E',
	HOOP_PG_B_FUNCTION_RESULT = 'V',
	HOOP_PG_B_NEGOTIATE_VERSION = 'v',
	HOOP_PG_B_NO_DATA = 'n',
	HOOP_PG_B_NOTICE = 'N',
	HOOP_PG_B_NOTIFICATION = 'A',
	HOOP_PG_B_PARAMETER_DESCRIPTION = 't',
	HOOP_PG_B_PARAMETER_STATUS = 'S',
	HOOP_PG_B_PARSE_COMPLETE = '1',
	HOOP_PG_B_PORTAL_SUSPENDED = 's',
	HOOP_PG_B_READY = 'Z',
	HOOP_PG_B_ROW_DESCRIPTION = 'T',
};

/* Authentication request codes (the int32 after 'R'). */
enum {
	HOOP_PG_AUTH_OK = 0,
	HOOP_PG_AUTH_KERBEROS_V5 = 2,
	HOOP_PG_AUTH_CLEARTEXT = 3,
	HOOP_PG_AUTH_MD5 = 5,
	HOOP_PG_AUTH_GSS = 7,
	HOOP_PG_AUTH_GSS_CONTINUE = 8,
	HOOP_PG_AUTH_SSPI = 9,
	HOOP_PG_AUTH_SASL = 10,
	HOOP_PG_AUTH_SASL_CONTINUE = 11,
	HOOP_PG_AUTH_SASL_FINAL = 12,
};

/* ---- Framing ---- */

enum hoop_pg_frame_result {
	HOOP_PG_FRAME_ERROR = -1,	/* refused: close the connection */
	HOOP_PG_FRAME_MORE = 0,		/* *need bytes are needed in all */
	HOOP_PG_FRAME_OK = 1,		/* *msg is one whole message */
};

struct hoop_pg_msg {
	unsigned char type;		/* 0 for a startup packet */
	const unsigned char *body;	/* after the length word */
	size_t len;			/* bytes of body */
	size_t size;			/* the whole message: drop this many */
};

/*
 * One typed message (1-byte type, int32 length counting itself, body)
 * at the start of the avail bytes at buf. max_size limits the length
 * word (0: HOOP_PG_MAX_MESSAGE_DEFAULT; at most INT32_MAX). On MORE,
 * *need (if not NULL) is how many bytes the buffer must hold to go on:
 * the header's, then the whole message's once the header is in.
 */
int hoop_pg_frame(const void *buf, size_t avail, size_t max_size,
    struct hoop_pg_msg *msg, size_t *need, char *why, size_t whylen);

/* The same for the untyped packets that open a connection (startup,
 * SSLRequest, GSSENCRequest, CancelRequest): int32 length, body of 4 to
 * HOOP_PG_STARTUP_MAX bytes. The answer to SSLRequest or GSSENCRequest
 * is one byte ('S'/'G' or 'N'), not a message. Bytes that arrived
 * before a TLS or GSSAPI handshake were sent in clear and must be
 * refused, on either side, never read as if they came through it; after
 * 'N' the next packet is another startup packet. */
int hoop_pg_frame_startup(const void *buf, size_t avail,
    struct hoop_pg_msg *msg, size_t *need, char *why, size_t whylen);

/* ---- Startup packets ---- */

enum hoop_pg_startup_kind {
	HOOP_PG_STARTUP_MESSAGE,
	HOOP_PG_STARTUP_SSL,
	HOOP_PG_STARTUP_GSSENC,
	HOOP_PG_STARTUP_CANCEL,
};

struct hoop_pg_param {
	const char *name;
	const char *value;
};

struct hoop_pg_startup {
	enum hoop_pg_startup_kind kind;
	uint32_t version;	/* StartupMessage: major << 16 | minor */
	size_t nparams;		/* StartupMessage: name/value pairs */
	struct hoop_pg_param params[HOOP_PG_STARTUP_MAX_PARAMS];
	uint32_t pid, secret;	/* CancelRequest */
};

/*
 * A packet framed by hoop_pg_frame_startup. SSLRequest and
 * GSSENCRequest are 4 bytes of code, CancelRequest 12 (code, pid,
 * secret). A StartupMessage is protocol major 3 (any minor: the caller
 * decides what it supports) and its parameters: non-empty names, each
 * name at most once (a proxy and a server reading different copies of
 * "user" would disagree), the list closed by an empty name and nothing
 * after it. Any other code is refused.
 */
hoop_err_t hoop_pg_parse_startup(const struct hoop_pg_msg *m,
    struct hoop_pg_startup *out, char *why, size_t whylen);

/* A startup parameter's value, or NULL. */
const char *hoop_pg_startup_get(const struct hoop_pg_startup *s,
    const char *name);

/* ---- Shared pieces ---- */

/* A value in Bind, DataRow, FunctionCall: len -1 is SQL NULL (data
 * NULL). */
struct hoop_pg_value {
	const unsigned char *data;
	int32_t len;
};

/* ---- Frontend messages ---- */

struct hoop_pg_query {
	const char *sql;
	size_t sql_len;		/* strlen(sql) */
};
hoop_err_t hoop_pg_parse_query(const struct hoop_pg_msg *m,
    struct hoop_pg_query *out, char *why, size_t whylen);

struct hoop_pg_parse {
	const char *name;	/* "" is the unnamed statement */
	const char *query;
	size_t query_len;
	uint16_t nparams;
	uint32_t *param_types;	/* owned; 0 means unspecified */
	size_t param_types_cap;
};
hoop_err_t hoop_pg_parse_parse(const struct hoop_pg_msg *m,
    struct hoop_pg_parse *out, char *why, size_t whylen);
void hoop_pg_parse_release(struct hoop_pg_parse *p);

/* Bind. The count of parameter formats is 0, 1 or nparams, as the
 * server requires. */
struct hoop_pg_bind {
	const char *portal;
	const char *statement;
	uint16_t nformats;
	int16_t *formats;		/* owned */
	uint16_t nparams;
	struct hoop_pg_value *params;	/* owned array, data in the body */
	uint16_t nresults;
	int16_t *result_formats;	/* owned */
	size_t formats_cap, params_cap, results_cap;
};
hoop_err_t hoop_pg_parse_bind(const struct hoop_pg_msg *m,
    struct hoop_pg_bind *out, char *why, size_t whylen);
void hoop_pg_bind_release(struct hoop_pg_bind *b);

/* Describe and Close: kind 'S' (statement) or 'P' (portal). */
struct hoop_pg_target {
	char kind;
	const char *name;
};
hoop_err_t hoop_pg_parse_describe(const struct hoop_pg_msg *m,
    struct hoop_pg_target *out, char *why, size_t whylen);
hoop_err_t hoop_pg_parse_close(const struct hoop_pg_msg *m,
    struct hoop_pg_target *out, char *why, size_t whylen);

struct hoop_pg_execute {
	const char *portal;
	int32_t max_rows;	/* 0 (or below): no limit */
};
hoop_err_t hoop_pg_parse_execute(const struct hoop_pg_msg *m,
    struct hoop_pg_execute *out, char *why, size_t whylen);

/* FunctionCall (the fast-path interface). */
struct hoop_pg_function_call {
	uint32_t oid;
	uint16_t nformats;
	int16_t *formats;		/* owned */
	uint16_t nargs;
	struct hoop_pg_value *args;	/* owned array */
	int16_t result_format;
	size_t formats_cap, args_cap;
};
hoop_err_t hoop_pg_parse_function_call(const struct hoop_pg_msg *m,
    struct hoop_pg_function_call *out, char *why, size_t whylen);
void hoop_pg_function_call_release(struct hoop_pg_function_call *f);

/* One NUL-terminated string filling the whole body: CopyFail ('f'),
 * PasswordMessage ('p'), CommandComplete ('C'); *len is its strlen. */
hoop_err_t hoop_pg_parse_string(const struct hoop_pg_msg *m,
    unsigned char type, const char **s, size_t *len, char *why,
    size_t whylen);

/* SASLInitialResponse ('p'): data_len -1 means no initial response. */
struct hoop_pg_sasl_initial {
	const char *mechanism;
	const unsigned char *data;
	int32_t data_len;
};
hoop_err_t hoop_pg_parse_sasl_initial(const struct hoop_pg_msg *m,
    struct hoop_pg_sasl_initial *out, char *why, size_t whylen);

/* A message of the given type with an empty body (Sync, Flush,
 * Terminate, CopyDone, ParseComplete, BindComplete, CloseComplete,
 * NoData, PortalSuspended, EmptyQueryResponse). CopyData and
 * SASLResponse bodies are the message's bytes as they are. */
hoop_err_t hoop_pg_parse_empty(const struct hoop_pg_msg *m,
    unsigned char type, char *why, size_t whylen);

/* ---- Backend messages ---- */

/*
 * Authentication*: Ok, Cleartext, KerberosV5, GSS, SSPI carry nothing;
 * MD5 a 4-byte salt; SASL a mechanism list (strings closed by an empty
 * one, at least one mechanism); GSSContinue, SASLContinue and SASLFinal
 * their data. Unknown codes are refused.
 */
struct hoop_pg_auth {
	uint32_t code;
	unsigned char salt[4];		/* MD5 */
	const unsigned char *data;	/* SASL list; *Continue, SASLFinal */
	size_t data_len;
};
hoop_err_t hoop_pg_parse_auth(const struct hoop_pg_msg *m,
    struct hoop_pg_auth *out, char *why, size_t whylen);
/* 1 if an AuthenticationSASL request offers mechanism. */
int hoop_pg_auth_has_mechanism(const struct hoop_pg_auth *a,
    const char *mechanism);

/* ParameterStatus ('S' from the server). */
hoop_err_t hoop_pg_parse_parameter_status(const struct hoop_pg_msg *m,
    struct hoop_pg_param *out, char *why, size_t whylen);

/* BackendKeyData: exactly a pid and a 4-byte key (protocol 3.0). */
hoop_err_t hoop_pg_parse_backend_key(const struct hoop_pg_msg *m,
    uint32_t *pid, uint32_t *secret, char *why, size_t whylen);

/* ReadyForQuery: *status is 'I' (idle), 'T' (in a transaction) or 'E'
 * (in a failed transaction). */
hoop_err_t hoop_pg_parse_ready(const struct hoop_pg_msg *m, char *status,
    char *why, size_t whylen);

struct hoop_pg_field {
	const char *name;
	uint32_t table_oid;	/* 0: not a table column */
	int16_t attnum;		/* 0: not a table column */
	uint32_t type_oid;
	int16_t typlen;
	int32_t typmod;
	int16_t format;		/* 0 text, 1 binary */
};

struct hoop_pg_row_description {
	uint16_t nfields;
	struct hoop_pg_field *fields;	/* owned array */
	size_t fields_cap;
};
hoop_err_t hoop_pg_parse_row_description(const struct hoop_pg_msg *m,
    struct hoop_pg_row_description *out, char *why, size_t whylen);
void hoop_pg_row_description_release(struct hoop_pg_row_description *r);

struct hoop_pg_data_row {
	uint16_t ncols;
	struct hoop_pg_value *values;	/* owned array, data in the body */
	size_t values_cap;
};
hoop_err_t hoop_pg_parse_data_row(const struct hoop_pg_msg *m,
    struct hoop_pg_data_row *out, char *why, size_t whylen);
void hoop_pg_data_row_release(struct hoop_pg_data_row *r);

/* ErrorResponse and NoticeResponse: field[c] is the value of the field
 * whose code is the byte c, or NULL. S, C and M are always there (the
 * server always sends them); a code seen twice is refused. */
struct hoop_pg_notice {
	const char *field[256];
};
hoop_err_t hoop_pg_parse_notice(const struct hoop_pg_msg *m,
    struct hoop_pg_notice *out, char *why, size_t whylen);

/* CopyInResponse, CopyOutResponse, CopyBothResponse: overall format and
 * one format per column (all 0 when the overall format is text). */
struct hoop_pg_copy_response {
	int8_t format;
	uint16_t ncols;
	int16_t *formats;		/* owned */
	size_t formats_cap;
};
hoop_err_t hoop_pg_parse_copy_response(const struct hoop_pg_msg *m,
    struct hoop_pg_copy_response *out, char *why, size_t whylen);
void hoop_pg_copy_response_release(struct hoop_pg_copy_response *c);

/* ParameterDescription. */
struct hoop_pg_parameter_description {
	uint16_t nparams;
	uint32_t *types;		/* owned */
	size_t types_cap;
};
hoop_err_t hoop_pg_parse_parameter_description(const struct hoop_pg_msg *m,
    struct hoop_pg_parameter_description *out, char *why, size_t whylen);
void hoop_pg_parameter_description_release(
    struct hoop_pg_parameter_description *p);

/* NotificationResponse. */
struct hoop_pg_notification {
	uint32_t pid;
	const char *channel;
	const char *payload;
};
hoop_err_t hoop_pg_parse_notification(const struct hoop_pg_msg *m,
    struct hoop_pg_notification *out, char *why, size_t whylen);

/* FunctionCallResponse: one value. */
hoop_err_t hoop_pg_parse_function_result(const struct hoop_pg_msg *m,
    struct hoop_pg_value *out, char *why, size_t whylen);

/* NegotiateProtocolVersion: the newest minor version the server knows,
 * and how many of the client's options (_pq_.*) it did not recognise;
 * *options points at the first of their names, one after another. */
hoop_err_t hoop_pg_parse_negotiate_version(const struct hoop_pg_msg *m,
    uint32_t *minor, uint32_t *noptions, const char **options, char *why,
    size_t whylen);

/* ---- Buffers and builders ---- */

/* A growable byte buffer. Start it zeroed. */
struct hoop_pg_buf {
	unsigned char *data;
	size_t len, cap;
};

/* Room for n more bytes at data + len (the caller adds to len what it
 * wrote there, e.g. after read()). Growing copies to a new block and
 * wipes the old one, so no secret is left behind in freed memory. */
hoop_err_t hoop_pg_buf_reserve(struct hoop_pg_buf *b, size_t n);
/* Drops the first n bytes (a message handled). */
void hoop_pg_buf_consume(struct hoop_pg_buf *b, size_t n);
/* Wipes the bytes held and empties the buffer (after a password). */
void hoop_pg_buf_wipe(struct hoop_pg_buf *b);
/* Wipes and frees the storage; the buffer is empty and usable again. */
void hoop_pg_buf_free(struct hoop_pg_buf *b);

/* Any typed message from its body. */
hoop_err_t hoop_pg_put_message(struct hoop_pg_buf *b, unsigned char type,
    const void *body, size_t len);
/* A message with an empty body (Sync, Flush, Terminate, CopyDone,
 * ParseComplete, EmptyQueryResponse, ...). */
hoop_err_t hoop_pg_put_empty(struct hoop_pg_buf *b, unsigned char type);

/* ErrorResponse ('E') or NoticeResponse ('N'): severity (ERROR, FATAL,
 * NOTICE...; sent as S and V), sqlstate (5 characters), message;
 * detail and hint may be NULL. */
hoop_err_t hoop_pg_put_notice(struct hoop_pg_buf *b, unsigned char type,
    const char *severity, const char *sqlstate, const char *message,
    const char *detail, const char *hint);
hoop_err_t hoop_pg_put_error(struct hoop_pg_buf *b, const char *severity,
    const char *sqlstate, const char *message, const char *detail,
    const char *hint);

hoop_err_t hoop_pg_put_ready(struct hoop_pg_buf *b, char status);
/* Authentication requests with nothing after the code (Ok, Cleartext). */
hoop_err_t hoop_pg_put_auth(struct hoop_pg_buf *b, uint32_t code);
hoop_err_t hoop_pg_put_auth_md5(struct hoop_pg_buf *b,
    const unsigned char salt[4]);
hoop_err_t hoop_pg_put_auth_sasl(struct hoop_pg_buf *b,
    const char *const *mechanisms, size_t n);
/* SASLContinue or SASLFinal with their data. */
hoop_err_t hoop_pg_put_auth_data(struct hoop_pg_buf *b, uint32_t code,
    const void *data, size_t len);
hoop_err_t hoop_pg_put_parameter_status(struct hoop_pg_buf *b,
    const char *name, const char *value);
hoop_err_t hoop_pg_put_backend_key(struct hoop_pg_buf *b, uint32_t pid,
    uint32_t secret);
hoop_err_t hoop_pg_put_row_description(struct hoop_pg_buf *b,
    const struct hoop_pg_field *fields, size_t n);
/* values[i].len -1 sends NULL; other negative lengths are refused. */
hoop_err_t hoop_pg_put_data_row(struct hoop_pg_buf *b,
    const struct hoop_pg_value *values, size_t n);
hoop_err_t hoop_pg_put_command_complete(struct hoop_pg_buf *b,
    const char *tag);

/* StartupMessage, protocol 3.0; names must be non-empty. */
hoop_err_t hoop_pg_put_startup(struct hoop_pg_buf *b,
    const struct hoop_pg_param *params, size_t n);
/* SSLRequest, GSSENCRequest: HOOP_PG_SSL_CODE or HOOP_PG_GSSENC_CODE. */
hoop_err_t hoop_pg_put_request(struct hoop_pg_buf *b, uint32_t code);
hoop_err_t hoop_pg_put_cancel(struct hoop_pg_buf *b, uint32_t pid,
    uint32_t secret);
hoop_err_t hoop_pg_put_query(struct hoop_pg_buf *b, const char *sql);
hoop_err_t hoop_pg_put_parse(struct hoop_pg_buf *b, const char *name,
    const char *query, const uint32_t *types, size_t ntypes);
hoop_err_t hoop_pg_put_bind(struct hoop_pg_buf *b, const char *portal,
    const char *statement, const int16_t *formats, size_t nformats,
    const struct hoop_pg_value *params, size_t nparams,
    const int16_t *result_formats, size_t nresults);
/* Describe or Close: type HOOP_PG_F_DESCRIBE or HOOP_PG_F_CLOSE, kind
 * 'S' or 'P'. */
hoop_err_t hoop_pg_put_target(struct hoop_pg_buf *b, unsigned char type,
    char kind, const char *name);
hoop_err_t hoop_pg_put_execute(struct hoop_pg_buf *b, const char *portal,
    int32_t max_rows);
/* PasswordMessage: a cleartext password or an md5 answer. Wipe the
 * buffer once sent. */
hoop_err_t hoop_pg_put_password(struct hoop_pg_buf *b, const char *password);
hoop_err_t hoop_pg_put_sasl_initial(struct hoop_pg_buf *b,
    const char *mechanism, const void *data, size_t len);
hoop_err_t hoop_pg_put_sasl_response(struct hoop_pg_buf *b,
    const void *data, size_t len);

#endif
