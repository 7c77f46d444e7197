"""collector/arrival.py: the labels are read from the collector config, not from a fixed list."""
from __future__ import annotations

import yaml

from conftest import load_fixture, mesh_objects
from kubectl_linkerd_otel.scrape import arrival
from kubectl_linkerd_otel.scrape.config import scrape_jobs
from kubectl_linkerd_otel.scrape.targets import simulate


def _pods():
    return [o for o in mesh_objects() if "containers" in (o.get("spec") or {}) and o["metadata"].get("namespace")]


def _plan(config_text: str):
    return arrival.plan(simulate(scrape_jobs(yaml.safe_load(config_text)), _pods(), own_namespace="observability"))


def test_the_reference_setups_labels():
    config = load_fixture("harness-mesh-collector-configmap.json")["data"]["config.yaml"]
    plan = _plan(config)
    assert plan.group_by == ["namespace", "deployment"]
    assert [w.ref for w in plan.workloads] == [
        "emojivoto/deployment/emoji", "emojivoto/deployment/web", "linkerd/deployment/linkerd-destination",
        "linkerd/deployment/linkerd-identity", "linkerd/deployment/linkerd-proxy-injector"]


CUSTOM = """
receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: linkerd-proxy
          kubernetes_sd_configs: [{role: pod}]
          relabel_configs:
            - {source_labels: [__meta_kubernetes_pod_phase], action: keep, regex: Running}
            - {source_labels: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name], action: keep, regex: linkerd-proxy;linkerd-admin}
            - {source_labels: [__meta_kubernetes_namespace], target_label: k8s_namespace_name}
            - {source_labels: [__meta_kubernetes_pod_name], target_label: k8s_pod_name}
exporters: {otlp: {endpoint: backend:4317}}
service: {pipelines: {metrics: {receivers: [prometheus], exporters: [otlp]}}}
"""


def test_a_hand_written_configs_own_names_and_pods_without_a_workload_label():
    plan = _plan(CUSTOM)
    assert plan.group_by == ["k8s_namespace_name", "k8s_pod_name"]
    web = next(w for w in plan.workloads if w.name == "web-5b4656675c-826fd")
    assert web.kind == "pod" and web.selector == {"k8s_namespace_name": "emojivoto",
                                                  "k8s_pod_name": "web-5b4656675c-826fd"}
    assert "max by (k8s_namespace_name, k8s_pod_name) (timestamp(request_total))" in plan.queries().values()


def test_no_label_tells_the_workloads_apart():
    plan = _plan(CUSTOM.replace("target_label: k8s_namespace_name", "target_label: __tmp_ns")
                 .replace("target_label: k8s_pod_name", "target_label: __tmp_pod"))
    assert plan.workloads == [] and plan.problem.startswith("the proxy job sets no label naming the pod")


def test_ages_and_answers():
    assert [arrival.age_text(s) for s in (5, 300, 723, 3600, 7300)] == ["5s", "5m", "12m03s", "1h", "2h01m"]
    w = arrival.Workload("ns", "deployment", "a", selector={"namespace": "ns", "deployment": "a"})
    answer = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"namespace": "ns", "deployment": "a"}, "values": [[100, "40"], [160, "90"]]}]}}
    verdict = arrival.judge([w], {"request_total": answer}, now=1000)
    assert verdict.metric == "request_total" and verdict.stale == [(w, 910.0)]
