"""A small OpenAPI v2 document for the fixture's kinds, served as JSON or,
as kubectl 1.20 asks for it (Accept: application/com.github.proto-openapi.
spec.v2@v1.0+protobuf), as the protobuf encoding of gnostic's
openapi.v2.Document. kubectl validates manifests against it (create,
apply), computes apply's strategic merge patches from its
x-kubernetes-patch-* extensions, and explain prints its descriptions.

Only the fields tests meet are modelled; deep or rarely used structures
(probes, security contexts, affinity, statuses...) are left as schemas
without type or properties, which kubectl accepts whatever they hold."""
import json

from resources import RESOURCES

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."


def ref(name, desc=None, **ext):
    s = {"$ref": "#/definitions/" + name}
    if desc:
        s["description"] = desc
    s.update({k.replace("_", "-"): v for k, v in ext.items()})
    return s


def prim(kind, desc="", fmt=None):
    s = {"type": kind, "description": desc}
    if fmt:
        s["format"] = fmt
    return s


def string(desc=""):
    return prim("string", desc)


def i32(desc=""):
    return prim("integer", desc, "int32")


def i64(desc=""):
    return prim("integer", desc, "int64")


def boolean(desc=""):
    return prim("boolean", desc)


def anything(desc):
    return {"description": desc}


def array(items, desc="", key=None, strategy=None):
    s = {"type": "array", "items": items, "description": desc}
    if key:
        s["x-kubernetes-patch-merge-key"] = key
        s["x-kubernetes-patch-strategy"] = strategy or "merge"
    elif strategy:
        s["x-kubernetes-patch-strategy"] = strategy
    return s


def strmap(desc="", items=None):
    return {"type": "object", "description": desc,
            "additionalProperties": items or {"type": "string"}}


def kind(desc, props, required=(), gvk=None):
    s = {"description": desc, "type": "object", "properties": props}
    if required:
        s["required"] = list(required)
    if gvk:
        s["x-kubernetes-group-version-kind"] = [
            {"group": gvk[0], "kind": gvk[2], "version": gvk[1]}]
    return s


def top(desc, gvk, spec=None, status=None, extra=None):
    props = {
        "apiVersion": string("APIVersion defines the versioned schema of "
                             "this representation of an object."),
        "kind": string("Kind is a string value representing the REST "
                       "resource this object represents."),
        "metadata": ref(META + "ObjectMeta", "Standard object's metadata."),
    }
    if spec:
        props["spec"] = ref(spec, "Specification of the desired behavior.")
    if status:
        props["status"] = anything("Most recently observed status. "
                                   "Read-only.")
    props.update(extra or {})
    return kind(desc, props, gvk=gvk)


