"""Everything `check` needs from the cluster, gathered concurrently into one plain object.

Each gather step records its error instead of raising, so a 403 or a timeout becomes a failed check that
names what could not be read. A snapshot can be saved (secrets redacted) and checked offline.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional

from . import naming
from .checks.common import COLLECTOR_STEP, READS_STEP
from .checks.policy import POLICY_STEPS
from .collector.locate import collector_container, locate, selects, template_spec

FORMAT = "kubectl-linkerd-otel/snapshot/v1"
LOG_TAIL_LINES = 2000
LOG_SINCE_SECONDS = 3600
EXTENSION_SELECTOR = f"{naming.EXTENSION_LABEL}={naming.EXTENSION_NAME}"


@dataclass
class Snapshot:
    collector_namespace: str = naming.DEFAULT_NAMESPACE
    collector_namespace_source: str = "default"      # flag | extension-label | default
    linkerd_namespace_hint: str = ""                  # --linkerd-namespace as Linkerd passed it
    client_error: str = ""                            # the client could not be built at all
    errors: Dict[str, str] = field(default_factory=dict)   # gather step -> what went wrong
    # gather step -> whether its error may go away by itself (timeout, 5xx, 429, connection): --wait
    # retries those; a 401/403/404 is reported at once
    transient_errors: Dict[str, bool] = field(default_factory=dict)
    version: Optional[dict] = None
    namespaces: List[dict] = field(default_factory=list)
    pods: List[dict] = field(default_factory=list)
    workloads: List[dict] = field(default_factory=list)      # deployments + daemonsets in the collector ns
    configmaps: List[dict] = field(default_factory=list)     # collector ns
    service_accounts: List[dict] = field(default_factory=list)
    cluster_role_bindings: List[dict] = field(default_factory=list)
    cluster_roles: List[dict] = field(default_factory=list)
    servers: List[dict] = field(default_factory=list)
    authorization_policies: List[dict] = field(default_factory=list)
    http_routes: List[dict] = field(default_factory=list)               # httproutes.policy.linkerd.io
    meshtls_authentications: List[dict] = field(default_factory=list)
    network_authentications: List[dict] = field(default_factory=list)
    services: List[dict] = field(default_factory=list)        # exporter Services
    endpoint_slices: List[dict] = field(default_factory=list)
    access_reviews: List[dict] = field(default_factory=list)  # {verb, resource, namespace, allowed, reason}
    logs: Dict[str, str] = field(default_factory=dict)        # pod -> text
    self_metrics: Dict[str, List[str]] = field(default_factory=dict)   # pod -> [first, second]
    self_metrics_errors: Dict[str, str] = field(default_factory=dict)
    receiver_targets: Dict[str, Any] = field(default_factory=dict)     # pod -> /api/v1/targets JSON
    receiver_targets_errors: Dict[str, str] = field(default_factory=dict)
    exporter_probes: Dict[str, str] = field(default_factory=dict)     # endpoint -> "" ok or error
    collector_workload: str = ""      # kind/name picked
    collector_configmap: str = ""
    collector_config_key: str = ""
    metrics_interval: float = 0.0
    taken_at: float = 0.0             # epoch seconds; "restarts in the last hour" is relative to it

    # -- convenient views -------------------------------------------------------------------------
    def namespace(self, name: str) -> Optional[dict]:
        return next((n for n in self.namespaces if n["metadata"]["name"] == name), None)

    def workload(self) -> Optional[dict]:
        for obj in self.workloads:
            if f"{obj.get('kind')}/{obj['metadata']['name']}" == self.collector_workload:
                return obj
        return None

    def config_text(self) -> Optional[str]:
        for cm in self.configmaps:
            if cm["metadata"]["name"] == self.collector_configmap:
                data = cm.get("data") or {}
                for key in (self.collector_config_key, naming.CONFIG_KEY, "config.yaml", "collector.yaml", "relay"):
                    if key in data:
                        return data[key]
                return next(iter(data.values()), None)
        return None

    def collector_pods(self) -> List[dict]:
        obj = self.workload()
        if obj is None:
            return []
        return [p for p in self.pods if selects(obj, p)]

    def service_account_name(self) -> str:
        spec = template_spec(self.workload() or {})
        return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"

    # -- files ------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    def save(self, path: str) -> None:
        from .inputs import write_text

        write_text(path, json.dumps(redact(self.to_dict()), indent=1, sort_keys=True), what="snapshot")

    @classmethod
    def from_dict(cls, data: dict) -> "Snapshot":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: str) -> "Snapshot":
        from .errors import UsageError
        from .inputs import read_text

        fix = "pass a file written by --save-snapshot"
        text = read_text(path, what="snapshot", fix=fix)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"cannot read snapshot {path}: not JSON ({exc}); {fix}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UsageError(f"{path} is not a linkerd-otel snapshot; {fix}")
        wrong = _mistyped_fields(data)
        if wrong:
            raise UsageError(f"snapshot {path} is damaged (field {wrong!r} has the wrong type); {fix}")
        return cls.from_dict(data)


def _mistyped_fields(data: dict) -> str:
    """The first field whose value is not of the type the dataclass default has (a damaged file)."""
    for f in fields(Snapshot):
        if f.name not in data:
            continue
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        value = data[f.name]
        if default is None:          # Optional[dict]
            ok = value is None or isinstance(value, dict)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(default))
        if ok and isinstance(value, list):   # every list field holds objects (Kubernetes ones have metadata)
            ok = all(isinstance(item, dict) and (f.name == "access_reviews" or isinstance(item.get("metadata"), dict))
                     for item in value)
        if not ok:
            return f.name
    return ""


# -- redaction -----------------------------------------------------------------------------------
REDACTED = "<redacted>"
_SECRET_NAME = re.compile(r"(password|passwd|token|secret|api[-_]?key|authorization|credential)", re.I)
_SECRET_LINE = re.compile(
    r"(?im)^(\s*[\"']?(?:authorization|password|passwd|token|bearer_token|api[-_]?key|x-api-key|secret)[\"']?\s*:\s*)(.+)$")
_BASIC = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]{8,}")


def _redact_text(text: str) -> str:
    def repl(match):
        value = match.group(2).strip()
        if re.fullmatch(r"[\"']?\$\{[^}]+\}[\"']?", value):
            return match.group(0)
        return match.group(1) + REDACTED
    from .collector.logs import redact as redact_credentials

    # keyed lines first (YAML), then credentials anywhere (JSON-style fields, URL user:password)
    return redact_credentials(_BASIC.sub(lambda m: f"{m.group(1)} {REDACTED}", _SECRET_LINE.sub(repl, text)))


def redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if value.get("kind") == "Secret" and "data" in value:
            value = dict(value, data={k: REDACTED for k in value.get("data") or {}})
        if "name" in value and "value" in value and _SECRET_NAME.search(str(value.get("name"))):
            value = dict(value, value=REDACTED)
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key == "last-applied-configuration" or key.endswith("last-applied-configuration"):
            return REDACTED
        return _redact_text(value)
    return value


# -- gathering ------------------------------------------------------------------------------------
def describe_error(exc: BaseException) -> str:
    status = getattr(exc, "status", 0)
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{text} (HTTP {status})" if status else text


def is_transient(exc: BaseException) -> bool:
    """May this failure go away by itself (a timeout, a dropped connection, a 5xx or 429)? A refusal
    (401/403), a missing object (404) or a bad answer will not."""
    from .errors import ApiStatusError, ApiTimeout, ApiUnreachable, Gone

    if isinstance(exc, (ApiTimeout, ApiUnreachable, Gone, TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, ApiStatusError):
        return exc.status == 429 or exc.status >= 500
    return False


def record_error(snap: "Snapshot", step: str, exc: BaseException) -> None:
    from .errors import PluginError

    snap.errors[step] = describe_error(exc) if isinstance(exc, PluginError) or getattr(exc, "status", 0) \
        else f"{type(exc).__name__}: {exc}"
    snap.transient_errors[step] = is_transient(exc)


def _run_steps(steps: Dict[str, Callable[[], Any]], snap: Snapshot, workers: int = 8) -> Dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    results: Dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(steps)))) as pool:
        futures = {name: pool.submit(step) for name, step in steps.items()}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except Exception as exc:  # every failure becomes data for a check
                record_error(snap, name, exc)
    return results


def choose_collector(snap: Snapshot) -> None:
    """Pick the collector workload and ConfigMap the way `targets` does (collector/locate.py).
    Nothing found leaves both empty: the collector checks say what they looked for."""
    found = locate(deployments=[w for w in snap.workloads if w.get("kind") == "Deployment"],
                   daemonsets=[w for w in snap.workloads if w.get("kind") == "DaemonSet"],
                   configmaps=snap.configmaps)
    if found is None:
        return
    if found.workload is not None:
        snap.collector_workload = f"{found.kind}/{found.name}"
    if found.configmap is not None:
        snap.collector_configmap = found.configmap_name
        snap.collector_config_key = found.config_key


def _kinded(items: List[dict], kind: str) -> List[dict]:
    for item in items:
        item.setdefault("kind", kind)
    return items


def gather(kube: Any, *, namespace: str, namespace_source: str = "flag", linkerd_namespace: str = "",
           metrics_interval: float = 3.0, probe_exporter: bool = False, data_namespaces=None,
           log_since_seconds: Optional[int] = LOG_SINCE_SECONDS) -> Snapshot:
    """Read everything the checks need. Never raises for cluster errors: they land in `snap.errors`."""
    snap = Snapshot(collector_namespace=namespace, collector_namespace_source=namespace_source,
                    linkerd_namespace_hint=linkerd_namespace, metrics_interval=metrics_interval,
                    taken_at=time.time())
    try:
        snap.version = kube.version()
    except Exception as exc:
        record_error(snap, "version", exc)
        return snap   # nothing else will answer either

    if namespace_source != "flag":
        try:
            labelled = kube.list("namespaces", label_selector=EXTENSION_SELECTOR)
            if labelled:
                snap.collector_namespace = labelled[0]["metadata"]["name"]
                snap.collector_namespace_source = "extension-label"
        except Exception as exc:
            record_error(snap, "extension-namespace", exc)
    ns = snap.collector_namespace

    first = _run_steps({
        "namespaces": lambda: kube.list("namespaces"),
        "pods": lambda: kube.list("pods"),
        "deployments": lambda: _kinded(kube.list("deployments", ns), "Deployment"),
        "daemonsets": lambda: _kinded(kube.list("daemonsets", ns), "DaemonSet"),
        "configmaps": lambda: kube.list("configmaps", ns),
        "serviceaccounts": lambda: kube.list("serviceaccounts", ns),
        "clusterrolebindings": lambda: kube.list("clusterrolebindings"),
        "clusterroles": lambda: kube.list("clusterroles"),
        "servers": lambda: kube.list("servers.policy.linkerd.io"),
        "authorizationpolicies": lambda: kube.list("authorizationpolicies.policy.linkerd.io"),
        "httproutes": lambda: kube.list("httproutes.policy.linkerd.io"),
        "meshtlsauthentications": lambda: kube.list("meshtlsauthentications.policy.linkerd.io"),
        "networkauthentications": lambda: kube.list("networkauthentications.policy.linkerd.io"),
    }, snap)
    snap.namespaces = first.get("namespaces") or []
    snap.pods = first.get("pods") or []
    snap.workloads = (first.get("deployments") or []) + (first.get("daemonsets") or [])
    snap.configmaps = first.get("configmaps") or []
    snap.service_accounts = first.get("serviceaccounts") or []
    snap.cluster_role_bindings = first.get("clusterrolebindings") or []
    snap.cluster_roles = first.get("clusterroles") or []
    snap.servers = first.get("servers") or []
    snap.authorization_policies = first.get("authorizationpolicies") or []
    snap.http_routes = first.get("httproutes") or []
    snap.meshtls_authentications = first.get("meshtlsauthentications") or []
    snap.network_authentications = first.get("networkauthentications") or []
    # Linkerd's CRDs may be absent: that is an empty list, not a gather failure.
    for optional in POLICY_STEPS:
        if "(HTTP 404)" in snap.errors.get(optional, ""):
            snap.errors.pop(optional)
    try:
        choose_collector(snap)
    except Exception as exc:   # malformed objects: a failed check names it, the report goes on
        record_error(snap, COLLECTOR_STEP, exc)
        return snap
    try:
        _gather_second(kube, snap, metrics_interval, probe_exporter, data_namespaces, log_since_seconds)
    except Exception as exc:
        record_error(snap, READS_STEP, exc)
    return snap


def _gather_second(kube: Any, snap: Snapshot, interval: float, probe_exporter: bool, data_namespaces,
                   log_since_seconds: Optional[int]) -> None:
    from .checks.collector import review_namespaces
    from .checks.common import safe_facts
    from .collector import facts as facts_mod

    ns = snap.collector_namespace
    facts = safe_facts(snap)
    pods = [p for p in snap.collector_pods() if (p.get("status") or {}).get("phase") == "Running"]
    user = f"system:serviceaccount:{ns}:{snap.service_account_name()}"
    steps: Dict[str, Callable[[], Any]] = {}

    for pod in pods:
        name = pod["metadata"]["name"]
        container = (collector_container(pod.get("spec") or {}) or {}).get("name")
        steps[f"logs/{name}"] = (lambda n=name, c=container: kube.pod_logs(
            ns, n, container=c, tail_lines=LOG_TAIL_LINES, since_seconds=log_since_seconds))
        if facts_mod.binds_pod_ip(facts.self_metrics):
            steps[f"metrics/{name}"] = lambda n=name: _two_reads(kube, ns, n, facts.self_metrics[1], interval)
        if facts_mod.binds_pod_ip(facts.receiver_api):
            steps[f"targets/{name}"] = lambda n=name: _targets_or_reason(kube, ns, n, facts.receiver_api[1])

    if snap.workload() is not None:
        # where the SD configs list and watch pods: the cluster scope ("") unless they name namespaces
        for target_ns in review_namespaces(snap):
            for verb in ("get", "list", "watch"):
                steps[f"access/pods/{verb}/{target_ns}"] = (
                    lambda v=verb, t=target_ns: _review(kube, user, v, "pods", t or None))
        for verb, resource in (("get", "secrets"), ("list", "secrets"), ("create", "pods"), ("delete", "pods")):
            steps[f"access/{resource}/{verb}"] = (lambda v=verb, r=resource: _review(kube, user, v, r, None))

    services = {}
    for exporter in facts.exporters:
        target = facts_mod.cluster_service(exporter.endpoint)
        if target:
            svc_ns = target[1] or ns
            services[(target[0], svc_ns)] = True
        elif probe_exporter and exporter.endpoint:
            steps[f"probe/{exporter.endpoint}"] = lambda e=exporter: _probe(e)
    for (svc, svc_ns) in services:
        steps[f"service/{svc_ns}/{svc}"] = lambda s=svc, n=svc_ns: kube.get_or_none("services", s, n)
        steps[f"endpointslices/{svc_ns}/{svc}"] = (lambda s=svc, n=svc_ns: kube.list(
            "endpointslices", n, label_selector=f"kubernetes.io/service-name={s}"))

    results = _run_steps(steps, snap, workers=16)
    for key, value in results.items():
        kind, _, rest = key.partition("/")
        if kind == "logs":
            snap.logs[rest] = value or ""
        elif kind == "metrics":
            if isinstance(value, str):
                snap.self_metrics_errors[rest] = value
            else:
                snap.self_metrics[rest] = value
        elif kind == "targets":
            if isinstance(value, str):
                snap.receiver_targets_errors[rest] = value
            else:
                snap.receiver_targets[rest] = value
        elif kind == "access":
            snap.access_reviews.append(value)
        elif kind == "service" and value:
            snap.services.append(value)
        elif kind == "endpointslices":
            snap.endpoint_slices.extend(value or [])
        elif kind == "probe":
            snap.exporter_probes[rest] = value
    for key in list(snap.errors):
        kind, _, rest = key.partition("/")
        if kind == "metrics":
            snap.self_metrics_errors[rest] = snap.errors.pop(key)
        elif kind == "targets":
            snap.receiver_targets_errors[rest] = snap.errors.pop(key)
        elif kind == "probe":
            snap.exporter_probes[rest] = snap.errors.pop(key)


def _review(kube: Any, user: str, verb: str, resource: str, namespace: Optional[str]) -> dict:
    answer = kube.access_review(user=user, verb=verb, resource=resource, namespace=namespace)
    return {"verb": verb, "resource": resource, "namespace": namespace or "",
            "allowed": bool(answer.allowed), "reason": getattr(answer, "reason", "") or ""}


def _proxy_text(kube: Any, ns: str, pod: str, port: int, path: str):
    response = kube.proxy_get(ns, pod, port, path)
    if response.status != 200:
        return f"GET {path} on port {port} answered HTTP {response.status}"
    return [response.text]


def _targets_or_reason(kube: Any, ns: str, pod: str, port: int):
    """The pod's targets document, or why it is not one (a str); cluster errors propagate to the step."""
    from .collector_io import TargetsUnreadable, read_targets

    try:
        return read_targets(kube, ns, pod, port)
    except TargetsUnreadable as exc:
        return str(exc)


def _two_reads(kube: Any, ns: str, pod: str, port: int, interval: float):
    first = _proxy_text(kube, ns, pod, port, "/metrics")
    if isinstance(first, str):
        return first
    time.sleep(max(0.0, interval))
    second = _proxy_text(kube, ns, pod, port, "/metrics")
    if isinstance(second, str):
        return second
    return first + second


def _probe(exporter: Any) -> str:
    """Open a TCP (and TLS unless tls.insecure) connection from the workstation. "" when it worked."""
    import socket
    import ssl

    from .collector.facts import endpoint_hostport

    host, port = endpoint_hostport(exporter.endpoint)
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            if not exporter.insecure:
                context = ssl.create_default_context()
                with context.wrap_socket(sock, server_hostname=host):
                    pass
    except (OSError, ssl.SSLError) as exc:
        return f"cannot connect to {host}:{port}: {exc}"
    return ""
