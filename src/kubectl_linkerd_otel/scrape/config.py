"""The scrape jobs of a collector config (pure): every `prometheus` receiver's `config.scrape_configs`,
with Prometheus' defaults and the receiver's `global` section applied, relabel rules compiled once.

The collector reads its config through its own variable expansion first: `${env:VAR}` (or `${VAR}`)
is replaced by the environment variable and `$$` stands for a literal `$`. `unescape` does the same
(with the environment of one collector pod when we know it, else leaving `${env:...}` in place), so the
rules we compile are the ones Prometheus receives. A lone `$1` is passed through unchanged: current
collectors leave it alone (older ones replaced it with an empty string; `check` warns about it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..collector.config import ENV_REF, component_type
from ..collector.facts import receiver_api_endpoint
from .relabel import RelabelConfigError, Rules, compile_rules
from .sd import SDConfig, SelectorError

DEFAULT_SCRAPE_INTERVAL = "1m"
DEFAULT_SCRAPE_TIMEOUT = "10s"
DEFAULT_METRICS_PATH = "/metrics"
DEFAULT_SCHEME = "http"

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNITS_MS = (("y", 365 * 86400000, True), ("w", 7 * 86400000, True), ("d", 86400000, False),
             ("h", 3600000, False), ("m", 60000, False), ("s", 1000, False), ("ms", 1, False))
_FACTORS = (365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1)


class ScrapeConfigError(ValueError):
    """A scrape config Prometheus (so the collector) would refuse; the message names the job."""


def parse_duration(text: Any, what: str = "duration") -> int:
    """Prometheus model.ParseDuration -> milliseconds (`1h30m`, `10s`, `0`)."""
    if isinstance(text, bool) or text is None:
        raise ScrapeConfigError(f"not a valid duration string: {text!r} ({what})")
    text = str(text)
    if text == "0":
        return 0
    m = _DURATION.match(text)
    if not text or not m:
        raise ScrapeConfigError(f"not a valid duration string: {text!r} ({what})")
    return sum(int(g) * f for g, f in zip(m.groups(), _FACTORS) if g)


def format_duration(ms: int) -> str:
    """Prometheus model.Duration.String(): 60000 -> `1m`, 90000 -> `1m30s`, 0 -> `0s`."""
    if ms == 0:
        return "0s"
    out = []
    for unit, mult, exact in _UNITS_MS:
        if exact and ms % mult:
            continue
        value = ms // mult
        if value > 0:
            out.append(f"{value}{unit}")
            ms -= value * mult
    return "".join(out)


def unescape(value: Any, env: Optional[Dict[str, str]] = None) -> Any:
    """The collector's own expansion of a config value: `$$` -> `$`, `${env:VAR}` -> its value."""
    if isinstance(value, dict):
        return {k: unescape(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape(v, env) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    out, i, n = [], 0, len(value)
    while i < n:
        ch = value[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        if value.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        m = ENV_REF.match(value, i)
        if m and env is not None and (m.group(1) in env or m.group(2) is not None):
            out.append(env.get(m.group(1), m.group(2) or ""))
            i = m.end()
            continue
        if m:
            out.append(m.group(0))     # unresolved: kept for the SD layer to notice
            i = m.end()
            continue
        out.append("$")
        i += 1
    return "".join(out)


@dataclass
class StaticGroup:
    targets: List[str]
    labels: Dict[str, str]


@dataclass
class ScrapeJob:
    receiver: str
    name: str
    interval: str
    timeout: str
    metrics_path: str = DEFAULT_METRICS_PATH
    scheme: str = DEFAULT_SCHEME
    params: Dict[str, List[str]] = field(default_factory=dict)
    sd_configs: List[SDConfig] = field(default_factory=list)
    static_groups: List[StaticGroup] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)
    raw: dict = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    @property
    def pool(self) -> str:
        return self.name

    def defaults(self) -> List[Tuple[str, str]]:
        """Labels PopulateDiscoveredLabels adds when the discovered set lacks them."""
        out = [("job", self.name), ("__scrape_interval__", self.interval),
               ("__scrape_timeout__", self.timeout), ("__metrics_path__", self.metrics_path),
               ("__scheme__", self.scheme)]
        for key, values in self.params.items():
            if values:
                out.append(("__param_" + key, values[0]))
        return out


@dataclass
class Receiver:
    name: str
    jobs: List[ScrapeJob] = field(default_factory=list)
    api_server: Optional[str] = None        # endpoint when the receiver's API server is enabled
    notes: List[str] = field(default_factory=list)


def _mapping(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScrapeConfigError(f"{what} must be a mapping")
    return value


def _global(cfg: dict) -> Tuple[int, int]:
    g = _mapping(cfg.get("global"), "global")
    interval = parse_duration(g["scrape_interval"], "global scrape_interval") if g.get("scrape_interval") \
        is not None else 0
    if interval == 0:
        interval = parse_duration(DEFAULT_SCRAPE_INTERVAL)
    timeout = parse_duration(g["scrape_timeout"], "global scrape_timeout") if g.get("scrape_timeout") \
        is not None else 0
    if timeout > interval:
        raise ScrapeConfigError("global scrape timeout greater than scrape interval")
    if timeout == 0:
        default = parse_duration(DEFAULT_SCRAPE_TIMEOUT)
        timeout = interval if default > interval else default
    return interval, timeout


def _sd_config(raw: Any, where: str) -> Optional[SDConfig]:
    raw = _mapping(raw, f"{where}: kubernetes_sd_configs entry")
    role = str(raw.get("role") or "")
    if role != "pod":
        return None
    ns = _mapping(raw.get("namespaces"), f"{where}: namespaces")
    names = ns.get("names") or None
    sd = SDConfig(role="pod", namespaces=[str(n) for n in names] if names else None,
                  own_namespace=bool(ns.get("own_namespace")), raw=raw)
    for sel in raw.get("selectors") or ():
        sel = _mapping(sel, f"{where}: selectors entry")
        if str(sel.get("role") or "") != "pod":
            raise ScrapeConfigError(f"{where}: selector role {sel.get('role')!r} is not allowed for "
                                    f"role pod discovery")
        if sel.get("label"):
            sd.label_selector = ",".join(filter(None, [sd.label_selector, str(sel["label"])]))
        if sel.get("field"):
            sd.field_selector = ",".join(filter(None, [sd.field_selector, str(sel["field"])]))
    try:
        sd.compile()
    except SelectorError as exc:
        raise ScrapeConfigError(f"{where}: {exc}") from None
    return sd


def scrape_job(raw: dict, receiver: str, interval_ms: int, timeout_ms: int) -> ScrapeJob:
    raw = _mapping(raw, f"receiver {receiver}: scrape_configs entry")
    name = raw.get("job_name")
    if not name:
        raise ScrapeConfigError(f"receiver {receiver}: a scrape config has no job_name")
    name = str(name)
    where = f"job {name!r}"
    interval = parse_duration(raw["scrape_interval"], f"{where} scrape_interval") \
        if raw.get("scrape_interval") is not None else 0
    if interval == 0:
        interval = interval_ms
    timeout = parse_duration(raw["scrape_timeout"], f"{where} scrape_timeout") \
        if raw.get("scrape_timeout") is not None else 0
    if timeout > interval:
        raise ScrapeConfigError(f"scrape timeout greater than scrape interval for scrape config with job "
                                f"name {name!r}")
    if timeout == 0:
        timeout = interval if timeout_ms > interval else timeout_ms
    params = {}
    for key, values in _mapping(raw.get("params"), f"{where}: params").items():
        if isinstance(values, str):
            values = [values]
        params[str(key)] = [str(v) for v in values or []]
    job = ScrapeJob(receiver=receiver, name=name, interval=format_duration(interval),
                    timeout=format_duration(timeout),
                    metrics_path=str(raw.get("metrics_path") or DEFAULT_METRICS_PATH),
                    scheme=str(raw.get("scheme") or DEFAULT_SCHEME), params=params, raw=raw)
    for sd_raw in raw.get("kubernetes_sd_configs") or ():
        sd = _sd_config(sd_raw, where)
        if sd is None:
            job.notes.append(f"kubernetes_sd_configs role {(sd_raw or {}).get('role')!r} is not simulated "
                             f"(only role pod)")
            continue
        job.notes.extend(sd.notes)
        job.sd_configs.append(sd)
    for group in raw.get("static_configs") or ():
        group = _mapping(group, f"{where}: static_configs entry")
        job.static_groups.append(StaticGroup([str(t) for t in group.get("targets") or ()],
                                             {str(k): str(v) for k, v in
                                              _mapping(group.get("labels"), "labels").items()}))
    others = sorted(k for k in raw if k.endswith("_sd_configs") and k != "kubernetes_sd_configs" and raw[k])
    for key in others:
        job.notes.append(f"{key} targets are not simulated")
    try:
        job.rules = compile_rules(raw.get("relabel_configs"), where)
    except RelabelConfigError as exc:
        raise ScrapeConfigError(str(exc)) from None
    return job


def receivers(config: dict, env: Optional[Dict[str, str]] = None) -> List[Receiver]:
    """Every prometheus receiver of a parsed collector config, with its jobs. Raises ScrapeConfigError."""
    out: List[Receiver] = []
    for rname, body in _mapping(config.get("receivers"), "receivers").items():
        rname = str(rname)
        if component_type(rname) != "prometheus":
            continue
        body = unescape(body if isinstance(body, dict) else {}, env)
        rec = Receiver(rname, api_server=receiver_api_endpoint(body))
        if body.get("target_allocator"):
            rec.notes.append(f"receiver {rname} takes its targets from a target allocator: the jobs below "
                             f"show what its own service discovery would find")
        prom = _mapping(body.get("config"), f"receiver {rname}: config")
        interval, timeout = _global(prom)
        seen = set()
        for raw in prom.get("scrape_configs") or ():
            job = scrape_job(raw, rname, interval, timeout)
            if job.name in seen:
                raise ScrapeConfigError(f"found multiple scrape configs with job name {job.name!r}")
            seen.add(job.name)
            rec.jobs.append(job)
        out.append(rec)
    return out


def scrape_jobs(config: dict, env: Optional[Dict[str, str]] = None) -> List[ScrapeJob]:
    return [job for rec in receivers(config, env) for job in rec.jobs]


def config_text_from_document(doc: Any) -> Optional[str]:
    """The collector config inside a parsed YAML/JSON document: a ConfigMap (the key holding
    `receivers:`), a List of objects holding such a ConfigMap, or None when `doc` is itself a config."""
    if not isinstance(doc, dict):
        return None
    kind = doc.get("kind")
    if kind == "ConfigMap":
        data = doc.get("data") or {}
        for key in ("config.yaml", "relay", "collector.yaml"):
            if isinstance(data.get(key), str) and "receivers" in data[key]:
                return data[key]
        for value in data.values():
            if isinstance(value, str) and "receivers" in value:
                return value
        raise ScrapeConfigError(f"ConfigMap {(doc.get('metadata') or {}).get('name')!r} holds no collector "
                                f"config (no key with receivers:)")
    if kind == "List" or (kind or "").endswith("List"):
        for item in doc.get("items") or ():
            if isinstance(item, dict) and item.get("kind") == "ConfigMap":
                try:
                    return config_text_from_document(item)
                except ScrapeConfigError:
                    continue
        raise ScrapeConfigError("the file lists no ConfigMap holding a collector config")
    return None
