"""A pod reduced to what the plugin reads (pure): gather and `targets` keep this form of every pod, so that a
50,000-pod mesh fits in memory (a full pod is 10-100 KB of JSON, mostly managedFields, env, volumes and
probes; the trimmed one well under 2 KB).

What is kept, and who reads it:
- scrape/sd.py (Prometheus role: pod): name, namespace, uid, labels, annotations (every one: any can be a
  `__meta_kubernetes_pod_annotation_*` label), ownerReferences, nodeName, podIP, hostIP, phase, the
  Ready condition, container and init container names, images, ports, and container ids from the
  statuses; its field selectors: restartPolicy, schedulerName, serviceAccountName, hostNetwork,
  nominatedNodeName.
- k8s/podstatus.py (READY column, reasons): deletionTimestamp, every condition, restartPolicy of init
  containers (native sidecars), container statuses with state/lastState (restartCount, started and
  lastState left out when they are 0, false, {}: what a missing one reads as), status.reason.
Not kept, as no one reads them: podIPs (Prometheus' pod role reads podIP), startTime, generateName.
- checks (policy, data plane): the proxy's env values `_l5d_trustdomain` and
  `LINKERD2_PROXY_INBOUND_DEFAULT_POLICY`.
Pods in the collector's namespace are kept whole by the callers (few, and the collector checks read
their template-derived fields).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

# env variables the checks read from a container (checks/policy.py, checks/linkerd_data_plane.py)
KEPT_ENV = frozenset({"_l5d_trustdomain", "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY"})

_META = ("name", "namespace", "uid", "labels", "annotations", "ownerReferences", "deletionTimestamp",
         "creationTimestamp")
_SPEC = ("nodeName", "restartPolicy", "schedulerName", "serviceAccountName", "serviceAccount", "hostNetwork")
_CONTAINER = ("name", "image", "ports", "restartPolicy")
_STATUS = ("phase", "reason", "podIP", "hostIP", "nominatedNodeName")
_CONDITION = ("type", "status", "reason", "message")
_CONTAINER_STATUS = ("name", "ready", "started", "restartCount", "containerID", "state", "lastState")
_OWNER = ("kind", "name", "controller")


def _pick(source: Any, keys) -> Dict[str, Any]:
    if not isinstance(source, dict):
        return {}
    return {key: source[key] for key in keys if key in source}


def _container(container: Any) -> Dict[str, Any]:
    out = _pick(container, _CONTAINER)
    env = container.get("env") if isinstance(container, dict) else None
    if isinstance(env, list):
        kept = [{"name": e["name"], "value": e.get("value")} for e in env
                if isinstance(e, dict) and e.get("name") in KEPT_ENV]
        if kept:
            out["env"] = kept
    return out


# a container status's fields that read as their zero value when absent (k8s/podstatus.py reads them with
# .get(...) or a default): left out when they are that value, a smaller dict for each container of each pod
_ZERO_STATUS = (("restartCount", 0), ("started", False), ("lastState", {}))


def _container_status(status: Any) -> Dict[str, Any]:
    out = _pick(status, _CONTAINER_STATUS)
    for key, zero in _ZERO_STATUS:
        value = out.get(key, zero)
        if value == zero and type(value) is type(zero):    # 0, not False; {}, not []
            out.pop(key, None)
    return out


def trim_pod(pod: dict) -> dict:
    """The pod with only the fields listed above; a pod of another shape is returned as it is (the shape
    checks at the door refuse it with its name)."""
    if not isinstance(pod, dict):
        return pod
    out: Dict[str, Any] = _pick(pod, ("apiVersion", "kind"))
    meta = _pick(pod.get("metadata"), _META)
    if isinstance(meta.get("ownerReferences"), list):
        meta["ownerReferences"] = [_pick(r, _OWNER) for r in meta["ownerReferences"]]
    out["metadata"] = meta
    spec = pod.get("spec")
    if isinstance(spec, dict):
        trimmed = _pick(spec, _SPEC)
        for field in ("containers", "initContainers"):
            if isinstance(spec.get(field), list):
                trimmed[field] = [_container(c) for c in spec[field]]
        out["spec"] = trimmed
    status = pod.get("status")
    if isinstance(status, dict):
        trimmed = _pick(status, _STATUS)
        if isinstance(status.get("conditions"), list):
            trimmed["conditions"] = [_pick(c, _CONDITION) for c in status["conditions"]]
        for field in ("containerStatuses", "initContainerStatuses"):
            if isinstance(status.get(field), list):
                trimmed[field] = [_container_status(s) for s in status[field]]
        out["status"] = trimmed
    return out


_SCALARS = (str, int, float, bool, type(None))
_WHOLE = frozenset({"labels", "annotations", "ownerReferences", "conditions"})
_dumps = __import__("json").JSONEncoder(check_circular=False, separators=(",", ":")).encode


class Trimmer:
    """trim_pod, with what many pods share (strings, small objects such as a condition, a port or a
    container state, and lists of them) stored once across all the pods it trims: a replica's trimmed pod
    then costs little more than its name, uid, IP and container ids. The pods it returns share objects, so
    they are read-only: whoever needs a changed pod builds a new one (checks never change the Snapshot)."""

    # parts of a pod that replicas share whole: found again by their JSON text (the C encoder) instead of
    # being walked value by value; at most CACHED distinct texts are kept
    CACHED = 4096

    def __init__(self, light: bool = False) -> None:
        # light: only what replicas share whole is shared (a JSON dump each); the rest of a pod (its name,
        # uid, IP, container statuses) is kept as decoded, not walked: faster, a little more memory
        self._light = light
        self._whole: Dict[str, Any] = {}
        self._strings: Dict[str, str] = {}
        self._repeated: set = set()   # ids of strings seen at least twice: objects made of them may repeat
        self._objects: Dict[Any, Any] = {}
        self._shared: set = set()     # ids of the objects in _objects (kept alive by it, so ids stay valid)

    def __call__(self, pod: dict) -> dict:
        trimmed = trim_pod(pod)
        if not isinstance(trimmed, dict):
            return self._share(trimmed)
        out: Dict[str, Any] = {}
        for key, value in trimmed.items():
            if key == "spec":
                value = self._whole_or_shared(value)
            elif key in ("metadata", "status") and isinstance(value, dict):
                if self._light:
                    value = {k: self._whole_or_shared(v) if k in _WHOLE else v for k, v in value.items()}
                else:
                    value = {self._string(k): self._whole_or_shared(v) if k in _WHOLE else self._share(v)
                             for k, v in value.items()}
            elif not self._light:
                value = self._share(value)
            out[key if self._light else self._string(key)] = value
        return out

    def _whole_or_shared(self, value: Any) -> Any:
        """`value` shared, or the equal value shared before (the same object)."""
        if not isinstance(value, (dict, list)) or not value:
            return self._share(value)
        try:
            text = _dumps(value)
        except (TypeError, ValueError):     # not JSON (a YAML date, a key that is not a string)
            return self._share(value)
        kept = self._whole.get(text)
        if kept is None:
            kept = self._share(value)
            if len(self._whole) < self.CACHED:
                self._whole[text] = kept
        return kept

    def share(self, value: Any) -> Any:
        """Any JSON value with what repeats stored once (read-only afterwards, as the pods)."""
        return self._share(value)

    def _string(self, text: str) -> str:
        kept = self._strings.setdefault(text, text)
        if kept is not text:
            self._repeated.add(id(kept))
        return kept

    def _shareable(self, value: Any) -> bool:
        if isinstance(value, str):
            return id(value) in self._repeated
        return isinstance(value, _SCALARS) or id(value) in self._shared

    def _keep(self, key: tuple, value: Any) -> Any:
        kept = self._objects.setdefault(key, value)
        self._shared.add(id(kept))
        return kept

    def _share(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, dict):
            out = {self._string(k) if isinstance(k, str) else k: self._share(v) for k, v in value.items()}
            if len(out) <= 8 and all(self._shareable(v) for v in out.values()):
                key: tuple = ("d",)
                for k, v in out.items():
                    key += (k, _token(v))
                return self._keep(key, out)
            return out
        if isinstance(value, list):
            items = [self._share(v) for v in value][:]     # the copy has no room to grow: kept long
            if len(items) <= 8 and all(self._shareable(v) for v in items):
                return self._keep(("l",) + tuple(_token(v) for v in items), items)
            return items
        return value


def _token(value: Any) -> Any:
    """A hashable stand-in: strings as they are, other scalars with their type (1 and True differ),
    shared objects by identity."""
    if isinstance(value, str):
        return value
    return (type(value).__name__, value) if isinstance(value, _SCALARS) else ("id", id(value))


def pod_trimmer(keep_whole: Optional[str] = None, light: bool = False) -> Callable[[dict], dict]:
    """What each read pod becomes: trimmed, unless it lives in `keep_whole` (`light`: see Trimmer)."""
    trim = Trimmer(light=light)
    return lambda pod: pod if keep_whole and (pod.get("metadata") or {}).get("namespace") == keep_whole \
        else trim(pod)
