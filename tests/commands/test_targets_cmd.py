"""`kubectl linkerd-otel targets`: offline with --pods/--config (no kubeconfig at all), and against the
fake API server, with the collector's own /api/v1/targets answer read through pods/proxy."""
import copy
import json
from pathlib import Path

import pytest
import yaml

from conftest import load_fixture
from helpers import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
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
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=active", 200, json.dumps(answer))
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
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=active", 200,
                       json.dumps(_answer_from_simulation(config, pods, health="down")))
    result = run_cli("targets", "--job", "linkerd-proxy")
    assert result.exit_code == 1
    assert "down" in result.stdout and "connection refused" in result.stdout


def test_cluster_collector_answer_errors_become_notes(mesh_api):
    _with_api_server(mesh_api)
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets?state=active", 500, "oops")
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


# -- configs the collector refuses, receivers it never starts ------------------------------------------
PROXY_JOB = """receivers:
  prometheus/linkerd:
    config:
      scrape_configs:
        - job_name: {name}
          kubernetes_sd_configs: [{{role: pod}}]
          relabel_configs:
            - {{source_labels: [{label}], action: keep, regex: '{regex}'}}
"""
PIPELINE = """exporters: {otlp: {endpoint: "x:4317"}}
service: {pipelines: {metrics: {receivers: [prometheus/linkerd], exporters: [otlp]}}}
"""


def write(offline, name, text):
    path = offline["dir"] / name
    path.write_text(text)
    return str(path)


def proxy_job(name="linkerd-proxy", label="__meta_kubernetes_pod_container_port_name", regex="linkerd-admin"):
    return PROXY_JOB.format(name=name, label=label, regex=regex)


def one_error_line(result):
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    return result.stderr


def test_a_config_the_collector_refuses_exits_2(offline):
    refused = proxy_job() + "exporters: {otlp: {endpoint: x:4317}}\n" \
        "service: {pipelines: {metrics: {receivers: [prometheus/nope], exporters: [otlpx]}}}\n"
    err = one_error_line(run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "r.yaml", refused)))
    assert "the collector would refuse this config and not start, so nothing is scraped" in err
    assert "'prometheus/nope'" in err and "'otlpx'" in err
    err = one_error_line(run_cli("targets", "--pods", offline["pods"], "--config",
                                 write(offline, "n.yaml", proxy_job())))
    assert "no service.pipelines" in err


def test_a_scrape_config_prometheus_refuses_exits_2(offline):
    typo = proxy_job().replace("relabel_configs:", "relabel_config:") + PIPELINE
    err = one_error_line(run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "t.yaml", typo)))
    assert "job 'linkerd-proxy'" in err and "field relabel_config not found" in err
    typo = proxy_job().replace("{role: pod}", "{role: pod, namespace: {names: [linkerd]}}") + PIPELINE
    err = one_error_line(run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "t2.yaml", typo)))
    assert "job 'linkerd-proxy'" in err and "field namespace not found" in err


def test_a_receiver_in_no_pipeline_is_a_note(offline):
    text = proxy_job() + """  prometheus/unused:
    config:
      scrape_configs:
        - job_name: other
          static_configs: [{targets: ['1.2.3.4:80']}]
""" + PIPELINE
    result = run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "u.yaml", text))
    assert "note: receiver prometheus/unused is in no pipeline" in result.stdout
    assert "1.2.3.4:80" not in result.stdout and "\nother (receiver" not in result.stdout
    only = text.replace("receivers: [prometheus/linkerd]", "receivers: [prometheus/linkerd2]").replace(
        "  prometheus/unused:", "  prometheus/linkerd2:\n    config: {}\n  prometheus/unused:")
    err = one_error_line(run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "u2.yaml", only)))
    assert "no pipeline uses the prometheus receivers prometheus/linkerd, prometheus/unused" in err


# -- scraped means: some job has the proxy's admin port as an active target ----------------------------
def test_a_job_keeping_another_port_fails(offline):
    text = proxy_job("proxies", "__meta_kubernetes_pod_container_port_number", "9999") + PIPELINE
    result = run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "p.yaml", text))
    assert result.exit_code == 1, result.output
    assert "Meshed pods no job scrapes:" in result.stdout
    assert "emoji-547b6957d6-s59rz" in result.stdout.split("Meshed pods no job scrapes:")[1]
    doc = json.loads(run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "p.yaml", text),
                             "-o", "json").stdout)
    assert len(doc["linkerdOtel"]["unscrapedMeshedPods"]) == 7 and doc["linkerdOtel"]["exitCode"] == 1
    assert doc["linkerdOtel"]["unscrapedMeshedPods"][0]["job"] is None


