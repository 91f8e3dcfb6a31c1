"""The resources the fixture serves: discovery data, defaulting, the few
validations kubectl users meet, and the server-side Table columns."""
import base64
import binascii
import calendar
import re
import time


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details

    def status(self):
        return status_object(self.code, self.reason, self.message,
                             self.details)


def status_object(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Success" if code < 400 else "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    if code < 400:
        del s["reason"]
    return s


VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
         "update", "watch"]


class Resource:
    def __init__(self, group, version, plural, singular, kind, namespaced,
                 short=(), subresources=(), categories=()):
        self.group, self.version, self.plural = group, version, plural
        self.singular, self.kind, self.namespaced = singular, kind, namespaced
        self.short, self.categories = list(short), list(categories)
        # name -> (group, version, kind, verbs) of the subresource
        self.subresources = dict(subresources)
        self.api_version = "%s/%s" % (group, version) if group else version
        self.prefix = ("/apis/%s/%s" % (group, version) if group
                       else "/api/%s" % version)

    def group_resource(self):
        if self.group:
            return "%s.%s" % (self.plural, self.group)
        return self.plural

    def kind_name(self):
        return "%s.%s" % (self.kind, self.group) if self.group else self.kind

    def discovery(self):
        out = [{"name": self.plural, "singularName": self.singular,
                "namespaced": self.namespaced, "kind": self.kind,
                "verbs": VERBS}]
        if self.short:
            out[0]["shortNames"] = self.short
        if self.categories:
            out[0]["categories"] = self.categories
        for name, (g, v, k, verbs) in sorted(self.subresources.items()):
            entry = {"name": "%s/%s" % (self.plural, name), "singularName": "",
                     "namespaced": self.namespaced, "kind": k, "verbs": verbs}
            if (g, v) != (self.group, self.version):
                entry["group"], entry["version"] = g, v
            out.append(entry)
        return out


_POD_SUBS = {
    "log": ("", "v1", "Pod", ["get"]),
    "exec": ("", "v1", "PodExecOptions", ["create", "get"]),
    "attach": ("", "v1", "PodAttachOptions", ["create", "get"]),
    "portforward": ("", "v1", "PodPortForwardOptions", ["create", "get"]),
    "status": ("", "v1", "Pod", ["get", "patch", "update"]),
}
_SCALE = ("autoscaling", "v1", "Scale", ["get", "patch", "update"])

RESOURCES = [
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"],
             {"status": ("", "v1", "Namespace", ["get", "patch", "update"])}),
    Resource("", "v1", "pods", "pod", "Pod", True, ["po"], _POD_SUBS, ["all"]),
    Resource("", "v1", "secrets", "secret", "Secret", True),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, ["cm"]),
    Resource("", "v1", "services", "service", "Service", True, ["svc"],
             {"status": ("", "v1", "Service", ["get", "patch", "update"])},
             ["all"]),
    Resource("", "v1", "events", "event", "Event", True, ["ev"]),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True,
             ["deploy"], {"scale": _SCALE, "status": ("apps", "v1",
                          "Deployment", ["get", "patch", "update"])}, ["all"]),
    Resource("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True,
             ["rs"], {"scale": _SCALE, "status": ("apps", "v1", "ReplicaSet",
                      ["get", "patch", "update"])}, ["all"]),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_PLURAL = {r.plural: r for r in RESOURCES}
GROUPS = [("apps", "v1")]


def find(group, version, plural):
    return BY_PATH.get((group, version, plural))


# --- time --------------------------------------------------------------------

def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_time(value):
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def human_age(ts):
    """The API server's short age: 42s, 5m3s, 3h, 2d4h..."""
    start = parse_time(ts)
    if start is None:
        return "<unknown>"
    s = int(time.time() - start)
    if s < 0:
        return "0s"
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return "%ds" % s
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 192:
        return "%dd%dh" % (d, h % 24) if h % 24 else "%dd" % d
    if d < 730:
        return "%dd" % d
    return "%dy%dd" % (d // 365, d % 365)


# --- validation --------------------------------------------------------------

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
                      r"[a-z0-9])?)*$")
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def invalid(res, name, causes):
    msg = "%s \"%s\" is invalid: %s" % (
        res.kind_name(), name,
        ", ".join("%s: %s" % (f, m) for f, m in causes))
    return ApiError(422, "Invalid", msg, {
        "name": name, "group": res.group, "kind": res.kind,
        "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f}
                   for f, m in causes]})


