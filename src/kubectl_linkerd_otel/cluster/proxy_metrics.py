"""Gather step for `stat --snapshot`: two reads of every meshed running pod's proxy `/metrics`, through
the API server's pods/proxy, `interval` apart, with `stat`'s own read pass (cluster/stat.py). Only the
golden families' lines are kept, and of those only the series whose change `stat` can see
(stats/proxy_text.stat_lines), so the file holds what `stat` reads and no more;
a pod that could not be read keeps the reason instead."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import Forbidden, Unauthorized
from ..stats.golden import proxies_to_read
from ..stats.proxy_text import golden_lines, stat_lines
from .stat import DEFAULT_CONCURRENCY, DEFAULT_READ_TIMEOUT, pair, read_pass


@dataclass
class ProxyReads:
    interval: float = 3.0
    timeout: float = DEFAULT_READ_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY


def proxy_key(namespace: str, pod: str) -> str:
    return f"{namespace}/{pod}"


def gather_proxy_metrics(kube: Any, snap: Any, reads: ProxyReads) -> None:
    """Fill snap.proxy_metrics ("ns/pod" -> {first, first_at, second, second_at}) and
    snap.proxy_metrics_errors ("ns/pod" -> why); never raises for cluster errors."""
    snap.proxy_metrics = {}
    targets = proxies_to_read(snap.pods, "pod")
    if not targets:
        return
    started = time.monotonic()
    try:
        first = read_pass(kube, targets, concurrency=reads.concurrency, timeout=reads.timeout,
                          parse_text=golden_lines)
        rest = started + reads.interval - time.monotonic()
        if rest > 0:
            time.sleep(rest)
        second = read_pass(kube, targets, concurrency=reads.concurrency, timeout=reads.timeout,
                           parse_text=golden_lines)
    except (Unauthorized, Forbidden) as exc:    # pods/proxy refused for every pod (RBAC)
        for namespace, pod, _ in targets:
            snap.proxy_metrics_errors[proxy_key(namespace, pod)] = exc.message
        return
    readings, errors = pair(first, second)
    for (namespace, pod), why in sorted(errors.items()):
        snap.proxy_metrics_errors[proxy_key(namespace, pod)] = why
    ports = {(namespace, pod): port for namespace, pod, port in targets}
    for (namespace, pod), both in sorted(readings.items()):
        first, second = stat_lines(both.first, both.second, ports.get((namespace, pod)))
        snap.proxy_metrics[proxy_key(namespace, pod)] = {
            "first": first, "first_at": both.first_at, "second": second, "second_at": both.second_at}