def test_a_job_keeping_port_4191_scrapes_every_proxy(offline):
    text = proxy_job("proxies", "__meta_kubernetes_pod_container_port_number", "4191") + PIPELINE
    result = run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "p.yaml", text))
    assert result.exit_code == 0, result.output
    assert "proxies: 7 targets; health unknown; every meshed pod scraped" in result.stdout
    assert "no scrape job keeps" not in result.stdout


def test_job_filter_is_the_same_in_json_and_table(offline):
    for job, code in (("linkerd-controller", 0), ("linkerd-proxy", 1)):
        table = run_cli("targets", "--pods", offline["pods"], "--config", offline["configmap"], "--job", job)
        doc = json.loads(run_cli("targets", "--pods", offline["pods"], "--config", offline["configmap"],
                                 "--job", job, "-o", "json").stdout)
        assert table.exit_code == code and doc["linkerdOtel"]["exitCode"] == code
        listed = [u["pod"] for u in doc["linkerdOtel"]["unscrapedMeshedPods"]]
        assert listed == (["web-697cdddb99-5t22j"] if code else [])
        assert ("web-697cdddb99-5t22j" in table.stdout) == bool(code)


# -- JSON ------------------------------------------------------------------------------------------------
def test_json_counts_per_pool_names_receivers_and_sorts_labels(offline):
    text = """receivers:
  prometheus/a:
    config:
      scrape_configs:
        - job_name: linkerd-proxy
          kubernetes_sd_configs: [{role: pod}]
          relabel_configs:
            - {source_labels: [__meta_kubernetes_pod_container_port_name], action: keep, regex: linkerd-admin}
  prometheus/b:
    config:
      scrape_configs:
        - job_name: linkerd-proxy
          kubernetes_sd_configs: [{role: pod}]
          relabel_configs:
            - {source_labels: [__meta_kubernetes_pod_container_port_name], action: keep, regex: linkerd-admin}
            - {source_labels: [__meta_kubernetes_namespace], action: keep, regex: linkerd}
            - {source_labels: [__meta_kubernetes_pod_name], target_label: a_pod}
exporters: {debug: {}}
service: {pipelines: {metrics: {receivers: [prometheus/a, prometheus/b], exporters: [debug]}}}
"""
    doc = json.loads(run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "two.yaml", text),
                             "-o", "json").stdout)
    jobs = doc["linkerdOtel"]["jobs"]
    assert doc["data"]["droppedTargetCounts"] == {"linkerd-proxy": sum(j["dropped"] for j in jobs)}
    assert [j["dropped"] for j in jobs] == [34, 38]
    receivers = {t["linkerdOtel"]["receiver"] for t in doc["data"]["activeTargets"]}
    assert receivers == {"prometheus/a", "prometheus/b"}
    assert {t["linkerdOtel"]["receiver"] for t in doc["data"]["droppedTargets"]} == {"prometheus/a", "prometheus/b"}
    for t in doc["data"]["activeTargets"] + doc["data"]["droppedTargets"]:
        assert list(t["discoveredLabels"]) == sorted(t["discoveredLabels"])
    for t in doc["data"]["activeTargets"]:
        assert list(t["labels"]) == sorted(t["labels"])
    assert any("a_pod" in t["labels"] for t in doc["data"]["activeTargets"])


def test_json_with_a_lone_surrogate_in_a_pod(offline):
    pods = json.loads((FIXTURES / "harness-mesh-pods.json").read_text())
    pods["items"][0]["metadata"]["labels"]["odd"] = "\ud800"
    path = offline["dir"] / "surrogate.json"
    path.write_text(json.dumps(pods))         # ensure_ascii: the file holds the escape \ud800
    result = run_cli("targets", "--pods", str(path), "--config", offline["configmap"], "-o", "json")
    assert result.exit_code == 1, result.output
    assert "\\ud800" in result.stdout and json.loads(result.stdout)["status"] == "success"


# -- input files -------------------------------------------------------------------------------------------
def test_multi_document_config_skips_other_objects(offline):
    cm = yaml.safe_load((offline["dir"] / "cm.yaml").read_text())
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}, "data": {"a": "b"}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    text = yaml.safe_dump_all([other, deploy, cm])
    result = run_cli("targets", "--pods", offline["pods"], "--config", write(offline, "m.yaml", text))
    assert result.exit_code == 1, result.output
    assert "linkerd-proxy: 6 targets" in result.stdout
    second = copy.deepcopy(cm)
    second["metadata"]["name"] = "second"
    err = one_error_line(run_cli("targets", "--pods", offline["pods"], "--config",
                                 write(offline, "two-cm.yaml", yaml.safe_dump_all([cm, other, second]))))
    assert "holds 2 collector configs" in err and "'otel-collector-config'" in err and "'second'" in err


