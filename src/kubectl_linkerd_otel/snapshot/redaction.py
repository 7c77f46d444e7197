"""What a snapshot file hides, by the one credential detector (k8s/credentials.py): Secret data, collector
configs (credential headers and fields, user:password in endpoints), env values that are credentials or
come from a Secret, last-applied annotations (they repeat whole objects), and in every other string Basic
and Bearer values, keyed credentials and URL user:password."""
from __future__ import annotations

from typing import Any

from ..k8s.credentials import REDACTED, credential_field, credential_header, literal, redact_config_text, redact_text

__all__ = ["REDACTED", "redact"]


def _from_secret(entry: dict) -> bool:
    value_from = entry.get("valueFrom")
    return isinstance(value_from, dict) and "secretKeyRef" in value_from


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` (a snapshot's data) with every credential replaced by <redacted>."""
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind == "Secret":
            value = dict(value, **{k: {name: REDACTED for name in (value.get(k) or {})}
                                   for k in ("data", "stringData") if isinstance(value.get(k), dict)})
        elif kind == "ConfigMap" and isinstance(value.get("data"), dict):
            value = dict(value, data={k: redact_config_text(v) if isinstance(v, str) else v
                                      for k, v in value["data"].items()})
        if "name" in value and isinstance(value.get("value"), str) and (
                credential_header(value.get("name"), value.get("value")) or _from_secret(value)):
            value = dict(value, value=REDACTED)
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and (str(k).endswith(("last-applied-configuration", "last_applied_configuration"))
                                       or (credential_field(k) and literal(v))):
                out[k] = REDACTED if v else v
            elif kind == "ConfigMap" and k == "data":
                out[k] = v          # redacted above, as configs
            else:
                out[k] = redact(v, str(k))
        return out
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
