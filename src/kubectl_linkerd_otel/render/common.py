"""What every install mode renders alike (pure): the objects' metadata, the Namespace, the collector's
ServiceAccount and RBAC, the credentials Secret (and what an earlier install recorded on it), and the
collector container's env and resources. render/manifests.py adds the Deployment or DaemonSet,
render/operator.py the OpenTelemetry Operator's OpenTelemetryCollector."""
from __future__ import annotations

import base64
import json
from typing import List, Optional, Tuple

from ..naming import (COLLECTOR_NAMESPACE_LABEL, COLLECTOR_NAME, EXTENSION_LABEL, EXTENSION_NAME,
                      SECRET_ENDPOINT_ANNOTATION, SECRET_HEADERS_ANNOTATION, SECRET_NAME, cluster_rbac_name,
                      common_labels)
from .collector_config import NODE_ENV
from .options import Credential, InstallOptions, env_name_ok, header_name_ok

CA_KEY = "ca.crt"


def metadata(name: str, component: str, namespace: Optional[str] = None, **extra) -> dict:
    """An object's metadata: its name, namespace and our common labels."""
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = common_labels(component)
    meta.update(extra)
    return meta


def namespace(opts: InstallOptions) -> dict:
    meta = metadata(opts.namespace, "linkerd-otel")
    meta["labels"][EXTENSION_LABEL] = EXTENSION_NAME
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def service_account(opts: InstallOptions) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": metadata(COLLECTOR_NAME, "otel-collector", opts.namespace)}


def _cluster_meta(opts: InstallOptions) -> dict:
    # one per collector namespace: installs in two namespaces must not take each other's RBAC
    meta = metadata(cluster_rbac_name(opts.namespace), "otel-collector")
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
            "metadata": metadata(SECRET_NAME, "otel-collector", opts.namespace, annotations=annotations),
            "type": "Opaque", "data": data}


def credentials_in_secret(existing: dict) -> Tuple[Optional[str], List[Tuple[str, Credential]]]:
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
    kept: List[Tuple[str, Credential]] = []
    for item in recorded if isinstance(recorded, list) else []:
        if not isinstance(item, dict):
            continue
        header, env, prefix = item.get("header"), item.get("env"), item.get("prefix") or ""
        # edited by hand, these names would go into the config and the pod: only well-formed ones
        if (isinstance(header, str) and header_name_ok(header) and isinstance(env, str)
                and env_name_ok(env) and env in keys and isinstance(prefix, str) and prefix.isprintable()):
            kept.append((header, Credential(env, "", prefix=prefix)))
    return endpoint, kept


def collector_resources(opts: InstallOptions) -> dict:
    limits = {"memory": opts.memory_limit}
    if opts.cpu_limit:
        limits["cpu"] = opts.cpu_limit
    return {"requests": {"cpu": opts.cpu_request, "memory": opts.memory_request}, "limits": limits}


def collector_env(opts: InstallOptions) -> List[dict]:
    env: List[dict] = []
    # the Go runtime then collects garbage before the container limit is reached
    env.append({"name": "GOMEMLIMIT", "value": "%dMiB" % opts.memory_limiter()["limit_mib"]})
    if opts.mode == "daemonset":
        env.append({"name": NODE_ENV, "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}})
    for _name, cred in opts.credentials():
        env.append({"name": cred.env,
                    "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": cred.env}}})
    return env
