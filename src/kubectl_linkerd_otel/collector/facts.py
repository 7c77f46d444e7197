"""What `check` needs to know from a collector config: exporters and their endpoints, where self-metrics
and the receiver's API listen (pure; tolerant of any malformed input: a value that cannot be known, such
as `port: ${env:METRICS_PORT}` or `readers: 5`, becomes "not known" with a note saying why)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .endpoints import endpoint_hostport, plain_text, split_endpoint
from ..k8s.ports import in_port_range, parse_port
from ..k8s.credentials import REDACTED, credential_header, endpoint_has_userinfo, redact_endpoint_userinfo
from .config import ENV_REF, ConfigSyntaxError, component_type, read_config

@dataclass
class Exporter:
    name: str
    kind: str
    endpoint: str = ""            # as written, with any user:password of the URL replaced by <redacted>
    insecure: bool = False
    has_ca: bool = False          # tls.ca_file or tls.ca_pem: TLS even with tls.insecure (configtls)
    userinfo: bool = False        # the endpoint URL carries user[:password]@ written in clear
    credentials: bool = False     # it sends credentials: a credential header (by name or value, in clear
                                  # or from ${env:VAR}), an `auth` authenticator, user:password@

    @property
    def protocol(self) -> str:
        """"http" for the OTLP/HTTP exporters, else "grpc"."""
        return "http" if self.kind in ("otlphttp", "otlp_http") else "grpc"

    @property
    def plain_text(self) -> bool:
        """It sends without TLS (collector/endpoints.plain_text)."""
        return bool(self.endpoint) and plain_text(self.endpoint, self.protocol, self.insecure, self.has_ca)


@dataclass
class CollectorFacts:
    config: Optional[dict] = None
    parse_error: str = ""
    exporters: List[Exporter] = field(default_factory=list)
    self_metrics: Optional[Tuple[str, int]] = None    # (host, port) or None when not configured or not known
    receiver_api: Optional[Tuple[str, int]] = None    # the prometheus receiver's API server
    self_metrics_unknown: str = ""    # why self_metrics is None although the config sets it
    receiver_api_unknown: str = ""    # why receiver_api is None although the API server is enabled
    notes: List[str] = field(default_factory=list)    # every value that could not be known


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def port_number(value: Any, env: Optional[Dict[str, str]] = None) -> Optional[int]:
    """A TCP port from a config value (8888, "8888", "${env:PORT}" when `env` defines PORT); None when it
    is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return parse_port(expand_env(value.strip(), env))
    if isinstance(value, int) and in_port_range(value):
        return value
    return None


def expand_env(text: str, env: Optional[Dict[str, str]] = None) -> str:
    """`${env:VAR}` / `${VAR}` replaced by `env`'s value (or the reference's `:-default`); references that
    cannot be resolved are left as they are."""
    def repl(match):
        name, default = match.group(1), match.group(2)
        if env and name in env:
            return env[name]
        return default if default is not None else match.group(0)
    return ENV_REF.sub(repl, text)


def parse_hostport(endpoint: Any, default_port: int,
                   env: Optional[Dict[str, str]] = None) -> Tuple[str, Optional[int]]:
    """(host, port) of an endpoint such as `0.0.0.0:9090`, `[::1]:8888`, `https://user@host/path`;
    `default_port` when it names none, port None when the port it names is not a port number."""
    _scheme, host, port = split_endpoint(expand_env(str(endpoint if endpoint is not None else ""), env))
    return host, default_port if port is None else port_number(port)


def split_hostport(endpoint: str, default_port: int) -> Tuple[str, int]:
    """(host, port) of an endpoint such as `0.0.0.0:9090`, `[::1]:8888` or `https://host/path`;
    `default_port` when it names none or names something that is not a port."""
    host, port = parse_hostport(endpoint, default_port)
    return host, port if port is not None else default_port


def redact_endpoint(endpoint: str) -> str:
    """The endpoint with the user[:password] in front of its host replaced by <redacted>."""
    return redact_endpoint_userinfo(endpoint, REDACTED)


def receiver_api_endpoint(receiver: Any) -> Optional[str]:
    """Where a prometheus receiver's API server listens (its default: localhost:9090); None when it is off."""
    api = receiver.get("api_server") if isinstance(receiver, dict) else None
    if not isinstance(api, dict) or not api.get("enabled"):
        return None
    return str(_mapping(api.get("server_config")).get("endpoint") or "localhost:9090")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def extract(text: Optional[str], env: Optional[Dict[str, str]] = None) -> CollectorFacts:
    """The facts of a config text; never raises (a value it cannot read is "not known", with a note).
    `env`: the literal environment of the collector container, to resolve `${env:VAR}`."""
    facts = CollectorFacts()
    try:
        config = read_config(text) if text else None
    except ConfigSyntaxError as exc:
        facts.parse_error = str(exc)
        return facts
    if config is None:
        facts.parse_error = "empty config"
        return facts
    facts.config = config
    _exporters(facts, config)
    _self_metrics(facts, config, env)
    _receiver_api(facts, config, env)
    return facts


