"""Typed errors. Each carries a one-line message a user can act on; the CLI prints it and exits 2.

Kept free of heavy imports so that every layer (pure ones included) may use it.
"""
from __future__ import annotations

from typing import Optional


class PluginError(Exception):
    """A failure the user can act on. Exit code 2: the command itself could not run."""

    exit_code = 2

    def __init__(self, message: str, *, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}; {self.hint}"


class UsageError(PluginError):
    """Bad flags or input files."""


class KubeError(PluginError):
    """Anything that went wrong talking to the cluster."""


class KubeconfigError(KubeError):
    """No kubeconfig, a malformed one, an unknown context, bad credentials settings."""


class ApiUnreachable(KubeError):
    """The API server could not be reached (refused, DNS, dropped)."""


class ApiRefused(ApiUnreachable):
    """No connection could be made at all (refused, no such host, no route): not a cluster that is settling,
    so `check --wait` does not retry it (as `linkerd check` fails "can query the Kubernetes API" at once)."""


class TlsError(KubeError):
    """The TLS handshake with the API server failed."""


class ApiTimeout(KubeError):
    """The API server did not answer within the request timeout."""


class AnswerTooLarge(KubeError):
    """An answer (the API server's, or a pod's or service's through it) passed its size limit (k8s/limits.py)."""


class ApiStatusError(KubeError):
    """The API server answered with an error status."""

    status = 0

    def __init__(self, message: str, *, hint: Optional[str] = None, status: int = 0,
                 reason: str = "", details: Optional[dict] = None):
        super().__init__(message, hint=hint)
        self.status = status or self.status
        self.reason = reason
        self.details = details or {}


class Unauthorized(ApiStatusError):
    status = 401


class Forbidden(ApiStatusError):
    status = 403


class NotFound(ApiStatusError):
    status = 404


class Conflict(ApiStatusError):
    """409. For server-side apply, `causes` lists (field, manager) pairs that conflict."""

    status = 409

    @property
    def causes(self) -> list:
        return list(self.details.get("causes") or [])


class Gone(ApiStatusError):
    """410: an expired list continue token."""

    status = 410
