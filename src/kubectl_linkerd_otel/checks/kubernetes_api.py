"""kubernetes-api: the client can be built, the API answers, its version supports what the mesh uses."""
from __future__ import annotations

from .common import NATIVE_SIDECAR_MIN, is_native_sidecar_proxy, version_tuple
from .framework import Category, Check, fail, passed, warn


def client(snap, _opts):
    if snap.client_error:
        return fail(snap.client_error)
    return None


def reachable(snap, _opts):
    if "version" in snap.errors:
        return fail(f"cannot reach the Kubernetes API: {snap.errors['version']}")
    return None


def version(snap, _opts):
    found = version_tuple(snap.version)
    if found is None:
        return warn(f"cannot tell the Kubernetes version from {snap.version!r}")
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
