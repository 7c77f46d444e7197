"""Gather step: a few scrape targets' `/metrics`, read through the API server's pods/proxy, so `check`
can count series per target (scrape/series.py) the way the receiver counts
`scrape_samples_post_metric_relabeling`."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

from ..k8s.ports import parse_port
from ..snapshot.simulation import simulation
from .step_errors import describe_error

SAMPLE_TARGETS = 3      # per job: enough for a figure, cheap on the API server


def sample_targets(snap: Any) -> List[Tuple[str, str, str, int]]:
    """(job, namespace, pod, port) of up to SAMPLE_TARGETS active pod targets per job (those the collector
    reports up, when its targets are known)."""
    sim = simulation(snap)
    if isinstance(sim, str):
        return []
    picked: List[Tuple[str, str, str, int]] = []
    for job in sim.jobs:
        targets = [t for t in job.active if t.pod is not None and t.labels]
        if sim.actual:   # the collector's own view: only targets it scrapes fine are worth a read
            targets = [t for t in targets if t.health == "up"]
        targets.sort(key=lambda t: (t.namespace, t.pod_name))
        for target in targets[:SAMPLE_TARGETS]:
            port = parse_port(target.labels.get("__address__", "").rsplit(":", 1)[-1])
            if port is not None:
                picked.append((job.job.name, target.namespace, target.pod_name, port))
    return picked


def gather_proxy_series(kube: Any, snap: Any) -> None:
    """Fill snap.target_metrics ("job/ns/pod" -> text) and snap.target_metrics_errors; never raises."""
    def read(item):
        _job, ns, pod, port = item
        response = kube.proxy_get(ns, pod, port, "/metrics")
        if response.status != 200:
            raise RuntimeError(f"GET /metrics on port {port} answered HTTP {response.status}")
        return response.text

    try:
        picked = sample_targets(snap)
    except Exception:   # the targets check reports a config that cannot be simulated
        return
    finally:
        snap.__dict__.pop("_simulation_cache", None)   # computed again once everything is gathered
    if not picked:
        return
    results: Dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(8, len(picked))) as pool:
        futures = {f"{job}/{ns}/{pod}": pool.submit(read, (job, ns, pod, port)) for job, ns, pod, port in picked}
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except Exception as exc:
                snap.target_metrics_errors[key] = describe_error(exc)
    snap.target_metrics.update(results)
