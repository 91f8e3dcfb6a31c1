/* hoop-kubewrap/masking.c: Secret values in every shape the API server
 * sends them (objects, lists, watch events, Tables, the annotation kubectl
 * apply leaves), patterns on ConfigMap data, env values and text, and
 * malformed, deep and hostile JSON. */
#include <stdlib.h>
#include <string.h>

#include "../../hoop-kubewrap/kubewrap.h"
#include "tap.h"

static const char conf[] =
    "issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"dev\" { issuer = \"gh\" claim \"sub\" { equals = {\"dev\"} } "
    "login = \"dev\" }\n"
    "target \"k8s\" { type = \"kubernetes\" "
    "server = \"https://k8s.example:6443\" }\n"
    "policy \"dev\" { identities = {\"dev\"} targets = {\"k8s\"}\n"
    "  rule \"all\" { action = \"allow\" verbs = {\"*\"} resources = {\"*\"} }\n"
    "  mask \"urls\" { pattern = 'postgres://[^ \"]*' }\n"
    "}\n";

static struct kubewrap kw;
static char *out;
static size_t outlen;

static int
mask(enum kubewrap_mask_mode mode, const char *in)
{
	free(out);
	out = NULL;
	return kubewrap_mask_json(&kw, mode, in, strlen(in), &out, &outlen);
}

static int
has(const char *s)
{
	return out != NULL && strstr(out, s) != NULL;
}

