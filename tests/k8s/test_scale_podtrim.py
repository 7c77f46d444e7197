"""The trimmed pod (k8s/podtrim.py) gives the same targets and the same check report as the full pod."""
from __future__ import annotations

import copy
import json

import pytest
import yaml

import scenarios
from conftest import load_fixture
from helpers import run_cli, snapshot_text
from kubectl_linkerd_otel.k8s.podtrim import Trimmer, trim_pod


def fixture_pods():
    """The shared harness pods plus variants the checks tell apart: a crash-looping proxy, a terminating
    pod, a pending pod without an IP, a failed init container."""
    pods = load_fixture("harness-mesh-pods.json")["items"]
    by_name = {p["metadata"]["name"]: p for p in pods}
    crash = copy.deepcopy(by_name["emoji-547b6957d6-s59rz"])
    crash["metadata"]["name"] = "emoji-crash"
    cs = scenarios.container_status(crash, "linkerd-proxy")
    cs.update(ready=False, restartCount=4, state={"waiting": {"reason": "CrashLoopBackOff"}},
              lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-25T09:20:00Z"}})
    terminating = copy.deepcopy(by_name["web-5b4656675c-826fd"])
    terminating["metadata"].update(name="web-terminating", deletionTimestamp="2026-11-25T10:00:00Z")
    pending = copy.deepcopy(by_name["web-5b4656675c-826fd"])
    pending["metadata"]["name"] = "web-pending"
    pending["status"] = {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available"}]}
    return pods + [crash, terminating, pending]


CONFIGS = [scenarios.HEALTHY_CONFIG,
           load_fixture("harness-mesh-collector-configmap.json")["data"]["config.yaml"]]


def test_trim_keeps_the_fields_and_drops_the_bulk():
    pod = next(p for p in fixture_pods() if p["metadata"]["name"] == "emoji-547b6957d6-s59rz")
    trimmed = trim_pod(pod)
    assert "managedFields" not in trimmed["metadata"] and "volumes" not in trimmed["spec"]
    assert trimmed["metadata"]["annotations"] == pod["metadata"]["annotations"]
    proxy = next(c for c in trimmed["spec"]["containers"] if c["name"] == "linkerd-proxy")
    assert {e["name"] for e in proxy["env"]} == {"LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", "_l5d_trustdomain"}
    assert len(json.dumps(trimmed)) < len(json.dumps(pod)) / 3


def test_trimmer_shares_but_equals_trim_pod():
    trim = Trimmer()
    pods = fixture_pods()
    assert [trim(p) for p in pods] == [trim_pod(p) for p in pods]


@pytest.mark.parametrize("config_text", CONFIGS, ids=["ours", "reference"])
def test_targets_identical_on_trimmed_pods(config_text):
    from kubectl_linkerd_otel.report.targets import render_human, to_json
    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import simulate

    jobs = scrape_jobs(yaml.safe_load(config_text))
    trim = Trimmer()
    full = simulate(jobs, fixture_pods(), own_namespace=scenarios.NS, keep_dropped=True)
    small = simulate(jobs, [trim(p) for p in fixture_pods()], own_namespace=scenarios.NS, keep_dropped=True)
    assert to_json(small) == to_json(full)
    assert render_human(small, show_all=True, color=False) == render_human(full, show_all=True, color=False)
    assert sum(len(j.active) for j in full.jobs) >= 5


def test_check_identical_on_trimmed_pods(mesh_api):
    """Gather keeps the trimmed pods; the same snapshot holding the full pods gives the same report."""
    from kubectl_linkerd_otel.checks.framework import CheckOptions, run_categories
    from kubectl_linkerd_otel.checks.registry import CATEGORIES
    from kubectl_linkerd_otel.cluster.gather import gather
    from kubectl_linkerd_otel.apiclient import Kube, KubeOptions
    from kubectl_linkerd_otel.report.check_json import render

    scenarios.healthy(mesh_api)
    for pod in fixture_pods()[-3:]:
        mesh_api.add(pod)
    snap = gather(Kube.connect(KubeOptions()), namespace=scenarios.NS, metrics_interval=0)
    full = copy.deepcopy(snap)
    full.pods = mesh_api.objects("pods")
    assert snap.pods != full.pods        # trimmed indeed
    assert [p["metadata"]["name"] for p in snap.pods] == [p["metadata"]["name"] for p in full.pods]
    trimmed_report = render(run_categories(CATEGORIES, snap, CheckOptions()))
    full_report = render(run_categories(CATEGORIES, full, CheckOptions()))
    assert trimmed_report == full_report
    assert "emoji-crash" in trimmed_report     # the variants were seen (not ready)


def test_saved_snapshot_holds_the_trimmed_pods(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    path = tmp_path / "snap.json"
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", f"--save-snapshot={path}")
    assert result.exit_code == 0, result.output
    saved = json.loads(snapshot_text(path))
    saved = saved.get("snapshot", saved)   # the format-2 file: manifest beside the snapshot
    meshed = [p for p in saved["pods"] if p["metadata"]["namespace"] == "emojivoto"]
    assert meshed and all("managedFields" not in p["metadata"] for p in meshed)
    assert all(set(c) <= {"name", "image", "ports", "restartPolicy", "env"}
               for p in meshed for c in p["spec"]["containers"])
    again = run_cli("check", "-o", "json", f"--snapshot={path}")
    pods_categories = ("linkerd-control-plane", "linkerd-data-plane", "linkerd-otel-targets")
    assert [c for c in json.loads(again.stdout)["categories"] if c["categoryName"] in pods_categories] == \
        [c for c in json.loads(result.stdout)["categories"] if c["categoryName"] in pods_categories]


def test_light_trimmer_equals_trim_pod():
    """Trimmer(light=True) (`targets --pods FILE`): shares only what replicas share whole, same pods."""
    trim = Trimmer(light=True)
    pods = fixture_pods()
    assert [trim(p) for p in pods] == [trim_pod(p) for p in pods]
    twice = [trim(p) for p in pods]
    assert twice[0]["spec"] is [trim(p) for p in pods][0]["spec"]
