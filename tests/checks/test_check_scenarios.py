"""`check` against the fake API server: each scenario asserts the exact result of the exact check."""
from __future__ import annotations

import json

import scenarios
from helpers import run_cli, snapshot_text

NS = scenarios.NS


def check_json(*extra):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    doc = json.loads(result.stdout)
    return result, doc


def find(doc, category, text):
    for cat in doc["categories"]:
        if cat["categoryName"] != category:
            continue
        for check in cat["checks"]:
            if text in check["description"]:
                return check
    raise AssertionError(f"no check {text!r} in {category}: {json.dumps(doc, indent=1)}")


def not_success(doc):
    return [(c["categoryName"], k["description"], k["result"]) for c in doc["categories"]
            for k in c["checks"] if k["result"] != "success"]


def test_healthy_cluster_all_pass(mesh_api):
    scenarios.healthy(mesh_api)
    result = run_cli("check", "--metrics-interval=0s")
    assert result.exit_code == 0, result.output
    assert "\u00d7" not in result.stdout and "\u203c" not in result.stdout
    assert result.stdout.rstrip().endswith("Status check results are \u221a")
    assert ("√ 5 targets scraped (jobs: linkerd-proxy): 5 up, 0 down, 0 unknown; 5 running meshed pods, 0 not scraped "
            "(1 completed pod not counted)\n") in result.stdout
    _, doc = check_json()
    assert doc["success"] is True
    assert not_success(doc) == []
    # a check that does not apply passes and says why
    assert find(doc, "linkerd-otel-exporter", "external exporter endpoint is reachable")["description"] == \
        "external exporter endpoint is reachable (no external exporter endpoint)"


def test_api_unreachable(mesh_api):
    mesh_api.drop(times=None)
    result, doc = check_json("--request-timeout=2s")
    assert result.exit_code == 2   # the command could not run; the report still says why
    api = find(doc, "kubernetes-api", "can query the Kubernetes API")
    assert api["result"] == "error" and api["error"].startswith("cannot reach the Kubernetes API")
    assert api["hint"].endswith("#k8s-api")
    assert find(doc, "linkerd-otel-collector", "collector namespace exists")["error"].startswith("skipped:")


