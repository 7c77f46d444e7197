"""Parse a collector configuration and find what would stop it from working (pure).

`find_problems` covers what the collector itself rejects at start (undefined or unknown components) and
what it silently gets wrong for Linkerd metrics (`$1` in relabel rules, no metrics pipeline from the
prometheus receiver, credentials in plain text, renamed exporters).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple

from ..errors import UsageError
from ..k8s.credentials import ENV_REF, config_credentials
from ..k8s.safeload import yaml_load

KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")

# Components of the core distribution (otel/opentelemetry-collector), from its builder manifest.
CORE = {
    "receivers": {"otlp", "prometheus", "hostmetrics", "jaeger", "kafka", "nop", "zipkin", "opencensus"},
    "processors": {"batch", "memory_limiter", "attributes", "filter", "probabilistic_sampler",
                   "resource", "span"},
    "exporters": {"debug", "otlp", "otlphttp", "otlp_grpc", "otlp_http", "file", "kafka", "nop",
                  "prometheus", "prometheusremotewrite", "zipkin", "logging"},
    "extensions": {"health_check", "pprof", "zpages", "memory_limiter", "healthcheckv2"},
    "connectors": {"forward", "spanmetrics", "routing", "count"},
}

# A selection of contrib components: accepted, with a note that the core image lacks them.
CONTRIB = {
    "receivers": {"k8s_cluster", "k8sobjects", "kubeletstats", "filelog", "journald", "receiver_creator",
                  "simpleprometheus", "prometheus_simple", "statsd", "carbon", "fluentforward",
                  "k8s_events", "hostmetrics", "otlpjsonfile", "opencensus", "jaeger"},
    "processors": {"k8sattributes", "resourcedetection", "transform", "groupbyattrs", "cumulativetodelta",
                   "deltatorate", "metricstransform", "tail_sampling", "redaction", "routing",
                   "groupbytrace", "metricsgeneration", "interval", "attributes", "filter",
                   "probabilistic_sampler", "resource", "span", "memory_limiter", "batch"},
    "exporters": {"loadbalancing", "awsemf", "awsxray", "azuremonitor", "clickhouse", "datadog",
                  "elasticsearch", "googlecloud", "googlemanagedprometheus", "influxdb", "loki",
                  "splunk_hec", "signalfx", "sumologic", "coralogix", "honeycombmarker",
                  "prometheusremotewrite", "prometheus", "file", "kafka", "otelarrow", "debug", "otlp",
                  "otlphttp", "otlp_grpc", "otlp_http"},
    "extensions": {"basicauth", "bearertokenauth", "oauth2client", "headers_setter", "oidc",
                   "file_storage", "k8s_observer", "sigv4auth", "health_check", "pprof", "zpages",
                   "asapclient", "opamp"},
    "connectors": {"spanmetrics", "servicegraph", "count", "routing", "forward", "exceptions",
                   "roundrobin", "sum", "signaltometrics"},
}

RENAMED_EXPORTERS = {"otlp": "otlp_grpc", "otlphttp": "otlp_http"}
RENAME_VERSION = (0, 144)


_IMAGE_VERSION = re.compile(r":v?(\d+)\.(\d+)(?:\.\d+)?")
PLAINTEXT_CREDENTIAL = "plaintext-credential"


@dataclass
class ConfigProblem:
    severity: str      # "error" | "warning"
    message: str
    hint: str = ""
    code: str = ""     # what kind of problem, for callers to filter on (see find_problems)


class ConfigSyntaxError(ValueError):
    """The text is not a YAML mapping; the message reads on from "the collector config is"."""


def read_config(text: str) -> Optional[dict]:
    """The collector config in `text` as a dict, None when the text holds no YAML document at all;
    ConfigSyntaxError when it is not a YAML mapping."""
    # lazy: yaml costs ~12 ms at start-up; `check` loads this module before it knows a config is there to parse
    import yaml

    try:
        data = yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigSyntaxError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or 'parse error'}") \
            from None
    if data is not None and not isinstance(data, dict):
        raise ConfigSyntaxError("not a YAML mapping (expected receivers:, exporters:, service: ...)")
    return data


def parse_config(text: str) -> dict:
    """The collector config in `text` as a dict ({} when empty); UsageError when it is not a YAML mapping."""
    try:
        return read_config(text) or {}
    except ConfigSyntaxError as exc:
        raise UsageError(f"the collector config is {exc}") from None


# the name the `check` helper imports
parse_collector_config = parse_config


def component_type(component_id: str) -> str:
    return str(component_id).split("/", 1)[0]


def _is_core_image(image: Optional[str]) -> bool:
    return bool(image) and "opentelemetry-collector:" in image.rsplit("/", 1)[-1] \
        and "contrib" not in image and "-k8s" not in image


def _image_version(image: Optional[str]) -> Optional[Tuple[int, int]]:
    match = _IMAGE_VERSION.search(image or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def dollar_uses(text: str) -> Iterator[Tuple[int, Optional["re.Match"]]]:
    """Every `$` the collector acts on, as (position, ENV_REF match or None for a bare `$`); `$$` is an
    escaped literal and is skipped."""
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        if text.startswith("$$", i):
            i += 2
            continue
        match = ENV_REF.match(text, i)
        yield i, match
        i = match.end() if match else i + 1


def unescaped_dollars(text: str) -> List[str]:
    """The `$` uses in `text` the collector would expand although the author meant a literal `$`:
    everything but `$$` and `${env:VAR}` / `${VAR}`."""
    return [text[i:i + 8] for i, match in dollar_uses(text) if match is None]


def _expanded(snippet: str) -> bool:
    """`$1`, `$VAR`, `${...}`: the collector treats these as variable references."""
    return len(snippet) > 1 and (snippet[1] == "{" or snippet[1].isalnum() or snippet[1] == "_")


def walk_strings(value, path: str = "") -> Iterator[Tuple[str, str]]:
    """(path, string) for every string inside nested mappings and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def _check_pipelines(config: dict) -> List[ConfigProblem]:
    problems: List[ConfigProblem] = []
    service = _mapping(config.get("service"))
    pipelines = _mapping(service.get("pipelines"))
    if not pipelines:
        return [ConfigProblem("error", "the config has no service.pipelines: the collector does nothing",
                              "add service.pipelines.metrics with the prometheus receiver and an exporter",
                              code="no-pipelines")]
    connectors = set(_mapping(config.get("connectors")))
    for name, pipeline in pipelines.items():
        pipeline = _mapping(pipeline)
        for kind in ("receivers", "processors", "exporters"):
            defined = set(_mapping(config.get(kind)))
            if kind in ("receivers", "exporters"):
                defined |= connectors
            listed = pipeline.get(kind) or []
            if not isinstance(listed, list):
                problems.append(ConfigProblem(
                    "error", f"pipeline {name}: {kind} must be a list, e.g. {kind}: [{listed}]",
                    f"write {kind}: [{listed}]", code="undefined-component"))
                continue
            for component in listed:
                if not isinstance(component, str) or component not in defined:
                    problems.append(ConfigProblem(
                        "error", f"pipeline {name} uses {kind[:-1]} {component!r}, which is not defined "
                                 f"under {kind}:",
                        f"define {component} under {kind}: or remove it from the pipeline",
                        code="undefined-component"))
        if not pipeline.get("receivers") or not pipeline.get("exporters"):
            problems.append(ConfigProblem("error", f"pipeline {name} needs at least one receiver and one "
                                                   f"exporter", code="incomplete-pipeline"))
    extensions = service.get("extensions") or []
    if not isinstance(extensions, list):
        return problems + [ConfigProblem("error", f"service.extensions must be a list, e.g. "
                                                  f"extensions: [{extensions}]", code="undefined-component")]
    for ext in extensions:
        if not isinstance(ext, str) or ext not in _mapping(config.get("extensions")):
            problems.append(ConfigProblem("error", f"service.extensions lists {ext!r}, which is not "
                                                   f"defined under extensions:", code="undefined-component"))
    return problems


