"""collector/config.py: parsing and find_problems on good, broken and reference configs."""
from __future__ import annotations

import copy

import pytest
from conftest import load_fixture

from kubectl_linkerd_otel.collector.config import (find_problems, parse_config, plaintext_credentials,
                                                   unescaped_dollars)
from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.render.collector_config import collector_config
from kubectl_linkerd_otel.render.options import InstallOptions

CORE = "otel/opentelemetry-collector:0.159.0"


def _good() -> dict:
    return copy.deepcopy(collector_config(InstallOptions(exporter_endpoint="o:4317", insecure=True)))


def _messages(problems, severity=None):
    return [p.message for p in problems if severity is None or p.severity == severity]


def test_parse_errors_are_usage_errors_with_a_line():
    with pytest.raises(UsageError) as info:
        parse_config("receivers:\n  a: [1,\n")
    assert "line" in str(info.value)
    with pytest.raises(UsageError):
        parse_config("- a list\n")
    assert parse_config("") == {}


def test_clean_config_has_no_problems():
    assert find_problems(_good(), image=CORE) == []


def test_undefined_pipeline_component():
    cfg = _good()
    cfg["service"]["pipelines"]["metrics"]["exporters"].append("otlp_grpc/missing")
    cfg["service"]["extensions"].append("pprof")
    errors = _messages(find_problems(cfg), "error")
    assert any("'otlp_grpc/missing'" in m and "not defined" in m for m in errors)
    assert any("'pprof'" in m for m in errors)


def test_no_pipelines_at_all():
    cfg = _good()
    del cfg["service"]["pipelines"]
    assert any("no service.pipelines" in m for m in _messages(find_problems(cfg), "error"))


def test_unknown_and_contrib_types():
    cfg = _good()
    cfg["processors"]["k8sattributes"] = {}
    cfg["exporters"]["otlpp/typo"] = {}
    problems = find_problems(cfg, image=CORE)
    assert any("k8sattributes" in m and "core" in m for m in _messages(problems, "error"))
    assert any("otlpp/typo" in m for m in _messages(problems, "warning"))
    contrib = find_problems(cfg, image="otel/opentelemetry-collector-contrib:0.159.0")
    assert not any("k8sattributes" in m for m in _messages(contrib))


def test_metrics_pipeline_from_prometheus_is_required():
    cfg = _good()
    cfg["service"]["pipelines"] = {"traces": {"receivers": ["prometheus/linkerd"],
                                              "exporters": ["otlp_grpc/backend"]}}
    assert any("no metrics pipeline" in m for m in _messages(find_problems(cfg), "error"))


def test_unescaped_dollars_in_relabel_rules():
    cfg = _good()
    rules = cfg["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"][2]["relabel_configs"]
    rules[9]["replacement"] = "__tmp_pod_label_$1"
    problems = find_problems(cfg)
    assert any("relabel_configs[9].replacement" in m and "'$1'" in m
               for m in _messages(problems, "error"))


@pytest.mark.parametrize("text,found", [
    ("$$1", []), ("${env:K8S_NODE_NAME}", []), ("${NODE}", []), ("a$$b$$", []),
    ("$1", ["$1"]), ("x$", ["$"]), ("$$$1", ["$1"]),
])
def test_unescaped_dollar_scanner(text, found):
    assert unescaped_dollars(text) == found


def test_plain_text_credentials_are_flagged_without_quoting_them():
    cfg = _good()
    cfg["exporters"]["otlp_grpc/backend"]["headers"] = {"Authorization": "Basic c2VjcmV0LXZhbHVl",
                                                        "X-Api-Key": "k-123", "org": "o"}
    problems = find_problems(cfg)
    assert any("Authorization" in m and "plain text" in m for m in _messages(problems, "error"))
    assert any("X-Api-Key" in m for m in _messages(problems, "warning"))
    assert not any("c2VjcmV0" in p.message + p.hint or "k-123" in p.message + p.hint for p in problems)