def _exporters(facts: CollectorFacts, config: dict) -> None:
    exporters = config.get("exporters")
    if exporters is not None and not isinstance(exporters, dict):
        facts.notes.append("exporters is not a mapping: the exporters are not known")
    for name, body in _mapping(exporters).items():
        body = _mapping(body)
        tls = _mapping(body.get("tls"))
        raw = body.get("endpoint")
        endpoint = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
        if raw is not None and not endpoint:
            facts.notes.append(f"exporters.{name}.endpoint is not a string: its endpoint is not known")
        headers = _mapping(body.get("headers"))
        sends = any(credential_header(k, v, references=True) for k, v in headers.items()) or \
            bool(_mapping(body.get("auth")).get("authenticator")) or endpoint_has_userinfo(endpoint)
        facts.exporters.append(Exporter(
            name=str(name), kind=component_type(name), endpoint=redact_endpoint(endpoint),
            insecure=_truthy(tls.get("insecure")), has_ca=bool(tls.get("ca_file") or tls.get("ca_pem")),
            userinfo=endpoint_has_userinfo(endpoint),
            credentials=sends))


def _self_metrics(facts: CollectorFacts, config: dict, env: Optional[Dict[str, str]]) -> None:
    metrics = _mapping(_mapping(_mapping(config.get("service")).get("telemetry")).get("metrics"))
    readers = metrics.get("readers")
    where = "service.telemetry.metrics.readers"
    if readers is not None and not isinstance(readers, list):
        _unresolved(facts, "self_metrics", f"{where} is not a list ({type(readers).__name__})")
        return
    for index, reader in enumerate(readers or []):
        prom = _mapping(_mapping(_mapping(reader).get("pull")).get("exporter")).get("prometheus")
        if not isinstance(prom, dict):
            continue
        host = expand_env(str(prom.get("host") or "localhost"), env)
        raw = prom.get("port")
        port = 8888 if raw is None else port_number(raw, env)
        if port is None:
            _unresolved(facts, "self_metrics", f"{where}[{index}].pull.exporter.prometheus.port is "
                                               f"{raw!r}, not a port number this plugin can resolve")
        else:
            facts.self_metrics, facts.self_metrics_unknown = (host, port), ""
    address = metrics.get("address")
    if facts.self_metrics is None and not facts.self_metrics_unknown and address:
        host, port = parse_hostport(address, 8888, env)
        if port is None or not isinstance(address, (str, int)):
            _unresolved(facts, "self_metrics", f"service.telemetry.metrics.address is {address!r}, not an "
                                               "address this plugin can resolve")
        else:
            facts.self_metrics = (host or "0.0.0.0", port)


def _unresolved(facts: CollectorFacts, what: str, why: str) -> None:
    """`what` (self_metrics, receiver_api) cannot be known from the config: say why, once."""
    setattr(facts, what, None)
    setattr(facts, f"{what}_unknown", why)
    facts.notes.append(why)


def _receiver_api(facts: CollectorFacts, config: dict, env: Optional[Dict[str, str]]) -> None:
    for name, body in _mapping(config.get("receivers")).items():
        endpoint = receiver_api_endpoint(body) if component_type(name) == "prometheus" else None
        if not endpoint:
            continue
        host, port = parse_hostport(endpoint, 9090, env)
        if port is None:
            _unresolved(facts, "receiver_api", f"receivers.{name}.api_server.server_config.endpoint is "
                                               f"{endpoint!r}, not an address this plugin can resolve")
        else:
            facts.receiver_api, facts.receiver_api_unknown = (host or "0.0.0.0", port), ""


def binds_pod_ip(hostport: Optional[Tuple[str, int]]) -> bool:
    """Reachable through pods/proxy only when bound beyond loopback."""
    return bool(hostport) and hostport[0] not in ("localhost", "127.0.0.1", "::1")


def cluster_service(endpoint: str, protocol: str = "grpc") -> Optional[Tuple[str, Optional[str], int]]:
    """(service, namespace or None, port) for an in-cluster endpoint (`*.svc`, `*.svc.cluster.local`, bare
    name); the port is the one the collector dials (collector/endpoints.py)."""
    host, port = endpoint_hostport(endpoint, protocol)
    if not host or re.fullmatch(r"[\d.]+", host) or ":" in host or "$" in host:
        return None
    parts = host.split(".")
    if host.endswith(".svc.cluster.local") and len(parts) >= 5:
        return parts[0], parts[1], port
    if host.endswith(".svc") and len(parts) >= 3:
        return parts[0], parts[1], port
    if len(parts) == 1:
        return host, None, port
    if len(parts) == 2 and parts[1] not in ("com", "io", "net", "org", "dev", "cloud", "local"):
        return parts[0], parts[1], port
    return None

