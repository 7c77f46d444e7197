"""HTTP/1.1 straight to the API server on the standard library's http.client (why not httpx: transport.py).

A pool of keep-alive connections, shared by the threads of one `Kube`: a request takes an idle connection
or opens one, and gives it back once its answer has been read to the end (a connection whose answer was
left unread is closed, never reused). A reused connection the server closed while it sat idle is opened
again, once, before anything is counted as a failure. Answers are asked for gzip-compressed, as httpx
and client-go do, and decompressed a piece at a time (never more than `PIECE` bytes from one call).
"""
from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
import zlib
from typing import Iterator, List, Optional, Tuple
from urllib.parse import unquote, urlencode, urlsplit

from .wire import CONNECT, DROPPED, FAILED, TIMEOUT, Reply, WireError

PIECE = 64 * 1024
# what a reused connection says when the server closed it while it sat idle
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Direct:
    def __init__(self, server: str, *, tls: Optional[ssl.SSLContext], sni: Optional[str], headers: dict):
        parts = urlsplit(server)
        self._tls, self._sni = tls, sni
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if tls is not None else 80)
        self._prefix = parts.path.rstrip("/")    # a server behind a path (Rancher's /k8s/clusters/<id>)
        self._headers = list(headers.items())
        if parts.username is not None and tls is not None:     # user:password@ in the server URL
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._basic: Optional[str] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            self._basic = None
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(self, method: str, path: str, *, params: Optional[dict], headers: List[tuple],
             body: Optional[bytes], timeout: float) -> Reply:
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        fields = self._fields(headers)
        connection, reused = self._take(timeout)
        while True:
            try:
                response = _exchange(connection, method, target, fields, body)
                return _DirectReply(self, connection, response)
            except _STALE as exc:
                connection.close()
                if not reused:
                    raise WireError(DROPPED, exc) from None
                connection, reused = self._take(timeout, fresh=True)
            except BaseException as exc:
                connection.close()
                raise _wire_error(exc) from None

    def _fields(self, headers: List[tuple]) -> List[Tuple[str, str]]:
        given = {name.lower() for name, _ in headers}
        fields = [(name, value) for name, value in self._headers if name.lower() not in given]
        if self._basic and "authorization" not in given:
            fields.append(("Authorization", self._basic))
        fields.append(("Accept-Encoding", "gzip"))
        return fields + list(headers)

    def _take(self, timeout: float, fresh: bool = False) -> Tuple[http.client.HTTPConnection, bool]:
        if not fresh:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is not None:
                connection.sock.settimeout(timeout)
                return connection, True
        if self._tls is not None:
            connection: http.client.HTTPConnection = _TlsConnection(self._host, self._port, timeout, self._tls,
                                                                    self._sni)
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        try:
            connection.connect()
        except socket.timeout as exc:
            connection.close()
            raise WireError(TIMEOUT, exc) from None
        except (OSError, ValueError) as exc:     # refused, unknown host, TLS handshake; a bad host name
            connection.close()
            raise WireError(CONNECT, exc) from None
        return connection, False

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.append(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _TlsConnection(http.client.HTTPConnection):
    """TLS with the kubeconfig's context, and its `tls-server-name` as SNI and the name checked."""

    default_port = 443

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext, sni: Optional[str]):
        super().__init__(host, port, timeout=timeout)
        self._context, self._sni = context, sni

    def connect(self) -> None:
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._sni or self.host)


def _exchange(connection: http.client.HTTPConnection, method: str, target: str,
              fields: List[Tuple[str, str]], body: Optional[bytes]) -> http.client.HTTPResponse:
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in fields:
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    return connection.getresponse()


class _DirectReply(Reply):
    def __init__(self, pool: Direct, connection: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self._pool, self._connection, self._response = pool, connection, response
        self.status, self.headers = response.status, response.headers
        self.charset = response.headers.get_content_charset()
        self._finished = False

    def chunks(self) -> Iterator[bytes]:
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        raw = self._raw()
        if encoding in ("", "identity"):
            yield from raw
        elif encoding in ("gzip", "x-gzip"):
            yield from _gunzipped(raw)
        else:
            raise WireError(FAILED, ValueError(f"an answer in the content encoding {encoding!r}, which was "
                                               "not asked for"))

    def _raw(self) -> Iterator[bytes]:
        # read1: what one read of the socket brings (read() would wait for PIECE bytes, and an answer that
        # trickles in would never reach the deadline check between pieces)
        response = self._response
        try:
            while True:
                piece = response.read1(PIECE)
                if not piece:
                    break
                yield piece
            if response.length:         # the connection ended before the Content-Length did
                raise http.client.IncompleteRead(b"", response.length)
            response.read()             # the end of a Content-Length body: lets the connection be reused
        except BaseException as exc:
            raise _wire_error(exc) from None
        self._finished = True

    def close(self) -> None:
        if self._finished and not self._response.will_close:
            self._response.close()
            self._pool.give_back(self._connection)
        else:
            self._connection.close()


def _gunzipped(raw: Iterator[bytes]) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        for piece in raw:
            out = decompressor.decompress(piece, PIECE)
            while True:
                if out:
                    yield out
                if not decompressor.unconsumed_tail:
                    break
                out = decompressor.decompress(decompressor.unconsumed_tail, PIECE)
        rest = decompressor.flush()
        if rest:
            yield rest
    except zlib.error as exc:
        raise WireError(FAILED, ValueError(f"a gzip answer that does not decompress: {exc}")) from None
    if not decompressor.eof:
        raise WireError(DROPPED, ValueError("the gzip answer ended before its end"))


def _wire_error(exc: BaseException) -> BaseException:
    if isinstance(exc, WireError) or not isinstance(exc, Exception):
        return exc     # KeyboardInterrupt and the like go on as they are
    if isinstance(exc, socket.timeout):
        return WireError(TIMEOUT, exc)
    if isinstance(exc, (http.client.IncompleteRead, http.client.RemoteDisconnected, OSError)):
        return WireError(DROPPED, exc)       # OSError: a reset, a broken pipe, TLS failing mid-answer
    if isinstance(exc, (http.client.HTTPException, ValueError)):
        return WireError(FAILED, exc)        # a malformed answer
    return exc
