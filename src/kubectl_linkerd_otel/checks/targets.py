"""linkerd-otel-targets: every meshed pod that should be scraped is a target, and the collector reports it up.

The expectation is the targets engine's simulation of the collector's ConfigMap; the collector's view
comes from its prometheus receiver's API (/api/v1/targets). When the collector's view can be read, the
scraped / not-scraped counts come from it and a difference from the expectation is reported on its own
(a ConfigMap changed without a restart); otherwise they come from the simulation, with the pods the
inbound-policy check says will answer 403 counted apart. Running meshed pods = scraped + not scraped +
refused; completed pods are not counted (they are not scraped by design)."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

from ..collector.facts import binds_pod_ip
from ..scrape.sd import POD, PROXY_CONTAINER
from ..scrape.targets import ADMIN_PORT, COMPLETED, is_proxy_admin
from ..snapshot import READS_STEP, TARGETS, step
from ..snapshot.simulation import simulation
from .common import control_plane_namespace, count, facts, gather_error, labels, listing, live, verb
from .framework import Category, Check, fail, passed, skip, warn
from .linkerd_data_plane import effective_policy
from .policy import scrape_refused
from .series import series_per_target

API_FIX = ("enable the prometheus receiver's API: api_server: {enabled: true, server_config: "
           "{endpoint: 0.0.0.0:9090}}")
PHASE_FIX = ("add `- {source_labels: [__meta_kubernetes_pod_phase], action: keep, regex: Pending|Running}` "
             "first in the proxy job's relabel_configs, as Linkerd viz does (linkerd2 issues #10562, #13346)")


def _no_actual_targets(snap) -> str:
    """Why the collector's own targets are not known."""
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


def _actual_admin_pod(target, by_address: "_LazyAddresses"):
    """The (namespace, pod) whose proxy admin port a target the collector reports scrapes, else None."""
    if target.source == "both":
        return target.pod.key if target.pod is not None and is_proxy_admin(target.info) else None
    found = target.actual_discovered or {}
    if found.get(f"{POD}container_name") == PROXY_CONTAINER and \
            found.get(f"{POD}container_port_name") == ADMIN_PORT and found.get(f"{POD}name"):
        return found.get("__meta_kubernetes_namespace", ""), found[f"{POD}name"]
    return by_address.get(found.get("__address__") or (target.labels or {}).get("instance", ""))


class _LazyAddresses:
    """The (namespace, pod) of each proxy admin address the simulation discovered, built on first use:
    only a target the collector reports without its pod's labels needs it."""

    def __init__(self, sim) -> None:
        self._sim = sim
        self._index: Optional[Dict[str, Tuple[str, str]]] = None

    def get(self, address: str) -> Optional[Tuple[str, str]]:
        if self._index is None:
            self._index = {info.labels.get("__address__", ""): pt.key for pt in self._sim.pods
                           for info in pt.targets if is_proxy_admin(info)}
        return self._index.get(address)


def _refused(snap, pods) -> Dict[Tuple[str, str], str]:
    """The pods whose proxy would answer the collector's scrape with HTTP 403 (the inbound-policy check's
    verdict), with why."""
    out = {}
    for pt in pods:
        policy = effective_policy(snap, pt.pod)
        why = scrape_refused(snap, pt.pod, policy)
        if why:
            out[pt.key] = f"{policy}: {why}"
    return out


def _restart_command(snap) -> str:
    kind, _, name = (snap.collector_workload or "").partition("/")
    return f"kubectl -n {snap.collector_namespace} rollout restart {kind.lower() or 'deployment'}/{name}"


RBAC_CHECK = "collector can get, list and watch pods where it scrapes"


def _may_not_list(snap) -> List[str]:
    """The namespaces where the access reviews say the collector may not list or watch pods ("" for all
    of them): its discovery finds nothing there, whatever its config says."""
    return sorted({r.get("namespace") or "" for r in snap.access_reviews
                   if r.get("resource") == "pods" and r.get("verb") in ("list", "watch")
                   and r.get("allowed") is False and r.get("namespace") != "__all__"})


