"""URLs as they may be shown (credentials masked) and API server URLs checked as kubectl checks them.

Pure, no heavy imports: every layer may print a URL through `mask_url`.
"""
from __future__ import annotations

import re
from typing import Optional
from urllib.parse import urlsplit

from ..errors import KubeconfigError
from .credentials import REDACTED, redact_endpoint_userinfo
from .ports import PORT_RULE, netloc_port, parse_port

_QUERY_VALUE = re.compile(r"([?&;][^=&;#]*=)[^&;#]*")


def mask_url(url: object) -> str:
    """`url` with its user[:password]@ and every query value replaced by <redacted>. Works on text that
    does not parse as a URL too (a kubeconfig may hold anything)."""
    text = str(url if url is not None else "")
    text = redact_endpoint_userinfo(text, REDACTED)
    head, sep, rest = text.partition("?")
    if not sep:
        return text
    query, hash_, fragment = rest.partition("#")
    return head + _QUERY_VALUE.sub(lambda m: m.group(1) + REDACTED, "?" + query) + hash_ + fragment


def check_server_url(server: object, where: str) -> str:
    """The API server URL, or a KubeconfigError saying why it is not one (never echoing credentials).
    As client-go: a scheme of http or https (none means https), a host, a port in range."""
    if not isinstance(server, str):
        raise KubeconfigError(f"invalid server URL in {where}: it is not a string; give "
                              "https://HOST:PORT")
    text = server.strip()
    shown = mask_url(text)[:200]
    if not text:
        raise KubeconfigError(f"invalid server URL in {where}: it is empty; give https://HOST:PORT")
    if any(c.isspace() or ord(c) < 0x20 for c in text):
        raise KubeconfigError(f"invalid server URL {shown!r} in {where}: it contains spaces or "
                              "control characters")
    candidate = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(candidate)
        port_text = netloc_port(parts.netloc)
        if port_text and parse_port(port_text) is None:
            raise ValueError(PORT_RULE)
        port: Optional[int] = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise KubeconfigError(f"invalid server URL {shown!r} in {where}: {exc}; give "
                              "https://HOST:PORT") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise KubeconfigError(f"invalid server URL {shown!r} in {where}: the scheme must be "
                              "https (or http)")
    if not host:
        raise KubeconfigError(f"invalid server URL {shown!r} in {where}: it names no host")
    if len(host) > 253:
        raise KubeconfigError(f"invalid server URL in {where}: the host name is {len(host)} "
                              "characters long (at most 253)")
    if port == 0:
        raise KubeconfigError(f"invalid server URL {shown!r} in {where}: port 0")
    return candidate.rstrip("/")
