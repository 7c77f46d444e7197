"""Linkerd's policy objects (policy.linkerd.io), read the way Linkerd reads them, and the names we give
ours (pure: render/policy.py renders them, checks/metrics_policy.py judges what is in the cluster)."""
from __future__ import annotations

from typing import List

from ..naming import CONTROL_PLANE_NS_LABEL, LINKERD_ADMIN_PORT, LINKERD_ADMIN_PORT_NAME, MANAGED_BY

GROUP = "policy.linkerd.io"
COMPONENT = "linkerd-otel-policy"

SERVER_NAME = "linkerd-otel-proxy-admin"
METRICS_ROUTE_NAME = "linkerd-otel-proxy-metrics"
PROBES_ROUTE_NAME = "linkerd-otel-proxy-probes"
PROBES_POLICY_NAME = "linkerd-otel-proxy-probes"
KUBELET_AUTHN_NAME = "linkerd-otel-kubelet"
METRICS_PATH = "/metrics"
PROBE_PATHS = ("/live", "/ready")
MESHED_SELECTOR = {"matchExpressions": [{"key": CONTROL_PLANE_NS_LABEL, "operator": "Exists"}]}


def scrape_policy_name(collector_namespace: str) -> str:
    """One per collector namespace: two installs each authorize their own collector."""
    return f"linkerd-otel-scrape-{collector_namespace}"


def is_ours(obj: dict) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/managed-by") == MANAGED_BY


def is_admin_port(port) -> bool:
    """A Server's `port` names the proxies' admin port: by its name, or its number (int or text)."""
    return port in (LINKERD_ADMIN_PORT_NAME, LINKERD_ADMIN_PORT, str(LINKERD_ADMIN_PORT))


def admin_servers(servers: List[dict], namespace: str) -> List[dict]:
    """The namespace's Servers on the proxies' admin port, oldest first (the one Linkerd uses)."""
    found = [s for s in servers if (s.get("metadata") or {}).get("namespace") == namespace
             and is_admin_port((s.get("spec") or {}).get("port"))]
    return sorted(found, key=lambda s: ((s["metadata"].get("creationTimestamp") or "~"), s["metadata"]["name"]))


def route_paths(route: dict) -> List[str]:
    """The paths an HTTPRoute matches exactly or as a prefix (no regular expressions), from every rule."""
    paths = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        for match in (rule or {}).get("matches") or []:
            path = (match or {}).get("path") or {}
            if path.get("type", "PathPrefix") in ("Exact", "PathPrefix") and path.get("value"):
                paths.append(path["value"])
    return paths


def route_covers(route: dict, path: str) -> bool:
    for value in route_paths(route):
        if value == path or (value.rstrip("/") and path.startswith(value.rstrip("/") + "/")) or value == "/":
            return True
    return False


def routes_on(routes: List[dict], namespace: str, server: str) -> List[dict]:
    """HTTPRoutes in `namespace` whose parent is the Server `server`."""
    found = []
    for route in routes:
        if (route.get("metadata") or {}).get("namespace") != namespace:
            continue
        for parent in (route.get("spec") or {}).get("parentRefs") or []:
            if parent.get("kind", "Server") == "Server" and parent.get("name") == server and \
                    parent.get("group", GROUP) == GROUP:
                found.append(route)
                break
    return sorted(found, key=lambda r: ((r["metadata"].get("creationTimestamp") or "~"), r["metadata"]["name"]))
