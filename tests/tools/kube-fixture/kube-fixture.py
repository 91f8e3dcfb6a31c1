#!/usr/bin/env python3
"""A fixture Kubernetes API server for tests, speaking what kubectl 1.20
(Debian's kubernetes-client) needs. tests/bats/kube-fixture.bash drives it.

    kube-fixture.py DIR PORT

DIR holds ca.pem, server.pem and server-key.pem (TLS, and the CA that
client certificates must chain to), tokens ("TOKEN USER [readonly]" a
line), optionally seed.json (objects to start with instead of seed.py's,
a JSON list or {"items": [...]}) and logs/NS/POD.log (a pod's log; a
default text otherwise; logs/NS/POD.end ends a follow stream). It writes DIR/ready once listening, a line per
request to DIR/requests.log (tab-separated: method, raw path and query,
status=, user=, auth= (bearer, cert, basic, none or bearer-invalid), then
accept=, content-type=, upgrade=, x-stream-protocol-version=,
impersonate-user=, impersonate-group=, user-agent= when present) and the
same as JSON with every header and up to 64 KiB of the body to
DIR/requests.jsonl.

Served: /version, /healthz, /livez, /readyz; legacy discovery (/api,
/api/v1, /apis, /apis/apps, /apis/apps/v1) and, when asked for by Accept,
aggregated discovery (apidiscovery.k8s.io v2 and v2beta1); /openapi/v2 as
protobuf (what kubectl 1.20 asks for) or JSON. Resources: namespaces,
pods (log, exec, attach, portforward, status), secrets, configmaps,
services, events; apps/v1 deployments and replicasets (scale, status).
Verbs: get, list (labelSelector, fieldSelector, limit/continue), watch
(?watch=1 or the legacy /watch/ prefix; resourceVersion, timeoutSeconds,
allowWatchBookmarks), create, update, patch (json, merge, strategic merge,
and apply-patch as a merge of a JSON body), delete (propagationPolicy,
preconditions), deletecollection; dryRun=All. Tables
(application/json;as=Table;v=v1|v1beta1;g=meta.k8s.io, includeObject) for
get, list and watch.

Protobuf is never served: a request whose Accept admits only protobuf (or
anything else the fixture cannot produce) gets 406 NotAcceptable, a body
in protobuf or YAML 415 UnsupportedMediaType; both as JSON Status objects.

Paths are taken leniently: %XX decoded, empty, "." and ".." segments
resolved, so that a disguised request that got past a proxy really reaches
its resource (the record keeps the raw path as it arrived).

Pods run at once (the annotation kube-fixture/phase: Pending, Succeeded
or Failed gives another phase); a Deployment owns one ReplicaSet per pod
template, a ReplicaSet its pods (store.py).

exec and attach speak SPDY/3.1 (v4, v3, v2.channel.k8s.io) with built-in
commands (execsim.py); portforward speaks SPDY/3.1 (portforward.k8s.io)
and echoes whatever is sent to any port. kubectl 1.20 has no other
protocol for them: WebSocket upgrades are answered 400 Bad Request (newer
kubectl then falls back to SPDY)."""
import base64
import hmac
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import execsim
import openapi
import patch
import resources
import seed
import spdy
import streams
from resources import ApiError, RESOURCES, status_object
from store import Gone, Matcher, Store, container_env

MAX_BODY = 8 << 20
FOLLOW_IDLE = float(os.environ.get("KUBE_FIXTURE_FOLLOW_IDLE", "1.0"))
JSON = "application/json"
PB_OPENAPI = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
WATCH_TICK = 0.5
RECORD_HEADERS = ("Accept", "Content-Type", "Upgrade",
                  "X-Stream-Protocol-Version", "Impersonate-User",
                  "Impersonate-Group", "User-Agent")

DIR = PORT = None
STORE = Store()
TOKENS = {}
TLS = None
LOG_LOCK = threading.Lock()


