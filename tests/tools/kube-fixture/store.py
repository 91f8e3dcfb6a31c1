"""The fixture's cluster state: objects in memory with one resourceVersion
counter, a history of watch events, label and field selectors, and two
tiny controllers (a Deployment owns one ReplicaSet per pod template, a
ReplicaSet owns its pods, all Running at once), garbage collection of
dependents, and the scale subresource.

Stored objects are never changed in place: every write stores a new dict,
so readers may serialise what they got without holding the lock."""
import base64
import bisect
import copy
import hashlib
import json
import threading
import uuid

from resources import (ApiError, BY_PLURAL, RESOURCES, apply_defaults,
                       now_rfc3339, validate)

HISTORY = 20000           # watch events kept (older resourceVersions: 410)
SAFE = "bcdfghjklmnpqrstvwxz2456789"


def safe_hash(text, n):
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(SAFE[b % len(SAFE)] for b in digest[:n])


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (
        res.group_resource(), name), {"name": name, "group": res.group,
                                       "kind": res.plural})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


# --- selectors ---------------------------------------------------------------

def _split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    reqs = []
    for part in _split_top(text or ""):
        low = " " + part + " "
        for op in (" notin ", " in "):
            if op in low:
                key, values = part.split(op.strip(), 1)
                values = values.strip()
                if not (values.startswith("(") and values.endswith(")")):
                    raise bad_request("unable to parse requirement: %r" % part)
                reqs.append((key.strip(), op.strip(), {
                    v.strip() for v in values[1:-1].split(",") if v.strip()}))
                break
        else:
            for op in ("!=", "==", "="):
                if op in part:
                    key, value = part.split(op, 1)
                    reqs.append((key.strip(), "!=" if op == "!=" else "=",
                                 value.strip()))
                    break
            else:
                if part.startswith("!"):
                    reqs.append((part[1:].strip(), "!exists", None))
                else:
                    reqs.append((part, "exists", None))
    for key, _, _ in reqs:
        if not key or any(c in key for c in " ()!=,"):
            raise bad_request("invalid label key %r" % key)
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, value in reqs:
        have = labels.get(key)
        if op == "exists" and key not in labels:
            return False
        if op == "!exists" and key in labels:
            return False
        if op == "=" and have != value:
            return False
        if op == "!=" and have == value:
            return False
        if op == "in" and have not in value:
            return False
        if op == "notin" and have in value:
            return False
    return True


def selector_from_spec(selector):
    """A LabelSelector (matchLabels/matchExpressions) as requirements."""
    reqs = [(k, "=", v) for k, v in ((selector or {}).get("matchLabels")
                                     or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists",
           "DoesNotExist": "!exists"}
    for e in (selector or {}).get("matchExpressions") or []:
        reqs.append((e.get("key"), ops.get(e.get("operator"), "exists"),
                     set(e.get("values") or [])))
    return reqs


FIELDS = {
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "status.phase", "status.podIP",
             "status.nominatedNodeName"},
    "secrets": {"type"},
    "namespaces": {"status.phase"},
    "events": {"involvedObject.kind", "involvedObject.namespace",
               "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent",
               "source", "type"},
    "replicasets": {"status.replicas"},
}


def parse_field_selector(plural, text):
    reqs = []
    for part in _split_top(text or ""):
        for op in ("!=", "==", "="):
            if op in part:
                path, value = part.split(op, 1)
                path = path.strip()
                if path not in ("metadata.name", "metadata.namespace") and \
                        path not in FIELDS.get(plural, ()):
                    raise bad_request('"%s" is not a known field selector: '
                                      'only "metadata.name", '
                                      '"metadata.namespace"' % path)
                reqs.append((path, op != "!=", value.strip()))
                break
        else:
            raise bad_request("invalid field selector %r" % part)
    return reqs


def field_value(obj, path):
    node = obj
    for p in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(p)
    if node is None:
        return ""
    if isinstance(node, dict) and path == "source":
        return node.get("component", "")
    return str(node)


def fields_match(reqs, obj):
    return all((field_value(obj, path) == value) == equal
               for path, equal, value in reqs)


class Matcher:
    def __init__(self, res, namespace, label_text, field_text):
        self.namespace = namespace
        self.labels = parse_label_selector(label_text)
        self.fields = parse_field_selector(res.plural, field_text)

    def __call__(self, obj):
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return (labels_match(self.labels, meta.get("labels")) and
                fields_match(self.fields, obj))


# --- the store ---------------------------------------------------------------

