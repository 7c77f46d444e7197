"""`check --probe-exporter` proves the configured OTLP/HTTP exporter's credentials: the empty export, with
the headers resolved from the collector's env and its Secret, against a local OTLP endpoint."""
from __future__ import annotations

import base64
import json

import scenarios
from helpers import run_cli
from otlp_server import WRONG_KEY_WORDS, serve_otlp

KEY = "rotated-key-2"
ACCEPTED = "the backend accepts the exporter credentials"


def check_json(*extra):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    return result, json.loads(result.stdout)


def find(doc, text):
    category, = [c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-exporter"]
    return next(c for c in category["checks"] if text in c["description"])


def _configure(api, url: str, secret_value: str) -> str:
    scenarios.healthy(api)
    config = scenarios.HEALTHY_CONFIG.replace(
        '''  otlp_grpc/backend:
    endpoint: openobserve.openobserve.svc.cluster.local:5081
    headers:
      Authorization: "Basic ${env:OTLP_AUTH}"
    tls:
      insecure: true''', f'''  otlp_http/backend:
    endpoint: {url}
    headers:
      api-key: "${{env:OTLP_HEADER_0}}"
      x-note: "a $$literal"''').replace("exporters: [otlp_grpc/backend]", "exporters: [otlp_http/backend]")
    assert "otlp_http/backend" in config
    scenarios.set_config(api, config)
    scenarios._set_secret_env(api, "OTLP_HEADER_0")
    api.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "otel-credentials",
                                                               "namespace": scenarios.NS},
             "data": {"OTLP_HEADER_0": base64.b64encode(secret_value.encode()).decode()}})
    return config


def test_skipped_without_probe_exporter(mesh_api):
    with serve_otlp("api-key", KEY) as server:
        _configure(mesh_api, server.url, KEY)
        _result, doc = check_json()
    assert find(doc, ACCEPTED)["description"].startswith(f"{ACCEPTED} (not proven (pass --probe-exporter")
    assert server.exports == []


def test_the_right_key_passes_with_the_collectors_headers(mesh_api):
    with serve_otlp("api-key", KEY) as server:
        _configure(mesh_api, server.url, KEY)
        _result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert check["result"] == "success", check
    (export,) = server.exports
    assert export.body == b"" and export.path == "/v1/metrics"
    assert export.headers["api-key"] == KEY and export.headers["x-note"] == "a $literal"


def test_a_rotated_key_fails_with_the_vendors_words_and_no_credential(mesh_api):
    with serve_otlp("api-key", KEY) as server:
        _configure(mesh_api, server.url, "old-key-1")
        result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert result.exit_code == 1
    assert check["result"] == "error"
    assert check["error"].startswith("the backend does not accept the export")
    assert f'otlp_http/backend: {server.url}/v1/metrics refused the credentials (HTTP 403: "{WRONG_KEY_WORDS}")' \
        in check["error"]
    assert "old-key-1" not in result.output


def test_a_variable_the_container_does_not_set_is_a_warning(mesh_api):
    with serve_otlp("api-key", KEY) as server:
        config = _configure(mesh_api, server.url, KEY)
        scenarios.set_config(mesh_api, config.replace("OTLP_HEADER_0", "OTLP_NOPE"))
        _result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert check["result"] == "warning"
    assert "header api-key takes ${env:OTLP_NOPE}, which the collector's container does not set" in check["error"]
    assert server.exports == []
