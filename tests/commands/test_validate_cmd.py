"""`validate -f FILE`, `install --distribution/--metrics`, and check's config category, through the CLI."""
from __future__ import annotations

import json

import pytest
import scenarios
import yaml
from helpers import run_cli

from kubectl_linkerd_otel import naming
from kubectl_linkerd_otel.scrape.metrics import GOLDEN

OFFLINE = ["install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd"]


def _config_of(manifests: str) -> dict:
    for doc in yaml.safe_load_all(manifests):
        if doc and doc.get("kind") == "ConfigMap":
            return yaml.safe_load(doc["data"]["config.yaml"])
    raise AssertionError("no ConfigMap in the output")


def _image_of(manifests: str) -> str:
    for doc in yaml.safe_load_all(manifests):
        if doc and doc.get("kind") in ("Deployment", "DaemonSet"):
            return doc["spec"]["template"]["spec"]["containers"][0]["image"]
    raise AssertionError("no workload in the output")


@pytest.mark.parametrize("mode", ["deployment", "daemonset"])
@pytest.mark.parametrize("distribution", ["core", "contrib", "k8s"])
@pytest.mark.parametrize("metrics", ["all", "golden", "FILE"])
def test_rendered_stack_validates_clean(tmp_path, mode, distribution, metrics):
    if metrics == "FILE":
        listing = tmp_path / "metrics.txt"
        listing.write_text("# what our dashboards need\nrequest_total\nresponse_latency_ms_.*\n")
        metrics = str(listing)
    rendered = run_cli(*OFFLINE, "--mode", mode, "--distribution", distribution, "--metrics", metrics,
                       "--debug-exporter")
    assert rendered.exit_code == 0, rendered.stderr
    assert _image_of(rendered.stdout) == f"otel/opentelemetry-collector{'' if distribution == 'core' else '-' + distribution}:0.159.0"
    result = run_cli("validate", "-f", "-", "--distribution", distribution, "-o", "json", input=rendered.stdout)
    doc = json.loads(result.stdout)
    assert [p for p in doc["problems"] if p["code"] != "plaintext-credential"] == []
    assert result.exit_code == 0 and doc["valid"] is True
    assert doc["distribution"] == distribution and doc["version"] == "v0.159"


def test_golden_keeps_the_dashboard_metrics_in_every_job():
    rendered = run_cli(*OFFLINE, "--metrics", "golden")
    assert rendered.exit_code == 0, rendered.stderr
    jobs = _config_of(rendered.stdout)["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"]
    for job in jobs:
        assert job["metric_relabel_configs"] == [
            {"source_labels": ["__name__"], "action": "keep", "regex": "|".join(GOLDEN)}]
    everything = _config_of(run_cli(*OFFLINE).stdout)
    assert all("metric_relabel_configs" not in job
               for job in everything["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"])