def definitions():
    d = {}
    d[META + "Time"] = prim("string", "Time is a wrapper around time.Time.",
                            "date-time")
    d["io.k8s.apimachinery.pkg.api.resource.Quantity"] = string(
        "Quantity is a fixed-point representation of a number.")
    d["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = prim(
        "string", "IntOrString holds an int32 or a string.", "int-or-string")
    d[META + "OwnerReference"] = kind(
        "OwnerReference identifies an owning object.", {
            "apiVersion": string("API version of the referent."),
            "kind": string("Kind of the referent."),
            "name": string("Name of the referent."),
            "uid": string("UID of the referent."),
            "controller": boolean("If true, this reference points to the "
                                  "managing controller."),
            "blockOwnerDeletion": boolean("If true, the owner cannot be "
                                          "deleted before this object."),
        }, ["apiVersion", "kind", "name", "uid"])
    d[META + "ObjectMeta"] = kind(
        "ObjectMeta is metadata that all persisted resources must have.", {
            "name": string("Name must be unique within a namespace."),
            "generateName": string("Prefix for a server-generated name."),
            "namespace": string("Namespace defines the space within which "
                                "each name must be unique."),
            "selfLink": string("Deprecated."),
            "uid": string("UID is the unique in time and space value for "
                          "this object."),
            "resourceVersion": string("An opaque value that represents the "
                                      "internal version of this object."),
            "generation": i64("A sequence number representing a specific "
                              "generation of the desired state."),
            "creationTimestamp": ref(META + "Time", "Creation time."),
            "deletionTimestamp": ref(META + "Time", "Deletion time."),
            "deletionGracePeriodSeconds": i64("Grace period."),
            "labels": strmap("Map of string keys and values that can be "
                             "used to organize and categorize objects."),
            "annotations": strmap("Annotations is an unstructured key value "
                                  "map."),
            "ownerReferences": array(ref(META + "OwnerReference"),
                                     "Objects this object depends on.",
                                     "uid"),
            "finalizers": array(string(), "Must be empty before the object "
                                "is deleted.", strategy="merge"),
            "managedFields": array(anything("A field set."), "Field "
                                   "ownership."),
            "clusterName": string("Unused."),
        })
    d[META + "LabelSelector"] = kind(
        "A label query over a set of resources.", {
            "matchLabels": strmap("A map of {key,value} pairs."),
            "matchExpressions": array(ref(META + "LabelSelectorRequirement"),
                                      "A list of label selector "
                                      "requirements."),
        })
    d[META + "LabelSelectorRequirement"] = kind(
        "A selector that contains values, a key, and an operator.", {
            "key": string("The label key."),
            "operator": string("In, NotIn, Exists or DoesNotExist."),
            "values": array(string(), "An array of string values."),
        }, ["key", "operator"])
    qty = ref("io.k8s.apimachinery.pkg.api.resource.Quantity")

    d[CORE + "EnvVar"] = kind("An environment variable in a container.", {
        "name": string("Name of the environment variable."),
        "value": string("Its value."),
        "valueFrom": anything("Source for the environment variable's value "
                              "(secretKeyRef, configMapKeyRef, fieldRef, "
                              "resourceFieldRef)."),
    }, ["name"])
    d[CORE + "ContainerPort"] = kind("A network port in a container.", {
        "name": string("Name of the port."),
        "containerPort": i32("Number of port to expose on the pod's IP."),
        "hostPort": i32("Port on the host."),
        "hostIP": string("Host IP to bind to."),
        "protocol": string("UDP, TCP or SCTP."),
    }, ["containerPort"])
    d[CORE + "VolumeMount"] = kind("A mounting of a Volume.", {
        "name": string("Name of the volume."),
        "mountPath": string("Path within the container."),
        "readOnly": boolean("Mounted read-only."),
        "subPath": string("Path within the volume."),
        "subPathExpr": string("Expanded path within the volume."),
        "mountPropagation": string("Mount propagation mode."),
    }, ["name", "mountPath"])
    d[CORE + "ResourceRequirements"] = kind("Compute resource requirements.", {
        "limits": strmap("Maximum amount of compute resources allowed.", qty),
        "requests": strmap("Minimum amount of compute resources required.",
                           qty),
    })
    d[CORE + "Container"] = kind("A single application container.", {
        "name": string("Name of the container."),
        "image": string("Container image name."),
        "command": array(string(), "Entrypoint array."),
        "args": array(string(), "Arguments to the entrypoint."),
        "workingDir": string("Container's working directory."),
        "ports": array(ref(CORE + "ContainerPort"), "Ports to expose.",
                       "containerPort"),
        "env": array(ref(CORE + "EnvVar"), "Environment variables.", "name"),
        "envFrom": array(anything("A source of environment variables."),
                         "Sources of environment variables."),
        "resources": ref(CORE + "ResourceRequirements", "Compute resources."),
        "volumeMounts": array(ref(CORE + "VolumeMount"), "Volumes to mount.",
                              "mountPath"),
        "volumeDevices": array(anything("A block device."), "Block devices.",
                               "devicePath"),
        "livenessProbe": anything("Periodic probe of liveness."),
        "readinessProbe": anything("Periodic probe of readiness."),
        "startupProbe": anything("Probe of startup."),
        "lifecycle": anything("Lifecycle hooks."),
        "terminationMessagePath": string("Termination message file."),
        "terminationMessagePolicy": string("How the message is filled."),
        "imagePullPolicy": string("Always, Never or IfNotPresent."),
        "securityContext": anything("Security options."),
        "stdin": boolean("Allocate a buffer for stdin."),
        "stdinOnce": boolean("Close stdin after one attach."),
        "tty": boolean("Allocate a TTY."),
    }, ["name"])
    volume_sources = ("configMap secret emptyDir hostPath "
                      "persistentVolumeClaim projected downwardAPI nfs csi "
                      "ephemeral").split()
    d[CORE + "Volume"] = kind("A named volume in a pod.", dict(
        {"name": string("Volume's name.")},
        **{s: anything("The %s volume source." % s) for s in volume_sources}),
        ["name"])
    d[CORE + "LocalObjectReference"] = kind(
        "A reference to an object in the same namespace.",
        {"name": string("Name of the referent.")})
    d[CORE + "PodSpec"] = kind("A description of a pod.", {
        "containers": array(ref(CORE + "Container"), "Containers of the pod.",
                            "name"),
        "initContainers": array(ref(CORE + "Container"), "Init containers.",
                                "name"),
        "ephemeralContainers": array(anything("An ephemeral container."),
                                     "Ephemeral containers.", "name"),
        "volumes": array(ref(CORE + "Volume"), "Volumes.", "name",
                         "merge,retainKeys"),
        "restartPolicy": string("Always, OnFailure or Never."),
        "terminationGracePeriodSeconds": i64("Grace period in seconds."),
        "activeDeadlineSeconds": i64("Deadline in seconds."),
        "dnsPolicy": string("DNS policy."),
        "dnsConfig": anything("DNS parameters."),
        "nodeSelector": strmap("Selector for nodes."),
        "serviceAccountName": string("Service account name."),
        "serviceAccount": string("Deprecated alias of serviceAccountName."),
        "automountServiceAccountToken": boolean("Mount the token."),
        "nodeName": string("Node the pod is bound to."),
        "hostNetwork": boolean("Use the host's network namespace."),
        "hostPID": boolean("Use the host's pid namespace."),
        "hostIPC": boolean("Use the host's ipc namespace."),
        "shareProcessNamespace": boolean("Share one pid namespace."),
        "securityContext": anything("Pod-level security attributes."),
        "imagePullSecrets": array(ref(CORE + "LocalObjectReference"),
                                  "Secrets for pulling images.", "name"),
        "hostname": string("Hostname of the pod."),
        "subdomain": string("Subdomain of the pod."),
        "affinity": anything("Scheduling constraints."),
        "schedulerName": string("Scheduler to use."),
        "tolerations": array(anything("A toleration."), "Tolerations."),
        "hostAliases": array(anything("A hosts file entry."),
                             "Hosts file entries.", "ip"),
        "priorityClassName": string("Priority class."),
        "priority": i32("Priority value."),
        "readinessGates": array(anything("A readiness gate."),
                                "Readiness gates."),
        "runtimeClassName": string("Runtime class."),
        "enableServiceLinks": boolean("Inject service environment."),
        "preemptionPolicy": string("Preemption policy."),
        "overhead": strmap("Resource overhead.", qty),
        "topologySpreadConstraints": array(anything("A spread constraint."),
                                           "Spread constraints.",
                                           "topologyKey"),
        "setHostnameAsFQDN": boolean("Use the FQDN as hostname."),
    }, ["containers"])
    d[CORE + "PodTemplateSpec"] = kind("A template for pods.", {
        "metadata": ref(META + "ObjectMeta", "Standard object's metadata."),
        "spec": ref(CORE + "PodSpec", "Specification of the pods."),
    })
    d[CORE + "Pod"] = top("Pod is a collection of containers that can run "
                          "on a host.", ("", "v1", "Pod"), CORE + "PodSpec",
                          True)
    d[CORE + "NamespaceSpec"] = kind("Attributes of a namespace.", {
        "finalizers": array(string(), "Finalizers."),
    })
    d[CORE + "Namespace"] = top("Namespace provides a scope for names.",
                                ("", "v1", "Namespace"),
                                CORE + "NamespaceSpec", True)
    d[CORE + "Secret"] = top("Secret holds secret data of a certain type.",
                             ("", "v1", "Secret"), extra={
        "data": strmap("Secret data, base64 encoded values.",
                       prim("string", "", "byte")),
        "stringData": strmap("Write-only plain text values merged into "
                             "data."),
        "type": string("Used to facilitate programmatic handling of secret "
                       "data."),
        "immutable": boolean("Immutable secret."),
    })
    d[CORE + "ConfigMap"] = top("ConfigMap holds configuration data.",
                                ("", "v1", "ConfigMap"), extra={
        "data": strmap("Configuration data."),
        "binaryData": strmap("Binary data, base64 encoded values.",
                             prim("string", "", "byte")),
        "immutable": boolean("Immutable config map."),
    })
    d[CORE + "ServicePort"] = kind("A port of a service.", {
        "name": string("Name of the port."),
        "protocol": string("TCP, UDP or SCTP."),
        "appProtocol": string("Application protocol."),
        "port": i32("The port exposed by the service."),
        "targetPort": ref("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                          "Port on the pods."),
        "nodePort": i32("Port on each node."),
    }, ["port"])
    d[CORE + "ServiceSpec"] = kind("Attributes of a service.", {
        "ports": array(ref(CORE + "ServicePort"), "Exposed ports.", "port"),
        "selector": strmap("Pods the service routes to."),
        "clusterIP": string("IP address of the service."),
        "clusterIPs": array(string(), "IP addresses of the service."),
        "type": string("ClusterIP, NodePort, LoadBalancer or ExternalName."),
        "externalIPs": array(string(), "External IPs."),
        "sessionAffinity": string("ClientIP or None."),
        "sessionAffinityConfig": anything("Session affinity settings."),
        "loadBalancerIP": string("Requested load balancer IP."),
        "loadBalancerSourceRanges": array(string(), "Allowed sources."),
        "externalName": string("External DNS name."),
        "externalTrafficPolicy": string("Local or Cluster."),
        "healthCheckNodePort": i32("Health check node port."),
        "publishNotReadyAddresses": boolean("Publish unready endpoints."),
        "ipFamilies": array(string(), "IP families."),
        "ipFamilyPolicy": string("IP family policy."),
        "topologyKeys": array(string(), "Topology keys."),
        "allocateLoadBalancerNodePorts": boolean("Allocate node ports."),
    })
    d[CORE + "Service"] = top("Service is a named abstraction of a set of "
                              "pods.", ("", "v1", "Service"),
                              CORE + "ServiceSpec", True)
    d[CORE + "ObjectReference"] = kind("A reference to an object.", {
        f: string("The referent's %s." % f) for f in (
            "kind", "namespace", "name", "uid", "apiVersion",
            "resourceVersion", "fieldPath")})
    d[CORE + "Event"] = top("Event is a report of an event somewhere in the "
                            "cluster.", ("", "v1", "Event"), extra={
        "involvedObject": ref(CORE + "ObjectReference", "The object this "
                              "event is about."),
        "reason": string("Short reason for the transition."),
        "message": string("Human-readable description."),
        "source": anything("The component reporting this event."),
        "firstTimestamp": ref(META + "Time", "First occurrence."),
        "lastTimestamp": ref(META + "Time", "Last occurrence."),
        "count": i32("Number of occurrences."),
        "type": string("Normal or Warning."),
        "eventTime": prim("string", "Time of first observation.",
                          "date-time"),
        "series": anything("Data about the event series."),
        "action": string("What action was taken."),
        "related": ref(CORE + "ObjectReference", "Secondary object."),
        "reportingComponent": string("Reporting controller."),
        "reportingInstance": string("Reporting controller instance."),
    })
    d[APPS + "DeploymentStrategy"] = kind("How to replace pods.", {
        "type": string("Recreate or RollingUpdate."),
        "rollingUpdate": anything("Rolling update parameters."),
    })
    d[APPS + "DeploymentSpec"] = kind("The desired state of a deployment.", {
        "replicas": i32("Number of desired pods."),
        "selector": ref(META + "LabelSelector", "Label selector for pods."),
        "template": ref(CORE + "PodTemplateSpec", "Template of the pods."),
        "strategy": ref(APPS + "DeploymentStrategy", "Replacement strategy.",
                        x_kubernetes_patch_strategy="retainKeys"),
        "minReadySeconds": i32("Minimum seconds ready."),
        "revisionHistoryLimit": i32("Old ReplicaSets kept."),
        "paused": boolean("The deployment is paused."),
        "progressDeadlineSeconds": i32("Progress deadline."),
    }, ["selector", "template"])
    d[APPS + "Deployment"] = top("Deployment enables declarative updates "
                                 "for Pods and ReplicaSets.",
                                 ("apps", "v1", "Deployment"),
                                 APPS + "DeploymentSpec", True)
    d[APPS + "ReplicaSetSpec"] = kind("The desired state of a ReplicaSet.", {
        "replicas": i32("Number of desired pods."),
        "minReadySeconds": i32("Minimum seconds ready."),
        "selector": ref(META + "LabelSelector", "Label selector for pods."),
        "template": ref(CORE + "PodTemplateSpec", "Template of the pods."),
    }, ["selector"])
    d[APPS + "ReplicaSet"] = top("ReplicaSet ensures that a specified number "
                                 "of pod replicas are running.",
                                 ("apps", "v1", "ReplicaSet"),
                                 APPS + "ReplicaSetSpec", True)
    d["io.k8s.api.autoscaling.v1.ScaleSpec"] = kind(
        "The desired scale.", {"replicas": i32("Desired replicas.")})
    d["io.k8s.api.autoscaling.v1.Scale"] = top(
        "Scale represents a scaling request for a resource.",
        ("autoscaling", "v1", "Scale"), "io.k8s.api.autoscaling.v1.ScaleSpec",
        True)
    return d


def paths():
    """One PATCH operation per kind, with its dryRun parameter: kubectl
    1.20 looks there to learn whether --dry-run=server is supported."""
    out = {}
    for r in RESOURCES:
        ns = "/namespaces/{namespace}" if r.namespaced else ""
        out["%s%s/%s/{name}" % (r.prefix, ns, r.plural)] = {"patch": {
            "description": "partially update the specified %s" % r.kind,
            "operationId": "patch%s" % r.kind,
            "parameters": [{"name": "dryRun", "in": "query",
                            "type": "string", "uniqueItems": True,
                            "description": "All: no change is persisted"}],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {
                "group": r.group, "kind": r.kind, "version": r.version}}}
    return out


def document():
    return {"swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.20.2"},
            "paths": paths(), "definitions": definitions()}


