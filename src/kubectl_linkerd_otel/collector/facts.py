"""What `check` needs to know from a collector config: exporters and their endpoints, where self-metrics
and the receiver's API listen (pure; tolerant of any malformed input)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

from .config import ConfigSyntaxError, component_type, read_config



@dataclass
class Exporter:
    name: str
    kind: str
    endpoint: str = ""
    insecure: bool = False


@dataclass
class CollectorFacts:
    config: Optional[dict] = None
    parse_error: str = ""
    exporters: List[Exporter] = field(default_factory=list)
    self_metrics: Optional[Tuple[str, int]] = None    # (host, port) or None when not configured
    receiver_api: Optional[Tuple[str, int]] = None    # the prometheus receiver's API server


def split_hostport(endpoint: str, default_port: int) -> Tuple[str, int]:
    """(host, port) of an endpoint such as `0.0.0.0:9090`, `[::1]:8888` or `https://host/path`;
    `default_port` when it names none."""
    text = re.sub(r"^[a-z]+://", "", str(endpoint or "")).split("/", 1)[0]
    host, _, port = text.rpartition(":")
    if not host:
        return text, default_port
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        return host, default_port


def receiver_api_endpoint(receiver: Any) -> Optional[str]:
    """Where a prometheus receiver's API server listens (its default: localhost:9090); None when it is off."""
    api = receiver.get("api_server") if isinstance(receiver, dict) else None
    if not isinstance(api, dict) or not api.get("enabled"):
        return None
    return str((api.get("server_config") or {}).get("endpoint") or "localhost:9090")


def extract(text: Optional[str]) -> CollectorFacts:
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
    for name, body in (config.get("exporters") or {}).items():
        body = body if isinstance(body, dict) else {}
        tls = body.get("tls") if isinstance(body.get("tls"), dict) else {}
        facts.exporters.append(Exporter(
            name=str(name), kind=component_type(name), endpoint=str(body.get("endpoint") or ""),
            insecure=bool(tls.get("insecure"))))
    telemetry = ((config.get("service") or {}).get("telemetry") or {}).get("metrics") or {}
    if isinstance(telemetry, dict):
        for reader in telemetry.get("readers") or []:
            prom = (((reader or {}).get("pull") or {}).get("exporter") or {}).get("prometheus")
            if isinstance(prom, dict):
                facts.self_metrics = (str(prom.get("host") or "localhost"), int(prom.get("port") or 8888))
        if facts.self_metrics is None and telemetry.get("address"):
            facts.self_metrics = split_hostport(telemetry["address"], 8888)
    for name, body in (config.get("receivers") or {}).items():
        endpoint = receiver_api_endpoint(body) if component_type(name) == "prometheus" else None
        if endpoint:
            facts.receiver_api = split_hostport(endpoint, 9090)
    return facts


def binds_pod_ip(hostport: Optional[Tuple[str, int]]) -> bool:
    """Reachable through pods/proxy only when bound beyond loopback."""
    return bool(hostport) and hostport[0] not in ("localhost", "127.0.0.1", "::1")


def cluster_service(endpoint: str) -> Optional[Tuple[str, Optional[str], int]]:
    """(service, namespace or None, port) for an in-cluster endpoint (`*.svc`, `*.svc.cluster.local`, bare name)."""
    host, port = split_hostport(endpoint, 4317)
    if not host or re.fullmatch(r"[\d.]+", host) or ":" in host:
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


def endpoint_hostport(endpoint: str) -> Tuple[str, int]:
    return split_hostport(endpoint, 443)
