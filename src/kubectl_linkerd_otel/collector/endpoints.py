"""Endpoints as collector configs and `--exporter-endpoint` write them (read by k8s/hostport.py), and the
port each protocol dials when an endpoint names none.

- gRPC (otlp / otlp_grpc): configgrpc drops an `http://` or `https://` prefix and hands the rest to
  `grpc.NewClient`, whose default `dns` resolver dials port 443 when the target has none
  (grpc-go internal/resolver/dns/dns_resolver.go, `defaultPort = "443"`): 443 whatever the scheme.
- HTTP (otlphttp / otlp_http): Go's net/http, by the URL's scheme: 80 for http, 443 for https.
"""
from __future__ import annotations

from typing import Optional, Tuple

from ..k8s.hostport import split_endpoint
from ..k8s.ports import parse_port

GRPC_DEFAULT_PORT = 443
__all__ = ["GRPC_DEFAULT_PORT", "default_port", "endpoint_hostport", "plain_text", "port_of", "split_endpoint"]


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
