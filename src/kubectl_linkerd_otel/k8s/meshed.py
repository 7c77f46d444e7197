"""Is this pod meshed? Two answers, each named for what it looks at (pure).

- `has_proxy_container`: the pod runs a linkerd-proxy container (a regular one, or a native-sidecar init
  container). The scrape engine (scrape/sd.py: which pods' proxies a job should scrape) and the policy
  checks (is the collector meshed) ask this.
- `has_mesh_label`: the proxy injector labelled the pod `linkerd.io/control-plane-ns` (with a value).
  The data-plane checks (checks/common.meshed_pods) and `stat` (stats/golden.py) count these.

The injector adds both, so they agree on every pod it injected. They differ on a pod changed by hand: a
`linkerd-proxy` container without the label (has_proxy_container only), or the label without the
container (has_mesh_label only).
"""
from __future__ import annotations

from typing import Optional

from ..naming import CONTROL_PLANE_NS_LABEL, LINKERD_PROXY_CONTAINER


def proxy_container(pod: dict) -> Optional[dict]:
    """The pod's linkerd-proxy container (regular first, then init containers), None when it has none."""
    spec = pod.get("spec") or {}
    for container in spec.get("containers") or ():
        if container.get("name") == LINKERD_PROXY_CONTAINER:
            return container
    for container in spec.get("initContainers") or ():
        if container.get("name") == LINKERD_PROXY_CONTAINER:
            return container
    return None


def has_proxy_container(pod: dict) -> bool:
    """The pod runs a linkerd-proxy container (regular or native sidecar)."""
    return proxy_container(pod) is not None


def has_mesh_label(pod: dict) -> bool:
    """The pod carries a non-empty `linkerd.io/control-plane-ns` label."""
    return bool(((pod.get("metadata") or {}).get("labels") or {}).get(CONTROL_PLANE_NS_LABEL))
