"""`check` against malformed configs, secrets in what it prints, and reads it could not make: each test
asserts the exact result of the exact check and the exit code."""
from __future__ import annotations

import json

import pytest

import scenarios
from helpers import run_cli, snapshot_text
from test_check_scenarios import check_json, find

NS = scenarios.NS
PORT_ENV = "'${env:METRICS_PORT}'"


def _telemetry_config(readers: str) -> str:
    return scenarios.HEALTHY_CONFIG.replace(
        "      readers:\n        - pull:\n            exporter:\n              prometheus:\n"
        "                host: 0.0.0.0\n                port: 8888\n", f"      readers: {readers}\n")


# -- 1. a config value the plugin cannot resolve is "not known", never an internal error ---------------
@pytest.mark.parametrize("readers, why", [
    ("[{pull: {exporter: {prometheus: {host: 0.0.0.0, port: " + PORT_ENV + "}}}}]",
     "service.telemetry.metrics.readers[0].pull.exporter.prometheus.port is '${env:METRICS_PORT}', not a "
     "port number this plugin can resolve"),
    ("[{pull: {exporter: {prometheus: {host: 0.0.0.0, port: abc}}}}]",
     "service.telemetry.metrics.readers[0].pull.exporter.prometheus.port is 'abc', not a port number this "
     "plugin can resolve"),
    ("5", "service.telemetry.metrics.readers is not a list (int)"),
])
def test_unresolvable_self_metrics_port_is_not_known(mesh_api, readers, why):
    scenarios.healthy(mesh_api)
    config = _telemetry_config(readers)
    assert config != scenarios.HEALTHY_CONFIG
    scenarios.set_config(mesh_api, config)
    result, doc = check_json()
    # `readers: 5` is also a config the collector refuses (readers must be a list): config-consistent fails
    assert result.exit_code == (1 if readers == "5" else 0), result.output
    assert result.stderr == ""
    check = find(doc, "linkerd-otel-exporter", "collector self-metrics can be read")
    assert check["result"] == "warning"
    assert check["error"] == (f"cannot tell where the collector's self-metrics listen: {why}, so they were "
                              "not read. Falling back to what the logs show")
    assert mesh_api.requests_to(r"8888/proxy/metrics") == []


def test_self_metrics_port_from_the_workload_env_is_resolved(mesh_api):
    import copy

    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, _telemetry_config(
        "[{pull: {exporter: {prometheus: {host: 0.0.0.0, port: " + PORT_ENV + "}}}}]"))
    dep = copy.deepcopy(mesh_api.get("deployments", "otel-collector", NS))
    dep["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
        {"name": "METRICS_PORT", "value": "8888"})
    mesh_api.add(dep)
    result, doc = check_json()
    assert result.exit_code == 0, result.output
    assert find(doc, "linkerd-otel-exporter", "collector self-metrics can be read")["result"] == "success"
    assert find(doc, "linkerd-otel-exporter", "metric points sent")["description"] == "1200 metric points sent"


def test_unresolvable_receiver_api_port_is_named_by_the_targets_check(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "endpoint: 0.0.0.0:9090", "endpoint: '0.0.0.0:${env:API_PORT}'"))
    result, doc = check_json()
    assert result.exit_code == 0, result.output
    check = find(doc, "linkerd-otel-targets", "targets expected")
    assert check["result"] == "warning"
    assert check["error"] == (
        "cannot see the collector's own targets: cannot tell where its API listens: "
        "receivers.prometheus/linkerd.api_server.server_config.endpoint is '0.0.0.0:${env:API_PORT}', not an "
        "address this plugin can resolve; the expectation above comes from its config")


# -- 2. credentials are never printed --------------------------------------------------------------------
SECRET_LOG = (
    '2026-11-25T09:15:22.100Z\terror\texporterhelper/queue_sender.go:101\tExporting failed. Dropping data.\t'
    '{"kind": "exporter", "name": "otlp_grpc/backend", "error": "no more retries left: rpc error: code = '
    'Unauthenticated desc = bad credentials Authorization: Basic cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM=", '
    '"dropped_items": 120}\n'
    '2026-11-25T09:15:24.100Z\terror\tsomething/x.go:1\tsome other error happened\t{"password": "hunter2"}\n')


