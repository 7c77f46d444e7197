"""Do the proxies' metrics arrive in the backend? The pure half: which workloads the collector scrapes, by
which labels the backend knows them, the PromQL that asks for their newest samples, and what the answers
mean. The HTTP lives in cluster/query.py; the check in checks/backend.py.

The labels are read from the collector config, not from a fixed list: each proxy target's discovered labels
are relabeled once more with the namespace, the pod name and the owner label replaced by a probe value, and
the final labels that carry the probe are the ones the backend holds that value under (`namespace`, `pod`,
`deployment` with our install; whatever a hand-written config maps them to).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from .sd import POD, sanitize
from .targets import COMPLETED, Simulation, is_proxy_admin

# The proxy's request counter, as Prometheus text has it (`request_total`), and the name an OTLP hop may
# leave: the collector's prometheus receiver may trim `_total` from counters (feature gate
# pkg.translator.prometheus.NormalizeName), and a backend that stores OTLP names as they come (Prometheus'
# otlp translation strategy NoTranslation, OpenObserve) keeps that; backends translating OTLP back to
# Prometheus names (UnderscoreEscapingWithSuffixes, the default) add `_total` again.
def arrived_name(name: str, trimmed_total: bool = False) -> str:
    """A Prometheus metric name as the backend holds it after the OpenTelemetry hop: the same, or, when
    the receiver trims `_total` and the backend keeps OTLP names, without it (see above)."""
    return name[:-len("_total")] if trimmed_total and name.endswith("_total") else name


METRIC_VARIANTS = (arrived_name("request_total"), arrived_name("request_total", trimmed_total=True))
# The labels our install's relabeling gives every proxy series (render/collector_config.py): the namespace,
# the pod, and the owner kind named by Linkerd's label (`deployment`, `statefulset`, ...: OWNER_KINDS);
# `plan` prefers them when a hand-written config maps a value to several labels.
NAMESPACE_LABEL, POD_LABEL = "namespace", "pod"
FRESH_SECONDS = 300           # "recent": a sample within the last 5 minutes
WINDOW_SECONDS = 3600         # how far back a stale workload's newest sample is looked for
STEP_SECONDS = 60

# Linkerd's owner labels on meshed pods (linkerd2 controller/k8s labels: linkerd.io/proxy-<kind>); the first
# present names the workload (a CronJob's pods carry proxy-job too, a Deployment's proxy-replicaset maybe).
OWNER_KINDS = ("deployment", "statefulset", "daemonset", "cronjob", "job", "replicationcontroller",
               "replicaset")
_PROBE = "linkerd-otel-probe-0f3a9c"
_NAMESPACE, _POD_NAME = "__meta_kubernetes_namespace", f"{POD}name"
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass
class Workload:
    namespace: str
    kind: str                 # deployment, statefulset, ..., or "pod" for a pod without an owner label
    name: str
    pods: List[str] = field(default_factory=list)
    selector: Dict[str, str] = field(default_factory=dict)   # backend label -> value

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"


@dataclass
class Plan:
    workloads: List[Workload] = field(default_factory=list)
    group_by: List[str] = field(default_factory=list)    # the labels the query groups by
    jobs: List[str] = field(default_factory=list)
    problem: str = ""         # why the backend cannot be asked (no label tells the workloads apart)

    def queries(self) -> Dict[str, str]:
        """variant -> PromQL: per group, the timestamp of the newest sample (query_range over the window)."""
        by = ", ".join(self.group_by)
        return {name: f"max by ({by}) (timestamp({name}))" for name in METRIC_VARIANTS}


def owner(pod: dict) -> Tuple[str, str]:
    """(kind, name) of a meshed pod's workload from Linkerd's labels; ("pod", its name) without one."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    for kind in OWNER_KINDS:
        if labels.get(f"linkerd.io/proxy-{kind}"):
            return kind, labels[f"linkerd.io/proxy-{kind}"]
    return "pod", (pod.get("metadata") or {}).get("name") or ""


def _carriers(target, source: str, value: str) -> List[str]:
    """The final label names that carry the discovered label `source` after the job's relabeling."""
    labels = target.discovered()
    if source not in labels:
        return []
    labels[source] = _PROBE
    if target.job.rules.process(labels) is None:
        return sorted(k for k, v in labels.items() if v == _PROBE and not k.startswith("__")
                      and k not in ("job", "instance"))
    # the probe value itself was dropped (a keep on that label): fall back to the labels holding the value
    final = target.labels or {}
    return sorted(k for k, v in final.items() if v == value and not k.startswith("__")
                  and k not in ("job", "instance"))


def _pick(names: List[str], preferred: str) -> str:
    if preferred in names:
        return preferred
    usable = [n for n in names if _LABEL_NAME.match(n)]
    return usable[0] if usable else ""


