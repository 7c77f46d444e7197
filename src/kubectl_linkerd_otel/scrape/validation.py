"""A collector config checked whole: the collector's own rules (collector/validate.py) and, in their place
among them, each prometheus receiver's `config` as Prometheus 3.5 loads it (scrape/config.py)."""
from __future__ import annotations

from typing import Any, Callable, Collection, List, Optional

from ..collector.config import ConfigProblem, component_type
from ..collector.validate import PROMETHEUS_CONFIG, errors
from ..collector.validate import validate as collector_rules
from .config import ScrapeConfigError, receivers

__all__ = ["validate", "errors", "prometheus_configs"]


def validate(config: Any, *, image: Optional[str] = None, distribution: Optional[str] = None,
             env_names: Optional[Collection[str]] = None) -> List[ConfigProblem]:
    """Every problem of `config` for the collector `image` (collector/validate.validate), its Prometheus
    configs included."""
    return collector_rules(config, image=image, distribution=distribution, env_names=env_names,
                           config_steps=(prometheus_configs,))


def prometheus_configs(config: dict, emit: Callable[..., None]) -> None:
    """The receivers' Prometheus `config`, as Prometheus 3.5 loads it (scrape/config.py)."""
    section = config.get("receivers")
    if not isinstance(section, dict):
        return
    for name, body in section.items():
        if component_type(name) != "prometheus" or not isinstance(body, dict) or body.get("config") is None:
            continue
        try:
            receivers({"receivers": {name: body}}, include_unused=True)
        except ScrapeConfigError as exc:
            emit(f"receivers.{name}.config", PROMETHEUS_CONFIG, str(exc))
        except (ValueError, TypeError, AttributeError) as exc:
            emit(f"receivers.{name}.config", PROMETHEUS_CONFIG, f"not a Prometheus config ({exc})")
