"""The collector stack as Kubernetes objects (plain dicts), in the order they must be applied."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import List, Optional, Tuple

from ..naming import (COLLECTOR_NAMESPACE_LABEL, CONFIG_HASH_ANNOTATION, CONFIG_KEY, CONFIGMAP_NAME,
                      COLLECTOR_NAME, CONTAINER_NAME, EXTENSION_LABEL, EXTENSION_NAME, HEALTH_PORT,
                      HEALTH_PORT_NAME, RECEIVER_API_PORT, RECEIVER_API_PORT_NAME,
                      SECRET_ENDPOINT_ANNOTATION, SECRET_HEADERS_ANNOTATION, SECRET_NAME,
                      SELF_METRICS_PORT, SELF_METRICS_PORT_NAME, cluster_rbac_name, common_labels)
from .collector_config import CA_MOUNT_PATH, NODE_ENV, collector_config_text
from .options import InstallOptions, SecretCredential, env_name_ok, header_name_ok

CONFIG_DIR = "/etc/linkerd-otel"
CA_KEY = "ca.crt"


def _meta(name: str, component: str, namespace: Optional[str] = None, **extra) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = common_labels(component)
    meta.update(extra)
    return meta


def namespace(opts: InstallOptions) -> dict:
    meta = _meta(opts.namespace, "linkerd-otel")
    meta["labels"][EXTENSION_LABEL] = EXTENSION_NAME
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def service_account(opts: InstallOptions) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": _meta(COLLECTOR_NAME, "otel-collector", opts.namespace)}


def _cluster_meta(opts: InstallOptions) -> dict:
    # one per collector namespace: installs in two namespaces must not take each other's RBAC
    meta = _meta(cluster_rbac_name(opts.namespace), "otel-collector")
    meta["labels"][COLLECTOR_NAMESPACE_LABEL] = opts.namespace
    return meta


def cluster_role(opts: InstallOptions) -> dict:
    # the scrape config discovers pods only (role: pod); nothing else is needed
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": _cluster_meta(opts),
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}


def cluster_role_binding(opts: InstallOptions) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": _cluster_meta(opts),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": cluster_rbac_name(opts.namespace)},
            "subjects": [{"kind": "ServiceAccount", "name": COLLECTOR_NAME,
                          "namespace": opts.namespace}]}


def secret(opts: InstallOptions) -> Optional[dict]:
    """The exporter credentials, or None when there are none. Holds credential values: never print it
    unless the user asked (--show-secrets)."""
    creds = opts.credentials()
    if not creds:
        return None
    data = {c.env: base64.b64encode(c.value.encode("utf-8")).decode("ascii") for _n, c in creds}
    headers = [{"header": name, "env": c.env, "prefix": c.prefix} for name, c in creds]
    annotations = {SECRET_ENDPOINT_ANNOTATION: opts.endpoint,
                   SECRET_HEADERS_ANNOTATION: json.dumps(headers, separators=(",", ":"))}
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": _meta(SECRET_NAME, "otel-collector", opts.namespace, annotations=annotations),
            "type": "Opaque", "data": data}


def credentials_in_secret(existing: dict) -> Tuple[Optional[str], List[Tuple[str, SecretCredential]]]:
    """What an earlier install recorded on its Secret: the endpoint its credentials are for, and the
    headers that carry them (values stay in the cluster). (None, []) for a hand-made Secret."""
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    if not isinstance(annotations, dict):
        return None, []
    endpoint = annotations.get(SECRET_ENDPOINT_ANNOTATION)
    endpoint = endpoint if isinstance(endpoint, str) and endpoint else None
    try:
        recorded = json.loads(annotations.get(SECRET_HEADERS_ANNOTATION) or "[]")
    except (TypeError, ValueError):
        recorded = []
    data = existing.get("data")
    keys = set(data) if isinstance(data, dict) else set()
    kept: List[Tuple[str, SecretCredential]] = []
    for item in recorded if isinstance(recorded, list) else []:
        if not isinstance(item, dict):
            continue
        header, env, prefix = item.get("header"), item.get("env"), item.get("prefix") or ""
        # edited by hand, these names would go into the config and the pod: only well-formed ones
        if (isinstance(header, str) and header_name_ok(header) and isinstance(env, str)
                and env_name_ok(env) and env in keys and isinstance(prefix, str) and prefix.isprintable()):
            kept.append((header, SecretCredential(env, "", prefix=prefix)))
    return endpoint, kept


def config_map(opts: InstallOptions) -> dict:
    data = {CONFIG_KEY: collector_config_text(opts)}
    if opts.ca_pem:
        data[CA_KEY] = opts.ca_pem
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(CONFIGMAP_NAME, "otel-collector", opts.namespace), "data": data}


def config_hash(cm: dict) -> str:
    return hashlib.sha256(json.dumps(cm["data"], sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _resources(opts: InstallOptions) -> dict:
    limits = {"memory": opts.memory_limit}
    if opts.cpu_limit:
        limits["cpu"] = opts.cpu_limit
    return {"requests": {"cpu": opts.cpu_request, "memory": opts.memory_request}, "limits": limits}


def _env(opts: InstallOptions) -> List[dict]:
    env: List[dict] = []
    # the Go runtime then collects garbage before the container limit is reached
    env.append({"name": "GOMEMLIMIT", "value": "%dMiB" % opts.memory_limiter()["limit_mib"]})
    if opts.mode == "daemonset":
        env.append({"name": NODE_ENV, "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}})
    for _name, cred in opts.credentials():
        env.append({"name": cred.env,
                    "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": cred.env}}})
    return env


def _probe(delay: int) -> dict:
    return {"httpGet": {"path": "/", "port": HEALTH_PORT_NAME}, "initialDelaySeconds": delay,
            "periodSeconds": 10, "timeoutSeconds": 5}


def _pod_template(opts: InstallOptions, hash_: str) -> dict:
    volume_items = [{"key": CONFIG_KEY, "path": CONFIG_KEY}]
    if opts.ca_pem:
        volume_items.append({"key": CA_KEY, "path": CA_MOUNT_PATH.rsplit("/", 1)[-1]})
    container = {
        "name": CONTAINER_NAME,
        "image": opts.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--config=%s/%s" % (CONFIG_DIR, CONFIG_KEY)],
        "env": _env(opts),
        "ports": [
            {"name": SELF_METRICS_PORT_NAME, "containerPort": SELF_METRICS_PORT, "protocol": "TCP"},
            {"name": RECEIVER_API_PORT_NAME, "containerPort": RECEIVER_API_PORT, "protocol": "TCP"},
            {"name": HEALTH_PORT_NAME, "containerPort": HEALTH_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": _probe(10),
        "readinessProbe": _probe(5),
        "resources": _resources(opts),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    labels = dict(common_labels("otel-collector"))
    annotations = {CONFIG_HASH_ANNOTATION: hash_}
    if opts.restrict_metrics:
        from .policy import mesh_annotations

        annotations.update(mesh_annotations())
    return {
        "metadata": {"labels": labels, "annotations": annotations},
        "spec": {
            "serviceAccountName": COLLECTOR_NAME,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": "config",
                         "configMap": {"name": CONFIGMAP_NAME, "items": volume_items}}],
        },
    }


def workload(opts: InstallOptions, cm: dict) -> dict:
    selector = {"app.kubernetes.io/name": "otel-collector", "app.kubernetes.io/part-of": "linkerd-otel"}
    spec: dict = {"selector": {"matchLabels": selector},
                  "template": _pod_template(opts, config_hash(cm))}
    if opts.mode == "daemonset":
        kind = "DaemonSet"
        spec["updateStrategy"] = {"type": "RollingUpdate"}
    else:
        kind = "Deployment"
        spec = dict({"replicas": 1}, **spec)
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": _meta(COLLECTOR_NAME, "otel-collector", opts.namespace), "spec": spec}


def render(opts: InstallOptions, *, include_secret: bool = True) -> List[dict]:
    """Every object of the stack, in apply order. `include_secret=False` leaves the Secret out."""
    if opts.mode == "operator":
        from .operator import render as render_operator

        return render_operator(opts, include_secret=include_secret)
    cm = config_map(opts)
    objects = [namespace(opts), service_account(opts), cluster_role(opts), cluster_role_binding(opts)]
    sec = secret(opts) if include_secret else None
    if sec is not None:
        objects.append(sec)
    objects += [cm, workload(opts, cm)]
    return objects


def secret_instructions(opts: InstallOptions) -> str:
    """How to create the Secret by hand (names only, never values)."""
    keys = " ".join("--from-literal=%s=<%s>" % (c.env, c.source) for _n, c in opts.credentials())
    return (f"kubectl -n {opts.namespace} create secret generic {SECRET_NAME} {keys}"
            if keys else "")
