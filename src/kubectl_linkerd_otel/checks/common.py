"""Small pure helpers shared by the check categories."""
from __future__ import annotations

from typing import Dict, List, Optional

from .. import naming

NATIVE_SIDECAR_MIN = (1, 29)   # SidecarContainers on by default (beta) from Kubernetes 1.29
MAX_LISTED = 10


def labels(obj: dict) -> Dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def annotations(obj: dict) -> Dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def ref(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))


def count(n: int, singular: str, plural: str = "") -> str:
    """`1 pod`, `2 pods`, `0 pods`; `count(n, "proxy", "proxies")` where -s is wrong."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def verb(n: int, singular: str, plural: str) -> str:
    """The verb agreeing with a count: verb(1, "is", "are") -> "is"."""
    return singular if n == 1 else plural


def listing(lines: List[str], limit: int = MAX_LISTED) -> List[str]:
    if len(lines) <= limit:
        return list(lines)
    return list(lines[:limit]) + [f"... and {len(lines) - limit} more"]


def proxy_container(pod: dict) -> Optional[dict]:
    spec = pod.get("spec") or {}
    for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if container.get("name") == naming.LINKERD_PROXY_CONTAINER:
            return container
    return None


def is_native_sidecar_proxy(pod: dict) -> bool:
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        if container.get("name") == naming.LINKERD_PROXY_CONTAINER and container.get("restartPolicy") == "Always":
            return True
    return False


def meshed_pods(snap, namespace_filter=()) -> List[dict]:
    pods = [p for p in snap.pods if labels(p).get("linkerd.io/control-plane-ns")]
    if namespace_filter:
        pods = [p for p in pods if p["metadata"].get("namespace") in namespace_filter]
    return pods


def live(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Pending", "Running")


def control_plane_namespace(snap) -> Optional[str]:
    """Linkerd's namespace: labelled linkerd.io/is-control-plane, else the name Linkerd passed, else `linkerd`."""
    for ns in snap.namespaces:
        if labels(ns).get("linkerd.io/is-control-plane") == "true":
            return ns["metadata"]["name"]
    for name in (snap.linkerd_namespace_hint, naming.DEFAULT_LINKERD_NAMESPACE):
        if name and snap.namespace(name) is not None and any(
                labels(p).get("linkerd.io/control-plane-component") for p in snap.pods
                if p["metadata"].get("namespace") == name):
            return name
    return None


def version_tuple(version: Optional[dict]):
    if not version:
        return None
    try:
        major = int("".join(ch for ch in str(version.get("major", "")) if ch.isdigit()))
        minor = int("".join(ch for ch in str(version.get("minor", "")) if ch.isdigit()))
        return major, minor
    except ValueError:
        return None


def facts(snap):
    from ..collector import facts as facts_mod

    cache = getattr(snap, "_facts_cache", None)
    if cache is None:
        cache = facts_mod.extract(snap.config_text())
        try:
            object.__setattr__(snap, "_facts_cache", cache)
        except AttributeError:
            pass
    return cache


def gather_error(snap, *steps: str) -> str:
    for step in steps:
        if step in snap.errors:
            return f"could not read {step}: {snap.errors[step]}"
    return ""
