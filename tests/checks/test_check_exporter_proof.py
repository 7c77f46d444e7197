"""`check --probe-exporter` proves the configured OTLP exporter's credentials: the empty export over its
protocol (OTLP/HTTP or OTLP/gRPC), with the headers resolved from the collector's env and its Secret,
against a local OTLP endpoint (a real gRPC server for OTLP/gRPC)."""
from __future__ import annotations

import base64
import json

import scenarios
from helpers import run_cli
from otlp_grpc_server import WRONG_KEY_WORDS as GRPC_WRONG_KEY_WORDS
from otlp_grpc_server import serve_otlp_grpc
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


NEEDS = "exporters send what their backends want"


def _exporter_config(endpoint: str, headers: str, processors: str) -> str:
    return scenarios.HEALTHY_CONFIG.replace(
        '''  otlp_grpc/backend:
    endpoint: openobserve.openobserve.svc.cluster.local:5081
    headers:
      Authorization: "Basic ${env:OTLP_AUTH}"
    tls:
      insecure: true''', f'''  otlp_http/backend:
    endpoint: {endpoint}
    headers:
{headers}''').replace("exporters: [otlp_grpc/backend]", "exporters: [otlp_http/backend]").replace(
        "processors: [memory_limiter, batch]", f"processors: [{processors}]")


def test_backend_needs_skips_other_backends(mesh_api):
    scenarios.healthy(mesh_api)
    _result, doc = check_json()
    assert find(doc, NEEDS)["description"] == f"{NEEDS} (no exporter to a backend install has a preset for)"


def test_cumulative_into_datadog_and_a_missing_dataset_warn(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, _exporter_config(
        "https://otlp.datadoghq.eu", '      dd-api-key: "${env:OTLP_AUTH}"', "memory_limiter, batch"))
    _result, doc = check_json()
    check = find(doc, NEEDS)
    assert check["result"] == "warning"
    assert ("otlp_http/backend sends cumulative metrics to Datadog, which wants delta: add the cumulativetodelta "
            "processor to its pipeline (install --backend datadog does; contrib or k8s distribution)") in check["error"]
    scenarios.set_config(mesh_api, _exporter_config(
        "https://otlp.datadoghq.eu", '      dd-api-key: "${env:OTLP_AUTH}"',
        "memory_limiter, cumulativetodelta, batch").replace("  batch: {}", "  batch: {}\n  cumulativetodelta: {}"))
    _result, doc = check_json()
    assert find(doc, NEEDS)["description"] == f"{NEEDS} (otlp_http/backend -> Datadog)"
    scenarios.set_config(mesh_api, _exporter_config(
        "https://api.eu1.honeycomb.io:443", '      x-honeycomb-team: "${env:OTLP_AUTH}"', "memory_limiter, batch"))
    _result, doc = check_json()
    check = find(doc, NEEDS)
    assert check["result"] == "warning"
    assert ("otlp_http/backend sends Honeycomb no x-honeycomb-dataset header (install --backend honeycomb sets "
            "x-honeycomb-dataset: linkerd)") in check["error"]


GRPC_EXPORTER = '''    endpoint: openobserve.openobserve.svc.cluster.local:5081
    headers:
      Authorization: "Basic ${env:OTLP_AUTH}"
    tls:
      insecure: true'''


def _configure_grpc(api, endpoint: str, secret_value: str, tls: str = "insecure: true") -> None:
    scenarios.healthy(api)
    config = scenarios.HEALTHY_CONFIG.replace(GRPC_EXPORTER, f"""    endpoint: {endpoint}
    headers:
      api-key: "${{env:OTLP_HEADER_0}}"
    tls:
      {tls}""")
    assert endpoint in config
    scenarios.set_config(api, config)
    scenarios._set_secret_env(api, "OTLP_HEADER_0")
    api.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "otel-credentials",
                                                               "namespace": scenarios.NS},
             "data": {"OTLP_HEADER_0": base64.b64encode(secret_value.encode()).decode()}})


def test_grpc_the_right_key_passes_over_h2c(mesh_api):
    with serve_otlp_grpc("api-key", KEY) as server:
        _configure_grpc(mesh_api, server.endpoint, KEY)
        _result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert check["result"] == "success", check
    (call,) = server.calls
    assert call.metadata["api-key"] == KEY


