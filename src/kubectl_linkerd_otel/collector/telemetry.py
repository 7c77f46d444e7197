"""The collector's self-metrics (Prometheus text from :8888/metrics), read with prometheus-client's parser.

Names differ between versions: `otelcol_exporter_sent_metric_points` with or without `_total`. A sample
that is not a finite number (`+Inf`, `NaN`) is a bad sample: left out of the sums, listed in `bad`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

SENT = "otelcol_exporter_sent_metric_points"
FAILED = "otelcol_exporter_send_failed_metric_points"
QUEUE_SIZE = "otelcol_exporter_queue_size"
QUEUE_CAPACITY = "otelcol_exporter_queue_capacity"
ACCEPTED = "otelcol_receiver_accepted_metric_points"
REFUSED = "otelcol_receiver_refused_metric_points"


@dataclass
class Telemetry:
    sent: Dict[str, float] = field(default_factory=dict)      # by exporter
    failed: Dict[str, float] = field(default_factory=dict)
    queue_size: Dict[str, float] = field(default_factory=dict)
    queue_capacity: Dict[str, float] = field(default_factory=dict)
    accepted: Dict[str, float] = field(default_factory=dict)  # by receiver
    refused: Dict[str, float] = field(default_factory=dict)
    has_exporter_metrics: bool = False
    bad: List[str] = field(default_factory=list)              # samples left out: not finite numbers

    def total_sent(self) -> float:
        return sum(self.sent.values())

    def total_failed(self) -> float:
        return sum(self.failed.values())


def _base(name: str) -> str:
    for suffix in ("_total", "_created"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def parse(text: str) -> Telemetry:
    # lazy: prometheus_client's parser costs ~40 ms at start-up; only the collector's self-metrics need it
    from prometheus_client.parser import text_string_to_metric_families

    out = Telemetry()
    targets = {SENT: out.sent, FAILED: out.failed, QUEUE_SIZE: out.queue_size,
               QUEUE_CAPACITY: out.queue_capacity, ACCEPTED: out.accepted, REFUSED: out.refused}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            base = _base(sample.name)
            bucket = targets.get(base)
            if bucket is None:
                continue
            key = sample.labels.get("exporter") or sample.labels.get("receiver") or ""
            value = float(sample.value)
            if not math.isfinite(value):
                labels = ",".join(f'{k}="{v}"' for k, v in sample.labels.items())
                out.bad.append(f"{sample.name}{{{labels}}} {'NaN' if math.isnan(value) else '+Inf' if value > 0 else '-Inf'}")
                continue
            bucket[key] = bucket.get(key, 0.0) + value
            if base in (SENT, FAILED):
                out.has_exporter_metrics = True
    return out


def failed_growth(first: Telemetry, second: Telemetry) -> Dict[str, float]:
    """Exporters whose send_failed counter grew between two reads (a restart resets: ignore drops)."""
    growth = {}
    for exporter, value in second.failed.items():
        delta = value - first.failed.get(exporter, 0.0)
        if delta > 0:
            growth[exporter] = delta
    return growth


def safe_parse(text: Optional[str]) -> Optional[Telemetry]:
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        return None
