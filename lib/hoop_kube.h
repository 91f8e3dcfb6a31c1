/*
 * Kubernetes API requests for hoop-kubewrap: the attributes kube-apiserver
 * derives from a request (its RequestInfoFactory: verb, API group,
 * version, namespace, resource, subresource, name), the policy decision
 * over them, and the Status objects refusals are answered with.
 *
 * Attributes. The request-target is read as kube-apiserver reads it:
 *   /api/VERSION/...              core group ""
 *   /apis/GROUP/VERSION/...       any other group (CRDs included)
 *   .../namespaces/NS/RESOURCE... namespaced; otherwise cluster scope
 *   .../RESOURCE[/NAME[/SUBRESOURCE]]
 *   /api/v1/namespaces/NS[/status|/finalize]
 *                                 the namespaces resource itself: name NS,
 *                                 and namespace NS too (as the apiserver
 *                                 sets it)
 *   /api/v1/watch/...             legacy watch: verb watch (GET, HEAD)
 * Verbs from the method: GET and HEAD get, or list without a name, or
 * watch without a name when the first watch parameter is anything but
 * "false" or "0" (any case; "watch=" is a watch); POST create, PUT update,
 * PATCH patch, DELETE delete, or deletecollection without a name. exec,
 * attach and portforward are create on their subresource whether they
 * arrive as GET (WebSocket) or POST (SPDY). A list or watch whose
 * fieldSelector requires metadata.name (= or ==, the apiserver's parse:
 * escapes honoured, the first such term in sorted order) gets that name,
 * as the apiserver does; the canonical path never carries it.
 * Everything else with fewer parts (/api, /api/v1, /apis, /apis/GROUP,
 * /apis/GROUP/VERSION, /version, /openapi/..., /healthz, anything not
 * under /api or /apis) is a non-resource request with its path.
 *
 * Normalisation. The path is percent-decoded where the apiserver decodes
 * it (everywhere), and then must be unambiguous, or it is refused
 * (HOOP_ERR_INVAL, why says what was found): no encoded slash, dot or
 * percent (%2F, %2E, %25), no dot segments (. or ..), no empty segments
 * (//, a trailing slash), no control or non-ASCII bytes, raw or decoded,
 * no byte outside the URI path characters, no bad escapes, and every
 * part of the shape its place needs: group [a-z0-9.-], version and
 * resource and subresource [a-z0-9-], namespace a DNS label, name and
 * other segments [A-Za-z0-9] and "-._~:@+=,". The query may not hold ';'
 * (Go drops such pairs), bad escapes, bytes outside the URI query
 * characters, decoded control or non-ASCII bytes in a parameter's name
 * or in the parameters read here, or duplicates of watch, follow,
 * fieldSelector or labelSelector that disagree. Also
 * refused: methods other than GET HEAD POST PUT PATCH DELETE, the legacy
 * /proxy/ prefix, a watch prefix with a method other than GET or HEAD or
 * with a subresource, parts after a subresource other than proxy,
 * namespaces inside a namespace, exec/attach/portforward by any method
 * but GET and POST, and an upgrade to anything but exec, attach,
 * portforward and proxy. HOOP_ERR_TOOBIG: over the limits below.
 *
 * Decisions (hoop_kube_decide, over hoop_policy_decide: deny > approve >
 * allow, nothing allowed is a deny). A kube rule matches a resource
 * request when all of these hold:
 *   verbs       the request's verb is one of them
 *   api_groups  empty, "*", or the group ("" is core)
 *   resources   "*" (every resource and every subresource), "pods" (pods
 *               itself, never a subresource of it), "pods/exec" (that
 *               subresource), "pods/" then "*" (every subresource of
 *               pods, not pods), "*" then "/scale" (the scale
 *               subresource of any resource)
 *   namespaces  empty: any request, cluster scope included. Otherwise an
 *               allow matches only a request in a listed namespace ("*":
 *               any namespace), never one at cluster scope; a deny or
 *               approve rule also matches a list, watch or
 *               deletecollection at cluster scope, which reaches into
 *               every namespace (so "kubectl get secrets -A" cannot slip
 *               past a rule on namespace prod)
 *   names       empty: any request. Otherwise an allow matches only a
 *               request naming one of them ("*": any named request); a
 *               deny or approve rule also matches any request that names
 *               nothing: list, watch and deletecollection reach the
 *               named objects, and a create carries its name in the
 *               body, which is not read here
 * Non-resource requests: GET or HEAD of discovery and version (/api,
 * /api/VERSION, /apis, /apis/GROUP, /apis/GROUP/VERSION, /version,
 * /openapi/v2, /openapi/v3 and below, /healthz, /livez, /readyz) is
 * allowed, kubectl needs it, provided a policy opens the target to the
 * principal, unless a deny rule matches it: a deny rule whose verbs
 * include get, whose resources include "*", and which lists no namespaces,
 * no names and no api_groups other than "*" (a rule denying everything
 * denies discovery too). Approve rules never apply to them. Every other
 * non-resource request (/metrics, /logs, POST /version, ...) is denied.
 */
