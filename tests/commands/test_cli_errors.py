"""Every failure a user can meet talking to the cluster: one line, exit 2, never a traceback."""
from __future__ import annotations

import socket

import pytest
import yaml

from helpers import run_cli
from tls_server import serve_tls


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert_one_line_error(run_cli("version"), "no kubeconfig found", "--kubeconfig")


def test_kubeconfig_flag_naming_a_missing_file(tmp_path):
    assert_one_line_error(run_cli("version", "--kubeconfig", str(tmp_path / "nope")),
                          "does not exist")


def test_malformed_kubeconfig(tmp_path, monkeypatch):
    path = tmp_path / "config"
    path.write_text("clusters: [\n  - name: x\n  server: :\n")
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert_one_line_error(run_cli("version"), "is not valid YAML", "line")


def test_unknown_context(fake_api):
    assert_one_line_error(run_cli("--context", "prod", "version"),
                          "context 'prod' not found", "contexts: fake")


def test_context_flag_after_the_subcommand(fake_api):
    assert_one_line_error(run_cli("version", "--context=prod"), "context 'prod' not found")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_names_the_url(fake_api, tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{_free_port()}"
    doc = yaml.safe_load(open(fake_api.kubeconfig_path))
    doc["clusters"][0]["cluster"]["server"] = url
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    result = run_cli("version", "--kubeconfig", str(tmp_path / "kc"))
    assert_one_line_error(result, f"cannot reach the API server at {url}", "connection refused")
    assert result.stdout.startswith("Client Version: v")


def test_unauthorized(fake_api_tls):
    fake_api_tls.token = "another-token"
    assert_one_line_error(run_cli("version"), "rejected our credentials (401 Unauthorized)")


def test_forbidden_names_verb_and_resource(mesh_api):
    mesh_api.fail(403, times=None, path="^/api/v1/namespaces/observability/configmaps/")
    from kubectl_linkerd_otel.apiclient import Kube, KubeOptions
    from kubectl_linkerd_otel import errors

    with pytest.raises(errors.Forbidden) as caught:
        Kube.connect(KubeOptions()).get("configmaps", "otel-collector-config", "observability")
    assert "forbidden to get configmaps 'otel-collector-config' in namespace observability" in str(
        caught.value)


def test_forbidden_via_cli(fake_api):
    fake_api.fail(403, times=None, path="^/version$")
    assert_one_line_error(run_cli("version"), "forbidden to get version")


def test_timeout(fake_api):
    fake_api.delay(2.0, path="^/version$")
    assert_one_line_error(run_cli("--request-timeout", "500ms", "version"),
                          "did not answer within 0.5s", "--request-timeout")


def test_bad_request_timeout_value(fake_api):
    result = run_cli("--request-timeout", "soon", "version")
    assert_one_line_error(result, "invalid --request-timeout 'soon'")


@pytest.fixture
def tls_server(tmp_path):
    with serve_tls(tmp_path, lambda _request: (200, b'{"gitVersion": "v1.31.2"}')) as (port, cert):
        yield f"https://127.0.0.1:{port}", cert


def _https_kubeconfig(tmp_path, url, **cluster):
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "tls",
           "clusters": [{"name": "c", "cluster": {"server": url, **cluster}}],
           "users": [{"name": "u", "user": {"token": "t"}}],
           "contexts": [{"name": "tls", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "tls-kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_tls_failure(tls_server, tmp_path):
    url, _cert = tls_server
    result = run_cli("version", "--kubeconfig", _https_kubeconfig(tmp_path, url))
    assert_one_line_error(result, f"TLS handshake with {url} failed", "certificate verify failed")


def test_tls_with_the_right_ca_works(tls_server, tmp_path):
    url, cert = tls_server
    result = run_cli("version", "--kubeconfig",
                     _https_kubeconfig(tmp_path, url, **{"certificate-authority": str(cert)}))
    assert result.exit_code == 0, result.output
    assert "Server Version: v1.31.2" in result.stdout


def test_insecure_skip_tls_verify(tls_server, tmp_path):
    url, _cert = tls_server
    result = run_cli("version", "--insecure-skip-tls-verify",
                     "--kubeconfig", _https_kubeconfig(tmp_path, url))
    assert result.exit_code == 0, result.output


def test_version_client_only_needs_no_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    result = run_cli("version", "--client")
    assert result.exit_code == 0 and result.stdout.startswith("Client Version: v0.")


def test_version_json(mesh_api):
    import json

    result = run_cli("version", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["serverVersion"]["gitVersion"] == "v1.31.2"
    assert doc["clientVersion"]["version"].startswith("v")


def test_unknown_command_is_a_usage_error():
    result = run_cli("frobnicate")
    assert result.exit_code == 2
    assert "unknown command 'frobnicate'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["--no-color", "version", "--client"],
    ["-v", "version", "--client"],
    ["--insecure-skip-tls-verify", "version", "--client"],
    ["version", "--client", "--no-color"],
    ["version", "--client", "--verbose=false", "--no-color=true"],
])
def test_boolean_global_flags_before_or_after_the_subcommand(args):
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Client Version: v")


def test_no_color_flag_and_environment(monkeypatch):
    from kubectl_linkerd_otel.commands.environment import Environment, environment

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Environment(stdout_isatty=True, stderr_isatty=False).color is True
    assert Environment(stdout_isatty=True, stderr_isatty=False, no_color=True).color is False
    assert Environment(stdout_isatty=False, stderr_isatty=True).color is False
    assert environment(no_color=True).no_color is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert environment().no_color is True


@pytest.mark.parametrize("args,fragment", [
    (["install", "-o", "wide"], "'wide' is not one of 'text', 'yaml', 'json'"),
    (["install", "--dry-run=bogus"], "--dry-run"),
    (["install", "extra"], "unexpected extra argument (extra)"),
    (["install", "-n", ""], "the namespace is empty"),
    (["bogus"], "unknown command 'bogus'"),
    (["targets", "--frobnicate"], "--frobnicate"),
])
def test_usage_errors_are_one_line_naming_the_help_to_read(args, fragment):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and fragment in lines[0], lines[0]
    assert "--help')" in lines[0]


def test_short_flags_take_kubectl_s_equals_form(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = run_cli("-n=telemetry", "install", "-o=yaml", "--dry-run", "--linkerd-namespace", "linkerd")
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert docs[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": docs[0]["metadata"]}
    assert docs[0]["metadata"]["name"] == "telemetry"
    assert run_cli("version", "--client", "-v=6").exit_code == 0
    # after `--` nothing is rewritten
    from kubectl_linkerd_otel.cli import kubectl_style_args

    assert kubectl_style_args(["-o=json", "--", "-n=x"]) == ["-o", "json", "--", "-n=x"]
    assert kubectl_style_args(["-v=3", "--output=json"]) == ["--verbose=3", "--output=json"]
