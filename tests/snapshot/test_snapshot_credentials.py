"""No credential reaches a snapshot file: every kind the detector knows is planted in the fake cluster
(Secret, config headers and fields, env values, URL user:password, kubeconfig credentials, log lines)
and the saved file's decompressed bytes are searched for each. `check` flags the same headers."""
from __future__ import annotations

import base64
import copy
import gzip
import json

import pytest

import scenarios
from conftest import mesh_objects
from fakekube import FakeApiServer
from helpers import run_cli

NS = scenarios.NS
KUBE_TOKEN = "KUBE-API-TOKEN-19x"
SECRET_VALUE = "root@example.com:SECRET-VALUE-15"

CONFIG = """\
receivers:
  prometheus/linkerd:
    api_server:
      enabled: true
      server_config:
        endpoint: 0.0.0.0:9090
    config:
      scrape_configs:
        - job_name: linkerd-proxy
          basic_auth: {username: scraper, password: SCRAPE-PASS-7}
          authorization:
            type: Bearer
            credentials: SCRAPE-BEARER-8
          kubernetes_sd_configs:
            - role: pod
          relabel_configs:
            - source_labels: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name]
              action: keep
              regex: linkerd-proxy;linkerd-admin
extensions:
  basicauth/client:
    client_auth:
      username: u
      password: "EXT-PASSWORD-1"
  bearertokenauth:
    token: 'EXT-TOKEN-2'
exporters:
  otlp_http/signoz:
    endpoint: https://ingest-user:URL-PASS-3@ingest.signoz.example.com:443
    headers:
      signoz-ingestion-key: SIGNOZ-KEY-4
      Cookie: session=COOKIE-5
      X-Api-Key: APIKEY-6
      x-custom-token: CUSTOM-TOKEN-10
      x-client-secret: CLIENT-SECRET-11
      organization: default
  otlp_grpc/backend:
    endpoint: grpcuser:GRPC-PASS-12@backend.example.com:4317
    headers: {Authorization: "Bearer BEARER-TOKEN-9abcdef", uptrace-dsn: "https://DSN-TOKEN-25@uptrace.dev/1"}
  otlp_grpc/env:
    endpoint: backend.example.com:4317
    headers:
      Authorization: "Basic ${env:OTLP_AUTH}"
service:
  extensions: [basicauth/client, bearertokenauth]
  pipelines:
    metrics:
      receivers: [prometheus/linkerd]
      exporters: [otlp_http/signoz, otlp_grpc/backend, otlp_grpc/env]
"""

KUBECONFIG_TEXT = """\
apiVersion: v1
kind: Config
users:
- name: admin
  user:
    token: KUBECONFIG-TOKEN-16
    client-key-data: KEYDATA-17AAAA
- name: basic
  user:
    username: admin
    password: KUBEPASS-18
"""

LOGS = (scenarios.READY_LOG +
        "2026-11-25T09:15:00.000Z\twarn\tx.go:1\trequest failed\t{\"headers\": \"Authorization: Bearer "
        "LOG-BEARER-20abcdef\", \"url\": \"https://u:LOG-URL-PASS-23@backend.example.com\"}\n"
        "2026-11-25T09:15:01.000Z\terror\tx.go:2\tlogin password=LOG-PASS-21 Cookie: sid=LOG-COOKIE-22\n"
        "2026-11-25T09:15:02.000Z\terror\tx.go:3\tsent signoz-ingestion-key: LOG-KEY-26 x-api-key=LOG-APIKEY-27\n")

