"""Names of Kubernetes objects as kubectl prints them, and whether an object is ours (pure)."""
from __future__ import annotations

from ..naming import MANAGED_BY_SELECTOR


def api_group(obj: dict) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def object_ref(obj: dict) -> str:
    """`deployment.apps/name`, as kubectl prints it."""
    kind, group = obj.get("kind", "").lower(), api_group(obj)
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else f"{kind}/{obj['metadata']['name']}"


def labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def is_ours(obj: dict) -> bool:
    """Labelled app.kubernetes.io/managed-by=kubectl-linkerd-otel: install created it."""
    key, value = MANAGED_BY_SELECTOR.split("=", 1)
    return labels(obj).get(key) == value


def reference(obj: dict) -> dict:
    """Just enough of an object for `kubectl delete -f -`: never its data."""
    meta = {"name": obj["metadata"]["name"]}
    if obj["metadata"].get("namespace"):
        meta["namespace"] = obj["metadata"]["namespace"]
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": meta}
