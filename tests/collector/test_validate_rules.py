"""collector/validate.py: one config per rule that breaks it; every message names the key path."""
from __future__ import annotations

import copy
import itertools

import pytest

from kubectl_linkerd_otel.collector.schema.distributions import PINNED_IMAGES, parse_image
from kubectl_linkerd_otel.collector.validate import validate
from kubectl_linkerd_otel.k8s.durations import duration_ns
from kubectl_linkerd_otel.render.collector_config import collector_config
from kubectl_linkerd_otel.scrape.metrics import GOLDEN
from kubectl_linkerd_otel.render.options import InstallOptions

CORE = PINNED_IMAGES["core"]


def rendered(**kw):
    return collector_config(InstallOptions(**kw).validate())


def errors(config, image=CORE, **kw):
    return [p for p in validate(config, image=image, **kw) if p.severity == "error"]


def only(config, image=CORE, **kw):
    """The one error of `config` (as (path, message))."""
    found = errors(config, image, **kw)
    assert len(found) == 1, [p.message for p in found]
    return found[0].path, found[0].message


@pytest.mark.parametrize("mode, distribution, metrics, protocol", list(itertools.product(
    ("deployment", "daemonset"), ("core", "contrib", "k8s"), (None, list(GOLDEN), ["request_total"]),
    ("grpc", "http"))))
def test_every_rendered_config_validates_clean(mode, distribution, metrics, protocol):
    extra = {"exporter_endpoint": "https://otlp.example:4318"} if protocol == "http" else {}
    opts = InstallOptions(mode=mode, image=PINNED_IMAGES[distribution], distribution=distribution,
                          metrics_keep=metrics, exporter_protocol=protocol, debug_exporter=True, **extra)
    config = collector_config(opts.validate())
    assert [p.message for p in validate(config, image=opts.image, distribution=distribution)
            if p.code != "plaintext-credential"] == []


@pytest.mark.parametrize("image", ["otel/opentelemetry-collector:0.130.0", "otel/opentelemetry-collector:0.100.0",
                                   "otel/opentelemetry-collector-contrib:0.120.1"])
def test_older_images_render_what_they_know_and_validate_clean(image):
    config = rendered(image=image)
    assert "otlp/backend" in config["exporters"]
    assert errors(config, image) == []


def test_unknown_key_names_the_path_and_the_nearest_key():
    config = rendered()
    config["exporters"]["otlp_grpc/backend"]["endpointt"] = "x:4317"
    path, message = only(config)
    assert path == "exporters.otlp_grpc/backend.endpointt"
    assert message == ("exporters.otlp_grpc/backend.endpointt: unknown key 'endpointt'; did you mean "
                       "'endpoint'?")


def test_unknown_nested_key():
    config = rendered()
    config["exporters"]["otlp_grpc/backend"]["tls"]["insecur"] = True
    assert only(config)[1].endswith("tls.insecur: unknown key 'insecur'; did you mean 'insecure'?")


def test_unknown_top_level_key():
    config = rendered()
    config["exporter"] = {}
    assert only(config) == ("exporter", "exporter: unknown top-level key 'exporter'; did you mean 'exporters'?")


def test_key_newer_than_the_image():
    config = rendered(image="otel/opentelemetry-collector:0.130.0")   # has the receiver's api_server (v0.123)
    path, message = only(config, image="otel/opentelemetry-collector:0.110.0")
    assert path == "receivers.prometheus/linkerd.api_server"
    assert "added in v0.123" in message


def test_memory_limiter_without_a_limit():
    config = rendered()
    config["processors"]["memory_limiter"] = {"check_interval": "1s"}
    assert only(config) == ("processors.memory_limiter",
                            "processors.memory_limiter: 'limit_mib' or 'limit_percentage' must be greater than zero")


def test_memory_limiter_needs_check_interval():
    config = rendered()
    del config["processors"]["memory_limiter"]["check_interval"]
    assert only(config) == ("processors.memory_limiter.check_interval",
                            "processors.memory_limiter.check_interval: is required")


def test_memory_limiter_spike_not_below_limit():
    config = rendered()
    config["processors"]["memory_limiter"]["spike_limit_mib"] = 100_000
    assert only(config)[0] == "processors.memory_limiter.spike_limit_mib"


def test_percentage_out_of_range():
    config = rendered()
    config["processors"]["memory_limiter"] = {"check_interval": "1s", "limit_percentage": 180}
    assert only(config)[0] == "processors.memory_limiter.limit_percentage"


def test_wrong_type():
    config = rendered()
    config["processors"]["batch"] = {"send_batch_size": "lots"}
    assert only(config) == ("processors.batch.send_batch_size",
                            "processors.batch.send_batch_size: must be an integer, not the string 'lots'")