SECRETS = ["SCRAPE-PASS-7", "SCRAPE-BEARER-8", "EXT-PASSWORD-1", "EXT-TOKEN-2", "URL-PASS-3", "SIGNOZ-KEY-4",
           "COOKIE-5", "APIKEY-6", "CUSTOM-TOKEN-10", "CLIENT-SECRET-11", "GRPC-PASS-12", "BEARER-TOKEN-9abcdef",
           "DSN-TOKEN-25", "ENV-KEY-13", "ENV-PASS-14", "ENV-TOKEN-28", "SECRET-VALUE-15", "KUBECONFIG-TOKEN-16",
           "KEYDATA-17AAAA", "KUBEPASS-18", KUBE_TOKEN, "LOG-BEARER-20abcdef", "LOG-PASS-21", "LOG-COOKIE-22",
           "LOG-URL-PASS-23", "LOG-KEY-26", "LOG-APIKEY-27", "cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM="]


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """The harness mesh with credentials of every kind planted; the kubeconfig's token is one too."""
    server = FakeApiServer(token=KUBE_TOKEN).start()
    monkeypatch.setenv("KUBECONFIG", server.kubeconfig(str(tmp_path / "kubeconfig")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    server.add_many(mesh_objects())
    scenarios.reference(server)
    scenarios.set_config(server, CONFIG)
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "otel-auth", "namespace": NS},
              "data": {"OTLP_AUTH": encoded}}
    server.add(secret)
    # the collector: env values in clear, one from the Secret; its last-applied annotation repeats the Secret
    dep = copy.deepcopy(server.get("deployments", "otel-collector", NS))
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "SIGNOZ_INGESTION_KEY", "value": "ENV-KEY-13"},
                        {"name": "DB_PASSWORD", "value": "ENV-PASS-14"},
                        {"name": "OTLP_AUTH", "valueFrom": {"secretKeyRef": {"name": "otel-auth", "key": "OTLP_AUTH"}}},
                        {"name": "GOMEMLIMIT", "value": "200MiB"}]
    dep["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(
        {"kind": "List", "items": [dict(secret, stringData={"OTLP_AUTH": SECRET_VALUE})]})
    server.add(dep)
    pod = scenarios.pod(server, NS, scenarios.COLLECTOR_POD)
    pod["spec"]["containers"][0]["env"] = container["env"] + [
        {"name": "OTLP_AUTH", "value": SECRET_VALUE,     # a kubelet-resolved copy, as some tools write it
         "valueFrom": {"secretKeyRef": {"name": "otel-auth", "key": "OTLP_AUTH"}}},
        {"name": "BACKEND_TOKEN", "value": "ENV-TOKEN-28"}]
    server.add(pod)
    server.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "admin-kubeconfig", "namespace": NS},
                "data": {"config": KUBECONFIG_TEXT}})
    server.set_logs(NS, scenarios.COLLECTOR_POD, scenarios.COLLECTOR_CONTAINER,
                    LOGS + "2026-11-25T09:15:03.000Z\terror\tx.go:4\tAuthorization: Basic "
                           "cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM=\n")
    yield server
    server.stop()


def _forms(secret: str):
    yield secret
    yield base64.b64encode(secret.encode()).decode().rstrip("=")


@pytest.mark.parametrize("how", [("snapshot", "-f"), ("check", "--metrics-interval=0s", "--save-snapshot")])
def test_no_planted_credential_reaches_the_file(planted, tmp_path, how):
    path = tmp_path / "snap.gz"
    result = run_cli(*how, str(path))
    assert result.exit_code in (0, 1), result.output
    raw = gzip.decompress(path.read_bytes())
    found = [s for s in SECRETS for form in _forms(s) if form.encode() in raw]
    assert found == []
    assert raw.count(b"<redacted>") >= 25
    for secret in SECRETS:
        assert secret not in result.output
    doc = json.loads(raw)
    config = next(cm for cm in doc["snapshot"]["configmaps"]
                  if cm["metadata"]["name"] == "otel-collector-config")["data"]["config.yaml"]
    # the layout is kept, `${env:...}` references and ordinary values too
    assert config.count("\n") == CONFIG.count("\n")
    assert "      signoz-ingestion-key: <redacted>\n      Cookie: <redacted>\n" in config
    assert 'Authorization: "Basic ${env:OTLP_AUTH}"' in config and "organization: default" in config
    assert "endpoint: https://<redacted>@ingest.signoz.example.com:443" in config
    env = {e["name"]: e.get("value") for p in doc["snapshot"]["pods"] if p["metadata"]["name"] == scenarios.COLLECTOR_POD
           for e in p["spec"]["containers"][0]["env"]}
    assert env["GOMEMLIMIT"] == "200MiB" and env["DB_PASSWORD"] == "<redacted>"


def test_check_flags_the_headers_redaction_hides(planted):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    doc = json.loads(result.stdout)
    checks = {c["description"]: c for cat in doc["categories"] for c in cat["checks"]}
    flagged = checks["no credentials written into the config"]["error"]
    for header in ("signoz-ingestion-key", "Cookie", "X-Api-Key", "x-custom-token", "x-client-secret",
                   "uptrace-dsn", "Authorization", "extensions.basicauth/client.client_auth.password",
                   "extensions.bearertokenauth.token"):
        assert header in flagged
    assert "organization" not in flagged and "otlp_grpc/env" not in flagged


def test_no_redact_keeps_them_and_warns(planted, tmp_path):
    path = tmp_path / "snap.gz"
    result = run_cli("snapshot", "-f", str(path), "--no-redact")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: --no-redact: the snapshot keeps credentials")
    raw = gzip.decompress(path.read_bytes())
    assert b"SIGNOZ-KEY-4" in raw and b"<redacted>" not in raw
    assert KUBE_TOKEN.encode() not in raw          # never saved at all, redacted or not
    offline = run_cli("check", "--snapshot", str(path))
    assert offline.stdout.split("\n", 1)[0].endswith(" (NOT redacted)")
