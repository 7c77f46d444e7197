"""What a transport (transport.py) hands `Kube`: an answer whose head has come (`Reply`), or a `WireError`
of one of four kinds, the same whichever client carried the request."""
from __future__ import annotations

from typing import Any, Iterator, Optional

TIMEOUT = "timeout"        # no answer within the time given
CONNECT = "connect"        # no connection: refused, unknown host, TLS handshake failed
DROPPED = "dropped"        # the connection broke while asking or answering: worth one more try
FAILED = "failed"          # anything else the client refused (a malformed answer, a bad encoding)


class WireError(Exception):
    """A request that got no whole answer: `kind` is one of the four above, `cause` the client's own error."""

    def __init__(self, kind: str, cause: BaseException):
        super().__init__(str(cause))
        self.kind, self.cause = kind, cause
        self.__cause__ = cause


class Reply:
    """An answer whose head has come: `status`, `headers` (`.get(name)`, any case), `charset`, and the
    body, decoded from its content encoding, as it comes (`chunks()`). `close()` always."""

    status: int
    headers: Any
    charset: Optional[str]

    def chunks(self) -> Iterator[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
