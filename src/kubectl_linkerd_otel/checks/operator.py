"""linkerd-otel-operator: with `install --mode operator`, the OpenTelemetry Operator reconciled our
OpenTelemetryCollector, its Target Allocator answers, every expected target is assigned to exactly one
collector, and each collector scrapes its share. Does not apply without our OpenTelemetryCollector."""
from __future__ import annotations

from typing import Dict, List, Set, Tuple

from ..scrape.targets import active_targets
from ..snapshot.simulation import simulation
from .common import count, listing
from .framework import Category, Check, fail, passed, skip, warn

CR = "opentelemetrycollector/linkerd-otel"


def _state(snap) -> dict:
    return getattr(snap, "operator", None) or {}


def resource(snap, _opts):
    state = _state(snap)
    if not state:
        return skip("not installed with --mode operator: no OpenTelemetryCollector linkerd-otel")
    if state.get("resource") is None:
        return fail(f"could not read {CR}: {state.get('errors', {}).get('resource', 'unknown error')}")
    spec = state["resource"].get("spec") or {}
    allocator = spec.get("targetAllocator") or {}
    if spec.get("mode") != "statefulset" or not allocator.get("enabled"):
        return fail(f"{CR} has mode {spec.get('mode')!r} and targetAllocator.enabled "
                    f"{bool(allocator.get('enabled'))}: run `kubectl linkerd-otel install --mode operator` again")
    strategy = allocator.get("allocationStrategy") or "consistent-hashing"
    return passed(f"{CR} exists ({spec.get('replicas', 1)} collectors, allocation {strategy})")


def _rollout(obj, what: str) -> str:
    """'' when ready, else why not."""
    if obj is None:
        return f"{what} does not exist: the operator has not reconciled the CR (is the operator running?)"
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    ready = (obj.get("status") or {}).get("readyReplicas") or 0
    return "" if ready >= wanted else f"{what} has {ready}/{wanted} ready"


def reconciled(snap, _opts):
    state = _state(snap)
    problems = [p for p in (_rollout(state.get("statefulset"), "statefulset/linkerd-otel-collector"),
                            _rollout(state.get("allocator"), "deployment/linkerd-otel-targetallocator")) if p]
    scale = ((state["resource"].get("status") or {}).get("scale") or {})
    status_replicas = str(scale.get("statusReplicas") or "")
    if not status_replicas:
        problems.append(f"{CR} has no status yet: the operator has not reconciled it")
    if problems:
        return fail("; ".join(problems), details=["kubectl -n %s describe %s" % (snap.collector_namespace, CR)])
    return passed(f"the operator reconciled {CR} (ready {status_replicas}; collectors and allocator ready)")


def allocator_answers(snap, _opts):
    state = _state(snap)
    errors = state.get("errors") or {}
    if state.get("jobs") is None:
        return fail(f"the Target Allocator did not answer /jobs: {errors.get('jobs', 'not read')}")
    expected = _expected(snap)
    missing = sorted(set(expected) - set(state["jobs"])) if isinstance(expected, dict) else []
    failed = [f"{key}: {msg}" for key, msg in sorted(errors.items()) if key != "jobs"]
    if failed:
        return fail(f"the Target Allocator did not answer {count(len(failed), 'targets request')}",
                    details=listing(failed))
    if missing:
        return fail(f"the Target Allocator has no job {', '.join(missing)} of the CR's config "
                    f"(it serves {', '.join(sorted(state['jobs'])) or 'none'})")
    return passed(f"the Target Allocator answers ({count(len(state['jobs']), 'job')}, "
                  f"{count(len(state.get('collector_pods') or []), 'collector')})")


def _expected(snap):
    """{job: {address: 'ns/pod'}} from the simulation of the CR's config, or a str saying why not."""
    sim = simulation(snap)
    if isinstance(sim, str):
        return sim
    out: Dict[str, Dict[str, str]] = {}
    for result in sim.jobs:
        for target in result.active:
            out.setdefault(result.job.name, {})[target.address] = (
                f"{target.namespace}/{target.pod_name}" if target.pod_name else target.address)
    return out


def assigned(snap) -> Dict[Tuple[str, str], List[str]]:
    """(job, address) -> the collectors the allocator gave it to."""
    out: Dict[Tuple[str, str], List[str]] = {}
    for job, shares in (_state(snap).get("assignment") or {}).items():
        for collector, groups in shares.items():
            for group in groups if isinstance(groups, list) else []:
                for address in (group or {}).get("targets") or []:
                    out.setdefault((job, str(address)), []).append(collector)
    return out


