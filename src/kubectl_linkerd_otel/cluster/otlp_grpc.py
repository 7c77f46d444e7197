"""The OTLP/gRPC half of the credentials proof: one unary call of
`/opentelemetry.proto.collector.metrics.v1.MetricsService/Export` carrying the empty
ExportMetricsServiceRequest, as the collector's otlp_grpc exporter sends it, with the headers (gRPC metadata)
it is about to be configured with.

The wire format is gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): a POST with
`content-type: application/grpc` and `te: trailers`, the message behind a 5-byte prefix (compressed flag,
big-endian length; the empty message is length 0), TLS with ALPN `h2`, or plain HTTP/2 with prior knowledge
(h2c) for an exporter with `tls.insecure`. The answer is `grpc-status`/`grpc-message` in the trailers, or
in the headers of a trailers-only answer; without them the HTTP status is mapped as gRPC clients map it
(doc/http-grpc-status-mapping.md).

HTTP/2 and HPACK come from `h2` (python-hyper; pure Python, with hpack and hyperframe): answers' header
blocks are HPACK with Huffman coding and a dynamic table, and the connection needs SETTINGS, flow control
and GOAWAY handled; httpx's own HTTP/2 (httpcore) drops trailers, where gRPC puts its status.
"""
from __future__ import annotations

import time
from typing import List, Optional, Tuple
from urllib.parse import unquote

from .. import __version__
from ..collector.endpoints import endpoint_hostport
from ..scrape.text import shown
from .otlp_answer import (EMPTY_EXPORT_METRICS_REQUEST, MAX_ANSWER, NOT_FOUND, NOT_GRPC, OK, REFUSED, TIMEOUT_SECONDS,
                          TLS, UNCLEAR, UNREACHABLE, Proof, first_line, vendor_words)

GRPC_PATH = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
# not compressed (0), then the message's length (4 bytes, big-endian), then the message: none
GRPC_MESSAGE = b"\x00" + len(EMPTY_EXPORT_METRICS_REQUEST).to_bytes(4, "big") + EMPTY_EXPORT_METRICS_REQUEST
MAX_RECEIVED = 1024 * 1024          # everything read from the connection, frames included
MAX_HEADER_LIST = 64 * 1024

UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED, UNKNOWN = 16, 7, 12, 2
# an answer without grpc-status (a proxy's): doc/http-grpc-status-mapping.md
HTTP_TO_GRPC = {400: 13, 401: UNAUTHENTICATED, 403: PERMISSION_DENIED, 404: UNIMPLEMENTED,
                429: 14, 502: 14, 503: 14, 504: 14}

CERTIFICATE_HINT = "pass the CA that signed its certificate with --ca-file"
NOT_TLS_HINT = ("if the endpoint speaks plain-text gRPC, --insecure (the credentials then travel in clear); "
                "else check the port")
WANTS_TLS_HINT = "the endpoint speaks TLS: drop --insecure (--ca-file for a private CA)"
MAYBE_TLS_HINT = ("if the endpoint speaks TLS, drop --insecure (--ca-file for a private CA); else check "
                  "--exporter-endpoint")
NOT_GRPC_HINT = ("check --exporter-endpoint and --exporter-protocol: OTLP/gRPC usually listens on 4317, "
                 "OTLP/HTTP on 4318")


def outcome_of(code: int) -> str:
    if code == 0:
        return OK
    if code in (UNAUTHENTICATED, PERMISSION_DENIED):
        return REFUSED
    if code == UNIMPLEMENTED:
        return NOT_FOUND
    return UNCLEAR


def authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def prove_grpc(endpoint: str, headers: List[Tuple[str, str]], *, plain: bool, ca_pem: Optional[str] = None,
               timeout: float = TIMEOUT_SECONDS) -> Proof:
    """Call MetricsService/Export with the empty request and `headers`; `plain` for h2c (the exporter's
    `tls.insecure`), else TLS trusting the system's CAs or `ca_pem`. Everything within `timeout`."""
    # lazy: socket and ssl cost ~12 ms at start-up; only the OTLP/gRPC proof dials
    import socket
    import ssl

    host, port = endpoint_hostport(endpoint, "grpc")
    where = authority(host, port)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        return Proof(UNREACHABLE, where, words=f"no answer within {timeout:g}s")
    except OSError as exc:
        return Proof(UNREACHABLE, where, words=first_line(str(exc)))
    try:
        if not plain:
            try:
                context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
            except (ssl.SSLError, ValueError) as exc:
                return Proof(TLS, where, words=f"the CA certificate cannot be loaded: {first_line(str(exc))}",
                             hint="give a PEM CA certificate with --ca-file")
            context.set_alpn_protocols(["h2"])
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except ssl.SSLCertVerificationError as exc:
                return Proof(TLS, where, words=first_line(str(exc)), hint=CERTIFICATE_HINT)
            except socket.timeout:
                return Proof(TLS, where, words=f"no TLS handshake within {timeout:g}s", hint=NOT_TLS_HINT)
            except (ssl.SSLError, OSError) as exc:
                return Proof(TLS, where, words=first_line(str(exc)) or type(exc).__name__, hint=NOT_TLS_HINT)
        return _call(sock, where, "http" if plain else "https", headers, deadline, timeout)
    finally:
        sock.close()


def _call(sock, where: str, scheme: str, headers: List[Tuple[str, str]], deadline: float,
          timeout: float) -> Proof:
    # lazy: socket and h2 cost ~18 ms at start-up; only the OTLP/gRPC proof speaks HTTP/2
    import socket

    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings

    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding=None))
    conn.local_settings = h2.settings.Settings(client=True, initial_values={
        h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST,
        h2.settings.SettingCodes.ENABLE_PUSH: 0})
    answer: dict = {}
    trailers: dict = {}
    body = bytearray()
    received = 0
    first = b""
    ended = False

    def fail(outcome: str, words: str, hint: str = "") -> Proof:
        return Proof(outcome, where, status=_http_status(answer), words=words, hint=hint)

    try:
        conn.initiate_connection()
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [
            (":method", "POST"), (":scheme", scheme), (":path", GRPC_PATH), (":authority", where),
            ("content-type", "application/grpc"), ("te", "trailers"),
            ("grpc-timeout", f"{max(int(timeout), 1)}S"), ("user-agent", f"kubectl-linkerd-otel/{__version__}"),
        ] + [(name.lower(), value) for name, value in headers])
        conn.send_data(stream, GRPC_MESSAGE, end_stream=True)
        sock.sendall(conn.data_to_send())
        while not ended:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                if not received:
                    return fail(NOT_GRPC, "the connection was closed without an HTTP/2 answer",
                                MAYBE_TLS_HINT if scheme == "http" else NOT_GRPC_HINT)
                return fail(UNCLEAR, "the connection was closed before the call ended")
            if received < 16:
                first += data[:16 - received]     # enough for _not_http2
            received += len(data)
            if received > MAX_RECEIVED:
                return fail(UNCLEAR, f"more than {MAX_RECEIVED // 1024} KiB without the call ending")
            not_h2 = _not_http2(first, scheme)
            if not_h2:
                return fail(NOT_GRPC, not_h2[0], not_h2[1])
            try:
                events = conn.receive_data(data)
            except h2.exceptions.ProtocolError as exc:
                return fail(NOT_GRPC, "not HTTP/2: " + (first_line(str(exc)) or type(exc).__name__), NOT_GRPC_HINT)
            for event in events:
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    answer = _headers(event.headers)
                elif isinstance(event, h2.events.TrailersReceived) and event.stream_id == stream:
                    trailers = _headers(event.headers)
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                    body += event.data[:MAX_ANSWER - len(body)]
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                    ended = True
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == stream:
                    return fail(UNCLEAR, f"the server reset the call (HTTP/2 error code {int(event.error_code)})")
                elif isinstance(event, h2.events.ConnectionTerminated) and not ended:
                    said = (event.additional_data or b"").decode("utf-8", errors="replace")
                    return fail(NOT_GRPC if not answer else UNCLEAR,
                                f"the server closed the connection (HTTP/2 GOAWAY, error code "
                                f"{int(event.error_code)}{', ' + first_line(said) if said.strip() else ''})",
                                NOT_GRPC_HINT if not answer else "")
            sock.sendall(conn.data_to_send())
    except h2.exceptions.H2Error as exc:    # the connection's state machine refused a step: not a usable answer
        return fail(UNCLEAR, "HTTP/2: " + (first_line(str(exc)) or type(exc).__name__))
    except socket.timeout:
        return fail(UNREACHABLE, f"no answer within {timeout:g}s")
    except OSError as exc:
        if not received:    # it took the connection, then dropped it unanswered
            return fail(NOT_GRPC, "the connection was reset without an HTTP/2 answer",
                        MAYBE_TLS_HINT if scheme == "http" else NOT_GRPC_HINT)
        return fail(UNREACHABLE, first_line(str(exc)) or type(exc).__name__)
    return _verdict(where, answer, trailers, bytes(body))


