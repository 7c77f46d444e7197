"""Values quoted in messages (pure): one line each, whatever the value holds.

Label values, regexes and selectors come from pods and configs, so they may be long or hold newlines,
tabs and other control characters. Every reason and error quotes them through `shown`: control
characters escaped (`\\n`, `\\t`, `\\x1b`, ...) and at most `LIMIT` characters, the rest replaced by `…`,
so a table row stays one row.
"""
from __future__ import annotations

from typing import Any

LIMIT = 80
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def shown(value: Any, limit: int = LIMIT) -> str:
    """`value` as text for a message: control characters escaped, at most `limit` characters."""
    text = "" if value is None else str(value)
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:      # a lone surrogate (from a JSON \\ud800 escape)
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
        if len(out) > limit:
            break
    if len(out) > limit:
        return "".join(out[:limit - 1]) + "…"
    return "".join(out)


def code(value: Any, limit: int = LIMIT) -> str:
    """`value` in backticks, as the reasons quote label values."""
    return f"`{shown(value, limit)}`"


def go_quote(value: Any, limit: int = LIMIT) -> str:
    """`value` in double quotes, as Go's %q prints it in Prometheus' own messages."""
    text = "null" if value is None else str(value)
    return '"' + shown(text.replace("\\", "\\\\").replace('"', '\\"'), limit) + '"'