def test_linkerd_missing(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.remove("namespaces", "linkerd")
    for pod in list(mesh_api.objects("pods")):
        if pod["metadata"]["namespace"] == "linkerd":
            mesh_api.remove("pods", pod["metadata"]["name"], "linkerd")
    result, doc = check_json()
    assert result.exit_code == 1
    installed = find(doc, "linkerd-control-plane", "Linkerd control plane is installed")
    assert installed["result"] == "error"
    assert "no Linkerd control plane found" in installed["error"]
    assert find(doc, "linkerd-data-plane", "meshed pods are ready")["error"] == \
        "skipped: 'Linkerd control plane is installed' did not pass"


def test_meshed_pod_one_of_two(mesh_api):
    scenarios.healthy(mesh_api)
    pod = scenarios.pod(mesh_api, "emojivoto", "emoji-547b6957d6-s59rz")
    cs = scenarios.container_status(pod, "linkerd-proxy")
    cs.update(ready=False, restartCount=4, state={"waiting": {"reason": "CrashLoopBackOff"}})
    mesh_api.add(pod)
    result = run_cli("check", "--metrics-interval=0s")
    assert result.exit_code == 1
    assert "× meshed pods are ready\n    1 meshed pod is not ready\n" \
           "        emojivoto/emoji-547b6957d6-s59rz  1/2  Running  linkerd-proxy: CrashLoopBackOff\n" \
           "    see https://github.com/linkerd-otel/kubectl-linkerd-otel#l5d-pods-ready for hints" in result.stdout


def test_native_sidecar_pod_is_ready(mesh_api):
    scenarios.healthy(mesh_api)
    pod = mesh_api.get("pods", "web-5b4656675c-826fd", "emojivoto")
    assert any(c["name"] == "linkerd-proxy" and c.get("restartPolicy") == "Always"
               for c in pod["spec"]["initContainers"])
    result, doc = check_json("--namespace-filter", "emojivoto")
    assert result.exit_code == 0
    assert find(doc, "linkerd-data-plane", "meshed pods are ready")["result"] == "success"
    assert find(doc, "linkerd-data-plane", "meshed pods found")["description"] == \
        "3 meshed pods found in 1 namespace (emojivoto)"


def test_proxy_without_admin_port(mesh_api):
    scenarios.healthy(mesh_api)
    pod = scenarios.pod(mesh_api, "emojivoto", "emoji-547b6957d6-s59rz")
    proxy = next(c for c in pod["spec"]["containers"] if c["name"] == "linkerd-proxy")
    proxy["ports"] = [p for p in proxy["ports"] if p["name"] != "linkerd-admin"]
    mesh_api.add(pod)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-data-plane", "every proxy exposes the linkerd-admin port")
    assert check["result"] == "error"
    assert check["error"].startswith("1 proxy does not expose a port named linkerd-admin")
    assert "emojivoto/emoji-547b6957d6-s59rz" in check["error"]


def test_pod_of_another_control_plane_warns(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.add_many([p for p in scenarios_pods() if p["metadata"]["namespace"] == "other-mesh"])
    result, doc = check_json()
    assert result.exit_code == 0
    check = find(doc, "linkerd-data-plane", "meshed pods belong to this control plane")
    assert check["result"] == "warning"
    assert "other-mesh/web-697cdddb99-5t22j (linkerd.io/control-plane-ns=linkerd-other)" in check["error"]


def scenarios_pods():
    from conftest import load_fixture
    return load_fixture("harness-mesh-pods.json")["items"]


def test_deny_default_policy_warns(mesh_api):
    scenarios.healthy(mesh_api)
    pod = scenarios.pod(mesh_api, "emojivoto", "emoji-547b6957d6-s59rz")
    proxy = next(c for c in pod["spec"]["containers"] if c["name"] == "linkerd-proxy")
    for env in proxy["env"]:
        if env["name"] == "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY":
            env["value"] = "deny"
    mesh_api.add(pod)
    result, doc = check_json()
    assert result.exit_code == 1   # the linkerd-otel-policy checks fail: see test_policy_restrict_cli.py
    check = find(doc, "linkerd-data-plane", "inbound policy lets the collector scrape proxies")
    assert check["result"] == "warning"
    assert "1 proxy would answer the collector's scrape with HTTP 403" in check["error"]
    assert "emojivoto/emoji-547b6957d6-s59rz (deny: the collector is not meshed)" in check["error"]


def test_rbac_denied(mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "collector can get, list and watch pods")
    assert check["result"] == "error"
    # the SD config names no namespaces: the collector lists and watches pods at the cluster scope
    assert check["error"] == ("system:serviceaccount:observability:otel-collector may not: get pods in all "
                              "namespaces; list pods in all namespaces; watch pods in all namespaces")


def test_access_reviews_we_may_not_create_fail_once_not_per_review(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path="subjectaccessreviews$", method="POST")
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "collector can get, list and watch pods")
    assert check["result"] == "error"
    lines = check["error"].splitlines()
    assert lines[0] == "could not ask the API server (SubjectAccessReview) what the collector may do"
    assert len(lines) == 2 and "forbidden to create subjectaccessreviews" in lines[1], check["error"]
    assert len(mesh_api.requests_to("subjectaccessreviews$", method="POST")) > 3


def test_rbac_broader_than_needed_warns(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.allow(scenarios.SA_USER, "list", "secrets")
    _, doc = check_json()
    check = find(doc, "linkerd-otel-collector", "no permissions beyond")
    assert check["result"] == "warning" and "list secrets" in check["error"]


def test_collector_crash_looping(mesh_api):
    scenarios.healthy(mesh_api)
    pod = scenarios.pod(mesh_api, NS, scenarios.COLLECTOR_POD)
    cs = scenarios.container_status(pod, "otel-collector")
    cs.update(ready=False, started=False, restartCount=6, state={"waiting": {"reason": "CrashLoopBackOff"}},
              lastState={"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-11-25T10:00:00Z",
                                        "message": "cannot unmarshal the configuration"}})
    mesh_api.add(pod)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "collector pods are running and ready")
    assert check["result"] == "error"
    assert ("otel-collector-857df6bd6f-b84jg is crash-looping (6 restarts, last exit: Error (exit code 1))"
            ": cannot unmarshal the configuration") in check["error"]


