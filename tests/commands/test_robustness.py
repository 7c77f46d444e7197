"""Cross-cutting: every failure a user can meet is one `Error: ...` line (exit 2) that says what to do,
never a traceback or an "internal error"; nothing in the cluster is left half-done without saying so."""
from __future__ import annotations

import json

import pytest
import yaml

from conftest import load_fixture
from helpers import run_cli

COLLECTOR_POD = "otel-collector-857df6bd6f-b84jg"
ENDPOINT = ["--exporter-endpoint", "otlp.example:4317"]
PRINT = ["install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd"]


def _one_error_line(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "does-not-exist"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text(load_fixture("harness-mesh-collector-configmap.json")["data"]["config.yaml"])
    return tmp_path


# -- input files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [
    "- a\n- b\n",                                                         # a YAML list, not pods
    json.dumps({"kind": "DeploymentList", "items": [{"kind": "Deployment", "metadata": {"name": "x"}}]}),
    json.dumps([1, 2]),
])
def test_targets_pods_file_without_pods_is_an_error(offline, content):
    pods = offline / "pods.json"
    pods.write_text(content)
    result = run_cli("targets", "--pods", str(pods), "--config", str(offline / "config.yaml"))
    _one_error_line(result, "holds no pods", "kubectl get pods -A -o json")


def test_targets_pods_file_empty_list_and_single_pod_are_fine(offline):
    pods = offline / "pods.json"
    pods.write_text(json.dumps({"kind": "List", "items": []}))
    assert run_cli("targets", "--pods", str(pods), "--config", str(offline / "config.yaml")).exit_code == 0
    pods.write_text(json.dumps(load_fixture("harness-mesh-pods.json")["items"][0]))
    assert run_cli("targets", "--pods", str(pods), "--config", str(offline / "config.yaml")).exit_code == 0


def test_targets_config_file_not_utf8(offline):
    binary = offline / "config.bin"
    binary.write_bytes(b"\xff\xfe\x9d\x00binary")
    result = run_cli("targets", "--pods", str(binary), "--config", str(binary))
    _one_error_line(result, "not UTF-8")


def test_install_ca_file_not_utf8(offline):
    binary = offline / "ca.pem"
    binary.write_bytes(b"\x30\x82\x9d\xff")
    result = run_cli(*PRINT, *ENDPOINT, "--ca-file", str(binary))
    _one_error_line(result, "--ca-file", "not UTF-8", "PEM")


@pytest.mark.parametrize("content, needle", [
    ({"pods": "x"}, "'pods'"),
    ({"pods": [1]}, "'pods'"),
    ({"namespaces": [{}]}, "'namespaces'"),
    ({"errors": []}, "'errors'"),
    ({"taken_at": "yesterday"}, "'taken_at'"),
])
def test_check_damaged_snapshot(offline, content, needle):
    snap = offline / "snap.json"
    snap.write_text(json.dumps({"format": "kubectl-linkerd-otel/snapshot/v1", **content}))
    result = run_cli("check", "--snapshot", str(snap))
    _one_error_line(result, "damaged", needle, "--save-snapshot")


def test_check_snapshot_directory(offline):
    _one_error_line(run_cli("check", "--snapshot", str(offline)), "is a directory", "--save-snapshot")


def test_check_save_snapshot_to_a_bad_path_still_prints_the_report(mesh_api, tmp_path):
    result = run_cli("check", "-o", "short", "--save-snapshot", str(tmp_path / "missing" / "snap.json"))
    _one_error_line(result, "cannot write snapshot", "existing, writable directory")
    assert "linkerd-otel-collector" in result.stdout        # the checks ran and were shown
    result = run_cli("check", "-o", "short", "--save-snapshot", str(tmp_path))
    _one_error_line(result, "is a directory")


# -- install flags ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args, needle", [
    (["--image", ""], "--image is empty"),
    (["--header", "X-Api-Key=K3y\nInjected: 1"], "line break"),
    (["--header", "X-Api-Key="], "empty value"),
    (["--basic-auth", ":"], "USER:PASSWORD"),
    (["--basic-auth", ":S3cr3t"], "USER:PASSWORD"),
    (["--exporter-endpoint", "http://x y"], "spaces"),
    (["--exporter-protocol", "http", "--exporter-endpoint", "otlp.example:4318"], "https://otlp.example:4318"),
])
def test_install_bad_exporter_flags(offline, args, needle):
    full = [*ENDPOINT, *args] if "--exporter-endpoint" not in args else list(args)
    result = run_cli(*PRINT, *full)
    line = _one_error_line(result, needle)
    assert "K3y" not in result.output and "S3cr3t" not in line
    assert result.stdout == ""


