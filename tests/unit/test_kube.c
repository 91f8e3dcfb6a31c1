/* Kubernetes request attributes as kube-apiserver derives them (every
 * verb, subresources, legacy watch, cluster scope and namespaces, CRDs,
 * discovery, field selector names), hostile and malformed targets,
 * canonical paths, decisions under a small policy, refusal messages,
 * Status objects and Accept rewriting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hoop_kube.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define ALLOW	HOOP_ACTION_ALLOW
#define DENY	HOOP_ACTION_DENY
#define APPROVE	HOOP_ACTION_APPROVE

struct req_case {
	const char *method;
	const char *target;
	int upgrade;
	/*
	 * What the attributes must read as (describe() below):
	 *   "VERB GROUP/VERSION NAMESPACE RESOURCE[/SUB] NAME [flags]",
	 *   "-" for no namespace or name;
	 *   "nonresource PATH [discovery] [flags]";
	 *   "!text": refused (HOOP_ERR_INVAL) with text in why;
	 *   "!!text": refused as too big (HOOP_ERR_TOOBIG).
	 */
	const char *want;
};

static const struct req_case cases[] = {
	/* Core group, namespaced: every verb. */
	{ "GET", "/api/v1/namespaces/shop/pods", 0, "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1", 0,
	    "get /v1 shop pods web-1" },
	{ "HEAD", "/api/v1/namespaces/shop/pods/web-1", 0,
	    "get /v1 shop pods web-1" },
	{ "HEAD", "/api/v1/namespaces/shop/pods", 0, "list /v1 shop pods -" },
	{ "POST", "/api/v1/namespaces/shop/pods", 0,
	    "create /v1 shop pods -" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1", 0,
	    "create /v1 shop pods web-1" },
	{ "PUT", "/api/v1/namespaces/shop/pods/web-1", 0,
	    "update /v1 shop pods web-1" },
	{ "PUT", "/api/v1/namespaces/shop/pods", 0, "update /v1 shop pods -" },
	{ "PATCH", "/api/v1/namespaces/shop/pods/web-1", 0,
	    "patch /v1 shop pods web-1" },
	{ "PATCH", "/api/v1/namespaces/shop/pods", 0,
	    "patch /v1 shop pods -" },
	{ "DELETE", "/api/v1/namespaces/shop/pods/web-1", 0,
	    "delete /v1 shop pods web-1" },
	{ "DELETE", "/api/v1/namespaces/shop/pods", 0,
	    "deletecollection /v1 shop pods -" },
	{ "DELETE", "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb", 0,
	    "deletecollection /v1 shop pods - ls" },

	/* Watch by parameter: the first value, anything but false or 0. */
	{ "GET", "/api/v1/namespaces/shop/pods?watch=true", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=1", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=false", 0,
	    "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=0", 0,
	    "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=FaLsE", 0,
	    "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=yes", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=00", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?w%61tch=true", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?Watch=true", 0,
	    "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=true&watch=1", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=false&watch=0", 0,
	    "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=true&watch=false", 0,
	    "!watch parameters that disagree" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=0&x=1&watch", 0,
	    "!watch parameters that disagree" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1?watch=true", 0,
	    "get /v1 shop pods web-1 watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?resourceVersion=5&"
	    "allowWatchBookmarks=true&watch=true&timeoutSeconds=300", 0,
	    "watch /v1 shop pods - watch" },

	/* Legacy watch prefix. */
	{ "GET", "/api/v1/watch/namespaces/shop/pods", 0,
	    "watch /v1 shop pods - legacy" },
	{ "GET", "/api/v1/watch/namespaces/shop/pods/web-1", 0,
	    "watch /v1 shop pods web-1 legacy" },
	{ "HEAD", "/api/v1/watch/pods", 0, "watch /v1 - pods - legacy" },
	{ "GET", "/api/v1/watch/namespaces", 0,
	    "watch /v1 - namespaces - legacy" },
	{ "GET", "/api/v1/watch/namespaces/shop", 0,
	    "watch /v1 shop namespaces shop legacy" },
	{ "GET", "/apis/apps/v1/watch/namespaces/shop/deployments", 0,
	    "watch apps/v1 shop deployments - legacy" },
	{ "GET", "/api/v1/watch/namespaces/shop/pods?watch=false", 0,
	    "watch /v1 shop pods - legacy" },
	{ "POST", "/api/v1/watch/pods", 0, "!watch path prefix with method" },
	{ "DELETE", "/api/v1/watch/namespaces/shop/pods", 0,
	    "!watch path prefix with method" },
	{ "GET", "/api/v1/watch", 0, "!watch path prefix without" },
	{ "GET", "/api/v1/watch/namespaces/shop/pods/web-1/status", 0,
	    "!watch path prefix with a subresource" },

	/* Subresources. */
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/log", 0,
	    "get /v1 shop pods/log web-1" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/log?follow=true&"
	    "container=app", 0, "get /v1 shop pods/log web-1 follow" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/log?follow=false", 0,
	    "get /v1 shop pods/log web-1" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/log?follow=true&"
	    "follow=false", 0, "!follow parameters that disagree" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/exec?command=sh&"
	    "stdin=true&stdout=true&tty=true", 1,
	    "create /v1 shop pods/exec web-1 upgrade" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/exec?command=ls", 1,
	    "create /v1 shop pods/exec web-1 upgrade" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/exec?command=ls", 0,
	    "create /v1 shop pods/exec web-1" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/exec?command=sh&"
	    "command=-c&command=echo%0Ahi", 1,
	    "create /v1 shop pods/exec web-1 upgrade" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/attach?stdin=true", 1,
	    "create /v1 shop pods/attach web-1 upgrade" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/attach", 1,
	    "create /v1 shop pods/attach web-1 upgrade" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/portforward?ports=8080",
	    1, "create /v1 shop pods/portforward web-1 upgrade" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/portforward", 1,
	    "create /v1 shop pods/portforward web-1 upgrade" },
	{ "PUT", "/api/v1/namespaces/shop/pods/web-1/exec", 0,
	    "!exec with method PUT" },
	{ "HEAD", "/api/v1/namespaces/shop/pods/web-1/exec", 1,
	    "!exec with method HEAD" },
	{ "DELETE", "/api/v1/namespaces/shop/pods/web-1/portforward", 0,
	    "!portforward with method DELETE" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/status", 0,
	    "get /v1 shop pods/status web-1" },
	{ "PUT", "/api/v1/namespaces/shop/pods/web-1/status", 0,
	    "update /v1 shop pods/status web-1" },
	{ "PATCH", "/api/v1/namespaces/shop/pods/web-1/status", 0,
	    "patch /v1 shop pods/status web-1" },
	{ "GET", "/apis/apps/v1/namespaces/shop/deployments/web/scale", 0,
	    "get apps/v1 shop deployments/scale web" },
	{ "PUT", "/apis/apps/v1/namespaces/shop/deployments/web/scale", 0,
	    "update apps/v1 shop deployments/scale web" },
	{ "PATCH", "/apis/apps/v1/namespaces/shop/statefulsets/db/scale", 0,
	    "patch apps/v1 shop statefulsets/scale db" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/eviction", 0,
	    "create /v1 shop pods/eviction web-1" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/binding", 0,
	    "create /v1 shop pods/binding web-1" },
	{ "PATCH", "/api/v1/namespaces/shop/pods/web-1/ephemeralcontainers", 0,
	    "patch /v1 shop pods/ephemeralcontainers web-1" },
	{ "POST", "/api/v1/namespaces/shop/serviceaccounts/builder/token", 0,
	    "create /v1 shop serviceaccounts/token builder" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/proxy", 0,
	    "get /v1 shop pods/proxy web-1" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1:8080/proxy/metrics/x", 0,
	    "get /v1 shop pods/proxy web-1:8080 rest=/metrics/x" },
	{ "POST", "/api/v1/namespaces/shop/services/https:web:443/proxy/api",
	    0, "create /v1 shop services/proxy https:web:443 rest=/api" },
	{ "DELETE", "/api/v1/namespaces/shop/pods/web-1/proxy/x", 0,
	    "delete /v1 shop pods/proxy web-1 rest=/x" },
	{ "GET", "/api/v1/nodes/node-1/proxy/stats/summary", 0,
	    "get /v1 - nodes/proxy node-1 rest=/stats/summary" },
	{ "GET", "/api/v1/namespaces/shop/services/web/proxy/ws", 1,
	    "get /v1 shop services/proxy web upgrade rest=/ws" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1", 1,
	    "!protocol upgrade on a request other" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=true", 1,
	    "!protocol upgrade on a request other" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/log/extra", 0,
	    "!path segments after the log subresource" },
	{ "POST", "/api/v1/namespaces/shop/pods/web-1/exec/x", 1,
	    "!path segments after the exec subresource" },

	/* The namespaces resource. */
	{ "GET", "/api/v1/namespaces", 0, "list /v1 - namespaces -" },
	{ "POST", "/api/v1/namespaces", 0, "create /v1 - namespaces -" },
	{ "DELETE", "/api/v1/namespaces", 0,
	    "deletecollection /v1 - namespaces -" },
	{ "GET", "/api/v1/namespaces/shop", 0,
	    "get /v1 shop namespaces shop" },
	{ "DELETE", "/api/v1/namespaces/shop", 0,
	    "delete /v1 shop namespaces shop" },
	{ "PUT", "/api/v1/namespaces/shop/finalize", 0,
	    "update /v1 shop namespaces/finalize shop" },
	{ "GET", "/api/v1/namespaces/shop/status", 0,
	    "get /v1 shop namespaces/status shop" },
	{ "PATCH", "/api/v1/namespaces/shop/status", 0,
	    "patch /v1 shop namespaces/status shop" },
	{ "GET", "/api/v1/namespaces/shop/namespaces", 0,
	    "!namespaces inside a namespace" },
	{ "GET", "/api/v1/namespaces/shop/namespaces/prod", 0,
	    "!namespaces inside a namespace" },
	{ "GET", "/api/v1/namespaces/shop/status/x", 0,
	    "!path segments after the status subresource" },
	/* A resource called watch or proxy inside a namespace is just that. */
	{ "GET", "/api/v1/namespaces/shop/watch", 0,
	    "list /v1 shop watch -" },

	/* Cluster scope. */
	{ "GET", "/api/v1/nodes", 0, "list /v1 - nodes -" },
	{ "GET", "/api/v1/nodes/node-1", 0, "get /v1 - nodes node-1" },
	{ "DELETE", "/api/v1/nodes/node-1", 0, "delete /v1 - nodes node-1" },
	{ "PATCH", "/api/v1/nodes/node-1/status", 0,
	    "patch /v1 - nodes/status node-1" },
	{ "GET", "/api/v1/pods", 0, "list /v1 - pods -" },
	{ "GET", "/api/v1/secrets?watch=1", 0, "watch /v1 - secrets - watch" },
	{ "GET", "/api/v1/persistentvolumes/pv-1", 0,
	    "get /v1 - persistentvolumes pv-1" },
	{ "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/"
	    "system:controller:job-controller", 0,
	    "get rbac.authorization.k8s.io/v1 - clusterroles "
	    "system:controller:job-controller" },
	{ "GET", "/apis/storage.k8s.io/v1/storageclasses", 0,
	    "list storage.k8s.io/v1 - storageclasses -" },

	/* Other groups and CRDs. */
	{ "GET", "/apis/apps/v1/namespaces/shop/deployments", 0,
	    "list apps/v1 shop deployments -" },
	{ "GET", "/apis/apps/v1/deployments?labelSelector=app%3Dweb&limit=500",
	    0, "list apps/v1 - deployments - ls" },
	{ "PATCH", "/apis/apps/v1/namespaces/shop/deployments/web?"
	    "fieldManager=kubectl-client-side-apply", 0,
	    "patch apps/v1 shop deployments web" },
	{ "POST", "/apis/batch/v1/namespaces/shop/jobs?dryRun=All", 0,
	    "create batch/v1 shop jobs - dry" },
	{ "DELETE", "/apis/batch/v1/namespaces/shop/jobs/j1?dryRun=All&"
	    "propagationPolicy=Background", 0,
	    "delete batch/v1 shop jobs j1 dry" },
	{ "POST", "/apis/batch/v1/namespaces/shop/jobs?dryRun=all", 0,
	    "create batch/v1 shop jobs -" },
	{ "GET", "/apis/stable.example.com/v1/namespaces/shop/crontabs", 0,
	    "list stable.example.com/v1 shop crontabs -" },
	{ "GET", "/apis/stable.example.com/v1/namespaces/shop/crontabs/nightly",
	    0, "get stable.example.com/v1 shop crontabs nightly" },
	{ "PUT", "/apis/stable.example.com/v1/namespaces/shop/crontabs/nightly/"
	    "status", 0, "update stable.example.com/v1 shop crontabs/status "
	    "nightly" },
	{ "GET", "/apis/example.com/v1alpha1/widgets", 0,
	    "list example.com/v1alpha1 - widgets -" },
	{ "DELETE", "/apis/cert-manager.io/v1/namespaces/shop/certificates", 0,
	    "deletecollection cert-manager.io/v1 shop certificates -" },
	{ "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
	    "crontabs.stable.example.com", 0,
	    "get apiextensions.k8s.io/v1 - customresourcedefinitions "
	    "crontabs.stable.example.com" },
	{ "GET", "/apis/example.com/v1/namespaces/shop/foo-bars", 0,
	    "list example.com/v1 shop foo-bars -" },
	{ "GET", "/apis/example.com/v1/namespaces/shop/foo-bars/a/b-c", 0,
	    "get example.com/v1 shop foo-bars/b-c a" },

	/* Field selectors that name one object (lists and watches only). */
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dweb-1", 0, "list /v1 shop pods web-1 fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3D%3Dweb-1", 0,
	    "list /v1 shop pods web-1 fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name=web-1", 0, "list /v1 shop pods web-1 fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name!%3Dweb-1", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "spec.nodeName%3Dn1,metadata.name%3Dweb-1", 0,
	    "list /v1 shop pods web-1 fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Db,metadata.name%3Da", 0,
	    "list /v1 shop pods a fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3D%3Db,metadata.name%3Da", 0,
	    "list /v1 shop pods b fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dweb-1,bogus", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dweb-1,a%3Db%3Dc", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Da%5C%3Db", 0, "list /v1 shop pods a=b fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Da%5C,b", 0, "list /v1 shop pods a,b fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Da%5C", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Da%5Cb", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3D..", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Da%2Fb", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3D", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "+metadata.name%3Dx", 0, "list /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Da+b", 0, "!names an object hoop cannot check" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dx&watch=true", 0,
	    "watch /v1 shop pods x fs watch selname" },
	{ "GET", "/api/v1/watch/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dx", 0, "watch /v1 shop pods - legacy fs" },
	{ "DELETE", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dx", 0, "deletecollection /v1 shop pods - fs" },
	{ "GET", "/api/v1/namespaces?fieldSelector=metadata.name%3Dprod", 0,
	    "list /v1 - namespaces prod fs selname" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector=a%3Db&"
	    "fieldSelector=a%3Dc", 0, "!fieldSelector parameters that disagree" },
	{ "GET", "/api/v1/namespaces/shop/pods?labelSelector=a&"
	    "labelSelector=b", 0, "!labelSelector parameters that disagree" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector=a%3Db&"
	    "fieldSelector=a%3Db", 0, "list /v1 shop pods - fs" },

	/* Non-resource requests. */
	{ "GET", "/api", 0, "nonresource /api discovery" },
	{ "GET", "/api?timeout=32s", 0, "nonresource /api discovery" },
	{ "GET", "/api/v1", 0, "nonresource /api/v1 discovery" },
	{ "GET", "/apis", 0, "nonresource /apis discovery" },
	{ "GET", "/apis/apps", 0, "nonresource /apis/apps discovery" },
	{ "GET", "/apis/apps/v1", 0, "nonresource /apis/apps/v1 discovery" },
	{ "GET", "/apis/stable.example.com/v1", 0,
	    "nonresource /apis/stable.example.com/v1 discovery" },
	{ "GET", "/version", 0, "nonresource /version discovery" },
	{ "GET", "/openapi/v2", 0, "nonresource /openapi/v2 discovery" },
	{ "GET", "/openapi/v3", 0, "nonresource /openapi/v3 discovery" },
	{ "GET", "/openapi/v3/apis/apps/v1?hash=0123ABCD", 0,
	    "nonresource /openapi/v3/apis/apps/v1 discovery" },
	{ "GET", "/healthz", 0, "nonresource /healthz discovery" },
	{ "HEAD", "/livez", 0, "nonresource /livez discovery" },
	{ "GET", "/readyz", 0, "nonresource /readyz discovery" },
	{ "GET", "/metrics", 0, "nonresource /metrics" },
	{ "GET", "/logs/kube-apiserver.log", 0,
	    "nonresource /logs/kube-apiserver.log" },
	{ "GET", "/", 0, "nonresource /" },
	{ "POST", "/version", 0, "nonresource /version" },
	{ "DELETE", "/apis/apps/v1", 0, "nonresource /apis/apps/v1" },
	{ "GET", "/openapi/v2/x", 0, "nonresource /openapi/v2/x" },
	{ "GET", "/.well-known/openid-configuration", 0,
	    "nonresource /.well-known/openid-configuration" },
	{ "GET", "/API/v1/namespaces/prod/secrets", 0,
	    "nonresource /API/v1/namespaces/prod/secrets" },
	{ "GET", "/apis/APPS/v1", 0, "nonresource /apis/APPS/v1" },
	{ "GET", "/version", 1, "!protocol upgrade on a non-resource" },

	/* Percent-decoding where the apiserver decodes. */
	{ "GET", "/api/v1/namespaces/shop/p%6Fds", 0, "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/sh%6fp/pods/w%65b-1", 0,
	    "get /v1 shop pods web-1" },
	{ "GET", "/api/v1/namespaces/shop/pods/a+b", 0,
	    "get /v1 shop pods a+b" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%3A1", 0,
	    "get /v1 shop pods web:1" },

	/* Hostile and malformed targets. */
	{ "GET", "/api/v1/namespaces/shop/pods%2Fweb-1", 0, "!encoded slash" },
	{ "GET", "/api/v1/namespaces/shop/pods%2fweb-1", 0, "!encoded slash" },
	{ "GET", "/api/v1/namespaces/shop/%2e%2e/prod/secrets", 0,
	    "!encoded dot" },
	{ "GET", "/api/v1/namespaces/shop/%2E%2E/prod", 0, "!encoded dot" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%2E1", 0, "!encoded dot" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%251", 0,
	    "!encoded percent" },
	{ "GET", "/api/v1/namespaces/shop/../prod/secrets", 0,
	    "!dot segment ('..')" },
	{ "GET", "/api/v1/namespaces/shop/./pods", 0, "!dot segment ('.')" },
	{ "GET", "/api/v1/namespaces/shop/pods/..", 0, "!dot segment" },
	{ "GET", "/api/v1//namespaces/shop/pods", 0, "!empty path segment" },
	{ "GET", "/api/v1/namespaces/shop/pods/", 0, "!empty path segment" },
	{ "GET", "//api/v1/pods", 0, "!empty path segment" },
	{ "GET", "/api/", 0, "!empty path segment" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%00", 0,
	    "!encoded byte 0x00" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%0a", 0,
	    "!encoded byte 0x0a" },
	{ "GET", "/api/v1/namespaces/shop/pods/web\x01", 0, "!byte 0x01" },
	{ "GET", "/api/v1/namespaces/shop/pods/web\x7f", 0, "!byte 0x7f" },
	{ "GET", "/api/v1/namespaces/shop/pods/w\xc3\xa9", 0, "!byte 0xc3" },
	{ "GET", "/api/v1/namespaces/shop/pods/w%C3%A9", 0,
	    "!encoded byte 0xc3" },
	{ "GET", "/api/v1/namespaces/shop/pods/web 1", 0, "!byte 0x20" },
	{ "GET", "/api/v1/namespaces/shop/pods/we\"b", 0, "!byte 0x22" },
	{ "GET", "/api/v1/namespaces/shop/pods/we\\b", 0, "!byte 0x5c" },
	{ "GET", "/api/v1/namespaces/shop/pods/web;x", 0, "!byte 0x3b" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%3Bx", 0,
	    "!encoded byte 0x3b" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%3F", 0,
	    "!encoded byte 0x3f" },
	{ "GET", "/api/v1/namespaces/shop/pods/web#x", 0, "!byte 0x23" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%zz", 0,
	    "!malformed percent escape" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%", 0,
	    "!malformed percent escape" },
	{ "GET", "/api/v1/namespaces/shop/pods/web%4", 0,
	    "!malformed percent escape" },
	{ "GET", "/api/v1/namespaces/shop/Pods", 0, "!invalid resource" },
	{ "GET", "/api/v1/namespaces/shop/p%4Fds", 0, "!invalid resource" },
	{ "GET", "/api/V1/namespaces/shop/pods", 0, "!invalid API version" },
	{ "GET", "/apis/Apps/v1/deployments", 0, "!invalid API group" },
	{ "GET", "/apis/apps/v_1/deployments", 0, "!invalid API version" },
	{ "GET", "/api/v1/namespaces/Shop/pods", 0, "!invalid namespace" },
	{ "GET", "/api/v1/namespaces/-shop/pods", 0, "!invalid namespace" },
	{ "GET", "/api/v1/namespaces/shop-/pods", 0, "!invalid namespace" },
	{ "GET", "/api/v1/namespaces/sh.op/pods", 0, "!invalid namespace" },
	{ "GET", "/api/v1/namespaces/shop/pods/web-1/Log", 0,
	    "!invalid subresource" },
	{ "GET", "/api/v1/proxy/namespaces/shop/pods/web-1", 0,
	    "!legacy /proxy/ path prefix" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=true;x=1", 0,
	    "!a ';' in the query" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=%zz", 0,
	    "!malformed percent escape in the query" },
	{ "GET", "/api/v1/namespaces/shop/pods?x=%", 0,
	    "!malformed percent escape in the query" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=%00", 0,
	    "!control or non-ASCII byte in the watch parameter" },
	{ "GET", "/api/v1/namespaces/shop/pods?watch=fal%C5%BFe", 0,
	    "!control or non-ASCII byte in the watch parameter" },
	{ "GET", "/api/v1/namespaces/shop/pods?fieldSelector=a%00b", 0,
	    "!control or non-ASCII byte in the fieldSelector" },
	{ "GET", "/api/v1/namespaces/shop/pods?labelSelector=a%C3%A9", 0,
	    "!control or non-ASCII byte in the labelSelector" },
	{ "GET", "/api/v1/namespaces/shop/pods?wat%00ch=true", 0,
	    "!control or non-ASCII byte in a query parameter's name" },
	{ "GET", "/api/v1/namespaces/shop/pods?x=a%00b", 0,
	    "list /v1 shop pods -" },
	{ "GET", "/api/v1/namespaces/shop/pods?a b", 0, "!byte 0x20" },
	{ "GET", "/api/v1/namespaces/shop/pods?a=\x01", 0, "!byte 0x01" },
	{ "GET", "/api/v1/namespaces/shop/pods?a=<b>", 0, "!byte 0x3c" },
	{ "GET", "/api/v1/namespaces/shop/pods?a=b#c", 0, "!byte 0x23" },
	{ "GET", "/api/v1/namespaces/shop/pods?&&watch=true&", 0,
	    "watch /v1 shop pods - watch" },
	{ "GET", "/api/v1/namespaces/shop/pods?", 0, "list /v1 shop pods -" },
	{ "get", "/api/v1/namespaces/shop/pods", 0, "!a method" },
	{ "OPTIONS", "/api/v1/namespaces/shop/pods", 0, "!a method" },
	{ "TRACE", "/", 0, "!a method" },
	{ "CONNECT", "/api/v1/namespaces/shop/pods", 0, "!a method" },
	{ "PROPFIND", "/api", 0, "!a method" },
	{ "", "/api", 0, "!a method" },
	{ "GET ", "/api", 0, "!a method" },
	{ "GET", "*", 0, "!not a path" },
	{ "GET", "http://k8s.example/api/v1/pods", 0, "!not a path" },
	{ "GET", "", 0, "!not a path" },
	{ "GET", "?watch=true", 0, "!not a path" },
};

