"""--mode operator through the CLI against the fake API server: the CR, the operator's StatefulSet and
allocator, two collector pods, the allocator's answers (healthy split, a target assigned to none, a
collector whose share failed to scrape), and install/uninstall."""
from __future__ import annotations

import copy
import json

import yaml

import scenarios
from helpers import run_cli
from kubectl_linkerd_otel.render.operator import collector_resource
from kubectl_linkerd_otel.render.options import InstallOptions
from kubectl_linkerd_otel.scrape.config import scrape_jobs
from kubectl_linkerd_otel.scrape.targets import simulate

NS = "observability"
COLLECTORS = ["linkerd-otel-collector-0", "linkerd-otel-collector-1"]
ALLOCATOR_POD = "linkerd-otel-targetallocator-6d9f7c-x2x4q"
SEL = {"app.kubernetes.io/component": "opentelemetry-collector",
       "app.kubernetes.io/instance": f"{NS}.linkerd-otel"}
TA_SEL = {"app.kubernetes.io/component": "opentelemetry-targetallocator",
          "app.kubernetes.io/instance": f"{NS}.linkerd-otel"}


def _pod(name, labels, ip):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": dict(labels)},
            "spec": {"containers": [{"name": "otc-container", "image": "otel/opentelemetry-collector:0.159.0"}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "otc-container", "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]}}


def operator_mesh(api, *, unassigned=None, failing=None):
    """The harness mesh with our CR reconciled by a (pretend) operator. `unassigned`: a "ns/pod" the
    allocator gives to nobody; `failing`: a collector whose share is down."""
    api.remove("deployments", "otel-collector", NS)
    api.remove("configmaps", "otel-collector-config", NS)
    api.remove("pods", scenarios.COLLECTOR_POD, NS)
    api.remove("pods", "web-697cdddb99-5t22j", "other-mesh")
    cr = collector_resource(InstallOptions(mode="operator").validate())
    cr["status"] = {"scale": {"replicas": 2, "statusReplicas": "2/2", "selector": ""}, "version": "0.159.0"}
    api.add(cr)
    for sa in ("linkerd-otel-collector", "linkerd-otel-targetallocator"):
        api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": NS}})
    template_spec = {"serviceAccountName": "linkerd-otel-collector",
                     "containers": [{"name": "otc-container", "image": cr["spec"]["image"],
                                     "env": cr["spec"]["env"] + [{"name": "POD_NAME", "valueFrom": {
                                         "fieldRef": {"fieldPath": "metadata.name"}}}]}]}
    api.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": {"name": "linkerd-otel-collector", "namespace": NS, "generation": 1, "labels": dict(SEL)},
             "spec": {"replicas": 2, "selector": {"matchLabels": dict(SEL)},
                      "template": {"metadata": {"labels": dict(SEL)}, "spec": template_spec}},
             "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}})
    api.add({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "linkerd-otel-targetallocator", "namespace": NS, "generation": 1},
             "spec": {"replicas": 1, "selector": {"matchLabels": dict(TA_SEL)},
                      "template": {"metadata": {"labels": dict(TA_SEL)},
                                   "spec": {"containers": [{"name": "ta-container"}]}}},
             "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                        "availableReplicas": 1}})
    for i, name in enumerate(COLLECTORS):
        api.add(_pod(name, SEL, f"10.244.0.{60 + i}"))
        api.set_logs(NS, name, "otc-container", scenarios.READY_LOG)
    api.add(_pod(ALLOCATOR_POD, TA_SEL, "10.244.0.70"))

    config = cr["spec"]["config"]
    sim = simulate(scrape_jobs(config), api.objects("pods"), own_namespace=NS)
    shares = {c: {} for c in COLLECTORS}
    receiver = {c: [] for c in COLLECTORS}
    n = 0
    for result in sim.jobs:
        for c in COLLECTORS:
            shares[c].setdefault(result.job.name, [])
        for target in sorted(result.active, key=lambda t: t.address):
            key = f"{target.namespace}/{target.pod_name}"
            owner = COLLECTORS[n % 2]
            n += 1
            if key != unassigned:
                shares[owner][result.job.name].append(
                    {"targets": [target.address], "labels": target.discovered()})
                down = owner == failing
                receiver[owner].append({"scrapePool": result.job.pool, "scrapeUrl": target.scrape_url(),
                                        "labels": target.visible(), "discoveredLabels": target.discovered(),
                                        "health": "down" if down else "up",
                                        "lastError": "server returned HTTP status 403 Forbidden" if down else ""})
    jobs = {r.job.name: {"_link": f"/jobs/{r.job.name}/targets"} for r in sim.jobs}
    api.set_proxy(NS, ALLOCATOR_POD, 8080, "jobs", body=json.dumps(jobs))
    for c in COLLECTORS:
        for job, groups in shares[c].items():
            api.set_proxy(NS, ALLOCATOR_POD, 8080, f"jobs/{job}/targets?collector_id={c}", body=json.dumps(groups))
        doc = {"status": "success", "data": {"activeTargets": receiver[c], "droppedTargets": []}}
        api.set_proxy(NS, c, 9090, "api/v1/targets", body=json.dumps(doc))
    for verb in ("get", "list", "watch"):
        api.allow(f"system:serviceaccount:{NS}:linkerd-otel-targetallocator", verb, "pods")
    return sim


def _operator_checks(result) -> dict:
    doc = json.loads(result.stdout)
    category = next(c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-operator")
    return {c["description"]: c for c in category["checks"]}


def test_check_healthy_split(mesh_api):
    operator_mesh(mesh_api)
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    checks = _operator_checks(result)
    assert [c["result"] for c in checks.values()] == ["success"] * 5, checks
    assert any("every expected target is assigned to exactly one collector (10 targets over 2 collectors)"
               in d for d in checks), checks
    assert "every collector scrapes exactly its share (2 collectors)" in checks
    doc = json.loads(result.stdout)
    collector = next(c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-collector")
    assert any("StatefulSet/linkerd-otel-collector" in c["description"] for c in collector["checks"]), collector


def test_check_target_assigned_to_none(mesh_api):
    operator_mesh(mesh_api, unassigned="emojivoto/web-5b4656675c-826fd")
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    assert result.exit_code == 1
    check = _operator_checks(result)["every expected target is assigned to one collector"]
    assert check["result"] == "error"
    assert "1 expected target assigned to no collector" in check["error"]
    assert "linkerd-proxy: emojivoto/web-5b4656675c-826fd (10.244.0.24:4191) is assigned to no collector" \
        in check["error"]


def test_check_collector_share_failed_to_scrape(mesh_api):
    operator_mesh(mesh_api, failing="linkerd-otel-collector-1")
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    assert result.exit_code == 1
    checks = _operator_checks(result)
    assert checks["every expected target is assigned to exactly one collector (10 targets over 2 collectors)"][
        "result"] == "success"
    share = checks["each collector scrapes its share"]
    assert share["result"] == "error"
    assert "linkerd-otel-collector-1:" in share["error"]
    assert "is down: server returned HTTP status 403 Forbidden" in share["error"]
    assert "linkerd-otel-collector-0:" not in share["error"]


def test_targets_shows_which_collector_scrapes_each_proxy(mesh_api):
    operator_mesh(mesh_api, unassigned="emojivoto/web-5b4656675c-826fd")
    result = run_cli("targets", "-o", "json")
    doc = json.loads(result.stdout)
    by_pod = {t["linkerdOtel"].get("pod"): t["linkerdOtel"]["assignedTo"] for t in doc["data"]["activeTargets"]
              if t["scrapePool"] == "linkerd-proxy"}
    assert by_pod["web-5b4656675c-826fd"] == []
    assert sorted(set(c for v in by_pod.values() for c in v)) == COLLECTORS
    assert all(len(v) == 1 for k, v in by_pod.items() if k != "web-5b4656675c-826fd")
    assert any("assigned to no collector" in n for n in doc["linkerdOtel"]["notes"])
    table = run_cli("targets")
    assert "COLLECTOR" in table.stdout and "linkerd-otel-collector-0" in table.stdout


def test_install_refuses_without_the_operator_crds(mesh_api):
    mesh_api.absent_groups.add("opentelemetry.io")
    result = run_cli("install", "--mode", "operator", "-o", "text", "--wait=false")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "OpenTelemetry Operator" in lines[0] and "opentelemetry-operator.yaml" in lines[0]
    assert mesh_api.objects("opentelemetrycollectors") == []
    assert mesh_api.get("serviceaccounts", "linkerd-otel-collector", NS) is None


def test_install_then_uninstall(mesh_api):
    result = run_cli("install", "--mode", "operator", "--replicas", "3", "-o", "text", "--wait=false")
    assert result.exit_code == 0, result.output
    cr = mesh_api.get("opentelemetrycollectors", "linkerd-otel", NS)
    assert cr["spec"]["replicas"] == 3 and cr["spec"]["targetAllocator"]["enabled"] is True
    assert mesh_api.get("serviceaccounts", "linkerd-otel-targetallocator", NS) is not None
    assert "opentelemetrycollector.opentelemetry.io/linkerd-otel created" in result.stdout
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.output
    assert mesh_api.get("opentelemetrycollectors", "linkerd-otel", NS) is None
    assert mesh_api.get("serviceaccounts", "linkerd-otel-targetallocator", NS) is None
    assert "opentelemetrycollector.opentelemetry.io/linkerd-otel deleted" in result.stdout


def test_switching_modes_removes_the_other_workload(mesh_api):
    assert run_cli("install", "-o", "text", "--wait=false").exit_code == 0
    assert mesh_api.get("deployments", "linkerd-otel-collector", NS) is not None
    result = run_cli("install", "--mode", "operator", "-o", "text", "--wait=false")
    assert result.exit_code == 0, result.output
    assert mesh_api.get("deployments", "linkerd-otel-collector", NS) is None
    assert mesh_api.get("configmaps", "linkerd-otel-collector-config", NS) is None
    result = run_cli("install", "-o", "text", "--wait=false")
    assert result.exit_code == 0, result.output
    assert mesh_api.get("opentelemetrycollectors", "linkerd-otel", NS) is None
