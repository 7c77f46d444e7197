"""Reading the collector from the cluster: where it runs, and what its prometheus receiver's API says it
scrapes (`/api/v1/targets`, read through the API server's pods/proxy). Used by `targets` and by the
`check` snapshot; the cluster client is passed in."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from ..collector.locate import locate
from ..errors import UsageError
from ..k8s.jsonitems import NotStreamable, decoded, stream_document
from ..k8s.limits import TARGETS_ANSWER
from ..k8s.safeload import json_loads
from ..scrape.receiver import NotRead, for_targets, running_pods_answers
from ..scrape.targets import active_targets

TARGETS_PATH = "/api/v1/targets"


class TargetsUnreadable(Exception):
    """A collector pod answered, but not with a targets document. The message names no pod (callers do);
    `kind` is "status", "json" or "shape"."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def read_targets(kube: Any, namespace: str, pod: str, port: int, state: str = "any",
                 object_hook: Any = None, reduce: Any = None) -> dict:
    """One collector pod's `/api/v1/targets?state=...`, parsed (`state="active"`: without the dropped
    targets, which neither `check` nor `targets` reads: the simulation says why each target is dropped).
    `reduce(target)`: what is kept of each active target, applied as the answer is parsed target by target
    (k8s/jsonitems.py), so that the parsed answer never exists whole; dropped targets are not kept. An
    answer that cannot be read that way is parsed whole (`object_hook` then reduces each object). Errors
    of the cluster client propagate; an answer that is not a Prometheus targets document raises
    TargetsUnreadable."""
    query = f"{TARGETS_PATH}?state={state}"
    doc = None
    if reduce is not None:
        response = kube.proxy_get(namespace, pod, port, query, limit=TARGETS_ANSWER,
                                  consume=lambda chunks, charset: _streamed(chunks, charset, reduce))
        doc = response.consumed
        if response.status == 200 and doc is None:
            # not an answer this reader follows: asked again and parsed whole, which gives its usual error
            response = kube.proxy_get(namespace, pod, port, query, limit=TARGETS_ANSWER)
    else:
        response = kube.proxy_get(namespace, pod, port, query, limit=TARGETS_ANSWER)
    if response.status != 200:
        raise TargetsUnreadable(f"answered HTTP {response.status} on {TARGETS_PATH}", "status")
    if doc is None:
        doc = _parsed(response, object_hook)
    if active_targets(doc) is None:
        raise TargetsUnreadable(f"answered {TARGETS_PATH} without a list of active targets", "shape")
    return doc


def _streamed(chunks: Any, charset: str, reduce: Any) -> Any:
    """The answer with `reduce` applied to each active target as it is decoded off the network (the answer
    is never held whole, as bytes or parsed), dropped targets left out; None when it cannot be read that
    way (not UTF-8 JSON of the shape Prometheus sends)."""
    if charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return None
    active: list = []

    def keep(item: Any) -> None:
        kept = reduce(item)
        if kept is not None:
            active.append(kept)

    try:
        doc = stream_document(decoded(chunks), {("data", "activeTargets"): keep,
                                                ("data", "droppedTargets"): lambda _item: None})
    except (NotStreamable, UnicodeDecodeError):
        return None
    data = doc.get("data")
    if isinstance(data, dict) and isinstance(data.get("activeTargets"), list):
        data["activeTargets"] = active     # a list there was streamed
    return doc


def _parsed(response: Any, object_hook: Any) -> Any:
    try:
        if object_hook is None:
            return json_loads(response.text)
        try:   # each object reduced as it is parsed
            return json.loads(response.text, object_hook=object_hook)
        except RecursionError:
            raise ValueError("nested too deeply") from None
    except ValueError:
        raise TargetsUnreadable(f"did not answer JSON on {TARGETS_PATH}", "json") from None


def locate_collector(kube: Any, namespace: str):
    """The collector workload, its ConfigMap and pods in `namespace` (collector.locate.Location)."""
    found = locate(kube.list("deployments", namespace), kube.list("daemonsets", namespace),
                   kube.list("configmaps", namespace), kube.list("pods", namespace))
    if found is None or found.configmap is None:
        raise UsageError(f"no OpenTelemetry collector config found in namespace {namespace}",
                         hint="pass -n NAMESPACE, or --config FILE")
    return found


def actual_targets(kube: Any, location, config: dict, env=None) -> Tuple[Dict[str, dict], List[str]]:
    """Each running collector pod's targets document (pod name -> parsed JSON), and notes saying what
    could not be read and why."""
    def read(name: str, port: int) -> dict:
        try:
            # the active targets only, each reduced as it is read: what merge_actual reads of them
            return read_targets(kube, location.namespace, name, port, state="active", reduce=for_targets())
        except TargetsUnreadable as exc:
            suffix = ": only the expectation is shown for it" if exc.kind == "shape" else ""
            raise NotRead(f"collector pod {name} {exc}{suffix}") from None
        except Exception as exc:  # a refusal names itself; one pod failing does not stop the others
            raise NotRead(f"cannot read the targets of collector pod {name}: {getattr(exc, 'message', exc)}") \
                from None

    return running_pods_answers(location, config, env, read)