/* The attributes as one line (see struct req_case). */
static void
describe(const struct hoop_kube_attrs *a, char *buf, size_t len)
{
	const char *verb = hoop_kube_verb_name(a->verb);
	size_t n;

	if (!a->resource_request)
		n = (size_t)snprintf(buf, len, "nonresource %s%s", a->path,
		    a->discovery ? " discovery" : "");
	else
		n = (size_t)snprintf(buf, len, "%s %s/%s %s %s%s%s %s",
		    verb != NULL ? verb : "?", a->group, a->version,
		    a->namespace[0] != '\0' ? a->namespace : "-", a->resource,
		    a->subresource[0] != '\0' ? "/" : "", a->subresource,
		    a->name[0] != '\0' ? a->name : "-");
#define FLAG(cond, text) do { if ((cond) && n < len) \
	n += (size_t)snprintf(buf + n, len - n, " %s", text); } while (0)
	FLAG(a->legacy_watch, "legacy");
	FLAG(a->upgrade, "upgrade");
	FLAG(a->params & HOOP_KUBE_P_FIELD_SELECTOR, "fs");
	FLAG(a->params & HOOP_KUBE_P_LABEL_SELECTOR, "ls");
	FLAG(a->params & HOOP_KUBE_P_DRY_RUN, "dry");
	FLAG(a->params & HOOP_KUBE_P_FOLLOW, "follow");
	FLAG(a->params & HOOP_KUBE_P_WATCH, "watch");
	FLAG(a->params & HOOP_KUBE_P_NAME_FROM_SELECTOR, "selname");
