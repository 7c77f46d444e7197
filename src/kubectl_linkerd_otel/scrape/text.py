"""Text from outside made safe to print (pure): the one rule for the terminal, and values quoted in
messages.

Names, label values, log lines, error messages and a snapshot's manifest come from the cluster, files and
snapshots: they may hold an escape sequence (which retitles the terminal, moves the cursor, clears the
screen), a carriage return or a newline (which forges a line of the report), bidi overrides (which
reorder what is shown). `printable` escapes them all (`\\x1b`, `\\r`, `\\n`, `\\u202e`, ...) and keeps the
rest, tabs included; every human renderer passes what it prints through it (JSON output is left as it
is: its encoder escapes control characters itself). `shown` quotes a value in a message: `printable`,
tabs escaped too, and at most `LIMIT` characters, the rest replaced by `…`, so a table row stays one row.
"""
from __future__ import annotations

import re
from typing import Any

LIMIT = 80
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# C0 controls but tab, DEL, C1 controls (0x9b is a one-byte CSI), line and paragraph separators, bidi
# embeddings, overrides and isolates, lone surrogates (from a JSON \\ud800 escape)
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_OR_TAB = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def printable(value: Any) -> str:
    """`value` as text that only prints: every control character, escape sequence, line break and bidi
    control escaped (tabs are kept). Escaping twice changes nothing more than once."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(lambda m: _escape(m.group(0)), text) if _UNSAFE.search(text) else text


def shown(value: Any, limit: int = LIMIT) -> str:
    """`value` as text for a message: `printable`, tabs escaped too, at most `limit` characters."""
    text = "" if value is None else str(value)
    # each character is one unit of the limit, escaped or not: only the first limit + 1 matter
    head = text[:limit + 1] if limit >= 0 else text[:1]
    if _UNSAFE_OR_TAB.search(head) is None:       # the common case, in C: nothing to escape
        return head[:limit - 1] + "…" if len(head) > limit else head
    out = [_escape(ch) if ch == "\t" or _UNSAFE.match(ch) else ch for ch in head]
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
