"""A local OTLP/gRPC metrics endpoint on 127.0.0.1 that answers like a vendor: a real gRPC server (grpcio)
serving the official MetricsService (opentelemetry-proto's generated service and messages) behind an auth
interceptor that checks the API key metadata: UNAUTHENTICATED without it, PERMISSION_DENIED with a wrong
one, both with the vendor's words. Plain HTTP/2 (h2c), or TLS with a fresh self-signed certificate
(openssl)."""
from __future__ import annotations

import os
import subprocess
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")    # not a log line per refused TLS handshake
import grpc  # noqa: E402
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc  # noqa: E402

WRONG_KEY_WORDS = "Invalid API key: check the key of your account"
MISSING_KEY_WORDS = "Missing api-key metadata"
EXPORT_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


@dataclass
class Call:
    method: str
    metadata: Dict[str, str]
    request: Optional[metrics_service_pb2.ExportMetricsServiceRequest] = None


@dataclass
class GrpcServer:
    key_header: str
    key: str
    port: int = 0
    ca_file: Optional[str] = None
    calls: List[Call] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def serve_otlp_grpc(key_header: str, key: str, tls_dir=None) -> Iterator[GrpcServer]:
    running = GrpcServer(key_header.lower(), key)

    class Auth(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            metadata = {k: v for k, v in details.invocation_metadata or () if isinstance(v, str)}
            given = metadata.get(running.key_header)
            if given == running.key:
                handler = continuation(details)
                if handler is None:
                    return None

                def export(request, context):
                    running.calls.append(Call(details.method, metadata, request))
                    return handler.unary_unary(request, context)

                return grpc.unary_unary_rpc_method_handler(
                    export, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)

            def refuse(raw, context):
                running.calls.append(Call(details.method, metadata,
                                          metrics_service_pb2.ExportMetricsServiceRequest.FromString(raw)))
                if given is None:
                    context.abort(grpc.StatusCode.UNAUTHENTICATED, MISSING_KEY_WORDS)
                context.abort(grpc.StatusCode.PERMISSION_DENIED, WRONG_KEY_WORDS)

            return grpc.unary_unary_rpc_method_handler(refuse)

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[Auth()])
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    if tls_dir is None:
        running.port = server.add_insecure_port("127.0.0.1:0")
    else:
        cert, key_file = f"{tls_dir}/ca.crt", f"{tls_dir}/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key_file, "-out", cert], check=True, capture_output=True)
        with open(key_file, "rb") as k, open(cert, "rb") as c:
            credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
        running.port = server.add_secure_port("127.0.0.1:0", credentials)
        running.ca_file = cert
    server.start()
    try:
        yield running
    finally:
        server.stop(grace=None).wait()
