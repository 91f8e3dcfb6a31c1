#define PCRE2_CODE_UNIT_WIDTH 8
#include <stdio.h>
#include <string.h>

#include <pcre2.h>

#include "hoop_identity.h"

/* The claim as text, or NULL if it is missing or not a scalar. */
static const char *
claim_text(json_t *claims, const char *name, char *buf, size_t size)
{
	json_t *v = json_object_get(claims, name);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	}
	return NULL;
}

static int
rule_holds(const struct hoop_claim_rule *rule, json_t *claims)
{
	pcre2_match_data *md;
	const char *value;
	char buf[32];
	size_t i;
	int rc;

	if ((value = claim_text(claims, rule->claim, buf, sizeof(buf))) == NULL)
		return 0;
	if (rule->n_equals > 0) {
		for (i = 0; i < rule->n_equals; i++)
			if (strcmp(value, rule->equals[i]) == 0)
				return 1;
		return 0;
	}
	if (rule->regex == NULL)
		return 0;
	if ((md = pcre2_match_data_create_from_pattern(
	    (const pcre2_code *)rule->regex, NULL)) == NULL)
		return 0;
	/* The pattern is compiled anchored at both ends: whole value. */
	rc = pcre2_match((const pcre2_code *)rule->regex, (PCRE2_SPTR)value,
	    strlen(value), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

int
hoop_identity_claims_match(const struct hoop_identity *id, json_t *claims,
    const char **failed)
{
	size_t i;

	for (i = 0; i < id->n_claims; i++) {
		if (!rule_holds(&id->claims[i], claims)) {
			if (failed != NULL)
				*failed = id->claims[i].claim;
			return 0;
		}
	}
	return 1;
}

int
hoop_identity_valid_login(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > HOOP_LOGIN_MAX)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-'))
			return 0;
	return 1;
}

hoop_err_t
hoop_identity_login(const struct hoop_identity *id, json_t *claims, char *out,
    size_t outlen)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	const char *p, *end, *value;
	char name[128], buf[32];
	size_t have = 0, n;

	if (outlen == 0)
		goto out;
	out[0] = '\0';
	if (id->login != NULL) {
		if (strlen(id->login) >= outlen)
			goto out;
		memcpy(out, id->login, strlen(id->login) + 1);
		ret = HOOP_OK;
		goto out;
	}
	if (id->login_template == NULL)
		goto out;
	for (p = id->login_template; *p != '\0'; ) {
		if (p[0] == '$' && p[1] == '{') {
			/* The config loader checked the template's syntax. */
			if ((end = strchr(p + 2, '}')) == NULL ||
			    (n = (size_t)(end - p - 2)) >= sizeof(name))
				goto out;
			memcpy(name, p + 2, n);
			name[n] = '\0';
			value = claim_text(claims, name, buf, sizeof(buf));
			if (value == NULL)
				goto out;
			/* No case folding: two subjects differing in case
			 * must not share a login. The result is validated
			 * as a whole below. */
			for (; *value != '\0'; value++) {
				if (have + 1 >= outlen)
					goto out;
				out[have++] = *value;
			}
			p = end + 1;
		} else {
			if (have + 1 >= outlen)
				goto out;
			out[have++] = *p++;
		}
	}
	out[have] = '\0';
	if (!hoop_identity_valid_login(out))
		goto out;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK && outlen > 0)
		out[0] = '\0';
	return ret;
}
