"""The scrape jobs of a collector config (pure): every `prometheus` receiver's `config.scrape_configs`,
with Prometheus' defaults and the receiver's `global` section applied, relabel rules compiled once.

The collector reads its config through its own variable expansion first: `${env:VAR}` (or `${VAR}`)
is replaced by the environment variable and `$$` stands for a literal `$`. `unescape` does the same
(with the environment of one collector pod when we know it, else leaving `${env:...}` in place), so the
rules we compile are the ones Prometheus receives. A lone `$1` is passed through unchanged: current
collectors leave it alone (older ones replaced it with an empty string; `check` warns about it).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ..collector.config import ENV_REF, component_type, dollar_uses
from ..collector.facts import receiver_api_endpoint
from ..collector.locate import config_key
from .relabel import RelabelConfigError, Rules, compile_rules
from .sd import SDConfig, SelectorError
from .text import go_quote, shown

DEFAULT_SCRAPE_INTERVAL = "1m"
DEFAULT_SCRAPE_TIMEOUT = "10s"
DEFAULT_METRICS_PATH = "/metrics"
DEFAULT_SCHEME = "http"

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$",
                       re.ASCII)   # Prometheus reads ASCII digits only
_UNITS_MS = (("y", 365 * 86400000, True), ("w", 7 * 86400000, True), ("d", 86400000, False),
             ("h", 3600000, False), ("m", 60000, False), ("s", 1000, False), ("ms", 1, False))
_FACTORS = (365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1)


class ScrapeConfigError(ValueError):
    """A scrape config Prometheus (so the collector) would refuse; the message names the job."""


# -- the fields Prometheus 3.5.3 accepts ---------------------------------------------------------------
# The collector unmarshals its prometheus receiver's `config` strictly (yaml.UnmarshalStrict), as
# Prometheus does its own file: an unknown field anywhere is an error and the collector does not start.
# Every set below was checked against a real Prometheus 3.5.3 (tests/scrape/test_targets_validation.py runs
# them through it): each accepted key loads, and the misspellings users make are refused.
HTTP_CLIENT_KEYS = frozenset((
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
    "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header", "follow_redirects",
    "enable_http2", "http_headers"))
# `<name>_sd_configs` of the SD mechanisms Prometheus 3.5 registers. Debian's build (the binary the
# tests run) leaves out azure, consul, kuma, nomad, openstack and stackit; upstream builds, the
# collector's included, have them, so they are accepted too.
SD_CONFIG_KEYS = frozenset(f"{name}_sd_configs" for name in (
    "digitalocean", "dns", "docker", "dockerswarm", "ec2", "eureka", "file", "gce", "hetzner", "http",
    "ionos", "kubernetes", "lightsail", "linode", "marathon", "nerve", "ovhcloud", "puppetdb", "scaleway",
    "serverset", "triton", "uyuni", "vultr",
    "azure", "consul", "kuma", "nomad", "openstack", "stackit"))
SCRAPE_CONFIG_KEYS = frozenset((
    "job_name", "honor_labels", "honor_timestamps", "track_timestamps_staleness", "params",
    "scrape_interval", "scrape_timeout", "scrape_protocols", "fallback_scrape_protocol",
    "always_scrape_classic_histograms", "convert_classic_histograms_to_nhcb", "scrape_failure_log_file",
    "metrics_path", "scheme", "enable_compression", "body_size_limit", "sample_limit", "target_limit",
    "label_limit", "label_name_length_limit", "label_value_length_limit", "native_histogram_bucket_limit",
    "native_histogram_min_bucket_factor", "keep_dropped_targets", "metric_name_validation_scheme",
    "metric_name_escaping_scheme", "relabel_configs", "metric_relabel_configs", "static_configs",
)) | HTTP_CLIENT_KEYS | SD_CONFIG_KEYS
KUBERNETES_SD_KEYS = frozenset(("role", "api_server", "kubeconfig_file", "namespaces", "selectors",
                                "attach_metadata")) | HTTP_CLIENT_KEYS
NAMESPACES_KEYS = frozenset(("names", "own_namespace"))
SELECTOR_KEYS = frozenset(("role", "label", "field"))
ATTACH_METADATA_KEYS = frozenset(("node",))
GLOBAL_KEYS = frozenset((
    "scrape_interval", "scrape_timeout", "scrape_protocols", "evaluation_interval", "rule_query_offset",
    "query_log_file", "scrape_failure_log_file", "external_labels", "body_size_limit", "sample_limit",
    "target_limit", "label_limit", "label_name_length_limit", "label_value_length_limit",
    "keep_dropped_targets", "metric_name_validation_scheme", "metric_name_escaping_scheme",
    "convert_classic_histograms_to_nhcb", "always_scrape_classic_histograms"))
PROMETHEUS_CONFIG_KEYS = frozenset((
    "global", "runtime", "rule_files", "scrape_config_files", "scrape_configs", "storage", "tracing",
    "alerting", "remote_write", "remote_read", "otlp"))
KUBERNETES_SD_ROLES = ("pod", "service", "endpoints", "endpointslice", "node", "ingress")


def check_fields(raw: dict, known: Iterable[str], where: str, what: str) -> None:
    """Refuse the keys of `raw` Prometheus does not know, as its strict YAML decoding does."""
    known = set(known)
    unknown = [str(k) for k in raw if str(k) not in known]
    if not unknown:
        return
    names = ", ".join(shown(k, 40) for k in unknown)
    plural = "s" if len(unknown) > 1 else ""
    guess = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.75)
    hint = f"did you mean {guess[0]}?" if guess else f"the known fields are {', '.join(sorted(known))}" \
        if len(known) <= 8 else "see Prometheus' configuration reference"
    raise ScrapeConfigError(f"{where}: field{plural} {names} not found in {what}: Prometheus (and so the "
                            f"collector) refuses unknown fields; {hint}")


# -- `${env:VAR}` the collector expands but we cannot ---------------------------------------------------
class EnvContext:
    """What we know of the collector's environment: `env` holds the variables whose value is known
    (the literal `env` values of the collector container), None when nothing is known (offline)."""

    def __init__(self, env: Optional[Dict[str, str]] = None):
        self.env = env

    def refs(self, original: Any) -> List[str]:
        """The `${env:VAR}` references in a config value (as written, before the collector's expansion)
        whose value we do not know. `$${...}` is an escaped literal, not a reference."""
        found: List[str] = []
        if isinstance(original, dict):
            for value in original.values():
                found.extend(self.refs(value))
            return found
        if isinstance(original, list):
            for value in original:
                found.extend(self.refs(value))
            return found
        if not isinstance(original, str) or "${" not in original:
            return found
        for _position, m in dollar_uses(original):
            if m is None:
                continue
            known = self.env is not None and (m.group(1) in self.env or m.group(2) is not None)
            if not known and m.group(0) not in found:
                found.append(m.group(0))
        return found

    def why(self) -> str:
        if self.env is None:
            return "its value is unknown without the collector's pod template"
        return "the collector container sets no literal value for it"


def parse_duration(text: Any, what: str = "duration") -> int:
    """Prometheus model.ParseDuration -> milliseconds (`1h30m`, `10s`, `0`). The error reads
    `<what>: not a valid duration string: "bogus"` (Prometheus' words after the name of the field)."""
    if isinstance(text, bool) or text is None:
        raise ScrapeConfigError(f"{what}: not a valid duration string: {go_quote(text)}")
    text = str(text)
    if text == "0":
        return 0
    m = _DURATION.match(text)
    if not text or not m:
        raise ScrapeConfigError(f"{what}: not a valid duration string: {go_quote(text)}")
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


def _global(cfg: dict, where: str = "global") -> Tuple[int, int]:
    g = _mapping(cfg.get("global"), where)
    check_fields(g, GLOBAL_KEYS, where, "the global section")
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


def _original(original: Any, key: Any, index: Optional[int] = None) -> Any:
    """The as-written counterpart of raw[key] (or raw[key][index]), None when it has another shape."""
    value = original.get(key) if isinstance(original, dict) else None
    if index is None:
        return value
    return value[index] if isinstance(value, list) and index < len(value) else None


def _sd_config(raw: Any, where: str, original: Any = None, env: Optional[EnvContext] = None) \
        -> Optional[SDConfig]:
    if raw is None:
        raise ScrapeConfigError(f"{where}: empty or null section in kubernetes_sd_configs")
    raw = _mapping(raw, f"{where}: kubernetes_sd_configs entry")
    check_fields(raw, KUBERNETES_SD_KEYS, where, "a kubernetes_sd_configs entry")
    ns = _mapping(raw.get("namespaces"), f"{where}: namespaces")
    check_fields(ns, NAMESPACES_KEYS, f"{where}: namespaces", "namespaces")
    attach = _mapping(raw.get("attach_metadata"), f"{where}: attach_metadata")
    check_fields(attach, ATTACH_METADATA_KEYS, f"{where}: attach_metadata", "attach_metadata")
    selectors = raw.get("selectors") or []
    if not isinstance(selectors, list):
        raise ScrapeConfigError(f"{where}: selectors must be a list")
    for sel in selectors:
        check_fields(_mapping(sel, f"{where}: selectors entry"), SELECTOR_KEYS, f"{where}: selectors entry",
                     "a selectors entry")
    role = raw.get("role")
    for value in [role] + [(sel or {}).get("role") for sel in selectors]:
        if value not in (None, "") and str(value) not in KUBERNETES_SD_ROLES:
            raise ScrapeConfigError(f"{where}: unknown Kubernetes SD role {go_quote(value)} (one of: "
                                    f"{', '.join(KUBERNETES_SD_ROLES)})")
    if role is None or role == "":
        raise ScrapeConfigError(f"{where}: role missing (one of: {', '.join(KUBERNETES_SD_ROLES)})")
    _check_client(raw, ns, where)
    seen = set()
    for sel in selectors:
        sel_role = str((sel or {}).get("role") or "")
        if sel_role in seen:
            raise ScrapeConfigError(f"{where}: duplicated selector role: {sel_role} (Prometheus refuses two "
                                    f"selectors of one role: put label and field in one selector)")
        seen.add(sel_role)
    if role != "pod":
        return None
    for sel in selectors:
        if str((sel or {}).get("role") or "") != "pod":
            raise ScrapeConfigError(f"{where}: pod role supports only pod selectors (not "
                                    f"{go_quote((sel or {}).get('role') or '')})")
    names = ns.get("names") or None
    if names is not None and not isinstance(names, list):
        raise ScrapeConfigError(f"{where}: namespaces.names must be a list")
    sd = SDConfig(role="pod", namespaces=[str(n) for n in names] if names else None,
                  own_namespace=bool(ns.get("own_namespace")), raw=raw)
    if names and env is not None:
        original_names = _original(_original(original, "namespaces"), "names")
        refs = env.refs(original_names) if original_names is not None else []
        if refs:
            sd.namespaces = None
            sd.notes.append(f"namespaces.names uses {', '.join(refs)} ({env.why()}): treated as every "
                            f"namespace")
    for sel in selectors:
        if sel.get("label"):
            sd.label_selector = ",".join(filter(None, [sd.label_selector, str(sel["label"])]))
        if sel.get("field"):
            sd.field_selector = ",".join(filter(None, [sd.field_selector, str(sel["field"])]))
    try:
        sd.compile()
    except SelectorError as exc:
        raise ScrapeConfigError(f"{where}: {exc}") from None
    return sd


def _custom_http(raw: dict) -> List[str]:
    """The HTTP client fields of a kubernetes_sd_configs entry that differ from Prometheus' defaults
    (its `reflect.DeepEqual(c.HTTPClientConfig, config.DefaultHTTPClientConfig)`, checked against 3.5.3:
    a pointer field set at all, even empty; a string set non-empty; a bool off its default)."""
    custom = [k for k in ("basic_auth", "authorization", "oauth2", "http_headers", "proxy_url",
                          "proxy_connect_header") if raw.get(k) is not None]
    custom += [k for k in ("follow_redirects", "enable_http2") if raw.get(k) is False]
    custom += [k for k in ("bearer_token", "bearer_token_file", "no_proxy", "proxy_from_environment")
               if raw.get(k)]
    tls = raw.get("tls_config")
    if isinstance(tls, dict) and any(v not in (None, False, "", {}, []) for v in tls.values()) \
            or tls not in (None, {}) and not isinstance(tls, dict):
        custom.append("tls_config")
    return sorted(custom)


def _check_client(raw: dict, ns: dict, where: str) -> None:
    """kubernetes.SDConfig's checks of api_server, kubeconfig_file and the HTTP client fields."""
    api_server = raw.get("api_server") is not None
    kubeconfig = bool(raw.get("kubeconfig_file"))
    custom = _custom_http(raw)
    if api_server and kubeconfig:
        raise ScrapeConfigError(f"{where}: cannot use 'kubeconfig_file' and 'api_server' simultaneously")
    if kubeconfig and custom:
        raise ScrapeConfigError(f"{where}: cannot use a custom HTTP client configuration ({', '.join(custom)}) "
                                f"together with 'kubeconfig_file'")
    if not api_server and custom:
        raise ScrapeConfigError(f"{where}: to use custom HTTP client configuration ({', '.join(custom)}) please "
                                f"provide the 'api_server' URL explicitly")
    if ns.get("own_namespace") and (api_server or kubeconfig):
        other = "api_server" if api_server else "kubeconfig_file"
        raise ScrapeConfigError(f"{where}: cannot use '{other}' and 'namespaces.own_namespace' simultaneously")


def _duration_field(raw: dict, key: str, where: str, original: Any, env: Optional[EnvContext],
                    notes: List[str]) -> int:
    if raw.get(key) is None:
        return 0
    refs = env.refs(_original(original, key)) if env is not None else []
    if refs:
        notes.append(f"{key} uses {', '.join(refs)} ({env.why()}): the default is assumed")
        return 0
    return parse_duration(raw[key], f"{where} {key}")


def scrape_job(raw: dict, receiver: str, interval_ms: int, timeout_ms: int, *, original: Any = None,
               env: Optional[EnvContext] = None) -> ScrapeJob:
    """One scrape_configs entry (after the collector's expansion) as a ScrapeJob. `original` is the same
    entry as written in the collector config, to tell which values hold a `${env:VAR}` whose value `env`
    does not know (such rules and filters are then noted, not simulated as if literal)."""
    if raw is None:
        raise ScrapeConfigError(f"receiver {receiver}: empty or null scrape config section")
    raw = _mapping(raw, f"receiver {receiver}: scrape_configs entry")
    name = raw.get("job_name")
    if not name:
        raise ScrapeConfigError(f"receiver {receiver}: a scrape config has no job_name")
    name = str(name)
    where = f"job {name!r}"
    check_fields(raw, SCRAPE_CONFIG_KEYS, where, "a scrape config")
    if original is None or env is None:
        original, env = None, None
    notes: List[str] = []
    interval = _duration_field(raw, "scrape_interval", where, original, env, notes)
    if interval == 0:
        interval = interval_ms
    timeout = _duration_field(raw, "scrape_timeout", where, original, env, notes)
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
                    scheme=str(raw.get("scheme") or DEFAULT_SCHEME), params=params, raw=raw, notes=notes)
    sd_list = raw.get("kubernetes_sd_configs") or []
    if not isinstance(sd_list, list):
        raise ScrapeConfigError(f"{where}: kubernetes_sd_configs must be a list")
    for index, sd_raw in enumerate(sd_list):
        sd = _sd_config(sd_raw, f"{where}: kubernetes_sd_configs[{index}]",
                        _original(original, "kubernetes_sd_configs", index), env)
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
    rules_env = None
    if env is not None and isinstance(raw.get("relabel_configs"), list):
        rules_env = []
        for index in range(len(raw["relabel_configs"])):
            rule_original = _original(original, "relabel_configs", index)
            rules_env.append({str(k): env.refs(v) for k, v in rule_original.items() if env.refs(v)}
                             if isinstance(rule_original, dict) else {})
    try:
        job.rules = compile_rules(raw.get("relabel_configs"), where, rules_env)
    except RelabelConfigError as exc:
        raise ScrapeConfigError(str(exc)) from None
    for rule in job.rules:
        if rule.env:
            refs = ", ".join(dict.fromkeys(r for refs in rule.env.values() for r in refs))
            if rule.skipped:
                effect = "treated as keeping every target" if rule.action in ("keep", "drop", "keepequal",
                                                                             "dropequal") \
                    else "treated as not applying"
            else:
                effect = "its values are shown as written"
            job.notes.append(f"{rule.describe()} uses {refs} ({env.why() if env else 'unknown'}): {effect}")
    return job


def referenced_receivers(config: dict) -> Optional[Set[str]]:
    """The receivers some pipeline of `service.pipelines` lists; None when the config has no pipelines
    (the collector refuses such a config: `collector.config.find_problems` says so)."""
    service = config.get("service") if isinstance(config, dict) else None
    pipelines = service.get("pipelines") if isinstance(service, dict) else None
    if not isinstance(pipelines, dict) or not pipelines:
        return None
    used: Set[str] = set()
    for pipeline in pipelines.values():
        if isinstance(pipeline, dict) and isinstance(pipeline.get("receivers"), list):
            used.update(str(r) for r in pipeline["receivers"])
    return used


def unused_receivers(config: dict) -> List[str]:
    """The prometheus receivers no pipeline lists: the collector never starts them, they scrape nothing."""
    used = referenced_receivers(config)
    if used is None:
        return []
    names = config.get("receivers") if isinstance(config.get("receivers"), dict) else {}
    return [str(n) for n in names if component_type(str(n)) == "prometheus" and str(n) not in used]


def receivers(config: dict, env: Optional[Dict[str, str]] = None, *, include_unused: bool = False) \
        -> List[Receiver]:
    """The prometheus receivers of a parsed collector config, with their jobs: those a pipeline uses
    (every one when the config has no pipelines; all with `include_unused`). Every receiver's config is
    checked, used or not, as the collector does. Raises ScrapeConfigError."""
    out: List[Receiver] = []
    context = EnvContext(env)
    unused = set(unused_receivers(config))
    for rname, original_body in _mapping(config.get("receivers"), "receivers").items():
        rname = str(rname)
        if component_type(rname) != "prometheus":
            continue
        original_body = original_body if isinstance(original_body, dict) else {}
        body = unescape(original_body, env)
        rec = Receiver(rname, api_server=receiver_api_endpoint(body))
        if body.get("target_allocator"):
            rec.notes.append(f"receiver {rname} takes its targets from a target allocator: the jobs below "
                             f"show what its own service discovery would find")
        prom = _mapping(body.get("config"), f"receiver {rname}: config")
        check_fields(prom, PROMETHEUS_CONFIG_KEYS, f"receiver {rname}: config", "a Prometheus config")
        interval, timeout = _global(prom, f"receiver {rname}: global")
        seen = set()
        configs = prom.get("scrape_configs") or []
        if not isinstance(configs, list):
            raise ScrapeConfigError(f"receiver {rname}: scrape_configs must be a list")
        original_configs = _original(original_body.get("config"), "scrape_configs")
        for index, raw in enumerate(configs):
            original = original_configs[index] if isinstance(original_configs, list) \
                and index < len(original_configs) else None
            job = scrape_job(raw, rname, interval, timeout, original=original, env=context)
            if job.name in seen:
                raise ScrapeConfigError(f"found multiple scrape configs with job name {job.name!r}")
            seen.add(job.name)
            rec.jobs.append(job)
        if include_unused or rname not in unused:
            out.append(rec)
    return out


def scrape_jobs(config: dict, env: Optional[Dict[str, str]] = None) -> List[ScrapeJob]:
    """The jobs of every prometheus receiver a pipeline uses (see `receivers`)."""
    return [job for rec in receivers(config, env) for job in rec.jobs]


_CONFIG_SECTIONS = ("receivers", "exporters", "processors", "connectors", "extensions", "service")


def configmap_config_text(doc: dict) -> Optional[str]:
    """The collector config a ConfigMap holds (collector.locate.config_key picks the key), None without one."""
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    key = config_key({"data": data})
    return data[key] if key else None


def _describe(doc: Any) -> str:
    if not isinstance(doc, dict):
        return "a document that is not a mapping"
    name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
    kind = doc.get("kind") or "object"
    return f"{kind} {shown(name)!r}" if name else str(kind)


def collector_configs_in(doc: Any) -> Tuple[List[Tuple[str, Any]], List[str]]:
    """The collector configs in one parsed YAML/JSON document: ([(what, config)], [what else it holds]).
    A config is the text of a ConfigMap's key holding `receivers:` (also inside a List), or a mapping
    that is itself a collector config (no `kind`, some of receivers:, exporters:, service:, ...)."""
    found: List[Tuple[str, Any]] = []
    others: List[str] = []
    if not isinstance(doc, dict):
        others.append(_describe(doc))
        return found, others
    kind = doc.get("kind")
    if kind == "ConfigMap":
        text = configmap_config_text(doc)
        if text is not None:
            found.append((_describe(doc), text))
        else:
            others.append(_describe(doc))
    elif isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            if isinstance(item, dict) and item.get("kind") == "ConfigMap":
                text = configmap_config_text(item)
                if text is not None:
                    found.append((_describe(item), text))
                    continue
            others.append(_describe(item))
    elif kind is None and any(k in doc for k in _CONFIG_SECTIONS):
        found.append(("the collector config", doc))
    else:
        others.append(_describe(doc))
    return found, others


def config_text_from_document(doc: Any) -> Optional[str]:
    """The collector config text inside a parsed document (a ConfigMap, or a List holding one); None when
    `doc` is not such an object. Raises ScrapeConfigError when it holds none or several."""
    if not isinstance(doc, dict) or not (doc.get("kind") == "ConfigMap" or str(doc.get("kind") or "").endswith("List")):
        return None
    found, others = collector_configs_in(doc)
    found = [(name, text) for name, text in found if isinstance(text, str)]
    if len(found) > 1:
        raise ScrapeConfigError(f"the file holds {len(found)} collector configs ({', '.join(n for n, _ in found)})")
    if not found:
        if doc.get("kind") == "ConfigMap":
            raise ScrapeConfigError(f"{_describe(doc)} holds no collector config (no key with receivers:)")
        raise ScrapeConfigError("the file lists no ConfigMap holding a collector config")
    return found[0][1]
