"""Where a command's inputs come from: one Source per run, below the commands and above the cluster.

- live.py `Cluster`: the live cluster, through cluster/ (and its one door, kube/), on a connection built
  from kubectl's flags on first use. The only source that reaches the network.
- saved.py `Saved`: a snapshot file (`--snapshot FILE`) or the demo shipped with the plugin (`--demo`).
- files.py `Files`: the files `targets --config FILE --pods FILE` names; the part not given in a file
  comes from the cluster.

Each yields the Snapshot, or the parts of it a command reads, in the same shapes whatever the source:
`check` and `snapshot` take a Snapshot; `targets` a Collector, the pods and the collector's own answers;
`stat` the pods and two reads of their proxies. The commands compute (pure) and render what they get.
The offline sources never import cluster/ or kube/ (.importlinter says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass
class Collector:
    """What `targets` reads of the collector: its config (parsed), the namespace it scrapes from
    (`own_namespace`), where it was found (None for a config file), and the operator's state (the
    allocator's assignment) in operator mode. `env` and `image` come from its workload."""

    config: dict
    own_namespace: str
    location: Any = None
    operator_state: Dict[str, Any] = field(default_factory=dict)
    env: Optional[dict] = None
    image: Optional[str] = None

    def __post_init__(self) -> None:
        if self.location is not None and self.location.workload is not None:
            from ..collector.locate import collector_container, static_env, template_spec

            self.env = static_env(self.location.workload)
            self.image = (collector_container(template_spec(self.location.workload)) or {}).get("image")


def configured(location, own_namespace: str, operator_state: Optional[Dict[str, Any]] = None) -> Collector:
    """The Collector found at `location`: its config text parsed (an empty or broken one is a one-line
    error naming its ConfigMap)."""
    from .files import parse_config_text

    config = parse_config_text(location.config_text or "", f"configmap/{location.configmap_name}")
    return Collector(config, own_namespace, location, operator_state or {})
