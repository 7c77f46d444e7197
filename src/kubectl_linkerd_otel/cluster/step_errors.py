"""What a failed gather step leaves in the Snapshot: its error in words, and whether it may go away by
itself (`check --wait` retries only those)."""
from __future__ import annotations

from ..errors import ApiRefused, ApiStatusError, ApiTimeout, ApiUnreachable, Gone, PluginError
from ..snapshot import Snapshot


def describe_error(exc: BaseException) -> str:
    status = getattr(exc, "status", 0)
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{text} (HTTP {status})" if status else text


def is_transient(exc: BaseException) -> bool:
    """May this failure go away by itself (a timeout, a dropped connection, a 5xx or 429)? A refusal
    (401/403), a missing object (404), a bad answer or an API server that cannot be connected to at all
    will not."""
    if isinstance(exc, ApiRefused):
        return False   # no connection at all: not a cluster that settles (linkerd check fails at once too)
    if isinstance(exc, (ApiTimeout, ApiUnreachable, Gone, TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, ApiStatusError):
        return exc.status == 429 or exc.status >= 500
    return False


def record_error(snap: Snapshot, key: str, exc: BaseException) -> None:
    snap.errors[key] = describe_error(exc) if isinstance(exc, PluginError) or getattr(exc, "status", 0) \
        else f"{type(exc).__name__}: {exc}"
    snap.transient_errors[key] = is_transient(exc)
