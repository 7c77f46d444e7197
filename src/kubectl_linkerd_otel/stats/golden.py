"""Linkerd's golden metrics per workload, from two reads of each proxy (pure).

`summarize` is a function of (pods, two readings per pod with their times, per-pod errors): the cluster
reads them (cluster/stat.py), a saved snapshot could hold them. The numbers are those `linkerd viz stat`
gets from Prometheus, computed from the two reads instead of a metrics store:

- RPS: responses (`response_total`, success + failure) per second; SUCCESS: the share classified
  `success`; as viz, from responses, not requests.
- LATENCY_Pxx: `histogram_quantile` over the per-bucket rates of `response_latency_ms_bucket`, summed
  over the series and pods of the row (viz: `histogram_quantile(q, sum(irate(...)) by (le, ...))`).
- TCP_CONN: `tcp_open_connections` at the second read; READ/WRITE bytes per second.
- Inbound: `direction="inbound"` without the proxy's own admin port (probes, scrapes and these very
  reads land there, not on the application); outbound: `direction="outbound"`, one row per destination
  (its `dst_<kind>`/`dst_namespace` labels, else the service, authority or address).
- A counter that went down restarted (Prometheus's rule); a proxy whose `process_start_time_seconds`
  changed restarted, so every series counts from zero.
- A bad sample (`+Inf`, `NaN`: stats/proxy_text.py) leaves its series out of both reads, and so does a
  series whose rate would not be a finite number; each is listed once per pod (`PodStatus.bad_samples`),
  the rest of the pod's traffic is counted. Every number handed to the reports is finite.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..k8s.meshed import has_mesh_label
from ..naming import LINKERD_ADMIN_PORT_NAME, LINKERD_PROXY_CONTAINER
from .promql import bucket_quantile, increase
from .proxy_text import (LATENCY_BUCKETS, RESPONSES, TCP_OPEN, TCP_READ, TCP_WRITE, MetricsTextError,
                         Reading, parse, series_text)

PodKey = Tuple[str, str]    # (namespace, pod)
QUANTILES = (0.5, 0.95, 0.99)

# resource type as typed -> (kind as viz names it, short prefix)
KINDS = {}
for _names, _kind, _short in ((("deploy", "deployment", "deployments"), "deployment", "deploy"),
                              (("sts", "statefulset", "statefulsets"), "statefulset", "sts"),
                              (("ds", "daemonset", "daemonsets"), "daemonset", "ds"),
                              (("ns", "namespace", "namespaces"), "namespace", "ns"),
                              (("po", "pod", "pods"), "pod", "po")):
    for _name in _names:
        KINDS[_name] = (_kind, _short)
# destination labels of outbound series, in the order they name a workload
DESTINATION_KINDS = (("dst_deployment", "deployment"), ("dst_statefulset", "statefulset"),
                     ("dst_daemonset", "daemonset"), ("dst_service", "service"))


@dataclass
class Readings:
    """Two reads of one proxy: the readings and when each was taken (epoch seconds)."""

    first: Reading
    first_at: float
    second: Reading
    second_at: float


@dataclass
class Traffic:
    """Rates over a window (per second), summed over series and pods; counts are the increases."""

    success: float = 0.0
    failure: float = 0.0
    success_count: float = 0.0
    failure_count: float = 0.0
    buckets: Dict[float, float] = field(default_factory=dict)   # upper bound -> rate (cumulative)
    tcp_open: float = 0.0
    read_bytes: float = 0.0
    write_bytes: float = 0.0
    has_tcp: bool = False

    def add(self, other: "Traffic") -> None:
        self.success += other.success
        self.failure += other.failure
        self.success_count += other.success_count
        self.failure_count += other.failure_count
        for bound, rate in other.buckets.items():
            self.buckets[bound] = self.buckets.get(bound, 0.0) + rate
        self.tcp_open += other.tcp_open
        self.read_bytes += other.read_bytes
        self.write_bytes += other.write_bytes
        self.has_tcp = self.has_tcp or other.has_tcp

    @property
    def rps(self) -> float:
        return self.success + self.failure

    @property
    def has_requests(self) -> bool:
        return self.success_count + self.failure_count > 0

    @property
    def success_rate(self) -> Optional[float]:
        return self.success / self.rps if self.rps > 0 else None

    def latency(self, q: float) -> Optional[float]:
        value = bucket_quantile(q, self.buckets.items())
        return None if math.isnan(value) or math.isinf(value) else value


@dataclass
class PodTraffic:
    inbound: Traffic
    outbound: Dict[Tuple[str, str, str], Traffic]    # (kind, namespace, name) -> traffic
    window: float
    restarted: bool
    bad: List[str] = field(default_factory=list)     # series left out: a sample or a rate not finite


@dataclass
class PodStatus:
    namespace: str
    name: str
    workload: str       # the one running the pod (deploy/web), whatever the rows are grouped by
    read: bool
    reason: str = ""
    phase: str = ""
    bad_samples: List[str] = field(default_factory=list)   # series of its proxy left out (not finite)


@dataclass
class Row:
    namespace: str
    kind: str
    name: str
    meshed: int
    running: int
    pods: List[PodStatus]
    traffic: Traffic
    status: str = ""                                   # pod rows: the pod's phase
    destination: Optional[Tuple[str, str, str]] = None  # outbound rows: (kind, namespace, name)
    window: Optional[float] = None

    @property
    def unread(self) -> List[PodStatus]:
        return [p for p in self.pods if not p.read]

    @property
    def read_count(self) -> int:
        return sum(1 for p in self.pods if p.read)


@dataclass
class StatResult:
    kind: str
    direction: str                 # inbound | outbound
    rows: List[Row]
    pods: List[PodStatus]          # every meshed running pod of the selection, read or not

    @property
    def unread(self) -> List[PodStatus]:
        return [p for p in self.pods if not p.read]


# --- pods ---------------------------------------------------------------------------------

def admin_port(pod: dict) -> Optional[int]:
    """The linkerd-proxy container's `linkerd-admin` port (a regular or a native-sidecar proxy)."""
    spec = pod.get("spec") or {}
    for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if container.get("name") != LINKERD_PROXY_CONTAINER:
            continue
        for port in container.get("ports") or []:
            if port.get("name") == LINKERD_ADMIN_PORT_NAME and port.get("containerPort"):
                return int(port["containerPort"])
    return None


