"""`kubectl linkerd-otel targets`: offline with --pods/--config (no kubeconfig at all), and against the
fake API server, with the collector's own /api/v1/targets answer read through pods/proxy."""
import json
from pathlib import Path

import pytest
import yaml

from conftest import load_fixture
from helpers import run_cli

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
API_SERVER = """
    api_server:
      enabled: true
      server_config:
        endpoint: 0.0.0.0:9090
"""


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No cluster at all: KUBECONFIG points nowhere."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "does-not-exist"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    pods = tmp_path / "pods.json"
    pods.write_text((FIXTURES / "harness-mesh-pods.json").read_text())
    cm = tmp_path / "cm.yaml"
    cm.write_text(yaml.safe_dump(load_fixture("harness-mesh-collector-configmap.json")))
    config = tmp_path / "config.yaml"
    config.write_text(load_fixture("harness-mesh-collector-configmap.json")["data"]["config.yaml"])
    return {"pods": str(pods), "configmap": str(cm), "config": str(config), "dir": tmp_path}


def test_offline_table_needs_no_kubeconfig(offline):
    result = run_cli("targets", "--pods", offline["pods"], "--config", offline["configmap"])
    assert result.exit_code == 1, result.output          # a meshed pod of another control plane
    out = result.stdout
    assert "NAMESPACE  POD" in out and "HEALTH" in out and "LAST SCRAPE" in out
    assert "web-5b4656675c-826fd" in out and "linkerd-proxy (init)" in out
    assert "control-plane namespace label `linkerd-other` where the job expects `linkerd`" in out
    assert "linkerd-proxy: 6 targets; health unknown; 1 meshed pod not scraped" in out
    assert "linkerd-controller: 0 targets" in out
    assert "pod phase Succeeded" in out
    assert "\x1b[" not in out                           # not a terminal: no colours
    assert "kubeconfig" not in result.output.lower()


def test_offline_plain_config_file_and_job_filter(offline):
    result = run_cli("targets", "--pods", offline["pods"], "--config", offline["config"], "--job", "linkerd-controller")
    assert result.exit_code == 0, result.output
    assert "linkerd-controller: 0 targets" in result.stdout and "linkerd-proxy" not in result.stdout


