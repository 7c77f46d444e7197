"""Linkerd authorization objects that let only the collector read the proxies' `/metrics` (pure).

Per data-plane namespace, the shape `linkerd viz allow-scrapes` renders (linkerd/linkerd2
viz/charts/linkerd-viz/templates/allow-scrapes-policy.yaml): a Server on the proxies' `linkerd-admin`
port, an HTTPRoute for `/metrics` with an AuthorizationPolicy requiring the collector's ServiceAccount,
and an HTTPRoute for the kubelet's `/live` + `/ready` with a policy requiring a NetworkAuthentication
(once a Server has any HTTPRoute, requests matching none are refused, probes included).

Where the namespace already has a Server on that port (the oldest of two Servers on one port wins
silently), the routes attach to it instead of a second Server; where that Server already has a route
for `/metrics` or for the probes, our policy targets that route instead of adding one that could lose
to it (the oldest of two identical routes wins too).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import UsageError
from ..k8s.linkerd_policy import (COMPONENT, GROUP, KUBELET_AUTHN_NAME, MESHED_SELECTOR, METRICS_PATH, METRICS_ROUTE_NAME,
                                  PROBE_PATHS, PROBES_POLICY_NAME, PROBES_ROUTE_NAME, SERVER_NAME, admin_servers,
                                  is_ours, route_covers, routes_on, scrape_policy_name)
from ..naming import (COLLECTOR_NAMESPACE_LABEL, LINKERD_ADMIN_PORT_NAME, RECEIVER_API_PORT, SELF_METRICS_PORT,
                      common_labels)

# The versions of each kind this module can render, newest first: the fields used here (podSelector,
# port, proxyProtocol; parentRefs, rules[].matches[].path; targetRef, requiredAuthenticationRefs;
# networks[].cidr) are the same in all of them. From linkerd/linkerd2
# charts/linkerd-crds/templates/policy/{server,httproute,authorization-policy,network-authentication}.yaml
# (main at version-2.20): Server v1beta3 is the storage version (v1alpha1 and v1beta1 deprecated),
# HTTPRoute v1beta3 likewise; AuthorizationPolicy and NetworkAuthentication exist only as v1alpha1.
RENDERABLE: Dict[str, Tuple[str, ...]] = {
    "Server": ("v1beta3", "v1beta2", "v1beta1"),
    "HTTPRoute": ("v1beta3", "v1beta2", "v1beta1", "v1alpha1"),
    "AuthorizationPolicy": ("v1alpha1",),
    "NetworkAuthentication": ("v1alpha1",),
}
PLURALS = {"Server": "servers", "HTTPRoute": "httproutes", "AuthorizationPolicy": "authorizationpolicies",
           "NetworkAuthentication": "networkauthentications"}
NEWEST = {kind: versions[0] for kind, versions in RENDERABLE.items()}
# the order in which a namespace's objects are applied: a Server with routes but no policies yet would
# refuse the kubelet's probes, so the Server (when ours) comes last; uninstall goes the other way round
APPLY_ORDER = ("NetworkAuthentication", "AuthorizationPolicy", "HTTPRoute", "Server")
DELETE_ORDER = ("Server", "HTTPRoute", "AuthorizationPolicy", "NetworkAuthentication")
# the kubelet probes from the node's address, which no single CIDR names portably (as viz does)
ALL_NETWORKS = ("0.0.0.0/0", "::/0")


def mesh_annotations() -> Dict[str, str]:
    """What the collector's pod template needs to be meshed and keep working meshed: the proxy; the API
    server reached around it (port 443 of the `kubernetes` Service: pod discovery must not wait on the
    proxy, nor depend on the proxy's handling of the API server's long watches); its own API and
    self-metrics ports reached around it, so that `check` and `targets` read them through the API
    server's pods/proxy under any default inbound policy. The exporter is reached through the proxy."""
    return {"linkerd.io/inject": "enabled",
            "config.linkerd.io/skip-outbound-ports": "443",
            "config.linkerd.io/skip-inbound-ports": f"{RECEIVER_API_PORT},{SELF_METRICS_PORT}"}


def choose_versions(served: Dict[str, Sequence[str]]) -> Tuple[Dict[str, str], List[str]]:
    """Per kind the newest version we render that the cluster serves, and the kinds it serves in no such
    version (their CRDs are missing or too old)."""
    chosen, missing = {}, []
    for kind, versions in RENDERABLE.items():
        found = next((v for v in versions if v in (served.get(kind) or ())), None)
        if found is None:
            missing.append(kind)
        else:
            chosen[kind] = found
    return chosen, missing


@dataclass
class NamespacePlan:
    """What to render in one data-plane namespace: which Server and routes are someone else's."""
    namespace: str
    server: str = SERVER_NAME            # the Server the routes attach to
    server_is_ours: bool = True
    metrics_route: str = METRICS_ROUTE_NAME
    metrics_route_is_ours: bool = True
    probes_route: str = PROBES_ROUTE_NAME
    probes_route_is_ours: bool = True
    notes: List[str] = field(default_factory=list)


