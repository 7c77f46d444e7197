"""The categories `check` runs, in order."""
from __future__ import annotations

from . import (backend, collector, exporter, kubernetes_api, linkerd_control_plane, linkerd_data_plane, logs,
               operator, targets)

CATEGORIES = [
    kubernetes_api.CATEGORY,
    linkerd_control_plane.CATEGORY,
    linkerd_data_plane.CATEGORY,
    collector.CATEGORY,
    logs.CATEGORY,
    exporter.CATEGORY,
    targets.CATEGORY,
    operator.CATEGORY,
    backend.CATEGORY,
]
