/* hoop-kubewrap: kubectl through a Kubernetes API proxy that holds the
 * cluster's credential and decides every request (see hoop-kubewrap(1)). */
#ifndef HOOP_KUBEWRAP_H
#define HOOP_KUBEWRAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "hoop_config.h"
#include "hoop_mask.h"
#include "hoop_policy.h"
#include "hoop_store.h"

/* The real kubectl (the test build points this into its build
 * directory). */
#ifndef HOOP_KUBEWRAP_KUBECTL
#define HOOP_KUBEWRAP_KUBECTL "/usr/bin/kubectl"
#endif

/* A request body held for the decision (the apiserver takes 3 MiB). */
#define KUBEWRAP_MAX_REQUEST_BODY	(16u * 1024 * 1024)
/* One JSON token held while it arrives; one log line (a longer log
 * line is masked in pieces of this size). */
#define KUBEWRAP_MAX_EVENT		(64u * 1024 * 1024)
#define KUBEWRAP_MAX_LOG_LINE		(1024u * 1024)
/* The one-time bearer token: 32 random bytes, hex. */
#define KUBEWRAP_OTP_HEX		64

/* ---- args.c ---- */

struct kubewrap_args {
	const char *target;	/* --context, or NULL */
	char **argv;		/* for kubectl (argv[0] "kubectl") */
	size_t argc;
	int info_only;		/* help, completion: no cluster needed */
};

/* kubectl's command line: --context taken out as the target, flags that
 * would point kubectl elsewhere or change who it is refused. 0, or -1
 * with why. */
int kubewrap_parse_args(int argc, char **argv, struct kubewrap_args *out,
    char *why, size_t whylen);
void kubewrap_args_free(struct kubewrap_args *a);
/* A variable that would point kubectl elsewhere: its name, or NULL. */
const char *kubewrap_refused_env(char **envp);

/* ---- The proxy ---- */

struct kubewrap {
	hoop_config_t *cfg;
	hoop_store_t *store;
	struct hoop_principal who;
	const char *session_id;
	char session_buf[33];
	const struct hoop_target *target;
	char *token;			/* the target's bearer token */
	char otp[KUBEWRAP_OTP_HEX + 1];
	int interactive;

	/* The API server: https://host:port. */
	char host[256];
	char port[8];
	char host_header[300];
	int host_is_ip;
	SSL_CTX *ssl_ctx;
	/* kubectl's end: an ephemeral certificate (PEM) and its key. */
	SSL_CTX *server_ctx;
	char *cert_pem;

	hoop_mask_set_t *mask;		/* NULL: no pattern applies */

	/* The store, the approval service and the mask set are used by
	 * one thread at a time. */
	pthread_mutex_t store_lock;
	pthread_mutex_t mask_lock;

	int listen_fd;
	int port_listen;
	char dir[64];
	int dir_fd;
};

/* tls.c */
struct tls_end {
	int fd;
	SSL *ssl;
};

int kubewrap_upstream_setup(struct kubewrap *kw, char *why, size_t whylen);
int upstream_connect(struct kubewrap *kw, struct tls_end *u, char *why,
    size_t whylen);
void tls_close(struct tls_end *u);
int kubewrap_server_tls(struct kubewrap *kw, char *why, size_t whylen);
/* The TLS handshake with kubectl on fd (made non-blocking). */
int tls_accept(struct kubewrap *kw, int fd, struct tls_end *c);
/* > 0 bytes, 0 end, -1 error, -2 nothing within timeout_ms (0: no
 * wait, -1: no limit). */
ssize_t tls_read(struct tls_end *u, void *buf, size_t n, int timeout_ms);
int tls_write_all(struct tls_end *u, const void *buf, size_t n);

/* proxy.c: one thread per connection of kubectl's. */
void kubewrap_serve(struct kubewrap *kw, int fd);

/* masking.c */
enum kubewrap_mask_mode {
	KUBEWRAP_MASK_NONE,
	KUBEWRAP_MASK_SECRETS,	/* the response is about Secrets */
	KUBEWRAP_MASK_CONFIGMAPS,	/* about ConfigMaps */
};
/*
 * The masker of JSON responses, as a stream: bytes in as they come from
 * the server, bytes out to pass on at once (valid until the next call).
 * What is masked: Secret data and stringData values (by kind, the items
 * of a SecretList, and every data and stringData in a response about
 * secrets), the last-applied-configuration annotation read as the
 * object it holds, and under the set's patterns ConfigMap data (by kind,
 * or in a response about configmaps) and container env values. many:
 * documents follow one another (a watch). -1: not JSON, or an object
 * whose kind would have masked data already passed (the stream must end
 * there: fail closed).
 */
struct kubewrap_jstream;
hoop_err_t kubewrap_jstream_create(struct kubewrap *kw,
    enum kubewrap_mask_mode mode, int many, struct kubewrap_jstream **out);
int kubewrap_jstream_feed(struct kubewrap_jstream *js, const void *data,
    size_t len, const unsigned char **out, size_t *outlen);
int kubewrap_jstream_end(struct kubewrap_jstream *js,
    const unsigned char **out, size_t *outlen);
void kubewrap_jstream_free(struct kubewrap_jstream *js);
/* One whole document: *out is new JSON (free with free()). */
int kubewrap_mask_json(struct kubewrap *kw, enum kubewrap_mask_mode mode,
    const char *in, size_t len, char **out, size_t *outlen);
/* Patterns over text (log lines): *out NULL when nothing changed, else
 * new bytes (free with free()). -1 on failure (the caller redacts). */
int kubewrap_mask_text(struct kubewrap *kw, const char *in, size_t len,
    char **out, size_t *outlen);

#endif
