"""The fake's own idea of where kinds live (independent of the plugin's table on purpose)."""
from __future__ import annotations

from typing import NamedTuple, Optional


class Kind(NamedTuple):
    group: str
    plural: str
    kind: str
    namespaced: bool


KINDS = [
    Kind("", "pods", "Pod", True), Kind("", "namespaces", "Namespace", False),
    Kind("", "configmaps", "ConfigMap", True), Kind("", "secrets", "Secret", True),
    Kind("", "serviceaccounts", "ServiceAccount", True), Kind("", "services", "Service", True),
    Kind("", "events", "Event", True), Kind("", "nodes", "Node", False),
    Kind("", "endpoints", "Endpoints", True),
    Kind("apps", "deployments", "Deployment", True), Kind("apps", "daemonsets", "DaemonSet", True),
    Kind("apps", "replicasets", "ReplicaSet", True),
    Kind("apps", "statefulsets", "StatefulSet", True),
    Kind("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False),
    Kind("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False),
    Kind("rbac.authorization.k8s.io", "roles", "Role", True),
    Kind("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True),
    Kind("discovery.k8s.io", "endpointslices", "EndpointSlice", True),
    Kind("batch", "jobs", "Job", True),
    Kind("policy.linkerd.io", "servers", "Server", True),
    Kind("policy.linkerd.io", "httproutes", "HTTPRoute", True),
    Kind("policy.linkerd.io", "authorizationpolicies", "AuthorizationPolicy", True),
    Kind("policy.linkerd.io", "networkauthentications", "NetworkAuthentication", True),
    Kind("policy.linkerd.io", "meshtlsauthentications", "MeshTLSAuthentication", True),
]
BY_PLURAL = {(k.group, k.plural): k for k in KINDS}
BY_KIND = {(k.group, k.kind): k for k in KINDS}


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def kind_of(obj: dict) -> Kind:
    group = group_of(obj.get("apiVersion", "v1"))
    found = BY_KIND.get((group, obj.get("kind", "")))
    if found is None:
        raise KeyError(f"fake API server: unknown kind {obj.get('kind')} ({obj.get('apiVersion')})")
    return found


def by_plural(group: str, plural: str) -> Optional[Kind]:
    return BY_PLURAL.get((group, plural))
