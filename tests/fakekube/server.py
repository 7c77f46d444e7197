"""A small Kubernetes API server on 127.0.0.1 for tests: real HTTP, real client stack.

It serves what the plugin uses: /version, list (label/field selectors, limit/continue), watch (for the real
collector's informers: initial events only), get, server-side
apply with field ownership and conflicts, create, delete (one or a collection), pods/log, pods/proxy and
SubjectAccessReviews. Faults can be injected: an error status for N requests, latency, dropped connections.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from .resources import by_plural, discovery_groups, discovery_resources
from .selectors import field_selector, label_selector
from .store import ApplyConflict, Store


class Streamed:
    """A body sent with chunked transfer encoding, piece by piece as `pieces()` yields bytes (a proxy
    answer too large to build whole in the server, say a collector's /api/v1/targets on a large mesh)."""

    def __init__(self, pieces: Callable[[], Iterable[bytes]]):
        self.pieces = pieces


ProxyBody = Union[str, Streamed,
                  Callable[[Dict[str, str]], Union[str, Streamed, Tuple[int, Union[str, Streamed]]]]]


@dataclass
class Fault:
    kind: str                      # status | drop | delay
    times: Optional[int]           # None: forever
    path: Optional[str] = None     # regex searched in the request path
    method: Optional[str] = None
    status: int = 500
    retry_after: Optional[str] = None
    seconds: float = 0.0
    body: bytes = b""              # kind "answer": sent as is, with `status`
    agent: Optional[str] = None    # regex searched in the User-Agent (one client among several)

    def matches(self, method: str, path: str, agent: str = "") -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.agent is not None and re.search(self.agent, agent) is None:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: Optional[bytes] = None
    at: float = field(default_factory=time.monotonic)    # when it arrived
    done: Optional[float] = None                          # when the server was through with it
    peer: Tuple = ()                                      # the client's address: one per connection

    def in_flight_with(self, others: List["Request"]) -> bool:
        """Whether this request and all of `others` were being served at one same moment (each arrived
        before any of them was done): reads sent side by side, not one after another."""
        everyone = [self, *others]
        return all(r.done is not None for r in everyone) and \
            max(r.at for r in everyone) < min(r.done for r in everyone)


@dataclass
class _Rule:
    user: str
    verb: str
    resource: str
    namespace: Optional[str]
    group: str


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up (timeout tests, dropped connections) leaves a broken pipe behind: not
        # a server bug, so no traceback on stderr. Anything else is still printed.
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class FakeApiServer:
    def __init__(self, token: str = "test-token", tls: bool = False):
        self.store = Store()
        # Required bearer token; None accepts anything. Over plain HTTP nothing is required: kubectl
        # (and so the plugin) sends no credentials to an http:// server, as to the old insecure port.
        self.token = token
        self.tls = tls
        self.ca_file: Optional[str] = None
        self.version = {"major": "1", "minor": "31", "gitVersion": "v1.31.2",
                        "platform": "linux/amd64", "goVersion": "go1.22.8"}
        self.requests: List[Request] = []
        self.faults: List[Fault] = []
        self.expire_continue_tokens = 0    # answer 410 to this many continue requests
        self.endless_continue: Optional[str] = None   # endless_list: "same" or "fresh" tokens, forever
        self._continue_counter = 0
        self.logs: Dict[Tuple[str, str, str], str] = {}
        self.proxies: Dict[Tuple[str, str, str, str], Tuple[int, ProxyBody]] = {}
        self.service_proxies: Dict[Tuple[str, str, str], Callable] = {}
        self.sar_rules: List[_Rule] = []
        self.sar_policy: Optional[Callable[[dict], bool]] = None
        self.apply_hooks: Dict[str, List[Callable[["FakeApiServer", dict], None]]] = {}
        self.absent_groups: set = set()     # API groups answered 404, as when their CRDs are not installed
        # (group, plural) -> the versions served instead of the kind's own (serve_versions)
        self.served_versions: Dict[Tuple[str, str], tuple] = {}
        self._lock = threading.Lock()
        self.chaos: Optional["Chaos"] = None     # a share of requests failing at random (seeded)
        # compress(): answers over this many bytes gzip-compressed to a client that asks (None: never)
        self.gzip_over: Optional[int] = None
        self._stopping = threading.Event()       # stalled handlers give up when the server stops
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        if tls:
            self._wrap_tls()
        # a short poll: stop() returns within it (the default half second, times every test, adds up)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def _wrap_tls(self) -> None:
        import ssl

        cert, key = _tls_files()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.ca_file = cert

    def start(self) -> "FakeApiServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def kubeconfig(self, path: str, *, context: str = "fake", token: Optional[str] = None) -> str:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake-cluster", "cluster": dict(
                {"server": self.url}, **({"certificate-authority": self.ca_file} if self.tls else {}))}],
            "users": [{"name": "fake-user", "user": {"token": token or self.token or "any"}}],
            "contexts": [{"name": context, "context": {"cluster": "fake-cluster",
                                                       "user": "fake-user"}}],
        }
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh)
        return path

    # --- objects ----------------------------------------------------------------------------

    def add(self, obj: dict) -> dict:
        return self.store.put(obj)

    def add_many(self, objs) -> None:
        if isinstance(objs, dict):
            objs = objs.get("items", [])
        for obj in objs:
            self.add(obj)

    def _key(self, resource: str, name: str, namespace: Optional[str]):
        plural, _, group = resource.partition(".")
        kind = by_plural(group, plural) or next(
            (k for k in _all_kinds() if k.plural == plural), None)
        if kind is None:
            raise KeyError(resource)
        return (kind.group, kind.plural, (namespace or "") if kind.namespaced else "", name)

    def get(self, resource: str, name: str, namespace: Optional[str] = None) -> Optional[dict]:
        return self.store.get(self._key(resource, name, namespace))

    def objects(self, resource: str) -> List[dict]:
        plural, _, group = resource.partition(".")
        kind = by_plural(group, plural) or next(k for k in _all_kinds() if k.plural == plural)
        return self.store.list(kind.group, kind.plural, None)

    def remove(self, resource: str, name: str, namespace: Optional[str] = None) -> None:
        self.store.delete(self._key(resource, name, namespace))

    def update_as(self, manager: str, resource: str, name: str, namespace: Optional[str],
                  patch: dict) -> dict:
        """Someone else (kubectl edit, a controller) changes fields and takes their ownership."""
        return self.store.update_as(self._key(resource, name, namespace), manager, patch)

    def set_logs(self, namespace: str, pod: str, container: str, text: str) -> None:
        self.logs[(namespace, pod, container)] = text

    def set_proxy(self, namespace: str, pod: str, port, path: str, status: int = 200,
                  body: ProxyBody = "") -> None:
        self.proxies[(namespace, pod, str(port), path.lstrip("/"))] = (status, body)

    def set_service_proxy(self, namespace: str, service: str, port, handler: Callable) -> None:
        """services/proxy to `service:port`: handler(path, query, headers) -> (status, body, content type).
        As the real API server, the request's Authorization header is not passed on (it authenticated us)."""
        self.service_proxies[(namespace, service, str(port))] = handler

    def allow(self, user: str, verb: str, resource: str, namespace: Optional[str] = None,
              group: str = "") -> None:
        """SubjectAccessReviews answer allowed for this; namespace None means every namespace."""
        self.sar_rules.append(_Rule(user, verb, resource, namespace, group))

    def serve_versions(self, resource: str, versions) -> None:
        """Serve `plural.group` in these versions only (discovery and requests); () serves it not at all,
        as a cluster without that CRD."""
        plural, _, group = resource.partition(".")
        self.served_versions[(group, plural)] = tuple(versions)

    def on_apply(self, kind: str, callback: Callable[["FakeApiServer", dict], None]) -> None:
        self.apply_hooks.setdefault(kind, []).append(callback)

    # --- faults -------------------------------------------------------------------------------

    def compress(self, over: int = 128 * 1024) -> None:
        """Gzip answers over `over` bytes to a client that sends `Accept-Encoding: gzip`, as the API
        server does (k8s.io/apiserver responsewriters: defaultGzipThresholdBytes 128 KiB, level 1); a
        streamed answer (a long list) is compressed whatever its size."""
        self.gzip_over = over

    def fail(self, status: int, times: Optional[int] = 1, path: Optional[str] = None,
             method: Optional[str] = None, retry_after: Optional[str] = None) -> None:
        self.faults.append(Fault("status", times, path, method, status, retry_after))

    def drop(self, times: Optional[int] = 1, path: Optional[str] = None) -> None:
        self.faults.append(Fault("drop", times, path))

    def answer(self, body: bytes, path: Optional[str] = None, times: Optional[int] = None,
               status: int = 200, agent: Optional[str] = None) -> None:
        """Answer requests to `path` (from clients whose User-Agent matches `agent`) with these bytes
        (nonsense, a JSON array, a Status ...) instead."""
        self.faults.append(Fault("answer", times, path, status=status, body=body, agent=agent))

    def delay(self, seconds: float, path: Optional[str] = None, times: Optional[int] = None) -> None:
        self.faults.append(Fault("delay", times, path, seconds=seconds))

    def endless(self, path: Optional[str] = None, times: Optional[int] = None, status: int = 200,
                prefix: bytes = b'{"kind": "PodList", "items": [') -> None:
        """Answer with a body that never ends: `prefix`, then spaces in chunked encoding, as fast as the
        client reads, until it goes away or the server stops."""
        self.faults.append(Fault("endless", times, path, status=status, body=prefix))

    def trickle(self, body: bytes, path: Optional[str] = None, times: Optional[int] = None,
                seconds: float = 1.0, status: int = 200) -> None:
        """Answer `body` (its Content-Length sent at once) one byte every `seconds`."""
        self.faults.append(Fault("trickle", times, path, status=status, seconds=seconds, body=body))

    def endless_list(self, fresh: bool = False) -> None:
        """Every list page carries a continue token, forever: the same one each time, or (fresh) a new one
        each page; the pages after the first hold no objects."""
        self.endless_continue = "fresh" if fresh else "same"

    def stall(self, path: Optional[str] = None, times: Optional[int] = None) -> None:
        """Never answer (until the server stops): a request that hangs."""
        self.faults.append(Fault("delay", times, path, seconds=3600.0))

    def flaky(self, share: float, kinds=("drop", "429", "500", "stall"), seed: int = 1,
              stall_seconds: float = 3600.0, retry_after: str = "1", path: Optional[str] = None) -> "Chaos":
        """Fail `share` of the requests (to `path`, a regex), each in one of `kinds` taken in turn: a
        dropped connection, 429 with Retry-After, 500, or a stall of `stall_seconds`. Which request fails
        is decided by a hash of the seed, the request and how many times it was asked before, so the same
        run fails the same requests whatever order the client's threads send them in."""
        self.chaos = Chaos(share, tuple(kinds), seed, stall_seconds, retry_after, path)
        return self.chaos

    def requests_to(self, path_regex: str, method: Optional[str] = None) -> List[Request]:
        return [r for r in self.requests if re.search(path_regex, r.path)
                and (method is None or r.method == method)]

    def _take_fault(self, method: str, path: str, agent: str = "") -> Optional[Fault]:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, agent):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


