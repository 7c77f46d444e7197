"""A collector receiver's /api/v1/targets answer: where it can be read (`readable_receiver`), and kept in
the form `check` reads (pure).

With one target per meshed pod the answer of a large mesh is hundreds of MB parsed, mostly each target's
discoveredLabels. `check` matches targets by scrape pool and labels, reads health, last error and last
scrape, and of the discovered labels only those that name the pod and port a collector-only target
scrapes (checks/targets.py `_actual_admin_pod`); droppedTargets it never reads.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from ..collector.facts import binds_pod_ip, split_hostport
from ..k8s.podtrim import Trimmer
from ..naming import RECEIVER_API_PORT
from .config import receivers

POD = "__meta_kubernetes_pod_"
DISCOVERED_KEPT = frozenset({"__address__", "__meta_kubernetes_namespace", POD + "name", POD + "container_name",
                             POD + "container_port_name"})
TARGET_KEPT = ("scrapePool", "scrapeUrl", "labels", "health", "lastError", "lastScrape", "lastScrapeDuration")


class CheckHook:
    """A json.loads object_hook reducing each target to what `check` reads as soon as it is parsed, so the
    full answer of a large mesh never exists whole in memory."""

    def __init__(self) -> None:
        self._share = Trimmer()

    def __call__(self, obj: dict) -> Any:
        if "scrapePool" in obj and ("labels" in obj or "discoveredLabels" in obj):
            return self._share.share(_compact_target(obj))
        return obj


class _Reduce:
    """What is kept of each active target as the answer is read target by target (jsonitems), strings
    shared across targets."""

    def __init__(self, whole_discovered: bool) -> None:
        self._share = Trimmer()
        self._whole = whole_discovered

    def __call__(self, item: Any) -> Any:
        if not isinstance(item, dict):
            return None if not self._whole else item   # check leaves them out; merge_actual skips them
        if self._whole:
            kept = {key: item[key] for key in TARGET_KEPT if key in item}
            if "discoveredLabels" in item:
                kept["discoveredLabels"] = item["discoveredLabels"]
            return self._share.share(kept)
        if "scrapePool" in item and ("labels" in item or "discoveredLabels" in item):
            return self._share.share(_compact_target(item))
        return item


def for_check() -> _Reduce:
    """The reduction of CheckHook, one target at a time."""
    return _Reduce(False)


def for_targets() -> _Reduce:
    """What `targets` reads of an active target (scrape/targets.py merge_actual): the fields of
    TARGET_KEPT and the discovered labels, whole (a target only the collector has shows them)."""
    return _Reduce(True)


def _compact_target(item: dict) -> dict:
    kept = {key: item[key] for key in TARGET_KEPT if key in item}
    discovered = item.get("discoveredLabels")
    if isinstance(discovered, dict):
        kept["discoveredLabels"] = {k: v for k, v in discovered.items() if k in DISCOVERED_KEPT}
    return kept


def compact_for_check(doc: Any) -> Any:
    """The answer with only what `check` reads, strings shared; another shape is returned as it is."""
    data = doc.get("data") if isinstance(doc, dict) else None
    items = data.get("activeTargets") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return doc
    share = Trimmer()
    active = []
    for item in items:
        if not isinstance(item, dict):
            continue
        # reduced already as it was read (CheckHook, for_check): kept as it is, not copied a second time
        active.append(item if _is_compact(item) else share.share(_compact_target(item)))
    return {"status": doc.get("status"), "data": {"activeTargets": active}}


_ORDER = {key: n for n, key in enumerate(TARGET_KEPT + ("discoveredLabels",))}


def _is_compact(item: dict) -> bool:
    """Whether `item` is what _compact_target makes of it: the kept keys only, in its order."""
    last = -1
    for key in item:
        n = _ORDER.get(key)
        if n is None or n <= last:
            return False
        last = n
    discovered = item.get("discoveredLabels", {})
    return isinstance(discovered, dict) and all(k in DISCOVERED_KEPT for k in discovered)


def readable_receiver(location, config: dict, env=None) -> Tuple[Optional[int], List[dict], List[str]]:
    """Where the receiver's Prometheus API can be read through pods/proxy: (port, the running collector
    pods, notes); port None, with a note saying why, when it cannot be read at all."""
    endpoints = [r.api_server for r in receivers(config, env) if r.api_server]
    if not endpoints:
        return None, [], ["the collector's prometheus receiver runs no API server, so health, last error and "
                          "last scrape are unknown (enable receivers.prometheus.api_server with endpoint "
                          "0.0.0.0:9090)"]
    host, port = split_hostport(endpoints[0], RECEIVER_API_PORT)
    if not binds_pod_ip((host, port)):
        return None, [], [f"the receiver's API server listens on {host} only: pods/proxy cannot reach it "
                          f"(use endpoint 0.0.0.0:{port})"]
    running = [p for p in location.pods if (p.get("status") or {}).get("phase") == "Running"]
    if not running:
        return None, [], [f"no running collector pod of {location.describe()}: only the expectation is shown"]
    return port, running, []


class NotRead(Exception):
    """A collector pod's targets that could not be had: the message is the note `targets` shows for it."""


def running_pods_answers(location, config: dict, env, read: Callable[[str, int], dict]
                         ) -> Tuple[Dict[str, dict], List[str]]:
    """Each running collector pod's targets document (pod name -> parsed JSON) as `read(pod name, port)`
    has it (from the cluster, or a snapshot), and notes saying what could not be had and why (`read`
    raises NotRead with the note)."""
    port, running, notes = readable_receiver(location, config, env)
    if port is None:
        return {}, notes
    answers: Dict[str, dict] = {}
    for pod in running:
        name = pod["metadata"]["name"]
        try:
            answers[name] = read(name, port)
        except NotRead as exc:
            notes.append(str(exc))
    return answers, notes