def validate(res, obj):
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    causes = []
    if not name:
        causes.append(("metadata.name", "Required value: name or "
                       "generateName is required"))
    elif len(name) > 253 or not _DNS1123.match(name):
        causes.append(("metadata.name", "Invalid value: \"%s\": a lowercase "
                       "RFC 1123 subdomain must consist of lower case "
                       "alphanumeric characters, '-' or '.'" % name))
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and (not isinstance(value, dict) or
                                  not all(isinstance(v, str)
                                          for v in value.values())):
            causes.append(("metadata." + field, "Invalid value: must be a "
                           "map of strings"))
    spec = obj.get("spec") or {}
    if res.kind == "Pod":
        containers = spec.get("containers")
        if not isinstance(containers, list) or not containers:
            causes.append(("spec.containers", "Required value"))
        else:
            for i, c in enumerate(containers):
                if not isinstance(c, dict) or not c.get("name"):
                    causes.append(("spec.containers[%d].name" % i,
                                   "Required value"))
                if not isinstance(c, dict) or not c.get("image"):
                    causes.append(("spec.containers[%d].image" % i,
                                   "Required value"))
    if res.kind in ("Deployment", "ReplicaSet"):
        selector = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get(
            "labels") or {}
        if not isinstance(selector, dict) or not selector:
            causes.append(("spec.selector", "Required value"))
        else:
            wanted = selector.get("matchLabels") or {}
            if any(labels.get(k) != v for k, v in wanted.items()):
                causes.append(("spec.template.metadata.labels", "Invalid "
                               "value: `selector` does not match template "
                               "`labels`"))
        replicas = spec.get("replicas", 1)
        if not isinstance(replicas, int) or replicas < 0:
            causes.append(("spec.replicas", "Invalid value: must be greater "
                           "than or equal to 0"))
        template = spec.get("template") or {}
        if not (template.get("spec") or {}).get("containers"):
            causes.append(("spec.template.spec.containers", "Required value"))
    if res.kind in ("Secret", "ConfigMap"):
        for field in ("data", "stringData", "binaryData"):
            value = obj.get(field)
            if value is None:
                continue
            if not isinstance(value, dict):
                causes.append((field, "Invalid value: must be a map"))
                continue
            for k, v in value.items():
                if not _KEY.match(k) or len(k) > 253:
                    causes.append(("%s[%s]" % (field, k), "Invalid value: "
                                   "a valid config key must consist of "
                                   "alphanumeric characters, '-', '_' or "
                                   "'.'"))
                if not isinstance(v, str):
                    causes.append(("%s[%s]" % (field, k), "Invalid value: "
                                   "must be a string"))
                elif field in ("data", "binaryData") and res.kind == "Secret":
                    try:
                        base64.b64decode(v, validate=True)
                    except (binascii.Error, ValueError):
                        causes.append(("%s[%s]" % (field, k), "Invalid "
                                       "value: illegal base64 data"))
    if causes:
        raise invalid(res, name, causes)


# --- defaulting --------------------------------------------------------------

def _default_container(c):
    image = c.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    c.setdefault("imagePullPolicy", "Always" if ":" not in tag or
                 tag.endswith(":latest") else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")


def default_pod_spec(spec):
    for c in (spec.get("containers") or []) + (spec.get("initContainers")
                                                or []):
        if isinstance(c, dict):
            _default_container(c)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)