#ifndef HOOP_KUBE_H
#define HOOP_KUBE_H

#include <stddef.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_policy.h"

/* Hard limits: the whole request-target, its path, segments. */
#define HOOP_KUBE_MAX_TARGET	(32 * 1024)
#define HOOP_KUBE_MAX_PATH	4096
#define HOOP_KUBE_MAX_SEGMENTS	64
#define HOOP_KUBE_MAX_PARAMS	1024
#define HOOP_KUBE_MAX_NAME	253	/* names, groups */
#define HOOP_KUBE_MAX_LABEL	63	/* namespaces, versions, resources */

/* What the query asked for (bits of hoop_kube_attrs.params). */
enum hoop_kube_param {
	HOOP_KUBE_P_FIELD_SELECTOR = 1 << 0,	/* fieldSelector given */
	HOOP_KUBE_P_LABEL_SELECTOR = 1 << 1,	/* labelSelector given */
	HOOP_KUBE_P_DRY_RUN = 1 << 2,		/* dryRun=All */
	HOOP_KUBE_P_FOLLOW = 1 << 3,		/* follow true (logs -f) */
	HOOP_KUBE_P_WATCH = 1 << 4,		/* watch true */
	/* The name came from fieldSelector (a list or watch of one). */
	HOOP_KUBE_P_NAME_FROM_SELECTOR = 1 << 5,
};

struct hoop_kube_attrs {
	int resource_request;	/* 0: non-resource (path only) */
	/* Non-resource only: discovery, version, OpenAPI or health,
	 * asked with GET or HEAD. */
	int discovery;
	unsigned verb;		/* one HOOP_KUBE_* bit; 0 for non-resource */
	char method[8];		/* as sent: "GET", ... */
	int legacy_watch;	/* /api/v1/watch/...: verb watch from the path */
	int upgrade;		/* a WebSocket or SPDY upgrade */
	char api_prefix[8];	/* "api" or "apis" */
	char group[HOOP_KUBE_MAX_NAME + 1];	/* "" for core */
	char version[HOOP_KUBE_MAX_LABEL + 1];
	char namespace[HOOP_KUBE_MAX_LABEL + 1];	/* "": cluster scope */
	char resource[HOOP_KUBE_MAX_LABEL + 1];
	char subresource[HOOP_KUBE_MAX_LABEL + 1];
	char name[HOOP_KUBE_MAX_NAME + 1];
	unsigned params;	/* enum hoop_kube_param bits */
	/* The decoded path, canonical: what hoop_kube_canonical_path gives
	 * and what the proxy should forward (the query unchanged). */
	char path[HOOP_KUBE_MAX_PATH + 1];
	/* Where the proxied path after .../proxy starts in path (its '/'),
	 * 0 if none. */
	size_t proxy_rest;
};

/*
 * Derives the attributes of one request: method as sent (NUL-terminated,
 * case-sensitive), target the request-target as sent (path and query,
 * len bytes, no NUL), upgrade whether the request asks for a protocol
 * upgrade (Connection: Upgrade). HOOP_OK and *a filled; HOOP_ERR_INVAL or
 * HOOP_ERR_TOOBIG with why, and *a cleared (the proxy answers 400).
 */