def _check_types(config: dict, image: Optional[str]) -> List[ConfigProblem]:
    problems: List[ConfigProblem] = []
    core = _is_core_image(image)
    for kind in KINDS:
        for component in _mapping(config.get(kind)):
            ctype = component_type(component)
            if ctype in CORE[kind]:
                continue
            if ctype in CONTRIB[kind]:
                if core:
                    problems.append(ConfigProblem(
                        "error", f"{kind[:-1]} {component!r} is not in the core collector image {image}",
                        "use otel/opentelemetry-collector-contrib or drop the component", code="not-in-image"))
                continue
            problems.append(ConfigProblem(
                "warning", f"{kind[:-1]} {component!r} is of a type this plugin does not know ({ctype})",
                "check the spelling; the collector refuses unknown types at start", code="unknown-type"))
    return problems


def _metrics_pipeline(config: dict) -> List[ConfigProblem]:
    pipelines = _mapping(_mapping(config.get("service")).get("pipelines"))
    for name, pipeline in pipelines.items():
        pipeline = _mapping(pipeline)
        if component_type(name) != "metrics":
            continue
        receivers = [r for r in pipeline.get("receivers") or [] if component_type(r) == "prometheus"]
        exporters = pipeline.get("exporters") or []
        if receivers and any(component_type(e) != "debug" for e in exporters):
            return []
        if receivers and exporters:
            return [ConfigProblem("warning", f"pipeline {name} only has the debug exporter: Linkerd "
                                             f"metrics are logged, not sent anywhere",
                                  "add an OTLP exporter (install --exporter-endpoint ...)",
                                  code="debug-only-pipeline")]
    return [ConfigProblem("error", "no metrics pipeline goes from a prometheus receiver to an exporter: "
                                   "Linkerd metrics are scraped nowhere or sent nowhere",
                          "add service.pipelines.metrics: {receivers: [prometheus/linkerd], "
                          "exporters: [...]}", code="no-metrics-pipeline")]


