"""Pure rendering of the collector stack: options -> Kubernetes objects -> YAML."""
from __future__ import annotations
