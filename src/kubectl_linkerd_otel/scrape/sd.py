"""Prometheus `kubernetes_sd_configs` with `role: pod` (pure), as `discovery/kubernetes/pod.go` does it.

`discover(pod)` turns one pod as the API returns it (a dict) into a `PodTargets`: the labels Prometheus
puts on the pod's target group (`__meta_kubernetes_pod_*`, `__meta_kubernetes_namespace`) and one small
dict per target (per container port; one for a container without ports), containers first, then init
containers. A pod without `status.podIP` has no targets. No phase filter: completed pods that still
have an IP are discovered.

Every value is a non-empty string: Prometheus treats an empty value as an absent label (an empty pod
label still gives `labelpresent_<name>="true"`, an unnamed port gives no `_container_port_name`).

`SDConfig.selects(pod)` applies the SD config's own filters: `namespaces` (`names`, `own_namespace`)
and `selectors` (label and field selectors of role pod, evaluated as the API server would).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from .text import code, shown

META = "__meta_kubernetes_"
POD = META + "pod_"


class _Names(dict):
    """`_P["ip"]` is POD + "ip", made once: label names built per pod would be a new string each time
    (50,000 pods, a dozen names each)."""

    def __missing__(self, suffix: str) -> str:
        name = self[suffix] = POD + suffix
        return name


_P = _Names()
_NAMESPACE = META + "namespace"
PROXY_CONTAINER = "linkerd-proxy"

_sanitized: Dict[str, str] = {}
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(name: str) -> str:
    """strutil.SanitizeLabelName: every code point outside [a-zA-Z0-9_] becomes `_` (no collapsing)."""
    out = _sanitized.get(name)
    if out is None:
        out = _INVALID.sub("_", name)
        if len(_sanitized) < 100_000:
            _sanitized[name] = out
    return out


def join_host_port(host: str, port: str) -> str:
    """net.JoinHostPort: brackets around IPv6 addresses."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


class TargetInfo:
    """One discovered target of a pod: its own labels plus what the report shows.

    `labels` (_container_*, __address__, _container_port_*; merged over the pod's group labels by the
    caller) is built when asked from the container's id and image, the pod's IP and the port's labels
    (strings the pod and the other targets share), not stored: on a 50,000-pod mesh the discovered
    targets are a quarter million, and their label maps would be most of the memory. Each access gives
    a new dict."""

    __slots__ = ("_labels", "_id", "_image", "_host", "_port_text", "_port_labels", "container", "init",
                 "port_name", "port")

    def __init__(self, labels: Optional[Dict[str, str]], container: str, init: bool, port_name: str = "",
                 port: Optional[int] = None, *, container_id: str = "", image: str = "", host: str = "",
                 port_text: str = "", port_labels: Tuple[Tuple[str, str], ...] = ()):
        self._labels = labels
        self._id, self._image, self._host, self._port_text = container_id, image, host, port_text
        self._port_labels = port_labels
        self.container, self.init, self.port_name, self.port = container, init, port_name, port

    @property
    def labels(self) -> Dict[str, str]:
        if self._labels is not None:
            return dict(self._labels)
        labels = {_P["container_init"]: "true" if self.init else "false"}
        if self.container:
            labels[_P["container_name"]] = self.container
        if self._id:
            labels[_P["container_id"]] = self._id
        if self._image:
            labels[_P["container_image"]] = self._image
        labels["__address__"] = join_host_port(self._host, self._port_text) if self._port_text else self._host
        labels.update(self._port_labels)
        return labels

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TargetInfo) and (self.labels, self.container, self.init, self.port_name,
                                                  self.port) == (other.labels, other.container, other.init,
                                                                 other.port_name, other.port)

    def __repr__(self) -> str:
        return (f"TargetInfo(labels={self.labels!r}, container={self.container!r}, init={self.init!r}, "
                f"port_name={self.port_name!r}, port={self.port!r})")


