"""The cluster the fixture starts with when no seed file is given.

namespaces  default, kube-system, prod
default     secret db-creds (username=app, password=s3cr3t-pa55)
            configmap app-config (LOG_LEVEL=info,
                DATABASE_URL=postgres://app:cm-s3cret@db:5432/app)
            pod toolbox (container main, image busybox:1.36, label
                app=toolbox; env DB_PASSWORD from db-creds/password and
                LOG_LEVEL from app-config)
            deployment web (2 replicas of nginx:1.25, label app=web), its
                ReplicaSet and pods
            service web (80 -> 8080, selector app=web)
            event toolbox.started (Normal Started on pod toolbox)
prod        secret api-key (token=prod-t0ken-value)
            deployment api (1 replica of api:2.0, label app=api)"""
import base64


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _deployment(ns, name, image, replicas, port):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{
                                      "name": name, "image": image,
                                      "ports": [{"containerPort": port}]}]}}}}


def default_objects():
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "default"}},
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "kube-system"}},
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "prod"}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "db-creds", "namespace": "default"},
         "type": "Opaque",
         "data": {"username": _b64("app"), "password": _b64("s3cr3t-pa55")}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "app-config", "namespace": "default"},
         "data": {"LOG_LEVEL": "info", "DATABASE_URL":
                  "postgres://app:cm-s3cret@db:5432/app"}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "toolbox", "namespace": "default",
                      "labels": {"app": "toolbox"}},
         "spec": {"containers": [{
             "name": "main", "image": "busybox:1.36",
             "command": ["sleep", "infinity"],
             "env": [
                 {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
                     "name": "db-creds", "key": "password"}}},
                 {"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {
                     "name": "app-config", "key": "LOG_LEVEL"}}}]}]}},
        _deployment("default", "web", "nginx:1.25", 2, 8080),
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "namespace": "default",
                      "labels": {"app": "web"}},
         "spec": {"selector": {"app": "web"},
                  "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": {"name": "toolbox.started", "namespace": "default"},
         "involvedObject": {"kind": "Pod", "namespace": "default",
                            "name": "toolbox", "apiVersion": "v1",
                            "fieldPath": "spec.containers{main}"},
         "reason": "Started", "message": "Started container main",
         "type": "Normal", "source": {"component": "kubelet",
                                      "host": "fixture-node"}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "api-key", "namespace": "prod"},
         "type": "Opaque", "data": {"token": _b64("prod-t0ken-value")}},
        _deployment("prod", "api", "api:2.0", 1, 8000),
    ]
