"""May the collector scrape a proxy's linkerd-admin port under its default inbound policy? (pure)

Linkerd's semantics, kept simple:
- `all-unauthenticated`, `cluster-unauthenticated`, `audit`: anyone may (cluster-* from the cluster
  networks, where the collector runs).
- `all-authenticated`, `cluster-authenticated`: any meshed client may; an unmeshed one gets 403.
- `deny`: only a meshed client that a policy authorizes explicitly: a Server in the pod's namespace
  selecting the pod on port `linkerd-admin` (or its number), and an AuthorizationPolicy in that namespace
  targeting that Server, the Namespace, or an HTTPRoute whose parent is that Server, whose
  requiredAuthenticationRefs name the collector's ServiceAccount or a MeshTLSAuthentication whose
  identities / identityRefs match the collector's identity. A MeshTLSAuthentication that nothing
  refers to, or that names other identities, authorizes nobody.
"""
from __future__ import annotations

from typing import List, Optional

from .common import labels, proxy_container
from ..k8s.linkerd_policy import is_admin_port
from ..k8s.selectors import selector_matches

OPEN_POLICIES = ("all-unauthenticated", "cluster-unauthenticated", "audit")
MESHED_POLICIES = ("all-authenticated", "cluster-authenticated")
DENY = "deny"
DEFAULT_TRUST_DOMAIN = "cluster.local"


def collector_meshed(snap) -> bool:
    """Every collector pod runs a linkerd-proxy (container or native-sidecar init container)."""
    pods = snap.collector_pods()
    return bool(pods) and all(proxy_container(p) is not None for p in pods)


def trust_domain(snap) -> str:
    """The mesh's trust domain, as the proxies are told it (env `_l5d_trustdomain`)."""
    for pod in list(snap.collector_pods()) + list(snap.pods):
        for env in (proxy_container(pod) or {}).get("env") or []:
            if env.get("name") == "_l5d_trustdomain" and env.get("value"):
                return env["value"]
    return DEFAULT_TRUST_DOMAIN


def collector_identity(snap) -> str:
    return (f"{snap.service_account_name()}.{snap.collector_namespace}.serviceaccount.identity.linkerd."
            f"{trust_domain(snap)}")


def identity_matches(pattern: str, identity: str) -> bool:
    """Linkerd's identity patterns: `*` alone is any identity, `*.suffix` any identity ending in .suffix."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return identity.endswith(pattern[1:])
    return pattern == identity


def _selector_matches(selector: Optional[dict], pod_labels: dict) -> bool:
    return selector is not None and selector_matches(selector, pod_labels)


def _admin_servers(snap, pod: dict) -> List[dict]:
    """Servers in the pod's namespace that select it on the proxy's admin port."""
    namespace = pod["metadata"].get("namespace")
    found = []
    for server in snap.servers:
        spec = server.get("spec") or {}
        if server["metadata"].get("namespace") != namespace:
            continue
        if not is_admin_port(spec.get("port")):
            continue
        if _selector_matches(spec.get("podSelector"), labels(pod)):
            found.append(server)
    return found


def _names(items: List[dict], namespace: str) -> set:
    return {i["metadata"]["name"] for i in items if i["metadata"].get("namespace") == namespace}


def _routes_of(snap, servers: set, namespace: str) -> set:
    routes = set()
    for route in snap.http_routes:
        if route["metadata"].get("namespace") != namespace:
            continue
        for parent in (route.get("spec") or {}).get("parentRefs") or []:
            if parent.get("kind", "Server") == "Server" and parent.get("name") in servers:
                routes.add(route["metadata"]["name"])
    return routes


def _targets(policy: dict, namespace: str, servers: set, routes: set) -> bool:
    ref = (policy.get("spec") or {}).get("targetRef") or {}
    kind, name = ref.get("kind"), ref.get("name")
    if kind == "Server":
        return name in servers
    if kind == "HTTPRoute":
        return name in routes
    if kind == "Namespace":
        return name == namespace and bool(servers)
    return False


def _mesh_tls_matches(snap, auth: dict, identity: str) -> bool:
    spec = auth.get("spec") or {}
    if any(identity_matches(str(p), identity) for p in spec.get("identities") or []):
        return True
    sa, sa_ns = snap.service_account_name(), snap.collector_namespace
    auth_ns = auth["metadata"].get("namespace")
    for ref in spec.get("identityRefs") or []:
        kind, name, ref_ns = ref.get("kind"), ref.get("name"), ref.get("namespace") or auth_ns
        if kind == "ServiceAccount" and name in (sa, "*") and ref_ns == sa_ns:
            return True
        if kind == "Namespace" and name == sa_ns:
            return True
    return False


def _authorizes(snap, policy: dict, identity: str) -> bool:
    policy_ns = policy["metadata"].get("namespace")
    sa, sa_ns = snap.service_account_name(), snap.collector_namespace
    for ref in (policy.get("spec") or {}).get("requiredAuthenticationRefs") or []:
        kind, name, ref_ns = ref.get("kind"), ref.get("name"), ref.get("namespace") or policy_ns
        if kind == "ServiceAccount" and name == sa and ref_ns == sa_ns:
            return True
        if kind == "MeshTLSAuthentication":
            for auth in snap.meshtls_authentications:
                meta = auth["metadata"]
                if meta.get("name") == name and meta.get("namespace") == ref_ns and \
                        _mesh_tls_matches(snap, auth, identity):
                    return True
    return False


def explicitly_authorized(snap, pod: dict) -> bool:
    namespace = pod["metadata"].get("namespace")
    servers = {s["metadata"]["name"] for s in _admin_servers(snap, pod)}
    if not servers:
        return False
    routes = _routes_of(snap, servers, namespace)
    identity = collector_identity(snap)
    return any(policy["metadata"].get("namespace") == namespace and _targets(policy, namespace, servers, routes)
               and _authorizes(snap, policy, identity) for policy in snap.authorization_policies)


def scrape_refused(snap, pod: dict, policy: str) -> str:
    """Why this proxy would answer the collector with 403 under `policy`; "" when it would not."""
    if policy in OPEN_POLICIES or policy not in MESHED_POLICIES + (DENY,):
        return ""
    meshed = collector_meshed(snap)
    if policy in MESHED_POLICIES:
        return "" if meshed else "the collector is not meshed"
    if not meshed:
        return "the collector is not meshed"
    if explicitly_authorized(snap, pod):
        return ""
    return f"no AuthorizationPolicy on its linkerd-admin Server authorizes {collector_identity(snap)}"


def authorizes_collector(snap, policy: dict) -> bool:
    """The policy's requiredAuthenticationRefs name the collector (its ServiceAccount, or a
    MeshTLSAuthentication matching its identity)."""
    return _authorizes(snap, policy, collector_identity(snap))