def test_empty_namespace_flag_is_an_error(offline):
    result = run_cli("targets", "-n", "", "--pods", str(offline / "config.yaml"),
                     "--config", str(offline / "config.yaml"))
    assert result.exit_code == 2 and "namespace is empty" in result.stderr, result.output
    result = run_cli("-n", "", *PRINT)
    assert result.exit_code == 2 and "namespace is empty" in result.stderr, result.output


# -- the cluster failing mid-command ---------------------------------------------------------------
def _with_api_server(api):
    cm = load_fixture("harness-mesh-collector-configmap.json")
    config = yaml.safe_load(cm["data"]["config.yaml"])
    config["receivers"]["prometheus/linkerd"]["api_server"] = {
        "enabled": True, "server_config": {"endpoint": "0.0.0.0:9090"}}
    cm["data"]["config.yaml"] = yaml.safe_dump(config)
    cm["metadata"].pop("resourceVersion", None)
    api.add(cm)


@pytest.mark.parametrize("body", ['{"status": "success", "data": [1, 2]}', "[1]",
                                  '{"data": {"activeTargets": [3, {"labels": {"job": 5}}]}}'])
def test_targets_malformed_collector_answer_is_a_note(mesh_api, body):
    _with_api_server(mesh_api)
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=active", 200, body)
    result = run_cli("targets")
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "linkerd-proxy: 6 targets" in result.stdout


def test_server_error_says_to_retry(mesh_api):
    mesh_api.fail(500, times=None, path=r"/pods$")
    _one_error_line(run_cli("targets"), "answered 500 to list pods", "retry in a moment")


def test_uninstall_conflict_names_the_object(mesh_api):
    assert run_cli("install", "-o", "text", "--wait=false").exit_code == 0
    mesh_api.fail(409, times=None, method="DELETE", path="configmaps")
    result = run_cli("uninstall", "-o", "text")
    _one_error_line(result, "delete configmaps 'linkerd-otel-collector-config'", "run the command again")


def test_install_refused_midway_says_what_was_applied(mesh_api):
    mesh_api.fail(403, times=None, method="PATCH", path="/configmaps/")
    result = run_cli("install", "-o", "text", "--wait=false")
    _one_error_line(result, "configmaps 'linkerd-otel-collector-config'",
                    "5 of 7 objects were applied before it", "uninstall")
    assert result.stdout.count("\n") == 5


def test_install_refused_at_once_says_nothing_was_applied(mesh_api):
    mesh_api.fail(403, times=None, method="PATCH", path="/namespaces/")
    _one_error_line(run_cli("install", "-o", "text", "--wait=false"), "nothing was applied")


def test_install_wait_failing_says_the_stack_is_applied(mesh_api):
    mesh_api.fail(500, times=None, method="GET", path=r"/pods$")
    result = run_cli("install", "-o", "text", "--timeout", "5s")
    _one_error_line(result, "the collector stack is applied", "kubectl linkerd-otel check")


def test_check_unreadable_pods_is_not_reported_as_missing_collector_pods(mesh_api):
    mesh_api.fail(500, times=None, path=r"/pods$")
    result = run_cli("check", "-o", "json")
    checks = {c["description"]: c for cat in json.loads(result.stdout)["categories"] for c in cat["checks"]}
    pods = checks.get("collector pods are running and ready")
    assert pods is not None, list(checks)
    assert "could not read pods" in pods["error"] and "no pods of" not in pods["error"]


@pytest.mark.parametrize("args", [["check", "--metrics-interval", "-1s"], ["check", "--wait=-5m"],
                                  ["--request-timeout", "-5s", "version"]])
def test_negative_durations_are_refused(offline, args):
    _one_error_line(run_cli(*args), "cannot be negative")


def test_targets_config_and_pods_cannot_both_be_stdin(offline):
    pods = json.dumps(load_fixture("harness-mesh-pods.json"))
    result = run_cli("targets", "--pods", "-", "--config", "-", input=pods)
    _one_error_line(result, "cannot both read stdin")


def test_targets_pods_file_of_mixed_kinds_uses_its_pods(offline):
    pods = load_fixture("harness-mesh-pods.json")["items"]
    mixed = offline / "all.json"
    mixed.write_text(json.dumps({"kind": "List", "items": [{"kind": "Service", "metadata": {"name": "s"}}] + pods}))
    result = run_cli("targets", "--pods", str(mixed), "--config", str(offline / "config.yaml"))
    assert result.exit_code == 1 and "linkerd-proxy: 6 targets" in result.stdout, result.output
