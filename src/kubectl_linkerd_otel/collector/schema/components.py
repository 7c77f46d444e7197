"""Schemas of the components the plugin renders and of the ones users commonly add, as data.

Each schema is the mapstructure view of the component's Go config struct (keys, types, the checks of
its `Validate()`), for the v0.1xx line up to collector v0.159.0. Sources, by component (repositories
open-telemetry/opentelemetry-collector = core, open-telemetry/opentelemetry-collector-contrib = contrib):
- gRPC client/server: core `config/configgrpc/configgrpc.go` (ClientConfig, ServerConfig, keepalive);
- HTTP client/server: core `config/confighttp/confighttp.go`; TLS: core `config/configtls/configtls.go`;
- queue / retry / timeout: core `exporter/exporterhelper` (QueueBatchConfig, `config/configretry`);
- memory_limiter: core `internal/memorylimiter/config.go` (Config, GCStatsConfig, Validate);
- batch: core `processor/batchprocessor/config.go`;
- otlp / otlphttp / debug exporters: core `exporter/otlpexporter/config.go`,
  `exporter/otlphttpexporter/config.go`, `exporter/debugexporter/config.go`;
- otlp receiver: core `receiver/otlpreceiver/config.go`;
- zpages: core `extension/zpagesextension/config.go`;
- prometheus receiver: contrib `receiver/prometheusreceiver/config.go` (Config, targetAllocator,
  `validatePromConfig`; `api_server` from v0.123);
- prometheusremotewrite: contrib `exporter/prometheusremotewriteexporter/config.go`;
- filter, resource, attributes, transform, k8sattributes: contrib `processor/<name>processor/config.go`
  (attributes/resource actions: `internal/coreinternal/attraction/attraction.go`);
- health_check, pprof, basicauth, bearertokenauth: contrib `extension/<name>extension/config.go`.
"""
from __future__ import annotations

from typing import Dict

from ...k8s.durations import duration_ns
from .types import (AnyValue, Bool, Component, Duration, Enum, Float, Int, ListOf, MapOf, Obj, Since,
                    Str, obj)

# --- rules (each mirrors a Validate() of the struct) ---------------------------------------------


def _nonempty(key: str, message: str, hint: str = ""):
    def rule(value: dict, emit) -> None:
        if not str(value.get(key) or "").strip():
            emit(key, message, hint)
    return rule


def _one_of(keys, message: str, hint: str = "", exclusive: bool = True):
    def rule(value: dict, emit) -> None:
        present = [k for k in keys if value.get(k) not in (None, "", [], {})]
        if not present:
            emit(None, message, hint)
        elif exclusive and len(present) > 1:
            emit(present[1], f"{' and '.join(present)} cannot both be set", f"keep one of {', '.join(keys)}")
    return rule


def _num(value, key) -> float:
    item = value.get(key)
    return item if isinstance(item, (int, float)) and not isinstance(item, bool) else 0


def _memory_limiter(value: dict, emit) -> None:
    if str(value.get("model") or "gcstats").lower() == "admission":
        if not _num(_mapping(value.get("admission")), "request_limit_mib"):
            emit("admission.request_limit_mib", "'request_limit_mib' must be greater than zero")
        return
    interval = duration_ns(value.get("check_interval"))
    if interval is not None and interval <= 0:
        emit("check_interval", "'check_interval' must be greater than zero",
             "set check_interval: 1s (the limiter checks memory that often)")
    limit, pct = _num(value, "limit_mib"), _num(value, "limit_percentage")
    spike, spike_pct = _num(value, "spike_limit_mib"), _num(value, "spike_limit_percentage")
    if not limit and not pct and not _env_ref(value, "limit_mib", "limit_percentage"):
        emit(None, "'limit_mib' or 'limit_percentage' must be greater than zero",
             "set limit_mib to about 80% of the container's memory limit")
    if pct > 100 or spike_pct > 100:
        emit("limit_percentage" if pct > 100 else "spike_limit_percentage",
             "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than or "
             "equal to hundred")
    if limit and limit <= spike:
        emit("spike_limit_mib", "'spike_limit_mib' must be smaller than 'limit_mib'",
             "about 20% of limit_mib is usual")
    if pct and pct <= spike_pct:
        emit("spike_limit_percentage", "'spike_limit_percentage' must be smaller than 'limit_percentage'")
    soft = duration_ns(value.get("min_gc_interval_when_soft_limited"))
    hard = duration_ns(value.get("min_gc_interval_when_hard_limited"))
    if soft is not None and hard is not None and soft < hard:
        emit("min_gc_interval_when_soft_limited", "'min_gc_interval_when_soft_limited' should be larger "
                                                  "than 'min_gc_interval_when_hard_limited'")


