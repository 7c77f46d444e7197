"""The OpenTelemetry Operator side of `--mode operator` (cluster I/O through apiclient/): is the operator's
API there, what did it make of our OpenTelemetryCollector, and what does its Target Allocator answer
(`/jobs`, `/jobs/<job>/targets?collector_id=<pod>`, read through the API server's pods/proxy)."""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..collector.locate import CollectorLocation
from ..errors import KubeError, NotFound, PluginError
from ..k8s.durations import format_go_duration
from ..k8s.limits import TARGETS_ANSWER
from ..k8s.refs import is_ours
from ..naming import COLLECTOR_NAME, CONFIGMAP_NAME
from ..render.operator import (ALLOCATOR_NAME, ALLOCATOR_PORT, CA_CONFIGMAP, CR_NAME, OPERATOR_INSTALL_HINT,
                               STATEFULSET_NAME)
from ..render.yaml_out import dump

RESOURCE = "opentelemetrycollectors.opentelemetry.io"
POLL_SECONDS = 2.0


def require_operator(kube: Any, namespace: str) -> None:
    """One line and exit 2 when the cluster does not serve opentelemetry.io/v1beta1 collectors."""
    try:
        kube.list(RESOURCE, namespace)
    except NotFound:
        raise PluginError("the OpenTelemetry Operator's CRDs are not installed in this cluster (no "
                          "opentelemetrycollectors.opentelemetry.io/v1beta1)",
                          hint=OPERATOR_INSTALL_HINT + "; nothing was applied") from None


def collector_resource(kube: Any, namespace: str) -> Optional[dict]:
    """Our OpenTelemetryCollector, or None (absent, or the operator's API is not there)."""
    try:
        return kube.get(RESOURCE, CR_NAME, namespace)
    except NotFound:
        return None


def remove_other_mode(kube: Any, namespace: str, mode: str, *, dry_run: bool,
                      echo: Callable[[str], None]) -> None:
    """Switching to or from --mode operator: what the other mode made and this one does not use goes."""
    suffix = " (server dry run)" if dry_run else ""
    if mode == "operator":
        leftovers = [("deployments", "deployment.apps", COLLECTOR_NAME),
                     ("daemonsets", "daemonset.apps", COLLECTOR_NAME),
                     ("configmaps", "configmap", CONFIGMAP_NAME)]
    else:
        leftovers = [(RESOURCE, "opentelemetrycollector.opentelemetry.io", CR_NAME),
                     ("serviceaccounts", "serviceaccount", ALLOCATOR_NAME),
                     ("configmaps", "configmap", CA_CONFIGMAP)]
    for plural, ref, name in leftovers:
        try:
            old = kube.get_or_none(plural, name, namespace)
        except NotFound:      # the operator's API is not served: nothing of it to remove
            old = None
        if old is None or not is_ours(old):
            continue
        kube.delete(plural, name, namespace, dry_run=dry_run)
        echo(f"{ref}/{name} deleted (not used by --mode {mode}){suffix}")


def _ready(obj: Optional[dict]) -> Tuple[bool, str]:
    if obj is None:
        return False, "not created yet"
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    current = (status.get("observedGeneration") or 0) >= ((obj.get("metadata") or {}).get("generation") or 0)
    return current and ready >= wanted and updated >= wanted, f"{ready}/{wanted} ready"


def wait_ready(kube: Any, namespace: str, *, timeout: float, echo_err: Callable[[str], None],
               sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until the operator has made the collectors' StatefulSet and the allocator, and both are ready."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        states = [(f"statefulset.apps/{STATEFULSET_NAME}",
                   _ready(kube.get_or_none("statefulsets", STATEFULSET_NAME, namespace))),
                  (f"deployment.apps/{ALLOCATOR_NAME}",
                   _ready(kube.get_or_none("deployments", ALLOCATOR_NAME, namespace)))]
        text = ", ".join(f"{ref} {state}" for ref, (_done, state) in states)
        if text != last:
            echo_err(f"waiting for the operator: {text}")
            last = text
        if all(done for _ref, (done, _state) in states):
            echo_err(f"opentelemetrycollector.opentelemetry.io/{CR_NAME} rolled out: {text}")
            return
        if time.monotonic() >= deadline:
            raise PluginError(f"timed out after {format_go_duration(timeout)} waiting for the operator "
                              f"({text})",
                              hint=f"see `kubectl -n {namespace} describe opentelemetrycollector {CR_NAME}` "
                                   f"and the operator's logs, or run `kubectl linkerd-otel check`")
        sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.05)))


# --- reading, for check and targets ------------------------------------------------------------

