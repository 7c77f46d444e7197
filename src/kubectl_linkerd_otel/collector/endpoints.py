"""Endpoints as collector configs and `--exporter-endpoint` write them: one parser, and the port each
protocol dials when an endpoint names none.

- gRPC (otlp / otlp_grpc): configgrpc drops an `http://` or `https://` prefix and hands the rest to
  `grpc.NewClient`, whose default `dns` resolver dials port 443 when the target has none
  (grpc-go internal/resolver/dns/dns_resolver.go, `defaultPort = "443"`): 443 whatever the scheme.
- HTTP (otlphttp / otlp_http): Go's net/http, by the URL's scheme: 80 for http, 443 for https.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple

from ..k8s.ports import parse_port

GRPC_DEFAULT_PORT = 443
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def split_endpoint(endpoint: str) -> Tuple[str, str, Optional[str]]:
    """(scheme or "", host, the port as written or None) of `host:4317`, `https://user@host:4318/v1`,
    `[::1]:4317` or a bare IPv6 address; any user[:password]@ is dropped."""
    text = str(endpoint).strip()
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    rest = text[match.end():] if match else text
    rest = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if rest.startswith("["):
        host, _, after = rest[1:].partition("]")
        return scheme, host, after[1:] if after.startswith(":") else (after or None)
    if rest.count(":") > 1 and re.fullmatch(r"[0-9A-Fa-f:.]+", rest):     # a bare IPv6 address
        return scheme, rest, None
    host, sep, port = rest.partition(":")
    return scheme, host, port if sep else None


def default_port(scheme: str, protocol: str = "grpc") -> int:
    """The port dialled when the endpoint names none (see the module's docstring)."""
    if protocol == "http":
        return 80 if scheme == "http" else 443
    return GRPC_DEFAULT_PORT


def port_of(text: Optional[str]) -> Optional[int]:
    """A TCP port number from its text, None when it is not one (k8s/ports.py: ASCII digits only)."""
    return parse_port(text)


def plain_text(endpoint: str, protocol: str = "grpc", insecure: bool = False, has_ca: bool = False) -> bool:
    """The exporter sends without TLS. gRPC (configgrpc `toDialOptions`): TLS unless configtls gives no
    TLS config, which it does for `tls.insecure` without a CA (`LoadTLSConfig`), and even then TLS for an
    `https://` endpoint. HTTP (confighttp, Go's net/http): by the URL's scheme, an `http://` URL is plain
    text whatever `tls` says."""
    scheme = split_endpoint(endpoint)[0]
    if protocol == "http":
        return scheme == "http"
    return insecure and not has_ca and scheme != "https"


def endpoint_hostport(endpoint: str, protocol: str = "grpc") -> Tuple[str, int]:
    """(host, port) the collector dials for an exporter endpoint; the protocol's default port when it
    names none or names something that is not a port."""
    scheme, host, port = split_endpoint(endpoint)
    number = port_of(port)
    return host, number if number is not None else default_port(scheme, protocol)
