"""The collector configuration as a dict: three Linkerd scrape jobs (as the linkerd-viz chart has them),
memory_limiter + batch, one OTLP exporter, health_check, self-metrics and the receiver's API server.

Inside the prometheus receiver every `$` is written `$$` (the collector expands `${...}` itself).
"""
from __future__ import annotations

from typing import Dict, List

from ..naming import (HEALTH_PORT, LINKERD_ADMIN_PORT_NAME, LINKERD_PROXY_CONTAINER, RECEIVER_API_PORT,
                      SELF_METRICS_PORT)
from ..collector.schema.distributions import exporter_type, has_key
from ..scrape.metrics import metric_relabel_configs
from .backends import DELTA, DELTA_PROCESSOR
from .options import InstallOptions
from .yaml_out import dump

RECEIVER = "prometheus/linkerd"
NODE_ENV = "K8S_NODE_NAME"
CA_MOUNT_PATH = "/etc/linkerd-otel/ca.crt"


def _exporter_name(opts: InstallOptions) -> str:
    # the image's version decides: v0.144 renamed otlp -> otlp_grpc, otlphttp -> otlp_http
    return exporter_type(opts.exporter_protocol, opts.collector[1]) + "/backend"


def _sd(opts: InstallOptions, namespaces: List[str] = None) -> List[dict]:
    sd: dict = {"role": "pod"}
    if namespaces:
        sd["namespaces"] = {"names": list(namespaces)}
    if opts.mode == "daemonset":
        # each collector scrapes only the pods on its own node
        sd["selectors"] = [{"role": "pod", "field": "spec.nodeName=${env:%s}" % NODE_ENV}]
    return [sd]


def _component_label() -> dict:
    return {"source_labels": ["__meta_kubernetes_pod_container_name"], "action": "replace",
            "target_label": "component"}


def scrape_jobs(opts: InstallOptions) -> List[dict]:
    cp = opts.linkerd_namespace
    controller = {
        "job_name": "linkerd-controller",
        "kubernetes_sd_configs": _sd(opts, [cp]),
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "keep",
             "regex": ".*admin$$"},
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "drop",
             "regex": LINKERD_ADMIN_PORT_NAME},
            _component_label(),
        ],
    }
    multicluster = {
        "job_name": "linkerd-multicluster-controller",
        "kubernetes_sd_configs": _sd(opts),
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_label_component",
                               "__meta_kubernetes_pod_container_port_name"],
             "action": "keep", "regex": "(linkerd-service-mirror|controller);.*-admin$$"},
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "drop",
             "regex": LINKERD_ADMIN_PORT_NAME},
            _component_label(),
        ],
    }
    proxy = {
        "job_name": "linkerd-proxy",
        "kubernetes_sd_configs": _sd(opts),
        "relabel_configs": [
            # completed pods keep their IP for a while: never scrape them
            {"source_labels": ["__meta_kubernetes_pod_phase"], "action": "keep",
             "regex": "(Pending|Running)"},
            {"source_labels": ["__meta_kubernetes_pod_container_name",
                               "__meta_kubernetes_pod_container_port_name",
                               "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"],
             "action": "keep",
             "regex": "^%s;%s;%s$$" % (LINKERD_PROXY_CONTAINER, LINKERD_ADMIN_PORT_NAME, cp)},
            {"source_labels": ["__meta_kubernetes_namespace"], "action": "replace",
             "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace", "target_label": "pod"},
            # the pod's "job" label would clash with Prometheus' own "job"
            {"source_labels": ["__meta_kubernetes_pod_label_linkerd_io_proxy_job"], "action": "replace",
             "target_label": "k8s_job"},
            {"action": "labeldrop", "regex": "__meta_kubernetes_pod_label_linkerd_io_proxy_job"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"},
            {"action": "labeldrop", "regex": "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_linkerd_io_(.+)"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)",
             "replacement": "__tmp_pod_label_$$1"},
            {"action": "labelmap", "regex": "__tmp_pod_label_linkerd_io_(.+)",
             "replacement": "__tmp_pod_label_$$1"},
            {"action": "labeldrop", "regex": "__tmp_pod_label_linkerd_io_(.+)"},
            {"action": "labelmap", "regex": "__tmp_pod_label_(.+)"},
        ],
    }
    jobs = [controller, multicluster, proxy]
    for job in jobs:
        if opts.metrics_keep:
            job["metric_relabel_configs"] = metric_relabel_configs(opts.metrics_keep)
    return jobs


def _exporter(opts: InstallOptions) -> dict:
    headers: Dict[str, str] = {}
    for name, value in opts.plain_headers():
        headers[name] = value.replace("$", "$$")   # the collector would expand ${...} and $$
    for name, cred in opts.credentials():
        headers[name] = cred.header_value()
    exporter: dict = {"endpoint": opts.endpoint}
    if headers:
        exporter["headers"] = headers
    if opts.tls_insecure:
        exporter["tls"] = {"insecure": True}
    elif opts.ca_pem:
        exporter["tls"] = {"ca_file": CA_MOUNT_PATH}
    return exporter


def collector_config(opts: InstallOptions) -> dict:
    exporter = _exporter_name(opts)
    exporters: dict = {exporter: _exporter(opts)}
    if opts.debug_exporter:
        exporters["debug"] = {"verbosity": "basic"}
    receiver: dict = {
        "config": {
            "global": {"scrape_interval": opts.scrape_interval,
                       "scrape_timeout": opts.scrape_timeout},
            "scrape_configs": scrape_jobs(opts),
        },
    }
    if has_key("receivers", "prometheus", "api_server", opts.collector[1]):
        receiver["api_server"] = {"enabled": True,
                                  "server_config": {"endpoint": "0.0.0.0:%d" % RECEIVER_API_PORT}}
    processors: dict = {"memory_limiter": dict({"check_interval": "1s"}, **opts.memory_limiter())}
    if opts.temporality == DELTA:
        # monotonic cumulative sums and histograms become deltas (the backend wants them so)
        processors[DELTA_PROCESSOR] = {}
    processors["batch"] = {}
    return {
        "receivers": {RECEIVER: receiver},
        "processors": processors,
        "exporters": exporters,
        "extensions": {"health_check": {"endpoint": "0.0.0.0:%d" % HEALTH_PORT}},
        "service": {
            "extensions": ["health_check"],
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {
                "host": "0.0.0.0", "port": SELF_METRICS_PORT}}}}]}},
            "pipelines": {
                "metrics": {
                    "receivers": [RECEIVER],
                    "processors": list(processors),
                    "exporters": list(exporters),
                },
            },
        },
    }


def collector_config_text(opts: InstallOptions) -> str:
    return dump(collector_config(opts))