class PodTargets:
    """A pod and its discovered targets. `group` (the target-group labels every target of the pod shares;
    empty without an IP) and `targets` (one a container port, or one for a container without ports) are
    built from the pod when asked, not stored: on a 50,000-pod mesh they would be a large share of the
    memory. The last pod's are kept, for a pod's targets read one after another."""

    __slots__ = ("pod", "namespace", "name", "meshed", "ip")

    def __init__(self, pod: dict, namespace: str, name: str, meshed: bool, ip: str):
        self.pod, self.namespace, self.name, self.meshed, self.ip = pod, namespace, name, meshed, ip

    @property
    def group(self) -> Dict[str, str]:
        return _of_last(_last_group, self.pod, lambda: group_labels(self.pod)) if self.ip else {}

    @property
    def targets(self) -> List["TargetInfo"]:
        return _of_last(_last_targets, self.pod, lambda: _targets(self.pod, self.ip)) if self.ip else []

    @property
    def phase(self) -> str:
        return (self.pod.get("status") or {}).get("phase") or ""

    @property
    def key(self) -> Tuple[str, str]:
        return self.namespace, self.name

    def __repr__(self) -> str:
        return f"PodTargets({self.namespace}/{self.name}, meshed={self.meshed}, ip={self.ip!r})"


# (the pod whose group labels or targets were built last, them): read-only, callers copy before changing
_last_group: List[Any] = [None]
_last_targets: List[Any] = [None]


def _of_last(slot: List[Any], pod: dict, build: Callable[[], Any]) -> Any:
    """What `build` makes of `pod`, kept for the last pod asked (one tuple, replaced whole: threads never
    see half of one)."""
    last = slot[0]
    if last is None or last[0] is not pod:
        last = (pod, build())
        slot[0] = last
    return last[1]


