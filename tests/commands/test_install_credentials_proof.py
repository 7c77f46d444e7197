"""`install` proves the exporter credentials against the endpoint before anything is applied, over the
protocol the exporter will use (OTLP/HTTP, OTLP/gRPC): a wrong key is refused with the vendor's words and
the fake API server records no write."""
from __future__ import annotations

import base64
import socket

import pytest
from helpers import run_cli
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from otlp_grpc_server import MISSING_KEY_WORDS as GRPC_MISSING_KEY_WORDS
from otlp_grpc_server import WRONG_KEY_WORDS as GRPC_WRONG_KEY_WORDS
from otlp_grpc_server import serve_otlp_grpc
from otlp_server import WRONG_KEY_WORDS, serve_otlp

from kubectl_linkerd_otel import naming
from kubectl_linkerd_otel.collector.backends import BACKENDS

KEY = "nr-license-key-123"
APPLY = ["install", "-o", "text", "--wait=false", "--backend", "newrelic", "--temporality", "cumulative",
         "--api-key-from-env", "NR_KEY"]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def server():
    with serve_otlp("api-key", KEY) as running:
        yield running


def _writes(api):
    return [r for r in api.requests if r.method in WRITES]


def test_a_wrong_key_is_refused_before_anything_is_applied(mesh_api, server, monkeypatch):
    monkeypatch.setenv("NR_KEY", "wrong-key")
    result = run_cli(*APPLY, "--exporter-endpoint", server.url)
    assert result.exit_code == 2, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert error == [f'Error: {server.url}/v1/metrics refused the exporter credentials (HTTP 403: '
                     f'"{WRONG_KEY_WORDS}"); nothing was applied: check the API key in $NR_KEY, and that the '
                     f'region or site matches the key\'s; --skip-credentials-check installs without this proof']
    assert _writes(mesh_api) == []
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "observability") is None
    assert "wrong-key" not in result.output
    (export,) = server.exports
    assert export.headers["api-key"] == "wrong-key"


def test_the_right_key_is_accepted_then_applied(mesh_api, server, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    result = run_cli(*APPLY, "--exporter-endpoint", server.url)
    assert result.exit_code == 0, result.stderr
    assert f"Note: exporter credentials accepted by {server.url}/v1/metrics" in result.stderr
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "observability") is not None
    (export,) = server.exports    # one empty export, with the headers the exporter is configured with
    assert export.path == "/v1/metrics" and export.body == b""
    assert export.headers["content-type"] == "application/x-protobuf"
    assert export.request == metrics_service_pb2.ExportMetricsServiceRequest()
    assert export.headers["api-key"] == KEY


def test_skip_credentials_check_applies_without_the_proof(mesh_api, server, monkeypatch):
    monkeypatch.setenv("NR_KEY", "wrong-key")
    result = run_cli(*APPLY, "--exporter-endpoint", server.url, "--skip-credentials-check")
    assert result.exit_code == 0, result.stderr
    assert server.exports == []
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "observability") is not None


def test_printing_never_sends_the_proof(mesh_api, server, monkeypatch):
    monkeypatch.setenv("NR_KEY", "wrong-key")
    result = run_cli("install", "--dry-run", "-o", "yaml", *APPLY[4:], "--exporter-endpoint", server.url)
    assert result.exit_code == 0, result.stderr
    assert server.exports == []


