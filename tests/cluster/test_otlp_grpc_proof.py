"""The OTLP/gRPC credentials proof against a real gRPC server (grpcio serving the official MetricsService
behind an auth interceptor): what each answer, and each kind of endpoint that is not one, becomes."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

import pytest
from helpers import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from otlp_grpc_server import EXPORT_METHOD, MISSING_KEY_WORDS, WRONG_KEY_WORDS, serve_otlp_grpc
from otlp_server import serve_otlp

from kubectl_linkerd_otel.cluster import otlp_grpc
from kubectl_linkerd_otel.cluster import otlp_answer


@pytest.fixture
def h2c():
    with serve_otlp_grpc("api-key", "good") as running:
        yield running


def _closed_port() -> int:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return closed.getsockname()[1]


def test_the_grpc_message_is_the_empty_request_behind_its_five_byte_prefix():
    assert otlp_grpc.GRPC_MESSAGE == b"\x00\x00\x00\x00\x00"
    length = int.from_bytes(otlp_grpc.GRPC_MESSAGE[1:5], "big")
    decoded = metrics_service_pb2.ExportMetricsServiceRequest.FromString(otlp_grpc.GRPC_MESSAGE[5:5 + length])
    assert decoded == metrics_service_pb2.ExportMetricsServiceRequest()
    assert otlp_grpc.GRPC_PATH == EXPORT_METHOD


def test_accepted_unauthenticated_and_permission_denied_over_h2c(h2c):
    ok = proof_of(h2c, [("api-key", "good"), ("X-Dataset", "linkerd")])
    missing = proof_of(h2c, [])
    wrong = proof_of(h2c, [("api-key", "bad")])
    assert (ok.outcome, ok.grpc_status, ok.answer) == (otlp_answer.OK, 0, "gRPC OK (0)")
    assert (missing.outcome, missing.grpc_status, missing.words) == (otlp_answer.REFUSED, 16, MISSING_KEY_WORDS)
    assert missing.answer == "gRPC UNAUTHENTICATED (16)"
    assert (wrong.outcome, wrong.grpc_status, wrong.words) == (otlp_answer.REFUSED, 7, WRONG_KEY_WORDS)
    assert wrong.answer == "gRPC PERMISSION_DENIED (7)"
    first = h2c.calls[0]       # decoded by the official service definition
    assert first.method == EXPORT_METHOD
    assert first.request == metrics_service_pb2.ExportMetricsServiceRequest()
    assert first.metadata["api-key"] == "good" and first.metadata["x-dataset"] == "linkerd"


def proof_of(server, headers, **kwargs):
    kwargs.setdefault("plain", True)
    return otlp_grpc.prove_grpc(server.endpoint, headers, **kwargs)


def test_tls_with_alpn_h2_and_the_ca(tmp_path):
    with serve_otlp_grpc("api-key", "good", tls_dir=tmp_path) as tls:
        with open(tls.ca_file) as handle:
            ca = handle.read()
        untrusted = proof_of(tls, [("api-key", "good")], plain=False)
        trusted = proof_of(tls, [("api-key", "good")], plain=False, ca_pem=ca)
        wrong = proof_of(tls, [("api-key", "bad")], plain=False, ca_pem=ca)
        plain = proof_of(tls, [("api-key", "good")])
    assert untrusted.outcome == otlp_answer.TLS and "CERTIFICATE_VERIFY_FAILED" in untrusted.words
    assert "--ca-file" in untrusted.hint
    assert trusted.outcome == otlp_answer.OK and trusted.url == tls.endpoint
    assert (wrong.outcome, wrong.grpc_status) == (otlp_answer.REFUSED, 7)
    # plain text to a TLS endpoint: it drops the connection without an HTTP/2 answer
    assert plain.outcome == otlp_answer.NOT_GRPC and "drop --insecure" in plain.hint


def test_tls_to_a_plain_text_endpoint_is_a_tls_failure(h2c):
    mismatch = proof_of(h2c, [("api-key", "good")], plain=False)
    assert mismatch.outcome == otlp_answer.TLS
    assert "--insecure" in mismatch.hint
    assert h2c.calls == []


def test_an_http1_server_is_not_grpc(tmp_path):
    with serve_otlp("api-key", "good") as http1:
        plain = otlp_grpc.prove_grpc(f"127.0.0.1:{http1.port}", [("api-key", "good")], plain=True)
    assert plain.outcome == otlp_answer.NOT_GRPC and plain.words.startswith("it does not speak HTTP/2")
    assert "4317" in plain.hint
    with serve_otlp("api-key", "good", tls_dir=tmp_path) as https1:
        with open(https1.ca_file) as handle:
            tls = otlp_grpc.prove_grpc(f"127.0.0.1:{https1.port}", [("api-key", "good")], plain=False,
                                       ca_pem=handle.read())
    assert tls.outcome == otlp_answer.NOT_GRPC and tls.words.startswith("it does not speak HTTP/2")


def test_unreachable():
    gone = otlp_grpc.prove_grpc(f"127.0.0.1:{_closed_port()}", [], plain=True)
    assert gone.outcome == otlp_answer.UNREACHABLE and gone.words


def test_a_silent_endpoint_is_unreachable_within_the_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)      # takes the connection, never answers
        result = otlp_grpc.prove_grpc(f"127.0.0.1:{silent.getsockname()[1]}", [], plain=True, timeout=0.5)
    assert (result.outcome, result.words) == (otlp_answer.UNREACHABLE, "no answer within 0.5s")


def test_the_http_status_of_an_answer_without_grpc_status_is_mapped_as_grpc_clients_do():
    verdict = otlp_grpc._verdict
    assert verdict("x", {":status": "401"}, {}, b"").outcome == otlp_answer.REFUSED
    assert verdict("x", {":status": "403", "content-type": "text/plain"}, {}, b"denied").words == "denied"
    assert verdict("x", {":status": "404"}, {}, b"").outcome == otlp_answer.NOT_FOUND
    assert verdict("x", {":status": "503"}, {}, b"").outcome == otlp_answer.UNCLEAR
    assert verdict("x", {":status": "200", "content-type": "text/html"}, {}, b"").outcome == otlp_answer.NOT_GRPC
    # grpc-status wins, in the trailers or (trailers-only) the headers; grpc-message is percent-encoded
    assert verdict("x", {":status": "200", "grpc-status": "12"}, {}, b"").outcome == otlp_answer.NOT_FOUND
    unauth = verdict("x", {":status": "200"}, {"grpc-status": "16", "grpc-message": "bad%20key%E2%9C%93"}, b"")
    assert (unauth.outcome, unauth.words) == (otlp_answer.REFUSED, "bad key✓")
    assert verdict("x", {":status": "200"}, {"grpc-status": "x"}, b"").outcome == otlp_answer.UNCLEAR


@contextmanager
def serve_h2(respond):
    """A bare HTTP/2 server (h2's server side) on 127.0.0.1: `respond(conn, stream_id)` answers the one
    request; a proxy in front of a gRPC service, say."""
    import h2.config
    import h2.connection
    import h2.events

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        sock, _ = listener.accept()
        with sock:
            conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
            while True:
                data = sock.recv(65536)
                if not data or conn.state_machine.state == h2.connection.ConnectionState.CLOSED:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.StreamEnded):
                        respond(conn, event.stream_id)
                sock.sendall(conn.data_to_send())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=10)


def test_a_proxy_answering_401_without_grpc_status_is_a_refusal():
    def unauthorized(conn, stream):
        conn.send_headers(stream, [(":status", "401"), ("content-type", "text/plain")])
        conn.send_data(stream, b"no valid key", end_stream=True)

    with serve_h2(unauthorized) as port:
        result = otlp_grpc.prove_grpc(f"127.0.0.1:{port}", [("api-key", "k")], plain=True)
    assert (result.outcome, result.status, result.grpc_status, result.words) == (otlp_answer.REFUSED, 401, None,
                                                                                  "no valid key")
    assert result.answer == "HTTP 401"


def test_a_goaway_before_any_answer_is_named():
    def goaway(conn, _stream):
        conn.close_connection(error_code=2, additional_data=b"overloaded")

    with serve_h2(goaway) as port:
        result = otlp_grpc.prove_grpc(f"127.0.0.1:{port}", [], plain=True)
    assert result.outcome == otlp_answer.NOT_GRPC
    assert result.words == "the server closed the connection (HTTP/2 GOAWAY, error code 2, overloaded)"


SETTINGS_FRAME = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"    # an empty SETTINGS frame: a server's preface


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.too_slow])
@given(preface=st.sampled_from([b"", SETTINGS_FRAME]), answer=st.binary(max_size=300),
       close=st.booleans())
def test_any_bytes_from_the_endpoint_become_an_outcome_never_an_exception(preface, answer, close):
    """Whatever a (hostile or broken) endpoint answers, the proof ends in an outcome within its timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with sock:
                try:
                    sock.recv(65536)
                    sock.sendall(preface + answer)
                    if not close:
                        sock.recv(65536)     # until the client hangs up
                except OSError:
                    pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        result = otlp_grpc.prove_grpc(f"127.0.0.1:{listener.getsockname()[1]}", [("api-key", "k")], plain=True,
                                      timeout=0.5)    # an answer that never ends the call waits this out
        thread.join(timeout=10)
    assert result.outcome in (otlp_answer.OK, otlp_answer.REFUSED, otlp_answer.NOT_FOUND, otlp_answer.UNCLEAR,
                              otlp_answer.UNREACHABLE, otlp_answer.TLS, otlp_answer.NOT_GRPC)
    assert "\n" not in result.words