#undef FLAG
	if (a->proxy_rest != 0 && n < len)
		snprintf(buf + n, len - n, " rest=%s", a->path + a->proxy_rest);
}

static hoop_err_t
attrs(const char *method, const char *target, int upgrade,
    struct hoop_kube_attrs *a, char *why, size_t whylen)
{
	why[0] = '\0';
	return hoop_kube_attributes(method, target, strlen(target), upgrade,
	    a, why, whylen);
}

/* The canonical path with the original query must give the same
 * attributes, and be the path field. */
static int
canonical_round_trip(const char *method, const char *target, int upgrade,
    const struct hoop_kube_attrs *a, const char *want)
{
	struct hoop_kube_attrs again;
	char path[HOOP_KUBE_MAX_PATH + 1], redo[HOOP_KUBE_MAX_TARGET + 1];
	char why[256], got[HOOP_KUBE_MAX_PATH + 512];
	const char *query = strchr(target, '?');

	if (hoop_kube_canonical_path(a, path, sizeof(path)) != HOOP_OK ||
	    strcmp(path, a->path) != 0) {
		printf("#   canonical path %s, path field %s\n", path, a->path);
		return 0;
	}
	snprintf(redo, sizeof(redo), "%s%s", path, query != NULL ? query : "");
	if (attrs(method, redo, upgrade, &again, why, sizeof(why)) != HOOP_OK) {
		printf("#   %s refused: %s\n", redo, why);
		return 0;
	}
	describe(&again, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		printf("#   %s reads as %s\n", redo, got);
		return 0;
	}
	return 1;
}