def test_wrong_type_mapping_for_a_scalar():
    config = rendered()
    config["exporters"]["otlp_grpc/backend"]["endpoint"] = {"host": "x"}
    assert only(config)[0] == "exporters.otlp_grpc/backend.endpoint"


def test_negative_is_out_of_range():
    config = rendered()
    config["exporters"]["otlp_grpc/backend"]["read_buffer_size"] = -1
    assert only(config) == ("exporters.otlp_grpc/backend.read_buffer_size",
                            "exporters.otlp_grpc/backend.read_buffer_size: must be at least 0, not -1")


def test_batch_max_below_size():
    config = rendered()
    config["processors"]["batch"] = {"send_batch_size": 1000, "send_batch_max_size": 10}
    assert only(config)[0] == "processors.batch.send_batch_max_size"


def test_bad_duration():
    config = rendered()
    config["processors"]["batch"] = {"timeout": "5 seconds"}
    path, message = only(config)
    assert path == "processors.batch.timeout" and "is not a duration" in message


def test_durations_parse_as_go_does():
    assert duration_ns("1m30s") == 90 * 10 ** 9
    assert duration_ns("250ms") == 250 * 10 ** 6
    assert duration_ns("0") == 0 and duration_ns(5) == 5
    assert duration_ns("5") is None and duration_ns("1d") is None and duration_ns(True) is None


def test_enum_value_with_nearest():
    config = rendered(debug_exporter=True)
    config["exporters"]["debug"]["verbosity"] = "detail"
    assert only(config)[1] == ("exporters.debug.verbosity: the string 'detail' is not one of basic, normal, "
                               "detailed; did you mean 'detailed'?")


def test_required_endpoint():
    config = rendered()
    del config["exporters"]["otlp_grpc/backend"]["endpoint"]
    assert only(config) == ("exporters.otlp_grpc/backend.endpoint",
                            'exporters.otlp_grpc/backend.endpoint: requires a non-empty "endpoint"')


def test_otlp_http_endpoint_must_be_a_url():
    config = rendered(exporter_protocol="http", exporter_endpoint="https://otlp.example:4318")
    config["exporters"]["otlp_http/backend"]["endpoint"] = "otlp.example:4318"
    assert only(config)[0] == "exporters.otlp_http/backend.endpoint"


def test_otlp_receiver_needs_a_protocol():
    config = rendered()
    config["receivers"]["otlp"] = {"protocols": {}}
    config["service"]["pipelines"]["metrics"]["receivers"].append("otlp")
    path, message = only(config)
    assert path == "receivers.otlp" and "at least one protocol" in message


def test_basicauth_needs_credentials_and_is_not_in_core():
    config = rendered()
    config["extensions"]["basicauth"] = {}
    path, message = only(config)
    assert path == "extensions.basicauth" and "not in the core distribution" in message
    hint = [p.hint for p in errors(config)][0]
    assert "otel/opentelemetry-collector-contrib:0.159.0" in hint and "--distribution contrib" in hint
    assert only(config, image=PINNED_IMAGES["contrib"]) == (
        "extensions.basicauth", "extensions.basicauth: either client_auth or htpasswd must be set")


def test_type_only_in_contrib():
    config = rendered()
    config["processors"]["k8sattributes"] = {"passthrough": True}
    assert only(config)[0] == "processors.k8sattributes"
    assert errors(config, image=PINNED_IMAGES["k8s"]) == []
    config["processors"]["k8sattributes"] = {"pasthrough": True}
    assert only(config, image=PINNED_IMAGES["k8s"])[1].endswith("did you mean 'passthrough'?")


def test_exporter_name_too_new_for_the_image():
    """The issue's case: otlp_grpc on a collector that predates v0.144."""
    config = rendered()
    path, message = only(config, image="otel/opentelemetry-collector:0.130.0")
    assert path == "exporters.otlp_grpc/backend"
    assert "predates v0.144" in message and "it is otlp there" in message


def test_old_name_warns_on_new_images():
    config = rendered(image="otel/opentelemetry-collector:0.130.0")
    problems = validate(config, image=CORE)
    assert [(p.severity, p.code, p.path) for p in problems] == [
        ("warning", "deprecated-name", "exporters.otlp/backend")]


def test_unknown_component_type():
    config = rendered()
    config["processors"]["memorylimiter"] = {}
    path, message = only(config)
    assert path == "processors.memorylimiter"
    assert message.endswith("did you mean 'memory_limiter'?")


def test_env_reference_with_unknown_provider():
    config = rendered()
    config["exporters"]["otlp_grpc/backend"]["headers"] = {"x-team": "${secret:TEAM}"}
    path, message = only(config)
    assert path == "exporters.otlp_grpc/backend.headers.x-team" and "no config provider 'secret'" in message


