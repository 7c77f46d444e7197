"""One collector log line as parts: its time, level, message and fields (pure).

The collector logs with zap: the console encoding (`<time>\\t<level>\\t<caller>\\t<message>\\t{json
fields}`, its default) or the JSON one (`{"level": ..., "ts": ..., "msg": ..., ...}`). Client-go's klog
lines (`E1125 10:00:03.000000 1 reflector.go:158] "msg" err="..."`) and cobra's `Error: ...` keep their
text as the message. Credentials are redacted before anything leaves this module.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Dict, Optional

from ..k8s.credentials import REDACTED, credential_field, redact_text

_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)")
_KLOG = re.compile(r'^[IWEF]\d{4} [\d:.]+\s+\d+ [^\]]+\] "?(?P<msg>[^"]*)"?(?P<rest>.*)$')
_KLOG_ERR = re.compile(r'\berr="((?:[^"\\]|\\.)*)"')


@dataclass
class LogLine:
    time: str = ""          # "2026-11-25 09:24:31 UTC", or "" when the line has none we can read
    level: str = ""
    message: str = ""
    fields: Dict[str, str] = field(default_factory=dict)


def _iso_time(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e11:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
    match = _ISO.match(str(value or ""))
    return f"{match.group(1)} {match.group(2)} UTC" if match else ""


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _object(raw: str) -> Optional[dict]:
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _fields(doc: dict, *leave_out: str) -> Dict[str, str]:
    return {str(k): REDACTED if credential_field(k) else redact_text(_text(v))
            for k, v in doc.items() if k not in leave_out}


def parse(line: str) -> LogLine:
    line = line.strip()
    doc = _object(line) if line.startswith("{") else None
    if doc is not None:
        return LogLine(_iso_time(doc.get("ts")), _text(doc.get("level", "")), redact_text(_text(doc.get("msg", ""))),
                       _fields(doc, "level", "ts", "msg", "caller"))
    parts = line.split("\t")
    if len(parts) >= 4 and _ISO.match(parts[0]):
        doc = _object(parts[4]) if len(parts) > 4 else {}
        message = parts[3] if doc is not None else "\t".join(parts[3:])
        return LogLine(_iso_time(parts[0]), parts[1].strip(), redact_text(message.strip()), _fields(doc or {}))
    klog = _KLOG.match(line)
    if klog:
        err = _KLOG_ERR.search(klog.group("rest"))
        fields = {"error": redact_text(err.group(1).replace('\\"', '"'))} if err else {}
        return LogLine("", {"E": "error", "W": "warn", "F": "fatal"}.get(line[0], "info"),
                       redact_text(klog.group("msg").strip()), fields)
    return LogLine("", "", redact_text(line), {})