def test_an_endpoint_without_otlp_metrics_is_refused(mesh_api, server, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    result = run_cli(*APPLY, "--exporter-endpoint", server.url + "/wrong")
    assert result.exit_code == 2
    assert "has no OTLP metrics endpoint (HTTP 404 to POST" in result.stderr
    assert _writes(mesh_api) == []


def test_an_unreachable_endpoint_is_named(mesh_api, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_cli(*APPLY, "--exporter-endpoint", f"http://127.0.0.1:{port}")
    assert result.exit_code == 2
    assert f"Error: cannot reach http://127.0.0.1:{port}/v1/metrics (" in result.stderr
    assert "--skip-credentials-check installs without this proof" in result.stderr
    assert _writes(mesh_api) == []


def test_a_tls_failure_is_named_and_the_ca_file_fixes_it(mesh_api, monkeypatch, tmp_path):
    monkeypatch.setenv("NR_KEY", KEY)
    with serve_otlp("api-key", KEY, tls_dir=tmp_path) as tls:
        refused = run_cli(*APPLY, "--exporter-endpoint", tls.url)
        assert refused.exit_code == 2
        assert f"Error: TLS with {tls.url}/v1/metrics failed (" in refused.stderr
        assert "--ca-file" in refused.stderr
        assert _writes(mesh_api) == []
        accepted = run_cli(*APPLY, "--exporter-endpoint", tls.url, "--ca-file", tls.ca_file)
        assert accepted.exit_code == 0, accepted.stderr


def test_in_cluster_endpoints_are_noted_not_proven(mesh_api, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    grpc = run_cli(*APPLY, "--exporter-endpoint", "otel-gateway.observability.svc:4317", "--exporter-protocol",
                   "grpc", "--insecure")
    assert grpc.exit_code == 0, grpc.stderr
    assert ("not proven before install: otel-gateway.observability.svc:4317 is a Service inside the cluster, "
            "gRPC does not pass the API server's service proxy") in grpc.stderr
    inside = run_cli(*APPLY, "--exporter-endpoint", "http://otel-gateway.observability.svc:4318")
    assert inside.exit_code == 0, inside.stderr
    assert "is a Service inside the cluster" in inside.stderr


# OTLP/gRPC: the same proof as one unary MetricsService/Export call, against a real gRPC server
GRPC = APPLY + ["--exporter-protocol", "grpc"]


@pytest.fixture
def grpc_server():
    with serve_otlp_grpc("api-key", KEY) as running:
        yield running


def test_grpc_a_wrong_key_is_refused_before_anything_is_applied(mesh_api, grpc_server, monkeypatch):
    monkeypatch.setenv("NR_KEY", "wrong-key")
    result = run_cli(*GRPC, "--exporter-endpoint", grpc_server.endpoint, "--insecure")
    assert result.exit_code == 2, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert error == [f'Error: {grpc_server.endpoint} refused the exporter credentials (gRPC PERMISSION_DENIED (7): '
                     f'"{GRPC_WRONG_KEY_WORDS}"); nothing was applied: check the API key in $NR_KEY, and that the '
                     f'region or site matches the key\'s; --skip-credentials-check installs without this proof']
    assert _writes(mesh_api) == []
    assert "wrong-key" not in result.output
    (call,) = grpc_server.calls
    assert call.metadata["api-key"] == "wrong-key"


def test_grpc_a_missing_key_is_unauthenticated(mesh_api, grpc_server, monkeypatch):
    monkeypatch.setenv("O2_CREDS", "root@example.com:secret")    # basic auth, not the key the server wants
    result = run_cli("install", "-o", "text", "--wait=false", "--backend", "openobserve", "--exporter-endpoint",
                     grpc_server.endpoint, "--insecure", "--basic-auth-from-env", "O2_CREDS")
    assert result.exit_code == 2, result.output
    assert (f'{grpc_server.endpoint} refused the exporter credentials (gRPC UNAUTHENTICATED (16): '
            f'"{GRPC_MISSING_KEY_WORDS}"); nothing was applied: check USER:PASSWORD in $O2_CREDS') in result.stderr
    assert _writes(mesh_api) == []
    (call,) = grpc_server.calls
    assert call.metadata["authorization"] == "Basic cm9vdEBleGFtcGxlLmNvbTpzZWNyZXQ="


def test_grpc_the_right_key_is_accepted_then_applied(mesh_api, grpc_server, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    result = run_cli(*GRPC, "--exporter-endpoint", grpc_server.endpoint, "--insecure")
    assert result.exit_code == 0, result.stderr
    assert (f"Note: exporter credentials accepted by {grpc_server.endpoint} (an empty OTLP/gRPC export answered "
            f"gRPC OK (0))") in result.stderr
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "observability") is not None
    (call,) = grpc_server.calls
    assert call.request == metrics_service_pb2.ExportMetricsServiceRequest()
    assert call.metadata["api-key"] == KEY


def test_grpc_skip_credentials_check_and_printing_send_nothing(mesh_api, grpc_server, monkeypatch):
    monkeypatch.setenv("NR_KEY", "wrong-key")
    printed = run_cli("install", "--dry-run", "-o", "yaml", *GRPC[4:], "--exporter-endpoint", grpc_server.endpoint,
                      "--insecure")
    assert printed.exit_code == 0, printed.stderr
    skipped = run_cli(*GRPC, "--exporter-endpoint", grpc_server.endpoint, "--insecure", "--skip-credentials-check")
    assert skipped.exit_code == 0, skipped.stderr
    assert grpc_server.calls == []


def test_grpc_tls_with_alpn_and_the_ca_file(mesh_api, monkeypatch, tmp_path):
    monkeypatch.setenv("NR_KEY", KEY)
    with serve_otlp_grpc("api-key", KEY, tls_dir=tmp_path) as tls:
        untrusted = run_cli(*GRPC, "--exporter-endpoint", tls.endpoint)
        assert untrusted.exit_code == 2
        assert f"Error: TLS with {tls.endpoint} failed ([SSL: CERTIFICATE_VERIFY_FAILED]" in untrusted.stderr
        assert "pass the CA that signed its certificate with --ca-file" in untrusted.stderr
        plain = run_cli(*GRPC, "--exporter-endpoint", tls.endpoint, "--insecure")
        assert plain.exit_code == 2
        assert f"Error: {tls.endpoint} does not answer OTLP/gRPC (" in plain.stderr
        assert "if the endpoint speaks TLS, drop --insecure" in plain.stderr
        assert _writes(mesh_api) == []
        accepted = run_cli(*GRPC, "--exporter-endpoint", tls.endpoint, "--ca-file", tls.ca_file)
        assert accepted.exit_code == 0, accepted.stderr
        assert len(tls.calls) == 1


def test_grpc_tls_to_a_plain_text_endpoint_is_named(mesh_api, grpc_server, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    result = run_cli(*GRPC, "--exporter-endpoint", grpc_server.endpoint)
    assert result.exit_code == 2
    assert f"Error: TLS with {grpc_server.endpoint} failed (" in result.stderr
    assert "if the endpoint speaks plain-text gRPC, --insecure" in result.stderr
    assert _writes(mesh_api) == [] and grpc_server.calls == []


def test_grpc_to_a_server_that_does_not_speak_http2(mesh_api, server, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    endpoint = f"127.0.0.1:{server.port}"     # the OTLP/HTTP endpoint: HTTP/1.1
    result = run_cli(*GRPC, "--exporter-endpoint", endpoint, "--insecure")
    assert result.exit_code == 2
    assert f"Error: {endpoint} does not answer OTLP/gRPC (it does not speak HTTP/2 (its answer starts" in result.stderr
    assert "OTLP/gRPC usually listens on 4317, OTLP/HTTP on 4318" in result.stderr
    assert _writes(mesh_api) == []


def test_grpc_an_unreachable_endpoint_is_named(mesh_api, monkeypatch):
    monkeypatch.setenv("NR_KEY", KEY)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_cli(*GRPC, "--exporter-endpoint", f"127.0.0.1:{port}", "--insecure")
    assert result.exit_code == 2
    assert f"Error: cannot reach 127.0.0.1:{port} (" in result.stderr
    assert _writes(mesh_api) == []


# Every preset proven against the local servers: its own key header (prefix included) and extra headers,
# over its own protocol; the endpoint is the local server's (an explicit flag wins over the preset's).
PRESET_KEY = "preset-key-42"
BASIC = "123456:glc_token"


def _expected_key(backend) -> tuple:
    if backend.basic_auth or backend.name == "openobserve":
        return "authorization", "Basic " + base64.b64encode(BASIC.encode()).decode()
    if backend.key_header is None:
        return "api-key", PRESET_KEY            # otlp: --secret-header api-key=...
    return backend.key_header.lower(), backend.key_prefix + PRESET_KEY


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_preset_is_proven_with_its_own_headers_over_its_protocol(mesh_api, monkeypatch, name):
    backend = BACKENDS[name]
    monkeypatch.setenv("PRESET_KEY", PRESET_KEY)
    monkeypatch.setenv("BASIC", BASIC)
    header, value = _expected_key(backend)
    if backend.basic_auth or name == "openobserve":
        credentials = ["--basic-auth-from-env", "BASIC"]
    elif backend.key_header is None:
        credentials = ["--secret-header", f"api-key={PRESET_KEY}"]
    else:
        credentials = ["--api-key-from-env", "PRESET_KEY"]
    serve = serve_otlp_grpc if backend.protocol == "grpc" else serve_otlp
    with serve(header, value) as running:
        endpoint = running.endpoint if backend.protocol == "grpc" else running.url
        insecure = ["--insecure"] if backend.protocol == "grpc" else []
        result = run_cli("install", "-o", "text", "--wait=false", "--backend", name, "--exporter-endpoint",
                         endpoint, *insecure, *credentials)
        assert result.exit_code == 0, result.stderr
        assert "Note: exporter credentials accepted by" in result.stderr
        (sent,) = running.calls if backend.protocol == "grpc" else running.exports
    got = sent.metadata if backend.protocol == "grpc" else sent.headers
    assert got[header] == value
    for extra, extra_value in backend.headers:
        assert got[extra.lower()] == extra_value, extra
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "observability") is not None