int
main(void)
{
	hoop_config_t *cfg = NULL;
	struct hoop_principal p = { 0 };
	struct hoop_mask_options opt = { 0 };
	char why[256], *big, *text;
	size_t i, tl;
	const char *secret = "{\"kind\":\"Secret\",\"apiVersion\":\"v1\","
	    "\"metadata\":{\"name\":\"db\"},\"data\":{\"password\":\"czNjcjN0\","
	    "\"user\":\"YXBw\"},\"stringData\":{\"x\":\"plain\"},\"type\":"
	    "\"Opaque\"}";

	pthread_mutex_init(&kw.mask_lock, NULL);
	if (hoop_config_load_buf(conf, strlen(conf), "t.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		return 1;

	/* Secrets, without patterns. */
	ok(mask(KUBEWRAP_MASK_SECRETS, secret) == 0 &&
	    has("\"password\":\"Kioq\"") && has("\"user\":\"Kioq\"") &&
	    has("\"x\":\"***\"") && !has("czNjcjN0") && !has("plain") &&
	    has("\"type\":\"Opaque\""), "a Secret: values replaced, keys kept");
	ok(mask(KUBEWRAP_MASK_NONE, secret) == 0 && !has("czNjcjN0") &&
	    !has("plain"), "a Secret found by its kind outside secrets");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"data\":{\"k\":\"v1\"},\"kind\":"
	    "\"Secret\"}") == -1, "kind Secret after its data: refused");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\":\"v1\"},\"kind\":"
	    "\"Secret\"}") == 0 && !has("v1"), "in a response about secrets, "
	    "the order does not matter");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"items\":[{\"data\":{\"k\":\"v1\"}}],"
	    "\"kind\":\"SecretList\"}") == -1, "SecretList after its items");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"kind\":\"Event\",\"involvedObject\":"
	    "{\"kind\":\"Secret\",\"name\":\"db\"},\"data\":\"x\"}") == 0,
	    "a reference to a Secret is no Secret");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"kind\":\"SecretList\",\"items\":[{"
	    "\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"dmFsdWU=\"}}]}") ==
	    0 && !has("dmFsdWU="), "items of a SecretList (no kind of their "
	    "own)");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"type\":\"ADDED\",\"object\":{"
	    "\"data\":{\"k\":\"dmFsdWU=\"}}}") == 0 && !has("dmFsdWU=") &&
	    has("\"type\":\"ADDED\""), "a watch event");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"kind\":\"Table\",\"rows\":[{"
	    "\"cells\":[\"db\",\"Opaque\",2],\"object\":{\"kind\":"
	    "\"PartialObjectMetadata\",\"metadata\":{\"annotations\":{"
	    "\"kubectl.kubernetes.io/last-applied-configuration\":"
	    "\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"data\\\":{\\\"k\\\":"
	    "\\\"dmFsdWU=\\\"},\\\"kind\\\":\\\"Secret\\\"}\\n\"}}}}]}") == 0 &&
	    !has("dmFsdWU=") && has("\"cells\":[\"db\",\"Opaque\",2]"),
	    "a Table row's object and its last-applied copy");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"a\":null,\"b\":1,"
	    "\"c\":{\"d\":\"x\"},\"e\":[\"y\"]}}") == 0 && !has("\"x\"") &&
	    !has("\"y\"") && !has(":1"), "odd values inside data go too");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"d\\u0061ta\":{\"k\":\"dmFsdWU=\"}}")
	    == 0 && !has("dmFsdWU="), "an escaped key is read as its text");
	ok(mask(KUBEWRAP_MASK_SECRETS, " { \"data\" : { } , \"x\" : [ ] } ")
	    == 0 && has("\"x\" : [ ]"), "whitespace and empty containers");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"kind\":\"PodList\",\"items\":[{"
	    "\"spec\":{\"containers\":[{\"env\":[{\"name\":\"DSN\",\"value\":"
	    "\"postgres://u:pw@db/x\"}]}]}}]}") == 0 &&
	    has("postgres://u:pw@db/x"), "no patterns: env passes");

	/* Malformed input is refused, never passed. */
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\":\"v\"}") == -1,
	    "truncated");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\":\"v\"}}x") == -1,
	    "trailing bytes");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\":\"v\\x\"}}") == -1,
	    "bad escape");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\":\"a\nb\"}}") == -1,
	    "control byte in a string");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\" \"v\"}}") == -1,
	    "missing colon");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"data\":{\"k\":\"v\",}}") == -1,
	    "trailing comma");
	ok(mask(KUBEWRAP_MASK_SECRETS, "{\"a\":tru}") == -1, "bad literal");
	ok(mask(KUBEWRAP_MASK_SECRETS, "") == -1, "empty");
	ok(mask(KUBEWRAP_MASK_SECRETS, "[1,]") == -1, "trailing comma, array");
	big = malloc(200001);
	memset(big, '[', 100000);
	memset(big + 100000, ']', 100000);
	big[200000] = '\0';
	ok(mask(KUBEWRAP_MASK_SECRETS, big) == -1, "nesting too deep");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"kind\":\"Secret\",\"x\":" "[[[[[[[[[[[["
	    "]]]]]]]]]]]]}") == 0, "a tree of modest depth");
	free(big);

	/* Patterns. */
	p.identity = hoop_config_identity(cfg, "dev");
	snprintf(p.login, sizeof(p.login), "dev");
	if (hoop_mask_set_create(cfg, &p, "k8s", &opt, &kw.mask, why,
	    sizeof(why)) != HOOP_OK)
		return 1;
	ok(mask(KUBEWRAP_MASK_NONE, "{\"kind\":\"PodList\",\"items\":[{"
	    "\"spec\":{\"containers\":[{\"env\":[{\"name\":\"DSN\",\"value\":"
	    "\"x postgres://u:pw@db/x y\"}]}]}}]}") == 0 &&
	    !has("u:pw") && has("\"x *** y\"") && has("\"name\":\"DSN\""),
	    "env values under patterns");
	ok(mask(KUBEWRAP_MASK_CONFIGMAPS, "{\"items\":[{\"data\":{\"URL\":"
	    "\"postgres://app:pw@db\",\"LEVEL\":\"info\"}}]}") == 0 &&
	    !has("app:pw") && has("\"LEVEL\":\"info\""),
	    "ConfigMap data in a list of configmaps");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"kind\":\"ConfigMap\",\"data\":{\"URL\":"
	    "\"postgres://a:b@c\"}}") == 0 && !has("a:b@c"),
	    "a ConfigMap found by its kind");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"data\":{\"URL\":\"postgres://a:b@c\"},"
	    "\"kind\":\"ConfigMap\"}") == -1, "its kind after its data: "
	    "refused");
	ok(mask(KUBEWRAP_MASK_NONE, "{\"spec\":{\"env\":[{\"value\":"
	    "\"postgres://\\u0061:b@c\"}]}}") == 0 && !has(":b@c"),
	    "escapes decoded before the search");
	ok(kubewrap_mask_text(&kw, "see postgres://x:y@z now", 24, &text, &tl)
	    == 0 && text != NULL && strcmp(text, "see *** now") == 0,
	    "a log line");
	free(text);
	ok(kubewrap_mask_text(&kw, "nothing here", 12, &text, &tl) == 0 &&
	    text == NULL, "a line without a match is left alone");

	/* Fed byte by byte, the stream gives what one piece gives. */
	{
		static const char *const docs[] = {
			"{\"kind\":\"Secret\",\"data\":{\"k\":\"dmFsdWU=\"},"
			    "\"n\":12345,\"t\":true,\"e\":\"\\u0041\\\"\"}",
			"{\"spec\":{\"env\":[{\"name\":\"A\",\"value\":"
			    "\"postgres://x:y@z\"}]},\"f\":-1.5e3,\"z\":null}",
		};
		struct kubewrap_jstream *js;
		const unsigned char *p;
		size_t n, d, k;
		char got[1024];
		int same = 1;

		for (d = 0; d < 2; d++) {
			size_t gl = 0;

			(void)mask(KUBEWRAP_MASK_NONE, docs[d]);
			if (kubewrap_jstream_create(&kw, KUBEWRAP_MASK_NONE, 0,
			    &js) != HOOP_OK)
				return 1;
			for (k = 0; k < strlen(docs[d]); k++) {
				if (kubewrap_jstream_feed(js, docs[d] + k, 1,
				    &p, &n) == -1)
					same = 0;
				else {
					memcpy(got + gl, p, n);
					gl += n;
				}
			}
			if (kubewrap_jstream_end(js, &p, &n) == -1)
				same = 0;
			else {
				memcpy(got + gl, p, n);
				gl += n;
			}
			got[gl] = '\0';
			if (out == NULL || strcmp(got, out) != 0)
				same = 0;
			kubewrap_jstream_free(js);
		}
		ok(same, "byte by byte, the same output");
		ok(mask(KUBEWRAP_MASK_NONE, "{\"n\":12") == -1 &&
		    mask(KUBEWRAP_MASK_NONE, "12") == 0, "a number at the end");
	}
	{
		struct kubewrap_jstream *js;
		const unsigned char *p;
		size_t n;

		kubewrap_jstream_create(&kw, KUBEWRAP_MASK_SECRETS, 1, &js);
		ok(kubewrap_jstream_feed(js, "{\"type\":\"ADDED\",\"object\":"
		    "{\"data\":{\"a\":\"eA==\"}}}\n{\"type\":", 56, &p, &n) ==
		    0 && n > 0 && memmem(p, n, "Kioq", 4) != NULL &&
		    memmem(p, n, "eA==", 4) == NULL, "watch: the first event "
		    "goes out whole");
		ok(kubewrap_jstream_feed(js, "\"DELETED\",\"object\":{\"data\":"
		    "{\"a\":\"eQ==\"}}}\n", 42, &p, &n) == 0 &&
		    memmem(p, n, "eQ==", 4) == NULL && kubewrap_jstream_end(js,
		    &p, &n) == 0, "and the next");
		kubewrap_jstream_free(js);
		/* Nothing to pass on yet: an empty stretch, not NULL (the
		 * caller copies from it). */
		kubewrap_jstream_create(&kw, KUBEWRAP_MASK_SECRETS, 0, &js);
		p = NULL;
		ok(kubewrap_jstream_feed(js, "\"abc", 4, &p, &n) == 0 &&
		    p != NULL && n == 0, "nothing out yet: not NULL");
		kubewrap_jstream_free(js);
	}

	/* Many values: the same under the tree and the stream. */
	big = malloc(64 * 1024);
	i = (size_t)snprintf(big, 64 * 1024, "{\"kind\":\"List\",\"items\":[");
	for (int n = 0; n < 500; n++)
		i += (size_t)snprintf(big + i, 64 * 1024 - i,
		    "%s{\"env\":[{\"value\":\"postgres://n%d\"}]}", n ? "," : "",
		    n);
	snprintf(big + i, 64 * 1024 - i, "]}");
	ok(mask(KUBEWRAP_MASK_NONE, big) == 0 && !has("postgres://n"),
	    "500 env values");
	free(big);

	free(out);
	hoop_mask_set_free(kw.mask);
	hoop_config_free(cfg);
	return done_testing();
}
