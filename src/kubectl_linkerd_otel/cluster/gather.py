"""Gathering for `check`: everything the checks need from the cluster, read concurrently into a Snapshot.

Never raises for cluster errors: each step that fails lands in `Snapshot.errors` under its step key
(snapshot.step), with whether it may pass by itself (`--wait` retries only those).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

from .. import naming
from ..collector import facts as facts_mod
from ..collector.locate import collector_container
from ..scrape.receiver import CheckHook, compact_for_check, for_check
from .series import gather_proxy_series
from .operator import adopt as adopt_operator, pod_discovery_account
from .pods import list_pods
from .step_errors import record_error
from ..snapshot import (ACCESS, COLLECTOR_STEP, ENDPOINTSLICES, LOGS, METRICS, POLICY_STEPS, PROBE, PROOF, READS_STEP,
                        SERVICE, TARGETS, Snapshot, access_step, choose_collector, review_namespaces, split_step,
                        step)
from .collector import TargetsUnreadable, read_targets
from .otlp_proof import prove_configured, provable
from .probe import dial

LOG_TAIL_LINES = 2000
LOG_SINCE_SECONDS = 3600
EXTENSION_SELECTOR = f"{naming.EXTENSION_LABEL}={naming.EXTENSION_NAME}"


def _run_steps(steps: Dict[str, Callable[[], Any]], snap: Snapshot, workers: int = 8) -> Dict[str, Any]:
    results: Dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(steps)))) as pool:
        futures = {name: pool.submit(fn) for name, fn in steps.items()}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except Exception as exc:  # every failure becomes data for a check
                record_error(snap, name, exc)
    return results


def _kinded(items: List[dict], kind: str) -> List[dict]:
    for item in items:
        item.setdefault("kind", kind)
    return items


def gather(kube: Any, *, namespace: str, namespace_source: str = "flag", linkerd_namespace: str = "",
           metrics_interval: float = 3.0, probe_exporter: bool = False,
           log_since_seconds: Optional[int] = LOG_SINCE_SECONDS, proxy_reads: Any = None) -> Snapshot:
    """Read everything the checks need. Never raises for cluster errors: they land in `snap.errors`.
    `proxy_reads` (cluster/proxy_metrics.ProxyReads): also read every meshed proxy twice, for `stat`."""
    snap = Snapshot(collector_namespace=namespace, collector_namespace_source=namespace_source,
                    linkerd_namespace_hint=linkerd_namespace, metrics_interval=metrics_interval,
                    taken_at=time.time())
    # One round for everything that does not depend on the collector's namespace, /version included:
    # against a server that stalls, the reads wait side by side, not one timeout after another. The
    # namespaced reads go along for the namespace we expect; the extension label may name another one,
    # read in a second round then.
    ns = snap.collector_namespace
    cluster_steps: Dict[str, Callable[[], Any]] = {
        "version": kube.version,
        "namespaces": lambda: kube.list("namespaces"),
        "pods": lambda: list_pods(kube, keep_whole=ns),
        "clusterrolebindings": lambda: kube.list("clusterrolebindings"),
        "clusterroles": lambda: kube.list("clusterroles"),
        **{key: (lambda plural=plural: kube.list(plural)) for key, plural in POLICY_STEPS.items()},
    }
    if namespace_source != "flag":
        cluster_steps["extension-namespace"] = lambda: kube.list("namespaces", label_selector=EXTENSION_SELECTOR)
    first = _run_steps({**cluster_steps, **_namespaced_steps(kube, ns)}, snap, workers=16)
    if "version" in snap.errors:
        # nothing else answered either: the API check says why, the others are skipped
        version_error, transient = snap.errors["version"], snap.transient_errors.get("version", False)
        snap.errors.clear()
        snap.transient_errors.clear()
        snap.errors["version"], snap.transient_errors["version"] = version_error, transient
        return snap
    snap.version = first["version"]
    labelled = first.get("extension-namespace") or []
    if labelled:
        snap.collector_namespace = labelled[0]["metadata"]["name"]
        snap.collector_namespace_source = "extension-label"
        if snap.collector_namespace != ns:
            ns = snap.collector_namespace
            for key in _namespaced_steps(kube, ns):
                snap.errors.pop(key, None)
                snap.transient_errors.pop(key, None)
            first.update(_run_steps(_namespaced_steps(kube, ns), snap))
    snap.namespaces = first.get("namespaces") or []
    snap.pods = first.get("pods") or []
    snap.workloads = (first.get("deployments") or []) + (first.get("daemonsets") or [])
    snap.configmaps = first.get("configmaps") or []
    snap.service_accounts = first.get("serviceaccounts") or []
    snap.cluster_role_bindings = first.get("clusterrolebindings") or []
    snap.cluster_roles = first.get("clusterroles") or []
    snap.servers = first.get("servers") or []
    snap.authorization_policies = first.get("authorizationpolicies") or []
    snap.http_routes = first.get("httproutes") or []
    snap.meshtls_authentications = first.get("meshtlsauthentications") or []
    snap.network_authentications = first.get("networkauthentications") or []
    # Linkerd's CRDs may be absent: that is an empty list, not a gather failure.
    for optional in POLICY_STEPS:
        if "(HTTP 404)" in snap.errors.get(optional, ""):
            snap.errors.pop(optional)
    if proxy_reads is not None:
        # lazy: only `stat` reads every proxy: proxy_metrics brings cluster/stat.py and stats/
        from .proxy_metrics import gather_proxy_metrics

        gather_proxy_metrics(kube, snap, proxy_reads)
    try:
        choose_collector(snap)
    except Exception as exc:   # malformed objects: a failed check names it, the report goes on
        record_error(snap, COLLECTOR_STEP, exc)
        return snap
    adopt_operator(kube, snap)
    try:
        _gather_collector(kube, snap, metrics_interval, probe_exporter, log_since_seconds)
    except Exception as exc:
        record_error(snap, READS_STEP, exc)
    return snap


def _namespaced_steps(kube: Any, ns: str) -> Dict[str, Callable[[], Any]]:
    return {
        "deployments": lambda: _kinded(kube.list("deployments", ns), "Deployment"),
        "daemonsets": lambda: _kinded(kube.list("daemonsets", ns), "DaemonSet"),
        "configmaps": lambda: kube.list("configmaps", ns),
        "serviceaccounts": lambda: kube.list("serviceaccounts", ns),
    }


def _gather_collector(kube: Any, snap: Snapshot, interval: float, probe_exporter: bool,
                      log_since_seconds: Optional[int]) -> None:
    """The second round, once the collector is known: its logs, self-metrics, receiver targets, its
    service account's permissions, and the exporter's Service."""
    ns = snap.collector_namespace
    facts = snap.collector_facts()
    pods = [p for p in snap.collector_pods() if (p.get("status") or {}).get("phase") == "Running"]
    user = f"system:serviceaccount:{ns}:{pod_discovery_account(snap) or snap.service_account_name()}"
    steps: Dict[str, Callable[[], Any]] = {}

    def targets_or_reason(pod: str, port: int):
        try:   # each target reduced as it is decoded (CheckHook if the answer must be parsed whole)
            return compact_for_check(read_targets(kube, ns, pod, port, state="active", object_hook=CheckHook(),
                                                  reduce=for_check()))
        except TargetsUnreadable as exc:
            return str(exc)

    for pod in pods:
        name = pod["metadata"]["name"]
        container = (collector_container(pod.get("spec") or {}) or {}).get("name")
        steps[step(LOGS, name)] = (lambda n=name, c=container: kube.pod_logs(
            ns, n, container=c, tail_lines=LOG_TAIL_LINES, since_seconds=log_since_seconds))
        if facts_mod.binds_pod_ip(facts.self_metrics):
            steps[step(METRICS, name)] = lambda n=name: _two_reads(kube, ns, n, facts.self_metrics[1], interval)
        if facts_mod.binds_pod_ip(facts.receiver_api):
            steps[step(TARGETS, name)] = lambda n=name: targets_or_reason(n, facts.receiver_api[1])

    if snap.workload() is not None:
        # where the SD configs list and watch pods: the cluster scope ("") unless they name namespaces
        for target_ns in review_namespaces(snap):
            for verb in ("get", "list", "watch"):
                steps[access_step("pods", verb, target_ns)] = (
                    lambda v=verb, t=target_ns: _review(kube, user, v, "pods", t or None))
        for verb, resource in (("get", "secrets"), ("list", "secrets"), ("create", "pods"), ("delete", "pods")):
            steps[access_step(resource, verb)] = (lambda v=verb, r=resource: _review(kube, user, v, r, None))

    services = {}
    for exporter in facts.exporters:
        target = facts_mod.cluster_service(exporter.endpoint, exporter.protocol)
        if target:
            services[(target[0], target[1] or ns)] = True
        elif probe_exporter and exporter.endpoint:
            steps[step(PROBE, exporter.endpoint)] = lambda e=exporter: dial(e)
            if provable(exporter):
                steps[step(PROOF, exporter.name)] = lambda e=exporter: prove_configured(kube, snap, e.name)
    for (svc, svc_ns) in services:
        steps[step(SERVICE, svc_ns, svc)] = lambda s=svc, n=svc_ns: kube.get_or_none("services", s, n)
        steps[step(ENDPOINTSLICES, svc_ns, svc)] = (lambda s=svc, n=svc_ns: kube.list(
            "endpointslices", n, label_selector=f"kubernetes.io/service-name={s}"))

    results = _run_steps(steps, snap, workers=16)
    for key, value in results.items():
        kind, rest = split_step(key)
        if kind == LOGS:
            snap.logs[rest] = value or ""
        elif kind == METRICS:
            if isinstance(value, str):
                snap.self_metrics_errors[rest] = value
            else:
                snap.self_metrics[rest] = value
        elif kind == TARGETS:
            if isinstance(value, str):
                snap.receiver_targets_errors[rest] = value
            else:
                snap.receiver_targets[rest] = value
        elif kind == ACCESS:
            snap.access_reviews.append(value)
        elif kind == SERVICE and value:
            snap.services.append(value)
        elif kind == ENDPOINTSLICES:
            snap.endpoint_slices.extend(value or [])
        elif kind == PROBE:
            snap.exporter_probes[rest] = value
        elif kind == PROOF:
            snap.exporter_proofs[rest] = value
    for key in list(snap.errors):
        kind, rest = split_step(key)
        if kind == METRICS:
            snap.self_metrics_errors[rest] = snap.errors.pop(key)
        elif kind == TARGETS:
            snap.receiver_targets_errors[rest] = snap.errors.pop(key)
        elif kind == PROBE:
            snap.exporter_probes[rest] = snap.errors.pop(key)
        elif kind == PROOF:
            snap.exporter_proofs[rest] = {"outcome": "unproven", "words": snap.errors.pop(key)}
    gather_proxy_series(kube, snap)   # after the receiver's targets: it samples the healthy ones


def _review(kube: Any, user: str, verb: str, resource: str, namespace: Optional[str]) -> dict:
    answer = kube.access_review(user=user, verb=verb, resource=resource, namespace=namespace)
    return {"verb": verb, "resource": resource, "namespace": namespace or "",
            "allowed": bool(answer.allowed), "reason": getattr(answer, "reason", "") or ""}


def _proxy_text(kube: Any, ns: str, pod: str, port: int, path: str):
    response = kube.proxy_get(ns, pod, port, path)
    if response.status != 200:
        return f"GET {path} on port {port} answered HTTP {response.status}"
    return [response.text]


def _two_reads(kube: Any, ns: str, pod: str, port: int, interval: float):
    first = _proxy_text(kube, ns, pod, port, "/metrics")
    if isinstance(first, str):
        return first
    time.sleep(max(0.0, interval))
    second = _proxy_text(kube, ns, pod, port, "/metrics")
    if isinstance(second, str):
        return second
    return first + second
