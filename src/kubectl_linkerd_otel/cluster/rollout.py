"""Waiting for the collector's rollout, as `kubectl rollout status` judges it, and saying which pods are
not ready and why when it times out."""
from __future__ import annotations

import time
from typing import Callable, List, Tuple

from ..errors import KubeError, PluginError
from ..k8s.durations import format_go_duration
from ..k8s.podstatus import is_fully_ready, not_ready_reason, ready_column, waiting_reasons
from ..k8s.refs import object_ref

POLL_SECONDS = 2.0


def rollout_state(workload: dict) -> Tuple[bool, str]:
    """(done, progress text) as `kubectl rollout status` judges a Deployment or DaemonSet."""
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    generation = (workload.get("metadata") or {}).get("generation") or 0
    observed = status.get("observedGeneration") or 0
    if workload.get("kind") == "DaemonSet":
        desired = status.get("desiredNumberScheduled") or 0
        updated = status.get("updatedNumberScheduled") or 0
        ready = status.get("numberAvailable") or 0
        done = observed >= generation and desired > 0 and updated == desired and ready == desired
        return done, f"{ready}/{desired} ready, {updated} updated"
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or 0
    total = status.get("replicas") or 0
    done = observed >= generation and updated == wanted and available >= wanted and total == updated
    return done, f"{available}/{wanted} ready, {updated} updated"


def _pod_selector(workload: dict) -> str:
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _last_event(kube, namespace: str, pod: str) -> str:
    try:
        events = kube.list("events", namespace, field_selector=f"involvedObject.name={pod}")
    except KubeError:
        return ""
    if not events:
        return ""

    def when(ev: dict) -> str:
        return ev.get("lastTimestamp") or ev.get("eventTime") or \
            (ev.get("metadata") or {}).get("creationTimestamp") or ""

    last = max(events, key=when)
    return f"{last.get('reason', '')}: {last.get('message', '')}".strip(": ")


def not_ready_pods(kube, workload: dict) -> List[str]:
    """One line per collector pod that is not ready: name, READY, why, last event."""
    namespace = workload["metadata"]["namespace"]
    lines = []
    for pod in kube.list("pods", namespace, label_selector=_pod_selector(workload)):
        if is_fully_ready(pod):
            continue
        name = pod["metadata"]["name"]
        waiting = waiting_reasons(pod)
        why = ", ".join(f"{c}: {r}" for c, r in waiting) if waiting else not_ready_reason(pod)
        line = f"pod/{name} {ready_column(pod)} ready: {why}"
        event = _last_event(kube, namespace, name)
        if event:
            line += f"; last event: {event}"
        lines.append(line)
    return lines


def wait_for_rollout(kube, workload: dict, *, timeout: float, progress,
                     echo_err: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until the workload's pods are updated and ready; on timeout, say which pods are not and why.
    `progress` shows the state (update/finish/close: commands/progress.py)."""
    plural = "daemonsets" if workload["kind"] == "DaemonSet" else "deployments"
    name, namespace = workload["metadata"]["name"], workload["metadata"]["namespace"]
    ref = object_ref(workload)
    deadline = time.monotonic() + timeout
    try:
        while True:
            current = kube.get(plural, name, namespace)
            done, text = rollout_state(current)
            progress.update(f"waiting for {ref}: {text}")
            if done:
                progress.finish(f"{ref} rolled out: {text}")
                return
            if time.monotonic() >= deadline:
                break
            sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.05)))
    finally:
        progress.close()
    for line in not_ready_pods(kube, current) or ["no collector pod exists yet (see "
                                                  f"`kubectl -n {namespace} describe {ref}`)"]:
        echo_err("  " + line)
    raise PluginError(f"timed out after {format_go_duration(timeout)} waiting for {ref} ({text})",
                      hint="see the pods above, run `kubectl linkerd-otel check`, or raise --timeout")
