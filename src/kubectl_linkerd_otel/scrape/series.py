"""Series per target, as Prometheus counts them for `scrape_samples_scraped` and
`scrape_samples_post_metric_relabeling` (pure).

Prometheus (`scrape/scrape.go`) counts every sample line of the exposition as scraped, then applies the
job's `metric_relabel_configs` to each sample's label set (the target's labels attached, `__name__`
included) and counts those kept. Reading the synthesized series from the collector is not possible (they
go into its pipeline, not to its API or self-metrics), so `check` samples a few proxies' `/metrics` and
counts the same way; it also counts what `--metrics golden` would keep, so users see what it saves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from .config import ScrapeJob, unescape
from .metrics import GOLDEN, metric_relabel_configs
from .relabel import Rules, compile_rules


@dataclass
class SeriesCount:
    scraped: int
    kept: int            # after the job's metric_relabel_configs
    golden: int          # what `install --metrics golden` keeps


def metric_rules(job: ScrapeJob) -> Rules:
    """The job's metric_relabel_configs (the job's raw config is taken after the collector's `$$` expansion)."""
    return compile_rules(job.raw.get("metric_relabel_configs"), f"job {job.name} metric_relabel_configs")


def _golden_rules() -> Rules:
    return compile_rules(unescape(metric_relabel_configs(list(GOLDEN))), "golden")


def samples(text: str) -> List[Dict[str, str]]:
    """Each sample line of a Prometheus text exposition as a label set with `__name__`."""
    # lazy: prometheus_client's parser costs ~40 ms at start-up; only check's series count reads a target's /metrics
    from prometheus_client.parser import text_string_to_metric_families

    out: List[Dict[str, str]] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            labels["__name__"] = sample.name
            out.append(labels)
    return out


def count(text: str, rules: Rules, target_labels: Optional[Dict[str, str]] = None) -> SeriesCount:
    """Scraped and kept series of one target's exposition. ValueError when it is not Prometheus text."""
    golden = _golden_rules()
    scraped = kept = golden_kept = 0
    for labels in samples(text):
        full = dict(target_labels or {})
        full.update(labels)
        scraped += 1
        if rules.process(dict(full)) is None:
            kept += 1
        if golden.process(dict(full)) is None:
            golden_kept += 1
    return SeriesCount(scraped, kept, golden_kept)
