"""Redaction of what a snapshot file holds: Secret data, credential-named env values and keys, basic and
bearer credentials, URL user:password."""
from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(r"(password|passwd|token|secret|api[-_]?key|authorization|credential)", re.I)
_SECRET_LINE = re.compile(
    r"(?im)^(\s*[\"']?(?:authorization|password|passwd|token|bearer_token|api[-_]?key|x-api-key|secret)[\"']?\s*:\s*)(.+)$")
_BASIC = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]{8,}")


def _redact_text(text: str) -> str:
    def repl(match):
        value = match.group(2).strip()
        if re.fullmatch(r"[\"']?\$\{[^}]+\}[\"']?", value):
            return match.group(0)
        return match.group(1) + REDACTED
    from ..collector.logs import redact as redact_credentials

    # keyed lines first (YAML), then credentials anywhere (JSON-style fields, URL user:password)
    return redact_credentials(_BASIC.sub(lambda m: f"{m.group(1)} {REDACTED}", _SECRET_LINE.sub(repl, text)))


def redact(value: Any, key: str = "") -> Any:
    from ..collector.config import credential_header

    if isinstance(value, dict):
        if value.get("kind") == "Secret" and "data" in value:
            value = dict(value, data={k: REDACTED for k in value.get("data") or {}})
        if "name" in value and "value" in value and (_SECRET_NAME.search(str(value.get("name")))
                                                     or credential_header(value.get("name"))):
            value = dict(value, value=REDACTED)
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key == "last-applied-configuration" or key.endswith("last-applied-configuration"):
            return REDACTED
        return _redact_text(value)
    return value