def is_meshed(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    for c in spec.get("containers") or ():
        if c.get("name") == PROXY_CONTAINER:
            return True
    for c in spec.get("initContainers") or ():
        if c.get("name") == PROXY_CONTAINER:
            return True
    return False


def _pod_ready(status: dict) -> str:
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready":
            return str(cond.get("status") or "").lower()
    return "unknown"


# label and annotation key -> (`..._pod_label_<n>`, `..._pod_labelpresent_<n>`), built once per key:
# 50,000 pods share a few dozen keys, and one string each instead of one per pod keeps memory bounded
_meta_names_by_kind: Dict[str, Dict[str, Tuple[str, str]]] = {"label": {}, "annotation": {}}


def _meta_names(kind: str, key: str) -> Tuple[str, str]:
    cache = _meta_names_by_kind[kind]
    names = cache.get(key)
    if names is None:
        name = sanitize(key)
        names = (POD + kind + "_" + name, POD + kind + "present_" + name)
        if len(cache) < 50_000:
            cache[key] = names
    return names


def group_labels(pod: dict) -> Dict[str, str]:
    """podLabels() + the namespace label: what every target of the pod shares. (Built for every pod and
    again when a report shows a pod's targets: the loops are written out, no helper call a label.)"""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ls: Dict[str, str] = {}
    for name, value in ((_P["ip"], status.get("podIP")), (_P["ready"], _pod_ready(status)),
                        (_P["phase"], status.get("phase")), (_P["node_name"], spec.get("nodeName")),
                        (_P["host_ip"], status.get("hostIP")), (_P["uid"], meta.get("uid")),
                        (_P["name"], meta.get("name"))):
        if value is not None and value != "":
            ls[name] = value if type(value) is str else str(value)
    for kind in ("label", "annotation"):
        names = _meta_names_by_kind[kind]
        for key, value in (meta.get(kind + "s") or {}).items():
            pair = names.get(key) or _meta_names(kind, key)
            if value is not None and value != "":
                ls[pair[0]] = value if type(value) is str else str(value)
            ls[pair[1]] = "true"
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller") is True:
            for name, value in ((_P["controller_kind"], ref.get("kind")), (_P["controller_name"], ref.get("name"))):
                if value is not None and value != "":
                    ls[name] = value if type(value) is str else str(value)
            break
    namespace = meta.get("namespace")
    if namespace is not None and namespace != "":
        ls[_NAMESPACE] = namespace if type(namespace) is str else str(namespace)
    return ls


_port_texts: Dict[Any, str] = {}
_shared_port_labels: Dict[Tuple[Tuple[str, str], ...], Tuple[Tuple[str, str], ...]] = {}


def _port_text(number: Any) -> str:
    """The port number as Prometheus writes it; one string per number (kept for the few thousand ports
    there are, not made again for every pod)."""
    text = _port_texts.get(number) if isinstance(number, int) and not isinstance(number, bool) else None
    if text is None:
        text = str(int(number)) if isinstance(number, (int, float)) else str(number or 0)
        if isinstance(number, int) and not isinstance(number, bool) and len(_port_texts) < 70_000:
            _port_texts[number] = text
    return text


def discover(pod: dict) -> PodTargets:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    return PodTargets(pod, meta.get("namespace") or "", meta.get("name") or "", is_meshed(pod),
                      status.get("podIP") or "")


def _targets(pod: dict, ip: str) -> List[TargetInfo]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ids = {}
    for s in status.get("containerStatuses") or ():
        ids.setdefault(("c", s.get("name")), s.get("containerID") or "")
    for s in status.get("initContainerStatuses") or ():
        ids.setdefault(("i", s.get("name")), s.get("containerID") or "")
    targets: List[TargetInfo] = []
    for init, containers in ((False, spec.get("containers") or ()), (True, spec.get("initContainers") or ())):
        for c in containers:
            cname = c.get("name") or ""
            cid = ids.get(("i" if init else "c", cname)) or ""
            image = str(c["image"]) if c.get("image") else ""
            ports = c.get("ports") or ()
            if not ports:
                targets.append(TargetInfo(None, cname, init, container_id=cid, image=image, host=ip))
                continue
            for port in ports:
                number = port.get("containerPort")
                text = _port_text(number)
                own: Tuple[Tuple[str, str], ...] = ((_P["container_port_number"], text),)
                if port.get("name"):
                    own += ((_P["container_port_name"], str(port["name"])),)
                if port.get("protocol"):
                    own += ((_P["container_port_protocol"], str(port["protocol"])),)
                targets.append(TargetInfo(None, cname, init, str(port.get("name") or ""),
                                          int(number) if isinstance(number, (int, float)) else None,
                                          container_id=cid, image=image, host=ip, port_text=text,
                                          port_labels=_shared_port_labels.setdefault(own, own)
                                          if len(_shared_port_labels) < 100_000 else own))
    return targets


# -- selectors -------------------------------------------------------------------------------------
class SelectorError(ValueError):
    pass


_LABEL_REQ = re.compile(
    r"\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_.\-/]+)\s*"
    r"(?:(?P<op>==|!=|=|\bnotin\b|\bin\b)\s*(?P<value>\([^)]*\)|[A-Za-z0-9_.\-]*))?\s*")


def _split_top(text: str) -> List[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in (x.strip() for x in parts) if p]


def parse_label_selector(text: str) -> List[Tuple[str, str, Tuple[str, ...]]]:
    """`a=b,c!=d,e in (x,y),f notin (z),g,!h` -> [(key, op, values)]; op in = != in notin exists !exists."""
    reqs = []
    for part in _split_top(text or ""):
        m = _LABEL_REQ.fullmatch(part)
        if not m:
            raise SelectorError(f"invalid label selector {text!r}")
        key, op, value = m.group("key"), m.group("op"), m.group("value")
        if m.group("neg"):
            if op:
                raise SelectorError(f"invalid label selector {text!r}")
            reqs.append((key, "!exists", ()))
        elif not op:
            reqs.append((key, "exists", ()))
        elif op in ("in", "notin"):
            if not value or not value.startswith("("):
                raise SelectorError(f"invalid label selector {text!r}")
            values = tuple(v.strip() for v in value[1:-1].split(",") if v.strip())
            reqs.append((key, op, values))
        else:
            reqs.append((key, "!=" if op == "!=" else "=", (value or "",)))
    return reqs


def label_selector_matches(reqs, labels: Dict[str, str]) -> bool:
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op == "=" and (not present or value != values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
    return True


POD_FIELDS = {
    "metadata.name": lambda p: (p.get("metadata") or {}).get("name"),
    "metadata.namespace": lambda p: (p.get("metadata") or {}).get("namespace"),
    "spec.nodeName": lambda p: (p.get("spec") or {}).get("nodeName"),
    "spec.restartPolicy": lambda p: (p.get("spec") or {}).get("restartPolicy"),
    "spec.schedulerName": lambda p: (p.get("spec") or {}).get("schedulerName"),
    "spec.serviceAccountName": lambda p: (p.get("spec") or {}).get("serviceAccountName"),
    "spec.hostNetwork": lambda p: "true" if (p.get("spec") or {}).get("hostNetwork") else "false",
    "status.phase": lambda p: (p.get("status") or {}).get("phase"),
    "status.podIP": lambda p: (p.get("status") or {}).get("podIP"),
    "status.nominatedNodeName": lambda p: (p.get("status") or {}).get("nominatedNodeName"),
}


def parse_field_selector(text: str) -> List[Tuple[str, str, str]]:
    reqs = []
    for part in _split_top(text or ""):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*", part)
        if not m:
            raise SelectorError(f"invalid field selector {text!r}")
        if m.group(1) not in POD_FIELDS:
            raise SelectorError(f"field label not supported for pods: {m.group(1)}")
        reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def field_selector_matches(reqs, pod: dict) -> bool:
    for name, op, value in reqs:
        actual = POD_FIELDS[name](pod) or ""
        if (actual == value) != (op == "="):
            return False
    return True


def unresolved(value: str) -> bool:
    """A `${env:...}` reference the simulation could not resolve (no collector pod to read it from)."""
    return "${" in value


@dataclass
class SDConfig:
    """One `kubernetes_sd_configs` entry (role pod)."""

    role: str = "pod"
    namespaces: Optional[List[str]] = None     # None: all namespaces
    own_namespace: bool = False
    label_selector: str = ""
    field_selector: str = ""
    raw: dict = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    _label_reqs: Any = None
    _field_reqs: Any = None

    def compile(self) -> "SDConfig":
        label_parts = []
        for part in _split_top(self.label_selector or ""):
            if unresolved(part):
                self.notes.append(f"label selector {part} depends on the collector pod's environment; "
                                  f"treated as matching every pod")
            else:
                label_parts.append(part)
        self._label_reqs = parse_label_selector(",".join(label_parts)) if label_parts else []
        reqs = parse_field_selector(self.field_selector) if self.field_selector else []
        kept = []
        for req in reqs:
            if unresolved(req[2]):
                self.notes.append(f"field selector {req[0]}{req[1]}{req[2]} depends on the collector "
                                  f"pod's environment; treated as matching every pod")
            else:
                kept.append(req)
        self._field_reqs = kept
        return self

    def namespace_list(self, own: str) -> Optional[List[str]]:
        names = list(self.namespaces or [])
        if self.own_namespace and own:
            names.append(own)
        return names or None

    def namespace_ok(self, namespace: str, own: str = "") -> bool:
        names = self.namespace_list(own)
        return names is None or namespace in names

    def selector_ok(self, pod: dict) -> bool:
        if self._label_reqs is None:
            self.compile()
        if self._label_reqs and not label_selector_matches(
                self._label_reqs, (pod.get("metadata") or {}).get("labels") or {}):
            return False
        if self._field_reqs and not field_selector_matches(self._field_reqs, pod):
            return False
        return True

    def selects(self, pod: dict, own: str = "") -> bool:
        return self.namespace_ok((pod.get("metadata") or {}).get("namespace") or "", own) \
            and self.selector_ok(pod)

    def why_not(self, pod: dict, own: str = "") -> str:
        """Which of this SD config's filters leaves `pod` out, in words ("" when it selects it)."""
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        if not self.namespace_ok(namespace, own):
            names = ", ".join(self.namespace_list(own) or [])
            return f"namespace {code(namespace)} is not among the SD namespaces ({shown(names)})"
        if self._label_reqs is None:
            self.compile()
        if self._label_reqs and not label_selector_matches(self._label_reqs, meta.get("labels") or {}):
            failed = [r for r in self._label_reqs if not label_selector_matches([r], meta.get("labels") or {})]
            bits = []
            for key, _op, _values in failed[:3]:
                value = (meta.get("labels") or {}).get(key)
                bits.append(f"label {shown(key, 60)} is {code(value)}" if value is not None
                            else f"no label {shown(key, 60)}")
            return f"label selector {code(self.label_selector)} does not match ({'; '.join(bits)})"
        if self._field_reqs and not field_selector_matches(self._field_reqs, pod):
            failed = [r for r in self._field_reqs if not field_selector_matches([r], pod)]
            bits = [f"{name} is {code(POD_FIELDS[name](pod) or '')}" for name, _op, _value in failed[:3]]
            return f"field selector {code(self.field_selector)} does not match ({'; '.join(bits)})"
        return ""

    def describe_filters(self, own: str = "") -> str:
        bits = []
        names = self.namespace_list(own)
        if names is not None:
            bits.append("namespaces " + ", ".join(names))
        if self.label_selector:
            bits.append(f"label selector {self.label_selector!r}")
        if self.field_selector:
            bits.append(f"field selector {self.field_selector!r}")
        return "; ".join(bits) or "all pods"