def _env_ref(value: dict, *keys: str) -> bool:
    return any("${" in str(value.get(k)) for k in keys if isinstance(value.get(k), str))


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _batch(value: dict, emit) -> None:
    size, most = _num(value, "send_batch_size"), _num(value, "send_batch_max_size")
    if most and most < size:
        emit("send_batch_max_size", "send_batch_max_size must be greater or equal to send_batch_size")


def _queue(value: dict, emit) -> None:
    if value.get("enabled") is False:
        return
    if "queue_size" in value and _num(value, "queue_size") <= 0 and not _env_ref(value, "queue_size"):
        emit("queue_size", "`queue_size` must be positive")
    if "num_consumers" in value and _num(value, "num_consumers") <= 0 and not _env_ref(value, "num_consumers"):
        emit("num_consumers", "`num_consumers` must be positive")


def _http_url(key: str):
    def rule(value: dict, emit) -> None:
        url = value.get(key)
        if isinstance(url, str) and url.strip() and "${" not in url and \
                not url.lower().startswith(("http://", "https://")):
            emit(key, f"{key} {url!r} must be a URL with a scheme (http:// or https://)")
    return rule


def _otlp_protocols(value: dict, emit) -> None:
    # `grpc:` with no value (or {}) enables the protocol with its defaults; only the keys count
    protocols = value.get("protocols")
    if protocols is not None and not isinstance(protocols, dict):
        return      # the walker says it is not a mapping
    if not protocols or ("grpc" not in protocols and "http" not in protocols):
        emit(None, "must specify at least one protocol when using the OTLP receiver",
             "add protocols: {grpc: {endpoint: 0.0.0.0:4317}}")


def _health_check_path(value: dict, emit) -> None:
    # contrib extension/healthcheckextension/config.go Validate: errInvalidPath (also for "")
    path = value.get("path")
    if "path" in value and path is not None and isinstance(path, str) and "${" not in path \
            and not path.startswith("/"):
        emit("path", "path must start with /", f"write it /{path}")


def _prometheus_receiver(value: dict, emit) -> None:
    config = value.get("config")
    scrape = _mapping(config).get("scrape_configs")
    if not scrape and not value.get("target_allocator"):
        emit("config", "no Prometheus scrape_configs or target_allocator set",
             "add config.scrape_configs (install renders the Linkerd jobs)")
    for feature in ("remote_write", "remote_read", "rule_files", "alerting"):
        if _mapping(config).get(feature):
            emit(f"config.{feature}", f"unsupported feature {feature}: the receiver only scrapes")


def _actions(key: str):
    def rule(value: dict, emit) -> None:
        if not value.get(key):
            emit(key, f"missing required field \"{key}\"", f"list at least one action under {key}:")
        for index, action in enumerate(value.get(key) or []):
            if isinstance(action, dict) and not action.get("key") and not action.get("pattern"):
                emit(f"{key}[{index}].key", "missing required field \"key\"")
    return rule


# --- shared blocks --------------------------------------------------------------------------------

TLS_VERSION = Enum(("", "1.0", "1.1", "1.2", "1.3"))
_TLS_COMMON = dict(
    ca_file=Str(), ca_pem=Str(), cert_file=Str(), cert_pem=Str(), key_file=Str(), key_pem=Str(),
    min_version=TLS_VERSION, max_version=TLS_VERSION, cipher_suites=ListOf(Str()),
    reload_interval=Duration(min_ns=0), include_system_ca_certs_pool=Bool(),
    curve_preferences=ListOf(Str()), tpm=AnyValue())