_TLS_FILES: List[str] = []


def _tls_files() -> Tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, made once per process (an RSA key costs a
    good part of a second) and removed when the process ends."""
    if not _TLS_FILES:
        import atexit
        import shutil
        import subprocess
        import tempfile

        directory = tempfile.mkdtemp(prefix="fakekube-tls-")
        atexit.register(shutil.rmtree, directory, True)
        cert, key = f"{directory}/ca.crt", f"{directory}/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:api.fake.internal",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        _TLS_FILES[:] = [cert, key]
    return _TLS_FILES[0], _TLS_FILES[1]


class Chaos:
    """Seeded random faults on a share of requests (FakeApiServer.flaky)."""

    def __init__(self, share: float, kinds: Tuple[str, ...], seed: int, stall_seconds: float,
                 retry_after: str, path: Optional[str]):
        self.share, self.kinds, self.seed = share, kinds, seed
        self.stall_seconds, self.retry_after, self.path = stall_seconds, retry_after, path
        self.seen: Dict[str, int] = {}
        self.injected: Dict[str, int] = {kind: 0 for kind in kinds}
        self.requests = 0
        self._lock = threading.Lock()

    def draw(self, method: str, path: str, query: str) -> Optional[Fault]:
        import hashlib

        if self.path is not None and re.search(self.path, path) is None:
            return None
        key = f"{method} {path}?{query}"
        with self._lock:
            self.requests += 1
            nth = self.seen[key] = self.seen.get(key, 0) + 1
        digest = hashlib.sha256(f"{self.seed}|{key}|{nth}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2 ** 64 >= self.share:
            return None
        kind = self.kinds[digest[8] % len(self.kinds)]
        with self._lock:
            self.injected[kind] += 1
        if kind == "drop":
            return Fault("drop", None)
        if kind == "stall":
            return Fault("delay", None, seconds=self.stall_seconds)
        status = int(kind)
        return Fault("status", None, status=status, retry_after=self.retry_after if status == 429 else None)


def _all_kinds():
    from .resources import KINDS
    return KINDS


def _status(code: int, reason: str, message: str, details: Optional[dict] = None) -> dict:
    doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    if details:
        doc["details"] = details
    return doc


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
            504: "Timeout"}


class _Reply(Exception):
    def __init__(self, code: int, body, content_type: str = "application/json",
                 headers: Optional[Dict[str, str]] = None):
        super().__init__(code)
        self.code, self.body, self.content_type, self.headers = code, body, content_type, headers or {}


def _handler_for(api: FakeApiServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PATCH(self):
            self._serve("PATCH")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = Request(method, path, query, dict(self.headers.items()), body,
                              peer=tuple(self.client_address))
            api.requests.append(request)
            try:
                self._answer(method, path, query, body, parts.query)
            finally:
                request.done = time.monotonic()

        def _answer(self, method: str, path: str, query: Dict[str, str], body, raw_query: str) -> None:
            fault = api._take_fault(method, path, self.headers.get("User-Agent") or "")
            if fault is None and api.chaos is not None:
                fault = api.chaos.draw(method, path, raw_query)
            if fault is not None and fault.kind == "delay":
                if not self._wait_while_the_client_waits(fault.seconds):
                    self.close_connection = True
                    return
                fault = None
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                return
            if fault is not None and fault.kind in ("endless", "trickle"):
                self._stream_fault(fault)
                return
            try:
                if fault is not None and fault.kind == "answer":
                    raise _Reply(fault.status, fault.body)
                if fault is not None:
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    raise _Reply(fault.status, _status(fault.status,
                                                       _REASONS.get(fault.status, "Unknown"),
                                                       "injected fault"), headers=headers)
                self._authenticate()
                route(api, method, path, query, body, headers={k: v for k, v in self.headers.items()
                                                               if k.lower() != "authorization"})
            except _Reply as reply:
                self._send(reply)

        def _wait_while_the_client_waits(self, seconds: float) -> bool:
            """Sleep `seconds` (a stall) unless the server stops or the client hangs up first, as the
            real API server drops a request whose client went away. False: nobody is waiting any more."""
            import select
            import socket

            deadline = time.monotonic() + seconds
            while not api._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                if readable:
                    try:
                        # the raw socket's bytes (a TLS socket refuses flags): over TLS a close_notify
                        # comes first, so a TLS client that went away is only noticed at the deadline
                        if socket.socket.recv(self.connection, 1, socket.MSG_PEEK) == b"":
                            return False       # the client closed the connection
                    except (OSError, ValueError):
                        return False
                    api._stopping.wait(min(left, 0.05))   # a pipelined request: keep stalling
            return False

        def _stream_fault(self, fault: Fault) -> None:
            """An answer that never ends (endless) or comes one byte at a time (trickle)."""
            self.close_connection = True
            try:
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/json")
                if fault.kind == "endless":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    data = fault.body + b" " * 65536
                    while not api._stopping.is_set():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        data = b" " * 65536
                    return
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                for index in range(len(fault.body)):
                    if api._stopping.wait(fault.seconds):
                        return
                    self.wfile.write(fault.body[index:index + 1])
            except (BrokenPipeError, ConnectionResetError):
                return

        def _authenticate(self) -> None:
            if api.token is None or not api.tls:
                return
            # As the API server's bearer authenticator: the scheme is case-insensitive.
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or token != api.token:
                raise _Reply(401, _status(401, "Unauthorized", "Unauthorized"))

        def _send(self, reply: _Reply) -> None:
            if isinstance(reply.body, Streamed):
                self._send_chunked(reply)
                return
            if isinstance(reply.body, (dict, list)):
                payload = json.dumps(reply.body).encode()
            elif isinstance(reply.body, bytes):
                payload = reply.body
            else:
                payload = str(reply.body).encode()
            self.send_response(reply.code)
            self.send_header("Content-Type", reply.content_type)
            if self._gzip_asked() and len(payload) > api.gzip_over:
                import gzip

                payload = gzip.compress(payload, compresslevel=1)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _send_chunked(self, reply: _Reply) -> None:
            # a large answer, produced piece by piece: never whole in the server's memory
            self.send_response(reply.code)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            squeeze = None
            if self._gzip_asked():
                import zlib

                squeeze = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            for piece in reply.body.pieces():
                if squeeze is not None:
                    piece = squeeze.compress(piece)
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if squeeze is not None:
                rest = squeeze.flush()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(rest), rest))
            self.wfile.write(b"0\r\n\r\n")

        def _gzip_asked(self) -> bool:
            asked = (self.headers.get("Accept-Encoding") or "").lower()
            return api.gzip_over is not None and "gzip" in asked

    return Handler


_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>.*))?$")


def route(api: FakeApiServer, method: str, path: str, query: Dict[str, str], body,
          headers: Optional[Dict[str, str]] = None) -> None:
    if path == "/_fake/requests":    # for benchmarks in another process: how many requests were served
        count = len(api.requests) - 1
        if query.get("reset"):
            api.requests.clear()
        raise _Reply(200, {"count": count})
    if path == "/version":
        raise _Reply(200, api.version)
    if path == "/api":
        raise _Reply(200, {"kind": "APIVersions", "versions": ["v1"]})
    if path == "/apis":
        raise _Reply(200, discovery_groups(api.served_versions))
    discovery = re.match(r"^/(?:api/(v1)|apis/([^/]+)/([^/]+))$", path)
    if discovery and method == "GET":
        group, version = (discovery.group(2) or ""), (discovery.group(1) or discovery.group(3))
        doc = discovery_resources(group, version, api.served_versions)
        if doc is None:
            raise _Reply(404, _status(404, "NotFound", "the server could not find the requested resource"))
        raise _Reply(200, doc)
    if path == "/apis/authorization.k8s.io/v1/subjectaccessreviews" and method == "POST":
        raise _Reply(201, _review(api, json.loads(body or b"{}")))
    match = _PATH.match(path)
    if not match:
        raise _Reply(404, _status(404, "NotFound", "the server could not find the requested resource"))
    group = match.group("group") or ""
    api_version = "v1" if match.group("core") else f"{group}/{match.group('version')}"
    ns, plural, name, sub = match.group("ns"), match.group("plural"), match.group("name"), \
        match.group("sub")
    kind = by_plural(group, plural)
    if kind is not None and (kind.group in api.absent_groups or (
            (group, plural) in api.served_versions and
            match.group("version") not in api.served_versions[(group, plural)])):
        kind = None
    if kind is None:
        raise _Reply(404, _status(404, "NotFound", f"the server could not find the requested "
                                                   f"resource ({plural})"))
    if kind.plural == "pods" and sub is not None:
        _pod_subresource(api, ns or "", name or "", sub, query)
    if kind.plural == "services" and sub is not None and (sub == "proxy" or sub.startswith("proxy/")):
        _service_proxy(api, ns or "", name or "", unquote(sub[len("proxy/"):]), query, headers or {})
    namespace = ns if kind.namespaced else None
    if name is None:
        if method == "GET":
            _list(api, kind, api_version, namespace, query)
        if method == "POST":
            _create(api, kind, namespace, body)
        if method == "DELETE":
            _delete_collection(api, kind, api_version, namespace, query)
        raise _Reply(405, _status(405, "MethodNotAllowed", "method not allowed"))
    key = (kind.group, kind.plural, namespace or "", name)
    if method == "GET":
        obj = api.store.get(key)
        if obj is None:
            raise _Reply(404, _not_found(kind, name))
        raise _Reply(200, obj)
    if method == "PATCH":
        _patch(api, kind, api_version, namespace, name, query, body)
    if method == "DELETE":
        if query.get("dryRun") == "All":
            obj = api.store.get(key)
        else:
            obj = api.store.delete(key)
        if obj is None:
            raise _Reply(404, _not_found(kind, name))
        raise _Reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                           "details": {"name": name, "kind": kind.plural}})
    raise _Reply(405, _status(405, "MethodNotAllowed", "method not allowed"))


def _not_found(kind, name: str) -> dict:
    return _status(404, "NotFound", f'{kind.plural} "{name}" not found',
                   {"name": name, "kind": kind.plural})


def _selected(items: List[dict], query: Dict[str, str]) -> List[dict]:
    try:
        labels = label_selector(query.get("labelSelector", ""))
        fields = field_selector(query.get("fieldSelector", ""))
    except ValueError as exc:
        raise _Reply(400, _status(400, "BadRequest", str(exc)))
    return [o for o in items if labels(o.get("metadata", {}).get("labels") or {}) and fields(o)]


def _watch(api: FakeApiServer, kind, api_version: str, namespace: Optional[str], query) -> None:
    """A watch, as informers (client-go's reflector) open after their list: the initial events when asked
    (`sendInitialEvents`, the watch-list protocol) closed by the initial-events-end bookmark, then
    nothing (the fake's objects do not change during a watch) until `timeoutSeconds` (at most 60 s) or
    the server stops; the client then watches again."""
    items = _selected(api.store.list(kind.group, kind.plural, namespace), query)
    version = api.store.resource_version
    timeout = min(float(query.get("timeoutSeconds") or 60), 60.0)

    def pieces():
        if query.get("sendInitialEvents") == "true":
            for item in items:
                obj = dict(item, kind=kind.kind, apiVersion=api_version)
                yield json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n"
            yield json.dumps({"type": "BOOKMARK", "object": {
                "kind": kind.kind, "apiVersion": api_version,
                "metadata": {"resourceVersion": version,
                             "annotations": {"k8s.io/initial-events-end": "true"}}}}).encode() + b"\n"
        api._stopping.wait(timeout)
        return

    raise _Reply(200, Streamed(pieces))


def _list(api: FakeApiServer, kind, api_version: str, namespace: Optional[str], query) -> None:
    if query.get("watch") in ("true", "1"):
        _watch(api, kind, api_version, namespace, query)
    # the stored objects themselves, never changed here: a page of a large store costs its page only
    if api.endless_continue and query.get("continue"):      # endless_list: more pages, forever, empty
        with api._lock:
            api._continue_counter += 1
            token = f"fresh-{api._continue_counter}" if api.endless_continue == "fresh" else "same-token"
        raise _Reply(200, {"kind": f"{kind.kind}List", "apiVersion": api_version,
                           "metadata": {"resourceVersion": api.store.resource_version, "continue": token},
                           "items": []})
    items = _selected(api.store.list(kind.group, kind.plural, namespace, copy_items=False), query)
    offset = 0
    if query.get("continue"):
        if api.expire_continue_tokens > 0:
            api.expire_continue_tokens -= 1
            raise _Reply(410, _status(410, "Expired", "The provided continue parameter is too old "
                                                      "to display a consistent list result."))
        try:
            offset = json.loads(base64.b64decode(query["continue"]))["offset"]
        except (ValueError, KeyError):
            raise _Reply(400, _status(400, "BadRequest", "invalid continue token"))
    limit = int(query.get("limit") or 0)
    page = items[offset:offset + limit] if limit else items[offset:]
    meta = {"resourceVersion": api.store.resource_version}
    if api.endless_continue:
        meta["continue"] = "same-token" if api.endless_continue == "same" else "fresh-0"
    if limit and offset + limit < len(items):
        meta["continue"] = base64.b64encode(json.dumps({"offset": offset + limit}).encode()).decode()
        meta["remainingItemCount"] = len(items) - offset - limit
    # a real list omits kind and apiVersion on items
    page = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in page]
    raise _Reply(200, {"kind": f"{kind.kind}List", "apiVersion": api_version, "metadata": meta,
                       "items": page})


def _create(api: FakeApiServer, kind, namespace: Optional[str], body) -> None:
    obj = json.loads(body or b"{}")
    if namespace:
        obj.setdefault("metadata", {})["namespace"] = namespace
    key = api.store.key_of(obj)
    if api.store.get(key) is not None:
        raise _Reply(409, _status(409, "AlreadyExists",
                                  f'{kind.plural} "{key[3]}" already exists'))
    raise _Reply(201, api.store.put(obj))


def _delete_collection(api: FakeApiServer, kind, api_version, namespace, query) -> None:
    items = _selected(api.store.list(kind.group, kind.plural, namespace), query)
    if query.get("dryRun") != "All":
        for item in items:
            meta = item["metadata"]
            api.store.delete((kind.group, kind.plural, meta.get("namespace", "") if kind.namespaced
                              else "", meta["name"]))
    raise _Reply(200, {"kind": f"{kind.kind}List", "apiVersion": api_version, "metadata": {},
                       "items": items})


def _patch(api: FakeApiServer, kind, api_version, namespace, name, query, body) -> None:
    doc = yaml.safe_load(body or b"{}") or {}
    if True:  # only server-side apply is served
        manager = query.get("fieldManager")
        if not manager:
            raise _Reply(400, _status(400, "BadRequest", "fieldManager is required for apply"))
        meta = doc.setdefault("metadata", {})
        if meta.get("name") not in (None, name):
            raise _Reply(400, _status(400, "BadRequest", "the name of the object does not match"))
        meta["name"] = name
        if namespace:
            meta["namespace"] = namespace
        doc.setdefault("apiVersion", api_version)
        doc.setdefault("kind", kind.kind)
        try:
            obj, created = api.store.apply(doc, manager, force=query.get("force") == "true",
                                           dry_run=query.get("dryRun") == "All")
        except ApplyConflict as exc:
            causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
                       "field": f} for m, f in exc.conflicts]
            text = "; ".join(f'conflict with "{m}": {f}' for m, f in exc.conflicts)
            raise _Reply(409, _status(409, "Conflict",
                                      f"Apply failed with {len(causes)} conflict(s): {text}",
                                      {"causes": causes}))
        if query.get("dryRun") != "All":
            for hook in api.apply_hooks.get(kind.kind, []):
                hook(api, obj)
            obj = api.store.get((kind.group, kind.plural, namespace or "", name)) or obj
        raise _Reply(201 if created else 200, obj)


def _pod_subresource(api: FakeApiServer, ns: str, name: str, sub: str, query) -> None:
    pod_name, _, port = name.partition(":")
    pod = api.store.get(("", "pods", ns, pod_name))
    if pod is None:
        raise _Reply(404, _status(404, "NotFound", f'pods "{pod_name}" not found'))
    if sub == "log":
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        all_containers = containers + [c["name"] for c in pod["spec"].get("initContainers", [])]
        container = query.get("container")
        if not container:
            if len(containers) != 1:
                raise _Reply(400, _status(400, "BadRequest",
                                          f"a container name must be specified for pod {pod_name}, "
                                          f"choose one of: {containers}"))
            container = containers[0]
        if container not in all_containers:
            raise _Reply(400, _status(400, "BadRequest", f"container {container} is not valid for "
                                                         f"pod {pod_name}"))
        text = api.logs.get((ns, pod_name, container), "")
        lines = text.splitlines(keepends=True)
        if query.get("tailLines"):
            lines = lines[-int(query["tailLines"]):] if int(query["tailLines"]) else []
        raise _Reply(200, "".join(lines), content_type="text/plain")
    if sub == "proxy" or sub.startswith("proxy/"):
        target = unquote(sub[len("proxy/"):]) if sub.startswith("proxy/") else ""
        raw_query = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        handler = (api.proxies.get((ns, pod_name, port, f"{target}?{raw_query}" if raw_query else target))
                   or api.proxies.get((ns, pod_name, port, target)))
        if handler is None:
            ip = pod.get("status", {}).get("podIP", "")
            raise _Reply(503, _status(503, "ServiceUnavailable",
                                      f"error trying to reach service: dial tcp {ip}:{port}: "
                                      "connect: connection refused"))
        status, body = handler
        if callable(body):
            body = body(dict(query))
            if isinstance(body, tuple):
                status, body = body
        raise _Reply(status, body, content_type="text/plain; charset=utf-8")
    raise _Reply(404, _status(404, "NotFound", f"pods/{sub} is not served by the fake"))


def _service_proxy(api: FakeApiServer, ns: str, name: str, target: str, query, headers) -> None:
    service, _, port = name.partition(":")
    obj = api.store.get(("", "services", ns, service))
    if obj is None:
        raise _Reply(404, _status(404, "NotFound", f'services "{service}" not found'))
    handler = api.service_proxies.get((ns, service, port))
    if handler is None:
        raise _Reply(503, _status(503, "ServiceUnavailable", f'no endpoints available for service "{service}"'))
    status, body, content_type = handler(target, dict(query), dict(headers))
    raise _Reply(status, body, content_type=content_type)


def _review(api: FakeApiServer, review: dict) -> dict:
    spec = review.get("spec") or {}
    attrs = spec.get("resourceAttributes") or {}
    allowed = False
    if api.sar_policy is not None:
        allowed = bool(api.sar_policy(spec))
    else:
        for rule in api.sar_rules:
            if (rule.user == spec.get("user") and rule.verb in (attrs.get("verb"), "*")
                    and rule.resource in (attrs.get("resource"), "*")
                    and rule.group == attrs.get("group", "")
                    and (rule.namespace is None or rule.namespace == attrs.get("namespace"))):
                allowed = True
                break
    result = copy.deepcopy(review)
    result["status"] = {"allowed": allowed}
    if allowed:
        result["status"]["reason"] = "allowed by the fake's rules"
    return result
