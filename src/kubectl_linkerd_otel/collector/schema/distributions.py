"""Which component types each collector distribution ships, and from or until which version (data).

Distributions are those of open-telemetry/opentelemetry-collector-releases: `distributions/otelcol`
(image otel/opentelemetry-collector, "core"), `distributions/otelcol-contrib`
(otel/opentelemetry-collector-contrib) and `distributions/otelcol-k8s` (otel/opentelemetry-collector-k8s),
each a `manifest.yaml` listing its components (read at the v0.96 line for k8s; core and contrib as the
plugin's existing tables in collector/config.py, v0.159 line). Version facts: the collector's changelogs
(v0.144: exporters `otlp` -> `otlp_grpc`, `otlphttp` -> `otlp_http`, the old names kept as deprecated
aliases; v0.86: the `debug` exporter added; v0.111: the `logging` exporter removed, use `debug`).
"""
from __future__ import annotations

import re
from typing import Dict, Optional, Set, Tuple

from ..config import CONTRIB, CORE
from .components import BY_KIND
from .types import Since

Version = Tuple[int, int]

CORE_NAME, CONTRIB_NAME, K8S_NAME = "core", "contrib", "k8s"
DISTRIBUTIONS = (CORE_NAME, CONTRIB_NAME, K8S_NAME)
PINNED_VERSION = "0.159.0"
IMAGES = {
    CORE_NAME: "otel/opentelemetry-collector",
    CONTRIB_NAME: "otel/opentelemetry-collector-contrib",
    K8S_NAME: "otel/opentelemetry-collector-k8s",
}
PINNED_IMAGES = {name: f"{repo}:{PINNED_VERSION}" for name, repo in IMAGES.items()}

_K8S = {
    "receivers": {"otlp", "filelog", "fluentforward", "hostmetrics", "httpcheck", "jaeger", "journald",
                  "k8s_cluster", "k8s_events", "k8sobjects", "kubeletstats", "opencensus", "prometheus",
                  "receiver_creator", "zipkin"},
    "processors": {"batch", "memory_limiter", "attributes", "cumulativetodelta", "deltatorate", "filter",
                   "groupbyattrs", "groupbytrace", "k8sattributes", "metricstransform",
                   "probabilistic_sampler", "redaction", "remotetap", "resourcedetection", "resource",
                   "tail_sampling", "transform"},
    "exporters": {"debug", "otlp", "otlphttp", "otlp_grpc", "otlp_http", "loadbalancing"},
    "extensions": {"zpages", "basicauth", "bearertokenauth", "headers_setter", "health_check",
                   "http_forwarder", "oauth2client", "host_observer", "k8s_observer", "oidc", "pprof",
                   "file_storage"},
    "connectors": {"forward", "count", "routing", "servicegraph", "spanmetrics"},
}
_CONTRIB = {kind: set(CONTRIB[kind]) | set(CORE[kind]) | set(_K8S[kind]) for kind in CORE}

COMPONENTS: Dict[str, Dict[str, Set[str]]] = {
    CORE_NAME: {kind: set(types) for kind, types in CORE.items()},
    CONTRIB_NAME: _CONTRIB,
    K8S_NAME: _K8S,
}

# (kind, type) -> (first version that has it, first version that no longer has it)
VERSIONED: Dict[Tuple[str, str], Tuple[Optional[Version], Optional[Version]]] = {
    ("exporters", "otlp_grpc"): ((0, 144), None),
    ("exporters", "otlp_http"): ((0, 144), None),
    ("exporters", "logging"): (None, (0, 111)),
    ("exporters", "debug"): ((0, 86), None),
}
# old name -> new name, and the version that renamed it (the old one still works, with a warning)
RENAMED = {("exporters", "otlp"): ("otlp_grpc", (0, 144)), ("exporters", "otlphttp"): ("otlp_http", (0, 144))}

_TAG = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def parse_image(image: Optional[str]) -> Tuple[Optional[str], Optional[Version]]:
    """(distribution, (major, minor)) of a collector image reference; None for what it does not say."""
    if not image:
        return None, None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    distribution = {"opentelemetry-collector": CORE_NAME, "opentelemetry-collector-contrib": CONTRIB_NAME,
                    "opentelemetry-collector-k8s": K8S_NAME, "otelcol": CORE_NAME,
                    "otelcol-contrib": CONTRIB_NAME, "otelcol-k8s": K8S_NAME}.get(name)
    match = _TAG.match(tag)
    version = (int(match.group(1)), int(match.group(2))) if match else None
    return distribution, version


def exists(kind: str, ctype: str, version: Optional[Version]) -> bool:
    """Whether the collector of `version` (None: the newest) has this type at all, in any distribution."""
    since, until = VERSIONED.get((kind, ctype), (None, None))
    if version is None:
        return until is None
    return (since is None or version >= since) and (until is None or version < until)


def distributions_with(kind: str, ctype: str) -> Tuple[str, ...]:
    return tuple(d for d in DISTRIBUTIONS if ctype in COMPONENTS[d][kind])


def known_anywhere(kind: str, ctype: str) -> bool:
    return bool(distributions_with(kind, ctype))


def exporter_type(protocol: str, version: Optional[Version]) -> str:
    """The OTLP exporter type the collector of `version` knows under its current name."""
    new = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    old = "otlp" if protocol == "grpc" else "otlphttp"
    return new if exists("exporters", new, version) else old


def format_version(version: Optional[Version]) -> str:
    return "v%d.%d" % version if version else "unknown"


def has_key(kind: str, ctype: str, key: str, version: Optional[Version]) -> bool:
    """Whether the collector of `version` (None: the newest) knows `key` at the top of that component."""
    component = BY_KIND[kind].get(ctype)
    spec = component.schema.fields.get(key) if component is not None else None
    if spec is None:
        return False
    return not (isinstance(spec, Since) and version is not None and version < spec.version)