def _selector(workload: Optional[dict]) -> str:
    labels = (((workload or {}).get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _running(pods: List[dict]) -> List[dict]:
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]


def _proxy_json(kube: Any, namespace: str, pod: str, path: str):
    response = kube.proxy_get(namespace, pod, ALLOCATOR_PORT, path, limit=TARGETS_ANSWER)
    if response.status != 200:
        raise ValueError(f"GET {path} answered HTTP {response.status}")
    try:
        return json.loads(response.text)
    except ValueError:
        raise ValueError(f"GET {path} did not answer JSON") from None


def read_assignment(kube: Any, namespace: str, allocator_pod: str, collectors: List[str]
                    ) -> Tuple[Optional[dict], Dict[str, Dict[str, list]], Dict[str, str]]:
    """The allocator's jobs, its assignment {job: {collector: [target groups]}} and errors by step."""
    errors: Dict[str, str] = {}
    try:
        jobs = _proxy_json(kube, namespace, allocator_pod, "/jobs")
    except (KubeError, ValueError) as exc:
        return None, {}, {"jobs": getattr(exc, "message", None) or str(exc)}
    if not isinstance(jobs, dict):
        return None, {}, {"jobs": "GET /jobs did not answer a map of jobs"}
    assignment: Dict[str, Dict[str, list]] = {}
    for job in sorted(jobs):
        for collector in collectors:
            path = f"/jobs/{job}/targets?collector_id={collector}"
            try:
                groups = _proxy_json(kube, namespace, allocator_pod, path)
            except (KubeError, ValueError) as exc:
                errors[f"{job}/{collector}"] = getattr(exc, "message", None) or str(exc)
                continue
            assignment.setdefault(job, {})[collector] = groups if isinstance(groups, list) else []
    return jobs, assignment, errors


def read_state(kube: Any, namespace: str, *, assignment: bool = True) -> Dict[str, Any]:
    """What check needs of operator mode ({} when there is no OpenTelemetryCollector of ours): the CR,
    the collectors' StatefulSet and pods, the allocator Deployment and pod, and its answers."""
    resource = collector_resource(kube, namespace)
    if resource is None:
        return {}
    state: Dict[str, Any] = {"resource": resource, "errors": {}}
    statefulset = kube.get_or_none("statefulsets", STATEFULSET_NAME, namespace)
    allocator = kube.get_or_none("deployments", ALLOCATOR_NAME, namespace)
    state["statefulset"], state["allocator"] = statefulset, allocator
    collectors = (kube.list("pods", namespace, label_selector=_selector(statefulset))
                  if statefulset is not None and _selector(statefulset) else [])
    state["collector_pods"] = sorted(p["metadata"]["name"] for p in _running(collectors))
    allocator_pods = (_running(kube.list("pods", namespace, label_selector=_selector(allocator)))
                      if allocator is not None and _selector(allocator) else [])
    state["allocator_pod"] = allocator_pods[0]["metadata"]["name"] if allocator_pods else ""
    if assignment and state["allocator_pod"]:
        jobs, assigned, errors = read_assignment(kube, namespace, state["allocator_pod"],
                                                 state["collector_pods"])
        state["jobs"], state["assignment"] = jobs, assigned
        state["errors"].update(errors)
    elif assignment:
        state["errors"]["jobs"] = f"no running pod of deployment.apps/{ALLOCATOR_NAME}"
    return state


def config_text(resource: dict) -> Optional[str]:
    """The collector config the CR carries (with its scrape jobs; the operator's ConfigMap has the rewrite
    that asks the allocator instead)."""
    config = (resource.get("spec") or {}).get("config")
    if isinstance(config, str):      # v1alpha1 wrote it as text
        return config
    return dump(config) if isinstance(config, dict) else None


def adopt(kube: Any, snap: Any) -> None:
    """In operator mode, make the snapshot's collector the operator's StatefulSet and the CR's config, and
    read the allocator. Nothing happens without our OpenTelemetryCollector."""
    try:
        state = read_state(kube, snap.collector_namespace)
    except KubeError as exc:
        snap.operator = {"errors": {"resource": exc.message}}
        return
    if not state:
        return
    snap.operator = state
    state["config_text"] = config_text(state["resource"])
    statefulset = state.get("statefulset")
    if statefulset is not None:
        statefulset.setdefault("kind", "StatefulSet")
        snap.workloads.append(statefulset)
        snap.collector_workload = f"StatefulSet/{STATEFULSET_NAME}"
        snap.collector_configmap = ""


def pod_discovery_account(snap: Any) -> Optional[str]:
    """The ServiceAccount that lists and watches pods: in operator mode the allocator's."""
    resource = (getattr(snap, "operator", None) or {}).get("resource")
    if not resource:
        return None
    allocator = (resource.get("spec") or {}).get("targetAllocator") or {}
    return allocator.get("serviceAccount") or ALLOCATOR_NAME


def locate(kube: Any, namespace: str):
    """For `targets`: the collectors of operator mode as a collector.locate.CollectorLocation (the CR's
    config standing in for a ConfigMap), and the allocator's assignment; (None, {}) without our CR."""
    state = read_state(kube, namespace)
    if not state:
        return None, {}
    text = config_text(state["resource"]) or ""
    pseudo_cm = {"metadata": {"name": f"opentelemetrycollector/{CR_NAME}", "namespace": namespace},
                 "data": {"config.yaml": text}}
    statefulset = state.get("statefulset")
    pods = kube.list("pods", namespace, label_selector=_selector(statefulset)) if statefulset else []
    if statefulset is not None:
        statefulset.setdefault("kind", "StatefulSet")
    return CollectorLocation(statefulset, pseudo_cm, "config.yaml", pods, "operator"), state


def with_collector_resource(kube: Any, namespace: str, found: List[Tuple[str, dict]]) -> List[Tuple[str, dict]]:
    """uninstall: our OpenTelemetryCollector goes first (the operator then removes what it made)."""
    resource = collector_resource(kube, namespace)
    if resource is None or not is_ours(resource):
        return found
    return [(RESOURCE, resource)] + list(found)