static void
test_cases(void)
{
	const struct req_case *c;
	struct hoop_kube_attrs a;
	char why[256], got[HOOP_KUBE_MAX_PATH + 512];
	size_t i, canonical_ok = 0, accepted = 0;
	hoop_err_t err;
	int good;

	for (i = 0; i < NELEM(cases); i++) {
		c = &cases[i];
		err = attrs(c->method, c->target, c->upgrade, &a, why,
		    sizeof(why));
		if (c->want[0] == '!') {
			good = err == (c->want[1] == '!' ? HOOP_ERR_TOOBIG :
			    HOOP_ERR_INVAL) && strstr(why, c->want +
			    (c->want[1] == '!' ? 2 : 1)) != NULL &&
			    a.path[0] == '\0' && a.verb == 0;
			if (!ok(good, "%s %s refused", c->method, c->target))
				printf("#   %s (%s), want %s\n",
				    hoop_strerror(err), why, c->want);
			continue;
		}
		if (err != HOOP_OK) {
			ok(0, "%s %s", c->method, c->target);
			printf("#   refused: %s; want %s\n", why, c->want);
			continue;
		}
		describe(&a, got, sizeof(got));
		if (!ok(strcmp(got, c->want) == 0, "%s %s: %s", c->method,
		    c->target, c->want))
			printf("#   got %s\n", got);
		accepted++;
		if (canonical_round_trip(c->method, c->target, c->upgrade, &a,
		    got))
			canonical_ok++;
	}
	is_int(canonical_ok, accepted, "every accepted request's canonical "
	    "path is its path and reads the same (%zu)", accepted);
	ok(NELEM(cases) >= 120, "%zu requests in the table", NELEM(cases));
}

static void
test_paths(void)
{
	struct hoop_kube_attrs a;
	char why[256], buf[64];

	ok(attrs("GET", "/api/v1/namespaces/sh%6fp/p%6Fds/w%65b-1?x=%41", 0,
	    &a, why, sizeof(why)) == HOOP_OK &&
	    strcmp(a.path, "/api/v1/namespaces/shop/pods/web-1") == 0,
	    "the path field is decoded, the query is not part of it");
	ok(attrs("GET", "/api/v1/namespaces/shop/pods/w/proxy/a/b%41", 0, &a,
	    why, sizeof(why)) == HOOP_OK && a.proxy_rest != 0 &&
	    strcmp(a.path + a.proxy_rest, "/a/bA") == 0,
	    "the proxied path follows the proxy subresource");
	ok(strcmp(a.method, "GET") == 0 && strcmp(a.api_prefix, "api") == 0,
	    "method and prefix kept");
	ok(attrs("GET", "/apis/apps/v1/deployments", 0, &a, why,
	    sizeof(why)) == HOOP_OK && strcmp(a.api_prefix, "apis") == 0 &&
	    strcmp(a.group, "apps") == 0, "apis prefix and group");

	/* Canonical paths of attributes no request gives. */
	ok(attrs("GET", "/api/v1/namespaces/shop", 0, &a, why, sizeof(why)) ==
	    HOOP_OK, "namespace read");
	snprintf(a.name, sizeof(a.name), "other");
	ok(hoop_kube_canonical_path(&a, buf, sizeof(buf)) == HOOP_ERR_INVAL,
	    "a namespace whose name is not the namespace has no path");
	ok(attrs("GET", "/api/v1/namespaces/shop/pods/web-1", 0, &a, why,
	    sizeof(why)) == HOOP_OK, "pod read");
	ok(hoop_kube_canonical_path(&a, buf, 10) == HOOP_ERR_TOOBIG,
	    "a short buffer is too small");
	ok(hoop_kube_canonical_path(&a, buf, 0) == HOOP_ERR_TOOBIG,
	    "an empty buffer is too small");
	a.resource[0] = '\0';
	ok(hoop_kube_canonical_path(&a, buf, sizeof(buf)) == HOOP_ERR_INVAL,
	    "no resource: no path");
	memset(&a, 0, sizeof(a));
	ok(hoop_kube_canonical_path(&a, buf, sizeof(buf)) == HOOP_ERR_INVAL,
	    "cleared attributes: no path");
}