def test_config_with_undefined_exporter(mesh_api):
    scenarios.healthy(mesh_api)
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "exporters: [otlp_grpc/backend]", "exporters: [otlp_grpc/backend, otlphttp/missing]"))
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "collector config is consistent")
    assert check["result"] == "error"
    assert "pipeline metrics uses exporter 'otlphttp/missing', which is not defined" in check["error"]


EXPORT_FAILED = (
    '2026-11-25T10:00:01.000Z\tinfo\tinternal/retry_sender.go:126\tExporting failed. Will retry the request '
    'after interval.\t{"kind": "exporter", "name": "otlp_grpc/backend", "error": "rpc error: code = Unavailable '
    'desc = connection error", "interval": "5.1s"}\n'
    '2026-11-25T10:00:09.000Z\terror\tinternal/queue_sender.go:92\tExporting failed. Dropping data.\t'
    '{"kind": "exporter", "name": "otlp_grpc/backend", "error": "no more retries left: rpc error: code = '
    'DeadlineExceeded desc = context deadline exceeded", "dropped_items": 412}\n')


def test_logs_with_export_failures(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_logs(NS, scenarios.COLLECTOR_POD, "otel-collector", scenarios.READY_LOG + EXPORT_FAILED)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-logs", "no export retries or drops")
    assert check["result"] == "error"
    assert check["error"].startswith("1 export dropped, 1 retried")
    assert "rpc error: code = DeadlineExceeded desc = context deadline exceeded" in check["error"]
    assert find(doc, "linkerd-otel-logs", "no other errors")["result"] == "success"


def test_logs_with_forbidden(mesh_api):
    scenarios.healthy(mesh_api)
    line = ('2026-11-25T10:00:01.000Z\terror\tk8s.io/client-go@v0.31/tools/cache/reflector.go:158\t'
            'pods is forbidden: User "system:serviceaccount:observability:otel-collector" cannot list '
            'resource "pods" in API group "" at the cluster scope\n')
    mesh_api.set_logs(NS, scenarios.COLLECTOR_POD, "otel-collector", scenarios.READY_LOG + line * 2)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-logs", "no RBAC errors")
    assert check["result"] == "error"
    assert check["error"].startswith("2 RBAC 'is forbidden' errors")


def test_exporter_service_without_endpoints(mesh_api):
    scenarios.healthy(mesh_api)
    eps = dict(mesh_api.get("endpointslices", "openobserve-abcde", "openobserve"))
    eps["endpoints"] = [{"addresses": ["10.244.0.40"], "conditions": {"ready": False}}]
    mesh_api.add(eps)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-exporter", "in-cluster exporter Service")
    assert check["result"] == "error"
    assert check["error"] == "otlp_grpc/backend: Service openobserve/openobserve has no ready endpoints"


def test_send_failed_growing(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics",
                       body=scenarios.growing_metrics(failed_step=50))
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-exporter", "exporter send failures are not growing")
    assert check["result"] == "error"
    assert "exporter otlp_grpc/backend failed 50 more points" in check["error"]


def test_self_metrics_without_total_suffix(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics",
                       body=scenarios.growing_metrics(total_suffix=False))
    _, doc = check_json()
    assert find(doc, "linkerd-otel-exporter", "metric points sent")["description"] == "1200 metric points sent"


def test_target_down(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=scenarios.targets_json(mesh_api,
        {"emojivoto/emoji-547b6957d6-s59rz": ("down", "server returned HTTP status 403 Forbidden")}))
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-targets", "targets scraped")
    assert check["result"] == "error"
    assert check["description"] == ("5 targets scraped (jobs: linkerd-proxy): 4 up, 1 down, 0 unknown; "
                                    "5 running meshed pods, 0 not scraped (1 completed pod not counted)")
    assert ("emojivoto/emoji-547b6957d6-s59rz (10.244.0.22:4191) is down: server returned HTTP status 403 "
            "Forbidden") in check["error"]


def test_reference_setup(mesh_api):
    scenarios.reference(mesh_api)
    result, doc = check_json()
    assert result.exit_code == 1
    got = {(c["categoryName"], k["description"]): k for c in doc["categories"] for k in c["checks"]}
    assert got[("linkerd-otel-collector", "collector workload Deployment/otel-collector found")]["result"] == "success"
    assert got[("linkerd-otel-collector", "collector config otel-collector-config found")]["result"] == "success"
    assert got[("linkerd-otel-collector", "collector image is pinned")]["result"] == "warning"
    consistent = got[("linkerd-otel-collector", "collector config is consistent")]
    assert consistent["result"] == "error" and "unescaped $" in consistent["error"]
    assert got[("linkerd-otel-exporter", "no credentials written into the config")]["result"] == "warning"
    service = got[("linkerd-otel-exporter", "in-cluster exporter Service has ready endpoints")]
    assert service["error"] == ("otlp/openobserve: Service openobserve/openobserve-openobserve-standalone "
                                "does not exist")
    assert "bound to" not in got[("linkerd-otel-exporter", "collector self-metrics can be read")]["error"]
    assert "not configured (default localhost:8888)" in \
        got[("linkerd-otel-exporter", "collector self-metrics can be read")]["error"]
    # no receiver API: the expectation comes from simulating the reference config: 5 live proxies plus
    # the completed job's (no phase filter); the controller job's `admin` port no longer exists (2.19)
    # the pod of another control plane counts as not scraped, as `targets` counts it (a warning: the
    # data-plane category already says the scrape rule skips it)
    targets = got[("linkerd-otel-targets", "6 targets expected (jobs: linkerd-controller, "
                   "linkerd-multicluster-controller, linkerd-proxy): health unknown; 6 running meshed pods, 1 not scraped "
                   "(1 completed pod not counted)")]
    assert targets["result"] == "warning" and "api_server" in targets["error"]
    assert "other-mesh/web-697cdddb99-5t22j: control-plane namespace label `linkerd-other`" in targets["error"]
    assert got[("linkerd-data-plane", "meshed pods belong to this control plane")]["result"] == "warning"


def test_forbidden_pod_list_becomes_a_failed_check(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path=r"^/api/v1/pods$")
    result, doc = check_json()
    assert result.exit_code == 1
    installed = find(doc, "linkerd-control-plane", "Linkerd control plane is installed")
    assert installed["result"] == "error" and installed["error"].startswith("could not read pods:")
    assert "403" in installed["error"]


def test_short_output_lists_only_problems(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.allow(scenarios.SA_USER, "list", "secrets")
    result = run_cli("check", "-o", "short", "--metrics-interval=0s")
    assert result.exit_code == 0
    assert "√" not in result.stdout.replace("Status check results are √", "")
    assert "‼ collector has no permissions beyond what it needs" in result.stdout
    assert result.stdout.rstrip().endswith("Status check results are √")


def test_snapshot_round_trip_redacts_and_checks_offline(mesh_api, tmp_path):
    scenarios.reference(mesh_api)
    path = tmp_path / "snap.json"
    first = run_cli("check", "-o", "json", "--metrics-interval=0s", "--save-snapshot", str(path))
    text = snapshot_text(path)
    assert "cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM=" not in text
    assert "<redacted>" in text
    mesh_api.stop()
    offline = run_cli("check", "-o", "json", "--snapshot", str(path))
    assert offline.exit_code == first.exit_code == 1
    assert not_success(json.loads(offline.stdout)) == not_success(json.loads(first.stdout))


def test_bad_snapshot_file_is_a_usage_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    result = run_cli("check", "--snapshot", str(path))
    assert result.exit_code == 2
    assert "is not a linkerd-otel snapshot" in result.stderr


def test_wait_retries_until_a_failing_check_passes(mesh_api, monkeypatch):
    from kubectl_linkerd_otel.commands import check as check_command

    monkeypatch.setattr(check_command, "RETRY_EVERY", 0.2)   # the 5 s pause, shortened for the test
    scenarios.healthy(mesh_api)
    calls = {"n": 0}

    def targets(_query):
        calls["n"] += 1
        down = {"emojivoto/emoji-547b6957d6-s59rz": ("down", "connection refused")} if calls["n"] == 1 else {}
        return scenarios.targets_json(mesh_api, down)

    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=targets)
    result = run_cli("check", "--wait=10s", "--metrics-interval=0s")
    assert result.exit_code == 0, result.output
    assert calls["n"] == 2


def test_without_wait_a_failure_is_reported_at_once(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=scenarios.targets_json(mesh_api,
        {"emojivoto/emoji-547b6957d6-s59rz": ("down", "connection refused")}))
    result = run_cli("check", "--metrics-interval=0s")
    assert result.exit_code == 1
    assert len(mesh_api.requests_to(r"9090/proxy/api/v1/targets")) == 1


def test_meshed_pods_the_config_never_scrapes(mesh_api):
    scenarios.healthy(mesh_api)
    narrowed = scenarios.HEALTHY_CONFIG.replace(
        "            - role: pod\n", "            - role: pod\n              namespaces:\n                names: [linkerd]\n")
    scenarios.set_config(mesh_api, narrowed)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets",
                       body=lambda _q: scenarios.targets_json(mesh_api, config_text=narrowed))
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-targets", "targets scraped")
    assert check["description"] == ("3 targets scraped (jobs: linkerd-proxy): 3 up, 0 down, 0 unknown; "
                                    "5 running meshed pods, 2 not scraped (1 completed pod not counted)")
    assert check["error"].startswith("2 running meshed pods of control plane 'linkerd' are not scraped\n")
    assert "emojivoto/emoji-547b6957d6-s59rz" in check["error"] and "emojivoto/web-5b4656675c-826fd" in check["error"]