def test_grpc_a_rotated_key_fails_with_the_vendors_words_and_no_credential(mesh_api):
    with serve_otlp_grpc("api-key", KEY) as server:
        _configure_grpc(mesh_api, server.endpoint, "old-key-1")
        result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert result.exit_code == 1
    assert check["result"] == "error"
    assert (f'otlp_grpc/backend: {server.endpoint} refused the credentials (gRPC PERMISSION_DENIED (7): '
            f'"{GRPC_WRONG_KEY_WORDS}"); check the Secret the collector reads them from') in check["error"]
    assert "old-key-1" not in result.output


def test_grpc_over_tls_with_the_configs_ca_pem(mesh_api, tmp_path):
    with serve_otlp_grpc("api-key", KEY, tls_dir=tmp_path) as server:
        with open(server.ca_file) as handle:
            pem = handle.read()
        _configure_grpc(mesh_api, server.endpoint, KEY, tls="ca_pem: |\n" + "".join(
            f"        {line}\n" for line in pem.strip().splitlines()))
        _result, doc = check_json("--probe-exporter")
        assert find(doc, ACCEPTED)["result"] == "success"
        _configure_grpc(mesh_api, server.endpoint, KEY, tls="insecure: false")
        _result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert check["result"] == "error"
    assert f"otlp_grpc/backend: TLS with {server.endpoint} ([SSL: CERTIFICATE_VERIFY_FAILED]" in check["error"]
    assert "pass the CA that signed its certificate with --ca-file" in check["error"]
    assert len(server.calls) == 1


def test_grpc_to_an_http1_endpoint_is_named(mesh_api):
    with serve_otlp("api-key", KEY) as server:
        _configure_grpc(mesh_api, f"127.0.0.1:{server.port}", KEY)
        _result, doc = check_json("--probe-exporter")
    check = find(doc, ACCEPTED)
    assert check["result"] == "error"
    assert f"otlp_grpc/backend: 127.0.0.1:{server.port} does not answer OTLP/gRPC (it does not speak HTTP/2" \
        in check["error"]


EU_KEY = "eu01xx" + "0" * 30 + "NRAL"


def test_a_new_relic_key_of_another_region_warns(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, _exporter_config(
        "https://otlp.nr-data.net:4318", f'      api-key: "{EU_KEY}"',
        "memory_limiter, cumulativetodelta, batch").replace("  batch: {}", "  batch: {}\n  cumulativetodelta: {}"))
    result, doc = check_json()
    check = find(doc, NEEDS)
    assert check["result"] == "warning"
    assert ("otlp_http/backend: the New Relic key is a key of the EU region (New Relic license keys name "
            "their region in a prefix: eu01xx for EU, none for US), but otlp.nr-data.net is the endpoint of --region us: use "
            "install --backend newrelic --region eu, or a key of an account in that region") in check["error"]
    assert EU_KEY not in result.output


def test_the_proof_keeps_the_region_the_key_names_never_the_key():
    from kubectl_linkerd_otel.cluster.otlp_proof import _key_region

    assert _key_region("https://otlp.nr-data.net:4318", [("Api-Key", EU_KEY)]) == "eu"
    assert _key_region("https://otlp.eu01.nr-data.net:4318", [("api-key", "a" * 36 + "NRAL")]) == "us"
    assert _key_region("https://otlp.datadoghq.eu", [("dd-api-key", EU_KEY)]) is None   # Datadog keys do not say
    assert _key_region("https://otel.example.com", [("api-key", EU_KEY)]) is None


def test_grpc_over_tls_with_a_ca_file_mounted_from_the_configmap(mesh_api, tmp_path):
    import copy

    with serve_otlp_grpc("api-key", KEY, tls_dir=tmp_path) as server:
        with open(server.ca_file) as handle:
            pem = handle.read()
        _configure_grpc(mesh_api, server.endpoint, KEY, tls="ca_file: /etc/otelcol/ca.crt")
        _result, doc = check_json("--probe-exporter")
        unproven = find(doc, ACCEPTED)
        # as install --ca-file renders it: the CA in the config's ConfigMap, projected beside the config
        cm = copy.deepcopy(mesh_api.get("configmaps", "otel-collector-config", scenarios.NS))
        cm["data"]["ca.crt"] = pem
        mesh_api.add(cm)
        dep = copy.deepcopy(mesh_api.get("deployments", "otel-collector", scenarios.NS))
        dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"].append({"key": "ca.crt", "path": "ca.crt"})
        mesh_api.add(dep)
        _result, doc = check_json("--probe-exporter")
    assert unproven["result"] == "warning"
    assert ("the exporter trusts its own CA (tls.ca_file /etc/otelcol/ca.crt), which no ConfigMap the collector "
            "mounts holds") in unproven["error"]
    assert find(doc, ACCEPTED)["result"] == "success"
    assert len(server.calls) == 1
