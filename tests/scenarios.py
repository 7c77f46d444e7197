"""Scenario builders for `check`: variants of the shared harness mesh, loaded into the fake API server."""
from __future__ import annotations

import copy
import json

NS = "observability"
COLLECTOR_POD = "otel-collector-857df6bd6f-b84jg"
COLLECTOR_CONTAINER = "otel-collector"
SA_USER = f"system:serviceaccount:{NS}:otel-collector"
EXPECTED_TARGETS = {   # live meshed pods of the `linkerd` control plane with a linkerd-admin port
    "emojivoto/emoji-547b6957d6-s59rz": "10.244.0.22",
    "emojivoto/web-5b4656675c-826fd": "10.244.0.24",
    "linkerd/linkerd-destination-7bc66fc896-wzm6d": "10.244.0.19",
    "linkerd/linkerd-identity-699b5bb85d-gwl55": "10.244.0.20",
    "linkerd/linkerd-proxy-injector-56bcf878c5-sm7gp": "10.244.0.21",
}
READY_LOG = ("2026-11-25T09:14:20.100Z\tinfo\tservice@v0.159.0/service.go:275\tEverything is ready. "
             "Begin running and processing data.\n")

HEALTHY_CONFIG = """\
receivers:
  prometheus/linkerd:
    api_server:
      enabled: true
      server_config:
        endpoint: 0.0.0.0:9090
    config:
      scrape_configs:
        - job_name: linkerd-proxy
          kubernetes_sd_configs:
            - role: pod
          relabel_configs:
            - source_labels: [__meta_kubernetes_pod_phase]
              action: keep
              regex: Pending|Running
            - source_labels: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name, __meta_kubernetes_pod_label_linkerd_io_control_plane_ns]
              action: keep
              regex: ^linkerd-proxy;linkerd-admin;linkerd$$
            - action: labelmap
              regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
              replacement: $$1
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch: {}
exporters:
  otlp_grpc/backend:
    endpoint: openobserve.openobserve.svc.cluster.local:5081
    headers:
      Authorization: "Basic ${env:OTLP_AUTH}"
    tls:
      insecure: true
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 8888
  pipelines:
    metrics:
      receivers: [prometheus/linkerd]
      processors: [memory_limiter, batch]
      exporters: [otlp_grpc/backend]
"""


def metrics_text(sent: float, failed: float, total_suffix: bool = True) -> str:
    suffix = "_total" if total_suffix else ""
    return (
        f"# HELP otelcol_exporter_sent_metric_points{suffix} Number of metric points sent.\n"
        f"# TYPE otelcol_exporter_sent_metric_points{suffix} counter\n"
        f'otelcol_exporter_sent_metric_points{suffix}{{exporter="otlp_grpc/backend",service_name="otelcol"}} {sent}\n'
        f"# HELP otelcol_exporter_send_failed_metric_points{suffix} Number of points that failed.\n"
        f"# TYPE otelcol_exporter_send_failed_metric_points{suffix} counter\n"
        f'otelcol_exporter_send_failed_metric_points{suffix}{{exporter="otlp_grpc/backend",service_name="otelcol"}} {failed}\n'
    )


def growing_metrics(sent_step: float = 100.0, failed_step: float = 0.0, total_suffix: bool = True):
    """A /metrics body whose counters grow on every read, as a live collector's do."""
    state = {"reads": 0}

    def body(_query):
        state["reads"] += 1
        n = state["reads"]
        return metrics_text(1000 + sent_step * n, failed_step * n, total_suffix)
    return body


def exporter_metrics(reads: list) -> "callable":
    """A /metrics body answering `reads[i]` at the i-th read (the last one ever after): each a dict
    exporter -> (sent, failed, queue size)."""
    state = {"reads": 0}

    def body(_query):
        state["reads"] += 1
        values = reads[min(state["reads"], len(reads)) - 1]
        lines = []
        for exporter, (sent, failed, queue) in values.items():
            lines.append(f'otelcol_exporter_sent_metric_points_total{{exporter="{exporter}"}} {sent}')
            lines.append(f'otelcol_exporter_send_failed_metric_points_total{{exporter="{exporter}"}} {failed}')
            lines.append(f'otelcol_exporter_queue_size{{exporter="{exporter}"}} {queue}')
        return "\n".join(lines) + "\n"
    return body


