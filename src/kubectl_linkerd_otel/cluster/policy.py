"""`install --restrict-metrics` and `uninstall` for the Linkerd policy objects (cluster I/O).

Reads which versions of Linkerd's policy CRDs the cluster serves (discovery), the meshed namespaces and
the Servers and HTTPRoutes already there; renders through render/policy.py; applies server-side; and
finds exactly the objects an install for one collector namespace created, for uninstall.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import (ApiStatusError, ApiTimeout, ApiUnreachable, Conflict, Forbidden, KubeconfigError, KubeError,
                      NotFound, PluginError, UsageError)
from ..apiclient import Resource
from ..naming import COLLECTOR_NAME, COLLECTOR_NAMESPACE_LABEL, CONTROL_PLANE_NS_LABEL, MANAGED_BY_SELECTOR
from ..render import policy as render_policy


@dataclass
class PolicyPlan:
    objects: List[dict] = field(default_factory=list)     # in apply order
    versions: Dict[str, str] = field(default_factory=dict)
    namespaces: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)        # said on stderr, before anything is applied
    skip: Dict[Tuple[str, str, str], str] = field(default_factory=dict)   # (kind, ns, name) -> why
    existing: Dict[Tuple[str, str, str], dict] = field(default_factory=dict)


def _resource(kind: str, version: str):
    return Resource(f"{render_policy.GROUP}/{version}", render_policy.PLURALS[kind], kind, True)


def served_versions(kube) -> Dict[str, List[str]]:
    """Kind -> the versions of policy.linkerd.io that serve it, as discovery lists them."""
    served: Dict[str, List[str]] = {}
    for version, resources in kube.group_resources(render_policy.GROUP).items():
        for res in resources:
            if "/" not in (res.get("name") or "") and res.get("kind"):
                served.setdefault(res["kind"], []).append(version)
    return served


def cluster_versions(kube) -> Dict[str, str]:
    versions, missing = render_policy.choose_versions(served_versions(kube))
    if missing:
        raise PluginError(
            f"the cluster serves no usable version of Linkerd's {', '.join(missing)} "
            f"({render_policy.GROUP}): its policy CRDs are missing or older than Linkerd 2.12",
            hint="upgrade Linkerd's CRDs (linkerd upgrade --crds | kubectl apply -f -), or install without "
                 "--restrict-metrics")
    return versions


def meshed_namespaces(kube, linkerd_namespace: str) -> List[str]:
    """Namespaces with pods meshed by this control plane (the collector's own included)."""
    pods = kube.list("pods", label_selector=f"{CONTROL_PLANE_NS_LABEL}={linkerd_namespace}")
    return sorted({p["metadata"]["namespace"] for p in pods if (p.get("metadata") or {}).get("namespace")})


def _list_all(kube, kind: str, version: str, label_selector: Optional[str] = None) -> List[dict]:
    items = kube.list(_resource(kind, version), label_selector=label_selector)
    for item in items:
        item["kind"] = kind
    return items


def _key(obj: dict) -> Tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("kind", ""), meta.get("namespace") or "", meta.get("name") or ""


def plan(kube, *, collector_namespace: str, service_account: str, linkerd_namespace: str,
         namespaces: Sequence[str] = ()) -> PolicyPlan:
    """What to apply: for `namespaces` (default: every namespace with meshed pods), at the versions the
    cluster serves, attached to the Servers and routes already there."""
    versions = cluster_versions(kube)
    if namespaces:
        for name in namespaces:
            if kube.get_or_none("namespaces", name) is None:
                raise UsageError(f"namespace {name} (--policy-namespace) does not exist")
        chosen = list(dict.fromkeys(namespaces))
    else:
        # the collector's own namespace too: install meshes it, and its proxy is scraped like any other
        chosen = sorted(set(meshed_namespaces(kube, linkerd_namespace)) | {collector_namespace})
    result = PolicyPlan(versions=versions, namespaces=chosen)
    existing = {kind: _list_all(kube, kind, versions[kind]) for kind in render_policy.RENDERABLE}
    for items in existing.values():
        for obj in items:
            result.existing[_key(obj)] = obj
    plans = []
    for namespace in chosen:
        ns_plan = render_policy.plan_namespace(namespace, existing["Server"], existing["HTTPRoute"])
        result.notes += ns_plan.notes
        plans.append(ns_plan)
    result.objects = render_policy.render(plans, collector_namespace, service_account, versions)
    result.notes.append(f"only {service_account} (namespace {collector_namespace}) may read the proxies' "
                        f"/metrics in {', '.join(chosen)} from now on: another scraper needs an "
                        f"AuthorizationPolicy of its own; a namespace meshed later is covered when install "
                        f"--restrict-metrics runs again")
    for obj in result.objects:
        current = result.existing.get(_key(obj))
        if current is None:
            continue
        kind, ns, name = _key(obj)
        if not render_policy.is_ours(current):
            raise PluginError(
                f"{kind} {name} already exists in namespace {ns} and was not created by kubectl-linkerd-otel: "
                f"install will not take it over",
                hint=f"delete or rename it; nothing was applied")
        owner = ((current.get("metadata") or {}).get("labels") or {}).get(COLLECTOR_NAMESPACE_LABEL)
        if owner and owner != collector_namespace:
            result.skip[_key(obj)] = f"kept: the install for the collector in namespace {owner} made it"
    return result


def offline_plan(*, collector_namespace: str, service_account: str, namespaces: Sequence[str]) -> PolicyPlan:
    """Without a cluster: the newest versions we know, our own Server in every namespace named."""
    plans = [render_policy.NamespacePlan(ns) for ns in dict.fromkeys(namespaces)]
    versions = dict(render_policy.NEWEST)
    return PolicyPlan(objects=render_policy.render(plans, collector_namespace, service_account, versions),
                      versions=versions, namespaces=[p.namespace for p in plans])


def object_ref(obj: dict) -> str:
    return f"{obj['kind'].lower()}.{render_policy.GROUP}/{obj['metadata']['name']}"


def apply(kube, policy_plan: PolicyPlan, *, dry_run: bool, force: bool,
          echo: Callable[[str], None]) -> List[Tuple[dict, str]]:
    """Server-side apply in plan order; one line per object, naming its namespace."""
    suffix = " (server dry run)" if dry_run else ""
    done: List[Tuple[dict, str]] = []
    for obj in policy_plan.objects:
        where = f"{object_ref(obj)} in namespace {obj['metadata']['namespace']}"
        key = _key(obj)
        if key in policy_plan.skip:
            echo(f"{where} unchanged ({policy_plan.skip[key]})")
            done.append((policy_plan.existing[key], "unchanged"))
            continue
        try:
            result = kube.apply(obj, dry_run=dry_run, force=force, before=policy_plan.existing.get(key))
        except Conflict as exc:
            fields = ", ".join(f"{c.get('field') or 'a field'} (owned by {c.get('manager') or 'another manager'})"
                               for c in exc.causes) or "fields another field manager owns"
            raise PluginError(f"{where}: not overwriting {fields}",
                              hint=_partial(done, policy_plan, dry_run, "re-run with --force-conflicts to take "
                                                                      "them over")) from None
        except KubeError as exc:
            exc.hint = "; ".join(h for h in (exc.hint, _partial(done, policy_plan, dry_run)) if h)
            raise
        echo(f"{where} {result.action}{suffix}")
        done.append((result.object, result.action))
    return done


def _partial(done, policy_plan: PolicyPlan, dry_run: bool, first: str = "") -> str:
    if dry_run:
        tail = "nothing was changed (server dry run)"
    else:
        tail = (f"the collector stack and {len(done)} of {len(policy_plan.objects)} policy objects were applied; "
                f"once fixed, run install again, or uninstall to remove them")
    return "; ".join(h for h in (first, tail) if h)


def _may_skip(exc: Exception) -> bool:
    """A policy kind uninstall may leave for a second run: refused to us, or its API failing by itself;
    never an API server that cannot be reached or does not answer as one."""
    return isinstance(exc, Forbidden) or (isinstance(exc, ApiStatusError) and
                                          (exc.status == 429 or exc.status >= 500))


def objects_to_delete(kube, collector_namespace: str) -> Tuple[List[Tuple[object, dict]], List[str]]:
    """(resource, object) pairs of the policy objects the install for `collector_namespace` created, in
    delete order (selected by our labels, never by name: nothing of anyone else's), and what could not be
    looked at. Discovery that fails does not stop uninstall: every version we render is tried instead."""
    problems: List[str] = []
    try:
        served: Optional[Dict[str, List[str]]] = served_versions(kube)
    except KubeError:
        served = None
    selector = f"{MANAGED_BY_SELECTOR},{COLLECTOR_NAMESPACE_LABEL}={collector_namespace}"
    found: List[Tuple[object, dict]] = []
    for kind in render_policy.DELETE_ORDER:
        versions = [v for v in render_policy.RENDERABLE[kind] if served is None or v in (served.get(kind) or ())]
        for version in versions:
            res = _resource(kind, version)
            try:
                items = _list_all(kube, kind, version, label_selector=selector)
            except NotFound:
                continue
            except KubeError as exc:
                if not _may_skip(exc):
                    raise   # the API server itself is unusable: uninstall cannot go on either
                problems.append(exc.message)
                break
            for obj in items:
                obj.setdefault("apiVersion", res.api_version)
                found.append((res, obj))
            break
    return found, problems


def before_namespace(found: List[Tuple[object, dict]], ours: List[Tuple[object, dict]]) -> List[Tuple[object, dict]]:
    """uninstall's list with our policy objects put before the namespace, which goes last."""
    head = [item for item in found if item[0] != "namespaces"]
    tail = [item for item in found if item[0] == "namespaces"]
    return head + list(ours) + tail


def plan_for_printing(get_kube, install, namespaces: Sequence[str], *, note: Callable[[str], None]) -> List[dict]:
    """The policy objects `install` would apply, printed: from the cluster when it answers; without one,
    for the namespaces named by --policy-namespace at the newest versions we know, and saying so."""
    try:
        found = plan(get_kube(), collector_namespace=install.namespace, service_account=COLLECTOR_NAME,
                     linkerd_namespace=install.linkerd_namespace, namespaces=namespaces)
    except (KubeconfigError, ApiUnreachable, ApiTimeout):
        if not namespaces:
            raise UsageError("--restrict-metrics without a cluster: name the namespaces to restrict with "
                             "--policy-namespace") from None
        found = offline_plan(collector_namespace=install.namespace, service_account=COLLECTOR_NAME,
                             namespaces=namespaces)
        note(f"no cluster: rendering the Linkerd policy objects at the newest versions known "
             f"({render_policy.describe_versions(found.versions)}), each namespace with its own Server; "
             f"applied to a cluster, install reads the versions it serves and the Servers already there")
        return found.objects
    for line in found.notes:
        note(line)
    return [obj for obj in found.objects if _key(obj) not in found.skip]
