"""What `targets` reads, taken from a snapshot instead of the cluster (pure): the collector's location,
and its pods' `/api/v1/targets` answers with the same notes the live read gives."""
from __future__ import annotations

from typing import Dict, List, Tuple

from ..collector.locate import locate
from ..errors import UsageError
from ..scrape.receiver import NotRead, running_pods_answers
from ..scrape.targets import active_targets
from .data import Snapshot


def collector_location(snap: Snapshot):
    """The collector as `targets` finds it in its namespace (cluster/collector.py locate_collector)."""
    ns = snap.collector_namespace
    in_ns = [p for p in snap.pods if (p.get("metadata") or {}).get("namespace") == ns]
    found = locate([w for w in snap.workloads if w.get("kind") == "Deployment"],
                   [w for w in snap.workloads if w.get("kind") == "DaemonSet"], snap.configmaps, in_ns)
    if found is None or found.configmap is None:
        raise UsageError(f"the snapshot holds no OpenTelemetry collector config (namespace {ns})",
                         hint="take the snapshot with -n NAMESPACE, the collector's namespace")
    return found


def receiver_answers(snap: Snapshot, location, config: dict, env=None) -> Tuple[Dict[str, dict], List[str]]:
    """Each running collector pod's saved targets document, and notes saying what could not be read."""
    def read(name: str, _port: int) -> dict:
        doc = snap.receiver_targets.get(name)
        if isinstance(doc, dict) and active_targets(doc) is not None:
            return doc
        why = snap.receiver_targets_errors.get(name)
        if why is None:
            raise NotRead(f"the snapshot holds no targets of collector pod {name}: only the expectation is shown "
                          f"for it")
        if why.startswith(("answered", "did not answer")):      # as cluster/collector.py words them
            suffix = ": only the expectation is shown for it" if "without a list" in why else ""
            raise NotRead(f"collector pod {name} {why}{suffix}")
        raise NotRead(f"cannot read the targets of collector pod {name}: {why}")

    return running_pods_answers(location, config, env, read)
