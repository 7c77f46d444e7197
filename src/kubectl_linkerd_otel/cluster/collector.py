"""Reading the collector from the cluster: where it runs, and what its prometheus receiver's API says it
scrapes (`/api/v1/targets`, read through the API server's pods/proxy). Used by `targets` and by the
`check` snapshot; the cluster client is passed in."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ..errors import UsageError

TARGETS_PATH = "/api/v1/targets"


class TargetsUnreadable(Exception):
    """A collector pod answered, but not with a targets document. The message names no pod (callers do);
    `kind` is "status", "json" or "shape"."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def read_targets(kube: Any, namespace: str, pod: str, port: int, state: str = "any",
                 object_hook: Any = None) -> dict:
    """One collector pod's `/api/v1/targets?state=any`, parsed (`state="active"`: without the dropped
    targets, which `check` never reads). Errors of the cluster client propagate; an answer that is not a
    Prometheus targets document raises TargetsUnreadable."""
    from ..scrape.targets import active_targets

    from ..k8s.limits import TARGETS_ANSWER

    response = kube.proxy_get(namespace, pod, port, f"{TARGETS_PATH}?state={state}", limit=TARGETS_ANSWER)
    if response.status != 200:
        raise TargetsUnreadable(f"answered HTTP {response.status} on {TARGETS_PATH}", "status")
    from ..k8s.safeload import json_loads

    try:
        if object_hook is None:
            doc = json_loads(response.text)
        else:   # each object reduced as it is parsed (gather keeps only what check reads)
            import json

            try:
                doc = json.loads(response.text, object_hook=object_hook)
            except RecursionError:
                raise ValueError("nested too deeply") from None
    except ValueError:
        raise TargetsUnreadable(f"did not answer JSON on {TARGETS_PATH}", "json") from None
    if active_targets(doc) is None:
        raise TargetsUnreadable(f"answered {TARGETS_PATH} without a list of active targets", "shape")
    return doc


def locate_collector(kube: Any, namespace: str):
    """The collector workload, its ConfigMap and pods in `namespace` (collector.locate.Location)."""
    from ..collector.locate import locate

    found = locate(kube.list("deployments", namespace), kube.list("daemonsets", namespace),
                   kube.list("configmaps", namespace), kube.list("pods", namespace))
    if found is None or found.configmap is None:
        raise UsageError(f"no OpenTelemetry collector config found in namespace {namespace}",
                         hint="pass -n NAMESPACE, or --config FILE")
    return found


def actual_targets(kube: Any, location, config: dict, env=None) -> Tuple[Dict[str, dict], List[str]]:
    """Each running collector pod's targets document (pod name -> parsed JSON), and notes saying what
    could not be read and why."""
    from ..collector.locate import readable_receiver

    port, running, notes = readable_receiver(location, config, env)
    if port is None:
        return {}, notes
    answers: Dict[str, dict] = {}
    for pod in running:
        name = pod["metadata"]["name"]
        try:
            answers[name] = read_targets(kube, location.namespace, name, port)
        except TargetsUnreadable as exc:
            suffix = ": only the expectation is shown for it" if exc.kind == "shape" else ""
            notes.append(f"collector pod {name} {exc}{suffix}")
        except Exception as exc:  # a refusal names itself; one pod failing does not stop the others
            notes.append(f"cannot read the targets of collector pod {name}: {getattr(exc, 'message', exc)}")
    return answers, notes
