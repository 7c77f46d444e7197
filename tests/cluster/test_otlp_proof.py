"""The empty OTLP export that proves credentials: its bytes against the official definitions, and what
each answer of a local OTLP/HTTP endpoint becomes."""
from __future__ import annotations

import socket

from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from otlp_server import WRONG_KEY_WORDS, serve_otlp

from kubectl_linkerd_otel.cluster import otlp_answer
from kubectl_linkerd_otel.cluster import otlp_proof as proof


def test_the_empty_request_is_an_empty_export_metrics_service_request():
    empty = metrics_service_pb2.ExportMetricsServiceRequest()
    assert otlp_answer.EMPTY_EXPORT_METRICS_REQUEST == empty.SerializeToString()
    decoded = metrics_service_pb2.ExportMetricsServiceRequest.FromString(otlp_answer.EMPTY_EXPORT_METRICS_REQUEST)
    assert decoded == empty and len(decoded.resource_metrics) == 0


def test_the_status_message_is_read_as_the_official_definitions_write_it():
    status = status_pb2.Status(code=16, message="bad key ✓")
    status.details.add().type_url = "type.googleapis.com/google.rpc.ErrorInfo"
    assert otlp_answer.status_message(status.SerializeToString()) == "bad key ✓"
    assert otlp_answer.status_message(b"\x12\xff") is None          # truncated: not a Status
    assert otlp_answer.status_message(b"") is None


def test_vendor_words_from_json_text_and_protobuf_are_one_escaped_line():
    assert otlp_answer.vendor_words(b'{"errors": ["Forbidden"]}', "application/json") == '["Forbidden"]'
    assert otlp_answer.vendor_words(b'{"message": "bad\\nkey"}', "application/json") == "bad key"
    assert otlp_answer.vendor_words(b"denied\x1b[31m", "text/plain") == "denied\\x1b[31m"
    assert len(otlp_answer.vendor_words(b"x" * 10_000, "text/plain")) <= otlp_answer.MAX_WORDS


def test_metrics_url_appends_the_path_as_the_exporter_does():
    assert proof.metrics_url("https://otlp.datadoghq.eu") == "https://otlp.datadoghq.eu/v1/metrics"
    assert proof.metrics_url("https://x.live.dynatrace.com/api/v2/otlp/") == \
        "https://x.live.dynatrace.com/api/v2/otlp/v1/metrics"


def test_answers_become_outcomes():
    with serve_otlp("dd-api-key", "good") as server:
        ok = proof.prove_http(server.url, [("dd-api-key", "good")])
        wrong = proof.prove_http(server.url, [("dd-api-key", "bad")])
        missing = proof.prove_http(server.url, [])
        elsewhere = proof.prove_http(server.url + "/nope", [("dd-api-key", "good")])
    assert (ok.outcome, ok.status) == (otlp_answer.OK, 200)
    assert (wrong.outcome, wrong.status, wrong.words) == (otlp_answer.REFUSED, 403, WRONG_KEY_WORDS)
    assert (missing.outcome, missing.status) == (otlp_answer.REFUSED, 401)
    assert (elsewhere.outcome, elsewhere.status) == (otlp_answer.NOT_FOUND, 404)
    first = server.exports[0]
    assert first.path == "/v1/metrics" and first.body == b""
    assert first.headers["content-type"] == "application/x-protobuf"
    assert first.request == metrics_service_pb2.ExportMetricsServiceRequest()


def test_tls_failure_and_unreachable_are_named(tmp_path):
    with serve_otlp("api-key", "good", tls_dir=tmp_path) as server:
        untrusted = proof.prove_http(server.url, [("api-key", "good")])
        with open(server.ca_file) as handle:
            trusted = proof.prove_http(server.url, [("api-key", "good")], ca_pem=handle.read())
    assert untrusted.outcome == otlp_answer.TLS and "CERTIFICATE_VERIFY_FAILED" in untrusted.words
    assert trusted.outcome == otlp_answer.OK
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gone = proof.prove_http(f"http://127.0.0.1:{port}", [])
    assert gone.outcome == otlp_answer.UNREACHABLE
