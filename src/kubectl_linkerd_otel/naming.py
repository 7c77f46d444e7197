"""Names and labels shared by what `install` renders and what `check`/`targets` look for."""
from __future__ import annotations

from . import __version__

FIELD_MANAGER = "kubectl-linkerd-otel"
PART_OF = "linkerd-otel"
MANAGED_BY = "kubectl-linkerd-otel"
MANAGED_BY_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"

# Linkerd runs `linkerd-<name> check` for every namespace labelled linkerd.io/extension=<name>.
EXTENSION_LABEL = "linkerd.io/extension"
EXTENSION_NAME = "otel"
EXTENSION_BINARY = "linkerd-otel"

DEFAULT_NAMESPACE = "observability"
COLLECTOR_NAME = "linkerd-otel-collector"          # ServiceAccount, ClusterRole(Binding), workload, Service
CONFIGMAP_NAME = "linkerd-otel-collector-config"
CONFIG_KEY = "config.yaml"
SECRET_NAME = "linkerd-otel-collector-credentials"
CONTAINER_NAME = "otel-collector"

# Ports the collector exposes on its pod (named so that pods/proxy and probes can refer to them).
RECEIVER_API_PORT = 9090      # the prometheus receiver's Prometheus API: /api/v1/targets
SELF_METRICS_PORT = 8888      # the collector's own metrics: otelcol_exporter_sent_metric_points, ...
HEALTH_PORT = 13133           # health_check extension
RECEIVER_API_PORT_NAME = "prom-api"
SELF_METRICS_PORT_NAME = "self-metrics"
HEALTH_PORT_NAME = "health"

# The reference setup ("Beyond linkerd-viz", applied by hand): check and targets understand it too.
REFERENCE_WORKLOAD = "otel-collector"
REFERENCE_CONFIGMAP = "otel-collector-config"

LINKERD_PROXY_CONTAINER = "linkerd-proxy"
PROXY_JOB_NAME = "linkerd-proxy"        # the scrape job install renders for the proxies (as Linkerd viz names it)
LINKERD_ADMIN_PORT_NAME = "linkerd-admin"
LINKERD_ADMIN_PORT = 4191
DEFAULT_LINKERD_NAMESPACE = "linkerd"


def common_labels(component: str) -> dict:
    """Labels every object we render carries."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/version": __version__,
    }

# Pod-template annotation holding a hash of the collector ConfigMap: a config change rolls the pods.
CONFIG_HASH_ANNOTATION = "linkerd-otel.io/config-hash"
# Secret annotations: which endpoint its credentials are for and which headers carry them (no values), so
# that a later install that keeps the Secret renders a config that uses it, for that endpoint only.
SECRET_ENDPOINT_ANNOTATION = "linkerd-otel.io/exporter-endpoint"
SECRET_HEADERS_ANNOTATION = "linkerd-otel.io/credential-headers"
# The label of Linkerd's control-plane pods (destination, identity, proxy-injector, ...).
CONTROL_PLANE_COMPONENT_LABEL = "linkerd.io/control-plane-component"
# The annotation that asks the proxy injector to mesh a pod (`enabled`), on the pod template or namespace.
INJECT_ANNOTATION = "linkerd.io/inject"
# The namespace label Linkerd sets on its control plane namespace (`true`).
IS_CONTROL_PLANE_LABEL = "linkerd.io/is-control-plane"
# The pod label the proxy injector sets on every meshed pod: the namespace of its control plane.
CONTROL_PLANE_NS_LABEL = "linkerd.io/control-plane-ns"
# The same label as Prometheus' Kubernetes SD shows it to relabel rules (`/` and `.` made `_`).
CONTROL_PLANE_NS_META_LABEL = "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"

# Cluster-scoped objects (ClusterRole, ClusterRoleBinding) exist once per collector namespace: named
# after it, and labelled with it so that `uninstall -n NS` selects only its own.
COLLECTOR_NAMESPACE_LABEL = "linkerd-otel.io/collector-namespace"


def cluster_rbac_name(namespace: str) -> str:
    """Name of the ClusterRole and ClusterRoleBinding of the collector in `namespace` (a DNS label of
    at most 63 characters, so the name stays far below the 253 allowed)."""
    return f"{COLLECTOR_NAME}-{namespace}"


# `install` restarts the collector when only its Secret changed (it reads credentials at start), the way
# `kubectl rollout restart` does. A separate field manager owns the annotation, so that the next
# regular apply neither removes it nor conflicts with it.
RESTART_FIELD_MANAGER = "kubectl-linkerd-otel-restart"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