def test_probe_external_exporter(mesh_api):
    import socket

    scenarios.healthy(mesh_api)
    with socket.socket() as sock:          # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = scenarios.HEALTHY_CONFIG.replace("openobserve.openobserve.svc.cluster.local:5081", f"127.0.0.1:{port}")
    scenarios.set_config(mesh_api, config)
    _, doc = check_json()
    assert find(doc, "linkerd-otel-exporter", "external exporter endpoint is reachable")["description"] == (
        "external exporter endpoint is reachable (not probed (pass --probe-exporter to connect from this "
        "workstation))")
    tls = find(doc, "linkerd-otel-exporter", "export to outside the cluster is encrypted")
    assert tls["result"] == "warning" and f"otlp_grpc/backend -> 127.0.0.1:{port}" in tls["error"]
    result, doc = check_json("--probe-exporter")
    assert result.exit_code == 1
    probe = find(doc, "linkerd-otel-exporter", "external exporter endpoint is reachable")
    assert probe["result"] == "error" and probe["error"].startswith(f"127.0.0.1:{port}: cannot connect to 127.0.0.1:{port}")
    with socket.socket() as server:        # now something listens: plain TCP (tls.insecure) connects
        server.bind(("127.0.0.1", port))
        server.listen(1)
        _, doc = check_json("--probe-exporter")
    assert find(doc, "linkerd-otel-exporter", "external exporter endpoint is reachable")["result"] == "success"