def plan_namespace(namespace: str, servers: List[dict], routes: List[dict]) -> NamespacePlan:
    """Attach to the Server Linkerd already uses on the admin port, and to its routes for /metrics and
    the probes, when they are someone else's; ours otherwise."""
    plan = NamespacePlan(namespace)
    existing = admin_servers(servers, namespace)
    theirs = [s for s in existing if not is_ours(s)]
    if existing and not is_ours(existing[0]):
        server = existing[0]
        plan.server, plan.server_is_ours = server["metadata"]["name"], False
        plan.notes.append(f"namespace {namespace}: Server {plan.server} already serves the linkerd-admin port; "
                          f"attaching to it instead of creating {SERVER_NAME}")
        if len(theirs) > 1:
            plan.notes.append(f"namespace {namespace}: {len(theirs)} Servers on the linkerd-admin port "
                              f"({', '.join(s['metadata']['name'] for s in theirs)}): Linkerd uses only the "
                              f"oldest, {plan.server}")
        on_server = [r for r in routes_on(routes, namespace, plan.server) if not is_ours(r)]
        metrics = next((r for r in on_server if route_covers(r, METRICS_PATH)), None)
        if metrics is not None:
            plan.metrics_route, plan.metrics_route_is_ours = metrics["metadata"]["name"], False
            plan.notes.append(f"namespace {namespace}: HTTPRoute {plan.metrics_route} already routes "
                              f"{METRICS_PATH} on it; the collector's policy targets that route")
        probes = next((r for r in on_server if all(route_covers(r, p) for p in PROBE_PATHS)), None)
        if probes is not None:
            plan.probes_route, plan.probes_route_is_ours = probes["metadata"]["name"], False
    return plan


def _meta(name: str, namespace: str, collector_namespace: str) -> dict:
    labels = common_labels(COMPONENT)
    labels[COLLECTOR_NAMESPACE_LABEL] = collector_namespace
    return {"name": name, "namespace": namespace, "labels": labels}


def _api(versions: Dict[str, str], kind: str) -> str:
    return f"{GROUP}/{versions.get(kind, NEWEST[kind])}"


def server(plan: NamespacePlan, collector_namespace: str, versions: Dict[str, str]) -> dict:
    return {"apiVersion": _api(versions, "Server"), "kind": "Server",
            "metadata": _meta(SERVER_NAME, plan.namespace, collector_namespace),
            "spec": {"podSelector": MESHED_SELECTOR, "port": LINKERD_ADMIN_PORT_NAME, "proxyProtocol": "HTTP/1"}}


def _route(name: str, plan: NamespacePlan, collector_namespace: str, versions: Dict[str, str],
           paths: Sequence[str]) -> dict:
    return {"apiVersion": _api(versions, "HTTPRoute"), "kind": "HTTPRoute",
            "metadata": _meta(name, plan.namespace, collector_namespace),
            "spec": {"parentRefs": [{"group": GROUP, "kind": "Server", "name": plan.server}],
                     "rules": [{"matches": [{"path": {"type": "Exact", "value": p}, "method": "GET"}
                                            for p in paths]}]}}


def _policy(name: str, namespace: str, collector_namespace: str, versions: Dict[str, str], route: str,
            authentication: dict) -> dict:
    return {"apiVersion": _api(versions, "AuthorizationPolicy"), "kind": "AuthorizationPolicy",
            "metadata": _meta(name, namespace, collector_namespace),
            "spec": {"targetRef": {"group": GROUP, "kind": "HTTPRoute", "name": route},
                     "requiredAuthenticationRefs": [authentication]}}


def render_namespace(plan: NamespacePlan, collector_namespace: str, service_account: str,
                     versions: Dict[str, str]) -> List[dict]:
    """The objects of one namespace, in apply order."""
    ns = plan.namespace
    objects = [
        {"apiVersion": _api(versions, "NetworkAuthentication"), "kind": "NetworkAuthentication",
         "metadata": _meta(KUBELET_AUTHN_NAME, ns, collector_namespace),
         "spec": {"networks": [{"cidr": cidr} for cidr in ALL_NETWORKS]}},
        _policy(PROBES_POLICY_NAME, ns, collector_namespace, versions, plan.probes_route,
                {"group": GROUP, "kind": "NetworkAuthentication", "name": KUBELET_AUTHN_NAME}),
        _policy(scrape_policy_name(collector_namespace), ns, collector_namespace, versions, plan.metrics_route,
                {"kind": "ServiceAccount", "name": service_account, "namespace": collector_namespace}),
    ]
    if plan.probes_route_is_ours:
        objects.append(_route(PROBES_ROUTE_NAME, plan, collector_namespace, versions, PROBE_PATHS))
    if plan.metrics_route_is_ours:
        objects.append(_route(METRICS_ROUTE_NAME, plan, collector_namespace, versions, (METRICS_PATH,)))
    if plan.server_is_ours:
        objects.append(server(plan, collector_namespace, versions))
    return objects


def render(plans: Sequence[NamespacePlan], collector_namespace: str, service_account: str,
           versions: Optional[Dict[str, str]] = None) -> List[dict]:
    """Every namespace's objects, namespace by namespace, each in apply order."""
    objects: List[dict] = []
    for plan in plans:
        objects += render_namespace(plan, collector_namespace, service_account, versions or NEWEST)
    return objects


def describe_versions(versions: Dict[str, str]) -> str:
    return ", ".join(f"{kind} {GROUP}/{versions[kind]}" for kind in RENDERABLE if kind in versions)


def validate_namespaces(namespaces: Sequence[str]) -> None:
    for name in namespaces:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name or "") or len(name) > 63:
            raise UsageError(f"invalid --policy-namespace {name!r}: use a namespace name like emojivoto")