def pod_status(obj, ip, started):
    spec = obj.get("spec") or {}
    phase = (obj["metadata"].get("annotations") or {}).get(
        "kube-fixture/phase", "Running")
    running = phase == "Running"
    conditions = [{"type": t, "status": "True" if running or t in (
        "Initialized", "PodScheduled") else "False",
        "lastProbeTime": None, "lastTransitionTime": started}
        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    statuses = []
    for c in spec.get("containers") or []:
        if phase == "Running":
            state = {"running": {"startedAt": started}}
        elif phase == "Pending":
            state = {"waiting": {"reason": "ContainerCreating"}}
        else:
            state = {"terminated": {"exitCode": 0 if phase == "Succeeded"
                                    else 1, "reason": "Completed" if phase ==
                                    "Succeeded" else "Error",
                                    "startedAt": started,
                                    "finishedAt": started}}
        statuses.append({
            "name": c.get("name", ""), "state": state, "lastState": {},
            "ready": running, "restartCount": 0, "image": c.get("image", ""),
            "imageID": "fixture://" + c.get("image", ""),
            "containerID": "fixture://%s-%s" % (obj["metadata"]["name"],
                                                c.get("name", "")),
            "started": running})
    return {"phase": phase, "conditions": conditions, "hostIP": "10.0.0.1",
            "podIP": ip, "podIPs": [{"ip": ip}], "startTime": started,
            "containerStatuses": statuses, "qosClass": "BestEffort"}


def apply_defaults(res, obj, allocate_ip):
    """Fills what the API server's defaulting and admission would."""
    kind = res.kind
    spec = obj.setdefault("spec", {}) if kind not in (
        "Secret", "ConfigMap", "Event") else None
    if kind == "Namespace":
        spec.setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif kind == "Pod":
        default_pod_spec(spec)
        spec.setdefault("nodeName", "fixture-node")
        spec.setdefault("tolerations", [])
        if "status" not in obj or not obj["status"].get("podIP"):
            obj["status"] = pod_status(obj, allocate_ip("pod"),
                                       obj["metadata"]["creationTimestamp"])
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocate_ip("service")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {}) or {}
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
    elif kind == "Event":
        obj.setdefault("type", "Normal")
        obj.setdefault("count", 1)
        stamp = obj["metadata"]["creationTimestamp"]
        obj.setdefault("firstTimestamp", stamp)
        obj.setdefault("lastTimestamp", stamp)
        obj.setdefault("source", {"component": "kube-fixture"})
        obj.setdefault("involvedObject", {})
    elif kind in ("Deployment", "ReplicaSet"):
        spec.setdefault("replicas", 1)
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {})
        default_pod_spec(template.setdefault("spec", {}))
        if kind == "Deployment":
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {
                                             "maxUnavailable": "25%",
                                             "maxSurge": "25%"}})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)


# --- Table columns -----------------------------------------------------------

def _col(name, ctype="string", priority=0, fmt="", desc=""):
    return {"name": name, "type": ctype, "format": fmt,
            "description": desc or name, "priority": priority}


def _selector_text(selector):
    if not selector:
        return "<none>"
    parts = ["%s=%s" % kv for kv in sorted((selector.get("matchLabels")
                                           or {}).items())]
    for e in selector.get("matchExpressions") or []:
        parts.append("%s %s (%s)" % (
            e.get("key"), e.get("operator", "").lower(),
            ",".join(e.get("values") or [])))
    return ",".join(parts) or "<none>"


def _containers(spec):
    cs = ((spec.get("template") or {}).get("spec") or {}).get(
        "containers") or []
    return (",".join(c.get("name", "") for c in cs),
            ",".join(c.get("image", "") for c in cs))


def _pod_row(o):
    st, spec = o.get("status") or {}, o.get("spec") or {}
    cs = st.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in cs)
    phase = st.get("phase", "Pending")
    if o["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    return [o["metadata"]["name"], "%d/%d" % (ready, len(spec.get(
        "containers") or [])), phase, restarts,
        human_age(o["metadata"].get("creationTimestamp")),
        st.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
        "<none>", "<none>"]


def _service_row(o):
    spec = o.get("spec") or {}
    ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
                     if not p.get("nodePort") else "%s:%s/%s" % (
                         p.get("port"), p.get("nodePort"),
                         p.get("protocol", "TCP"))
                     for p in spec.get("ports") or [])
    external = ",".join(spec.get("externalIPs") or []) or "<none>"
    selector = ",".join("%s=%s" % kv for kv in sorted(
        (spec.get("selector") or {}).items())) or "<none>"
    return [o["metadata"]["name"], spec.get("type", "ClusterIP"),
            spec.get("clusterIP", "<none>"), external, ports or "<none>",
            human_age(o["metadata"].get("creationTimestamp")), selector]


