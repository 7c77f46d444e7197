"""What both halves of the credentials proof share (pure): the empty export they send, the outcomes an
answer has, the Proof that carries one, and the vendor's words read out of an answer (a google.rpc.Status,
JSON, or text), escaped and bounded. cluster/otlp_proof.py sends it over OTLP/HTTP, cluster/otlp_grpc.py
over OTLP/gRPC."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional, Tuple

from ..scrape.text import shown

EMPTY_EXPORT_METRICS_REQUEST = b""      # ExportMetricsServiceRequest{}: no fields, zero bytes
TIMEOUT_SECONDS = 10.0
MAX_ANSWER = 64 * 1024
MAX_WORDS = 200

OK, REFUSED, NOT_FOUND, UNCLEAR, UNREACHABLE, TLS = "ok", "refused", "not-found", "unclear", "unreachable", "tls"
NOT_GRPC = "not-grpc"       # the gRPC proof reached something that does not answer gRPC over HTTP/2


@dataclass
class Proof:
    outcome: str            # one of the constants above
    url: str
    status: int = 0         # the HTTP status, when there was an answer
    words: str = ""         # the vendor's words, or the connection error
    grpc_status: Optional[int] = None   # OTLP/gRPC: the grpc-status answered
    hint: str = ""          # what to check, where the outcome alone does not say (TLS, not gRPC)

    @property
    def answer(self) -> str:
        """The answer as a user reads it: HTTP 403, or gRPC UNAUTHENTICATED (16)."""
        if self.grpc_status is not None:
            return f"gRPC {code_name(self.grpc_status)} ({self.grpc_status})"
        return f"HTTP {self.status}"


CODES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
         "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
         "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")


def code_name(code: int) -> str:
    return CODES[code] if 0 <= code < len(CODES) else f"code {code}"


def vendor_words(body: bytes, content_type: str) -> str:
    """What the answer says, for a message: a google.rpc.Status' message, a JSON `message`/`error`, or
    the text itself; escaped, one line, bounded."""
    text = ""
    if "protobuf" in content_type:
        text = status_message(body) or ""
    else:
        decoded = body.decode("utf-8", errors="replace").strip()
        try:
            doc = json.loads(decoded) if decoded.startswith("{") else None
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            for key in ("message", "error", "errors", "detail"):
                if doc.get(key):
                    text = doc[key] if isinstance(doc[key], str) else json.dumps(doc[key])
                    break
        text = text or decoded
    return shown(" ".join(text.split()), MAX_WORDS)


def status_message(data: bytes) -> Optional[str]:
    """The `message` (field 2, a string) of a protobuf google.rpc.Status, or None when `data` is not one."""
    pos, message = 0, None
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            field, wire = key >> 3, key & 7
            if wire == 0:
                _value, pos = _varint(data, pos)
            elif wire == 2:
                size, pos = _varint(data, pos)
                if pos + size > len(data):
                    return None
                if field == 2:
                    message = data[pos:pos + size].decode("utf-8", errors="replace")
                pos += size
            else:
                return None
    except IndexError:
        return None
    return message


def _varint(data: bytes, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")


def first_line(text: str) -> str:
    """The first line of an error, escaped and bounded, for a message."""
    return shown((text.strip().splitlines() or [""])[0], MAX_WORDS)
