"""linkerd-otel-targets: series per target, counted as the receiver counts
`scrape_samples_scraped` / `scrape_samples_post_metric_relabeling`, on a few sampled targets per job."""
from __future__ import annotations

from typing import Dict, List

from ..scrape.series import count as count_series
from ..scrape.series import metric_rules
from ..snapshot.simulation import simulation
from .common import count
from .framework import passed, skip, warn


def _figures(values: List[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def series_per_target(snap, _opts):
    if not snap.target_metrics:
        if snap.target_metrics_errors:
            key, error = sorted(snap.target_metrics_errors.items())[0]
            return skip(f"no target's /metrics could be read through the API server ({key}: {error})")
        return skip("no target's /metrics was read")
    sim = simulation(snap)
    if isinstance(sim, str):
        return skip(sim)
    by_job: Dict[str, list] = {}
    for job in sim.jobs:
        by_job.setdefault(job.job.name, [job, []])
    bad: List[str] = []
    for key, text in sorted(snap.target_metrics.items()):
        job_name, _, pod = key.partition("/")
        if job_name not in by_job:
            continue
        job = by_job[job_name][0]
        target = next((t for t in job.active if f"{t.namespace}/{t.pod_name}" == pod and t.labels), None)
        try:
            figures = count_series(text, metric_rules(job.job),
                                   {k: v for k, v in (target.labels if target else {}).items()
                                    if not k.startswith("__")})
        except ValueError as exc:
            bad.append(f"{key}: not Prometheus text ({exc})")
            continue
        by_job[job_name][1].append(figures)
    lines = []
    for name, (job, figures) in by_job.items():
        if not figures:
            continue
        scraped = [f.scraped for f in figures]
        kept = [f.kept for f in figures]
        filtered = bool(job.job.raw.get("metric_relabel_configs"))
        sample = f"{count(len(figures), 'target')} sampled"
        if filtered:
            saved = 100 - round(100 * sum(kept) / max(sum(scraped), 1))
            lines.append(f"{name}: {_figures(scraped)} series per target scraped, {_figures(kept)} sent after "
                         f"metric_relabel_configs ({saved}% dropped; {sample})")
        else:
            golden = [f.golden for f in figures]
            lines.append(f"{name}: {_figures(scraped)} series per target, all sent ({sample}); "
                         f"`install --metrics golden` would send {_figures(golden)}")
    if not lines:
        return skip("the sampled targets belong to no job of the config")
    if bad:
        return warn("some sampled targets did not answer Prometheus text", bad, description="; ".join(lines))
    return passed("; ".join(lines), details=[f"read error: {k}: {e}" for k, e in
                                           sorted(snap.target_metrics_errors.items())])
