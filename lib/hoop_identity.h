/* Identity rules applied to a token's claims: which identity this is and
 * the login name it maps to. */
#ifndef HOOP_IDENTITY_H
#define HOOP_IDENTITY_H

#include <stddef.h>

#include <jansson.h>

#include "hoop_config.h"
#include "hoop_err.h"

#define HOOP_LOGIN_MAX 32

/* 1 if every claim rule of the identity holds; otherwise 0 and *failed
 * names the first claim that did not. Strings compare as they are;
 * numbers and booleans by their JSON text ("true", "42"); arrays, objects
 * and null never match. */
int hoop_identity_claims_match(const struct hoop_identity *id, json_t *claims,
    const char **failed);

/* The login name the claims map to: the fixed login, or the template with
 * each ${claim} replaced. HOOP_ERR_INVAL if a claim is missing or the
 * result is not a valid login name ([a-z_][a-z0-9_-]*, at most 32). */
hoop_err_t hoop_identity_login(const struct hoop_identity *id, json_t *claims,
    char *out, size_t outlen);

/* 1 if name is a valid login name. */
int hoop_identity_valid_login(const char *name);

#endif
