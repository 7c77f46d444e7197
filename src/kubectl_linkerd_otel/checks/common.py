"""Small pure helpers shared by the check categories."""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from .. import naming
from .framework import fail

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
    """(major, minor) from /version: its major and minor fields ("1", "30+"), else its gitVersion
    (`v1.30.1+k3s1`); None when neither tells."""
    if not isinstance(version, dict):
        return None
    try:
        major = int("".join(ch for ch in str(version.get("major", "")) if ch.isdigit()))
        minor = int("".join(ch for ch in str(version.get("minor", "")) if ch.isdigit()))
        return major, minor
    except ValueError:
        pass
    match = re.match(r"^v?(\d+)\.(\d+)", str(version.get("gitVersion") or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def facts(snap):
    """The collector config's facts (worked out once per snapshot)."""
    return snap.collector_facts()


# what a gather step read, in words (the others read what their name says)
STEP_NAMES = {"endpointslices": "EndpointSlices", "serviceaccounts": "ServiceAccounts",
              "configmaps": "ConfigMaps", "deployments": "Deployments", "daemonsets": "DaemonSets"}


def step_name(step: str) -> str:
    kind, _, rest = step.partition("/")
    if kind in STEP_NAMES:
        return STEP_NAMES[kind] + (f" of Service {rest}" if rest and kind == "endpointslices" else
                                   (f" in {rest}" if rest else ""))
    return step


def gather_error(snap, *steps: str) -> str:
    for step in steps:
        if step in snap.errors:
            return f"could not read {step_name(step)}: {snap.errors[step]}"
    return ""


def transient(snap, *steps: str) -> bool:
    """Every one of these steps that failed failed in a way that may pass by itself (timeout, 5xx)."""
    failed = [s for s in steps if s in snap.errors]
    flags = getattr(snap, "transient_errors", None) or {}
    return bool(failed) and all(flags.get(s) for s in failed)


def read_failure(snap, *steps: str):
    """A failed Outcome naming the first step that could not be read (retryable when the failure may pass
    by itself), or None when every step was read."""
    error = gather_error(snap, *steps)
    if not error:
        return None
    first = next(s for s in steps if s in snap.errors)
    return fail(error, retryable=transient(snap, first))
