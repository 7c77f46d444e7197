"""linkerd-otel-targets counts as `targets` does: actual targets over the ConfigMap's simulation, up/down/unknown
spelled out, completed pods apart, pods refused by inbound policy not counted as scraped; and the collector
rollout/pods wording (Deployment scaled to 0, DaemonSet, unobserved generation, pod without status)."""
from __future__ import annotations

import copy
import json

import scenarios
from helpers import run_cli
from test_check_scenarios import find
from test_check_policy import set_policy

NS = scenarios.NS
TARGETS = "every meshed pod is scraped"


def check_json():
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    return result, json.loads(result.stdout)




def targets_check(doc):
    cat = next(c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-targets")
    return cat["checks"][0]


def test_config_drift_counts_the_actual_targets_and_names_the_disagreement(mesh_api):
    scenarios.healthy(mesh_api)   # the collector answers with the targets of HEALTHY_CONFIG
    edited = scenarios.HEALTHY_CONFIG.replace(
        "              replacement: $$1\n",
        "              replacement: $$1\n            - target_label: env\n              replacement: prod\n")
    assert edited != scenarios.HEALTHY_CONFIG
    scenarios.set_config(mesh_api, edited)
    result, doc = check_json()
    assert result.exit_code == 0
    check = targets_check(doc)
    assert check["result"] == "warning"
    assert check["description"] == ("5 targets scraped (jobs: linkerd-proxy): 5 up, 0 down, 0 unknown; "
                                    "5 running meshed pods, 0 not scraped (1 completed pod not counted)")
    assert check["error"].startswith(
        "the running collector's targets differ from what its ConfigMap gives: 5 expected targets are not "
        "scraped, 5 scraped targets are not expected — was the ConfigMap changed without restarting the "
        "collector? `kubectl -n observability rollout restart deployment/otel-collector`\n")
    assert ("    emojivoto/emoji-547b6957d6-s59rz (10.244.0.22:4191) is expected but the collector does not "
            "report it") in check["error"]
    assert ("    http://10.244.0.22:4191/metrics (job linkerd-proxy) is scraped but not expected from the "
            "ConfigMap") in check["error"]


def test_summary_counts_up_down_unknown_and_completed_like_targets(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=scenarios.targets_json(
        mesh_api, {"emojivoto/emoji-547b6957d6-s59rz": ("down", "connection refused"),
                   "emojivoto/web-5b4656675c-826fd": ("unknown", "")}))
    listing = run_cli("targets")
    assert "linkerd-proxy: 5 targets; 3 up, 1 down, 1 unknown; 1 meshed pod not scraped (1 completed);" \
        in listing.stdout
    result, doc = check_json()
    assert result.exit_code == 1
    check = targets_check(doc)
    assert check["result"] == "error"
    assert check["description"] == ("5 targets scraped (jobs: linkerd-proxy): 3 up, 1 down, 1 unknown; "
                                    "5 running meshed pods, 0 not scraped (1 completed pod not counted)")
    assert check["error"] == ("1 target is down\n    emojivoto/emoji-547b6957d6-s59rz (10.244.0.22:4191) is "
                              "down: connection refused")


def test_without_actual_targets_pods_refused_by_policy_are_not_counted_as_scraped(mesh_api):
    scenarios.healthy(mesh_api)
    set_policy(mesh_api, "deny")   # the collector is not meshed: this proxy answers 403
    scenarios.set_config(mesh_api, scenarios.HEALTHY_CONFIG.replace(
        "    api_server:\n      enabled: true\n      server_config:\n        endpoint: 0.0.0.0:9090\n", ""))
    result, doc = check_json()
    # only the policy category fails (issue 11: `deny` without --restrict-metrics is an error there)
    assert result.exit_code == 1
    failing = {c["categoryName"] for c in doc["categories"] for k in c["checks"] if k["result"] == "error"}
    assert failing == {"linkerd-otel-policy"}
    check = targets_check(doc)
    assert check["result"] == "warning"
    assert check["description"] == ("5 targets expected (jobs: linkerd-proxy): health unknown, 1 will be refused "
                                    "(HTTP 403); 5 running meshed pods, 0 not scraped, 1 refused "
                                    "(1 completed pod not counted)")
    assert check["error"] == (
        "1 expected target will be refused: its proxy answers the collector's scrape with HTTP 403 under the "
        "default inbound policy (see 'inbound policy lets the collector scrape proxies'); cannot see the "
        "collector's own targets: enable the prometheus receiver's API: api_server: {enabled: true, "
        "server_config: {endpoint: 0.0.0.0:9090}}; the expectation above comes from its config\n"
        "    emojivoto/emoji-547b6957d6-s59rz (deny: the collector is not meshed)")


def _daemonset(api, status):
    dep = copy.deepcopy(api.get("deployments", "otel-collector", NS))
    api.remove("deployments", "otel-collector", NS)
    api.add({"apiVersion": "apps/v1", "kind": "DaemonSet",
             "metadata": {"name": "otel-collector", "namespace": NS, "generation": 1},
             "spec": {"selector": dep["spec"]["selector"], "template": dep["spec"]["template"]},
             "status": status})


def test_daemonset_one_unreadable_collector_pod_keeps_the_others_targets(mesh_api):
    scenarios.healthy(mesh_api)
    _daemonset(mesh_api, {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2,
                          "numberAvailable": 2, "updatedNumberScheduled": 2, "observedGeneration": 1})
    other = scenarios.pod(mesh_api, NS, scenarios.COLLECTOR_POD)
    other["metadata"]["name"] = "otel-collector-x2"
    other["metadata"].pop("uid", None)
    other["status"]["podIP"] = "10.244.0.99"
    other["status"]["podIPs"] = [{"ip": "10.244.0.99"}]
    mesh_api.add(other)
    mesh_api.set_logs(NS, "otel-collector-x2", scenarios.COLLECTOR_CONTAINER, scenarios.READY_LOG)
    mesh_api.set_proxy(NS, "otel-collector-x2", 8888, "metrics", body=scenarios.growing_metrics())
    result, doc = check_json()
    check = targets_check(doc)
    assert check["result"] == "warning"
    assert check["description"] == ("5 targets scraped (jobs: linkerd-proxy): 5 up, 0 down, 0 unknown; "
                                    "5 running meshed pods, 0 not scraped (1 completed pod not counted)")
    assert check["error"].startswith("could not read the targets of collector pod otel-collector-x2: ")
    assert find(doc, "linkerd-otel-collector", "rolled out")["result"] == "success"


def test_daemonset_rollout_speaks_of_scheduled_pods(mesh_api):
    scenarios.healthy(mesh_api)
    _daemonset(mesh_api, {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                          "numberAvailable": 1, "updatedNumberScheduled": 2, "observedGeneration": 1})
    _, doc = check_json()
    check = find(doc, "linkerd-otel-collector", "rolled out")
    assert check["result"] == "error"
    assert check["error"] == "DaemonSet/otel-collector: 1/2 scheduled pods available"


def test_deployment_scaled_to_zero(mesh_api):
    scenarios.healthy(mesh_api)
    dep = copy.deepcopy(mesh_api.get("deployments", "otel-collector", NS))
    dep["spec"]["replicas"] = 0
    dep["status"] = {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": 0}
    mesh_api.add(dep)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "rolled out")
    assert check["result"] == "error"
    assert check["error"] == ("Deployment/otel-collector is scaled to 0 replicas: nothing scrapes; "
                              "`kubectl -n observability scale deployment/otel-collector --replicas=1`")


def test_unobserved_generation_is_not_rolled_out(mesh_api):
    scenarios.healthy(mesh_api)
    dep = copy.deepcopy(mesh_api.get("deployments", "otel-collector", NS))
    dep["metadata"]["generation"] = 3
    dep["status"]["observedGeneration"] = 2
    mesh_api.add(dep)
    result, doc = check_json()
    assert result.exit_code == 1
    check = find(doc, "linkerd-otel-collector", "rolled out")
    assert check["result"] == "error"
    assert check["error"] == ("Deployment/otel-collector: generation 3 not observed yet (observed: 2): the "
                              "controller has not started this rollout")


def test_meshed_pod_without_status_says_pending_once(mesh_api):
    scenarios.healthy(mesh_api)
    pod = scenarios.pod(mesh_api, "emojivoto", "emoji-547b6957d6-s59rz")
    pod["metadata"]["name"] = "emoji-pending"
    pod["metadata"].pop("uid", None)
    pod["status"] = {"phase": "Pending"}
    mesh_api.add(pod)
    _, doc = check_json()
    check = find(doc, "linkerd-data-plane", "meshed pods are ready")
    assert check["error"] == ("1 meshed pod is not ready\n"
                              "    emojivoto/emoji-pending  0/2  Pending  no container started yet")
