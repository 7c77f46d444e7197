"""How `stat` shows its numbers to a person (pure): byte rates in binary units as kubectl prints
quantities, and the colours that set a bad row apart on a terminal (never in JSON, never off a terminal).

Success rate: Linkerd's own dashboard classes (linkerd2 web/app/js/components/util/MetricUtils.jsx,
getSuccessRateClassification): below 90% poor (red), below 95% warning (yellow), else good (green).
Latency has no Linkerd rule; ours, for each percentile column: yellow from 500 ms, red from 1 s.
"""
from __future__ import annotations

import math
from typing import Optional

SUCCESS_POOR, SUCCESS_WARNING = 0.90, 0.95
LATENCY_WARNING_MS, LATENCY_POOR_MS = 500, 1000
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def byte_rate(value: float) -> str:
    """`180B/s`, `38.7KiB/s`, `1.2MiB/s`."""
    unit = 0
    while abs(value) >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.0f}B/s" if unit == 0 else f"{value:.1f}{_UNITS[unit]}/s"


def success_color(rate: Optional[float]) -> Optional[str]:
    if rate is None or not math.isfinite(rate):
        return None
    return "red" if rate < SUCCESS_POOR else "yellow" if rate < SUCCESS_WARNING else "green"


def latency_color(ms: Optional[float]) -> Optional[str]:
    if ms is None or not math.isfinite(ms):
        return None
    return "red" if ms >= LATENCY_POOR_MS else "yellow" if ms >= LATENCY_WARNING_MS else None