static void
test_limits(void)
{
	struct hoop_kube_attrs a;
	char why[256], *t;
	size_t i, n;

	t = malloc(HOOP_KUBE_MAX_TARGET + 64);
	if (t == NULL)
		abort();

	/* A NUL byte inside the target (counted by length). */
	memcpy(t, "/api/v1/namespaces/shop/pods/web\0/../../secrets", 47);
	ok(hoop_kube_attributes("GET", t, 47, 0, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && strstr(why, "NUL") != NULL, "NUL refused");
	ok(hoop_kube_attributes("GET", NULL, 0, 0, &a, why, sizeof(why)) ==
	    HOOP_ERR_INVAL && hoop_kube_attributes(NULL, "/api", 4, 0, &a,
	    why, sizeof(why)) == HOOP_ERR_INVAL, "no method or target");
	ok(hoop_kube_attributes("GET", "/apix", 4, 0, &a, why, sizeof(why)) ==
	    HOOP_OK && a.discovery && strcmp(a.path, "/api") == 0,
	    "only len bytes are read");

	/* Path just at and over the limit. */
	n = HOOP_KUBE_MAX_PATH;
	i = (size_t)snprintf(t, 64, "/api/v1/namespaces/shop/pods/p/proxy/");
	for (; i < n; i++)
		t[i] = (i % 200 == 0) ? '/' : 'a';
	t[n] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_OK &&
	    strlen(a.path) == n, "a %zu-byte path is read", n);
	t[n] = 'a';
	t[n + 1] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_TOOBIG &&
	    strstr(why, "path is longer") != NULL, "a longer path: too big");

	/* The whole target over its limit (a long query). */
	n = (size_t)snprintf(t, 64, "/api/v1/namespaces/shop/pods?x=");
	for (i = n; i < HOOP_KUBE_MAX_TARGET; i++)
		t[i] = 'q';
	t[HOOP_KUBE_MAX_TARGET] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_OK,
	    "a target of %d bytes is read", HOOP_KUBE_MAX_TARGET);
	t[HOOP_KUBE_MAX_TARGET] = 'q';
	t[HOOP_KUBE_MAX_TARGET + 1] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_TOOBIG &&
	    strstr(why, "request-target is longer") != NULL,
	    "a longer target: too big");

	/* Segments. */
	n = 0;
	for (i = 0; i < HOOP_KUBE_MAX_SEGMENTS + 1; i++)
		n += (size_t)snprintf(t + n, 8, "/s");
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_TOOBIG &&
	    strstr(why, "path segments") != NULL, "%d segments: too big",
	    HOOP_KUBE_MAX_SEGMENTS + 1);
	t[n - 2] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_OK,
	    "%d segments read", HOOP_KUBE_MAX_SEGMENTS);

	/* Parameters. */
	n = (size_t)snprintf(t, 64, "/api/v1/pods?");
	for (i = 0; i < HOOP_KUBE_MAX_PARAMS + 1; i++)
		n += (size_t)snprintf(t + n, 8, "a=%zu&", i % 10);
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_TOOBIG &&
	    strstr(why, "query parameters") != NULL, "too many parameters");

	/* A selector over its limit. */
	n = (size_t)snprintf(t, 64, "/api/v1/pods?fieldSelector=");
	for (i = 0; i < 4097; i++)
		t[n++] = 'f';
	t[n] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_TOOBIG,
	    "a fieldSelector over %d bytes: too big", HOOP_KUBE_MAX_PATH);

	/* Names, namespaces, resources at and over their lengths. */
	n = (size_t)snprintf(t, 64, "/api/v1/namespaces/shop/pods/");
	memset(t + n, 'n', HOOP_KUBE_MAX_NAME);
	t[n + HOOP_KUBE_MAX_NAME] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_OK &&
	    strlen(a.name) == HOOP_KUBE_MAX_NAME, "a %d-byte name",
	    HOOP_KUBE_MAX_NAME);
	strcat(t, "n");
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_INVAL &&
	    strstr(why, "invalid name") != NULL, "a longer name refused");
	n = (size_t)snprintf(t, 64, "/api/v1/namespaces/");
	memset(t + n, 'n', HOOP_KUBE_MAX_LABEL);
	strcpy(t + n + HOOP_KUBE_MAX_LABEL, "/pods");
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_OK &&
	    strlen(a.namespace) == HOOP_KUBE_MAX_LABEL, "a %d-byte namespace",
	    HOOP_KUBE_MAX_LABEL);
	memset(t + n, 'n', HOOP_KUBE_MAX_LABEL + 1);
	strcpy(t + n + HOOP_KUBE_MAX_LABEL + 1, "/pods");
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_INVAL &&
	    strstr(why, "invalid namespace") != NULL,
	    "a longer namespace refused");
	n = (size_t)snprintf(t, 64, "/api/v1/");
	memset(t + n, 'r', HOOP_KUBE_MAX_LABEL + 1);
	t[n + HOOP_KUBE_MAX_LABEL + 1] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_INVAL &&
	    strstr(why, "invalid resource") != NULL,
	    "a resource over %d bytes refused", HOOP_KUBE_MAX_LABEL);
	n = (size_t)snprintf(t, 64, "/apis/");
	memset(t + n, 'g', HOOP_KUBE_MAX_NAME + 1);
	strcpy(t + n + HOOP_KUBE_MAX_NAME + 1, "/v1/things");
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_INVAL &&
	    strstr(why, "invalid API group") != NULL,
	    "a group over %d bytes refused", HOOP_KUBE_MAX_NAME);
	/* A field selector name over the limit cannot be represented. */
	n = (size_t)snprintf(t, 64, "/api/v1/pods?fieldSelector="
	    "metadata.name=");
	memset(t + n, 'n', HOOP_KUBE_MAX_NAME + 1);
	t[n + HOOP_KUBE_MAX_NAME + 1] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_ERR_INVAL,
	    "a fieldSelector name over %d bytes refused", HOOP_KUBE_MAX_NAME);
	t[n + HOOP_KUBE_MAX_NAME] = '\0';
	ok(attrs("GET", t, 0, &a, why, sizeof(why)) == HOOP_OK &&
	    strlen(a.name) == HOOP_KUBE_MAX_NAME,
	    "a fieldSelector name of %d bytes", HOOP_KUBE_MAX_NAME);
	free(t);
}

/* ---- decisions ---- */

static const char conf[] =
    "issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"dev\" { issuer = \"gh\" claim \"sub\" { equals = {\"dev\"} } "
    "login = \"dev\" }\n"
    "identity \"ops\" { issuer = \"gh\" claim \"sub\" { equals = {\"ops\"} } "
    "login = \"ops\" }\n"
    "identity \"locked\" { issuer = \"gh\" claim \"sub\" { equals = "
    "{\"locked\"} } login = \"locked\" }\n"
    "identity \"narrow\" { issuer = \"gh\" claim \"sub\" { equals = "
    "{\"narrow\"} } login = \"narrow\" }\n"
    "identity \"nobody\" { issuer = \"gh\" claim \"sub\" { equals = "
    "{\"nobody\"} } login = \"nobody\" }\n"
    "target \"k8s\" { type = \"kubernetes\" "
    "server = \"https://k8s.example:6443\" }\n"
    "target \"staging\" { type = \"kubernetes\" "
    "server = \"https://k8s-staging.example:6443\" }\n"
    "policy \"dev\" { identities = {\"dev\"} targets = {\"k8s\"}\n"
    "  rule \"shop-read\" { action = \"allow\" verbs = {\"get\", \"list\", "
    "\"watch\"} resources = {\"pods\", \"pods/log\", \"services\"} "
    "namespaces = {\"shop\"} }\n"
    "  rule \"no-secrets\" { action = \"deny\" reason = \"secrets are off "
    "limits\" verbs = {\"*\"} resources = {\"secrets\"} }\n"
    "  rule \"exec\" { action = \"approve\" approvers = {\"leads\"} "
    "verbs = {\"create\"} resources = {\"pods/exec\", \"pods/attach\"} "
    "namespaces = {\"shop\"} }\n"
    "  rule \"job-cleanup\" { action = \"allow\" verbs = {\"delete\", "
    "\"deletecollection\"} api_groups = {\"batch\"} resources = "
    "{\"jobs\"} namespaces = {\"shop\"} }\n"
    "  rule \"web-only\" { action = \"allow\" verbs = {\"get\", \"list\", "
    "\"update\", \"patch\"} api_groups = {\"apps\"} resources = "
    "{\"deployments\", \"deployments/scale\"} namespaces = {\"shop\"} "
    "names = {\"web\"} }\n"
    "  rule \"scale\" { action = \"approve\" approvers = {\"leads\"} "
    "verbs = {\"update\", \"patch\"} api_groups = {\"apps\"} resources = "
    "{\"*/scale\"} }\n"
    "  rule \"keep-db\" { action = \"deny\" reason = \"the database stays\" "
    "verbs = {\"delete\", \"deletecollection\"} api_groups = {\"apps\"} "
    "resources = {\"deployments\", \"statefulsets\"} names = {\"db\"} }\n"
    "  rule \"no-prod\" { action = \"deny\" verbs = {\"*\"} resources = "
    "{\"*\"} namespaces = {\"prod\"} }\n"
    "  rule \"any-ns-config\" { action = \"allow\" verbs = {\"get\"} "
    "resources = {\"configmaps\"} namespaces = {\"*\"} }\n"
    "  rule \"crd\" { action = \"allow\" verbs = {\"list\"} api_groups = "
    "{\"stable.example.com\"} resources = {\"crontabs\"} }\n"
    "  rule \"pod-subs\" { action = \"allow\" verbs = {\"get\"} "
    "resources = {\"pods/*\"} namespaces = {\"dev\"} }\n"
    "}\n"
    "policy \"ops\" { identities = {\"ops\"} targets = {\"k8s\"}\n"
    "  rule \"everything\" { action = \"allow\" verbs = {\"*\"} api_groups = "
    "{\"*\"} resources = {\"*\"} }\n"
    "  rule \"system-secrets\" { action = \"deny\" verbs = {\"*\"} "
    "resources = {\"secrets\"} namespaces = {\"kube-system\"} }\n"
    "}\n"
    "policy \"locked\" { identities = {\"locked\"} targets = {\"k8s\"}\n"
    "  rule \"nothing\" { action = \"deny\" verbs = {\"*\"} resources = "
    "{\"*\"} }\n"
    "}\n"
    "policy \"narrow\" { identities = {\"narrow\"} targets = {\"k8s\"}\n"
    "  rule \"pods-only\" { action = \"allow\" verbs = {\"*\"} resources = "
    "{\"pods\"} }\n"
    "  rule \"core-deny\" { action = \"deny\" verbs = {\"get\", \"list\", "
    "\"watch\", \"create\"} api_groups = "
    "{\"\"} resources = {\"*\"} names = {\"secret-pod\"} }\n"
    "}\n";

static hoop_config_t *cfg;

struct decision_case {
	const char *identity;
	const char *method;
	const char *target;
	int upgrade;
	enum hoop_rule_action action;
	const char *rule;	/* NULL: no rule decided */
};

