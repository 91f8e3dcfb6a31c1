/* The device authorization grant's parsers on arbitrary input, as every
 * kind of answer (discovery, device response, token response) and under
 * the statuses that change their reading. What they accept must hold to
 * their promises: printable ASCII in what is shown, sizes under the caps,
 * an id_token of base64url and dots. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hoop_devflow.h"
#include "hoop_tokenread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_printable(const char *s, size_t max)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > max)
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 400, 401, 500 };
	struct hoop_devflow_endpoints ep;
	struct hoop_devflow_device dev;
	const char *body = (const char *)data;
	char why[512], *tok = NULL;
	size_t i;

	if (hoop_devflow_parse_discovery(body, size, "https://sso.example",
	    &ep, why, sizeof(why)) == HOOP_OK) {
		check_printable(ep.device_authorization, HOOP_DEVFLOW_MAX_URL);
		check_printable(ep.token, HOOP_DEVFLOW_MAX_URL);
		if (strncasecmp(ep.token, "https://", 8) != 0 ||
		    strncasecmp(ep.device_authorization, "https://", 8) != 0)
			abort();
	}
	hoop_devflow_endpoints_clear(&ep);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (hoop_devflow_parse_device(statuses[i], body, size, &dev, why,
		    sizeof(why)) == HOOP_OK) {
			check_printable(dev.user_code,
			    HOOP_DEVFLOW_MAX_USER_CODE);
			check_printable(dev.verification_uri,
			    HOOP_DEVFLOW_MAX_URL);
			if (dev.verification_uri_complete != NULL)
				check_printable(dev.verification_uri_complete,
				    HOOP_DEVFLOW_MAX_URL);
			if (dev.expires_in < 1 || dev.interval < 1 ||
			    dev.interval > HOOP_DEVFLOW_MAX_INTERVAL ||
			    dev.expires_in > HOOP_DEVFLOW_MAX_EXPIRES_IN)
				abort();
		}
		hoop_devflow_device_clear(&dev);
		if (hoop_devflow_parse_token(statuses[i], body, size, &tok, why,
		    sizeof(why)) == HOOP_DEVFLOW_TOKEN) {
			if (tok == NULL || strlen(tok) > HOOP_TOKENREAD_MAX_TOKEN ||
			    !hoop_tokenread_chars_ok(tok, strlen(tok)))
				abort();
		} else if (tok != NULL)
			abort();
		free(tok);
		tok = NULL;
		/* Messages quote the issuer: never a control character. */
		check_printable(why[0] != '\0' ? why : "-", sizeof(why));
	}
	return 0;
}
