"""Issue 23, items 5 and 9: a header is a credential by its value as well as by its name (the one detector,
k8s/credentials.py), and credentials sent without TLS are warned about by `install` and flagged by `check`."""
from __future__ import annotations

import base64
import json

import pytest
import yaml

import scenarios
from helpers import run_cli

def check_json(*extra):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    return result, json.loads(result.stdout)


def find(doc, category, text):
    return next(check for cat in doc["categories"] if cat["categoryName"] == category
                for check in cat["checks"] if text in check["description"])

BEARER = "Bearer s3cr3t-b3arer-t0ken"
BASIC = "Basic " + base64.b64encode(b"root:hunter2pw").decode()
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"


def _install(*args):
    return run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd", *args)


def _exporter(stdout: str) -> dict:
    docs = [d for d in yaml.safe_load_all(stdout) if d]
    config = next(d for d in docs if d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {}))
    exporters = yaml.safe_load(config["data"]["config.yaml"])["exporters"]
    return next(body for name, body in exporters.items() if name != "debug")


# -- 5: credentials recognised by value -----------------------------------------------------------------
@pytest.mark.parametrize("value", [BEARER, BASIC, "Token abcdef0123456789", JWT,
                                   'Digest username="u", realm="r", response="0123abcd"'])
def test_a_header_holding_a_credential_goes_to_the_secret_whatever_its_name(value):
    result = _install("--exporter-endpoint", "otel.example.com:4317", "--header", f"X-Custom={value}",
                      "--header", "X-Tenant=team-blue")
    assert result.exit_code == 0, result.output
    assert value not in result.output
    headers = _exporter(result.stdout)["headers"]
    assert headers == {"X-Tenant": "team-blue", "X-Custom": "${env:OTLP_HEADER_0}"}
    assert "OTLP_HEADER_0=<the X-Custom header value>" in result.stderr


def test_show_secrets_puts_the_value_in_the_secret_only():
    result = _install("--exporter-endpoint", "otel.example.com:4317", "--header", f"X-Foo={BASIC}",
                      "--show-secrets")
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    secret = next(d for d in docs if d["kind"] == "Secret")
    stored = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    stored.update(secret.get("stringData") or {})
    assert stored == {"OTLP_HEADER_0": BASIC}
    assert BASIC not in yaml.safe_dump([d for d in docs if d["kind"] != "Secret"])


def test_plain_words_after_a_scheme_name_are_not_a_credential():
    result = _install("--exporter-endpoint", "otel.example.com:4317", "--header", "X-Note=Token of thanks")
    assert result.exit_code == 0, result.output
    assert _exporter(result.stdout)["headers"] == {"X-Note": "Token of thanks"}


def test_check_flags_a_credential_value_written_in_the_config(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        'Authorization: "Basic ${env:OTLP_AUTH}"', f'X-Custom: "{BEARER}"'))
    result, doc = check_json()
    assert BEARER not in result.output
    flagged = find(doc, "linkerd-otel-exporter", "no credentials written into the config")
    assert flagged["result"] == "warning"
    assert "exporters.otlp_grpc/backend.headers.X-Custom" in flagged["error"]


# -- 9: credentials over plain text ------------------------------------------------------------------
@pytest.mark.parametrize("args, how", [
    (("--exporter-endpoint", "otel.example.com:4317", "--basic-auth", "u:hunter2pw", "--insecure"), "--insecure"),
    (("--exporter-endpoint", "otel.example.com:4317", "--header", f"X-Custom={BEARER}", "--insecure"),
     "--insecure"),
    (("--exporter-protocol", "http", "--exporter-endpoint", "http://otel.example.com:4318",
      "--header", "X-Api-Key=k3y-v4lue"), "an http:// endpoint"),
])
def test_install_warns_when_credentials_cross_the_network_in_clear(args, how):
    result = _install(*args)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1, result.stderr
    assert "sent in plain text" in warnings[0] and f"({how})" in warnings[0]
    assert "hunter2pw" not in result.output and "k3y-v4lue" not in result.output and BEARER not in result.output


@pytest.mark.parametrize("args", [
    ("--exporter-endpoint", "otel.example.com:4317", "--basic-auth", "u:p4ss"),
    ("--exporter-protocol", "http", "--exporter-endpoint", "https://otel.example.com:4318", "--basic-auth", "u:p4ss"),
    ("--exporter-endpoint", "otel.example.com:4317", "--insecure", "--header", "X-Tenant=blue"),
])
def test_no_warning_with_tls_or_without_credentials(args):
    result = _install(*args)
    assert result.exit_code == 0, result.output
    assert "plain text" not in result.stderr


@pytest.mark.parametrize("insecure, flagged", [(True, True), (False, False)])
def test_check_flags_credentials_sent_in_plain_text_out_of_the_cluster(mesh_api, insecure, flagged):
    scenarios.healthy(mesh_api)
    config = scenarios.HEALTHY_CONFIG.replace("openobserve.openobserve.svc.cluster.local:5081", "otel.example.com:4317")
    scenarios.set_config(mesh_api, config if insecure else config.replace("    tls:\n      insecure: true\n", ""))
    _result, doc = check_json()
    tls = find(doc, "linkerd-otel-exporter", "export to outside the cluster is encrypted")
    if not flagged:
        assert tls["result"] == "success"
        return
    assert tls["result"] == "warning"
    head, line = tls["error"].splitlines()
    assert head.startswith("plain-text export to an endpoint outside the cluster: the credentials it sends can be "
                           "read by anyone on the way")
    assert line.strip() == "otlp_grpc/backend -> otel.example.com:4317 (tls.insecure; it sends credentials)"


def test_check_flags_an_http_url_with_a_credential_value(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "  otlp_grpc/backend:\n    endpoint: openobserve.openobserve.svc.cluster.local:5081",
        "  otlp_http/backend:\n    endpoint: http://otel.example.com:4318").replace(
        'Authorization: "Basic ${env:OTLP_AUTH}"', 'X-Custom: "Bearer ${env:TOKEN}"').replace(
        "exporters: [otlp_grpc/backend]", "exporters: [otlp_http/backend]"))
    _result, doc = check_json()
    tls = find(doc, "linkerd-otel-exporter", "export to outside the cluster is encrypted")
    assert tls["error"].splitlines()[1].strip() == ("otlp_http/backend -> http://otel.example.com:4318 "
                                                     "(an http:// endpoint; it sends credentials)")
