"""How requests reach the API server (apiclient/transport.py, apiclient/direct.py): straight through http.client with
keep-alive connections, gzip answers as the API server sends them, a server behind a path, the
kubeconfig's tls-server-name, and through httpx when a proxy is set (proxy-url or *_PROXY)."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
import yaml

import scenarios
from helpers import run_cli
from stat_scenarios import meshed_pod, metrics

from kubectl_linkerd_otel.apiclient import Kube, KubeOptions


def _mesh(api, count: int) -> None:
    for index in range(count):
        pod = meshed_pod(f"app-{index % 3}", "6d4cf56db6", f"p{index:03d}", f"10.0.{index // 250}.{index % 250}",
                         namespace="shop")
        api.add(pod)


def _edit_kubeconfig(path: str, **cluster) -> None:
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    doc["clusters"][0]["cluster"].update(cluster)
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh)


def test_gzip_answers_read_as_the_api_server_sends_them(mesh_api):
    fake_api = mesh_api
    scenarios.healthy(fake_api)
    _mesh(fake_api, 120)
    plain = run_cli("targets", "-o", "json")
    assert plain.exit_code in (0, 1), plain.output
    fake_api.compress()
    squeezed = run_cli("targets", "-o", "json")
    assert squeezed.exit_code == plain.exit_code and squeezed.stdout == plain.stdout
    lists = fake_api.requests_to(r"/api/v1/pods$", "GET")
    assert lists and all("gzip" in (r.headers.get("Accept-Encoding") or "") for r in lists)


def test_a_large_proxied_answer_compressed(fake_api):
    _mesh(fake_api, 1)
    text = metrics("web-1") * 3          # over the 128 KiB the API server compresses from
    fake_api.set_proxy("shop", "app-0-6d4cf56db6-p000", 4191, "metrics", body=text)
    fake_api.compress()
    kube = Kube.connect(KubeOptions(kubeconfig=fake_api.kubeconfig_path))
    try:
        assert kube.proxy_get("shop", "app-0-6d4cf56db6-p000", 4191, "/metrics").text == text
    finally:
        kube.close()


class _Once(BaseHTTPRequestHandler):
    """Answers /version, then closes the connection without saying so (a server ending an idle keep-alive
    connection)."""
    protocol_version = "HTTP/1.1"
    connections: list = []

    def setup(self):
        super().setup()
        self.connections.append(self.client_address)

    def do_GET(self):
        body = json.dumps({"major": "1", "minor": "31", "gitVersion": "v1.31.2", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@contextmanager
def _serving(handler) -> Iterator[ThreadingHTTPServer]:
    """`handler` answering on 127.0.0.1 in a thread, for the test."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def once_server():
    _Once.connections = []
    with _serving(_Once) as httpd:
        yield httpd


def _kube_at(tmp_path, server: str, **cluster) -> Kube:
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "c", "cluster": dict({"server": server}, **cluster)}],
           "users": [{"name": "u", "user": {"token": "tok"}}],
           "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    return Kube.connect(KubeOptions(kubeconfig=str(tmp_path / "kc")))


def test_a_connection_the_server_closed_while_idle_is_opened_again(tmp_path, once_server):
    kube = _kube_at(tmp_path, f"http://127.0.0.1:{once_server.server_address[1]}")
    try:
        for _ in range(3):
            assert kube.version()["gitVersion"] == "v1.31.2"
    finally:
        kube.close()
    assert len(_Once.connections) == 3


def test_a_server_behind_a_path(tmp_path, once_server):
    kube = _kube_at(tmp_path, f"http://127.0.0.1:{once_server.server_address[1]}/k8s/clusters/c-1/")
    try:
        assert kube.version()["path"] == "/k8s/clusters/c-1/version"
    finally:
        kube.close()


def test_sequential_requests_share_one_connection(fake_api):
    _mesh(fake_api, 3)
    kube = Kube.connect(KubeOptions(kubeconfig=fake_api.kubeconfig_path))
    try:
        for _ in range(5):
            kube.list("pods")
    finally:
        kube.close()
    assert len(fake_api.requests) == 5 and len({r.peer for r in fake_api.requests}) == 1


def test_tls_server_name_is_the_name_checked(fake_api_tls):
    _mesh(fake_api_tls, 1)
    path = fake_api_tls.kubeconfig_path
    port = fake_api_tls.url.rsplit(":", 1)[1]
    # the certificate names 127.0.0.1 and api.fake.internal, not localhost
    _edit_kubeconfig(path, server=f"https://localhost:{port}")
    refused = run_cli("version")
    assert refused.exit_code == 2 and "certificate verify failed" in refused.output, refused.output
    _edit_kubeconfig(path, **{"tls-server-name": "api.fake.internal"})
    assert run_cli("version").exit_code == 0
    _edit_kubeconfig(path, server=f"https://127.0.0.1:{port}", **{"tls-server-name": "other.internal"})
    wrong = run_cli("version")
    assert wrong.exit_code == 2 and "certificate verify failed" in wrong.output, wrong.output


class _ForwardProxy(BaseHTTPRequestHandler):
    """An HTTP forward proxy for http:// targets (absolute-form requests), counting what it forwards."""
    protocol_version = "HTTP/1.1"
    forwarded: list = []

    def do_GET(self):
        import urllib.request

        self.forwarded.append(self.path)
        request = urllib.request.Request(self.path, headers={k: v for k, v in self.headers.items()
                                                             if k.lower() not in ("host", "proxy-connection")})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as answer:
                status, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type")
        except urllib.error.HTTPError as exc:
            status, body, kind = exc.code, exc.read(), exc.headers.get("Content-Type")
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def forward_proxy():
    _ForwardProxy.forwarded = []
    with _serving(_ForwardProxy) as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


def test_proxy_url_carries_the_requests(mesh_api, forward_proxy):
    fake_api = mesh_api
    scenarios.healthy(fake_api)
    _edit_kubeconfig(fake_api.kubeconfig_path, **{"proxy-url": forward_proxy})
    result = run_cli("targets", "-o", "json")
    assert result.exit_code in (0, 1), result.output
    assert any(path.endswith("/api/v1/pods") or "/api/v1/pods?" in path for path in _ForwardProxy.forwarded)


def test_the_proxy_environment_is_followed_and_no_proxy_exempts(fake_api, forward_proxy, monkeypatch):
    _mesh(fake_api, 2)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert run_cli("version").exit_code == 0
    assert _ForwardProxy.forwarded
    _ForwardProxy.forwarded.clear()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert run_cli("version").exit_code == 0
    assert _ForwardProxy.forwarded == []


def test_a_refused_connection_is_one_line(tmp_path, monkeypatch):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]      # bound, not listening: connections are refused
        kube = _kube_at(tmp_path, f"http://127.0.0.1:{port}")
        from kubectl_linkerd_otel.errors import ApiRefused

        with pytest.raises(ApiRefused, match="connection refused"):
            kube.version()
        kube.close()


def test_an_answer_cut_before_its_content_length_is_a_dropped_connection(tmp_path):
    """Every connection gets a head promising 1,000 bytes and 10 of them: not an answer, but a broken
    connection (retried, then named)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                             b'{"major": ')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    kube = _kube_at(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}")
    from kubectl_linkerd_otel.errors import ApiUnreachable

    try:
        with pytest.raises(ApiUnreachable, match="dropped the connection"):
            kube.version()
    finally:
        kube.close()
        stop.set()
        thread.join()
        listener.close()
