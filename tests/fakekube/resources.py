"""The fake's own idea of where kinds live (independent of the plugin's table on purpose)."""
from __future__ import annotations

from typing import NamedTuple, Optional


class Kind(NamedTuple):
    group: str
    plural: str
    kind: str
    namespaced: bool
    versions: tuple = ("v1",)     # served versions, preferred first (for discovery)


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
    Kind("batch", "cronjobs", "CronJob", True),
    Kind("metrics.k8s.io", "pods", "PodMetrics", True, ("v1beta1",)),   # metrics-server's aggregated API
    Kind("", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    Kind("policy.linkerd.io", "servers", "Server", True, ("v1beta3", "v1beta2", "v1beta1")),
    Kind("policy.linkerd.io", "httproutes", "HTTPRoute", True, ("v1beta3", "v1beta2", "v1beta1")),
    Kind("policy.linkerd.io", "authorizationpolicies", "AuthorizationPolicy", True, ("v1alpha1",)),
    Kind("policy.linkerd.io", "networkauthentications", "NetworkAuthentication", True, ("v1alpha1",)),
    Kind("policy.linkerd.io", "meshtlsauthentications", "MeshTLSAuthentication", True, ("v1alpha1",)),
    Kind("opentelemetry.io", "opentelemetrycollectors", "OpenTelemetryCollector", True, ("v1beta1",)),
]
LIST_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def served(kind: Kind, overrides: Optional[dict] = None) -> tuple:
    """The versions that serve `kind`: its own, unless the test changed them (FakeApiServer.serve_versions)."""
    return (overrides or {}).get((kind.group, kind.plural), kind.versions)


def discovery_groups(overrides: Optional[dict] = None) -> dict:
    """GET /apis: every group, its versions (newest first, as the API server orders them)."""
    versions: dict = {}
    for k in KINDS:
        if k.group and served(k, overrides):
            versions.setdefault(k.group, [])
            for v in served(k, overrides):
                if v not in versions[k.group]:
                    versions[k.group].append(v)
    versions.setdefault("authorization.k8s.io", ["v1"])
    groups = []
    for name, vs in versions.items():
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in vs]
        groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def discovery_resources(group: str, version: str, overrides: Optional[dict] = None) -> Optional[dict]:
    """GET /api/v1 or /apis/GROUP/VERSION: the resources served there, None when none are."""
    resources = [{"name": k.plural, "singularName": k.kind.lower(), "namespaced": k.namespaced,
                  "kind": k.kind, "verbs": LIST_VERBS}
                 for k in KINDS if k.group == group and version in served(k, overrides)]
    if group == "":
        resources += [{"name": sub, "namespaced": True, "kind": kind, "verbs": verbs}
                      for sub, kind, verbs in (("pods/log", "Pod", ["get"]),
                                               ("pods/proxy", "PodProxyOptions", ["get"]))]
    if group == "authorization.k8s.io" and version == "v1":
        resources = [{"name": "subjectaccessreviews", "namespaced": False,
                      "kind": "SubjectAccessReview", "verbs": ["create"]},
                     {"name": "localsubjectaccessreviews", "namespaced": True,
                      "kind": "LocalSubjectAccessReview", "verbs": ["create"]}]
    if not resources:
        return None
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}
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