def test_log_lines_are_shown_without_credentials(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    mesh_api.set_logs(NS, scenarios.COLLECTOR_POD, scenarios.COLLECTOR_CONTAINER, scenarios.READY_LOG + SECRET_LOG)
    path = tmp_path / "snap.json"
    result = run_cli("check", "--metrics-interval=0s", "--save-snapshot", str(path))
    assert result.exit_code == 1
    for secret in ("cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM=", "hunter2"):
        assert secret not in result.stdout
        assert secret not in snapshot_text(path)
    assert ("        otlp_grpc/backend: rpc error: code = Unauthenticated desc = bad credentials Authorization: "
            "<redacted> (once, 2026-11-25 09:15:22 UTC)\n" in result.stdout)
    # each problem once, its message and the fields that matter: not the line's raw fields
    assert "        some other error happened (once, 2026-11-25 09:15:24 UTC)\n" in result.stdout


# http://: with tls.insecure a gRPC exporter sends in clear; to https:// it would still use TLS (configgrpc)
SECRET_ENDPOINT = "http://admin:hunter2@backend.example.com:4317"


def test_endpoint_user_and_password_are_redacted_and_flagged(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "openobserve.openobserve.svc.cluster.local:5081", SECRET_ENDPOINT))
    path = tmp_path / "snap.json"
    result, doc = check_json("--save-snapshot", str(path))
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.stdout and "hunter2" not in snapshot_text(path)
    assert find(doc, "linkerd-otel-exporter", "exporters configured")["description"] == \
        "exporters configured: otlp_grpc/backend -> http://<redacted>@backend.example.com:4317"
    tls = find(doc, "linkerd-otel-exporter", "export to outside the cluster is encrypted")
    assert tls["error"] == ("plain-text export to an endpoint outside the cluster: the credentials it sends can "
                            "be read by anyone on the way; turn on TLS (no tls.insecure, an https:// endpoint)\n"
                            "    otlp_grpc/backend -> http://<redacted>@backend.example.com:4317 (tls.insecure; "
                            "it sends credentials)")
    credentials = find(doc, "linkerd-otel-exporter", "no credentials written into the config")
    assert credentials["result"] == "warning"
    assert credentials["error"] == (
        "credentials are written into the config: keep them in a Secret and refer to them as ${env:VAR}\n"
        "    exporters.otlp_grpc/backend.endpoint (user:password in the URL)")


def test_a_grpc_endpoint_without_scheme_is_redacted_and_flagged_too(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "openobserve.openobserve.svc.cluster.local:5081", "admin:hunter2@backend.example.com:4317"))
    path = tmp_path / "snap.json"
    result, doc = check_json("--save-snapshot", str(path))
    assert "hunter2" not in result.output and "hunter2" not in snapshot_text(path)
    assert find(doc, "linkerd-otel-exporter", "exporters configured")["description"] == \
        "exporters configured: otlp_grpc/backend -> <redacted>@backend.example.com:4317"
    credentials = find(doc, "linkerd-otel-exporter", "no credentials written into the config")
    assert credentials["result"] == "warning"
    assert "exporters.otlp_grpc/backend.endpoint (user:password in the URL)" in credentials["error"]


def test_snapshot_redacts_json_style_passwords(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    mesh_api.set_logs(NS, scenarios.COLLECTOR_POD, scenarios.COLLECTOR_CONTAINER,
                      scenarios.READY_LOG + 'x\terror\ty\tz\t{"password": "hunter2", "token": "abc123def"}\n')
    path = tmp_path / "snap.json"
    run_cli("check", "-o", "json", "--metrics-interval=0s", "--save-snapshot", str(path))
    logs = json.loads(snapshot_text(path))["snapshot"]["logs"][scenarios.COLLECTOR_POD]
    assert logs.endswith('{"password": "<redacted>", "token": "<redacted>"}\n')


# -- 4. RBAC is reviewed where the SD configs list pods ---------------------------------------------------
def test_rbac_granted_in_meshed_namespaces_only_fails_for_cluster_wide_discovery(mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    for namespace in ("emojivoto", "linkerd"):
        for verb in ("get", "list", "watch"):
            mesh_api.allow(scenarios.SA_USER, verb, "pods", namespace)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "collector can get, list and watch pods")
    assert check["result"] == "error"
    assert check["error"] == ("system:serviceaccount:observability:otel-collector may not: get pods in all "
                              "namespaces; list pods in all namespaces; watch pods in all namespaces")


def test_rbac_reviewed_in_the_namespaces_the_sd_config_names(mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "            - role: pod\n",
        "            - role: pod\n              namespaces:\n                names: [emojivoto, linkerd]\n"))
    for verb in ("get", "list", "watch"):
        mesh_api.allow(scenarios.SA_USER, verb, "pods", "emojivoto")
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "collector can get, list and watch pods")
    assert check["error"] == ("system:serviceaccount:observability:otel-collector may not: get pods in linkerd; "
                              "list pods in linkerd; watch pods in linkerd")
    mesh_api.allow(scenarios.SA_USER, "list", "pods", "linkerd")
    for verb in ("get", "watch"):
        mesh_api.allow(scenarios.SA_USER, verb, "pods", "linkerd")
    result, doc = check_json()
    check = find(doc, "linkerd-otel-collector", "collector can get, list and watch pods")
    assert check["result"] == "success"
    assert check["description"] == \
        "collector can get, list and watch pods where it scrapes (emojivoto, linkerd)"


