"""The Snapshot: what was read from the cluster, views the checks share, and its file format (secrets
redacted). Each gather step records its error instead of raising (in `errors`, keyed by steps.py), so a
403 or a timeout becomes a failed check that names what could not be read."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional

from .. import naming
from ..collector.locate import config_key, locate, selects, static_env, template_spec
from ..k8s.podshape import pod_problem

FORMAT = "kubectl-linkerd-otel/snapshot/v1"


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
    target_metrics: Dict[str, str] = field(default_factory=dict)   # "job/ns/pod" -> a target's /metrics
    target_metrics_errors: Dict[str, str] = field(default_factory=dict)
    exporter_probes: Dict[str, str] = field(default_factory=dict)     # endpoint -> "" ok or error
    # `check --probe-exporter`: OTLP/HTTP exporter -> the empty export's answer (cluster/otlp_proof.py):
    # {outcome, url, status, words}, never a credential
    exporter_proofs: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    backend: Dict[str, Any] = field(default_factory=dict)   # the query API's answers (cluster/query.py)
    collector_workload: str = ""      # kind/name picked
    collector_configmap: str = ""
    collector_config_key: str = ""
    metrics_interval: float = 0.0
    taken_at: float = 0.0             # epoch seconds; "restarts in the last hour" is relative to it
    operator: Dict[str, Any] = field(default_factory=dict)   # --mode operator: cluster/operator.read_state
    # `stat`: two reads of every meshed running pod's proxy, "ns/pod" -> {first, first_at, second, second_at}
    # (golden families' lines only; epoch seconds); None: not read (the file has no data for `stat`)
    proxy_metrics: Optional[Dict[str, Any]] = None
    proxy_metrics_errors: Dict[str, str] = field(default_factory=dict)    # "ns/pod" -> why it was not read

    # -- convenient views -------------------------------------------------------------------------
    def step_errors(self, kind: str) -> Dict[str, str]:
        """The failed per-object steps of one kind: rest of the key -> error."""
        prefix = kind + "/"
        return {key[len(prefix):]: error for key, error in self.errors.items() if key.startswith(prefix)}

    def collector_facts(self):
        """The collector config's facts (collector/facts.py), worked out once; a failure to work them out
        is a parse error naming it, never raised."""
        cache = self.__dict__.get("_facts_cache")
        if cache is None:
            # lazy: collector/facts and scrape/config (~20 ms) serve check and targets, never stat
            from ..collector import facts as facts_mod

            try:
                cache = facts_mod.extract(self.config_text(), static_env(self.workload()))
            except Exception as exc:   # malformed objects: say what could not be read
                cache = facts_mod.CollectorFacts(
                    parse_error=f"could not read the collector config: {type(exc).__name__}: {exc}")
            self.__dict__["_facts_cache"] = cache
        return cache

    def namespace(self, name: str) -> Optional[dict]:
        return next((n for n in self.namespaces if n["metadata"]["name"] == name), None)

    def workload(self) -> Optional[dict]:
        for obj in self.workloads:
            if f"{obj.get('kind')}/{obj['metadata']['name']}" == self.collector_workload:
                return obj
        return None

    def config_text(self) -> Optional[str]:
        if self.operator.get("config_text") is not None:
            return self.operator["config_text"]
        for cm in self.configmaps:
            if cm["metadata"]["name"] == self.collector_configmap:
                data = cm.get("data") or {}
                # the key locate chose; else what it would choose; else the only text there is, so that a
                # broken config is reported as broken rather than as missing
                key = self.collector_config_key if self.collector_config_key in data else \
                    (config_key(cm) or next(iter(data), None))
                return data.get(key) if key else None
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

    @classmethod
    def from_dict(cls, data: dict) -> "Snapshot":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def damaged(data: dict) -> str:
    """Why a snapshot's data cannot be used, "" when it can: a field of the wrong type, or a pod whose
    fields have the wrong types. Pods are checked at this edge as the live path checks the API server's
    (apiclient/answers.py, k8s/podshape.pod_problem), so `check`, `targets` and `stat` see the same shapes
    from a file as from a cluster."""
    wrong = _mistyped_fields(data)
    if wrong:
        return f"field {wrong!r} has the wrong type"
    for pod in data.get("pods") or ():
        problem = pod_problem(pod)
        if problem:
            return problem
    return ""


def _mistyped_fields(data: dict) -> str:
    """The first field whose value is not of the type the dataclass default has (a damaged file)."""
    for f in fields(Snapshot):
        if f.name not in data:
            continue
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        value = data[f.name]
        if default is None:          # Optional[dict]
            ok = value is None or isinstance(value, dict)
        elif isinstance(default, float):    # finite: Python's json reads NaN and Infinity too
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, type(default))
        if ok and isinstance(value, list):   # every list field holds objects (Kubernetes ones have metadata)
            ok = all(isinstance(item, dict) and (f.name == "access_reviews" or isinstance(item.get("metadata"), dict))
                     for item in value)
        if not ok:
            return f.name
    return ""



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


def review_namespaces(snap: Snapshot) -> List[str]:
    """Where the collector's pod discovery lists and watches pods, as the access reviews ask: "" for the
    cluster scope (an SD config without `namespaces:` watches every namespace), else the namespaces the SD
    configs name. [] when no scrape job discovers pods. A config that cannot be read: the cluster scope."""
    # lazy: collector/facts and scrape/config (~20 ms) serve check and targets, never stat
    from ..scrape.config import scrape_jobs

    config = snap.collector_facts().config
    if config is None:
        return [""]
    try:
        jobs = scrape_jobs(config, static_env(snap.workload()))
    except ValueError:
        return [""]
    names: List[str] = []
    for job in jobs:
        for sd in job.sd_configs:
            listed = sd.namespace_list(snap.collector_namespace)
            if listed is None:
                return [""]
            names.extend(n for n in listed if n not in names)
    return sorted(names)