def _check_dollars(config: dict) -> List[ConfigProblem]:
    problems: List[ConfigProblem] = []
    for name, receiver in _mapping(config.get("receivers")).items():
        if component_type(name) != "prometheus":
            continue
        for path, text in walk_strings(_mapping(receiver).get("config"), f"receivers.{name}.config"):
            bad = unescaped_dollars(text)
            if bad:
                severe = any(_expanded(b) for b in bad)
                problems.append(ConfigProblem(
                    "error" if severe else "warning",
                    f"{path} has an unescaped $ ({bad[0]!r}): the collector expands $ before "
                    f"Prometheus sees the config",
                    "write every $ of the Prometheus config as $$ (e.g. $$1)", code="unescaped-dollar"))
    return problems


def plaintext_credentials(config: Any) -> List[Tuple[str, str]]:
    """(dotted path, field name) of every credential written literally into exporters or extensions:
    a header whose name looks like one (`Authorization`, `X-Api-Key`, ...), or a field such as
    `password`, `token`, `api_key`. Values that refer to `${env:VAR}` are fine. Never returns values."""
    return [(credential.path, credential.name)
            for section in ("exporters", "extensions")
            for component, body in _mapping(_mapping(config).get(section)).items()
            for credential in config_credentials(body, f"{section}.{component}")
            if credential.kind != "userinfo"]


def _check_credentials(config: dict) -> List[ConfigProblem]:
    # never quote the value: it is the credential
    return [ConfigProblem(
        "error" if name.lower() == "authorization" else "warning",
        f"{path} is written in plain text in the config",
        "keep it in a Secret and write it as ${env:VAR} "
        "(`kubectl linkerd-otel install --basic-auth ...` does this)", code=PLAINTEXT_CREDENTIAL)
        for path, name in plaintext_credentials(config)]


def _check_renamed(config: dict, image: Optional[str]) -> List[ConfigProblem]:
    problems: List[ConfigProblem] = []
    version = _image_version(image)
    for name in _mapping(config.get("exporters")):
        ctype = component_type(name)
        if ctype in RENAMED_EXPORTERS and (version is None or version >= RENAME_VERSION):
            problems.append(ConfigProblem(
                "warning", f"exporter {name!r}: the type {ctype} was renamed {RENAMED_EXPORTERS[ctype]} "
                           f"in collector v0.144",
                f"rename it {RENAMED_EXPORTERS[ctype]}{name[len(ctype):]}", code="deprecated-name"))
        if ctype in RENAMED_EXPORTERS.values() and version is not None and version < RENAME_VERSION:
            old = [k for k, v in RENAMED_EXPORTERS.items() if v == ctype][0]
            problems.append(ConfigProblem(
                "error", f"exporter {name!r}: collector {image} predates v0.144 and knows it as {old}",
                f"rename it {old}{name[len(ctype):]} or use a newer image", code="name-too-new"))
    return problems


def find_problems(config: dict, *, image: Optional[str] = None) -> List[ConfigProblem]:
    """Everything wrong with `config`; `image` (the collector image, if known) sharpens the checks.

    Problem codes: no-pipelines, undefined-component, incomplete-pipeline, not-in-image, unknown-type,
    no-metrics-pipeline, debug-only-pipeline, unescaped-dollar, plaintext-credential, deprecated-name,
    name-too-new."""
    return (_check_pipelines(config) + _check_types(config, image) + _metrics_pipeline(config)
            + _check_dollars(config) + _check_credentials(config) + _check_renamed(config, image))
