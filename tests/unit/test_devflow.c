/* The device authorization grant's parsers: discovery, the device
 * response and the token endpoint's answers, good, malformed, oversized
 * and hostile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_devflow.h"
#include "tap.h"

#define ISS "https://sso.example.test/realms/corp"
#define JWT "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln"

static char why[512];

static hoop_err_t
disc(const char *body)
{
	struct hoop_devflow_endpoints e;
	hoop_err_t err;

	why[0] = '\0';
	err = hoop_devflow_parse_discovery(body, strlen(body), ISS, &e, why,
	    sizeof(why));
	hoop_devflow_endpoints_clear(&e);
	return err;
}

static hoop_err_t
device(long status, const char *body, struct hoop_devflow_device *d)
{
	why[0] = '\0';
	return hoop_devflow_parse_device(status, body, strlen(body), d, why,
	    sizeof(why));
}

static enum hoop_devflow_poll
poll_answer(long status, const char *body, char **tok)
{
	why[0] = '\0';
	return hoop_devflow_parse_token(status, body, strlen(body), tok, why,
	    sizeof(why));
}

/* A string of n copies of c inside a JSON document. */
static char *
with_long(const char *fmt, char c, size_t n)
{
	char *s = malloc(n + 1), *doc;
	size_t len = strlen(fmt) + n + 1;

	memset(s, c, n);
	s[n] = '\0';
	doc = malloc(len);
	snprintf(doc, len, fmt, s);
	free(s);
	return doc;
}

static void
test_discovery(void)
{
	struct hoop_devflow_endpoints e;
	const char *good = "{\"issuer\":\"" ISS "/\","
	    "\"device_authorization_endpoint\":\"https://sso.example.test/d\","
	    "\"token_endpoint\":\"https://sso.example.test/t\"}";
	char *big;

	is_int(hoop_devflow_parse_discovery(good, strlen(good), ISS, &e, why,
	    sizeof(why)), HOOP_OK, "discovery: good (trailing slash aside)");
	ok(e.device_authorization != NULL &&
	    strcmp(e.device_authorization, "https://sso.example.test/d") == 0 &&
	    strcmp(e.token, "https://sso.example.test/t") == 0,
	    "discovery: both endpoints");
	hoop_devflow_endpoints_clear(&e);
	is_int(disc("{\"issuer\":\"" ISS "\",\"token_endpoint\":"
	    "\"https://x/t\"}"), HOOP_ERR_INVAL, "discovery: no device "
	    "endpoint");
	ok(strstr(why, "device authorization grant") != NULL,
	    "discovery: says the grant is not offered (%s)", why);
	is_int(disc("{\"issuer\":\"https://evil.example\","
	    "\"device_authorization_endpoint\":\"https://x/d\","
	    "\"token_endpoint\":\"https://x/t\"}"), HOOP_ERR_INVAL,
	    "discovery: another issuer");
	ok(strstr(why, "another issuer") != NULL, "discovery: says so");
	is_int(disc("{\"issuer\":\"" ISS "x\","
	    "\"device_authorization_endpoint\":\"https://x/d\","
	    "\"token_endpoint\":\"https://x/t\"}"), HOOP_ERR_INVAL,
	    "discovery: issuer with a suffix");
	is_int(disc("{\"issuer\":\"" ISS "\","
	    "\"device_authorization_endpoint\":\"http://x/d\","
	    "\"token_endpoint\":\"https://x/t\"}"), HOOP_ERR_INVAL,
	    "discovery: plain http endpoint");
	is_int(disc("{\"issuer\":\"" ISS "\","
	    "\"device_authorization_endpoint\":\"https://x/d\"}"),
	    HOOP_ERR_INVAL, "discovery: no token endpoint");
	is_int(disc("{\"issuer\":\"" ISS "\","
	    "\"device_authorization_endpoint\":7,"
	    "\"token_endpoint\":\"https://x/t\"}"), HOOP_ERR_INVAL,
	    "discovery: endpoint not a string");
	is_int(disc("{\"issuer\":\"" ISS "\","
	    "\"device_authorization_endpoint\":\"https://x/d\\u0000y\","
	    "\"token_endpoint\":\"https://x/t\"}"), HOOP_ERR_INVAL,
	    "discovery: NUL inside an endpoint");
	is_int(disc("{\"issuer\":\"" ISS "\","
	    "\"device_authorization_endpoint\":\"https://x/d\\n\","
	    "\"token_endpoint\":\"https://x/t\"}"), HOOP_ERR_INVAL,
	    "discovery: control character in an endpoint");
	is_int(disc("{\"issuer\":\"" ISS "\",\"issuer\":\"" ISS "\"}"),
	    HOOP_ERR_INVAL, "discovery: duplicate key");
	is_int(disc("[1,2]"), HOOP_ERR_INVAL, "discovery: not an object");
	is_int(disc("{\"issuer\":"), HOOP_ERR_INVAL, "discovery: truncated");
	is_int(disc(""), HOOP_ERR_INVAL, "discovery: empty");
	big = with_long("{\"issuer\":\"" ISS "\",\"device_authorization_"
	    "endpoint\":\"https://%s\",\"token_endpoint\":\"https://x/t\"}",
	    'a', HOOP_DEVFLOW_MAX_URL);
	is_int(disc(big), HOOP_ERR_TOOBIG, "discovery: endpoint over the cap");
	free(big);
	big = with_long("{\"x\":\"%s\"}", 'a', HOOP_DEVFLOW_MAX_BODY);
	is_int(disc(big), HOOP_ERR_TOOBIG, "discovery: body over the cap");
	free(big);
}