def test_offline_json_has_prometheus_shape(offline):
    result = run_cli("targets", "--pods", offline["pods"], "--config", offline["configmap"], "-o", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["status"] == "success"
    active = doc["data"]["activeTargets"]
    assert {"discoveredLabels", "labels", "scrapePool", "scrapeUrl", "health", "lastError", "lastScrape",
            "lastScrapeDuration"} <= set(active[0])
    assert all(t["health"] == "unknown" for t in active)
    dropped = doc["data"]["droppedTargets"]
    assert dropped and {"discoveredLabels", "scrapePool"} <= set(dropped[0])
    by = dropped[0]["linkerdOtel"]["droppedBy"]
    assert by["rule"] >= 1 and by["action"] == "keep"
    assert doc["data"]["droppedTargetCounts"]["linkerd-proxy"] == 35
    assert doc["linkerdOtel"]["unscrapedMeshedPods"][0]["pod"] == "web-697cdddb99-5t22j"
    assert doc["linkerdOtel"]["exitCode"] == 1


def test_offline_all_lists_dropped_targets(offline):
    result = run_cli("targets", "--pods", offline["pods"], "--config", offline["configmap"], "--all",
                     "--job", "linkerd-proxy")
    assert "Dropped targets:" in result.stdout
    assert "rule 1 (keep)" in result.stdout


def test_bad_inputs_exit_2(offline):
    bad = offline["dir"] / "bad.yaml"
    bad.write_text("kind: ConfigMap\ndata: {other: x}\n")
    result = run_cli("targets", "--pods", offline["pods"], "--config", str(bad))
    assert result.exit_code == 2 and "holds no collector config" in result.stderr
    result = run_cli("targets", "--pods", str(offline["dir"] / "missing.json"), "--config", offline["config"])
    assert result.exit_code == 2 and "cannot read" in result.stderr
    result = run_cli("targets", "--pods", offline["pods"], "--config", offline["config"], "--job", "nope")
    assert result.exit_code == 2 and "no scrape job named 'nope'" in result.stderr
    broken = offline["dir"] / "broken.yaml"
    broken.write_text("receivers:\n  prometheus:\n    config:\n      scrape_configs:\n"
                      "        - job_name: j\n          relabel_configs:\n            - action: keep\n"
                      "              source_labels: [a]\n              regex: 'a(?=b)'\n")
    result = run_cli("targets", "--pods", offline["pods"], "--config", str(broken))
    assert result.exit_code == 2 and "job 'j', relabel rule 1" in result.stderr and "lookaround" in result.stderr


# -- against the fake API server -------------------------------------------------------------------
def _with_api_server(api):
    cm = load_fixture("harness-mesh-collector-configmap.json")
    text = cm["data"]["config.yaml"].replace("  prometheus/linkerd:\n", "  prometheus/linkerd:" + API_SERVER, 1)
    cm["data"]["config.yaml"] = text
    cm["metadata"].pop("resourceVersion", None)
    api.add(cm)
    return yaml.safe_load(text)


def _answer_from_simulation(config, pods, health="up", skip=()):
    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import simulate

    sim = simulate(scrape_jobs(config), pods)
    items = []
    for r in sim.jobs:
        for t in r.active:
            if t.pod_name in skip:
                continue
            items.append({"discoveredLabels": t.discovered(), "labels": t.visible(), "scrapePool": r.job.pool,
                          "scrapeUrl": t.scrape_url(), "health": health,
                          "lastError": "" if health == "up" else "connection refused",
                          "lastScrape": "2026-11-25T10:00:00Z", "lastScrapeDuration": 0.004})
    return {"status": "success", "data": {"activeTargets": items, "droppedTargets": []}}


COLLECTOR_POD = "otel-collector-857df6bd6f-b84jg"


def test_cluster_without_api_server_is_a_note_not_a_failure(mesh_api):
    result = run_cli("targets", "--job", "linkerd-controller")
    assert result.exit_code == 0, result.output
    assert "runs no API server" in result.stdout


def test_cluster_reads_the_collector_targets(mesh_api):
    config = _with_api_server(mesh_api)
    pods = load_fixture("harness-mesh-pods.json")["items"]
    answer = _answer_from_simulation(config, pods, skip=("emoji-547b6957d6-s59rz",))
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=any", 200, json.dumps(answer))
    result = run_cli("targets", "-o", "wide", "--job", "linkerd-proxy")
    out = result.stdout
    assert result.exit_code == 1, result.output
    assert " up " in out
    assert "expected, but the collector has no such target" in out
    assert COLLECTOR_POD in out                          # SEEN BY
    assert "1 expected but missing from the collector" in out
    doc = json.loads(run_cli("targets", "-o", "json").stdout)
    web = next(t for t in doc["data"]["activeTargets"] if t["linkerdOtel"].get("pod") == "web-5b4656675c-826fd")
    assert web["health"] == "up" and web["lastScrapeDuration"] == 0.004 and web["linkerdOtel"]["source"] == "both"


def test_cluster_down_target_fails(mesh_api):
    config = _with_api_server(mesh_api)
    pods = load_fixture("harness-mesh-pods.json")["items"]
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=any", 200,
                       json.dumps(_answer_from_simulation(config, pods, health="down")))
    result = run_cli("targets", "--job", "linkerd-proxy")
    assert result.exit_code == 1
    assert "down" in result.stdout and "connection refused" in result.stdout


def test_cluster_collector_answer_errors_become_notes(mesh_api):
    _with_api_server(mesh_api)
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=any", 500, "oops")
    result = run_cli("targets", "--job", "linkerd-controller")
    assert result.exit_code == 0, result.output
    assert f"collector pod {COLLECTOR_POD} answered HTTP 500" in result.stdout


def test_cluster_no_collector(fake_api):
    result = run_cli("targets")
    assert result.exit_code == 2
    assert "no OpenTelemetry collector config found in namespace observability" in result.stderr


def test_cluster_pods_file_with_config_from_cluster(mesh_api, tmp_path):
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps({"items": []}))
    result = run_cli("targets", "--pods", str(pods))
    assert result.exit_code == 0, result.output
    assert "linkerd-proxy: 0 targets" in result.stdout