# --- protobuf (gnostic openapi.v2) -----------------------------------------

def _varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def _field(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _schema(s):
    # openapi.v2.Schema field numbers
    out = b""
    if "$ref" in s:
        out += _field(1, s["$ref"])
    if "format" in s:
        out += _field(2, s["format"])
    if s.get("description"):
        out += _field(4, s["description"])
    for r in s.get("required", []):
        out += _field(19, r)
    if isinstance(s.get("additionalProperties"), dict):
        out += _field(21, _field(1, _schema(s["additionalProperties"])))
    if "type" in s:
        out += _field(22, _field(1, s["type"]))
    if "items" in s:
        out += _field(23, _field(1, _schema(s["items"])))
    if "properties" in s:
        out += _field(25, b"".join(
            _field(1, _field(1, name) + _field(2, _schema(value)))
            for name, value in s["properties"].items()))
    # vendor extensions as NamedAny > Any.yaml (JSON is YAML)
    return out + _extensions(31, s)


def _extensions(num, obj):
    return b"".join(_field(num, _field(1, name) +
                           _field(2, _field(2, json.dumps(value))))
                    for name, value in obj.items() if name.startswith("x-"))


def _operation(op):
    # Operation: description 3, operation_id 5, parameters 8 (each a
    # ParametersItem > Parameter > NonBodyParameter >
    # QueryParameterSubSchema: in 2, description 3, name 4, type 6),
    # vendor_extension 13; responses are left out
    out = _field(3, op["description"]) + _field(5, op["operationId"])
    for p in op["parameters"]:
        query = (_field(2, p["in"]) + _field(3, p["description"]) +
                 _field(4, p["name"]) + _field(6, p["type"]))
        out += _field(8, _field(1, _field(2, _field(3, query))))
    return out + _extensions(13, op)


def protobuf(doc):
    info = _field(1, doc["info"]["title"]) + _field(2, doc["info"]["version"])
    # Paths.path 2: NamedPathItem; PathItem.patch 8
    paths = b"".join(_field(2, _field(1, name) + _field(
        2, _field(8, _operation(item["patch"]))))
        for name, item in doc["paths"].items())
    defs = b"".join(_field(1, _field(1, name) + _field(2, _schema(s)))
                    for name, s in doc["definitions"].items())
    return (_field(1, doc["swagger"]) + _field(2, info) + _field(8, paths) +
            _field(9, defs))