def log(msg):
    sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def dumps(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def truthy(value):
    return value in ("1", "true", "True")


def normalise(raw_path):
    out = []
    for seg in urllib.parse.unquote(raw_path).split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    return out


def parse_media(text):
    """[(type, {param: value})] of an Accept or Content-Type header."""
    out = []
    for part in (text or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        params = {}
        for f in fields[1:]:
            if "=" in f:
                k, v = f.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
        out.append((fields[0].lower(), params))
    return out


# --- discovery ---------------------------------------------------------------

def group_versions():
    return [{"groupVersion": "%s/%s" % (g, v), "version": v}
            for g, v in resources.GROUPS]


def api_group(group):
    versions = [gv for gv in group_versions()
                if gv["groupVersion"].startswith(group + "/")]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group,
            "versions": versions, "preferredVersion": versions[0]}


def resource_list(group, version):
    gv = "%s/%s" % (group, version) if group else version
    out = {"kind": "APIResourceList", "groupVersion": gv, "resources": [
        d for r in RESOURCES if (r.group, r.version) == (group, version)
        for d in r.discovery()]}
    if group:
        out["apiVersion"] = "v1"
    return out


def aggregated(core, version):
    """An apidiscovery.k8s.io APIGroupDiscoveryList of /api or /apis."""
    groups = [("", "v1")] if core else resources.GROUPS
    items = []
    for g, v in groups:
        res_entries = []
        for r in RESOURCES:
            if (r.group, r.version) != (g, v):
                continue
            e = {"resource": r.plural, "responseKind": {
                "group": g, "version": v, "kind": r.kind},
                "scope": "Namespaced" if r.namespaced else "Cluster",
                "singularResource": r.singular, "verbs": resources.VERBS}
            if r.short:
                e["shortNames"] = r.short
            if r.categories:
                e["categories"] = r.categories
            subs = [{"subresource": name, "responseKind": {
                "group": sg, "version": sv, "kind": sk}, "verbs": verbs}
                for name, (sg, sv, sk, verbs) in sorted(
                    r.subresources.items())]
            if subs:
                e["subresources"] = subs
            res_entries.append(e)
        items.append({"metadata": {"name": g}, "versions": [{
            "version": v, "resources": res_entries, "freshness": "Current"}]})
    return {"kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/" + version,
            "metadata": {}, "items": items}


# --- the HTTP side -----------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Heads and bodies go out in separate writes: without this, Nagle's
    # algorithm and delayed ACKs add some 40 ms to every kept-alive
    # request (tests/bench/kubewrap times requests).
    disable_nagle_algorithm = True
    server_version = "kube-fixture"
    sys_version = ""

    def setup(self):
        # the handshake runs in this connection's thread, never in the
        # accept loop
        self.request.settimeout(10)
        self.request = TLS.wrap_socket(self.request, server_side=True)
        self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    # --- recording ---
    def send_response(self, code, message=None):
        self.record(code)
        super().send_response(code, message)

    def record(self, status):
        if getattr(self, "recorded", True):
            return
        self.recorded = True
        h = self.headers
        fields = [self.command or "-", self.path or "-", "status=%d" % status,
                  "user=%s" % (self.user or "-"), "auth=%s" % self.auth]
        headers = {}
        if h is not None:
            for name in RECORD_HEADERS:
                values = h.get_all(name)
                if values:
                    fields.append("%s=%s" % (name.lower(), ",".join(values)))
            for k in h.keys():
                headers[k.lower()] = ",".join(h.get_all(k))
        entry = {"time": time.time(), "method": self.command,
                 "path": self.path, "status": status, "user": self.user,
                 "auth": self.auth, "headers": headers,
                 "body": self.body_text}
        line = "\t".join(f.replace("\t", " ") for f in fields) + "\n"
        with LOG_LOCK:
            with open(os.path.join(DIR, "requests.log"), "a") as f:
                f.write(line)
            with open(os.path.join(DIR, "requests.jsonl"), "a") as f:
                f.write(json.dumps(entry) + "\n")

    # --- plumbing ---
    def q(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def send_body(self, code, body, ctype=JSON, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj, ctype=JSON):
        self.send_body(code, dumps(obj), ctype)

    def start_stream(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def client_gone(self):
        """A client does not send anything while it reads a stream: any
        readable byte (close_notify, EOF) means it has left."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline(100).split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline(100)
                    return body
                body += self.rfile.read(size)
                self.rfile.readline(100)
                if len(body) > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge",
                                   "the request body is too large")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY or length < 0:
            self.close_connection = True
            raise ApiError(413, "RequestEntityTooLarge",
                           "the request body is too large")
        return self.rfile.read(length) if length else b""

    def authenticate(self):
        cert = self.connection.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v, "cert", False
        authz = self.headers.get("Authorization", "")
        if authz.startswith("Bearer "):
            given = authz[7:].strip().encode()
            found = None
            for token, (user, readonly) in TOKENS.items():
                if hmac.compare_digest(given, token.encode()):
                    found = (user, "bearer", readonly)
            if found:
                return found
            return None, "bearer-invalid", False
        if authz.startswith("Basic "):
            return None, "basic", False
        return None, "none", False

    # --- entry points ---
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def dispatch(self):
        self.recorded = False
        self.user, self.auth, self.body_text = None, "none", ""
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            body = self.read_body()
            self.body_text = body[:65536].decode("utf-8", "replace")
            self.user, self.auth, self.readonly = self.authenticate()
            if self.user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(normalise(url.path), body)
        except ApiError as e:
            self.send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError,
                socket.timeout):
            self.close_connection = True
        except ValueError as e:
            self.send_json(400, status_object(400, "BadRequest", str(e)))
        except Exception:
            log(traceback.format_exc())
            if not self.recorded:
                self.send_json(500, status_object(
                    500, "InternalError", "fixture error (see server.log)"))
            self.close_connection = True

    # --- routing ---
    def route(self, parts, body):
        method = self.command
        path = "/" + "/".join(parts)
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_body(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.send_json(200, {
                "major": "1", "minor": "20", "gitVersion": "v1.20.2",
                "gitCommit": "kube-fixture", "gitTreeState": "clean",
                "buildDate": "2021-01-13T13:20:00Z", "goVersion": "go1.15.5",
                "compiler": "gc", "platform": "linux/amd64"})
        if path == "/openapi/v2":
            return self.openapi()
        if not parts or parts[0] not in ("api", "apis"):
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        if parts[0] == "api":
            if len(parts) == 1:
                return self.discovery_root(True)
            group, version, rest = "", parts[1], parts[2:]
            if version != "v1":
                raise ApiError(404, "NotFound", "the server could not find "
                               "the requested resource")
        else:
            if len(parts) == 1:
                return self.discovery_root(False)
            group = parts[1]
            if not any(g == group for g, _ in resources.GROUPS):
                raise ApiError(404, "NotFound", "the server could not find "
                               "the requested resource")
            if len(parts) == 2:
                return self.send_json(200, api_group(group))
            version, rest = parts[2], parts[3:]
            if (group, version) not in resources.GROUPS:
                raise ApiError(404, "NotFound", "the server could not find "
                               "the requested resource")
        if not rest:
            return self.send_json(200, resource_list(group, version))
        watch_prefix = rest[0] == "watch"
        if watch_prefix:
            rest = rest[1:]
        ns = None
        if rest and rest[0] == "namespaces" and len(rest) >= 2:
            if len(rest) == 2 or (len(rest) == 3 and
                                  rest[2] in ("status", "finalize")):
                pass                          # the namespace object itself
            else:
                ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        res = resources.find(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if res is None or (ns is not None and not res.namespaced) or \
                (res.namespaced and name and ns is None):
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        self.authorize(res, ns, name, sub, method)
        if sub:
            return self.subresource(res, ns, name, sub, body)
        if method == "GET" or method == "HEAD":
            if watch_prefix or truthy(self.q("watch")):
                return self.watch(res, ns, name)
            if name:
                return self.respond_object(200, res, STORE.get(res, ns, name))
            return self.list(res, ns)
        dry = self.q("dryRun") == "All"
        if res.namespaced and ns is None:
            # across namespaces there is only list and watch
            raise ApiError(405, "MethodNotAllowed", "the server does not "
                           "allow this method on the requested resource")
        if name is None:
            if method == "POST":
                obj = STORE.create(res, ns, self.json_body(body), dry)
                return self.respond_object(201, res, obj)
            if method == "DELETE":
                match = Matcher(res, ns, self.q("labelSelector"),
                                self.q("fieldSelector"))
                items = STORE.delete_collection(res, match,
                                                self.delete_options(body), dry)
                return self.send_json(200, {
                    "kind": res.kind + "List", "apiVersion": res.api_version,
                    "metadata": {"resourceVersion": str(STORE.rv)},
                    "items": items})
        else:
            if method == "PUT":
                obj = STORE.update(res, ns, name, self.json_body(body), dry)
                return self.respond_object(200, res, obj)
            if method == "PATCH":
                return self.patch(res, ns, name, body, dry)
            if method == "DELETE":
                obj = STORE.delete(res, ns, name, self.delete_options(body),
                                   dry)
                if res.kind == "Pod":
                    return self.respond_object(200, res, obj)
                return self.send_json(200, status_object(
                    200, "", "", {"name": name, "group": res.group,
                                  "kind": res.plural,
                                  "uid": obj["metadata"]["uid"]}))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow "
                       "this method on the requested resource")

    def authorize(self, res, ns, name, sub, method):
        """The read-only user reads; exec, attach and portforward are not
        reads whatever their method."""
        streaming = sub in ("exec", "attach", "portforward")
        if not self.readonly or (method in ("GET", "HEAD") and
                                 not streaming):
            return
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}.get(
                    method, "create")
        what = res.plural + ("/" + sub if sub else "")
        msg = '%s%s is forbidden: User "%s" cannot %s resource "%s" in API ' \
              'group "%s"' % (what, ' "%s"' % name if name else "", self.user,
                              verb, what, res.group)
        if ns:
            msg += ' in the namespace "%s"' % ns
        raise ApiError(403, "Forbidden", msg, {
            "name": name or "", "group": res.group, "kind": res.plural})

    # --- negotiation ---
    def output_format(self, table_ok=True):
        accept = self.headers.get("Accept") or "*/*"
        for mtype, params in parse_media(accept):
            if mtype not in (JSON, "*/*", "application/*"):
                continue
            g, v, as_ = params.get("g"), params.get("v"), params.get("as")
            if as_ is None:
                return "json", None
            if g == "meta.k8s.io" and v in ("v1", "v1beta1"):
                if as_ == "Table" and table_ok:
                    return "table", v
                if as_ in ("PartialObjectMetadata",
                           "PartialObjectMetadataList"):
                    return "meta", v
        raise ApiError(406, "NotAcceptable", "only the following media types "
                       "are accepted: application/json, application/json;"
                       "as=Table;v=v1;g=meta.k8s.io, application/json;"
                       "as=PartialObjectMetadata;v=v1;g=meta.k8s.io (the "
                       "fixture never serves protobuf)")

    def json_body(self, body, allow=(JSON,)):
        ctype = (self.headers.get("Content-Type") or JSON).split(";")[0]
        ctype = ctype.strip().lower()
        if ctype not in allow:
            raise ApiError(415, "UnsupportedMediaType", "the body of the "
                           "request was in an unknown format - accepted "
                           "media types include: %s" % ", ".join(allow))
        try:
            return json.loads(body or b"null")
        except ValueError as e:
            raise ApiError(400, "BadRequest", "couldn't decode the body: "
                           "json parse error: %s" % e)

    def delete_options(self, body):
        opts = self.json_body(body) if body.strip() else {}
        if not isinstance(opts, dict):
            opts = {}
        if self.q("propagationPolicy"):
            opts["propagationPolicy"] = self.q("propagationPolicy")
        return opts

    def shape(self, res, obj, fmt, version, include):
        if fmt == "table":
            return resources.table(res, [obj], include, version, {
                "resourceVersion": obj["metadata"].get("resourceVersion",
                                                       "")})
        if fmt == "meta":
            return resources.partial_metadata(obj, version)
        return obj

    def respond_object(self, code, res, obj):
        fmt, version = self.output_format()
        self.send_json(code, self.shape(res, obj, fmt, version,
                                        self.q("includeObject", "Metadata")))

    # --- list and watch ---
    def list(self, res, ns):
        fmt, version = self.output_format()
        match = Matcher(res, ns, self.q("labelSelector"),
                        self.q("fieldSelector"))
        items, rv = STORE.list(res, match)
        meta = {"resourceVersion": str(rv)}
        cont = self.q("continue")
        if cont:
            try:
                start = tuple(json.loads(base64.urlsafe_b64decode(
                    cont.encode()))["start"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "invalid continue token")
            items = [o for o in items if (o["metadata"].get("namespace", ""),
                                          o["metadata"]["name"]) > start]
        try:
            limit = int(self.q("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid limit")
        if limit > 0 and len(items) > limit:
            last = items[limit - 1]["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"start": [last.get("namespace", ""), last["name"]]})
                .encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if fmt == "table":
            out = resources.table(res, items, self.q("includeObject",
                                                     "Metadata"),
                                  version, meta)
        elif fmt == "meta":
            out = {"kind": "PartialObjectMetadataList",
                   "apiVersion": "meta.k8s.io/" + version, "metadata": meta,
                   "items": [resources.partial_metadata(o, version)
                             for o in items]}
        else:
            out = {"kind": res.kind + "List", "apiVersion": res.api_version,
                   "metadata": meta, "items": items}
        self.send_json(200, out)

    def watch(self, res, ns, name):
        fmt, version = self.output_format()
        include = self.q("includeObject", "Metadata")
        fields = self.q("fieldSelector") or ""
        if name:
            fields = ",".join(f for f in (fields, "metadata.name=" + name)
                              if f)
        match = Matcher(res, ns, self.q("labelSelector"), fields)
        try:
            timeout = float(self.q("timeoutSeconds") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid timeoutSeconds")
        deadline = time.monotonic() + timeout if timeout > 0 else None
        bookmarks = truthy(self.q("allowWatchBookmarks"))
        try:
            initial, last = STORE.watch_start(res, match,
                                              self.q("resourceVersion"))
            gone = None
        except Gone as e:
            initial, last, gone = [], 0, str(e)
        self.start_stream(JSON)

        def send(etype, obj):
            self.chunk(dumps({"type": etype, "object": self.shape(
                res, obj, fmt, version, include)}))

        try:
            if gone:
                self.chunk(dumps({"type": "ERROR", "object": status_object(
                    410, "Expired", gone)}))
                return self.end_stream()
            for obj in initial:
                send("ADDED", obj)
            quiet_since = time.monotonic()
            while deadline is None or time.monotonic() < deadline:
                if self.client_gone():
                    self.close_connection = True
                    return
                try:
                    events, current = STORE.events_after(last, WATCH_TICK)
                except Gone as e:
                    self.chunk(dumps({"type": "ERROR", "object":
                                      status_object(410, "Expired", str(e))}))
                    break
                for rv, etype, plural, obj, prev in events:
                    last = rv
                    if plural != res.plural:
                        continue
                    now, before = match(obj), match(prev)
                    if etype == "ADDED" and now:
                        send("ADDED", obj)
                    elif etype == "MODIFIED" and (now or before):
                        send("MODIFIED" if now and before else
                             "ADDED" if now else "DELETED", obj)
                    elif etype == "DELETED" and (now or before):
                        send("DELETED", obj)
                    else:
                        continue
                    quiet_since = time.monotonic()
                if bookmarks and time.monotonic() - quiet_since > 1.0:
                    self.chunk(dumps({"type": "BOOKMARK", "object": {
                        "kind": res.kind, "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": str(current)}}}))
                    quiet_since = time.monotonic()
            self.end_stream()
        except OSError:
            self.close_connection = True

    # --- patch ---
    def patch(self, res, ns, name, body, dry, sub=None):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        kind = PATCH_TYPES.get(ctype.strip().lower())
        if kind is None:
            raise ApiError(415, "UnsupportedMediaType", "the body of the "
                           "request was in an unknown format - accepted "
                           "media types include: %s" % ", ".join(PATCH_TYPES))
        try:
            doc = json.loads(body or b"null")
        except ValueError:
            if kind == "apply":
                raise ApiError(415, "UnsupportedMediaType", "the fixture "
                               "reads apply patches written as JSON only")
            raise ApiError(400, "BadRequest", "couldn't decode the patch")
        if not isinstance(doc, list if kind == "json" else dict):
            raise ApiError(400, "BadRequest", "a %s patch must be a JSON "
                           "%s" % (kind, "list" if kind == "json"
                                   else "object"))
        fn = self.patch_function(kind, doc)
        if sub == "scale":
            scale = fn(STORE.scale(res, ns, name))
            return self.send_json(200, STORE.set_scale(res, ns, name, scale,
                                                       dry))
        if kind == "apply":
            try:
                STORE.get(res, ns, name)
            except ApiError as e:
                if e.code != 404:
                    raise
                obj = STORE.create(res, ns, dict(doc, metadata=dict(
                    doc.get("metadata") or {}, name=name)), dry)
                return self.respond_object(201, res, obj)
        obj = STORE.patch(res, ns, name, fn, dry, sub)
        self.respond_object(200, res, obj)

    @staticmethod
    def patch_function(kind, doc):
        def apply(cur):
            try:
                if kind == "json":
                    return patch.json_patch(cur, doc)
                if kind in ("merge", "apply"):
                    return patch.merge_patch(cur, doc)
                return patch.strategic_merge(cur, doc)
            except patch.PatchError as e:
                raise ApiError(422 if kind == "json" else 400,
                               "Invalid" if kind == "json" else "BadRequest",
                               "the patch could not be applied: %s" % e)
        return apply

    # --- subresources ---
    def subresource(self, res, ns, name, sub, body):
        if sub not in res.subresources:
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        method, dry = self.command, self.q("dryRun") == "All"
        if sub == "status":
            if method == "GET":
                return self.respond_object(200, res, STORE.get(res, ns, name))
            if method == "PUT":
                return self.respond_object(200, res, STORE.update(
                    res, ns, name, self.json_body(body), dry, "status"))
            if method == "PATCH":
                return self.patch(res, ns, name, body, dry, "status")
        elif sub == "scale":
            if method == "GET":
                return self.send_json(200, STORE.scale(res, ns, name))
            if method == "PUT":
                return self.send_json(200, STORE.set_scale(
                    res, ns, name, self.json_body(body), dry))
            if method == "PATCH":
                return self.patch(res, ns, name, body, dry, "scale")
        elif sub == "log" and method == "GET":
            return self.pod_log(ns, name)
        elif sub in ("exec", "attach", "portforward") and method in ("GET",
                                                                     "POST"):
            return self.stream_subresource(ns, name, sub)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow "
                       "this method on the requested resource")

    def pod_container(self, pod):
        containers = [c.get("name") for c in pod["spec"].get("containers")
                      or []]
        want = self.q("container")
        if not want:
            if len(containers) != 1:
                raise ApiError(400, "BadRequest", "a container name must be "
                               "specified for pod %s, choose one of: [%s]" % (
                                   pod["metadata"]["name"],
                                   " ".join(containers)))
            want = containers[0]
        if want not in containers:
            raise ApiError(400, "BadRequest", "container %s is not valid for "
                           "pod %s" % (want, pod["metadata"]["name"]))
        return next(c for c in pod["spec"]["containers"]
                    if c.get("name") == want)

    @staticmethod
    def log_path(ns, name):
        return os.path.join(DIR, "logs", ns, name + ".log")

    def log_text(self, pod, container):
        path = self.log_path(pod["metadata"]["namespace"],
                             pod["metadata"]["name"])
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return ("%s %s started\n%s %s ready\n" % (
                pod["metadata"]["name"], container["name"],
                pod["metadata"]["name"], container["name"])).encode()

    def pod_log(self, ns, name):
        res = resources.BY_PLURAL["pods"]
        pod = STORE.get(res, ns, name)
        container = self.pod_container(pod)
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Pending":
            raise ApiError(400, "BadRequest", 'container "%s" in pod "%s" is '
                           'waiting to start: ContainerCreating' % (
                               container["name"], name))
        if truthy(self.q("previous")):
            raise ApiError(400, "BadRequest", 'previous terminated container '
                           '"%s" in pod "%s" not found' % (container["name"],
                                                             name))
        text = self.log_text(pod, container)
        path = self.log_path(ns, name)
        offset = len(text) if os.path.exists(path) else None
        tail = self.q("tailLines")
        if tail is not None and tail.isdigit():
            lines = text.splitlines(True)
            text = b"".join(lines[-int(tail):]) if int(tail) else b""
        stamps = truthy(self.q("timestamps"))

        def shaped(data):
            if stamps:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z ",
                                      time.gmtime()).encode()
                data = b"".join(stamp + line for line in
                                data.splitlines(True))
            return data

        limit = self.q("limitBytes")
        if not truthy(self.q("follow")):
            data = shaped(text)
            if limit and limit.isdigit():
                data = data[:int(limit)]
            return self.send_body(200, data, "text/plain")
        # follow: what is there, then what is appended to the log file,
        # until the log is ended (POD.end exists), nothing came for
        # FOLLOW_IDLE seconds or the pod is gone
        self.start_stream("text/plain")
        try:
            self.chunk(shaped(text))
            idle_since = time.monotonic()
            ended = False
            while not ended and time.monotonic() - idle_since < FOLLOW_IDLE:
                time.sleep(0.05)
                ended = os.path.exists(path[:-len(".log")] + ".end")
                if self.client_gone():
                    self.close_connection = True
                    return
                try:
                    STORE.get(res, ns, name)
                except ApiError:
                    break
                try:
                    with open(path, "rb") as f:
                        f.seek(offset or 0)
                        more = f.read()
                except FileNotFoundError:
                    more = b""
                if more:
                    offset = (offset or 0) + len(more)
                    self.chunk(shaped(more))
                    idle_since = time.monotonic()
            self.end_stream()
        except OSError:
            self.close_connection = True

    def stream_subresource(self, ns, name, sub):
        pod = STORE.get(resources.BY_PLURAL["pods"], ns, name)
        phase = (pod.get("status") or {}).get("phase")
        if phase != "Running":
            raise ApiError(400, "BadRequest", "pod %s is not running "
                           "(phase %s)" % (name, phase))
        upgrade = (self.headers.get("Upgrade") or "").lower()
        connection = (self.headers.get("Connection") or "").lower()
        if "upgrade" not in connection or upgrade != "spdy/3.1":
            raise ApiError(400, "BadRequest", "Upgrade request required "
                           "(the fixture speaks SPDY/3.1 only)")
        offered = [p.strip() for v in self.headers.get_all(
            "X-Stream-Protocol-Version") or [] for p in v.split(",")
            if p.strip()]
        supported = (streams.PORTFORWARD_PROTOCOLS if sub == "portforward"
                     else streams.EXEC_PROTOCOLS)
        protocol = streams.negotiate(offered, supported)
        if protocol is None:
            raise ApiError(403, "Forbidden", "unable to upgrade: unable to "
                           "negotiate protocol: client supports %s, server "
                           "accepts %s" % (offered, supported))
        if sub == "portforward":
            session_factory = lambda conn: streams.PortForwardSession(
                conn, log, lambda port: log("portforward %s/%s port %d" % (
                    ns, name, port)))
        else:
            container = self.pod_container(pod)
            argv = self.query.get("command", [])
            if sub == "exec" and not argv:
                raise ApiError(400, "BadRequest", "you must specify at least "
                               "1 command")
            opts = {k: truthy(self.q(k)) for k in ("stdin", "stdout",
                                                   "stderr", "tty")}
            env = container_env(STORE, pod, container)
            if opts["tty"]:
                env["TERM"] = "xterm"
            if sub == "exec":
                program = lambda proc: execsim.run(argv, proc)
            else:
                log_text = self.log_text(pod, container)

                def program(proc):
                    proc.write(log_text)
                    if proc.eof:
                        return 0
                    return execsim.run(["cat"], proc)
            session_factory = lambda conn: streams.ExecSession(
                conn, log, protocol, opts, program, argv or ["attach"], env,
                lambda code: log("%s %s/%s %s: exit %d" % (
                    sub, ns, name, argv, code)))
        self.send_response(101, "Switching Protocols")
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", "SPDY/3.1")
        self.send_header("X-Stream-Protocol-Version", protocol)
        self.end_headers()
        self.close_connection = True
        session_factory(spdy.Connection(self.rfile, self.wfile)).serve()

    # --- discovery and OpenAPI ---
    def discovery_root(self, core):
        for mtype, params in parse_media(self.headers.get("Accept")):
            if mtype == JSON and params.get("as") == "APIGroupDiscoveryList" \
                    and params.get("g") == "apidiscovery.k8s.io" and \
                    params.get("v") in ("v2", "v2beta1"):
                v = params["v"]
                return self.send_json(200, aggregated(core, v), "%s;g=api"
                                      "discovery.k8s.io;v=%s;as=APIGroup"
                                      "DiscoveryList" % (JSON, v))
        if core:
            return self.send_json(200, {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{
                    "clientCIDR": "0.0.0.0/0",
                    "serverAddress": "127.0.0.1:%d" % PORT}]})
        return self.send_json(200, {
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [api_group(g) for g, _ in resources.GROUPS]})

    def openapi(self):
        accept = [m for m, _ in parse_media(self.headers.get("Accept"))]
        doc = openapi.document()
        if PB_OPENAPI in accept:
            # the real server answers with this type too: Go cannot parse
            # the "@" of the requested one
            return self.send_body(200, openapi.protobuf(doc),
                                  "application/octet-stream")
        if not accept or any(m in (JSON, "*/*", "application/*")
                             for m in accept):
            return self.send_json(200, doc)
        raise ApiError(406, "NotAcceptable", "only the following media types "
                       "are accepted: application/json, " + PB_OPENAPI)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if not isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout,
                              OSError)):
            log("connection error: %r" % e)


def load_tokens(path):
    tokens = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2 and not fields[0].startswith("#"):
                tokens[fields[0]] = (fields[1], "readonly" in fields[2:])
    return tokens


def load_seed(path):
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
        objects = data.get("items", []) if isinstance(data, dict) else data
    else:
        objects = seed.default_objects()
    by_kind = {(r.api_version, r.kind): r for r in RESOURCES}
    for obj in objects:
        res = by_kind.get((obj.get("apiVersion"), obj.get("kind")))
        if res is None:
            raise SystemExit("seed: unknown kind %s %s" % (
                obj.get("apiVersion"), obj.get("kind")))
        ns = (obj.get("metadata") or {}).get("namespace", "default")
        if res.kind == "Event":
            inv = obj.get("involvedObject") or {}
            target = resources.find("", "v1", (inv.get("kind") or "").lower()
                                    + "s")
            if target is not None and "uid" not in inv:
                try:
                    inv["uid"] = STORE.get(target, inv.get("namespace"),
                                           inv.get("name"))["metadata"]["uid"]
                except ApiError:
                    pass
        try:
            STORE.create(res, ns, obj)
        except ApiError as e:
            raise SystemExit("seed: %s" % e.message)


def main():
    global DIR, PORT, TOKENS, TLS
    if len(sys.argv) != 3:
        raise SystemExit("usage: kube-fixture.py DIR PORT")
    DIR, PORT = sys.argv[1], int(sys.argv[2])
    TOKENS = load_tokens(os.path.join(DIR, "tokens"))
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.load_cert_chain(os.path.join(DIR, "server.pem"),
                        os.path.join(DIR, "server-key.pem"))
    TLS.load_verify_locations(os.path.join(DIR, "ca.pem"))
    TLS.verify_mode = ssl.CERT_OPTIONAL
    load_seed(os.path.join(DIR, "seed.json"))
    server = Server(("127.0.0.1", PORT), Handler)
    with open(os.path.join(DIR, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    log("listening on https://127.0.0.1:%d" % PORT)
    server.serve_forever()


if __name__ == "__main__":
    main()