def _headers(pairs) -> dict:
    """Header block -> {lowercase name: value} (text; the last of repeated names)."""
    out = {}
    for name, value in pairs:
        name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        value = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        out[name.lower()] = value
    return out


def _http_status(answer: dict) -> int:
    try:
        return int(answer.get(":status", "0"))
    except ValueError:
        return 0


def _not_http2(first: bytes, scheme: str) -> Optional[Tuple[str, str]]:
    """(what the endpoint said instead, what to check) when its first bytes are not HTTP/2's: a server
    opens with a SETTINGS frame (RFC 9113 section 3.4: 9 bytes of frame header, type 4, stream 0). An
    HTTP/1 status line, a TLS record answering plain text, or anything else."""
    if scheme == "http" and len(first) >= 2 and first[0] in (0x15, 0x16) and first[1] == 0x03:
        return "it answered the plain-text connection with TLS", WANTS_TLS_HINT
    if first.startswith(b"HTTP/1."):
        line = first.decode("latin-1").split("\r", 1)[0]
        return f"it answered {shown(line, 40)}, not HTTP/2", NOT_GRPC_HINT
    if len(first) < 9:
        return None     # not known yet
    if first[3] != 0x04 or first[5:9] != b"\x00\x00\x00\x00":
        return f'it does not speak HTTP/2 (its answer starts "{shown(first.decode("latin-1"), 40)}")', NOT_GRPC_HINT
    return None


def _verdict(where: str, answer: dict, trailers: dict, body: bytes) -> Proof:
    status = _http_status(answer)
    given = trailers.get("grpc-status", answer.get("grpc-status"))
    message = trailers.get("grpc-message", answer.get("grpc-message", ""))
    if given is not None:
        try:
            code = int(given)
        except ValueError:
            return Proof(UNCLEAR, where, status, words=f"grpc-status {given[:20]!r} is not a number")
        words = vendor_words(unquote(message).encode("utf-8"), "text/plain")
        return Proof(outcome_of(code), where, status, words, grpc_status=code)
    content_type = answer.get("content-type", "")
    if status == 200 and not content_type.startswith("application/grpc"):
        return Proof(NOT_GRPC, where, status, f"it answered HTTP 200 with {content_type[:60] or 'no content-type'}, "
                     f"not gRPC", hint=NOT_GRPC_HINT)
    if status == 200:
        return Proof(UNCLEAR, where, status, "the call ended without a grpc-status")
    code = HTTP_TO_GRPC.get(status, UNKNOWN)
    return Proof(outcome_of(code), where, status, vendor_words(body, content_type))
