"""Go's time.ParseDuration, as kubectl and Linkerd print and accept durations (`5m0s`, `1h30m`), and as the
collector reads the durations of its config (`duration_ns`)."""
from __future__ import annotations

import re
from typing import Any, Optional

from ..errors import UsageError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)   # Go: ASCII digits only
# the collector config's durations (collector/validate.py, collector/schema/components.py)
_GO_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$", re.ASCII)
_UNIT_NS = {"ns": 1, "us": 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}


def parse_go_duration(text: str, *, flag: str = "duration") -> float:
    """Seconds in `text`. A bare number is seconds (kubectl's --request-timeout accepts that)."""
    raw = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", raw, re.ASCII):
        return float(raw)
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    pos, total = 0, 0.0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise UsageError(f"invalid {flag} {text!r}: use a duration like 30s, 5m or 1h30m")
    return sign * total


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


def duration_ns(value: Any) -> Optional[int]:
    """A Go duration (`5s`, `1m30s`, `0`, or an integer of nanoseconds) in ns; None when it is not one
    (or holds a `${...}` reference)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in ("0", "+0", "-0"):
        return 0
    if not _GO_DURATION.match(text):
        return None
    total = sum(float(n) * _UNIT_NS[u] for n, u in _PART.findall(text))
    return int(-total if text.startswith("-") else total)
