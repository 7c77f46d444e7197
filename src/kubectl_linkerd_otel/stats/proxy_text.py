"""One read of a Linkerd proxy's `/metrics` (pure): the few families `stat` needs, parsed with
prometheus-client's parser.

A proxy exports some 1,700 series; only the golden-metric families are handed to the parser (lines are
picked by metric name first, which is far cheaper than parsing everything), and each series is kept
under its full label set, so counters are compared series by series as Prometheus does.
Families (linkerd2-proxy's legacy HTTP/TCP metrics, still exported by Linkerd 2.x proxies):
`response_total` (label `classification`), `response_latency_ms` (histogram, ms), `tcp_open_connections`
(gauge), `tcp_read_bytes_total`/`tcp_write_bytes_total`, and `process_start_time_seconds`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

RESPONSES = "response_total"
LATENCY_BUCKETS = "response_latency_ms_bucket"
TCP_OPEN = "tcp_open_connections"
TCP_READ = "tcp_read_bytes_total"
TCP_WRITE = "tcp_write_bytes_total"
START_TIME = "process_start_time_seconds"
FAMILIES = (RESPONSES, LATENCY_BUCKETS, TCP_OPEN, TCP_READ, TCP_WRITE, START_TIME)
_PREFIXES = tuple(f"{name}{end}" for name in FAMILIES for end in ("{", " "))

Labels = Tuple[Tuple[str, str], ...]
SeriesKey = Tuple[str, Labels]


class MetricsTextError(ValueError):
    """The text is not Prometheus exposition text."""


@dataclass
class Reading:
    """One proxy's answer: every kept series (metric name, sorted labels) -> value."""

    series: Dict[SeriesKey, float] = field(default_factory=dict)
    start_time: Optional[float] = None


def parse(text: str) -> Reading:
    from prometheus_client.parser import text_string_to_metric_families

    wanted = "\n".join(line for line in text.splitlines() if line.startswith(_PREFIXES))
    reading = Reading()
    intern = sys.intern
    try:
        for family in text_string_to_metric_families(wanted + "\n" if wanted else ""):
            for sample in family.samples:
                if sample.name == START_TIME:
                    reading.start_time = float(sample.value)
                    continue
                labels = tuple(sorted((intern(k), intern(v)) for k, v in sample.labels.items()))
                reading.series[(intern(sample.name), labels)] = float(sample.value)
    except (ValueError, IndexError, KeyError) as exc:
        raise MetricsTextError(f"not Prometheus text: {exc}") from None
    return reading
