"""What install accepts as an exporter endpoint and a collector image (pure).

An endpoint is `host:port` (OTLP/gRPC) or an `http(s)://host[:port][/path]` URL (OTLP/HTTP). It must
name a host; its query would land in the ConfigMap in clear, so it is refused (credentials go in
headers, which install keeps in a Secret). Messages never echo credentials: the endpoint is shown
masked.
"""
from __future__ import annotations

import re

from ..errors import UsageError
from ..k8s.hostport import IPV6_TEXT, parse_endpoint
from ..k8s.ports import PORT_RULE, parse_port
from ..k8s.urls import mask_url

MAX_HOST = 253
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_ENV = re.compile(r"^\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$")

# The grammar of github.com/distribution/reference (reference/regexp.go): [domain/]path[:tag][@digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*" \
          r"|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
_IMAGE = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
                    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")
MAX_IMAGE_NAME = 255


def check_endpoint(endpoint: str, protocol: str) -> None:
    """UsageError unless `endpoint` is a usable OTLP endpoint for `protocol` (grpc | http)."""
    text = endpoint.strip()
    shown = mask_url(text)[:120]
    parts = parse_endpoint(text)
    scheme = parts.scheme
    if scheme and scheme not in ("http", "https"):
        raise UsageError(f"invalid --exporter-endpoint {shown!r}: the scheme {scheme}:// is not http or "
                         "https; give host:port for gRPC or an https:// URL for --exporter-protocol http")
    if "?" in parts.rest or "#" in parts.rest:
        raise UsageError(f"--exporter-endpoint {shown!r} has a query or fragment, which would be written "
                         "to the collector's ConfigMap in clear; pass credentials as --header NAME=VALUE "
                         "(kept in a Secret) and give the endpoint without ?...")
    host, port = parts.host, parts.port
    if parts.bracketed and (parts.malformed or not IPV6_TEXT.match(host)):
        raise UsageError(f"invalid --exporter-endpoint {shown!r}: a bad IPv6 address; write [addr]:port")
    if not host:
        raise UsageError(f"invalid --exporter-endpoint {shown!r}: it names no host; give host:port "
                         "(gRPC, e.g. otel.example.com:4317) or https://host:4318 (HTTP)")
    if len(host) > MAX_HOST:
        raise UsageError(f"invalid --exporter-endpoint: the host name is {len(host):,} characters long "
                         f"(at most {MAX_HOST})")
    if not parts.bracketed and not _ENV.match(host) and not all(
            _LABEL.match(label) for label in host.rstrip(".").split(".")):
        raise UsageError(f"invalid --exporter-endpoint {shown!r}: {mask_url(host)[:60]!r} is not a host "
                         "name or IP address")
    if port is not None and not _ENV.match(port) and parse_port(port) is None:
        raise UsageError(f"invalid --exporter-endpoint {shown!r}: {PORT_RULE}")


def check_image(image: str) -> None:
    """UsageError unless `image` is an image reference (`[registry/]name[:tag][@digest]`)."""
    name = image.split("@", 1)[0]
    first, slash, _ = name.partition("/")
    # as the reference parser: the first part is a registry only with a dot, a port or "localhost"
    not_registry = slash and not any(c in first for c in ".:[") and first != "localhost"
    if len(name) > MAX_IMAGE_NAME or not _IMAGE.match(image) or (not_registry and first != first.lower()):
        raise UsageError(f"invalid --image {image[:120]!r}: give an image reference such as "
                         "otel/opentelemetry-collector:0.159.0 (lower-case name, optional registry, "
                         ":tag, @sha256:digest)")