def test_tab_indented_json_config(offline):
    cm = yaml.safe_load((offline["dir"] / "cm.yaml").read_text())
    result = run_cli("targets", "--pods", offline["pods"], "--config",
                     write(offline, "tab.json", json.dumps(cm, indent="\t")))
    assert result.exit_code == 1, result.output
    assert "linkerd-proxy: 6 targets" in result.stdout


def test_pods_as_yaml_documents_and_podlists(offline):
    items = json.loads((FIXTURES / "harness-mesh-pods.json").read_text())["items"]
    variants = {
        "docs.yaml": yaml.safe_dump_all(items),
        "podlist.json": json.dumps({"apiVersion": "v1", "kind": "PodList", "items": items}),
        "lists.yaml": yaml.safe_dump_all([{"kind": "List", "items": items[:5]}, {"kind": "List", "items": items[5:]}]),
    }
    for name, text in variants.items():
        result = run_cli("targets", "--pods", write(offline, name, text), "--config", offline["configmap"])
        assert result.exit_code == 1, (name, result.output)
        assert "linkerd-proxy: 6 targets; health unknown; 1 meshed pod not scraped" in result.stdout, name
    emoji = next(p for p in items if p["metadata"]["name"].startswith("emoji-"))
    result = run_cli("targets", "--pods", write(offline, "one.yaml", yaml.safe_dump(emoji)),
                     "--config", offline["configmap"], "--job", "linkerd-proxy")
    assert result.exit_code == 0 and "linkerd-proxy: 1 target;" in result.stdout


@pytest.mark.parametrize("field,value,words", [
    ("ports", [None], "spec.containers[1].ports[0] is null, not an object"),
    ("containers", "oops", "spec.containers is a string, not a list"),
])
def test_malformed_pods_name_the_pod(offline, field, value, words):
    items = json.loads((FIXTURES / "harness-mesh-pods.json").read_text())["items"]
    emoji = copy.deepcopy(next(p for p in items if p["metadata"]["name"].startswith("emoji-")))
    if field == "ports":
        emoji["spec"]["containers"][1]["ports"] = value
    else:
        emoji["spec"]["containers"] = value
    path = write(offline, "bad-pods.json", json.dumps({"kind": "List", "items": [emoji]}))
    err = one_error_line(run_cli("targets", "--pods", path, "--config", offline["configmap"]))
    assert f"pod emojivoto/{emoji['metadata']['name']}: {words}" in err
    assert "internal error" not in err


# -- ${env:VAR} on the cluster: the collector container's literal env values are used -------------------
def test_cluster_env_values_from_the_collector_container(mesh_api):
    cm = load_fixture("harness-mesh-collector-configmap.json")
    text = cm["data"]["config.yaml"].replace(
        "            regex: ^linkerd-proxy;linkerd-admin;linkerd$",
        "            regex: ^linkerd-proxy;linkerd-admin;${env:CP_NS}$$\n"
        "          - source_labels: [__meta_kubernetes_namespace]\n"
        "            action: keep\n"
        "            regex: ${env:KEEP_NS}")
    assert text != cm["data"]["config.yaml"]
    cm["data"]["config.yaml"] = text
    cm["metadata"].pop("resourceVersion", None)
    mesh_api.add(cm)
    deploy = next(d for d in load_fixture("harness-mesh-deployments.json")["items"]
                  if d["metadata"]["name"] == "otel-collector")
    deploy.setdefault("apiVersion", "apps/v1")
    deploy["metadata"].pop("resourceVersion", None)
    deploy["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "CP_NS", "value": "linkerd"}]
    mesh_api.add(deploy)
    result = run_cli("targets", "--job", "linkerd-proxy")
    assert "rule 2 (keep [__meta_kubernetes_namespace] regex '${env:KEEP_NS}') uses ${env:KEEP_NS} " \
           "(the collector container sets no literal value for it): treated as keeping every target" in result.stdout
    assert "linkerd-proxy: 6 targets" in result.stdout            # CP_NS=linkerd was applied
    assert "control-plane namespace label `linkerd-other` where the job expects `linkerd`" in result.stdout
