"""linkerd-otel-targets: every meshed pod that should be scraped is a target, and the collector reports it up.

The expectation is the targets engine's simulation of the collector's own config, counted the way the
`targets` command counts (scrape/targets.py: `Simulation.meshed_unscraped`, completed pods left out; a
target is down when the collector says so); the collector's view comes from its prometheus receiver's
API (/api/v1/targets)."""
from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from ..collector.locate import static_env
from ..scrape.config import scrape_jobs
from ..scrape.targets import COMPLETED, merge_actual, simulate
from .common import READS_STEP, control_plane_namespace, count, facts, gather_error, labels, listing, live, verb
from .framework import Category, Check, fail, passed, skip, warn

API_FIX = ("enable the prometheus receiver's API: api_server: {enabled: true, server_config: "
           "{endpoint: 0.0.0.0:9090}}")
PHASE_FIX = ("add `- {source_labels: [__meta_kubernetes_pod_phase], action: keep, regex: Pending|Running}` "
             "first in the proxy job's relabel_configs, as Linkerd viz does (linkerd2 issues #10562, #13346)")


def simulation(snap):
    """The targets engine's run over the snapshot (cached), or a str saying why there is none."""
    cached = getattr(snap, "_simulation_cache", None)
    if cached is not None:
        return cached
    config = facts(snap).config
    if config is None:
        result = "the config did not parse"
    else:
        try:
            result = simulate(scrape_jobs(config, static_env(snap.workload())), snap.pods,
                              own_namespace=snap.collector_namespace)
            if snap.receiver_targets:
                merge_actual(result, snap.receiver_targets)
        except ValueError as exc:   # ScrapeConfigError, RE2Error, RelabelConfigError are ValueErrors
            result = f"the collector config cannot be simulated: {exc}"
    try:
        object.__setattr__(snap, "_simulation_cache", result)
    except AttributeError:
        pass
    return result


def _no_actual_targets(snap) -> str:
    """Why the collector's own targets are not known."""
    from ..collector.facts import binds_pod_ip

    found = facts(snap)
    if found.receiver_api_unknown:
        return f"cannot tell where its API listens: {found.receiver_api_unknown}"
    if found.receiver_api is None:
        return API_FIX
    if not binds_pod_ip(found.receiver_api):
        host, port = found.receiver_api
        return (f"its API listens on {host} only, out of reach of the API server's pod proxy (use endpoint "
                f"0.0.0.0:{port})")
    unread = gather_error(snap, "pods", READS_STEP)
    if unread:
        return unread
    return "no running collector pod to ask"


def _in_scope(opts) -> Callable[[str], bool]:
    return lambda namespace: not opts.namespace_filter or namespace in opts.namespace_filter


def scraped(snap, opts):
    if snap.receiver_targets_errors:
        # a pod answering something else may be starting; the API server refusing (403) will not change
        flags = getattr(snap, "transient_errors", {}) or {}
        return fail("could not read the collector's targets",
                    listing([f"{k}: {v}" for k, v in snap.receiver_targets_errors.items()]),
                    retryable=all(flags.get(f"targets/{k}", True) for k in snap.receiver_targets_errors))
    sim = simulation(snap)
    if isinstance(sim, str):
        return skip(sim) if facts(snap).config is None else warn(sim)
    in_scope = _in_scope(opts)
    cp = control_plane_namespace(snap)
    proxy_jobs = [j for j in sim.jobs if j.proxy_job]
    meshed = [p for p in sim.pods if p.meshed and in_scope(p.namespace)]
    # the `targets` command's count: meshed pods no proxy job scrapes, completed ones left out
    unscraped = [u for u in sim.meshed_unscraped if not u.completed and in_scope(u.pod.namespace)]
    header: List[str] = []
    if not proxy_jobs:
        ours = [f"{p.namespace}/{p.name}" for p in meshed if p.phase not in COMPLETED]
        others: List[str] = []
        if ours:
            header = [f"no scrape job keeps the linkerd-proxy container's linkerd-admin port of control plane "
                      f"'{cp}'"]
    else:
        ours = [f"{u.pod.namespace}/{u.pod.name}: {u.reason}" for u in unscraped
                if labels(u.pod.pod).get("linkerd.io/control-plane-ns") == cp]
        others = [f"{u.pod.namespace}/{u.pod.name}: {u.reason}" for u in unscraped
                  if labels(u.pod.pod).get("linkerd.io/control-plane-ns") != cp]
    active = [t for j in sim.jobs for t in j.active if not t.namespace or in_scope(t.namespace)]
    down = [f"{t.namespace}/{t.pod_name} ({t.address}) is down: {t.last_error or t.health}"
            for t in active if t.health == "down"]
    absent = [f"{t.namespace}/{t.pod_name} ({t.address}) is expected but the collector does not report it"
              for j in proxy_jobs for t in j.active
              if sim.actual and t.source == "simulation" and in_scope(t.namespace)]
    jobs = ", ".join(j.job.name for j in sim.jobs) or "none"
    total = len(ours) + len(others) + len(down) + len(absent)
    if sim.actual:
        up = sum(1 for t in active if t.health == "up")
        description = f"{count(up, 'target')} scraped (jobs: {jobs}), "
    else:
        description = f"{count(len(active), 'target')} expected (jobs: {jobs}), "
    description += f"{count(len(meshed), 'meshed pod')}, {total} not scraped"
    if ours or down or absent:
        missing = len(ours) + len(absent)
        error = (f"{count(missing, 'meshed pod')} {verb(missing, 'is', 'are')} not "
                 f"{'a target' if missing == 1 else 'targets'}")
        if sim.actual:
            error += f", {count(len(down), 'target')} {verb(len(down), 'is', 'are')} down"
        # a pod the config leaves out stays left out; a target down or not yet seen may come up
        return fail(error, listing(header + down + absent + ours + others), description=description,
                    retryable=not ours)
    notes = []
    if others:
        notes.append(f"{count(len(others), 'meshed pod')} of another control plane than '{cp}' "
                     f"{verb(len(others), 'is', 'are')} not scraped")
    if not sim.actual:
        why = _no_actual_targets(snap)
        notes.append(f"cannot see the collector's own targets: {why}; the expectation above comes from "
                     "its config")
    if notes:
        return warn("; ".join(notes), listing(others), description=description)
    return passed(description)