static const struct decision_case decisions[] = {
	/* Reads in shop only. */
	{ "dev", "GET", "/api/v1/namespaces/shop/pods", 0, ALLOW, "shop-read" },
	{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1", 0, ALLOW,
	    "shop-read" },
	{ "dev", "GET", "/api/v1/namespaces/shop/pods?watch=true", 0, ALLOW,
	    "shop-read" },
	{ "dev", "GET", "/api/v1/watch/namespaces/shop/pods", 0, ALLOW,
	    "shop-read" },
	{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1/log?follow=true",
	    0, ALLOW, "shop-read" },
	{ "dev", "GET", "/api/v1/namespaces/other/pods", 0, DENY, NULL },
	{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1/status", 0, DENY,
	    NULL },
	{ "dev", "DELETE", "/api/v1/namespaces/shop/pods/web-1", 0, DENY,
	    NULL },
	{ "dev", "POST", "/api/v1/namespaces/shop/pods", 0, DENY, NULL },
	{ "dev", "GET", "/apis/shop.example.com/v1/namespaces/shop/pods", 0,
	    ALLOW, "shop-read" },
	/* Cluster scope never matches an allow that lists namespaces... */
	{ "dev", "GET", "/api/v1/nodes/node-1", 0, DENY, NULL },
	/* ...and a deny on namespace prod reaches lists across namespaces. */
	{ "dev", "GET", "/api/v1/pods", 0, DENY, "no-prod" },
	{ "dev", "GET", "/api/v1/pods?watch=1", 0, DENY, "no-prod" },
	{ "dev", "GET", "/api/v1/nodes", 0, DENY, "no-prod" },
	{ "dev", "GET", "/api/v1/namespaces/prod/pods", 0, DENY, "no-prod" },
	{ "dev", "GET", "/api/v1/namespaces/prod", 0, DENY, "no-prod" },
	{ "dev", "GET", "/api/v1/namespaces/shop/configmaps/c", 0, ALLOW,
	    "any-ns-config" },
	{ "dev", "GET", "/api/v1/namespaces/prod/configmaps/c", 0, DENY,
	    "no-prod" },
	{ "dev", "GET", "/api/v1/configmaps/c", 0, DENY, NULL },
	/* Secrets, everywhere. */
	{ "dev", "GET", "/api/v1/namespaces/shop/secrets", 0, DENY,
	    "no-secrets" },
	{ "dev", "GET", "/api/v1/namespaces/shop/secrets/db-pass", 0, DENY,
	    "no-secrets" },
	{ "dev", "GET", "/api/v1/secrets", 0, DENY, "no-secrets" },
	{ "dev", "GET", "/api/v1/namespaces/shop/secrets?watch=true", 0, DENY,
	    "no-secrets" },
	{ "dev", "GET", "/api/v1/namespaces/shop/secr%65ts", 0, DENY,
	    "no-secrets" },
	/* Exec and attach need approval; portforward is not allowed. */
	{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1/exec?command=sh",
	    1, APPROVE, "exec" },
	{ "dev", "POST", "/api/v1/namespaces/shop/pods/web-1/exec?command=sh",
	    1, APPROVE, "exec" },
	{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1/attach", 1,
	    APPROVE, "exec" },
	{ "dev", "GET", "/api/v1/namespaces/other/pods/web-1/exec", 1, DENY,
	    NULL },
	{ "dev", "POST", "/api/v1/namespaces/prod/pods/web-1/exec", 1, DENY,
	    "no-prod" },
	{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1/portforward", 1,
	    DENY, NULL },
	/* "pods/" + "*" covers every subresource of pods, not pods. */
	{ "dev", "GET", "/api/v1/namespaces/dev/pods/p/log", 0, ALLOW,
	    "pod-subs" },
	{ "dev", "GET", "/api/v1/namespaces/dev/pods/p", 0, DENY, NULL },
	/* Delete and deletecollection of jobs. */
	{ "dev", "DELETE", "/apis/batch/v1/namespaces/shop/jobs", 0, ALLOW,
	    "job-cleanup" },
	{ "dev", "DELETE", "/apis/batch/v1/namespaces/shop/jobs?"
	    "labelSelector=done%3Dtrue", 0, ALLOW, "job-cleanup" },
	{ "dev", "DELETE", "/apis/batch/v1/namespaces/shop/jobs/j1", 0, ALLOW,
	    "job-cleanup" },
	{ "dev", "DELETE", "/api/v1/namespaces/shop/jobs", 0, DENY, NULL },
	{ "dev", "GET", "/apis/batch/v1/namespaces/shop/jobs", 0, DENY, NULL },
	{ "dev", "DELETE", "/apis/batch/v1/jobs", 0, DENY, "no-prod" },
	/* Names. */
	{ "dev", "GET", "/apis/apps/v1/namespaces/shop/deployments/web", 0,
	    ALLOW, "web-only" },
	{ "dev", "PUT", "/apis/apps/v1/namespaces/shop/deployments/web", 0,
	    ALLOW, "web-only" },
	{ "dev", "GET", "/apis/apps/v1/namespaces/shop/deployments/api", 0,
	    DENY, NULL },
	{ "dev", "GET", "/apis/apps/v1/namespaces/shop/deployments", 0, DENY,
	    NULL },
	{ "dev", "GET", "/apis/apps/v1/namespaces/shop/deployments?"
	    "fieldSelector=metadata.name%3Dweb", 0, ALLOW, "web-only" },
	{ "dev", "GET", "/apis/apps/v1/namespaces/shop/deployments?"
	    "fieldSelector=metadata.name%3Dapi", 0, DENY, NULL },
	{ "dev", "DELETE", "/apis/apps/v1/namespaces/shop/deployments/db", 0,
	    DENY, "keep-db" },
	{ "dev", "DELETE", "/apis/apps/v1/namespaces/shop/statefulsets", 0,
	    DENY, "keep-db" },
	{ "dev", "DELETE", "/apis/apps/v1/namespaces/shop/statefulsets/cache",
	    0, DENY, NULL },
	/* Scale needs approval, whichever allow also matches. */
	{ "dev", "PUT", "/apis/apps/v1/namespaces/shop/deployments/web/scale",
	    0, APPROVE, "scale" },
	{ "dev", "PATCH", "/apis/apps/v1/namespaces/shop/statefulsets/db/scale",
	    0, APPROVE, "scale" },
	{ "dev", "GET", "/apis/apps/v1/namespaces/shop/deployments/web/scale",
	    0, ALLOW, "web-only" },
	{ "dev", "PUT", "/api/v1/namespaces/shop/replicationcontrollers/rc/"
	    "scale", 0, DENY, NULL },
	/* A CRD by group. */
	{ "dev", "GET", "/apis/stable.example.com/v1/namespaces/shop/crontabs",
	    0, ALLOW, "crd" },
	{ "dev", "GET", "/apis/other.example.com/v1/namespaces/shop/crontabs",
	    0, DENY, NULL },
	/* At cluster scope the list reaches namespace prod. */
	{ "dev", "GET", "/apis/stable.example.com/v1/crontabs", 0, DENY,
	    "no-prod" },
	/* Discovery and other non-resource paths. */
	{ "dev", "GET", "/api", 0, ALLOW, NULL },
	{ "dev", "GET", "/apis/apps/v1", 0, ALLOW, NULL },
	{ "dev", "GET", "/version?timeout=32s", 0, ALLOW, NULL },
	{ "dev", "GET", "/openapi/v3/apis/apps/v1?hash=AB", 0, ALLOW, NULL },
	{ "dev", "HEAD", "/healthz", 0, ALLOW, NULL },
	{ "dev", "GET", "/metrics", 0, DENY, NULL },
	{ "dev", "POST", "/version", 0, DENY, NULL },
	{ "dev", "GET", "/", 0, DENY, NULL },
	/* Everything but kube-system's secrets. */
	{ "ops", "DELETE", "/api/v1/namespaces/prod/pods/x", 0, ALLOW,
	    "everything" },
	{ "ops", "GET", "/api/v1/namespaces/shop/pods/web-1/exec", 1, ALLOW,
	    "everything" },
	{ "ops", "GET", "/apis/example.com/v1alpha1/widgets", 0, ALLOW,
	    "everything" },
	{ "ops", "GET", "/api/v1/namespaces/default/secrets", 0, ALLOW,
	    "everything" },
	{ "ops", "GET", "/api/v1/namespaces/kube-system/secrets/x", 0, DENY,
	    "system-secrets" },
	{ "ops", "GET", "/api/v1/secrets", 0, DENY, "system-secrets" },
	{ "ops", "GET", "/api/v1/secrets/x", 0, ALLOW, "everything" },
	{ "ops", "GET", "/apis", 0, ALLOW, NULL },
	/* A rule denying everything denies discovery too. */
	{ "locked", "GET", "/api", 0, DENY, "nothing" },
	{ "locked", "GET", "/version", 0, DENY, "nothing" },
	{ "locked", "GET", "/api/v1/namespaces/shop/pods", 0, DENY,
	    "nothing" },
	/* pods does not cover pods/exec; a names deny reaches lists. */
	{ "narrow", "GET", "/api/v1/namespaces/shop/pods", 0, DENY,
	    "core-deny" },
	{ "narrow", "GET", "/api/v1/namespaces/shop/pods/p", 0, ALLOW,
	    "pods-only" },
	{ "narrow", "GET", "/api/v1/namespaces/shop/pods/secret-pod", 0, DENY,
	    "core-deny" },
	{ "narrow", "GET", "/api/v1/namespaces/shop/pods?fieldSelector="
	    "metadata.name%3Dp", 0, ALLOW, "pods-only" },
	{ "narrow", "DELETE", "/api/v1/namespaces/shop/pods", 0, ALLOW,
	    "pods-only" },
	/* A create names nothing in its path: it might make secret-pod. */
	{ "narrow", "POST", "/api/v1/namespaces/shop/pods", 0, DENY,
	    "core-deny" },
	{ "narrow", "PUT", "/api/v1/namespaces/shop/pods/p", 0, ALLOW,
	    "pods-only" },
	{ "narrow", "POST", "/api/v1/namespaces/shop/pods/p/eviction", 0,
	    DENY, NULL },
	{ "narrow", "GET", "/api/v1/namespaces/shop/pods/p/exec", 1, DENY,
	    NULL },
	{ "narrow", "GET", "/api", 0, ALLOW, NULL },
	/* No policy for the principal, or not on this target. */
	{ "nobody", "GET", "/api", 0, DENY, NULL },
	{ "nobody", "GET", "/api/v1/namespaces/shop/pods", 0, DENY, NULL },
};