TLS_CLIENT = Obj(dict(_TLS_COMMON, insecure=Bool(), insecure_skip_verify=Bool(), server_name_override=Str()))
TLS_SERVER = Obj(dict(_TLS_COMMON, client_ca_file=Str(), client_ca_file_reload=Bool()))
AUTH = obj(required=("authenticator",), authenticator=Str())
MIDDLEWARES = ListOf(obj(id=Str()))
COMPRESSION = Enum(("", "none", "gzip", "zlib", "deflate", "snappy", "zstd", "lz4", "x-snappy-framed"))
HEADERS = MapOf(Str())

GRPC_CLIENT = Obj(dict(
    endpoint=Str(), compression=COMPRESSION, tls=TLS_CLIENT,
    keepalive=obj(time=Duration(min_ns=0), timeout=Duration(min_ns=0), permit_without_stream=Bool()),
    read_buffer_size=Int(min=0), write_buffer_size=Int(min=0), wait_for_ready=Bool(), headers=HEADERS,
    balancer_name=Enum(("", "pick_first", "round_robin")), authority=Str(), auth=AUTH,
    middlewares=MIDDLEWARES))

HTTP_CLIENT = Obj(dict(
    endpoint=Str(), proxy_url=Str(), tls=TLS_CLIENT, read_buffer_size=Int(min=0),
    write_buffer_size=Int(min=0), timeout=Duration(min_ns=0), headers=HEADERS, auth=AUTH,
    compression=COMPRESSION, compression_params=obj(level=Int()), max_idle_conns=Int(min=0),
    max_idle_conns_per_host=Int(min=0), max_conns_per_host=Int(min=0), idle_conn_timeout=Duration(min_ns=0),
    disable_keep_alives=Bool(), http2_read_idle_timeout=Duration(min_ns=0),
    http2_ping_timeout=Duration(min_ns=0), cookies=obj(enabled=Bool()), middlewares=MIDDLEWARES,
    force_attempt_http2=Bool()))

GRPC_SERVER = Obj(dict(
    endpoint=Str(), transport=Enum(("", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram",
                                    "unixpacket")),
    tls=TLS_SERVER, max_recv_msg_size_mib=Int(min=0), max_concurrent_streams=Int(min=0),
    read_buffer_size=Int(min=0), write_buffer_size=Int(min=0),
    keepalive=obj(server_parameters=obj(max_connection_idle=Duration(), max_connection_age=Duration(),
                                        max_connection_age_grace=Duration(), time=Duration(),
                                        timeout=Duration()),
                  enforcement_policy=obj(min_time=Duration(), permit_without_stream=Bool())),
    auth=AUTH, include_metadata=Bool(), middlewares=MIDDLEWARES))

HTTP_SERVER = Obj(dict(
    endpoint=Str(), tls=TLS_SERVER,
    cors=obj(allowed_origins=ListOf(Str()), allowed_headers=ListOf(Str()), max_age=Int(min=0)),
    auth=obj(required=("authenticator",), authenticator=Str(), request_params=ListOf(Str())),
    max_request_body_size=Int(min=0), include_metadata=Bool(), response_headers=HEADERS,
    compression_algorithms=ListOf(Str()), read_timeout=Duration(min_ns=0),
    read_header_timeout=Duration(min_ns=0), write_timeout=Duration(min_ns=0), idle_timeout=Duration(min_ns=0),
    middlewares=MIDDLEWARES, keepalives_enabled=Bool()))

RETRY = obj(enabled=Bool(), initial_interval=Duration(min_ns=0), randomization_factor=Float(min=0, max=1),
            multiplier=Float(min=0), max_interval=Duration(min_ns=0), max_elapsed_time=Duration(min_ns=0))
