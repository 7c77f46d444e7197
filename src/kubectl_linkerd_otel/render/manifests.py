"""The collector stack as Kubernetes objects (plain dicts), in the order they must be applied."""
from __future__ import annotations

import hashlib
import json
from typing import List

from ..naming import (CONFIG_HASH_ANNOTATION, CONFIG_KEY, CONFIGMAP_NAME, COLLECTOR_NAME, CONTAINER_NAME,
                      HEALTH_PORT, HEALTH_PORT_NAME, RECEIVER_API_PORT, RECEIVER_API_PORT_NAME, SECRET_NAME,
                      SELF_METRICS_PORT, SELF_METRICS_PORT_NAME, common_labels)
from .collector_config import CA_MOUNT_PATH, collector_config_text
from .common import (CA_KEY, cluster_role, cluster_role_binding, collector_env, collector_resources, metadata,
                     namespace, secret, service_account)
from .operator import render as render_operator
from .options import InstallOptions
from .policy import mesh_annotations

CONFIG_DIR = "/etc/linkerd-otel"


def config_map(opts: InstallOptions) -> dict:
    data = {CONFIG_KEY: collector_config_text(opts)}
    if opts.ca_pem:
        data[CA_KEY] = opts.ca_pem
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(CONFIGMAP_NAME, "otel-collector", opts.namespace), "data": data}


def config_hash(cm: dict) -> str:
    return hashlib.sha256(json.dumps(cm["data"], sort_keys=True).encode("utf-8")).hexdigest()[:16]


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
        "env": collector_env(opts),
        "ports": [
            {"name": SELF_METRICS_PORT_NAME, "containerPort": SELF_METRICS_PORT, "protocol": "TCP"},
            {"name": RECEIVER_API_PORT_NAME, "containerPort": RECEIVER_API_PORT, "protocol": "TCP"},
            {"name": HEALTH_PORT_NAME, "containerPort": HEALTH_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": _probe(10),
        "readinessProbe": _probe(5),
        "resources": collector_resources(opts),
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
            "metadata": metadata(COLLECTOR_NAME, "otel-collector", opts.namespace), "spec": spec}


def render(opts: InstallOptions, *, include_secret: bool = True) -> List[dict]:
    """Every object of the stack, in apply order. `include_secret=False` leaves the Secret out."""
    if opts.mode == "operator":
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