def plan(sim: Simulation, namespace_filter: Sequence[str] = ()) -> Plan:
    """The workloads whose proxies the proxy jobs scrape (completed pods left out), each with the backend
    labels that identify it."""
    result = Plan()
    by_ref: Dict[Tuple[str, str, str], Workload] = {}
    unidentified: List[str] = []
    group: Dict[str, None] = {}
    for job in sim.jobs:
        if not job.proxy_job:
            continue
        for target in job.active:
            pt = target.pod
            if pt is None or not is_proxy_admin(target.info) or pt.phase in COMPLETED:
                continue
            if namespace_filter and pt.namespace not in namespace_filter:
                continue
            if job.job.name not in result.jobs:
                result.jobs.append(job.job.name)
            kind, name = owner(pt.pod)
            ns_label = _pick(_carriers(target, _NAMESPACE, pt.namespace), NAMESPACE_LABEL)
            selector = {ns_label: pt.namespace} if ns_label else {}
            workload_label = ""
            if kind != "pod":
                source = f"{POD}label_{sanitize('linkerd.io/proxy-' + kind)}"
                workload_label = _pick(_carriers(target, source, name), kind)
            if workload_label:
                selector[workload_label] = name
            else:
                pod_label = _pick(_carriers(target, _POD_NAME, pt.name), POD_LABEL)
                if not pod_label:
                    unidentified.append(f"{pt.namespace}/{pt.name}")
                    continue
                kind, name = "pod", pt.name
                selector[pod_label] = pt.name
            key = (pt.namespace, kind, name)
            workload = by_ref.get(key)
            if workload is None:
                workload = by_ref[key] = Workload(pt.namespace, kind, name, selector=selector)
            workload.pods.append(pt.name)
            for label in selector:
                group.setdefault(label, None)
    result.workloads = sorted(by_ref.values(), key=lambda w: w.ref)
    result.group_by = list(group)
    if unidentified and not result.workloads:
        result.problem = ("the proxy job sets no label naming the pod or its workload, so the backend cannot "
                          "tell them apart: add `- {source_labels: [__meta_kubernetes_pod_name], target_label: "
                          "pod}` (and one for the namespace) to its relabel_configs")
    return result


# -- answers ---------------------------------------------------------------------------------------
class AnswerError(ValueError):
    """An answer that is not a Prometheus API success (the text says what it was instead)."""


def series_of(answer: Any) -> List[Tuple[Dict[str, str], float]]:
    """(labels, newest timestamp in seconds) per series of a query_range (matrix) or query (vector)
    answer. Raises AnswerError for an answer of another shape."""
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else ""
        raise AnswerError(str(error or "not a Prometheus API answer"))
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise AnswerError("the answer has no data.result list")
    out = []
    for item in data["result"]:
        if not isinstance(item, dict):
            continue
        metric = item.get("metric") if isinstance(item.get("metric"), dict) else {}
        points = item.get("values") if isinstance(item.get("values"), list) else (
            [item["value"]] if isinstance(item.get("value"), list) else [])
        newest = None
        for point in points:
            try:
                value = float(point[1])
            except (TypeError, ValueError, IndexError):
                continue
            if math.isfinite(value) and (newest is None or value > newest):
                newest = value
        if newest is not None:
            out.append(({str(k): str(v) for k, v in metric.items()}, newest))
    return out


@dataclass
class Verdict:
    metric: str = ""                          # the name variant that matched ("" when none did)
    fresh: List[Workload] = field(default_factory=list)
    stale: List[Tuple[Workload, float]] = field(default_factory=list)    # with the newest sample's age (s)
    missing: List[Workload] = field(default_factory=list)


def judge(workloads: Iterable[Workload], answers: Dict[str, Any], now: float) -> Verdict:
    """Which workloads have recent samples, old ones only, or none, under the first name variant (in
    METRIC_VARIANTS order) for which the backend holds any series of the scraped workloads."""
    workloads = list(workloads)
    verdict = Verdict(missing=list(workloads))
    for name in METRIC_VARIANTS:
        if name not in answers:
            continue
        series = series_of(answers[name])
        newest: Dict[str, float] = {}
        for workload in workloads:
            for labels, ts in series:
                if all(labels.get(k) == v for k, v in workload.selector.items()):
                    newest[workload.ref] = max(ts, newest.get(workload.ref, ts))
        if not newest:
            continue
        verdict.metric = name
        verdict.missing = [w for w in workloads if w.ref not in newest]
        for workload in workloads:
            if workload.ref not in newest:
                continue
            age = max(0.0, now - newest[workload.ref])
            if age <= FRESH_SECONDS:
                verdict.fresh.append(workload)
            else:
                verdict.stale.append((workload, age))
        break
    return verdict


def age_text(seconds: float) -> str:
    seconds = int(seconds)
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds // 60}m"
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<head" in head


def parse_answer(status: int, text: str, content_type: str = "") -> Any:
    """A query API's HTTP answer as JSON, or AnswerError saying what came instead (and what to do)."""
    if status in (401, 403):
        raise AnswerError(f"HTTP {status}: the query API refused the credentials; check "
                          "--query-basic-auth-from-env / --query-header (the backend's user and password or "
                          "token)")
    if status == 404:
        raise AnswerError("HTTP 404: no query API at this URL; --query-url is the base before /api/v1/query "
                          "(OpenObserve: http://HOST:5080/api/ORG/prometheus)")
    if looks_like_html(text) or "html" in content_type.lower():
        raise AnswerError(f"HTTP {status}: the answer is an HTML page, not the Prometheus API: --query-url "
                          "points at a UI or a login page, not at the base before /api/v1/query")
    try:
        doc = json.loads(text)
    except ValueError:
        first = text.strip().splitlines()[0][:120] if text.strip() else "an empty body"
        raise AnswerError(f"HTTP {status}: not a Prometheus API answer ({first!r})") from None
    if not isinstance(doc, dict):
        raise AnswerError(f"HTTP {status}: not a Prometheus API answer")
    if doc.get("status") != "success":
        raise AnswerError(f"HTTP {status}: {doc.get('errorType') or 'error'}: {doc.get('error') or doc}")
    return doc