def test_access_reviews_forbidden_do_not_claim_no_extra_permissions(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path="subjectaccessreviews$", method="POST")
    result, doc = check_json()
    assert result.exit_code == 1
    extra = find(doc, "linkerd-otel-collector", "collector has no permissions beyond what it needs")
    assert extra["result"] == "success"   # not applicable: JSON says why in the description
    assert extra["description"] == (
        "collector has no permissions beyond what it needs (the API server could not be asked what the "
        "collector may do (see the check above))")
    table = run_cli("check", "--metrics-interval=0s")
    assert ("- collector has no permissions beyond what it needs (the API server could not be asked what the "
            "collector may do (see the check above))\n") in table.stdout


# -- 3. points must reach a backend, and keep leaving --------------------------------------------------
DEBUG_AND_BACKEND = scenarios.HEALTHY_CONFIG.replace(
    "exporters: [otlp_grpc/backend]", "exporters: [otlp_grpc/backend, debug]").replace(
    "exporters:\n  otlp_grpc/backend:", "exporters:\n  debug: {}\n  otlp_grpc/backend:")


def test_debug_exporter_points_do_not_count_as_sent(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, DEBUG_AND_BACKEND)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics", body=scenarios.exporter_metrics([
        {"debug": (1100, 0, 0), "otlp_grpc/backend": (0, 0, 1000)},
        {"debug": (1200, 0, 0), "otlp_grpc/backend": (0, 0, 1000)}]))
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-exporter", "exporter has sent metric points")
    assert check["result"] == "error"
    assert check["error"] == (
        "otelcol_exporter_sent_metric_points is 0 for otlp_grpc/backend: nothing has been exported to a backend "
        "yet (1200 points went to the debug exporter, which sends nowhere); 1000 points wait in the sending queue")


def test_backend_sent_flat_with_a_full_queue_warns(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics", body=scenarios.exporter_metrics([
        {"otlp_grpc/backend": (5000, 0, 1000)}]))
    result, doc = check_json()
    assert result.exit_code == 0
    check = find(doc, "linkerd-otel-exporter", "exporter has sent metric points")
    assert check["result"] == "warning"
    assert check["error"] == (
        "1 backend exporter sent nothing between the two reads: the backend may be unreachable and the retry "
        "queue holding the data (see the export logs check)\n"
        "    otel-collector-857df6bd6f-b84jg: otlp_grpc/backend stayed at 5000 points sent over 0s; "
        "1000 points wait in its queue")


def test_backend_sent_flat_over_a_scrape_interval_warns(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "        - job_name: linkerd-proxy\n", "        - job_name: linkerd-proxy\n          scrape_interval: 1s\n"
        "          scrape_timeout: 1s\n"))
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics", body=scenarios.exporter_metrics([
        {"otlp_grpc/backend": (5000, 0, 0)}]))
    result = run_cli("check", "-o", "json", "--metrics-interval=1s")
    assert result.exit_code == 0
    check = find(json.loads(result.stdout), "linkerd-otel-exporter", "exporter has sent metric points")
    assert check["result"] == "warning"
    assert check["error"].endswith("\n    otel-collector-857df6bd6f-b84jg: otlp_grpc/backend stayed at 5000 points "
                                   "sent over 1s")


