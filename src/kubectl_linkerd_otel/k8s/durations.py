"""Go's time.ParseDuration, as kubectl, Linkerd and the collector's config print and accept durations
(`5m0s`, `1h30m`, `250ms`): one parser, `go_duration_parts`, read in seconds (`go_duration_seconds`, for
flags) or nanoseconds (`go_duration_ns`, for collector configs). Prometheus durations (`1d`, no
fractions) are another format: scrape/config.duration_ms."""
from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

from ..errors import UsageError

_UNIT_NS = {"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
_UNIT_SECONDS = {unit: ns / 1e9 for unit, ns in _UNIT_NS.items()}      # 1e-9, 1e-6, 1e-3, 1.0, 60.0, 3600.0
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)   # Go: ASCII digits only


def go_duration_parts(body: str) -> Optional[List[Tuple[float, str]]]:
    """(number, unit) of each part of an unsigned Go duration (`1h30m` -> [(1.0, 'h'), (30.0, 'm')]); None
    when `body` is empty or not one."""
    parts: List[Tuple[float, str]] = []
    pos = 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        parts.append((float(match.group(1)), match.group(2)))
        pos = match.end()
    return parts if body and pos == len(body) else None


def go_duration_seconds(text: str, *, flag: str = "duration") -> float:
    """Seconds in `text`. A bare number is seconds (kubectl's --request-timeout accepts that)."""
    raw = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", raw, re.ASCII):
        return float(raw)
    sign = -1.0 if raw.startswith("-") else 1.0
    parts = go_duration_parts(raw.lstrip("+-"))
    if parts is None:
        raise UsageError(f"invalid {flag} {text!r}: use a duration like 30s, 5m or 1h30m")
    total = 0.0
    for number, unit in parts:
        total += number * _UNIT_SECONDS[unit]
    return sign * total


def go_duration_ns(value: Any) -> Optional[int]:
    """A Go duration of a collector config (`5s`, `1m30s`, `0`, or an integer of nanoseconds) in ns; None
    when it is not one (or holds a `${...}` reference)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in ("0", "+0", "-0"):
        return 0
    parts = go_duration_parts(text[1:] if text[:1] in ("+", "-") else text)
    if parts is None:
        return None
    total = sum(number * _UNIT_NS[unit] for number, unit in parts)
    return int(-total if text.startswith("-") else total)


def format_go_duration(seconds: float) -> str:
    """The inverse, for messages: 300 -> '5m0s'."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"