def _event_row(o):
    inv = o.get("involvedObject") or {}
    src = o.get("source") or {}
    return [human_age(o.get("lastTimestamp") or
                      o["metadata"].get("creationTimestamp")),
            o.get("type", ""), o.get("reason", ""),
            "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")),
            inv.get("fieldPath", ""),
            ", ".join(v for v in (src.get("component"), src.get("host")) if v),
            o.get("message", ""),
            human_age(o.get("firstTimestamp") or
                      o["metadata"].get("creationTimestamp")),
            o.get("count", 1), o["metadata"]["name"]]


def _deployment_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(spec)
    return [o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0),
                                              spec.get("replicas", 1)),
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            human_age(o["metadata"].get("creationTimestamp")), names, images,
            _selector_text(spec.get("selector"))]


def _replicaset_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(spec)
    return [o["metadata"]["name"], spec.get("replicas", 1),
            st.get("replicas", 0), st.get("readyReplicas", 0),
            human_age(o["metadata"].get("creationTimestamp")), names, images,
            _selector_text(spec.get("selector"))]


TABLES = {
    "pods": ([_col("Name", fmt="name"), _col("Ready"), _col("Status"),
              _col("Restarts", "integer"), _col("Age"), _col("IP", priority=1),
              _col("Node", priority=1), _col("Nominated Node", priority=1),
              _col("Readiness Gates", priority=1)], _pod_row),
    "namespaces": ([_col("Name", fmt="name"), _col("Status"), _col("Age")],
                   lambda o: [o["metadata"]["name"],
                              (o.get("status") or {}).get("phase", "Active"),
                              human_age(o["metadata"].get(
                                  "creationTimestamp"))]),
    "secrets": ([_col("Name", fmt="name"), _col("Type"),
                 _col("Data", "integer"), _col("Age")],
                lambda o: [o["metadata"]["name"], o.get("type", "Opaque"),
                           len(o.get("data") or {}),
                           human_age(o["metadata"].get("creationTimestamp"))]),
    "configmaps": ([_col("Name", fmt="name"), _col("Data", "integer"),
                    _col("Age")],
                   lambda o: [o["metadata"]["name"],
                              len(o.get("data") or {}) +
                              len(o.get("binaryData") or {}),
                              human_age(o["metadata"].get(
                                  "creationTimestamp"))]),
    "services": ([_col("Name", fmt="name"), _col("Type"), _col("Cluster-IP"),
                  _col("External-IP"), _col("Port(s)"), _col("Age"),
                  _col("Selector", priority=1)], _service_row),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"),
                _col("Object"), _col("Subobject", priority=1),
                _col("Source", priority=1), _col("Message"),
                _col("First Seen", priority=1),
                _col("Count", "integer", priority=1),
                _col("Name", fmt="name", priority=1)], _event_row),
    "deployments": ([_col("Name", fmt="name"), _col("Ready"),
                     _col("Up-to-date", "integer"),
                     _col("Available", "integer"), _col("Age"),
                     _col("Containers", priority=1),
                     _col("Images", priority=1),
                     _col("Selector", priority=1)], _deployment_row),
    "replicasets": ([_col("Name", fmt="name"), _col("Desired", "integer"),
                     _col("Current", "integer"), _col("Ready", "integer"),
                     _col("Age"), _col("Containers", priority=1),
                     _col("Images", priority=1),
                     _col("Selector", priority=1)], _replicaset_row),
}


def partial_metadata(obj, version="v1"):
    return {"kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/" + version,
            "metadata": obj.get("metadata", {})}


def table(res, objects, include, version, list_meta):
    """A meta.k8s.io Table of objects; include is None, Metadata or
    Object (the includeObject query parameter)."""
    columns, row = TABLES[res.plural]
    rows = []
    for o in objects:
        r = {"cells": row(o)}
        if include == "Object":
            r["object"] = o
        elif include != "None":
            r["object"] = partial_metadata(o, version)
        rows.append(r)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/" + version,
            "metadata": list_meta, "columnDefinitions": columns, "rows": rows}
