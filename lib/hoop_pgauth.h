/*
 * PostgreSQL password authentication, both ends: SCRAM-SHA-256 as the
 * server does it (RFC 5802 and RFC 7677, gs2 header "n,,", no channel
 * binding), client and server side, and the md5 answer.
 *
 * Passwords must be ASCII. SASLprep leaves an ASCII password as it is
 * (libpq and the server use such a password unchanged), so the bytes
 * are used as they are; a password with any byte above 0x7f is refused
 * (HOOP_ERR_INVAL) rather than normalised, since SASLprep is not
 * implemented here and a wrong guess would only fail later and less
 * clearly.
 *
 * Messages are taken and given as bytes (SASL data, no NUL); a message
 * given out stays valid until the next call on the same object. The
 * objects hold keys and are wiped when freed. Any failure ends the
 * exchange: every later call fails.
 */
#ifndef HOOP_PGAUTH_H
#define HOOP_PGAUTH_H

#include <stddef.h>

#include "hoop_err.h"

#define HOOP_PG_SCRAM_MECHANISM	"SCRAM-SHA-256"
#define HOOP_PG_SCRAM_DEFAULT_ITERATIONS	4096
/* A server asking for more iterations is refused (it would hold the
 * client in PBKDF2 for seconds per login). */
#define HOOP_PG_SCRAM_MAX_ITERATIONS	10000000u
/* "md5" and 32 hex digits. */
#define HOOP_PG_MD5_ANSWER_LEN	35
/* hoop_pg_one_time_password: hex of 24 random bytes. */
#define HOOP_PG_OTP_LEN	48

typedef struct hoop_pg_scram_client hoop_pg_scram_client_t;
typedef struct hoop_pg_scram_server hoop_pg_scram_server_t;

/* ---- Client side (hoop-pgwrap to the target) ---- */

/* A client for password, with an 18-byte random nonce; the user name
 * sent is empty, as libpq sends it (the server takes the startup
 * packet's). */
hoop_err_t hoop_pg_scram_client_create(const char *password,
    hoop_pg_scram_client_t **out, char *why, size_t whylen);

/* The same with a given user name and nonce (printable ASCII, no
 * comma): for test vectors only. */
hoop_err_t hoop_pg_scram_client_create_fixed(const char *user,
    const char *password, const char *nonce, hoop_pg_scram_client_t **out,
    char *why, size_t whylen);

/* client-first-message, for SASLInitialResponse. */
hoop_err_t hoop_pg_scram_client_first(hoop_pg_scram_client_t *c,
    const char **msg, size_t *len);

/*
 * Takes server-first-message (AuthenticationSASLContinue's data): the
 * nonce must extend ours, the salt be canonical base64, the iteration
 * count 1 to HOOP_PG_SCRAM_MAX_ITERATIONS; no extension is accepted.
 * Gives client-final-message, for SASLResponse.
 */
hoop_err_t hoop_pg_scram_client_final(hoop_pg_scram_client_t *c,
    const unsigned char *server_first, size_t len, const char **msg,
    size_t *mlen, char *why, size_t whylen);

/* Checks server-final-message (AuthenticationSASLFinal's data): HOOP_OK
 * only if the ServerSignature is the one the password gives (compared in
 * constant time), HOOP_ERR_DENIED for another signature or a server
 * error ("e="). Until this returns HOOP_OK the server is not proven to
 * know the password: AuthenticationOk before it must be refused. */
hoop_err_t hoop_pg_scram_client_verify(hoop_pg_scram_client_t *c,
    const unsigned char *server_final, size_t len, char *why,
    size_t whylen);

void hoop_pg_scram_client_free(hoop_pg_scram_client_t *c);

/* ---- Server side (hoop-pgwrap to psql) ---- */

/*
 * A server that accepts password: a random 16-byte salt, iterations
 * (0: the default) and the keys derived from them; the password itself
 * is not kept.
 */
hoop_err_t hoop_pg_scram_server_create(const char *password,
    unsigned iterations, hoop_pg_scram_server_t **out, char *why,
    size_t whylen);

/* Takes client-first-message (SASLInitialResponse's data): gs2 header
 * "n,," or "y,," (the client may support channel binding; none is
 * offered), no authzid, no extension. Gives server-first-message. */
hoop_err_t hoop_pg_scram_server_first(hoop_pg_scram_server_t *s,
    const unsigned char *client_first, size_t len, const char **msg,
    size_t *mlen, char *why, size_t whylen);

/* Takes client-final-message: channel binding data equal to the gs2
 * header, the whole nonce, the proof last. HOOP_ERR_DENIED if the proof
 * does not match (wrong password; checked in constant time), else gives
 * server-final-message, for AuthenticationSASLFinal. */
hoop_err_t hoop_pg_scram_server_final(hoop_pg_scram_server_t *s,
    const unsigned char *client_final, size_t len, const char **msg,
    size_t *mlen, char *why, size_t whylen);

void hoop_pg_scram_server_free(hoop_pg_scram_server_t *s);

/* ---- Others ---- */

/* The answer to AuthenticationMD5Password: "md5" followed by the hex of
 * md5(hex(md5(password || user)) || salt). out holds
 * HOOP_PG_MD5_ANSWER_LEN + 1 bytes; wipe it once sent. */
hoop_err_t hoop_pg_md5_password(const char *user, const char *password,
    const unsigned char salt[4], char *out);

/* A fresh random password (HOOP_PG_OTP_LEN hex digits and a NUL), for
 * the one login psql makes. */
hoop_err_t hoop_pg_one_time_password(char *out);

#endif