def test_renamed_exporters_by_image_version():
    cfg = _good()
    cfg["exporters"]["otlp/old"] = {"endpoint": "x"}
    cfg["service"]["pipelines"]["metrics"]["exporters"].append("otlp/old")
    assert any("otlp_grpc/old" in p.hint for p in find_problems(cfg, image=CORE))
    old_image = find_problems(_good(), image="otel/opentelemetry-collector:0.120.0")
    assert any("predates v0.144" in m for m in _messages(old_image, "error"))


def test_reference_setup_config_has_all_its_known_weak_points():
    text = load_fixture("harness-mesh-collector-configmap.json")["data"]["config.yaml"]
    problems = find_problems(parse_config(text), image="otel/opentelemetry-collector:latest")
    errors = _messages(problems, "error")
    assert any("'$1'" in m for m in errors)
    assert any("Authorization" in m for m in errors)
    assert any("renamed otlp_grpc" in m for m in _messages(problems, "warning"))


def test_debug_only_pipeline_is_a_warning():
    cfg = _good()
    cfg["exporters"]["debug"] = {}
    cfg["service"]["pipelines"]["metrics"]["exporters"] = ["debug"]
    problems = find_problems(cfg)
    assert any("only has the debug exporter" in m for m in _messages(problems, "warning"))
    assert not _messages(problems, "error")


def test_check_helper_name_is_available():
    from kubectl_linkerd_otel.collector.config import parse_collector_config

    assert parse_collector_config("a: 1\n") == {"a": 1}


def test_every_problem_has_a_code_to_filter_on():
    text = load_fixture("harness-mesh-collector-configmap.json")["data"]["config.yaml"]
    problems = find_problems(parse_config(text), image="otel/opentelemetry-collector:latest")
    assert {p.code for p in problems} == {"unescaped-dollar", "plaintext-credential", "deprecated-name"}
    assert [p.code for p in find_problems({})] == ["no-pipelines", "no-metrics-pipeline"]


def test_one_credential_detector_for_headers_and_auth_extensions():
    cfg = _good()
    cfg["exporters"]["otlp_grpc/backend"]["headers"] = {"X-Scope-OrgID": "tenant-1",
                                                        "X-Api-Key": "${env:API_KEY}",
                                                        "Cookie": "session=abc"}
    cfg["extensions"] = {"basicauth/client": {"client_auth": {"username": "u", "password": "hunter2"}},
                         "bearertokenauth/b": {"token": "${env:TOKEN}"},
                         "oauth2client/o": {"client_id": "id", "client_secret": "s3cr3t"}}
    found = plaintext_credentials(cfg)
    assert found == [("exporters.otlp_grpc/backend.headers.Cookie", "Cookie"),
                     ("extensions.basicauth/client.client_auth.password", "password"),
                     ("extensions.oauth2client/o.client_secret", "client_secret")]
    messages = [p.message for p in find_problems(cfg) if p.code == "plaintext-credential"]
    assert len(messages) == 3
    assert not any(secret in " ".join(messages) for secret in ("session=abc", "hunter2", "s3cr3t"))


def test_credential_detector_tolerates_malformed_configs():
    assert plaintext_credentials(None) == []
    assert plaintext_credentials({"exporters": ["not", "a", "mapping"]}) == []
    assert plaintext_credentials({"exporters": {"otlp": None, "x": {"headers": "text"}}}) == []


def test_a_component_list_written_as_a_string_is_one_problem_not_one_per_letter():
    cfg = _good()
    cfg["service"]["pipelines"]["metrics"]["receivers"] = "prometheus"
    cfg["service"]["extensions"] = "health_check"
    messages = [p.message for p in find_problems(cfg)]
    assert "pipeline metrics: receivers must be a list, e.g. receivers: [prometheus]" in messages
    assert "service.extensions must be a list, e.g. extensions: [health_check]" in messages
    assert not any("'p'" in m for m in messages)
