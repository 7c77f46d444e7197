"""What every Source yields for `targets`, whatever it reads: the collector, as a Collector (its config
parsed, where it was found, its environment and image, the operator's state)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ..errors import UsageError


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
            # lazy: loaded only when this input is read (start-up time)
            from ..collector.locate import collector_container, static_env, template_spec

            self.env = static_env(self.location.workload)
            self.image = (collector_container(template_spec(self.location.workload)) or {}).get("image")


def configured(location, own_namespace: str, operator_state: Optional[Dict[str, Any]] = None) -> Collector:
    """The Collector found at `location`: its config text parsed (an empty or broken one is a one-line
    error naming its ConfigMap)."""
    config = parse_config_text(location.config_text or "", f"configmap/{location.configmap_name}")
    return Collector(config, own_namespace, location, operator_state or {})


def parse_config_text(text: str, where: str) -> dict:
    """A collector config's text parsed; `where` names its source in errors (a file, configmap/NAME)."""
    # lazy: loaded only when this input is read (start-up time)
    from ..collector.config import parse_config

    if not text.strip():
        raise UsageError(f"{where} holds no collector config")
    try:
        return parse_config(text)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}") from None
