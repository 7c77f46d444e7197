"""What is sent: `install --metrics all|golden|FILE` as `metric_relabel_configs` of the scrape jobs (pure).

`golden` keeps the series Linkerd's dashboards use (docs/architecture.md, Design facts: Linkerd;
the viz dashboards' and metrics API's queries):
requests and responses, the latency histogram, TCP connections and bytes, authorization decisions and the
process start time. Everything else a proxy exports (about 1,700 series per proxy, linkerd2#2980) is
dropped after the scrape, before it reaches the pipeline.
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

from ..errors import UsageError
from .relabel import RelabelConfigError, compile_rules

GOLDEN = (
    "request_total",
    "response_total",
    "response_latency_ms_bucket",
    "response_latency_ms_sum",
    "response_latency_ms_count",
    "tcp_open_connections",
    "tcp_read_bytes_total",
    "tcp_write_bytes_total",
    "inbound_http_authz_allow_total",
    "inbound_http_authz_deny_total",
    "process_start_time_seconds",
)
ALL, GOLDEN_NAME = "all", "golden"
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def parse_metric_list(text: str, where: str) -> List[str]:
    """A --metrics FILE: one metric name (or RE2 regex over the name) per line; `#` starts a comment."""
    entries: List[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if not _NAME.match(entry):
            try:
                compile_rules([{"source_labels": ["__name__"], "action": "keep", "regex": entry}], where)
            except RelabelConfigError as exc:
                raise UsageError(f"{where} line {number}: {entry!r} is neither a metric name nor a valid "
                                 f"regex ({exc})") from None
        entries.append(entry)
    if not entries:
        raise UsageError(f"{where} lists no metric: give one metric name per line, or --metrics golden")
    return entries


def keep_regex(names: Sequence[str]) -> str:
    return "|".join(names)


def metric_relabel_configs(keep: Optional[Sequence[str]]) -> List[dict]:
    """The scrape jobs' metric_relabel_configs for a selection (None: everything is sent). `$` is
    doubled: the collector expands `$` in its config before Prometheus reads it."""
    if not keep:
        return []
    return [{"source_labels": ["__name__"], "action": "keep",
             "regex": keep_regex(keep).replace("$", "$$")}]


def describe(selection: str, keep: Optional[Sequence[str]]) -> str:
    if not keep:
        return "every metric the proxies export"
    return f"{len(keep)} metric{'s' if len(keep) != 1 else ''} ({selection})"