# -- the other Linkerd jobs --------------------------------------------------------------------------
def _control_plane_pods(snap) -> List[dict]:
    cp = control_plane_namespace(snap)
    return [p for p in snap.pods if p["metadata"].get("namespace") == cp and live(p)
            and labels(p).get("linkerd.io/control-plane-component")]


def _multicluster_pods(snap) -> List[dict]:
    return [p for p in snap.pods if live(p) and (
        labels(p).get("component") == "linkerd-service-mirror"
        or (labels(p).get("component") == "controller" and labels(p).get("linkerd.io/extension") == "multicluster"))]


# job name (as in Linkerd viz's scrape config) -> (what it scrapes, the pods it should find)
LINKERD_JOBS: Dict[str, Tuple[str, Callable]] = {
    "linkerd-controller": ("control-plane pod", _control_plane_pods),
    "linkerd-multicluster-controller": ("multicluster controller pod", _multicluster_pods),
    "linkerd-service-mirror": ("multicluster controller pod", _multicluster_pods),
}


def _admin_ports(pods: List[dict]) -> List[str]:
    names = []
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                name = port.get("name") or ""
                if name.endswith("admin") and name != "linkerd-admin" and name not in names:
                    names.append(name)
    return names


def linkerd_jobs(snap, _opts):
    sim = simulation(snap)
    if isinstance(sim, str):
        return skip(sim)
    empty = []
    for result in sim.jobs:
        if result.job.name not in LINKERD_JOBS or result.active:
            continue
        what, find = LINKERD_JOBS[result.job.name]
        pods = find(snap)
        if pods:
            ports = _admin_ports(pods)
            where = ", ".join(sorted({p["metadata"].get("namespace") for p in pods}))
            empty.append(f"job {result.job.name}: 0 targets, though {count(len(pods), what)} "
                         f"{verb(len(pods), 'runs', 'run')} in {where}"
                         + (f" (admin ports: {', '.join(ports)})" if ports else ""))
    if empty:
        return warn(f"{count(len(empty), 'Linkerd scrape job')} {verb(len(empty), 'finds', 'find')} no target: "
                    "no metrics from those components. Linkerd >= 2.19 names the control plane's admin ports "
                    "dest-admin, ident-admin, ... (no more `admin`/`admin-http`): keep `.*admin$` and drop "
                    "linkerd-admin, as Linkerd viz does", empty)
    return None


def completed_pods(snap, opts):
    sim = simulation(snap)
    if isinstance(sim, str):
        return skip(sim)
    in_scope = _in_scope(opts)
    done = sorted({f"{t.pod.namespace}/{t.pod.name} (phase {t.pod.phase}, job {j.job.name})"
                   for j in sim.jobs if j.proxy_job for t in j.active
                   if t.pod is not None and t.pod.phase in COMPLETED and in_scope(t.pod.namespace)})
    if done:
        return warn(f"{count(len(done), 'completed pod')} {verb(len(done), 'is', 'are')} a scrape target: "
                    f"nothing answers there any more, the collector logs a failure every interval; {PHASE_FIX}",
                    listing(done))
    return None


CATEGORY = Category("linkerd-otel-targets", [
    Check("scraped", "every meshed pod is scraped", scraped, "otel-targets", retryable=True),
    Check("linkerd-jobs", "every Linkerd scrape job finds its pods", linkerd_jobs, "otel-targets-linkerd-jobs"),
    Check("completed", "completed pods are not scraped", completed_pods, "otel-targets-completed"),
], requires=("linkerd-otel-collector", "linkerd-data-plane"))