static void
test_device(void)
{
	struct hoop_devflow_device d;
	char *big;

	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"WDJB-MJHT\","
	    "\"verification_uri\":\"https://x/device\",\"expires_in\":600,"
	    "\"interval\":7}", &d), HOOP_OK, "device: good");
	ok(strcmp(d.device_code, "dc") == 0 &&
	    strcmp(d.user_code, "WDJB-MJHT") == 0 &&
	    strcmp(d.verification_uri, "https://x/device") == 0 &&
	    d.verification_uri_complete == NULL && d.expires_in == 600 &&
	    d.interval == 7, "device: fields");
	hoop_devflow_device_clear(&d);
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"A B\","
	    "\"verification_uri\":\"https://x/d\",\"verification_uri_complete\":"
	    "\"https://x/d?c=A\",\"expires_in\":60}", &d), HOOP_OK,
	    "device: no interval, a complete URI");
	is_int(d.interval, HOOP_DEVFLOW_DEFAULT_INTERVAL,
	    "device: interval defaults to 5 s");
	ok(d.verification_uri_complete != NULL, "device: complete URI kept");
	hoop_devflow_device_clear(&d);
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":60,"
	    "\"interval\":0}", &d), HOOP_OK, "device: interval 0");
	is_int(d.interval, 1, "device: interval 0 becomes 1 s");
	hoop_devflow_device_clear(&d);
	is_int(device(200, "{\"user_code\":\"C\",\"verification_uri\":"
	    "\"https://x/d\",\"expires_in\":60}", &d), HOOP_ERR_INVAL,
	    "device: no device_code");
	ok(strstr(why, "device_code") != NULL, "device: names it (%s)", why);
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\"}", &d), HOOP_ERR_INVAL,
	    "device: no expires_in");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":\"60\"}", &d),
	    HOOP_ERR_INVAL, "device: expires_in a string");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":"
	    "99999999999999}", &d), HOOP_ERR_INVAL, "device: huge expires_in");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":-1}", &d),
	    HOOP_ERR_INVAL, "device: negative expires_in");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":60,"
	    "\"interval\":601}", &d), HOOP_ERR_INVAL, "device: interval over "
	    "the cap");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":"
	    "\"\\u001b[2J\",\"verification_uri\":\"https://x/d\","
	    "\"expires_in\":60}", &d), HOOP_ERR_INVAL,
	    "device: terminal escape in the user code");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d \\u00e9\",\"expires_in\":60}",
	    &d), HOOP_ERR_INVAL, "device: non-ASCII in the URI");
	is_int(device(200, "{\"device_code\":\"dc\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":60,"
	    "\"verification_uri_complete\":5}", &d), HOOP_ERR_INVAL,
	    "device: complete URI not a string");
	big = with_long("{\"device_code\":\"%s\",\"user_code\":\"C\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":60}", 'd',
	    HOOP_DEVFLOW_MAX_DEVICE_CODE + 1);
	is_int(device(200, big, &d), HOOP_ERR_TOOBIG,
	    "device: device_code over the cap");
	free(big);
	big = with_long("{\"device_code\":\"dc\",\"user_code\":\"%s\","
	    "\"verification_uri\":\"https://x/d\",\"expires_in\":60}", 'U',
	    HOOP_DEVFLOW_MAX_USER_CODE + 1);
	is_int(device(200, big, &d), HOOP_ERR_TOOBIG,
	    "device: user_code over the cap");
	free(big);
	is_int(device(400, "{\"error\":\"invalid_client\","
	    "\"error_description\":\"no such \\u001b[31mclient\"}", &d),
	    HOOP_ERR_DENIED, "device: an error answer");
	ok(strstr(why, "invalid_client: no such ?[31mclient") != NULL &&
	    strchr(why, 0x1b) == NULL, "device: the error quoted, made "
	    "printable (%s)", why);
	is_int(device(500, "<html>oops</html>", &d), HOOP_ERR_IO,
	    "device: HTTP 500 without JSON");
	ok(strstr(why, "HTTP status 500") != NULL, "device: says the status");
	is_int(device(200, "not json", &d), HOOP_ERR_INVAL,
	    "device: 200 without JSON");
	is_int(device(200, "{\"device_code\":\"dc\",\"device_code\":\"dd\"}",
	    &d), HOOP_ERR_INVAL, "device: duplicate key");
}