def test_env_reference_with_an_invalid_name_or_unclosed():
    config = rendered()
    config["exporters"]["otlp_grpc/backend"]["headers"] = {"a": "${env:1TEAM}"}
    assert "not a valid environment variable name" in only(config)[1]
    config["exporters"]["otlp_grpc/backend"]["headers"] = {"a": "${env:TEAM"}
    assert "without a closing }" in only(config)[1]


def test_env_reference_to_an_unset_variable_is_a_warning():
    config = rendered(exporter_endpoint="otlp.example:4317", basic_auth="u:p")
    problems = validate(config, image=CORE, env_names={"OTHER"})
    unset = [p for p in problems if p.code == "unset-env"]
    assert [(p.severity, p.path) for p in unset] == [
        ("warning", "exporters.otlp_grpc/backend.headers.Authorization")]
    assert validate(config, image=CORE, env_names={"OTLP_AUTH"}) == []


def test_env_reference_makes_a_typed_field_unknowable():
    config = rendered()
    config["processors"]["batch"] = {"send_batch_size": "${env:BATCH}"}
    assert errors(config) == []


def test_pipeline_signal_not_supported():
    config = rendered()
    config["service"]["pipelines"]["traces"] = {"receivers": ["prometheus/linkerd"],
                                                "exporters": ["otlp_grpc/backend"]}
    assert only(config) == ("service.pipelines.traces.receivers[0]",
                            "service.pipelines.traces.receivers[0]: the receiver prometheus/linkerd does not "
                            "support traces")


def test_pipeline_unknown_signal_and_repeated_component():
    config = rendered()
    config["service"]["pipelines"]["metric"] = copy.deepcopy(config["service"]["pipelines"]["metrics"])
    assert only(config)[0] == "service.pipelines.metric"
    del config["service"]["pipelines"]["metric"]
    config["service"]["pipelines"]["metrics"]["processors"].append("batch")
    assert only(config)[0] == "service.pipelines.metrics.processors[2]"


def test_pipeline_unknown_key():
    config = rendered()
    config["service"]["pipelines"]["metrics"]["exporter"] = ["debug"]
    assert only(config)[1].startswith("service.pipelines.metrics.exporter: unknown key 'exporter'; "
                                      "did you mean 'exporters'?")


def test_pipeline_undefined_component_still_found():
    config = rendered()
    config["service"]["pipelines"]["metrics"]["exporters"] = ["otlp_grpc/other"]
    assert any("not defined under exporters" in p.message for p in errors(config))


def test_prometheus_config_is_loaded_as_prometheus_does():
    config = rendered()
    job = config["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"][0]
    job["relabel_config"] = job.pop("relabel_configs")
    path, message = only(config)
    assert path == "receivers.prometheus/linkerd.config" and "relabel_config" in message


def test_prometheus_receiver_needs_scrape_configs():
    config = rendered()
    config["receivers"]["prometheus/linkerd"]["config"] = {"scrape_configs": []}
    path, message = only(config)
    assert path == "receivers.prometheus/linkerd.config"
    assert "no Prometheus scrape_configs or target_allocator set" in message


def test_not_a_mapping():
    assert [p.message for p in validate(["a"])] == ["the config is a list, not a mapping"]


def test_image_names():
    assert parse_image("otel/opentelemetry-collector-contrib:0.130.1") == ("contrib", (0, 130))
    assert parse_image("ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-k8s:v0.150.0") \
        == ("k8s", (0, 150))
    assert parse_image("otel/opentelemetry-collector:latest") == ("core", None)
    assert parse_image("registry.example/custom@sha256:abc") == (None, None)


def test_install_refuses_what_the_image_lacks_and_names_the_distribution():
    from kubectl_linkerd_otel.errors import UsageError
    from kubectl_linkerd_otel.render.compat import refuse_unsupported

    opts = InstallOptions().validate()
    config = collector_config(opts)
    config["extensions"]["basicauth/backend"] = {"client_auth": {"username": "u", "password": "${env:P}"}}
    with pytest.raises(UsageError) as raised:
        refuse_unsupported(opts, config)
    assert str(raised.value) == (
        "collector otel/opentelemetry-collector:0.159.0 would refuse the rendered config: "
        "extensions.basicauth/backend: the extension type basicauth is not in the core distribution "
        "(otel/opentelemetry-collector:0.159.0) (use otel/opentelemetry-collector-contrib:0.159.0 or "
        "otel/opentelemetry-collector-k8s:0.159.0 (--distribution contrib), or drop the component)")
    refuse_unsupported(InstallOptions(image=PINNED_IMAGES["k8s"]).validate(), config)   # k8s has it
