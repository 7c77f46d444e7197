"""A local OTLP/HTTP metrics endpoint on 127.0.0.1 that answers like a vendor: it decodes each export
with the official protocol definitions (opentelemetry-proto), checks the API key header, and answers
200 with an ExportMetricsServiceResponse, or 401 (no key) / 403 (wrong key) with a google.rpc.Status
holding the vendor's words; 404 off /v1/metrics. Optionally over TLS with a fresh self-signed
certificate (openssl)."""
from __future__ import annotations

import ssl
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List, Optional

from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

WRONG_KEY_WORDS = "Invalid API key: check the key of your account"
MISSING_KEY_WORDS = "Missing api-key header"


@dataclass
class Export:
    path: str
    headers: Dict[str, str]
    body: bytes
    request: Optional[metrics_service_pb2.ExportMetricsServiceRequest]


@dataclass
class OtlpServer:
    key_header: str
    key: str
    port: int = 0
    ca_file: Optional[str] = None
    exports: List[Export] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{'https' if self.ca_file else 'http'}://127.0.0.1:{self.port}"


@contextmanager
def serve_otlp(key_header: str, key: str, tls_dir=None) -> Iterator[OtlpServer]:
    server = OtlpServer(key_header, key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                request = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
            except Exception:   # not an OTLP request: recorded as such
                request = None
            server.exports.append(Export(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                         request))
            if self.path != "/v1/metrics":
                return self._answer(404, b"404 page not found", "text/plain")
            given = self.headers.get(server.key_header)
            if given != server.key:
                status = status_pb2.Status(code=16, message=MISSING_KEY_WORDS if given is None else WRONG_KEY_WORDS)
                return self._answer(401 if given is None else 403, status.SerializeToString(),
                                    "application/x-protobuf")
            answer = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
            self._answer(200, answer, "application/x-protobuf")

        def _answer(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls_dir is not None:
        cert, key_file = f"{tls_dir}/ca.crt", f"{tls_dir}/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key_file, "-out", cert], check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key_file)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        server.ca_file = cert
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