def workload_of(pod: dict, kind: str) -> Optional[str]:
    """The pod's workload of `kind` (deployment, statefulset, daemonset, namespace, pod), or None."""
    meta = pod.get("metadata") or {}
    if kind == "namespace":
        return meta.get("namespace")
    if kind == "pod":
        return meta.get("name")
    labels = meta.get("labels") or {}
    named = labels.get(f"linkerd.io/proxy-{kind}")
    if named:
        return named
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    if owner is None:
        return None
    if kind == "deployment" and owner.get("kind") == "ReplicaSet":
        suffix = f"-{labels.get('pod-template-hash')}"
        name = owner.get("name") or ""
        return name[:-len(suffix)] if labels.get("pod-template-hash") and name.endswith(suffix) else None
    if owner.get("kind", "").lower() == kind:
        return owner.get("name")
    return None


def owner_of(pod: dict) -> str:
    """The workload that runs the pod, as kubectl names it (`deploy/web`, `sts/db`, `job/x`), or "-"."""
    for kind in ("deployment", "statefulset", "daemonset"):
        name = workload_of(pod, kind)
        if name:
            return f"{KINDS[kind][1]}/{name}"
    owner = next((o for o in (pod.get("metadata") or {}).get("ownerReferences") or [] if o.get("controller")), None)
    return f"{str(owner.get('kind', '')).lower()}/{owner.get('name', '')}" if owner else "-"


