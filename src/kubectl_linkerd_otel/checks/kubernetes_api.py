"""kubernetes-api: the client can be built, the API answers, its version supports what the mesh uses."""
from __future__ import annotations

import re

from .common import NATIVE_SIDECAR_MIN, is_native_sidecar_proxy, version_tuple
from .framework import Category, Check, fail, passed, warn


def client(snap, _opts):
    if snap.client_error:
        return fail(snap.client_error)
    return None


def reachable(snap, _opts):
    if "version" in snap.errors:
        flags = getattr(snap, "transient_errors", {}) or {}
        if flags.get("version") is False and re.search(r"\(HTTP (401|403)\)$", snap.errors["version"]):
            # it answered: our credentials are refused, which waiting will not change
            return fail(f"the Kubernetes API refused the request: {snap.errors['version']}", retryable=False)
        # retried by --wait only when it may pass by itself (a timeout, a 5xx): not a refused connection
        return fail(f"cannot reach the Kubernetes API: {snap.errors['version']}",
                    retryable=False if flags.get("version") is False else None)
    return None


def version(snap, _opts):
    found = version_tuple(snap.version)
    if found is None:
        fields = ", ".join(f"{k}={v!r}" for k, v in sorted((snap.version or {}).items())
                           if k in ("major", "minor", "gitVersion")) or "no major, minor or gitVersion"
        return warn(f"cannot tell the Kubernetes version: the API server's /version says {fields}")
    label = (snap.version or {}).get("gitVersion") or f"v{found[0]}.{found[1]}"
    if found < NATIVE_SIDECAR_MIN and any(is_native_sidecar_proxy(p) for p in snap.pods):
        return warn(f"Kubernetes {label} is older than v{NATIVE_SIDECAR_MIN[0]}.{NATIVE_SIDECAR_MIN[1]}, the "
                    "oldest with native sidecars on by default, and some proxies run as native sidecars")
    return passed(f"is running Kubernetes {label}")


CATEGORY = Category("kubernetes-api", [
    Check("client", "can initialize the client", client, "k8s-client", fatal=True),
    Check("api", "can query the Kubernetes API", reachable, "k8s-api", fatal=True, retryable=True),
    Check("version", "is running a supported Kubernetes version", version, "k8s-version"),
])
