"""Reading the proxies for `stat`: each selected proxy's `/metrics` through the API server's pods/proxy,
in passes of bounded concurrency (one pass per interval, whatever the pod count).

Each answer is parsed as it arrives and the text dropped, so memory grows with the series kept, not
with the text read. A pod that cannot be read gets a one-line reason instead of a reading.
"""
from __future__ import annotations

import gc
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..errors import ApiTimeout, Forbidden, KubeError, Unauthorized
from ..report.stat import nothing_found
from ..stats.golden import PodKey, Readings, proxies_to_read
from ..stats.proxy_text import MetricsTextError, Reading, parse

METRICS_PATH = "/metrics"
DEFAULT_CONCURRENCY = 20
DEFAULT_READ_TIMEOUT = 5.0


@dataclass
class Pass:
    """One read of every selected proxy: readings with their time, and reasons for the others."""

    readings: Dict[PodKey, Tuple[Reading, float]] = field(default_factory=dict)
    errors: Dict[PodKey, str] = field(default_factory=dict)
    started_at: float = 0.0
    seconds: float = 0.0


def read_proxy(kube: Any, namespace: str, pod: str, port: int, timeout: float,
               parse_text: Callable[[str], Any] = parse) -> Reading:
    """One proxy's metrics, parsed (or whatever `parse_text` keeps of the text). Raises ProxyUnreadable
    with the reason."""
    try:
        response = kube.proxy_get(namespace, pod, port, METRICS_PATH, timeout=timeout)
    except ApiTimeout:
        raise ProxyUnreadable(f"no answer within {timeout:g}s") from None
    except (Unauthorized, Forbidden):
        raise
    except KubeError as exc:
        raise ProxyUnreadable(exc.message) from None
    if response.status == 403:
        raise ProxyUnreadable("HTTP 403 from the proxy: its inbound policy does not let an unmeshed "
                              "client (the API server's pods/proxy) read /metrics")
    if response.status != 200:
        raise ProxyUnreadable(f"HTTP {response.status} from the proxy's :{port}{METRICS_PATH}"
                              f"{_detail(response.text)}")
    try:
        return parse_text(response.text)
    except MetricsTextError as exc:
        raise ProxyUnreadable(f"the proxy's {METRICS_PATH} is {exc}") from None


class ProxyUnreadable(Exception):
    pass


def _detail(text: str) -> str:
    message = ""
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            message = str(doc.get("message") or "")
    except ValueError:
        message = text.strip().splitlines()[0] if text.strip() else ""
    return f": {message[:200]}" if message else ""


def read_pass(kube: Any, targets: List[Tuple[str, str, int]], *, concurrency: int = DEFAULT_CONCURRENCY,
              timeout: float = DEFAULT_READ_TIMEOUT, clock: Callable[[], float] = time.time,
              parse_text: Callable[[str], Any] = parse) -> Pass:
    """Read every target once, at most `concurrency` at a time. When the API server refuses us
    pods/proxy for every pod (RBAC), that refusal is raised: nothing could be shown."""
    result = Pass(started_at=clock())
    refusals: List[KubeError] = []

    def one(target: Tuple[str, str, int]) -> None:
        namespace, pod, port = target
        key = (namespace, pod)
        at = clock()    # a scrape's time is when it starts, as in Prometheus
        try:
            reading = read_proxy(kube, namespace, pod, port, timeout, parse_text)
        except ProxyUnreadable as exc:
            result.errors[key] = str(exc)
        except (Unauthorized, Forbidden) as exc:
            refusals.append(exc)
            result.errors[key] = exc.message
        else:
            result.readings[key] = (reading, at)

    if targets:
        with _cycle_collector_held_off(), \
                ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
            list(pool.map(one, targets))
    if targets and len(refusals) == len(targets):
        raise refusals[0]
    result.seconds = clock() - result.started_at
    return result


@contextmanager
def _cycle_collector_held_off() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a pass reads. Every reading kept (about 100
    objects a proxy) made it walk the readings before again and again: 1.5-2 s of a 5,000-proxy pass's
    8 s of CPU (bench/stat.py). Reading makes no reference cycles, so what a read drops is freed by
    reference counting all the same; the collector runs again as soon as the pass ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def pair(first: Pass, second: Pass) -> Tuple[Dict[PodKey, Readings], Dict[PodKey, str]]:
    """Readings of the pods both passes read; a pod that failed in either pass gets that reason."""
    readings: Dict[PodKey, Readings] = {}
    errors: Dict[PodKey, str] = dict(first.errors)
    errors.update(second.errors)
    for key, (reading, at) in second.readings.items():
        if key in errors:
            continue
        earlier = first.readings.get(key)
        if earlier is None:
            errors[key] = "read once only (new pod): its rates show from the next interval"
            continue
        readings[key] = Readings(earlier[0], earlier[1], reading, at)
    return readings, errors


def passes(kube: Any, list_targets: Callable[[], Tuple[List[dict], List[Tuple[str, str, int]]]], *,
           interval: float, concurrency: int = DEFAULT_CONCURRENCY, timeout: float = DEFAULT_READ_TIMEOUT,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[Tuple[List[dict], Pass]]:
    """Endless passes, one every `interval` (right after the previous one when a pass takes longer).
    `list_targets` is called before each pass: pods come and go between refreshes."""
    next_start = time.monotonic()
    while True:
        now = time.monotonic()
        if next_start > now:
            sleep(next_start - now)
        next_start = time.monotonic() + interval
        pods, targets = list_targets()
        yield pods, read_pass(kube, targets, concurrency=concurrency, timeout=timeout)


class Selection:
    """The pods `stat` looks at, listed from the cluster (once per pass)."""

    def __init__(self, kube, kind: str, name: Optional[str], namespace: Optional[str]):
        self.kube, self.kind, self.name, self.namespace = kube, kind, name, namespace

    def pods(self) -> List[dict]:
        return self.kube.list("pods", self.namespace)

    def targets(self) -> Tuple[List[dict], List[Tuple[str, str, int]]]:
        pods = self.pods()
        return pods, proxies_to_read(pods, self.kind, self.name)

    def describe(self, short: str) -> str:
        return nothing_found(short, self.name, self.namespace)


def read_twice(kube, selection: Selection, window: float, timeout: float, concurrency: int,
               announce: Callable[[int], None] = lambda count: None) \
        -> Tuple[List[dict], Dict[PodKey, Readings], Dict[PodKey, str]]:
    """Two reads of every selected proxy, `window` apart: the pods listed, the readings of the proxies
    both reads reached (stats/golden.summarize takes them), and why the others have none."""
    pods, targets = selection.targets()
    if targets:
        announce(len(targets))
    started = time.monotonic()
    first = read_pass(kube, targets, concurrency=concurrency, timeout=timeout)
    if targets:
        rest = started + window - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    second = read_pass(kube, targets, concurrency=concurrency, timeout=timeout)
    readings, errors = pair(first, second)
    return pods, readings, errors