def targets_json(api, health=None, config_text: str = None) -> str:
    """The collector's /api/v1/targets answer for the pods in `api`: the targets the engine expects from
    the config (so labels line up as a real collector's would), each `up` unless `health` says otherwise
    ("ns/pod" -> (health, lastError))."""
    import yaml

    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import simulate

    health = health or {}
    config = yaml.safe_load(config_text or HEALTHY_CONFIG)
    sim = simulate(scrape_jobs(config), api.objects("pods"), own_namespace=NS)
    active = []
    for job in sim.jobs:
        for target in job.active:
            key = f"{target.namespace}/{target.pod_name}"
            state, error = health.get(key, ("up", ""))
            active.append({"scrapePool": job.job.pool, "scrapeUrl": target.scrape_url(),
                           "labels": target.visible(), "discoveredLabels": target.discovered(),
                           "health": state, "lastError": error})
    return json.dumps({"status": "success", "data": {"activeTargets": active, "droppedTargets": []}})


def _set_config(api, text: str) -> None:
    cm = copy.deepcopy(api.get("configmaps", "otel-collector-config", NS))
    cm["data"]["config.yaml"] = text
    api.add(cm)


def _set_image(api, image: str) -> None:
    dep = copy.deepcopy(api.get("deployments", "otel-collector", NS))
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
    api.add(dep)


def _set_secret_env(api, name: str) -> None:
    dep = copy.deepcopy(api.get("deployments", "otel-collector", NS))
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container.setdefault("env", []).append(
        {"name": name, "valueFrom": {"secretKeyRef": {"name": "otel-credentials", "key": name}}})
    api.add(dep)


def reference(api, rbac: bool = True) -> None:
    """The blog post's hand-applied collector as it is: ServiceAccount and RBAC, nothing else of ours."""
    api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "otel-collector", "namespace": NS}})
    for verb in ("get", "list", "watch") if rbac else ():
        api.allow(SA_USER, verb, "pods")
    api.set_logs(NS, COLLECTOR_POD, COLLECTOR_CONTAINER, READY_LOG)


def healthy(api, rbac: bool = True) -> None:
    """Everything right: our config, a pinned image, a ready backend, the collector reporting up targets."""
    reference(api, rbac)
    api.remove("pods", "web-697cdddb99-5t22j", "other-mesh")
    _set_image(api, "otel/opentelemetry-collector:0.159.0")
    _set_config(api, HEALTHY_CONFIG)
    _set_secret_env(api, "OTLP_AUTH")   # HEALTHY_CONFIG's ${env:OTLP_AUTH}
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openobserve"}})
    api.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "openobserve", "namespace": "openobserve"},
             "spec": {"ports": [{"name": "otlp-grpc", "port": 5081, "targetPort": 5081}],
                      "selector": {"app": "openobserve"}}})
    api.add({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "openobserve-abcde", "namespace": "openobserve",
                          "labels": {"kubernetes.io/service-name": "openobserve"}},
             "addressType": "IPv4", "ports": [{"name": "otlp-grpc", "port": 5081}],
             "endpoints": [{"addresses": ["10.244.0.40"], "conditions": {"ready": True}}]})
    api.set_proxy(NS, COLLECTOR_POD, 8888, "metrics", body=growing_metrics())
    api.set_proxy(NS, COLLECTOR_POD, 9090, "api/v1/targets", body=lambda _q: targets_json(api))
    serve_proxy_metrics(api)


def proxy_metrics_text() -> str:
    """A proxy's /metrics as the fixtures record it."""
    from pathlib import Path

    return (Path(__file__).parent / "fixtures" / "proxy-metrics-series.txt").read_text()


def serve_proxy_metrics(api, body: str = None) -> None:
    """Every expected target's proxy answers /metrics (check samples a few to count series per target)."""
    text = body if body is not None else proxy_metrics_text()
    for key in EXPECTED_TARGETS:
        namespace, pod_name = key.split("/")
        api.set_proxy(namespace, pod_name, 4191, "metrics", body=text)


def pod(api, namespace: str, name: str) -> dict:
    return copy.deepcopy(api.get("pods", name, namespace))


def container_status(pod_obj: dict, name: str) -> dict:
    status = pod_obj["status"]
    for cs in list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or []):
        if cs["name"] == name:
            return cs
    raise KeyError(name)


def set_config(api, text: str) -> None:
    _set_config(api, text)
