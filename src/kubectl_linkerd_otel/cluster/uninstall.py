"""Taking the stack out again (cluster I/O): what install made in the collector namespace and its
cluster RBAC, and the namespace only when install created it and nothing else lives in it."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

from ..errors import KubeError
from ..k8s.refs import api_group, is_ours, labels, object_ref
from ..naming import COLLECTOR_NAMESPACE_LABEL, EXTENSION_LABEL, EXTENSION_NAME, MANAGED_BY_SELECTOR, common_labels
from .install import with_hint
from .operator import RESOURCE as OPERATOR_RESOURCE, with_collector_resource

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

NAMESPACED_KINDS = ("deployments", "daemonsets", "services", "configmaps", "secrets", "serviceaccounts",
                    "rolebindings", "roles")
# What may live in a namespace without counting as "something else": Kubernetes puts these there.
_DEFAULT_OBJECTS = {("configmaps", "kube-root-ca.crt"), ("serviceaccounts", "default")}
# Records about other objects, not objects of their own: they go with the namespace harmlessly.
_DERIVED = {("", "events"), ("events.k8s.io", "events")}
_DERIVED_GROUPS = ("metrics.k8s.io",)     # pod metrics: an aggregated API, often the one that is down


def objects_to_delete(kube, namespace: str, also_ours: Sequence[Tuple[object, dict]] = ()
                      ) -> Tuple[List[Tuple[str, dict]], str]:
    """(resource, object) pairs we installed in `namespace`, plus the cluster RBAC of that namespace's
    collector (selected by its collector-namespace label: another namespace's install keeps its own), in
    delete order; the namespace itself last, only when install created it and nothing else lives in it.
    Also why the namespace is kept ("" when it goes, or when it is not ours to delete). `also_ours`: more
    objects uninstall deletes (the policy objects), which do not keep the namespace alive."""
    found: List[Tuple[str, dict]] = []
    for plural in NAMESPACED_KINDS:
        for obj in kube.list(plural, namespace, label_selector=MANAGED_BY_SELECTOR):
            found.append((plural, obj))
    found = with_collector_resource(kube, namespace, found)   # the operator's CR first: it goes before the rest
    cluster_selector = f"{MANAGED_BY_SELECTOR},{COLLECTOR_NAMESPACE_LABEL}={namespace}"
    for plural in ("clusterrolebindings", "clusterroles"):
        for obj in kube.list(plural, label_selector=cluster_selector):
            found.append((plural, obj))
    ns = kube.get_or_none("namespaces", namespace)
    if ns is None:
        return found, ""
    if namespace in PROTECTED_NAMESPACES:
        return found, "kept: a Kubernetes system namespace"
    if not is_ours(ns):
        return found, "kept: it existed before install"
    occupant = namespace_occupant(kube, namespace, found + list(also_ours))
    if occupant:
        return found, f"kept: {occupant}"
    found.append(("namespaces", ns))
    return found, ""


def namespace_occupant(kube, namespace: str, ours: List[Tuple[str, dict]]) -> Optional[str]:
    """Why the namespace must stay: the first object in it that is neither ours, nor made by ours
    (ReplicaSets, pods, ...), nor put there by Kubernetes; or that not every kind could be listed.
    Every listable namespaced kind counts, custom resources included (`kubectl api-resources`)."""
    resources, failed = kube.namespaced_resources(
        skip_groups=_DERIVED_GROUPS + tuple(group for group, _plural in _DERIVED if group))
    if failed:
        return f"could not make sure nothing else lives in it ({', '.join(failed)} did not answer)"
    mine = {(api_group(obj), obj["metadata"]["name"], obj.get("kind")) for _plural, obj in ours}
    names = {obj["metadata"]["name"] for _plural, obj in ours}
    workloads = {obj["metadata"]["name"] for plural, obj in ours
                 if plural in ("deployments", "daemonsets", OPERATOR_RESOURCE)}
    for res in resources:
        if res.group in _DERIVED_GROUPS or (res.group, res.plural) in _DERIVED:
            continue
        try:
            items = kube.list(res, namespace)
        except KubeError as exc:
            return f"could not make sure nothing else lives in it ({exc.message})"
        for obj in items:
            name = obj["metadata"]["name"]
            if (res.group, name, res.kind) in mine or (res.plural, name) in _DEFAULT_OBJECTS:
                continue
            if _owned_by(obj, names, workloads):
                continue
            if res.plural == "secrets" and obj.get("type") == "kubernetes.io/service-account-token":
                continue
            kind = res.kind.lower() + (f".{res.group}" if res.group else "")
            return f"other objects live in it ({kind}/{name})"
    return None


def namespace_to_release(kube, namespace: str, found: List[Tuple[str, dict]]) -> Optional[dict]:
    """Our namespace when uninstall keeps it (something else lives in it): it must lose our labels, or
    `linkerd check` keeps running `linkerd-otel check` for it."""
    if any(plural == "namespaces" for plural, _obj in found):
        return None
    ns = kube.get_or_none("namespaces", namespace)
    if ns is None or not (is_ours(ns) or labels(ns).get(EXTENSION_LABEL) == EXTENSION_NAME):
        return None
    return ns


def our_namespace_labels(ns: dict) -> List[str]:
    """The labels `install` puts on a namespace that it still carries."""
    ours = [EXTENSION_LABEL] + sorted(common_labels(""))
    return [key for key in ours if key in labels(ns)]


def release_namespace(kube, ns: dict, *, dry_run: bool) -> dict:
    """Drop the labels we own from a namespace we keep: applying it with our field manager and no
    labels makes server-side apply remove the fields only we own; labels others set stay. Returns the
    namespace as it is (or would be, in a dry run) afterwards."""
    empty = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns["metadata"]["name"]}}
    return kube.apply(empty, dry_run=dry_run).object


def _owned_by(obj: dict, names: set, workloads: set) -> bool:
    # ReplicaSets and ControllerRevisions belong to our workloads, pods to a ReplicaSet named after the
    # Deployment (or to the DaemonSet), EndpointSlices to a Service of ours
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        name = ref.get("name", "")
        if name in names or any(name.startswith(w + "-") for w in workloads):
            return True
    return False


def delete_objects(kube, found: List[Tuple[str, dict]], *, dry_run: bool,
                   echo: Callable[[str], None]) -> int:
    suffix = " (server dry run)" if dry_run else ""
    count = 0
    for plural, obj in found:
        meta = obj["metadata"]
        try:
            gone = kube.delete(plural, meta["name"], meta.get("namespace"), dry_run=dry_run)
        except KubeError as exc:
            hint = ("nothing was changed (server dry run)" if dry_run else
                    f"{count} of {len(found)} objects were deleted before it; once fixed, run uninstall "
                    f"again to delete the rest")
            raise with_hint(exc, hint) from None
        if gone:
            count += 1
            echo(f"{object_ref(obj)} deleted{suffix}")
        else:
            echo(f"{object_ref(obj)} already gone")
    return count