def test_collector_restarted_recently_warns(mesh_api):
    import datetime

    scenarios.healthy(mesh_api)
    pod = scenarios.pod(mesh_api, NS, scenarios.COLLECTOR_POD)
    finished = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    cs = scenarios.container_status(pod, "otel-collector")
    cs.update(restartCount=1, lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": finished}})
    mesh_api.add(pod)
    result, doc = check_json()
    assert result.exit_code == 0
    check = find(doc, "linkerd-otel-collector", "collector pods")
    assert check["result"] == "warning"
    assert "otel-collector-857df6bd6f-b84jg restarted in the last hour (OOMKilled)" in check["error"]


def test_slow_log_read_becomes_a_failed_check(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.delay(600, path=r"/log$")      # never answers; the other reads fit in 3 s on a loaded machine
    result, doc = check_json("--request-timeout=3s")
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-logs", "collector logs can be read")
    assert check["result"] == "error"
    assert check["error"].startswith("could not read collector logs\n    otel-collector-857df6bd6f-b84jg: ")
    assert find(doc, "linkerd-otel-logs", "no config errors in the logs")["error"] == \
        "skipped: 'collector logs can be read' did not pass"


# -- linkerd-otel-targets counts as `targets` does, and the reference config's two known traps -------------
def _targets_check(doc, check_id_text):
    return find(doc, "linkerd-otel-targets", check_id_text)


def test_targets_category_counts_like_the_targets_command(mesh_api):
    scenarios.reference(mesh_api)
    listing = run_cli("targets")
    assert "linkerd-proxy: 6 targets; health unknown; 1 meshed pod not scraped;" in listing.stdout
    _, doc = check_json()
    summary = _targets_check(doc, "targets expected")
    assert summary["description"].endswith("6 running meshed pods, 1 not scraped (1 completed pod not counted)")


def test_reference_controller_job_without_targets_warns(mesh_api):
    scenarios.reference(mesh_api)
    _, doc = check_json()
    check = _targets_check(doc, "every Linkerd scrape job finds its pods")
    assert check["result"] == "warning"
    assert check["error"].startswith("1 Linkerd scrape job finds no target: no metrics from those components")
    assert ("job linkerd-controller: 0 targets, though 3 control-plane pods run in linkerd (admin ports: "
            "dest-admin, spval-admin, policy-admin, ident-admin, injector-admin)") in check["error"]
    assert check["hint"].endswith("#otel-targets-linkerd-jobs")


def test_controller_job_keeping_the_2_19_admin_ports_passes(mesh_api):
    scenarios.reference(mesh_api)
    text = mesh_api.get("configmaps", "otel-collector-config", NS)["data"]["config.yaml"]
    fixed = text.replace("            regex: admin\n", "            regex: (.*)-admin$$\n")
    assert fixed != text
    scenarios.set_config(mesh_api, fixed)
    _, doc = check_json()
    assert _targets_check(doc, "every Linkerd scrape job finds its pods")["result"] == "success"


def test_reference_scrapes_a_completed_pod(mesh_api):
    scenarios.reference(mesh_api)
    _, doc = check_json()
    check = _targets_check(doc, "completed pods are not scraped")
    assert check["result"] == "warning"
    assert check["error"].startswith("1 completed pod is a scrape target")
    assert "emojivoto/hello-px6k6 (phase Succeeded, job linkerd-proxy)" in check["error"]
    assert "#10562" in check["error"]


def test_phase_filter_keeps_completed_pods_out(mesh_api):
    scenarios.healthy(mesh_api)
    _, doc = check_json()
    assert _targets_check(doc, "completed pods are not scraped")["result"] == "success"
    assert _targets_check(doc, "every Linkerd scrape job finds its pods")["result"] == "success"


# -- --wait retries only what can pass by itself ------------------------------------------------------
def test_wait_returns_at_once_when_nothing_can_fix_itself(mesh_api):
    """Linkerd always passes --wait=5m0s: a broken setup must not hang `linkerd check` for 5 minutes."""
    scenarios.reference(mesh_api)   # fails: config problems, exporter Service missing
    result = run_cli("check", "-o", "json", "--wait=5m0s", "--metrics-interval=0s")
    assert result.exit_code == 1
    failed = [(c["categoryName"], k["description"]) for c in json.loads(result.stdout)["categories"]
              for k in c["checks"] if k["result"] == "error"]
    assert failed == [("linkerd-otel-collector", "collector config is consistent"),
                      ("linkerd-otel-exporter", "in-cluster exporter Service has ready endpoints")]
    assert len(mesh_api.requests_to(r"^/version$")) == 1   # gathered once: no second round


def test_wait_returns_at_once_on_denied_rbac_and_missing_service_account(mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    mesh_api.remove("serviceaccounts", "otel-collector", NS)
    result = run_cli("check", "--wait=5m0s", "--metrics-interval=0s")
    assert result.exit_code == 1
    assert "× collector service account exists" in result.stdout
    assert "× collector can get, list and watch pods where it scrapes" in result.stdout
    assert len(mesh_api.requests_to(r"^/version$")) == 1


def test_wait_retries_an_exporter_service_without_ready_endpoints(mesh_api, monkeypatch):
    from kubectl_linkerd_otel.commands import check as check_command

    monkeypatch.setattr(check_command, "RETRY_EVERY", 0.2)   # the 5 s pause, shortened for the test
    scenarios.healthy(mesh_api)
    eps = dict(mesh_api.get("endpointslices", "openobserve-abcde", "openobserve"))
    eps["endpoints"] = [{"addresses": ["10.244.0.40"], "conditions": {"ready": False}}]
    mesh_api.add(eps)
    result = run_cli("check", "--wait=3s", "--metrics-interval=0s")
    assert result.exit_code == 1
    assert len(mesh_api.requests_to(r"^/version$")) >= 2   # the backend may still become ready: retried


# -- exit 2 when the command could not run, with the report still printed -----------------------------
def _no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def test_no_kubeconfig_exits_2_with_the_report(tmp_path, monkeypatch):
    _no_kubeconfig(tmp_path, monkeypatch)
    table = run_cli("check")
    assert table.exit_code == 2
    assert "× can initialize the client" in table.stdout
    assert table.stdout.rstrip().endswith("Status check results are ×")
    result, doc = check_json()
    assert result.exit_code == 2
    client = find(doc, "kubernetes-api", "can initialize the client")
    assert client["result"] == "error" and "kubeconfig" in client["error"]
    assert doc["success"] is False


def test_no_kubeconfig_as_a_linkerd_extension_still_prints_json(tmp_path, monkeypatch):
    _no_kubeconfig(tmp_path, monkeypatch)
    result = run_cli("check", "--linkerd-namespace=linkerd", "--proxy=false", "--wait=5m0s", "--output=json")
    assert result.exit_code == 2
    assert find(json.loads(result.stdout), "kubernetes-api", "can initialize the client")["result"] == "error"


def test_connection_refused_exits_2_with_the_report(fake_api, tmp_path):
    import socket

    import yaml

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    doc = yaml.safe_load(open(fake_api.kubeconfig_path))
    doc["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    table = run_cli("check", "--kubeconfig", str(tmp_path / "kc"), "--request-timeout=2s")
    assert table.exit_code == 2
    assert "× can query the Kubernetes API" in table.stdout
    result, doc = check_json("--kubeconfig", str(tmp_path / "kc"), "--request-timeout=2s")
    assert result.exit_code == 2
    api = find(doc, "kubernetes-api", "can query the Kubernetes API")
    assert api["result"] == "error" and f"127.0.0.1:{port}" in api["error"]


def test_malformed_kubeconfig_exits_2(tmp_path, monkeypatch):
    path = tmp_path / "config"
    path.write_text("clusters: [\n  - name: x\n  server: :\n")
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result, doc = check_json()
    assert result.exit_code == 2
    assert find(doc, "kubernetes-api", "can initialize the client")["result"] == "error"


def test_unknown_context_exits_2(fake_api):
    result, doc = check_json("--context", "nope")
    assert result.exit_code == 2
    assert find(doc, "kubernetes-api", "can initialize the client")["result"] == "error"


# -- the Kubernetes version and native sidecars --------------------------------------------------------
def test_native_sidecars_on_kubernetes_older_than_1_29_warn(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.version = {"major": "1", "minor": "28", "gitVersion": "v1.28.9", "platform": "linux/amd64"}
    result, doc = check_json()
    assert result.exit_code == 0
    check = find(doc, "kubernetes-api", "supported Kubernetes version")
    assert check["result"] == "warning"
    assert check["error"].startswith("Kubernetes v1.28.9 is older than v1.29")
    assert "some proxies run as native sidecars" in check["error"]


def test_kubernetes_1_28_without_native_sidecars_passes(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.version = {"major": "1", "minor": "28", "gitVersion": "v1.28.9"}
    for pod in list(mesh_api.objects("pods")):
        if any(c.get("restartPolicy") == "Always" for c in pod["spec"].get("initContainers") or []):
            mesh_api.remove("pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
    _, doc = check_json()
    check = find(doc, "kubernetes-api", "is running Kubernetes")
    assert check["result"] == "success" and check["description"] == "is running Kubernetes v1.28.9"


# -- wording -------------------------------------------------------------------------------------------
def test_config_problems_and_warnings_are_counted_apart(mesh_api):
    scenarios.reference(mesh_api)
    result = run_cli("check", "--metrics-interval=0s")
    assert "    2 problems and 3 warnings in otel-collector-config\n" in result.stdout
    lines = result.stdout.split("2 problems and 3 warnings in otel-collector-config\n", 1)[1].splitlines()[:5]
    assert [line.strip().startswith("warning: ") for line in lines] == [False, False, True, True, True]
    assert "√ 1 collector pod running and ready" in result.stdout
    assert "√ read 1 log line from 1 collector pod" in result.stdout
    assert "‼ meshed pods belong to this control plane\n    1 meshed pod belongs to another control plane" \
        in result.stdout