def is_running(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def selected_pods(pods: List[dict], kind: str, name: Optional[str] = None) -> List[Tuple[dict, str]]:
    """(pod, workload) for the running pods of the workloads of `kind` (named `name`, when given)."""
    out = []
    for pod in pods:
        if not is_running(pod):
            continue
        workload = workload_of(pod, kind)
        if workload is None or (name and workload != name):
            continue
        out.append((pod, workload))
    return out


def proxies_to_read(pods: List[dict], kind: str, name: Optional[str] = None) -> List[Tuple[str, str, int]]:
    """(namespace, pod, admin port) of every meshed running pod of the selection that can be read."""
    out = []
    for pod, _ in selected_pods(pods, kind, name):
        port = admin_port(pod)
        if has_mesh_label(pod) and port:
            meta = pod["metadata"]
            out.append((meta.get("namespace", ""), meta.get("name", ""), port))
    return out


# --- arithmetic -----------------------------------------------------------------------------

def _destination(labels: Dict[str, str]) -> Tuple[str, str, str]:
    namespace = labels.get("dst_namespace", "")
    for label, kind in DESTINATION_KINDS:
        if labels.get(label):
            return kind, namespace, labels[label]
    if labels.get("authority"):
        return "authority", "", labels["authority"]
    return "address", "", labels.get("target_addr", "")


def pod_traffic(readings: Readings, admin: Optional[int] = None) -> PodTraffic:
    """The traffic of one proxy between its two reads."""
    first, second = readings.first, readings.second
    window = readings.second_at - readings.first_at
    restarted = (first.start_time is not None and second.start_time is not None
                 and first.start_time != second.start_time)
    inbound = Traffic()
    outbound: Dict[Tuple[str, str, str], Traffic] = {}
    admin_text = str(admin) if admin else None
    per_second = 1.0 / window if window > 0 and math.isfinite(window) else 0.0
    bad = dict(first.bad)
    bad.update(second.bad)
    for key, series in second.series.items():
        if key in bad:
            continue
        name, labels = series.name, series.labels
        direction = labels.get("direction")
        if direction == "inbound":
            if admin_text is not None and labels.get("target_port") == admin_text:
                continue
            traffic = inbound
        elif direction == "outbound":
            dest = _destination(labels)
            traffic = outbound.get(dest)
            if traffic is None:
                traffic = outbound[dest] = Traffic()
        else:
            continue
        if name == TCP_OPEN:
            traffic.tcp_open += sum(series.values.values())
            traffic.has_tcp = True
            continue
        earlier = first.series.get(key)
        before = earlier.values if earlier is not None else {}
        grown_by_bound = [(bound, increase(before.get(bound), value, restarted=restarted))
                          for bound, value in series.values.items()]
        if not all(math.isfinite(grown * per_second) for _bound, grown in grown_by_bound):
            bad[key] = f"{series_text(name, labels)}: its rate is not a finite number"
            continue
        for bound, grown in grown_by_bound:
            if name == RESPONSES:
                if labels.get("classification") == "success":
                    traffic.success_count += grown
                    traffic.success += grown * per_second
                else:
                    traffic.failure_count += grown
                    traffic.failure += grown * per_second
            elif name == LATENCY_BUCKETS:
                if bound is not None and not math.isnan(bound):
                    traffic.buckets[bound] = traffic.buckets.get(bound, 0.0) + grown * per_second
            elif name == TCP_READ:
                traffic.read_bytes += grown * per_second
            elif name == TCP_WRITE:
                traffic.write_bytes += grown * per_second
    return PodTraffic(inbound, outbound, window, restarted, bad=list(bad.values()))


# --- the summary -------------------------------------------------------------------------------

def summarize(pods: List[dict], readings: Dict[PodKey, Readings], errors: Dict[PodKey, str], *,
              kind: str, name: Optional[str] = None, outbound: bool = False) -> StatResult:
    """Rows per workload of `kind` (viz's kinds: deployment, statefulset, daemonset, namespace, pod).

    Every meshed running pod of the selection is in the rows' `pods`: read, or not with the reason
    (`errors`, a missing admin port, or no reading). Workloads without a meshed pod are left out, as viz
    leaves them out."""
    groups: Dict[Tuple[str, str], dict] = {}
    statuses: List[PodStatus] = []
    for pod, workload in selected_pods(pods, kind, name):
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace", "")
        group = groups.setdefault((namespace, workload), {"meshed": 0, "running": 0, "pods": [],
                                                          "inbound": Traffic(), "outbound": {},
                                                          "windows": [], "phase": ""})
        group["running"] += 1
        group["phase"] = (pod.get("status") or {}).get("phase", "")
        if not has_mesh_label(pod):
            continue
        group["meshed"] += 1
        key = (meta.get("namespace", ""), meta.get("name", ""))
        status = PodStatus(key[0], key[1], owner_of(pod), read=False, phase=group["phase"])
        port = admin_port(pod)
        if port is None:
            status.reason = f"no `{LINKERD_ADMIN_PORT_NAME}` port on the {LINKERD_PROXY_CONTAINER} container"
        elif key in errors:
            status.reason = errors[key]
        elif key not in readings:
            status.reason = "not read"
        else:
            traffic = pod_traffic(readings[key], port)
            status.read = True
            status.bad_samples = traffic.bad
            group["inbound"].add(traffic.inbound)
            for dest, value in traffic.outbound.items():
                group["outbound"].setdefault(dest, Traffic()).add(value)
            group["windows"].append(traffic.window)
        group["pods"].append(status)
        statuses.append(status)

    rows: List[Row] = []
    for (namespace, workload), group in sorted(groups.items()):
        if group["meshed"] == 0:
            continue
        window = (sum(group["windows"]) / len(group["windows"])) if group["windows"] else None
        common = dict(namespace=namespace, kind=kind, name=workload, meshed=group["meshed"],
                      running=group["running"], pods=group["pods"],
                      status=group["phase"] if kind == "pod" else "", window=window)
        if not outbound:
            rows.append(Row(traffic=group["inbound"], **common))
            continue
        active = {dest: t for dest, t in group["outbound"].items() if t.has_requests or t.tcp_open > 0}
        if not active:
            rows.append(Row(traffic=Traffic(), destination=None, **common))
        for dest in sorted(active):
            rows.append(Row(traffic=active[dest], destination=dest, **common))
    return StatResult(kind, "outbound" if outbound else "inbound", rows, statuses)


def summarize_texts(pods: List[dict], texts: Dict[PodKey, Tuple[str, float, str, float]],
                    errors: Dict[PodKey, str], **kwargs) -> StatResult:
    """`summarize` from the metrics texts themselves: (first text, its time, second text, its time)."""
    readings, errors = readings_of_texts(texts, errors)
    return summarize(pods, readings, errors, **kwargs)


def readings_of_texts(texts: Dict[PodKey, Tuple[str, float, str, float]], errors: Dict[PodKey, str]) \
        -> Tuple[Dict[PodKey, Readings], Dict[PodKey, str]]:
    """The two reads of each proxy parsed, as `summarize` takes them; a text that does not parse adds
    its reason to (a copy of) `errors`."""
    readings: Dict[PodKey, Readings] = {}
    errors = dict(errors)
    for key, (first, first_at, second, second_at) in texts.items():
        try:
            readings[key] = Readings(parse(first), first_at, parse(second), second_at)
        except MetricsTextError as exc:
            errors[key] = f"the proxy's /metrics is {exc}"
    return readings, errors
