"""Everything `install` renders from, validated once (pure: no environment, no cluster)."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..collector.endpoints import GRPC_DEFAULT_PORT, plain_text, split_endpoint
from ..collector.schema.distributions import parse_image
from ..k8s.credentials import credential_header, endpoint_has_userinfo
from ..k8s.ports import parse_port
from ..errors import UsageError
from ..k8s.urls import mask_url
from .endpoint import check_endpoint, check_image
from ..naming import DEFAULT_LINKERD_NAMESPACE, DEFAULT_NAMESPACE
from ..scrape.config import ScrapeConfigError, format_duration, parse_duration

# otel/opentelemetry-collector (core). >= 0.144 names the OTLP exporters otlp_grpc / otlp_http.
DEFAULT_IMAGE = "otel/opentelemetry-collector:0.159.0"

# The reference setup's in-cluster OpenObserve, used when no exporter flag is given.
DEMO_ENDPOINT = "openobserve-openobserve-standalone.openobserve.svc.cluster.local:5081"
DEMO_HEADERS = (("organization", "default"), ("stream-name", "default"))
DEMO_BASIC_AUTH = "root@example.com:Complexpass#123"  # OpenObserve's documented demo login

MODES = ("deployment", "daemonset", "operator")
MAX_SCRAPE_INTERVAL_MS = 24 * 3600 * 1000
DISTRIBUTIONS = ("core", "contrib", "k8s")
PROTOCOLS = ("grpc", "http")

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$")
_CPU = re.compile(r"^[0-9]+(?:\.[0-9]+)?m?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")   # not allowed in HTTP header values (tab is)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_MEMORY_FACTORS = {None: 1, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4,
                   "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def memory_mib(quantity: str) -> int:
    """A Kubernetes memory quantity in whole MiB (rounded down)."""
    match = _QUANTITY.match(quantity.strip())
    if not match or match.group(2) == "m":
        raise UsageError(f"invalid memory quantity {quantity!r}: use e.g. 512Mi or 1Gi")
    return int(float(match.group(1)) * _MEMORY_FACTORS[match.group(2)] // (1024 ** 2))


@dataclass
class Credential:
    """A value kept in the Secret under `key` and given to the collector as env var `env`."""
    env: str
    value: str = field(repr=False)
    prefix: str = ""      # the header value is prefix + ${env:ENV}
    source: str = "base64 of USER:PASSWORD"   # what the value is, for instructions

    def header_value(self) -> str:
        return "%s${env:%s}" % (self.prefix, self.env)


@dataclass
class InstallOptions:
    namespace: str = DEFAULT_NAMESPACE
    linkerd_namespace: str = DEFAULT_LINKERD_NAMESPACE
    mode: str = "deployment"
    replicas: int = 2                     # collectors of --mode operator (a StatefulSet)
    image: str = DEFAULT_IMAGE
    exporter_endpoint: Optional[str] = None
    exporter_protocol: str = "grpc"
    headers: List[Tuple[str, str]] = field(default_factory=list)
    secret_headers: List[Tuple[str, str]] = field(default_factory=list, repr=False)  # always in the Secret
    basic_auth: Optional[str] = field(default=None, repr=False)   # "user:pass"
    insecure: bool = False
    ca_pem: Optional[str] = None          # the contents of --ca-file
    debug_exporter: bool = False
    cpu_request: str = "100m"
    memory_request: str = "256Mi"
    cpu_limit: Optional[str] = None
    memory_limit: str = "512Mi"
    scrape_interval: str = "30s"
    # install --restrict-metrics: the collector is meshed (its pod template asks for the proxy)
    restrict_metrics: bool = False
    # Credentials of a Secret install keeps (no credential flags given): the headers use its keys.
    kept_credentials: List[Tuple[str, "Credential"]] = field(default_factory=list)
    distribution: Optional[str] = None    # core | contrib | k8s; None: as the image's name says
    metrics: str = "all"                  # all | golden | the --metrics FILE's name
    metrics_keep: Optional[List[str]] = None   # metric names (or regexes) kept; None: all
    backend: Optional[str] = None         # install --backend NAME (render/backends.py), for notes only
    temporality: str = "cumulative"       # delta: a cumulativetodelta processor before the exporter

    @property
    def collector(self) -> Tuple[Optional[str], Optional[Tuple[int, int]]]:
        """(distribution, (major, minor)) of the collector this renders for."""
        named, version = parse_image(self.image)
        return self.distribution or named, version

    @property
    def scrape_timeout(self) -> str:
        """10s, as Prometheus's default, but never longer than the interval (Prometheus refuses that)."""
        return format_duration(min(parse_duration(self.scrape_interval), 10_000))

    @property
    def uses_demo_backend(self) -> bool:
        return self.exporter_endpoint is None

    @property
    def endpoint(self) -> str:
        return DEMO_ENDPOINT if self.uses_demo_backend else str(self.exporter_endpoint)

    @property
    def tls_insecure(self) -> bool:
        return True if self.uses_demo_backend else self.insecure

    @property
    def plain_text(self) -> bool:
        """The exporter sends in clear (collector/endpoints.plain_text)."""
        return plain_text(self.endpoint, self.exporter_protocol, self.tls_insecure)

    @property
    def credentials_given(self) -> bool:
        """Credentials came from the command line (not the demo defaults)."""
        return self.basic_auth is not None or bool(self.secret_headers) or \
            any(credential_header(k, v) for k, v in self.headers)

    def plain_headers(self) -> List[Tuple[str, str]]:
        headers = list(DEMO_HEADERS) if self.uses_demo_backend else []
        return headers + [(k, v) for k, v in self.headers if not credential_header(k, v)]

    def basic_auth_value(self) -> Optional[str]:
        auth = DEMO_BASIC_AUTH if self.uses_demo_backend and self.basic_auth is None else self.basic_auth
        return auth

    def credentials(self) -> List[Tuple[str, Credential]]:
        """(header name, credential) pairs: the headers whose values live in the Secret."""
        if self.kept_credentials and not self.credentials_given:
            return list(self.kept_credentials)
        out: List[Tuple[str, Credential]] = []
        auth = self.basic_auth_value()
        if auth is not None:
            token = base64.b64encode(auth.encode("utf-8")).decode("ascii")
            out.append(("Authorization", Credential("OTLP_AUTH", token, prefix="Basic ")))
        secret_headers = [(k, v) for k, v in self.headers if credential_header(k, v)]
        for index, (name, value) in enumerate(secret_headers + list(self.secret_headers)):
            out.append((name, Credential(f"OTLP_HEADER_{index}", value, source=f"the {name} header value")))
        return out

    def memory_limiter(self) -> Dict[str, int]:
        """memory_limiter sized from the container limit: 80% hard, 20% of the limit as spike."""
        limit = memory_mib(self.memory_limit)
        return {"limit_mib": max(limit * 4 // 5, 1), "spike_limit_mib": max(limit // 5, 1)}

    def validate(self) -> "InstallOptions":
        if not _DNS_LABEL.match(self.namespace) or len(self.namespace) > 63:
            raise UsageError(f"invalid namespace {self.namespace!r}: use a DNS label like observability")
        if not _DNS_LABEL.match(self.linkerd_namespace):
            raise UsageError(f"invalid --linkerd-namespace {self.linkerd_namespace!r}")
        if self.mode not in MODES:
            raise UsageError(f"invalid --mode {self.mode!r}: use deployment, daemonset or operator")
        if not 1 <= self.replicas <= 100:
            raise UsageError(f"--replicas {self.replicas}: give from 1 to 100 collectors")
        if self.exporter_protocol not in PROTOCOLS:
            raise UsageError(f"invalid --exporter-protocol {self.exporter_protocol!r}: use grpc or http")
        if self.temporality not in ("cumulative", "delta"):
            raise UsageError(f"invalid --temporality {self.temporality!r}: use cumulative or delta")
        if self.distribution is not None and self.distribution not in DISTRIBUTIONS:
            raise UsageError(f"invalid --distribution {self.distribution!r}: use core, contrib or k8s")
        if not self.image.strip():
            raise UsageError(f"--image is empty: give an image, e.g. {DEFAULT_IMAGE}")
        if any(c.isspace() for c in self.image):
            raise UsageError(f"invalid --image {self.image!r}")
        check_image(self.image)
        if self.exporter_endpoint is not None and not self.exporter_endpoint.strip():
            raise UsageError("--exporter-endpoint is empty: give host:port (grpc) or a URL (http)")
        if self.exporter_endpoint is not None and not any(c.isspace() for c in self.exporter_endpoint.strip()):
            check_endpoint(self.exporter_endpoint, self.exporter_protocol)
        if self.exporter_endpoint is not None and endpoint_has_userinfo(self.exporter_endpoint):
            # first, and never echo the endpoint: it holds the credentials
            raise UsageError("--exporter-endpoint holds credentials (user:password@): give the endpoint "
                             "without them and the credentials with --basic-auth-from-env")
        if self.exporter_endpoint is not None and any(c.isspace() for c in self.exporter_endpoint):
            raise UsageError(f"invalid --exporter-endpoint {self.exporter_endpoint!r}: it contains spaces")
        if (self.exporter_protocol == "http" and self.exporter_endpoint is not None
                and not self.exporter_endpoint.lower().startswith(("http://", "https://"))):
            raise UsageError(f"--exporter-protocol http needs a URL: use --exporter-endpoint "
                             f"https://{self.exporter_endpoint.strip()}")
        if self.insecure and self.ca_pem:
            raise UsageError("--insecure and --ca-file exclude each other: pick one")
        if self.uses_demo_backend and (self.headers or self.secret_headers or self.basic_auth
                                       or self.insecure or self.ca_pem
                                       or self.exporter_protocol != "grpc"):
            raise UsageError("exporter options need --exporter-endpoint (without it the demo "
                             "OpenObserve backend is used, over gRPC)")
        if self.ca_pem and "PRIVATE KEY" in self.ca_pem:
            raise UsageError("--ca-file holds a private key: give only the CA certificate (the key must "
                             "not go into the collector's config)")
        # never echo credential values
        if self.basic_auth is not None and (":" not in self.basic_auth or self.basic_auth.startswith(":")):
            raise UsageError("--basic-auth needs USER:PASSWORD (with a user name)")
        if self.basic_auth is not None and not self.basic_auth.split(":", 1)[1]:
            raise UsageError("--basic-auth needs USER:PASSWORD: the password is empty (was a shell "
                             "variable unset?)")
        if self.basic_auth is not None and _CONTROL.search(self.basic_auth):
            raise UsageError("--basic-auth contains a line break or control character: give USER:PASSWORD")
        names = [name.lower() for name, _value in list(self.headers) + list(self.secret_headers)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UsageError(f"header {repeated[0]!r} is given more than once (header names ignore case)")
        for name, value in list(self.headers) + list(self.secret_headers):
            if not _HEADER_NAME.match(name):
                raise UsageError(f"invalid header name {name!r}: use --header NAME=VALUE")
            if not value.strip():
                raise UsageError(f"--header {name} has an empty value: give NAME=VALUE (was a "
                                 f"shell variable unset?)")
            if _CONTROL.search(value):
                raise UsageError(f"--header {name}: the value contains a line break or control character")
            if not value.isascii():
                raise UsageError(f"--header {name}: the value has non-ASCII characters, which gRPC "
                                 f"metadata and HTTP headers do not carry")
            if name.lower() == "authorization" and self.basic_auth is not None:
                raise UsageError("--header Authorization=... and --basic-auth both set the "
                                 "Authorization header: pick one")
        self._validate_scrape_interval()
        self._validate_endpoint_port()
        memory_mib(self.memory_request)
        memory_mib(self.memory_limit)
        if memory_mib(self.memory_limit) < 64:
            raise UsageError(f"--memory-limit {self.memory_limit} is too small: give at least 64Mi")
        if memory_mib(self.memory_request) > memory_mib(self.memory_limit):
            raise UsageError("--memory-request is larger than --memory-limit")
        for flag, value in (("--cpu-request", self.cpu_request), ("--cpu-limit", self.cpu_limit)):
            if value is not None and not _CPU.match(value):
                raise UsageError(f"invalid {flag} {value!r}: use e.g. 100m or 1")
        if self.cpu_limit is not None and _millicores(self.cpu_request) > _millicores(self.cpu_limit):
            raise UsageError("--cpu-request is larger than --cpu-limit")
        return self

    def _validate_scrape_interval(self) -> None:
        try:
            interval_ms = parse_duration(self.scrape_interval)
        except ScrapeConfigError:
            raise UsageError(f"invalid --scrape-interval {self.scrape_interval!r}: use a Prometheus "
                             "duration like 15s, 30s or 1m") from None
        if interval_ms < 1000:
            raise UsageError(f"--scrape-interval {self.scrape_interval} is too short: give at least 1s")
        if interval_ms > MAX_SCRAPE_INTERVAL_MS:
            raise UsageError(f"--scrape-interval {self.scrape_interval[:40]} is too long: give at most 24h "
                             "(Prometheus marks series stale after 5m without a scrape)")

    def _validate_endpoint_port(self) -> None:
        port = _endpoint_port(self.endpoint)
        if port is not None and parse_port(port) is None:
            raise UsageError(f"invalid --exporter-endpoint {self.endpoint!r}: the port must be a number "
                             f"from 1 to 65535")

    def warnings(self) -> List[str]:
        """Things install does but a user may not mean: an unpinned image, a gRPC endpoint without a
        port (gRPC then dials 443), credentials sent in plain text."""
        found = self.image_warnings()
        if self.credentials_given and self.plain_text:
            how = "--insecure" if self.exporter_protocol == "grpc" else "an http:// endpoint"
            fix = "drop --insecure (--ca-file for a private CA)" if self.exporter_protocol == "grpc" \
                else "use an https:// endpoint"
            found.append(f"the exporter credentials ({self._credential_flags()}) are sent in plain text "
                         f"({how}): anyone on the network path to {self._shown_endpoint()} can read them; "
                         f"{fix}")
        if (self.exporter_protocol == "grpc" and not self.uses_demo_backend
                and _endpoint_port(self.endpoint) is None):
            found.append(f"--exporter-endpoint {self.endpoint} names no port: gRPC will dial port "
                         f"{GRPC_DEFAULT_PORT}; "
                         f"OTLP/gRPC usually listens on 4317 (give host:4317)")
        return found

    def _credential_flags(self) -> str:
        flags = ["--basic-auth"] if self.basic_auth is not None else []
        flags += [f"--header {k}" for k, v in self.headers if credential_header(k, v)]
        flags += [f"--secret-header {k}" for k, _v in self.secret_headers]
        return ", ".join(flags)

    def _shown_endpoint(self) -> str:
        return mask_url(self.endpoint)[:120]

    def image_warnings(self) -> List[str]:
        tag = self.image.rsplit("/", 1)[-1]
        if "@" in tag:
            return []
        if ":" not in tag or tag.endswith(":latest"):
            return [f"image {self.image} is not pinned to a version: every restart may run a "
                    f"different collector; pin a release, e.g. {DEFAULT_IMAGE}"]
        return []


def _endpoint_port(endpoint: str) -> Optional[str]:
    """The port an endpoint names (`host:4317`, `https://host:4318/v1`, `[::1]:4317`), or None."""
    return split_endpoint(endpoint)[2]


def _millicores(quantity: str) -> float:
    return float(quantity[:-1]) if quantity.endswith("m") else float(quantity) * 1000


def parse_header(text: str, flag: str = "--header") -> Tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"invalid {flag} (no '='): use {flag} NAME=VALUE")
    name, value = text.split("=", 1)
    return name.strip(), value


def header_name_ok(name: str) -> bool:
    return bool(_HEADER_NAME.match(name))


def env_name_ok(name: str) -> bool:
    return bool(_ENV_NAME.match(name))
