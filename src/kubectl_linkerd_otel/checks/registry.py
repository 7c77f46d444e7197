"""The categories `check` runs, in order."""
from __future__ import annotations

from . import (backend, collector, exporter, kubernetes_api, linkerd_control_plane, linkerd_data_plane, logs,
               metrics_policy, operator, targets)

CATEGORIES = [
    kubernetes_api.CATEGORY,
    linkerd_control_plane.CATEGORY,
    linkerd_data_plane.CATEGORY,
    collector.CATEGORY,
    logs.CATEGORY,
    exporter.CATEGORY,
    targets.CATEGORY,
    metrics_policy.CATEGORY,
    operator.CATEGORY,
    backend.CATEGORY,
]