SENDING_QUEUE = obj(
    rules=(_queue,), enabled=Bool(), num_consumers=Int(), queue_size=Int(), blocking=Bool(),
    block_on_overflow=Bool(), wait_for_result=Bool(), storage=Str(),
    sizer=Enum(("requests", "items", "bytes")),
    batch=obj(flush_timeout=Duration(min_ns=0), min_size=Int(min=0), max_size=Int(min=0),
              sizer=Enum(("requests", "items", "bytes"))))
EXPORTER_HELPER = dict(timeout=Duration(min_ns=0), sending_queue=SENDING_QUEUE, retry_on_failure=RETRY)

ATTR_ACTION = obj(key=Str(), value=AnyValue(), pattern=Str(), from_attribute=Str(), from_context=Str(),
                  action=Enum(("insert", "update", "upsert", "delete", "hash", "extract", "convert"),
                              case_insensitive=True),
                  converted_type=Enum(("int", "double", "string")))
MATCH = AnyValue("match properties")
STATEMENTS = ListOf(AnyValue("a statement or a group of statements"))

# --- components -----------------------------------------------------------------------------------

RECEIVERS: Dict[str, Component] = {
    "prometheus": Component(obj(
        rules=(_prometheus_receiver,),
        config=AnyValue("a Prometheus config"), trim_metric_suffixes=Bool(), use_start_time_metric=Bool(),
        start_time_metric_regex=Str(), report_extra_metrics=Bool(),
        target_allocator=obj(endpoint=Str(), interval=Duration(min_ns=0), collector_id=Str(),
                             http_sd_config=AnyValue(), http_scrape_config=AnyValue(), tls=TLS_CLIENT,
                             headers=HEADERS, auth=AUTH),
        api_server=Since((0, 123), obj(enabled=Bool(), server_config=HTTP_SERVER))),
        signals=("metrics",), source="contrib receiver/prometheusreceiver/config.go"),
    "otlp": Component(obj(
        rules=(_otlp_protocols,), required=("protocols",),
        protocols=obj(grpc=GRPC_SERVER,
                      http=HTTP_SERVER.extend(dict(traces_url_path=Str(), metrics_url_path=Str(),
                                                   logs_url_path=Str(), profiles_url_path=Str())))),
        signals=("traces", "metrics", "logs", "profiles"), source="core receiver/otlpreceiver/config.go"),
}

PROCESSORS: Dict[str, Component] = {
    "batch": Component(obj(
        rules=(_batch,), timeout=Duration(min_ns=0), send_batch_size=Int(min=0),
        send_batch_max_size=Int(min=0), metadata_keys=ListOf(Str()), metadata_cardinality_limit=Int(min=0)),
        signals=("traces", "metrics", "logs", "profiles"), source="core processor/batchprocessor/config.go"),
    "memory_limiter": Component(obj(
        required=("check_interval",), rules=(_memory_limiter,),
        check_interval=Duration(), limit_mib=Int(min=0, max=2 ** 32 - 1),
        spike_limit_mib=Int(min=0, max=2 ** 32 - 1), limit_percentage=Int(min=0, max=2 ** 32 - 1),
        spike_limit_percentage=Int(min=0, max=2 ** 32 - 1),
        min_gc_interval_when_soft_limited=Duration(min_ns=0), min_gc_interval_when_hard_limited=Duration(min_ns=0),
        model=Enum(("gcstats", "admission"), case_insensitive=True),
        admission=obj(request_limit_mib=Int(min=0), waiting_limit_mib=Int(min=0))),
        signals=("traces", "metrics", "logs", "profiles"), source="core internal/memorylimiter/config.go"),
    "filter": Component(obj(
        error_mode=Enum(("ignore", "silent", "propagate")),
        metrics=obj(include=MATCH, exclude=MATCH, metric=ListOf(Str()), datapoint=ListOf(Str()),
                    metric_conditions=STATEMENTS),
        logs=obj(include=MATCH, exclude=MATCH, log_record=ListOf(Str()), log_conditions=STATEMENTS),
        traces=obj(span=ListOf(Str()), spanevent=ListOf(Str()), span_conditions=STATEMENTS),
        spans=obj(include=MATCH, exclude=MATCH),
        profiles=obj(profile=ListOf(Str()))),
        source="contrib processor/filterprocessor/config.go"),
    "resource": Component(obj(rules=(_actions("attributes"),), attributes=ListOf(ATTR_ACTION)),
                          source="contrib processor/resourceprocessor/config.go"),
    "attributes": Component(obj(rules=(_actions("actions"),), actions=ListOf(ATTR_ACTION),
                                include=MATCH, exclude=MATCH),
                            source="contrib processor/attributesprocessor/config.go"),
    "transform": Component(obj(
        error_mode=Enum(("ignore", "silent", "propagate")), trace_statements=STATEMENTS,
        metric_statements=STATEMENTS, log_statements=STATEMENTS, profile_statements=STATEMENTS,
        flatten_data=Bool()), source="contrib processor/transformprocessor/config.go"),
    "k8sattributes": Component(obj(
        auth_type=Enum(("none", "serviceAccount", "kubeConfig", "tls")), context=Str(), passthrough=Bool(),
        extract=obj(metadata=ListOf(Str()),
                    labels=ListOf(obj(tag_name=Str(), key=Str(), key_regex=Str(),
                                      **{"from": Enum(("pod", "namespace", "node"))})),
                    annotations=ListOf(obj(tag_name=Str(), key=Str(), key_regex=Str(),
                                           **{"from": Enum(("pod", "namespace", "node"))})),
                    otel_annotations=Bool(), deployment_name_from_replicaset=Bool()),
        filter=obj(node=Str(), node_from_env_var=Str(), namespace=Str(), fields=ListOf(AnyValue()),
                   labels=ListOf(AnyValue())),
        pod_association=ListOf(obj(sources=ListOf(obj(
            name=Str(), **{"from": Enum(("resource_attribute", "connection"))})))),
        exclude=obj(pods=ListOf(obj(name=Str()))), wait_for_metadata=Bool(),
        wait_for_metadata_timeout=Duration(min_ns=0)),
        source="contrib processor/k8sattributesprocessor/config.go"),
}