def _denied_to(denied: List[str]) -> Callable[[str], bool]:
    return lambda namespace: "" in denied or namespace in denied


def _rbac_note(denied: List[str]) -> str:
    where = "" if "" in denied else f" in {', '.join(denied)}"
    return f"the collector may not list pods{where} (see the failed check '{RBAC_CHECK}')"


def scraped(snap, opts):
    unread: List[str] = []
    if snap.receiver_targets_errors:
        # a pod answering something else may be starting; the API server refusing (403) will not change
        flags = getattr(snap, "transient_errors", {}) or {}
        errors = [f"{k}: {v}" for k, v in sorted(snap.receiver_targets_errors.items())]
        if not snap.receiver_targets:
            return fail("could not read the collector's targets", listing(errors),
                        retryable=all(flags.get(step(TARGETS, k), True) for k in snap.receiver_targets_errors))
        # DaemonSet mode: the other collector pods answered; count their targets, name the one that did not
        unread = [f"could not read the targets of collector pod {e}" for e in errors]
    sim = simulation(snap)
    if isinstance(sim, str):
        return skip(sim) if facts(snap).config is None else warn(sim)
    in_scope = _in_scope(opts)
    cp = control_plane_namespace(snap)
    meshed = [p for p in sim.pods if p.meshed and in_scope(p.namespace)]
    running = [p for p in meshed if p.phase not in COMPLETED]
    completed = len(meshed) - len(running)
    active = [t for j in sim.jobs for t in j.active if not t.namespace or in_scope(t.namespace)]
    jobs = ", ".join(j.job.name for j in sim.jobs) or "none"
    explained = {u.pod.key: u.reason for u in sim.meshed_unscraped}
    refused: Dict[Tuple[str, str], str] = {}
    if sim.actual:
        by_address = _LazyAddresses(sim)
        seen = [t for t in active if t.source != "simulation"]
        scraped_pods = {k for k in (_actual_admin_pod(t, by_address) for t in seen) if k is not None}
        health = {"up": 0, "down": 0, "unknown": 0}
        for t in seen:
            health[t.health if t.health in health else "unknown"] += 1
        description = (f"{count(len(seen), 'target')} scraped (jobs: {jobs}): {health['up']} up, "
                       f"{health['down']} down, {health['unknown']} unknown; ")
        missing_expected = [t for t in active if t.source == "simulation"]
        unexpected = [t for t in active if t.source == "collector"]
        # a target the collector cannot discover for lack of RBAC is not a sign of a stale ConfigMap
        denied = _denied_to(_may_not_list(snap))
        blocked = [t for t in missing_expected if denied(t.namespace or "")]
        missing_expected = [t for t in missing_expected if not denied(t.namespace or "")]
    else:
        seen, missing_expected, unexpected, blocked = active, [], [], []
        scraped_pods = {p.key for p in running if p.key not in explained}
        refused = _refused(snap, [p for p in running if p.key in scraped_pods])
        scraped_pods -= set(refused)
        description = f"{count(len(active), 'target')} expected (jobs: {jobs}): health unknown"
        if refused:
            description += f", {len(refused)} will be refused (HTTP 403)"
        description += "; "
    not_scraped = [p for p in running if p.key not in scraped_pods and p.key not in refused]
    description += f"{count(len(running), 'running meshed pod')}, {len(not_scraped)} not scraped"
    if refused:
        description += f", {len(refused)} refused"
    if completed:
        description += f" ({count(completed, 'completed pod')} not counted)"

    blocked_pods = {t.pod.key for t in blocked if t.pod is not None}
    # the expected proxy target of each pod not scraped (only theirs: on a large mesh, one entry a pod)
    unscraped_keys = {p.key for p in not_scraped}
    expected_admin = {t.pod.key: t for t in active if t.pod is not None and t.pod.key in unscraped_keys
                      and is_proxy_admin(t.info)} if unscraped_keys else {}

    def why(p) -> str:
        if p.key in expected_admin:
            t = expected_admin[p.key]
            if p.key in blocked_pods:
                return (f"{p.namespace}/{p.name}: expected ({t.address}), but the collector may not list pods "
                        f"in {p.namespace}")
            return f"{p.namespace}/{p.name}: expected ({t.address}), but the collector does not report it"
        return f"{p.namespace}/{p.name}: {explained.get(p.key, 'no target')}"

    ours = [why(p) for p in not_scraped if labels(p.pod).get("linkerd.io/control-plane-ns") == cp]
    others = [why(p) for p in not_scraped if labels(p.pod).get("linkerd.io/control-plane-ns") != cp]
    down = [f"{t.namespace}/{t.pod_name} ({t.address}) is down: {t.last_error or t.health}"
            for t in seen if sim.actual and t.health == "down"]
    drift = ""
    if missing_expected or unexpected:
        drift = (f"the running collector's targets differ from what its ConfigMap gives: "
                 f"{count(len(missing_expected), 'expected target')} {verb(len(missing_expected), 'is', 'are')} "
                 f"not scraped, {count(len(unexpected), 'scraped target')} {verb(len(unexpected), 'is', 'are')} "
                 f"not expected — was the ConfigMap changed without restarting the collector? "
                 f"`{_restart_command(snap)}`")
    drift_lines = ([f"{t.namespace or '-'}/{t.pod_name or '-'} ({t.address or '-'}) is expected but the collector "
                    f"does not report it" for t in missing_expected]
                   + [f"{t.scrape_url()} (job {t.job.name}) is scraped but not expected from the ConfigMap"
                      for t in unexpected])
    rbac = _rbac_note(_may_not_list(snap)) if blocked else ""
    if ours or down:
        bits = []
        if ours:
            bits.append(f"{count(len(ours), 'running meshed pod')} of control plane '{cp}' "
                        f"{verb(len(ours), 'is', 'are')} not scraped")
        if down:
            bits.append(f"{count(len(down), 'target')} {verb(len(down), 'is', 'are')} down")
        error = ", ".join(bits) + "".join(f"; {note}" for note in [rbac, drift] + unread if note)
        # a pod the config leaves out stays left out; a target down or not yet seen may come up
        config_out = any(p.key in explained for p in not_scraped
                         if labels(p.pod).get("linkerd.io/control-plane-ns") == cp)
        return fail(error, listing(down + ours + others + drift_lines), description=description,
                    retryable=not config_out)
    notes = []
    if others:
        notes.append(f"{count(len(others), 'meshed pod')} of another control plane than '{cp}' "
                     f"{verb(len(others), 'is', 'are')} not scraped")
    if refused:
        notes.append(f"{count(len(refused), 'expected target')} will be refused: "
                     f"{verb(len(refused), 'its proxy answers', 'their proxies answer')} the collector's scrape "
                     "with HTTP 403 under the default inbound policy (see 'inbound policy lets the collector "
                     "scrape proxies')")
    if rbac:
        notes.append(f"{count(len(blocked), 'expected target')} {verb(len(blocked), 'is', 'are')} not scraped: "
                     f"{rbac}")
    if drift:
        notes.append(drift)
    notes.extend(unread)
    if not sim.actual:
        notes.append(f"cannot see the collector's own targets: {_no_actual_targets(snap)}; the expectation "
                     "above comes from its config")
    if notes:
        details = others + [f"{k[0]}/{k[1]} ({v})" for k, v in sorted(refused.items())] + drift_lines
        return warn("; ".join(notes), listing(details), description=description)
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
    Check("series", "series per target are counted", series_per_target, "otel-targets-series"),
], requires=("linkerd-otel-collector", "linkerd-data-plane"))