def test_metrics_file_with_a_bad_line_is_one_line_exit_2(tmp_path):
    listing = tmp_path / "metrics.txt"
    listing.write_text("request_total\n(unclosed\n")
    result = run_cli(*OFFLINE, "--metrics", str(listing))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --metrics {listing} line 2: '(unclosed' is neither a metric name")
    assert len(result.stderr.splitlines()) == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    result = run_cli(*OFFLINE, "--metrics", str(empty))
    assert result.exit_code == 2 and "lists no metric" in result.stderr
    result = run_cli(*OFFLINE, "--metrics", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2 and "cannot read --metrics" in result.stderr


def test_image_version_picks_the_exporter_name():
    """The issue's report: v0.130 does not know otlp_grpc; install now renders otlp for it."""
    old = run_cli(*OFFLINE, "--image", "otel/opentelemetry-collector:0.130.0")
    assert old.exit_code == 0, old.stderr
    config = _config_of(old.stdout)
    assert list(config["exporters"]) == ["otlp/backend"]
    assert config["service"]["pipelines"]["metrics"]["exporters"] == ["otlp/backend"]
    clean = run_cli("validate", "-f", "-", "--image", "otel/opentelemetry-collector:0.130.0", input=old.stdout)
    assert clean.exit_code == 0, clean.stdout
    new = run_cli(*OFFLINE)
    refused = run_cli("validate", "-f", "-", "--image", "otel/opentelemetry-collector:0.130.0", input=new.stdout)
    assert refused.exit_code == 1
    assert refused.stdout.startswith("× exporters.otlp_grpc/backend: collector otel/opentelemetry-collector:0.130.0 "
                                     "predates v0.144")
    http = run_cli(*OFFLINE, "--image", "otel/opentelemetry-collector:0.130.0", "--exporter-protocol", "http",
                   "--exporter-endpoint", "https://otlp.example:4318")
    assert list(_config_of(http.stdout)["exporters"]) == ["otlphttp/backend"]


def test_image_without_the_receiver_api_leaves_it_out_and_says_so():
    result = run_cli(*OFFLINE, "--image", "otel/opentelemetry-collector:0.110.0")
    assert result.exit_code == 0, result.stderr
    assert "api_server" not in _config_of(result.stdout)["receivers"]["prometheus/linkerd"]
    assert "predates the prometheus receiver's api_server (v0.123)" in result.stderr


def test_image_given_with_distribution_keeps_the_image():
    result = run_cli(*OFFLINE, "--image", "registry.example/otelcol-custom:0.150.0", "--distribution", "contrib")
    assert result.exit_code == 0, result.stderr
    assert _image_of(result.stdout) == "registry.example/otelcol-custom:0.150.0"


def test_validate_reports_each_problem_with_its_key_path(tmp_path):
    config = _config_of(run_cli(*OFFLINE).stdout)
    config["exporters"]["otlp_grpc/backend"]["endpointt"] = config["exporters"]["otlp_grpc/backend"].pop("endpoint")
    config["processors"]["memory_limiter"] = {"check_interval": "1s"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("validate", "-f", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "× processors.memory_limiter: 'limit_mib' or 'limit_percentage' must be greater than zero" in lines
    assert "× exporters.otlp_grpc/backend.endpointt: unknown key 'endpointt'; did you mean 'endpoint'?" in lines
    assert lines[-1].startswith(f"{path}: 3 errors, ")   # and the endpoint that is now missing
    doc = json.loads(run_cli("validate", "-f", str(path), "-o", "json").stdout)
    assert {p["path"] for p in doc["problems"] if p["severity"] == "error"} == {
        "processors.memory_limiter", "exporters.otlp_grpc/backend.endpointt",
        "exporters.otlp_grpc/backend.endpoint"}


def test_validate_a_clean_file_says_so(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(_config_of(run_cli(*OFFLINE).stdout)))
    result = run_cli("validate", "-f", str(path), "--image", "otel/opentelemetry-collector:0.159.0")
    # the demo backend's credential is a ${env:...} reference: nothing in clear
    assert result.exit_code == 0, result.stdout
    assert result.stdout == f"√ {path} is a valid config for otel/opentelemetry-collector:0.159.0\n"


@pytest.mark.parametrize("content, message", [
    ("receivers: [\n", "is neither JSON nor valid YAML at line 2"),
    ("- just\n- a list\n", "holds no collector config"),
    ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata: {other: 'a: b'}\n", "holds no collector config"),
    (None, "No such file or directory"),
])
def test_validate_unreadable_input_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    if content is not None:
        path.write_text(content)
    result = run_cli("validate", "-f", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_validate_needs_a_file():
    result = run_cli("validate")
    assert result.exit_code == 2
    assert "Missing option '-f' / '--filename'" in result.stderr and len(result.stderr.splitlines()) == 1


def test_check_runs_the_same_engine_on_the_live_configmap(mesh_api):
    scenarios.healthy(mesh_api)
    broken = scenarios.HEALTHY_CONFIG.replace("      insecure: true", "      insecur: true").replace(
        "    limit_percentage: 80\n    spike_limit_percentage: 20\n", "")
    scenarios.set_config(mesh_api, broken)
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    doc = json.loads(result.stdout)
    check = [k for c in doc["categories"] for k in c["checks"]
             if k["description"] == "collector config is consistent"][0]
    assert result.exit_code == 1
    assert check["result"] == "error"
    assert check["error"].startswith("2 problems in otel-collector-config")
    human = run_cli("check", "--metrics-interval=0s")
    assert "exporters.otlp_grpc/backend.tls.insecur: unknown key 'insecur'; did you mean 'insecure'?" in human.stdout
    assert "processors.memory_limiter: 'limit_mib' or 'limit_percentage' must be greater than zero" in human.stdout


def test_check_warns_about_an_env_reference_the_container_does_not_set(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace("${env:OTLP_AUTH}", "${env:OTLP_TOKEN}"))
    result = run_cli("check", "--metrics-interval=0s")
    assert "‼ collector config is consistent" in result.stdout
    assert ("exporters.otlp_grpc/backend.headers.Authorization: ${env:OTLP_TOKEN}: OTLP_TOKEN is not set in the "
            "collector container") in result.stdout


def test_install_applies_the_contrib_image_and_the_golden_filter(mesh_api):
    result = run_cli("install", "-o", "text", "--wait=false", "--distribution", "contrib", "--metrics", "golden")
    assert result.exit_code == 0, result.stderr
    deployment = mesh_api.get("deployments", naming.COLLECTOR_NAME, "observability")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "otel/opentelemetry-collector-contrib:0.159.0"
    cm = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, "observability")
    assert "metric_relabel_configs" in cm["data"]["config.yaml"]


def test_install_refuses_a_component_the_image_lacks():
    result = run_cli(*OFFLINE, "--image", "otel/opentelemetry-collector:0.80.0", "--debug-exporter")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "Error: collector otel/opentelemetry-collector:0.80.0 would refuse the rendered config: exporters.debug: "
        "collector otel/opentelemetry-collector:0.80.0 predates v0.86 and does not know the exporter type debug "
        "(use a newer image)\n")
    assert run_cli(*OFFLINE, "--image", "otel/opentelemetry-collector:0.80.0").exit_code == 0