_OTLP_GRPC = Component(GRPC_CLIENT.extend(EXPORTER_HELPER, rules=(
    _nonempty("endpoint", 'requires a non-empty "endpoint"', "give the backend's host:port (4317)"),)),
    signals=("traces", "metrics", "logs", "profiles"), source="core exporter/otlpexporter/config.go")
_OTLP_HTTP = Component(HTTP_CLIENT.extend(dict(
    EXPORTER_HELPER, traces_endpoint=Str(), metrics_endpoint=Str(), logs_endpoint=Str(),
    profiles_endpoint=Str(), encoding=Enum(("proto", "json"))), rules=(
    _one_of(("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint", "profiles_endpoint"),
            "at least one endpoint must be specified", "give endpoint: https://host:4318", exclusive=False),
    _http_url("endpoint"), _http_url("metrics_endpoint"))),
    signals=("traces", "metrics", "logs", "profiles"), source="core exporter/otlphttpexporter/config.go")

EXPORTERS: Dict[str, Component] = {
    "otlp_grpc": _OTLP_GRPC, "otlp": _OTLP_GRPC,
    "otlp_http": _OTLP_HTTP, "otlphttp": _OTLP_HTTP,
    "debug": Component(obj(
        verbosity=Enum(("basic", "normal", "detailed"), case_insensitive=True), sampling_initial=Int(min=0),
        sampling_thereafter=Int(min=0), use_internal_logger=Bool(), sending_queue=SENDING_QUEUE),
        signals=("traces", "metrics", "logs", "profiles"), source="core exporter/debugexporter/config.go"),
    "prometheusremotewrite": Component(HTTP_CLIENT.extend(dict(
        timeout=Duration(min_ns=0), retry_on_failure=RETRY, namespace=Str(), external_labels=MapOf(Str()),
        resource_to_telemetry_conversion=obj(enabled=Bool()),
        remote_write_queue=obj(enabled=Bool(), queue_size=Int(min=0), num_consumers=Int(min=0)),
        target_info=obj(enabled=Bool()), export_created_metric=obj(enabled=Bool()),
        add_metric_suffixes=Bool(), send_metadata=Bool(), max_batch_size_bytes=Int(min=0),
        max_batch_request_parallelism=Int(min=1),
        protobuf_message=Enum(("prometheus.WriteRequest", "io.prometheus.write.v2.Request")),
        wal=obj(directory=Str(), buffer_size=Int(min=0), truncate_frequency=Duration(min_ns=0),
                lag_record_frequency=Int(min=0))),
        rules=(_nonempty("endpoint", 'requires a non-empty "endpoint"', "give the remote-write URL"),
               _http_url("endpoint"))),
        signals=("metrics",), source="contrib exporter/prometheusremotewriteexporter/config.go"),
}