hoop_err_t hoop_kube_attributes(const char *method, const char *target,
    size_t len, int upgrade, struct hoop_kube_attrs *a, char *why,
    size_t whylen);

/*
 * The canonical path of a (from its parts, not from its path field): the
 * path that parses, with the same method, query and upgrade, to the same
 * attributes. HOOP_ERR_TOOBIG if buf is too small, HOOP_ERR_INVAL for
 * attributes no request gives.
 */
hoop_err_t hoop_kube_canonical_path(const struct hoop_kube_attrs *a,
    char *buf, size_t len);

/* "get", "list", ... for one verb bit; NULL for anything else. */
const char *hoop_kube_verb_name(unsigned verb);

/*
 * Decides one request for principal p on target (a target name; NULL is
 * refused) under the kube rules of every policy that applies; see the
 * top of this file. Unparsed or inconsistent attributes are a deny.
 */
void hoop_kube_decide(const hoop_config_t *cfg,
    const struct hoop_principal *p, const char *target,
    const struct hoop_kube_attrs *a, struct hoop_decision *d);

/*
 * The message of a refusal (deny) or of a request held for approval:
 *   hoop: RULE: VERB RESOURCE[ NAME][ in namespace NS] is denied: REASON
 * RESOURCE is "pods", "pods/exec", "deployments.apps" (resource.group
 * for other groups, as kubectl writes it); a non-resource request shows
 * its method and path; "needs approval" for an approve decision, and no
 * "RULE: " when no rule matched.
 */
void hoop_kube_message(const struct hoop_kube_attrs *a,
    const struct hoop_decision *d, char *buf, size_t len);

/*
 * A metav1 Status object kubectl prints as "Error from server (REASON):
 * MESSAGE": {"kind":"Status","apiVersion":"v1","metadata":{},
 * "status":"Failure","message":...,"reason":...,"code":code}. reason NULL
 * takes the one the apiserver uses for code (403 Forbidden, 400
 * BadRequest, 404 NotFound, 406 NotAcceptable, 413
 * RequestEntityTooLarge, 429 TooManyRequests, 500 InternalError, 503
 * ServiceUnavailable, 504 Timeout, ...). Bytes of message that are not
 * printable ASCII become '?'. *out is NUL-terminated, free with free().
 */
hoop_err_t hoop_kube_status_json(int code, const char *reason,
    const char *message, char **out, size_t *outlen);

/* What hoop_kube_accept_json found (bits of *flags). */
enum hoop_kube_accept {
	/* Media types other than JSON were asked for and left out. */
	HOOP_KUBE_ACCEPT_DROPPED = 1 << 0,
	/* One of them was protobuf (application/vnd.kubernetes.protobuf). */
	HOOP_KUBE_ACCEPT_PROTOBUF = 1 << 1,
	/* Nothing JSON was acceptable (no application/json, no wildcard):
	 * the client insists on another type; the proxy refuses (406) or
	 * answers JSON anyway. */
	HOOP_KUBE_ACCEPT_INSISTED = 1 << 2,
};

#define HOOP_KUBE_MAX_ACCEPT	4096

/*
 * Rewrites an Accept header (NULL or "" for none) to JSON only, so that
 * every response is one the proxy can read and mask: application/json
 * ranges are kept with their parameters (as=Table;v=v1;g=meta.k8s.io),
 * the wildcards (any type, any application type) become
 * application/json, everything else
 * (protobuf, CBOR, YAML, ...) is dropped, and so is a range with q=0.
 * out always receives a usable header (at least "application/json").
 * HOOP_ERR_INVAL for a malformed header (control bytes, bad media
 * ranges), HOOP_ERR_TOOBIG over HOOP_KUBE_MAX_ACCEPT or for out.
 * For responses the proxy reads (resource requests); discovery and
 * OpenAPI need no masking and keep their Accept (kubectl asks for
 * /openapi/v2 in protobuf only), and logs and exec are not negotiated.
 */
hoop_err_t hoop_kube_accept_json(const char *accept, char *out,
    size_t outlen, unsigned *flags);

#endif