def allocation(snap, _opts):
    expected = _expected(snap)
    if isinstance(expected, str):
        return skip(f"no expected targets: {expected}")
    given = assigned(snap)
    collectors = set(_state(snap).get("collector_pods") or [])
    unassigned, doubled, gone = [], [], []
    total = 0
    for job, targets in sorted(expected.items()):
        for address, pod in sorted(targets.items()):
            total += 1
            owners = given.get((job, address), [])
            if not owners:
                unassigned.append(f"{job}: {pod} ({address}) is assigned to no collector")
            elif len(owners) > 1:
                doubled.append(f"{job}: {pod} ({address}) is assigned to {', '.join(sorted(owners))}")
    for (job, address), owners in sorted(given.items()):
        gone += [f"{job}: {address} is assigned to {o}, which is not a running collector"
                 for o in owners if o not in collectors]
    problems = unassigned + doubled + gone
    if problems:
        what = []
        if unassigned:
            what.append(f"{count(len(unassigned), 'expected target')} assigned to no collector")
        if doubled:
            what.append(f"{count(len(doubled), 'target')} assigned to several collectors")
        if gone:
            what.append(f"{count(len(gone), 'target')} assigned to collectors that do not run")
        return fail("; ".join(what) + " (the allocator rebalances when collectors come and go: "
                    "retry with --wait)", details=listing(problems), retryable=True)
    return passed(f"every expected target is assigned to exactly one collector "
                  f"({count(total, 'target')} over {count(len(collectors), 'collector')})")


def _receiver_view(doc) -> Dict[Tuple[str, str], dict]:
    out: Dict[Tuple[str, str], dict] = {}
    for item in active_targets(doc) or []:
        address = (item.get("discoveredLabels") or {}).get("__address__") or \
            (item.get("labels") or {}).get("instance") or ""
        out[(str(item.get("scrapePool") or ""), str(address))] = item
    return out


def shares(snap, _opts):
    state = _state(snap)
    given = assigned(snap)
    problems: List[str] = []
    unread: List[str] = []
    for collector in state.get("collector_pods") or []:
        share: Set[Tuple[str, str]] = {key for key, owners in given.items() if collector in owners}
        doc = snap.receiver_targets.get(collector)
        if doc is None:
            reason = snap.receiver_targets_errors.get(collector, "not read")
            unread.append(f"{collector}: its receiver's targets could not be read ({reason})")
            continue
        view = _receiver_view(doc)
        missing = sorted(share - set(view))
        extra = sorted(set(view) - share)
        down = sorted(key for key in share & set(view) if view[key].get("health") == "down")
        for job, address in missing:
            problems.append(f"{collector}: {job} {address} is in its share but not among its targets")
        for job, address in extra:
            problems.append(f"{collector}: scrapes {job} {address}, which the allocator gave to "
                            f"{', '.join(given.get((job, address), [])) or 'no collector'}")
        for job, address in down:
            error = view[(job, address)].get("lastError") or "down"
            problems.append(f"{collector}: {job} {address} is down: {error}")
    if problems:
        return fail(f"{count(len(problems), 'target')} of the collectors' shares not scraped as assigned",
                    details=listing(problems + unread), retryable=True)
    if unread:
        return warn(f"{count(len(unread), 'collector')} could not be compared with its share",
                    details=listing(unread))
    return passed(f"every collector scrapes exactly its share "
                  f"({count(len(state.get('collector_pods') or []), 'collector')})")


CATEGORY = Category("linkerd-otel-operator", [
    Check("operator-resource", "the OpenTelemetryCollector exists", resource,
          anchor="otel-operator-resource", fatal=True),
    Check("operator-reconciled", "the operator reconciled it", reconciled, anchor="otel-operator-reconciled",
          fatal=True, retryable=True),
    Check("operator-allocator", "the Target Allocator answers", allocator_answers,
          anchor="otel-operator-allocator", fatal=True, retryable=True),
    Check("operator-allocation", "every expected target is assigned to one collector", allocation,
          anchor="otel-operator-allocation", retryable=True),
    Check("operator-shares", "each collector scrapes its share", shares, anchor="otel-operator-shares",
          retryable=True),
], requires=("kubernetes-api",))
