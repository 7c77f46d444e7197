"""Where each resource lives in the API: the few kinds the plugin reads or writes."""
from __future__ import annotations

from typing import Dict, NamedTuple, Optional

from ..errors import UsageError


class Resource(NamedTuple):
    api_version: str   # "v1" or "group/version"
    plural: str
    kind: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.split("/", 1)[0] if "/" in self.api_version else ""

    def path(self, namespace: Optional[str] = None, name: Optional[str] = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


_TABLE = [
    Resource("v1", "pods", "Pod", True),
    Resource("v1", "namespaces", "Namespace", False),
    Resource("v1", "configmaps", "ConfigMap", True),
    Resource("v1", "secrets", "Secret", True),
    Resource("v1", "serviceaccounts", "ServiceAccount", True),
    Resource("v1", "services", "Service", True),
    Resource("v1", "events", "Event", True),
    Resource("v1", "nodes", "Node", False),
    Resource("apps/v1", "deployments", "Deployment", True),
    Resource("apps/v1", "daemonsets", "DaemonSet", True),
    Resource("apps/v1", "replicasets", "ReplicaSet", True),
    Resource("apps/v1", "statefulsets", "StatefulSet", True),
    Resource("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Resource("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    Resource("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    Resource("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", True),
    Resource("policy.linkerd.io/v1beta3", "servers", "Server", True),
    Resource("policy.linkerd.io/v1beta3", "httproutes", "HTTPRoute", True),
    Resource("policy.linkerd.io/v1alpha1", "authorizationpolicies", "AuthorizationPolicy", True),
    Resource("policy.linkerd.io/v1alpha1", "networkauthentications", "NetworkAuthentication", True),
    Resource("policy.linkerd.io/v1alpha1", "meshtlsauthentications", "MeshTLSAuthentication", True),
    Resource("opentelemetry.io/v1beta1", "opentelemetrycollectors", "OpenTelemetryCollector", True),
]

_BY_NAME: Dict[str, Resource] = {}
_BY_KIND: Dict[tuple, Resource] = {}
for _r in _TABLE:
    _BY_NAME.setdefault(_r.plural, _r)
    _BY_NAME[f"{_r.plural}.{_r.group}" if _r.group else _r.plural] = _r
    _BY_KIND[(_r.group, _r.kind)] = _r


def resource(name: str) -> Resource:
    """`pods`, `deployments`, `deployments.apps`, `servers.policy.linkerd.io`."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown resource {name!r}") from None


def resource_for(obj: dict) -> Resource:
    """The resource of an object by its apiVersion and kind (the version of the object wins)."""
    api_version = obj.get("apiVersion", "")
    kind = obj.get("kind", "")
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    known = _BY_KIND.get((group, kind))
    if known is None:
        raise UsageError(f"cannot apply {kind} ({api_version}): unknown kind")
    return known._replace(api_version=api_version)
