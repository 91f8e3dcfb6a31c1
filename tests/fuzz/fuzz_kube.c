/* Kubernetes request attributes on arbitrary input. Byte 0 picks the
 * method (low 3 bits) and the upgrade flag (bit 3); the rest is the
 * request-target. What parses is canonical: its path holds nothing that
 * could disguise it, and the canonical path, with the same method, query
 * and upgrade, parses to the same attributes. The decision, message,
 * Status object and Accept rewriting run on it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] =
    "issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"dev\" { issuer = \"gh\" claim \"sub\" { equals = {\"dev\"} } "
    "login = \"dev\" }\n"
    "target \"k8s\" { type = \"kubernetes\" "
    "server = \"https://k8s.example:6443\" }\n"
    "policy \"dev\" { identities = {\"dev\"} targets = {\"k8s\"}\n"
    "  rule \"read\" { action = \"allow\" verbs = {\"get\", \"list\", "
    "\"watch\"} resources = {\"pods\", \"pods/log\"} namespaces = "
    "{\"shop\"} }\n"
    "  rule \"secrets\" { action = \"deny\" verbs = {\"*\"} resources = "
    "{\"secrets\"} }\n"
    "  rule \"exec\" { action = \"approve\" approvers = {\"leads\"} "
    "verbs = {\"create\"} resources = {\"pods/exec\"} }\n"
    "  rule \"web\" { action = \"allow\" verbs = {\"*\"} api_groups = "
    "{\"apps\"} resources = {\"*\"} names = {\"web\"} }\n"
    "}\n";

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get",
};

static int
same(const struct hoop_kube_attrs *x, const struct hoop_kube_attrs *y)
{
	return x->resource_request == y->resource_request &&
	    x->discovery == y->discovery && x->verb == y->verb &&
	    strcmp(x->method, y->method) == 0 &&
	    x->legacy_watch == y->legacy_watch && x->upgrade == y->upgrade &&
	    strcmp(x->api_prefix, y->api_prefix) == 0 &&
	    strcmp(x->group, y->group) == 0 &&
	    strcmp(x->version, y->version) == 0 &&
	    strcmp(x->namespace, y->namespace) == 0 &&
	    strcmp(x->resource, y->resource) == 0 &&
	    strcmp(x->subresource, y->subresource) == 0 &&
	    strcmp(x->name, y->name) == 0 && x->params == y->params &&
	    strcmp(x->path, y->path) == 0 && x->proxy_rest == y->proxy_rest;
}

/* Nothing in a parsed path may mean more than its bytes show. */
static void
check_canonical(const struct hoop_kube_attrs *a)
{
	const char *p = a->path;
	unsigned v = a->verb;

	if (p[0] != '/' || strstr(p, "//") != NULL ||
	    strstr(p, "/./") != NULL || strstr(p, "/../") != NULL ||
	    strchr(p, '%') != NULL || strchr(p, '?') != NULL ||
	    strchr(p, '\\') != NULL)
		abort();
	if (strlen(p) > 1 && (p[strlen(p) - 1] == '/' ||
	    strcmp(p + strlen(p) - 2, "/.") == 0 ||
	    (strlen(p) > 2 && strcmp(p + strlen(p) - 3, "/..") == 0)))
		abort();
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	if (!a->resource_request) {
		if (v != 0 || a->resource[0] != '\0' || a->name[0] != '\0')
			abort();
		return;
	}
	/* Exactly one verb, a resource, and names without slashes. */
	if (v == 0 || (v & (v - 1)) != 0 || v > HOOP_KUBE_ALL_VERBS ||
	    a->resource[0] == '\0' || a->version[0] == '\0' ||
	    strchr(a->name, '/') != NULL || strchr(a->namespace, '/') != NULL ||
	    strcmp(a->name, ".") == 0 || strcmp(a->name, "..") == 0)
		abort();
	if ((strcmp(a->subresource, "exec") == 0 ||
	    strcmp(a->subresource, "attach") == 0 ||
	    strcmp(a->subresource, "portforward") == 0) &&
	    v != HOOP_KUBE_CREATE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static hoop_config_t *cfg;
	struct hoop_kube_attrs a, again;
	struct hoop_principal p;
	struct hoop_decision d;
	char why[256], path[HOOP_KUBE_MAX_PATH + 1], msg[512];
	char accept[HOOP_KUBE_MAX_ACCEPT + 1], *redo = NULL, *text = NULL;
	const char *target, *query, *method;
	size_t len, qlen, plen;
	unsigned flags;
	int upgrade;

	if (cfg == NULL && hoop_config_load_buf(conf, sizeof(conf) - 1,
	    "fuzz.conf", HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		abort();
	if (size < 1)
		return 0;
	method = methods[data[0] & 7];
	upgrade = (data[0] >> 3) & 1;
	target = (const char *)data + 1;
	len = size - 1;

	if (hoop_kube_attributes(method, target, len, upgrade, &a, why,
	    sizeof(why)) != HOOP_OK) {
		if (a.path[0] != '\0' || a.verb != 0 || a.resource_request)
			abort();
		return 0;
	}
	check_canonical(&a);

	if (hoop_kube_canonical_path(&a, path, sizeof(path)) != HOOP_OK ||
	    strcmp(path, a.path) != 0)
		abort();
	query = memchr(target, '?', len);
	qlen = query != NULL ? len - (size_t)(query - target) : 0;
	plen = strlen(path);
	if (plen + qlen > len)
		abort();	/* decoding never lengthens */
	if ((redo = malloc(plen + qlen + 1)) == NULL)
		abort();
	memcpy(redo, path, plen);
	if (qlen > 0)
		memcpy(redo + plen, query, qlen);
	redo[plen + qlen] = '\0';
	if (hoop_kube_attributes(method, redo, plen + qlen, upgrade, &again,
	    why, sizeof(why)) != HOOP_OK || !same(&a, &again))
		abort();
	free(redo);

	memset(&p, 0, sizeof(p));
	memcpy(p.login, "dev", 4);
	p.identity = hoop_config_identity(cfg, "dev");
	hoop_kube_decide(cfg, &p, "k8s", &a, &d);
	if (d.action != HOOP_ACTION_ALLOW && d.action != HOOP_ACTION_DENY &&
	    d.action != HOOP_ACTION_APPROVE)
		abort();
	if (!a.resource_request && !a.discovery &&
	    d.action != HOOP_ACTION_DENY)
		abort();
	hoop_kube_message(&a, &d, msg, sizeof(msg));
	if (hoop_kube_status_json(403, NULL, msg, &text, NULL) != HOOP_OK)
		abort();
	free(text);

	/* The target's bytes as an Accept header, too. */
	if ((redo = malloc(len + 1)) == NULL)
		abort();
	memcpy(redo, target, len);
	redo[len] = '\0';
	if (hoop_kube_accept_json(redo, accept, sizeof(accept), &flags) ==
	    HOOP_OK && (accept[0] == '\0' || strlen(accept) > len + 16))
		abort();
	free(redo);
	return 0;
}