EXTENSIONS: Dict[str, Component] = {
    "health_check": Component(HTTP_SERVER.extend(dict(
        path=Str(), response_body=obj(healthy=Str(), unhealthy=Str()),
        check_collector_pipeline=obj(enabled=Bool(), interval=Str(), exporter_failure_threshold=Int(min=0))),
        rules=(_health_check_path,)),
        signals=(), source="contrib extension/healthcheckextension/config.go"),
    "pprof": Component(obj(endpoint=Str(), block_profile_fraction=Int(min=0), mutex_profile_fraction=Int(min=0),
                           save_to_file=Str(), transport=Str()),
                       signals=(), source="contrib extension/pprofextension/config.go"),
    "zpages": Component(HTTP_SERVER.extend(dict(expvar=obj(enabled=Bool()))),
                        signals=(), source="core extension/zpagesextension/config.go"),
    "basicauth": Component(obj(
        rules=(_one_of(("htpasswd", "client_auth"), "either client_auth or htpasswd must be set",
                       "for an exporter: client_auth: {username: ..., password: ${env:OTLP_PASSWORD}}"),),
        htpasswd=obj(file=Str(), inline=Str()),
        client_auth=obj(required=("username",), username=Str(), password=Str())),
        signals=(), source="contrib extension/basicauthextension/config.go"),
    "bearertokenauth": Component(obj(
        rules=(_one_of(("token", "filename", "tokens"), "either token, tokens or filename must be set",
                       "token: ${env:BEARER_TOKEN}"),),
        scheme=Str(), token=Str(), tokens=ListOf(Str()), filename=Str(), header=Str()),
        signals=(), source="contrib extension/bearertokenauthextension/config.go"),
}

CONNECTORS: Dict[str, Component] = {}

BY_KIND: Dict[str, Dict[str, Component]] = {
    "receivers": RECEIVERS, "processors": PROCESSORS, "exporters": EXPORTERS, "extensions": EXTENSIONS,
    "connectors": CONNECTORS,
}

LOG_LEVEL = Enum(("debug", "info", "warn", "error", "dpanic", "panic", "fatal"), case_insensitive=True)
SERVICE = obj(
    extensions=ListOf(Str()), pipelines=MapOf(AnyValue("a pipeline")),
    telemetry=obj(
        logs=obj(level=LOG_LEVEL, development=Bool(), encoding=Enum(("console", "json")),
                 disable_caller=Bool(), disable_stacktrace=Bool(),
                 sampling=obj(enabled=Bool(), tick=Duration(min_ns=0), initial=Int(min=0),
                              thereafter=Int(min=0)),
                 output_paths=ListOf(Str()), error_output_paths=ListOf(Str()), initial_fields=MapOf(),
                 processors=ListOf(AnyValue())),
        metrics=obj(level=Enum(("none", "basic", "normal", "detailed"), case_insensitive=True),
                    address=Str(), readers=ListOf(AnyValue("a metric reader")), views=ListOf(AnyValue())),
        traces=obj(level=Enum(("none", "basic", "normal", "detailed"), case_insensitive=True),
                   propagators=ListOf(Str()), processors=ListOf(AnyValue()), sampler=AnyValue()),
        resource=MapOf()))
PIPELINE = obj(receivers=ListOf(Str()), processors=ListOf(Str()), exporters=ListOf(Str()))
TOP_LEVEL = ("receivers", "processors", "exporters", "extensions", "connectors", "service")
