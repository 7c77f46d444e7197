"""A pod's READY and STATUS columns exactly as `kubectl get pods` computes them (pure).

Mirrors `printPod` in kubernetes/pkg/printers/internalversion/printers.go: restartable init containers
(`restartPolicy: Always`, native sidecars such as Linkerd's proxy since 2.20) count in READY when they
are started and ready, so a meshed pod shows `2/2` whether its proxy is a regular or a native sidecar.
"""
from __future__ import annotations

from typing import Optional, Tuple


def _is_restartable(container: Optional[dict]) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def _init_specs(pod: dict) -> dict:
    return {c.get("name"): c for c in (pod.get("spec") or {}).get("initContainers") or []}


def _condition_true(pod: dict, kind: str) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return True
    return False


def _has_condition(pod: dict, kind: str) -> bool:
    return any(c.get("type") == kind for c in (pod.get("status") or {}).get("conditions") or [])


def _terminated_reason(term: dict, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _evaluate(pod: dict) -> Tuple[int, int, int, str]:
    """(ready, total, restarts, reason) as printPod computes them."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    init_specs = _init_specs(pod)
    total = len(spec.get("containers") or [])
    total += sum(1 for c in init_specs.values() if _is_restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    reason = status.get("reason") or status.get("phase") or ""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_statuses = status.get("initContainerStatuses") or []
    initializing = False
    for index, cs in enumerate(init_statuses):
        count = int(cs.get("restartCount") or 0)
        restarts += count
        restartable = _is_restartable(init_specs.get(cs.get("name")))
        if restartable:
            sidecar_restarts += count
        state = cs.get("state") or {}
        if restartable and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None:
                reason = _terminated_reason(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(pod, "Ready") else "NotReady"

    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return ready, total, restarts, reason


def ready_counts(pod: dict) -> Tuple[int, int]:
    """(ready, total): the READY column, e.g. (2, 2) for app + proxy."""
    ready, total, _, _ = _evaluate(pod)
    return ready, total


def ready_column(pod: dict) -> str:
    ready, total = ready_counts(pod)
    return f"{ready}/{total}"


def status_column(pod: dict) -> str:
    """The STATUS column: Running, CrashLoopBackOff, Init:0/1, Completed, Terminating, ..."""
    return _evaluate(pod)[3]


def is_fully_ready(pod: dict) -> bool:
    ready, total = ready_counts(pod)
    return total > 0 and ready == total


def not_ready_reason(pod: dict) -> str:
    """Why a pod is not ready, in words a user recognizes: the waiting/terminated reason or the phase."""
    reason = status_column(pod)
    phase = (pod.get("status") or {}).get("phase") or ""
    if reason == "Running" and not is_fully_ready(pod):
        for cs in _all_statuses(pod):
            if not cs.get("ready"):
                return f"container {cs.get('name')} not ready"
    if reason and phase and reason != phase:
        return f"{reason} (phase {phase})"
    if phase == "Pending" and reason == phase and not _all_statuses(pod) \
            and not (pod.get("status") or {}).get("initContainerStatuses"):
        # no container status at all: say what is known without repeating the phase a caller prints
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return "not scheduled" + (f": {cond['message']}" if cond.get("message") else "")
        return "no container started yet"
    return reason or phase or "unknown"


def _all_statuses(pod: dict) -> list:
    status = pod.get("status") or {}
    init_specs = _init_specs(pod)
    sidecars = [cs for cs in status.get("initContainerStatuses") or []
                if _is_restartable(init_specs.get(cs.get("name")))]
    return sidecars + list(status.get("containerStatuses") or [])


def restarts(pod: dict) -> int:
    """The RESTARTS column (regular containers plus native sidecars once initialized)."""
    return _evaluate(pod)[2]


def last_termination(pod: dict) -> Optional[dict]:
    """The most recent lastState.terminated among containers and sidecars, with the container's name.

    Returns {"container", "reason", "exitCode", "finishedAt", "message"} or None.
    """
    latest = None
    for cs in _all_statuses(pod):
        term = (cs.get("lastState") or {}).get("terminated")
        if not term:
            continue
        entry = {
            "container": cs.get("name"),
            "reason": term.get("reason") or _terminated_reason(term),
            "exitCode": term.get("exitCode"),
            "finishedAt": term.get("finishedAt") or "",
            "message": term.get("message") or "",
        }
        if latest is None or entry["finishedAt"] > latest["finishedAt"]:
            latest = entry
    return latest


def waiting_reasons(pod: dict) -> list:
    """[(container, reason)] for containers currently waiting with a reason (CrashLoopBackOff, ...)."""
    out = []
    status = pod.get("status") or {}
    for cs in list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            out.append((cs.get("name"), waiting["reason"]))
    return out