def test_backend_sent_flat_within_a_scrape_interval_is_inconclusive(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics", body=scenarios.metrics_text(5000, 0))
    result, doc = check_json()
    assert result.exit_code == 0
    check = find(doc, "linkerd-otel-exporter", "metric points sent")
    assert check["result"] == "success"
    assert check["description"] == (
        "5000 metric points sent (none in the 0s between the two reads, shorter than the scrape interval: raise "
        "--metrics-interval to tell whether points still leave)")


# -- 5. the control-plane namespace the proxy job keeps, asked of the targets engine ----------------------
def test_scrape_rule_expecting_another_namespace_fails_although_it_mentions_linkerd(mesh_api):
    scenarios.healthy(mesh_api)
    wrong = scenarios.HEALTHY_CONFIG.replace("linkerd-admin;linkerd$$", "linkerd-admin;linkerd-proxy$$")
    assert wrong != scenarios.HEALTHY_CONFIG
    scenarios.set_config(mesh_api, wrong)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-control-plane", "scrape config uses the control-plane namespace")
    assert check["result"] == "error"
    assert check["error"] == (
        "the proxy job keeps no proxy of control plane 'linkerd': its rule on the pods' "
        "linkerd.io/control-plane-ns label expects another namespace\n"
        "    job linkerd-proxy: control-plane namespace label `linkerd` where the job expects `linkerd-proxy` "
        "(rule 2, keep)")


def test_scrape_rule_keeping_the_control_plane_passes(mesh_api):
    scenarios.healthy(mesh_api)
    result, doc = check_json()
    check = find(doc, "linkerd-control-plane", "scrape config uses the control-plane namespace")
    assert check["result"] == "success" and check["error"] == ""


# -- 6. a read that failed is reported as such, not as another problem -----------------------------------
FORBIDDEN_SLICES = ("otlp_grpc/backend: could not read EndpointSlices of Service openobserve/openobserve: "
                    "forbidden to list endpointslices in namespace openobserve: injected fault; ask a "
                    "cluster admin for that permission or use --context/--as with an account that has it "
                    "(HTTP 403)")


def test_forbidden_endpointslices_are_named_and_not_waited_for(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path="endpointslices")
    result = run_cli("check", "-o", "json", "--wait=5m0s", "--metrics-interval=0s")
    assert result.exit_code == 1
    check = find(json.loads(result.stdout), "linkerd-otel-exporter", "in-cluster exporter Service")
    assert check["result"] == "error"
    assert check["error"] == FORBIDDEN_SLICES
    assert len(mesh_api.requests_to(r"^/version$")) == 1   # a 403 does not pass by waiting


def test_forbidden_pod_list_is_named_by_the_collector_reads(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path=r"^/api/v1/pods$")
    result, doc = check_json()
    assert result.exit_code == 1
    unread = ("could not read pods: forbidden to list pods in all namespaces: injected fault; ask a cluster "
              "admin for that permission or use --context/--as with an account that has it (HTTP 403)")
    logs = find(doc, "linkerd-otel-logs", "collector logs can be read")
    assert (logs["result"], logs["error"]) == ("error", unread)
    metrics = find(doc, "linkerd-otel-exporter", "collector self-metrics can be read")
    assert (metrics["result"], metrics["error"]) == ("warning", f"could not read the collector's self-metrics: {unread}")
    assert find(doc, "linkerd-otel-exporter", "exporter has sent metric points")["description"] == \
        "exporter has sent metric points (neither self-metrics nor logs were read)"


def test_no_collector_pods_makes_the_log_checks_not_applicable(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.remove("pods", scenarios.COLLECTOR_POD, NS)
    result, doc = check_json()
    assert result.exit_code == 1
    assert find(doc, "linkerd-otel-logs", "collector logs can be read")["description"] == \
        "collector logs can be read (no collector pods)"
    config_errors = find(doc, "linkerd-otel-logs", "no config errors in the logs")
    assert config_errors == {"description": "no config errors in the logs ('collector logs can be read' does not "
                                            "apply: no collector pods)", "hint": "", "error": "", "result": "success"}
    targets = find(doc, "linkerd-otel-targets", "targets expected")
    assert targets["error"] == ("cannot see the collector's own targets: no running collector pod to ask; the "
                                "expectation above comes from its config")
    table = run_cli("check", "--metrics-interval=0s")
    # a category none of whose checks applies is one line at the end, as linkerd check hides extensions
    assert "- linkerd-otel-logs does not apply: no collector pods\n" in table.stdout
    assert "no config errors in the logs" not in table.stdout


# -- 7. --wait retries reads that timed out -----------------------------------------------------------------
def test_wait_retries_a_timed_out_configmap_read(mesh_api, monkeypatch):
    from kubectl_linkerd_otel.commands import check as check_command

    monkeypatch.setattr(check_command, "RETRY_EVERY", 0.2)   # the 5 s pause, shortened for the test
    scenarios.healthy(mesh_api)
    # the first ConfigMap read never answers; every other read has 5 s, ample on a loaded machine
    mesh_api.delay(600, path=r"/namespaces/observability/configmaps$", times=1)
    result = run_cli("check", "-o", "json", "--wait=60s", "--metrics-interval=0s", "--request-timeout=5s")
    assert result.exit_code == 0, result.stdout
    assert len(mesh_api.requests_to(r"^/version$")) == 2


def test_wait_does_not_retry_a_forbidden_configmap_read(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path=r"/namespaces/observability/configmaps$")
    result = run_cli("check", "-o", "json", "--wait=5m0s", "--metrics-interval=0s")
    assert result.exit_code == 1
    check = find(json.loads(result.stdout), "linkerd-otel-collector", "collector config exists")
    assert check["error"].startswith("could not read ConfigMaps: forbidden to list configmaps in namespace observability")
    assert len(mesh_api.requests_to(r"^/version$")) == 1


def test_kubernetes_version_from_git_version(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.version = {"major": "", "minor": "", "gitVersion": "v1.30.1+k3s1"}
    _, doc = check_json()
    check = find(doc, "kubernetes-api", "is running Kubernetes")
    assert (check["result"], check["description"]) == ("success", "is running Kubernetes v1.30.1+k3s1")
