"""The targets engine's run over a snapshot's collector config and pods (pure), worked out once per
snapshot: what the checks (checks/targets.py, series.py, backend.py, operator.py) and the gather steps that
sample targets (cluster/series.py, cluster/query.py) all read."""
from __future__ import annotations

from ..collector.locate import static_env
from ..scrape.config import scrape_jobs
from ..scrape.targets import merge_actual, simulate


def simulation(snap):
    """The targets engine's run over the snapshot (cached), or a str saying why there is none."""
    cached = getattr(snap, "_simulation_cache", None)
    if cached is not None:
        return cached
    config = snap.collector_facts().config
    if config is None:
        result = "the config did not parse"
    else:
        try:
            # no check reads the dropped targets of a pod that is scraped: they are not kept
            result = simulate(scrape_jobs(config, static_env(snap.workload())), snap.pods,
                              own_namespace=snap.collector_namespace, keep_dropped=False)
            if snap.receiver_targets:
                merge_actual(result, snap.receiver_targets)
        except ValueError as exc:   # ScrapeConfigError, RE2Error, RelabelConfigError are ValueErrors
            result = f"the collector config cannot be simulated: {exc}"
    try:
        object.__setattr__(snap, "_simulation_cache", result)
    except AttributeError:
        pass
    return result
