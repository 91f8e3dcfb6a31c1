/* The OAuth 2.0 Device Authorization Grant (RFC 8628) with OpenID
 * Connect, as `hoop-ssh login` uses it: the parsers of the issuer's
 * answers. Every answer is untrusted: sizes are capped, types checked,
 * and text meant for the terminal must be printable ASCII. The HTTP
 * exchanges themselves are the caller's (lib/hoop_http.h). */
#ifndef HOOP_DEVFLOW_H
#define HOOP_DEVFLOW_H

#include <stddef.h>

#include "hoop_err.h"

/* Caps on what an issuer may send (far above what real ones do). */
#define HOOP_DEVFLOW_MAX_BODY		(64 * 1024)
#define HOOP_DEVFLOW_MAX_URL		2048
#define HOOP_DEVFLOW_MAX_DEVICE_CODE	4096
#define HOOP_DEVFLOW_MAX_USER_CODE	64
#define HOOP_DEVFLOW_MAX_EXPIRES_IN	86400
#define HOOP_DEVFLOW_MAX_INTERVAL	600
#define HOOP_DEVFLOW_DEFAULT_INTERVAL	5	/* RFC 8628 3.2 */
#define HOOP_DEVFLOW_SLOW_DOWN_STEP	5	/* RFC 8628 3.5 */

/* The endpoints of the issuer's discovery document. */
struct hoop_devflow_endpoints {
	char *device_authorization;
	char *token;
};

/* Parses /.well-known/openid-configuration: "issuer" must be the issuer
 * asked for (trailing slashes aside), both endpoints https URLs. */
hoop_err_t hoop_devflow_parse_discovery(const char *body, size_t len,
    const char *issuer, struct hoop_devflow_endpoints *out, char *why,
    size_t whylen);
void hoop_devflow_endpoints_clear(struct hoop_devflow_endpoints *e);

/* The device authorization response. */
struct hoop_devflow_device {
	char *device_code;		/* wiped by the clear */
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete;	/* NULL if not given */
	long expires_in;		/* seconds, 1..MAX_EXPIRES_IN */
	long interval;			/* seconds, 1..MAX_INTERVAL */
};

/* Parses the answer to the device authorization request (HTTP status
 * and body); an error answer gives HOOP_ERR_DENIED with why quoting the
 * issuer's error code and description (made printable). */
hoop_err_t hoop_devflow_parse_device(long status, const char *body,
    size_t len, struct hoop_devflow_device *out, char *why, size_t whylen);
void hoop_devflow_device_clear(struct hoop_devflow_device *d);

enum hoop_devflow_poll {
	HOOP_DEVFLOW_TOKEN,		/* *id_token set */
	HOOP_DEVFLOW_PENDING,		/* authorization_pending */
	HOOP_DEVFLOW_SLOW_DOWN,		/* slow_down: interval += 5 s */
	HOOP_DEVFLOW_DENIED,		/* access_denied */
	HOOP_DEVFLOW_EXPIRED,		/* expired_token */
	HOOP_DEVFLOW_ERROR,		/* anything else; why says what */
	HOOP_DEVFLOW_NOMEM,
};

/* Parses one answer of the token endpoint. On HOOP_DEVFLOW_TOKEN,
 * *id_token is the ID token (malloc'd; wipe it), checked only for its
 * size and alphabet: the bastion verifies it. Other tokens in the answer
 * (access, refresh) are wiped and dropped. */
enum hoop_devflow_poll hoop_devflow_parse_token(long status,
    const char *body, size_t len, char **id_token, char *why,
    size_t whylen);

#endif