static void
test_token(void)
{
	char *tok = NULL, *big;

	is_int(poll_answer(200, "{\"access_token\":\"a\",\"id_token\":\"" JWT
	    "\",\"token_type\":\"Bearer\"}", &tok), HOOP_DEVFLOW_TOKEN,
	    "token: success");
	ok(tok != NULL && strcmp(tok, JWT) == 0, "token: the id_token");
	free(tok);
	is_int(poll_answer(400, "{\"error\":\"authorization_pending\"}", &tok),
	    HOOP_DEVFLOW_PENDING, "token: pending");
	ok(tok == NULL, "token: none while pending");
	is_int(poll_answer(200, "{\"error\":\"authorization_pending\"}", &tok),
	    HOOP_DEVFLOW_PENDING, "token: pending with status 200");
	is_int(poll_answer(400, "{\"error\":\"slow_down\"}", &tok),
	    HOOP_DEVFLOW_SLOW_DOWN, "token: slow_down");
	is_int(poll_answer(400, "{\"error\":\"access_denied\"}", &tok),
	    HOOP_DEVFLOW_DENIED, "token: denied");
	is_int(poll_answer(400, "{\"error\":\"expired_token\"}", &tok),
	    HOOP_DEVFLOW_EXPIRED, "token: expired");
	is_int(poll_answer(400, "{\"error\":\"invalid_grant\","
	    "\"error_description\":\"spent\"}", &tok), HOOP_DEVFLOW_ERROR,
	    "token: another error");
	ok(strstr(why, "invalid_grant: spent") != NULL, "token: quoted (%s)",
	    why);
	is_int(poll_answer(400, "{\"error\":7}", &tok), HOOP_DEVFLOW_ERROR,
	    "token: error code not a string");
	is_int(poll_answer(200, "{\"access_token\":\"a\"}", &tok),
	    HOOP_DEVFLOW_ERROR, "token: no id_token");
	ok(strstr(why, "no id_token") != NULL, "token: says so");
	is_int(poll_answer(200, "{\"id_token\":\"a b.c.d\"}", &tok),
	    HOOP_DEVFLOW_ERROR, "token: id_token with a space");
	is_int(poll_answer(200, "{\"id_token\":\"a+b.c.d\"}", &tok),
	    HOOP_DEVFLOW_ERROR, "token: id_token outside base64url");
	is_int(poll_answer(200, "{\"id_token\":[\"" JWT "\"]}", &tok),
	    HOOP_DEVFLOW_ERROR, "token: id_token not a string");
	is_int(poll_answer(200, "{\"id_token\":\"" JWT "\",\"id_token\":\"x\"}",
	    &tok), HOOP_DEVFLOW_ERROR, "token: duplicate id_token");
	big = with_long("{\"id_token\":\"%s\"}", 'a', 16 * 1024 + 1);
	is_int(poll_answer(200, big, &tok), HOOP_DEVFLOW_ERROR,
	    "token: id_token over 16 KiB");
	free(big);
	is_int(poll_answer(502, "Bad Gateway", &tok), HOOP_DEVFLOW_ERROR,
	    "token: 502 without JSON");
	ok(strstr(why, "HTTP status 502") != NULL, "token: says the status");
	is_int(poll_answer(500, "{\"x\":1}", &tok), HOOP_DEVFLOW_ERROR,
	    "token: 500 with JSON but no error");
	is_int(poll_answer(200, "", &tok), HOOP_DEVFLOW_ERROR,
	    "token: empty body");
	ok(tok == NULL, "token: nothing handed out on errors");
}

int
main(void)
{
	test_discovery();
	test_device();
	test_token();
	return done_testing();
}