class Gone(Exception):
    pass


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 100
        self.objects = {r.plural: {} for r in RESOURCES}
        self.hist_rv, self.hist = [], []
        self.counters = {"pod": 0, "service": 0}
        self.pod_serial = {}

    # --- internals ---
    def _allocate_ip(self, kind):
        self.counters[kind] += 1
        n = self.counters[kind]
        base = "10.244" if kind == "pod" else "10.96"
        return "%s.%d.%d" % (base, n // 250, n % 250 + 2)

    def _record(self, etype, res, obj, prev):
        self.hist_rv.append(self.rv)
        self.hist.append((self.rv, etype, res.plural, obj, prev))
        if len(self.hist) > 2 * HISTORY:
            del self.hist[:HISTORY]
            del self.hist_rv[:HISTORY]
        self.cond.notify_all()

    def _store(self, res, obj, prev):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        self.objects[res.plural][key] = obj
        self._record("MODIFIED" if prev is not None else "ADDED", res, obj,
                     prev)
        return obj

    def _lookup(self, res, ns, name):
        return self.objects[res.plural].get((ns if res.namespaced else "",
                                             name))

    def _need_namespace(self, res, ns):
        if res.namespaced and ("", ns) not in self.objects["namespaces"]:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                           {"name": ns, "kind": "namespaces"})

    @staticmethod
    def _check_type(res, obj):
        if not isinstance(obj, dict):
            raise bad_request("the body of the request was not an object")
        kind, api = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != res.kind) or (api and api != res.api_version):
            raise bad_request("the API version in the data (%s) does not "
                              "match the expected API version (%s) or kind "
                              "(%s) differs from %s" % (
                                  api, res.api_version, kind, res.kind))

    # --- reads ---
    def get(self, res, ns, name):
        with self.lock:
            obj = self._lookup(res, ns, name)
        if obj is None:
            raise not_found(res, name)
        return obj

    def list(self, res, match):
        with self.lock:
            items = [o for o in self.objects[res.plural].values() if match(o)]
            rv = self.rv
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""),
                                  o["metadata"]["name"]))
        return items, rv

    # --- writes ---
    def create(self, res, ns, body, dry_run=False):
        self._check_type(res, body)
        obj = copy.deepcopy(body)
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        with self.lock:
            if res.namespaced:
                if meta.get("namespace") and meta["namespace"] != ns:
                    raise bad_request("the namespace of the provided object "
                                      "does not match the namespace sent on "
                                      "the request")
                meta["namespace"] = ns
                self._need_namespace(res, ns)
            else:
                meta.pop("namespace", None)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + safe_hash(
                    "%s%d" % (meta["generateName"], self.rv), 5)
            validate(res, obj)
            if self._lookup(res, ns, meta["name"]) is not None:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists'
                               % (res.group_resource(), meta["name"]),
                               {"name": meta["name"], "group": res.group,
                                "kind": res.plural})
            for k in ("resourceVersion", "deletionTimestamp", "selfLink"):
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if res.kind in ("Deployment", "ReplicaSet"):
                meta["generation"] = 1
            apply_defaults(res, obj, self._allocate_ip)
            self._controlled_status(res, obj)
            if dry_run:
                return obj
            self._store(res, obj, None)
            self._reconcile(res, obj)
            return obj

    def update(self, res, ns, name, body, dry_run=False, subresource=None):
        self._check_type(res, body)
        new = copy.deepcopy(body)
        with self.lock:
            cur = self._lookup(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            meta = new.get("metadata")
            if not isinstance(meta, dict):
                meta = new["metadata"] = {}
            if meta.get("name", name) != name:
                raise bad_request("the name of the object (%s) does not match "
                                  "the name on the URL (%s)" % (
                                      meta.get("name"), name))
            if res.namespaced and meta.get("namespace", ns) != ns:
                raise bad_request("the namespace of the provided object does "
                                  "not match the namespace sent on the "
                                  "request")
            want_rv = meta.get("resourceVersion")
            if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", 'Operation cannot be '
                               'fulfilled on %s "%s": the object has been '
                               'modified; please apply your changes to the '
                               'latest version and try again' % (
                                   res.group_resource(), name),
                               {"name": name, "group": res.group,
                                "kind": res.plural})
            if subresource == "status":
                obj = copy.deepcopy(cur)
                obj["status"] = new.get("status", {})
            else:
                obj = new
                obj["kind"], obj["apiVersion"] = res.kind, res.api_version
                if "status" in cur and res.kind not in ("Secret", "ConfigMap",
                                                        "Event"):
                    obj["status"] = copy.deepcopy(cur["status"])
                keep = ("uid", "creationTimestamp", "generation", "namespace",
                        "name")
                for k in keep:
                    if k in cur["metadata"]:
                        meta[k] = cur["metadata"][k]
                meta.pop("resourceVersion", None)
                if res.kind in ("Deployment", "ReplicaSet") and \
                        obj.get("spec") != cur.get("spec"):
                    meta["generation"] = cur["metadata"].get("generation",
                                                             1) + 1
                validate(res, obj)
                apply_defaults(res, obj, self._allocate_ip)
                self._controlled_status(res, obj)
            if dry_run:
                obj["metadata"]["resourceVersion"] = cur["metadata"][
                    "resourceVersion"]
                return obj
            self._store(res, obj, cur)
            self._reconcile(res, obj)
            return obj

    def patch(self, res, ns, name, apply_patch, dry_run=False,
              subresource=None):
        """apply_patch(current) -> the patched object."""
        with self.lock:
            cur = self._lookup(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            new = apply_patch(copy.deepcopy(cur))
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            meta = new.setdefault("metadata", {})
            if meta.get("resourceVersion") == cur["metadata"][
                    "resourceVersion"]:
                meta.pop("resourceVersion")
            return self.update(res, ns, name, new, dry_run, subresource)

    def delete(self, res, ns, name, opts=None, dry_run=False):
        opts = opts or {}
        with self.lock:
            cur = self._lookup(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            pre = opts.get("preconditions") or {}
            for field in ("uid", "resourceVersion"):
                if pre.get(field) and pre[field] != cur["metadata"].get(field):
                    raise ApiError(409, "Conflict", "Precondition failed: %s "
                                   "in precondition: %s, %s in object meta: "
                                   "%s" % (field, pre[field], field,
                                           cur["metadata"].get(field)))
            if dry_run:
                return cur
            self._remove(res, cur, opts.get("propagationPolicy") or
                         ("Orphan" if opts.get("orphanDependents")
                          else "Background"))
            return cur

    def _remove(self, res, cur, policy):
        meta = cur["metadata"]
        del self.objects[res.plural][(meta.get("namespace", ""), meta["name"])]
        self.rv += 1
        gone = copy.deepcopy(cur)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self._record("DELETED", res, gone, cur)
        uid = meta["uid"]
        for dep_res in RESOURCES:
            for dep in list(self.objects[dep_res.plural].values()):
                refs = dep["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                if policy == "Orphan":
                    fixed = copy.deepcopy(dep)
                    fixed["metadata"]["ownerReferences"] = [
                        r for r in refs if r.get("uid") != uid]
                    self._store(dep_res, fixed, dep)
                else:
                    self._remove(dep_res, dep, policy)
        if res.kind == "Namespace":
            for dep_res in RESOURCES:
                if dep_res.namespaced:
                    for key, dep in list(self.objects[dep_res.plural].items()):
                        if key[0] == meta["name"] and key in \
                                self.objects[dep_res.plural]:
                            self._remove(dep_res, dep, "Background")
        if res.kind == "Pod":
            self._replace_pod(cur)

    def delete_collection(self, res, match, opts=None, dry_run=False):
        with self.lock:
            items = [o for o in self.objects[res.plural].values() if match(o)]
            for o in items:
                m = o["metadata"]
                key = (m.get("namespace", ""), m["name"])
                if not dry_run and key in self.objects[res.plural]:
                    self.delete(res, m.get("namespace", ""), m["name"], opts)
            return items

    # --- scale ---
    def scale(self, res, ns, name):
        obj = self.get(res, ns, name)
        meta = obj["metadata"]
        labels = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in (
                    "name", "namespace", "uid", "resourceVersion",
                    "creationTimestamp") if k in meta},
                "spec": {"replicas": obj["spec"].get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get(
                    "replicas", 0), "selector": ",".join(
                    "%s=%s" % kv for kv in sorted(labels.items()))}}

    def set_scale(self, res, ns, name, scale, dry_run=False):
        if not isinstance(scale, dict) or not isinstance(
                (scale.get("spec") or {}).get("replicas", 0), int):
            raise bad_request("spec.replicas of a Scale must be an integer")
        with self.lock:
            cur = self.get(res, ns, name)
            want_rv = (scale.get("metadata") or {}).get("resourceVersion")
            obj = copy.deepcopy(cur)
            obj["spec"]["replicas"] = (scale.get("spec") or {}).get(
                "replicas", 0)
            obj["metadata"]["resourceVersion"] = want_rv or ""
            self.update(res, ns, name, obj, dry_run)
            return self.scale(res, ns, name) if not dry_run else scale

    # --- watch ---
    def watch_start(self, res, match, rv_param):
        """(synthetic ADDED objects, resourceVersion to follow from)."""
        with self.lock:
            if rv_param in (None, "", "0"):
                initial = sorted((o for o in self.objects[res.plural].values()
                                  if match(o)),
                                 key=lambda o: int(o["metadata"][
                                     "resourceVersion"]))
                return initial, self.rv
            try:
                start = int(rv_param)
            except ValueError:
                raise bad_request("invalid resourceVersion %r" % rv_param)
            if self.hist_rv and start < self.hist_rv[0] - 1:
                raise Gone("too old resource version: %d (%d)" % (
                    start, self.hist_rv[0] - 1))
            return [], start

    def events_after(self, rv, timeout):
        with self.cond:
            if not self.hist_rv or self.hist_rv[-1] <= rv:
                self.cond.wait(timeout)
            if self.hist_rv and rv < self.hist_rv[0] - 1:
                raise Gone("too old resource version: %d (%d)" % (
                    rv, self.hist_rv[0] - 1))
            i = bisect.bisect_right(self.hist_rv, rv)
            return self.hist[i:], self.rv

    # --- controllers ---
    @staticmethod
    def _controlled_status(res, obj):
        """Everything the fixture's controllers make is ready at once, so a
        Deployment's or ReplicaSet's status follows from its spec."""
        if res.kind not in ("Deployment", "ReplicaSet"):
            return
        n = obj["spec"].get("replicas", 1)
        st = {"observedGeneration": obj["metadata"].get("generation", 1),
              "replicas": n, "readyReplicas": n, "availableReplicas": n}
        if res.kind == "Deployment":
            st["updatedReplicas"] = n
            stamp = obj["metadata"]["creationTimestamp"]
            st["conditions"] = [
                {"type": "Available", "status": "True", "reason":
                 "MinimumReplicasAvailable", "message": "Deployment has "
                 "minimum availability.", "lastUpdateTime": stamp,
                 "lastTransitionTime": stamp},
                {"type": "Progressing", "status": "True", "reason":
                 "NewReplicaSetAvailable", "message": 'ReplicaSet has '
                 'successfully progressed.', "lastUpdateTime": stamp,
                 "lastTransitionTime": stamp}]
        else:
            st["fullyLabeledReplicas"] = n
        for k in ("replicas", "readyReplicas", "availableReplicas",
                  "updatedReplicas", "fullyLabeledReplicas"):
            if st.get(k) == 0:
                del st[k]
        obj["status"] = st

    def _owned(self, plural, owner):
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"].get("namespace", "")
        return [o for (n, _), o in self.objects[plural].items() if n == ns and
                any(r.get("uid") == uid and r.get("controller")
                    for r in o["metadata"].get("ownerReferences") or [])]

    @staticmethod
    def _owner_ref(owner):
        return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": True,
                "blockOwnerDeletion": True}

    def _reconcile(self, res, obj):
        if res.kind == "Deployment":
            self._reconcile_deployment(obj)
        elif res.kind == "ReplicaSet":
            self._reconcile_replicaset(obj)

    def _reconcile_deployment(self, d):
        rs_res = BY_PLURAL["replicasets"]
        spec = d["spec"]
        template = spec["template"]
        pod_hash = safe_hash(json.dumps(template, sort_keys=True), 10)
        owned = self._owned("replicasets", d)
        target = next((r for r in owned if (r["metadata"].get("labels") or {})
                       .get("pod-template-hash") == pod_hash), None)
        replicas = spec.get("replicas", 1)
        for rs in owned:
            if rs is not target and rs["spec"].get("replicas") != 0:
                scaled = copy.deepcopy(rs)
                scaled["spec"]["replicas"] = 0
                self.update(rs_res, scaled["metadata"]["namespace"],
                            scaled["metadata"]["name"], scaled)
        if target is None:
            revision = 1 + max([int((r["metadata"].get("annotations") or {})
                                    .get("deployment.kubernetes.io/revision",
                                         "0")) for r in owned] or [0])
            labels = dict(template.get("metadata", {}).get("labels") or {})
            labels["pod-template-hash"] = pod_hash
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = \
                pod_hash
            tmpl = copy.deepcopy(template)
            tmpl.setdefault("metadata", {})["labels"] = labels
            self.create(rs_res, d["metadata"]["namespace"], {
                "metadata": {
                    "name": "%s-%s" % (d["metadata"]["name"], pod_hash),
                    "labels": labels,
                    "annotations": {
                        "deployment.kubernetes.io/revision": str(revision),
                        "deployment.kubernetes.io/desired-replicas":
                            str(replicas)},
                    "ownerReferences": [self._owner_ref(d)]},
                "spec": {"replicas": replicas, "selector": selector,
                         "template": tmpl}})
        elif target["spec"].get("replicas") != replicas:
            scaled = copy.deepcopy(target)
            scaled["spec"]["replicas"] = replicas
            scaled["metadata"].setdefault("annotations", {})[
                "deployment.kubernetes.io/desired-replicas"] = str(replicas)
            self.update(rs_res, scaled["metadata"]["namespace"],
                        scaled["metadata"]["name"], scaled)

    def _reconcile_replicaset(self, rs, scale_down=True):
        pod_res = BY_PLURAL["pods"]
        pods = sorted(self._owned("pods", rs),
                      key=lambda p: int(p["metadata"]["resourceVersion"]))
        want = rs["spec"].get("replicas", 1)
        ns = rs["metadata"]["namespace"]
        while len(pods) < want:
            # names follow from the ReplicaSet's name and a serial number,
            # so the same steps give the same pod names in every run
            n = self.pod_serial.get(rs["metadata"]["uid"], 0)
            self.pod_serial[rs["metadata"]["uid"]] = n + 1
            name = "%s-%s" % (rs["metadata"]["name"], safe_hash(
                "%s/%d" % (rs["metadata"]["name"], n), 5))
            if self._lookup(pod_res, ns, name) is not None:
                continue
            template = copy.deepcopy(rs["spec"]["template"])
            meta = template.get("metadata") or {}
            meta.update({"name": name, "ownerReferences": [
                self._owner_ref(rs)]})
            pods.append(self.create(pod_res, ns, {
                "metadata": meta, "spec": template.get("spec", {})}))
        if not scale_down:
            return
        for extra in pods[want:][::-1]:
            if self._lookup(pod_res, ns, extra["metadata"]["name"]) is extra:
                self.delete(pod_res, ns, extra["metadata"]["name"])

    def _replace_pod(self, pod):
        """A ReplicaSet replaces a pod deleted under it."""
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") != "ReplicaSet" or not ref.get("controller"):
                continue
            rs = self._lookup(BY_PLURAL["replicasets"],
                              pod["metadata"]["namespace"], ref.get("name"))
            if rs is not None and rs["metadata"]["uid"] == ref.get("uid"):
                self._reconcile_replicaset(rs, scale_down=False)


