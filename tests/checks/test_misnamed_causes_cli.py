"""`check` names the real cause (issue 17, item 11): a collector that cannot bind its port did not
fail on its config, and a collector that may not list pods has no targets because of RBAC, not because
its ConfigMap changed."""
from __future__ import annotations

import json

import scenarios
from helpers import run_cli

NS = scenarios.NS
IN_USE = "cannot start pipelines: listen tcp 0.0.0.0:9090: bind: address already in use"
BIND_FAILED = (
    "2026-11-25T09:14:20.000Z\tinfo\tservice@v0.159.0/service.go:197\tStarting otelcol...\t"
    '{"Version": "0.159.0", "NumCPU": 4}\n'
    "2026-11-25T09:14:20.100Z\tinfo\tservice@v0.159.0/service.go:250\tStarting shutdown...\n"
    f"Error: {IN_USE}\n"
    f"2026/11/25 09:14:20 collector server run finished with error: {IN_USE}\n")
CONFIG_REFUSED = ("Error: failed to get config: cannot unmarshal the configuration: decoding failed\n"
                  "2026/11/25 09:14:20 collector server run finished with error: failed to get config: "
                  "cannot unmarshal the configuration: decoding failed\n")


def check_json(*extra):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    return result, json.loads(result.stdout)


def find(doc, category, text):
    for cat in doc["categories"]:
        for check in cat["checks"] if cat["categoryName"] == category else ():
            if text in check["description"]:
                return check
    raise AssertionError(f"no check {text!r} in {category}: {json.dumps(doc, indent=1)}")


def test_port_in_use_is_a_start_failure_not_a_config_error(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_logs(NS, scenarios.COLLECTOR_POD, "otel-collector", BIND_FAILED)
    result, doc = check_json()
    assert result.exit_code == 1
    assert find(doc, "linkerd-otel-logs", "no config errors in the logs")["result"] == "success"
    assert find(doc, "linkerd-otel-logs", "no other errors in the logs")["result"] == "success"
    start = find(doc, "linkerd-otel-logs", "no start-up failures in the logs")
    assert start["result"] == "error"
    assert start["error"].startswith("the collector could not start (another listener holds the port: ")
    assert ": 1 start-up failure (counts are lower bounds" in start["error"]
    assert f"\n    {IN_USE} (once" in start["error"]
    assert start["hint"].endswith("#otel-logs-start")


def test_a_refused_config_is_still_one_config_error(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_logs(NS, scenarios.COLLECTOR_POD, "otel-collector", CONFIG_REFUSED)
    result, doc = check_json()
    assert result.exit_code == 1
    config = find(doc, "linkerd-otel-logs", "no config errors in the logs")
    assert config["error"].startswith("1 config error (")   # its two exit lines are one failure
    assert find(doc, "linkerd-otel-logs", "no start-up failures in the logs")["result"] == "success"


NO_TARGETS = json.dumps({"status": "success", "data": {"activeTargets": [], "droppedTargets": []}})


def test_targets_missing_for_lack_of_rbac_point_at_the_rbac_check(mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    # a collector that may not list pods discovers nothing: its receiver reports no target at all
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=lambda _q: NO_TARGETS)
    result, doc = check_json()
    assert result.exit_code == 1
    assert find(doc, "linkerd-otel-collector", "collector can get, list and watch pods")["result"] == "error"
    targets = next(c for cat in doc["categories"] if cat["categoryName"] == "linkerd-otel-targets"
                   for c in cat["checks"] if c["hint"].endswith("#otel-targets"))
    assert targets["result"] == "error"
    assert "ConfigMap" not in targets["error"] and "rollout restart" not in targets["error"]
    assert ("the collector may not list pods (see the failed check 'collector can get, list and watch pods "
            "where it scrapes')") in targets["error"]
    assert ("emojivoto/web-5b4656675c-826fd: expected (10.244.0.24:4191), but the collector may not list pods in "
            "emojivoto") in targets["error"]