static void
principal(struct hoop_principal *p, const char *identity)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->login, sizeof(p->login), "%s", identity);
	p->identity = hoop_config_identity(cfg, identity);
	if (p->identity == NULL)
		abort();
}

static const char *
action_name(enum hoop_rule_action a)
{
	return a == ALLOW ? "allow" : a == DENY ? "deny" : "approve";
}

static void
test_decisions(void)
{
	const struct decision_case *c;
	struct hoop_principal p;
	struct hoop_kube_attrs a;
	struct hoop_decision d;
	char why[256];
	size_t i;
	int good;

	for (i = 0; i < NELEM(decisions); i++) {
		c = &decisions[i];
		principal(&p, c->identity);
		if (attrs(c->method, c->target, c->upgrade, &a, why,
		    sizeof(why)) != HOOP_OK) {
			ok(0, "%s: %s %s", c->identity, c->method, c->target);
			printf("#   refused: %s\n", why);
			continue;
		}
		hoop_kube_decide(cfg, &p, "k8s", &a, &d);
		good = d.action == c->action && (c->rule == NULL ?
		    d.rule == NULL : d.rule != NULL &&
		    strcmp(d.rule->name, c->rule) == 0);
		if (!ok(good, "%s: %s %s: %s%s%s", c->identity, c->method,
		    c->target, action_name(c->action), c->rule ? " by " : "",
		    c->rule ? c->rule : ""))
			printf("#   got %s by %s: %s\n", action_name(d.action),
			    d.rule ? d.rule->name : "no rule", d.reason);
	}

	principal(&p, "dev");
	attrs("GET", "/api/v1/namespaces/shop/pods", 0, &a, why, sizeof(why));
	hoop_kube_decide(cfg, &p, "staging", &a, &d);
	ok(d.action == DENY && d.rule == NULL, "another target: denied");
	attrs("GET", "/api", 0, &a, why, sizeof(why));
	hoop_kube_decide(cfg, &p, "staging", &a, &d);
	ok(d.action == DENY && strstr(d.reason, "no policy opens target "
	    "staging") != NULL, "discovery on another target: denied (%s)",
	    d.reason);
	hoop_kube_decide(cfg, &p, "k8s", &a, &d);
	ok(d.action == ALLOW && strstr(d.reason, "discovery") != NULL,
	    "discovery allowed with a reason (%s)", d.reason);
	hoop_kube_decide(cfg, &p, NULL, &a, &d);
	ok(d.action == DENY, "no target: denied");
	hoop_kube_decide(NULL, &p, "k8s", &a, &d);
	ok(d.action == DENY, "no configuration: denied");
	hoop_kube_decide(cfg, NULL, "k8s", &a, &d);
	ok(d.action == DENY, "no principal: denied");
	hoop_kube_decide(cfg, &p, "k8s", NULL, &d);
	ok(d.action == DENY, "no request: denied");
	memset(&a, 0, sizeof(a));
	hoop_kube_decide(cfg, &p, "k8s", &a, &d);
	ok(d.action == DENY && d.rule == NULL, "cleared attributes: denied");
	attrs("GET", "/api/v1/namespaces/shop/pods", 0, &a, why, sizeof(why));
	a.verb = HOOP_KUBE_GET | HOOP_KUBE_LIST;
	hoop_kube_decide(cfg, &p, "k8s", &a, &d);
	ok(d.action == DENY && d.rule == NULL, "two verbs at once: denied");
	principal(&p, "ops");
	attrs("GET", "/api/v1/namespaces/shop/pods", 0, &a, why, sizeof(why));
	a.resource[0] = '\0';
	hoop_kube_decide(cfg, &p, "k8s", &a, &d);
	ok(d.action == DENY && d.rule == NULL, "no resource: denied");
}

static void
message_for(const char *identity, const char *method, const char *target,
    int upgrade, char *buf, size_t len)
{
	struct hoop_principal p;
	struct hoop_kube_attrs a;
	struct hoop_decision d;
	char why[256];

	principal(&p, identity);
	if (attrs(method, target, upgrade, &a, why, sizeof(why)) != HOOP_OK)
		abort();
	hoop_kube_decide(cfg, &p, "k8s", &a, &d);
	hoop_kube_message(&a, &d, buf, len);
}

static void
test_messages(void)
{
	static const struct {
		const char *identity, *method, *target;
		int upgrade;
		const char *want;
	} m[] = {
		{ "dev", "GET", "/api/v1/namespaces/shop/secrets/db-pass", 0,
		    "hoop: no-secrets: get secrets \"db-pass\" in namespace "
		    "shop is denied: secrets are off limits" },
		{ "dev", "GET", "/api/v1/namespaces/shop/pods/web-1/exec", 1,
		    "hoop: exec: create pods/exec \"web-1\" in namespace shop "
		    "needs approval: approval required by rule exec of policy "
		    "dev" },
		{ "dev", "DELETE", "/api/v1/namespaces/shop/pods/web-1", 0,
		    "hoop: delete pods \"web-1\" in namespace shop is denied: "
		    "no rule allows it" },
		{ "dev", "PUT", "/apis/apps/v1/namespaces/shop/deployments/"
		    "web/scale", 0, "hoop: scale: update deployments.apps/scale "
		    "\"web\" in namespace shop needs approval: approval "
		    "required by rule scale of policy dev" },
		{ "dev", "GET", "/api/v1/nodes", 0, "hoop: no-prod: list nodes "
		    "is denied: denied by rule no-prod of policy dev" },
		{ "dev", "GET", "/metrics", 0, "hoop: GET /metrics is denied: "
		    "no non-resource path is allowed but discovery, version, "
		    "OpenAPI and health (GET)" },
		{ "dev", "GET", "/api/v1/namespaces/shop/pods", 0, "hoop: "
		    "shop-read: list pods in namespace shop is allowed: allowed "
		    "by rule shop-read of policy dev" },
	};
	char buf[512], small[16];
	size_t i;

	for (i = 0; i < NELEM(m); i++) {
		message_for(m[i].identity, m[i].method, m[i].target,
		    m[i].upgrade, buf, sizeof(buf));
		if (!ok(strcmp(buf, m[i].want) == 0, "message: %s", m[i].want))
			printf("#   got %s\n", buf);
	}
	message_for("dev", "GET", "/api/v1/namespaces/shop/secrets/x", 0,
	    small, sizeof(small));
	ok(strcmp(small, "hoop: no-secret") == 0, "message cut to the buffer");
}

/* ---- Status objects ---- */

