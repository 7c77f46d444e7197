"""linkerd-control-plane: Linkerd is installed, its pods are ready, the scrape config points at it."""
from __future__ import annotations

from typing import Dict, List

from .. import naming
from ..collector.locate import static_env
from ..k8s import podstatus
from ..scrape.config import scrape_jobs
from ..scrape.targets import simulate
from .common import control_plane_namespace, count, facts, labels, listing, proxy_container, read_failure, verb
from .framework import Category, Check, fail, passed, skip


def installed(snap, _opts):
    failure = read_failure(snap, "namespaces", "pods")
    if failure:
        return failure
    ns = control_plane_namespace(snap)
    if ns is None:
        return fail("no Linkerd control plane found (no namespace labelled linkerd.io/is-control-plane=true"
                    f" and no control-plane pods in '{snap.linkerd_namespace_hint or 'linkerd'}')")
    return passed(f"control plane namespace '{ns}' exists")


def pods_ready(snap, _opts):
    ns = control_plane_namespace(snap)
    pods = [p for p in snap.pods if p["metadata"].get("namespace") == ns
            and labels(p).get("linkerd.io/control-plane-component")]
    if not pods:
        return fail(f"no control-plane pods in namespace '{ns}'")
    bad = [f"{p['metadata']['name']}  {podstatus.ready_column(p)}  {podstatus.not_ready_reason(p)}"
           for p in pods if not podstatus.is_fully_ready(p)]
    if bad:
        return fail(f"{len(bad)} of {count(len(pods), 'control-plane pod')} {verb(len(bad), 'is', 'are')} not ready",
                    listing(bad))
    return None


CP_NS_LABEL = "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"


PROBES_PER_NAMESPACE = 1
MAX_PROBE_NAMESPACES = 50


def _probe_pods(snap, ns: str) -> List[dict]:
    """Meshed pods of control plane `ns` with a linkerd-admin port, made Running and ready (with an IP), so
    that only the proxy job's label rules decide whether it keeps them. A sample is enough to ask that: the
    control plane's own pods, and one pod from each of up to 50 other namespaces (a 50,000-pod mesh
    must not be simulated, nor copied, a second time). The pods are new objects: the Snapshot's pods are
    shared and read-only."""
    out = []
    per_namespace: Dict[str, int] = {}
    for pod in snap.pods:
        if labels(pod).get("linkerd.io/control-plane-ns") != ns:
            continue
        container = proxy_container(pod) or {}
        if not any(p.get("name") == naming.LINKERD_ADMIN_PORT_NAME for p in container.get("ports") or []):
            continue
        pod_ns = (pod.get("metadata") or {}).get("namespace") or ""
        if pod_ns != ns:
            seen = per_namespace.get(pod_ns, 0)
            if seen >= PROBES_PER_NAMESPACE or (not seen and len(per_namespace) >= MAX_PROBE_NAMESPACES):
                continue
            per_namespace[pod_ns] = seen + 1
        out.append(_ready_copy(pod))
    return out


def _ready_copy(pod: dict) -> dict:
    status = dict(pod.get("status") or {})
    status["phase"] = "Running"
    status.setdefault("podIP", "10.0.0.1")
    status.setdefault("podIPs", [{"ip": status["podIP"]}])
    status["conditions"] = [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}]
    for field in ("containerStatuses", "initContainerStatuses"):
        if status.get(field):
            status[field] = [dict(cs, ready=True) for cs in status[field]]
    return dict(pod, status=status)


def scrape_namespace(snap, _opts):
    """Would the proxy job keep a proxy of the detected control plane? Asked of the targets engine with the
    control plane's own meshed pods, rather than searched for as text in the config."""
    config = facts(snap).config
    if config is None:
        return skip("no collector config to compare")
    ns = control_plane_namespace(snap)
    try:
        jobs = scrape_jobs(config, static_env(snap.workload()))
    except ValueError as exc:
        return skip(f"the scrape config cannot be simulated: {exc}")
    if not jobs:
        return skip("the collector config has no scrape job")
    probes = _probe_pods(snap, ns)
    if not probes:
        return skip(f"no meshed pod of control plane '{ns}' to try the proxy job's rules on")
    sim = simulate(jobs, probes, own_namespace=snap.collector_namespace)
    proxy_jobs = [j for j in sim.jobs if j.proxy_job]
    if not proxy_jobs:
        return skip("no scrape job keeps the linkerd-proxy container's linkerd-admin port")
    if any(t.pod is not None for j in proxy_jobs for t in j.active):
        return None
    reasons = [f"job {j.job.name}: {u.reason}" for j in proxy_jobs for u in j.unscraped
               if u.rule is not None and CP_NS_LABEL in u.rule.source_labels]
    if not reasons:
        return None   # left out for another reason: the targets checks say which
    return fail(f"the proxy job keeps no proxy of control plane '{ns}': its rule on the pods' "
                "linkerd.io/control-plane-ns label expects another namespace",
                listing(list(dict.fromkeys(reasons))))


CATEGORY = Category("linkerd-control-plane", [
    Check("installed", "Linkerd control plane is installed", installed, "l5d-installed", fatal=True),
    Check("pods", "control plane pods are running and ready", pods_ready, "l5d-control-plane-pods",
          retryable=True),
    Check("scrape-ns", "scrape config uses the control-plane namespace", scrape_namespace,
          "l5d-scrape-namespace"),
], requires=("kubernetes-api",))