def secret_value(store, ns, name, key):
    try:
        secret = store.get(BY_PLURAL["secrets"], ns, name)
    except ApiError:
        return None
    value = (secret.get("data") or {}).get(key)
    if value is None:
        return None
    return base64.b64decode(value).decode("utf-8", "replace")


def container_env(store, pod, container):
    """The environment a container would see: its env entries (values,
    secretKeyRef, configMapKeyRef, fieldRef), envFrom, and the usual
    HOSTNAME, PATH, HOME and KUBERNETES_* variables."""
    ns = pod["metadata"]["namespace"]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
           "/bin", "HOSTNAME": pod["metadata"]["name"], "HOME": "/root",
           "KUBERNETES_SERVICE_HOST": "10.96.0.1",
           "KUBERNETES_SERVICE_PORT": "443"}
    cm_res = BY_PLURAL["configmaps"]
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        if "secretRef" in src:
            try:
                s = store.get(BY_PLURAL["secrets"], ns,
                              src["secretRef"].get("name"))
                for k, v in (s.get("data") or {}).items():
                    env[prefix + k] = base64.b64decode(v).decode(
                        "utf-8", "replace")
            except ApiError:
                pass
        if "configMapRef" in src:
            try:
                cm = store.get(cm_res, ns, src["configMapRef"].get("name"))
                for k, v in (cm.get("data") or {}).items():
                    env[prefix + k] = v
            except ApiError:
                pass
    for e in container.get("env") or []:
        name = e.get("name")
        if not name:
            continue
        if "value" in e:
            env[name] = str(e["value"])
            continue
        ref = e.get("valueFrom") or {}
        if "secretKeyRef" in ref:
            r = ref["secretKeyRef"]
            value = secret_value(store, ns, r.get("name"), r.get("key"))
        elif "configMapKeyRef" in ref:
            r = ref["configMapKeyRef"]
            try:
                value = (store.get(cm_res, ns, r.get("name")).get("data")
                         or {}).get(r.get("key"))
            except ApiError:
                value = None
        elif "fieldRef" in ref:
            value = field_value(pod, ref["fieldRef"].get("fieldPath", ""))
        else:
            value = None
        if value is not None:
            env[name] = value
    return env