static void
test_status(void)
{
	char *out = NULL;
	size_t len = 0;
	json_t *o;
	json_error_t jerr;

	ok(hoop_kube_status_json(403, NULL, "hoop: x: get secrets is denied: "
	    "no", &out, &len) == HOOP_OK && out != NULL &&
	    strcmp(out, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
	    "\"metadata\":{},\"status\":\"Failure\",\"message\":\"hoop: x: "
	    "get secrets is denied: no\",\"reason\":\"Forbidden\","
	    "\"code\":403}") == 0 && len == strlen(out),
	    "403 Status object");
	if (out != NULL)
		printf("# %s\n", out);
	free(out);

	ok(hoop_kube_status_json(400, NULL, "a \"quoted\" \\ line\nnext\x01"
	    "\xc3\xa9", &out, &len) == HOOP_OK, "400 with hostile message");
	o = out != NULL ? json_loads(out, 0, &jerr) : NULL;
	ok(o != NULL && strcmp(json_string_value(json_object_get(o,
	    "message")), "a \"quoted\" \\ line?next???") == 0 &&
	    strcmp(json_string_value(json_object_get(o, "reason")),
	    "BadRequest") == 0 && json_integer_value(json_object_get(o,
	    "code")) == 400, "message escaped, controls and non-ASCII "
	    "replaced, reason BadRequest");
	json_decref(o);
	free(out);

	ok(hoop_kube_status_json(406, "NotAcceptable", "only JSON", &out,
	    NULL) == HOOP_OK && strstr(out, "\"reason\":\"NotAcceptable\"") !=
	    NULL, "given reason");
	free(out);
	ok(hoop_kube_status_json(418, NULL, NULL, &out, &len) == HOOP_OK &&
	    strstr(out, "reason") == NULL && strstr(out, "\"message\":\"\"") !=
	    NULL && strstr(out, "\"code\":418") != NULL,
	    "no reason known: none given");
	free(out);
	ok(hoop_kube_status_json(413, NULL, "big", &out, &len) == HOOP_OK &&
	    strstr(out, "RequestEntityTooLarge") != NULL, "413 reason");
	free(out);
	out = (char *)1;
	ok(hoop_kube_status_json(99, NULL, "x", &out, &len) == HOOP_ERR_INVAL &&
	    out == NULL && hoop_kube_status_json(600, NULL, "x", &out, &len) ==
	    HOOP_ERR_INVAL, "codes outside 100-599 refused");
}

/* ---- Accept ---- */

static void
test_accept(void)
{
	static const struct {
		const char *in;
		hoop_err_t err;
		const char *out;
		unsigned flags;
	} c[] = {
		{ NULL, HOOP_OK, "application/json", 0 },
		{ "", HOOP_OK, "application/json", 0 },
		{ "application/json", HOOP_OK, "application/json", 0 },
		{ "application/vnd.kubernetes.protobuf, */*", HOOP_OK,
		    "application/json", HOOP_KUBE_ACCEPT_DROPPED |
		    HOOP_KUBE_ACCEPT_PROTOBUF },
		{ "application/vnd.kubernetes.protobuf", HOOP_OK,
		    "application/json", HOOP_KUBE_ACCEPT_DROPPED |
		    HOOP_KUBE_ACCEPT_PROTOBUF | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/vnd.kubernetes.protobuf;stream=watch", HOOP_OK,
		    "application/json", HOOP_KUBE_ACCEPT_DROPPED |
		    HOOP_KUBE_ACCEPT_PROTOBUF | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
		    "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
		    HOOP_OK, "application/json;as=Table;v=v1;g=meta.k8s.io,"
		    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
		    "application/json", 0 },
		{ " application/json ; as=Table ; v=v1 ; g=meta.k8s.io , "
		    "application/json ", HOOP_OK, "application/json;as=Table;"
		    "v=v1;g=meta.k8s.io,application/json", 0 },
		{ "application/vnd.kubernetes.protobuf;as=Table;v=v1;"
		    "g=meta.k8s.io,application/json", HOOP_OK,
		    "application/json", HOOP_KUBE_ACCEPT_DROPPED |
		    HOOP_KUBE_ACCEPT_PROTOBUF },
		{ "application/yaml", HOOP_OK, "application/json",
		    HOOP_KUBE_ACCEPT_DROPPED | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/cbor, text/plain", HOOP_OK, "application/json",
		    HOOP_KUBE_ACCEPT_DROPPED | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/json;q=0, application/vnd.kubernetes.protobuf",
		    HOOP_OK, "application/json", HOOP_KUBE_ACCEPT_DROPPED |
		    HOOP_KUBE_ACCEPT_PROTOBUF | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/json;q=0.000", HOOP_OK, "application/json",
		    HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/vnd.kubernetes.protobuf;q=0, application/json",
		    HOOP_OK, "application/json", 0 },
		{ "application/json;q=0.5", HOOP_OK, "application/json;q=0.5",
		    0 },
		{ "application/*", HOOP_OK, "application/json", 0 },
		{ "*/*;q=0.8", HOOP_OK, "application/json", 0 },
		{ "APPLICATION/JSON", HOOP_OK, "APPLICATION/JSON", 0 },
		{ "application/json, */*", HOOP_OK, "application/json", 0 },
		{ ",,application/json,,", HOOP_OK, "application/json", 0 },
		{ "text/*", HOOP_OK, "application/json",
		    HOOP_KUBE_ACCEPT_DROPPED | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/json-seq", HOOP_OK, "application/json",
		    HOOP_KUBE_ACCEPT_DROPPED | HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
		    HOOP_OK, "application/json", HOOP_KUBE_ACCEPT_DROPPED |
		    HOOP_KUBE_ACCEPT_INSISTED },
		{ "application/json;g=apidiscovery.k8s.io;v=v2;as="
		    "APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;"
		    "v=v2beta1;as=APIGroupDiscoveryList,application/json", HOOP_OK,
		    "application/json;g=apidiscovery.k8s.io;v=v2;as="
		    "APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;"
		    "v=v2beta1;as=APIGroupDiscoveryList,application/json", 0 },
		{ "applic@tion/json", HOOP_ERR_INVAL, "", 0 },
		{ "application", HOOP_ERR_INVAL, "", 0 },
		{ "application/", HOOP_ERR_INVAL, "", 0 },
		{ "/json", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;as", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;=x", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;;", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;as=\"Table\"", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;q=2", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;q=0.0001", HOOP_ERR_INVAL, "", 0 },
		{ "application/json;q=1.5", HOOP_ERR_INVAL, "", 0 },
		{ "application/json\r\nX-Evil: 1", HOOP_ERR_INVAL, "", 0 },
		{ "application/js\xc3\xb6n", HOOP_ERR_INVAL, "", 0 },
		{ "application/json application/yaml", HOOP_ERR_INVAL, "", 0 },
	};
	char out[HOOP_KUBE_MAX_ACCEPT + 1], *big;
	unsigned flags;
	hoop_err_t err;
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		err = hoop_kube_accept_json(c[i].in, out, sizeof(out), &flags);
		if (!ok(err == c[i].err && strcmp(out, c[i].out) == 0 &&
		    flags == c[i].flags, "Accept case %zu", i))
			printf("#   got %s \"%s\" flags %u\n", hoop_strerror(err),
			    out, flags);
	}
	ok(hoop_kube_accept_json("application/json;as=Table", out, 10,
	    &flags) == HOOP_ERR_TOOBIG && out[0] == '\0',
	    "an output buffer too small");
	if ((big = malloc(HOOP_KUBE_MAX_ACCEPT + 2)) == NULL)
		abort();
	memset(big, ' ', HOOP_KUBE_MAX_ACCEPT + 1);
	memcpy(big, "application/json", 16);
	big[HOOP_KUBE_MAX_ACCEPT + 1] = '\0';
	ok(hoop_kube_accept_json(big, out, sizeof(out), &flags) ==
	    HOOP_ERR_TOOBIG, "an Accept header over %d bytes",
	    HOOP_KUBE_MAX_ACCEPT);
	big[HOOP_KUBE_MAX_ACCEPT] = '\0';
	ok(hoop_kube_accept_json(big, out, sizeof(out), &flags) == HOOP_OK &&
	    strcmp(out, "application/json") == 0, "one of %d bytes",
	    HOOP_KUBE_MAX_ACCEPT);
	free(big);
}

static void
test_verb_names(void)
{
	ok(strcmp(hoop_kube_verb_name(HOOP_KUBE_GET), "get") == 0 &&
	    strcmp(hoop_kube_verb_name(HOOP_KUBE_DELETECOLLECTION),
	    "deletecollection") == 0 && strcmp(hoop_kube_verb_name(
	    HOOP_KUBE_WATCH), "watch") == 0, "verb names");
	ok(hoop_kube_verb_name(0) == NULL && hoop_kube_verb_name(
	    HOOP_KUBE_GET | HOOP_KUBE_LIST) == NULL &&
	    hoop_kube_verb_name(1u << 8) == NULL, "no name for other values");
}

static void
diag(void *arg, const char *message)
{
	(void)arg;
	printf("# %s\n", message);
}

int
main(void)
{
	if (hoop_config_load_buf(conf, sizeof(conf) - 1, "kube.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, diag, NULL) != HOOP_OK) {
		printf("Bail out! test configuration does not load\n");
		return 1;
	}
	test_cases();
	test_paths();
	test_limits();
	test_decisions();
	test_messages();
	test_status();
	test_accept();
	test_verb_names();
	hoop_config_free(cfg);
	return done_testing();
}
