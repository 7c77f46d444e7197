"""A mesh on loopback for the real collector: the shared harness mesh's pods with pod IPs in 127.0.0.0/8,
a fake Linkerd proxy (or control-plane admin server) on <podIP>:<port> for each admin port, serving the
recorded /metrics texts of tests/fixtures with counters growing from one scrape to the next.

`as_in_pod` is the one change made to the config `install` renders before the real collector runs it:
what a pod would give the collector and a loopback run must give it explicitly.
"""
from __future__ import annotations

import copy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SUBNET = "127.77.0."          # pod IPs: 127.77.<b>.<n>, unlikely to meet anything else on the machine
CLAIM_PORT = 4191


class Subnet:
    """A /24 of 127.77.0.0/16 this test has to itself: it holds a listening socket on <subnet>.1:4191
    (no one else can, in this process or another), so parallel tests never bind each other's pod IPs."""

    def __init__(self):
        import os

        start = os.getpid() % 250
        for offset in range(250):
            b = (start + offset) % 250 + 1
            claim = socket.socket()
            try:
                claim.bind((f"127.77.{b}.1", CLAIM_PORT))
                claim.listen(1)
            except OSError:
                claim.close()
                continue
            self.claim, self.prefix = claim, f"127.77.{b}."
            return
        raise OSError("no free subnet in 127.77.0.0/16")

    def close(self) -> None:
        self.claim.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _listen_endpoints(config: dict) -> Iterator[Tuple[Tuple, str]]:
    """(path, "host:port") of every address the collector listens on (a pod's own network namespace)."""
    for name, ext in (config.get("extensions") or {}).items():
        if isinstance(ext, dict) and "endpoint" in ext:
            yield ("extensions", name, "endpoint"), ext["endpoint"]
    for name, rec in (config.get("receivers") or {}).items():
        server = ((rec or {}).get("api_server") or {}).get("server_config") or {}
        if "endpoint" in server:
            yield ("receivers", name, "api_server", "server_config", "endpoint"), server["endpoint"]


def as_in_pod(config: dict, *, api_server: str, token_file: str, ca_file: str,
              ports: Dict[str, int]) -> dict:
    """The rendered config as the collector in a pod effectively runs it, for a run on this machine.

    In a pod, client-go finds the API server, token and CA in the service account's files and the
    KUBERNETES_SERVICE_* env; here each kubernetes_sd_configs entry names them. In a pod, the collector
    has its own network namespace; here its listening addresses (health_check, the receiver's API
    server, self-metrics) move to 127.0.0.1 and the given free ports, keyed by the rendered port.
    Nothing else changes (tests/realcollector/test_loopback.py checks it)."""
    out = copy.deepcopy(config)
    for receiver in (out.get("receivers") or {}).values():
        for job in (((receiver or {}).get("config") or {}).get("scrape_configs") or []):
            for sd in job.get("kubernetes_sd_configs") or []:
                sd["api_server"] = api_server
                sd["authorization"] = {"credentials_file": token_file}
                sd["tls_config"] = {"ca_file": ca_file}
    for path, endpoint in list(_listen_endpoints(out)):
        node = out
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = "127.0.0.1:%d" % ports[endpoint.rsplit(":", 1)[1]]
    for reader in out["service"]["telemetry"]["metrics"]["readers"]:
        exporter = reader["pull"]["exporter"]["prometheus"]
        exporter["host"], exporter["port"] = "127.0.0.1", ports[str(exporter["port"])]
    return out


def listen_ports(config: dict) -> List[str]:
    """The ports the rendered config listens on (what as_in_pod needs a free port for)."""
    ports = [endpoint.rsplit(":", 1)[1] for _path, endpoint in _listen_endpoints(config)]
    for reader in config["service"]["telemetry"]["metrics"]["readers"]:
        ports.append(str(reader["pull"]["exporter"]["prometheus"]["port"]))
    return ports


def loopback_pods(prefix: str = SUBNET) -> List[dict]:
    """The harness mesh's pods, each with a pod IP of its own in <prefix>0/24 (a Subnet's prefix)."""
    pods = json.loads((FIXTURES / "harness-mesh-pods.json").read_text(encoding="utf-8"))["items"]
    for index, pod in enumerate(pods, start=10):
        pod["status"]["podIP"] = prefix + str(index)
        pod["status"]["podIPs"] = [{"ip": prefix + str(index)}]
    return pods


class _Metrics(BaseHTTPRequestHandler):
    texts: List[str] = []
    served = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        cls = type(self)
        text = cls.texts[min(cls.served, len(cls.texts) - 1)]
        cls.served += 1
        body = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _grown(text: str, times: int) -> str:
    """The second recorded read with every counter and histogram count/sum grown `times` more times by
    the difference between the reads: what the proxy says at later scrapes."""
    import re

    out = []
    for line in text.splitlines():
        match = re.match(r"^((?:request_total|response_total|tcp_open_total|tcp_close_total|"
                         r"response_latency_ms_(?:bucket|count|sum)|tcp_read_bytes_total|"
                         r"tcp_write_bytes_total)\S*) (\S+)$", line)
        if match and times:
            value = float(match.group(2)) * (1 + 0.1 * times)
            line = f"{match.group(1)} {value:g}"
        out.append(line)
    return "\n".join(out) + "\n"


class FakeProxies:
    """An HTTP server on <podIP>:<port> for every admin port of the loopback pods (linkerd-admin 4191 of
    the proxies, the control plane's *-admin ports), each serving its recorded /metrics."""

    def __init__(self, pods: List[dict]):
        self.servers: List[ThreadingHTTPServer] = []
        self.pods = pods

    def start(self) -> "FakeProxies":
        recorded = [("web-1", "web-2"), ("api-1", "api-2"), ("db-1", "db-2")]
        n = 0
        for pod in self.pods:
            if pod["status"].get("phase") != "Running":
                continue
            # a native sidecar proxy (Linkerd's proxy as an init container that keeps running) too
            for container in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
                for port in container.get("ports") or []:
                    if not str(port.get("name", "")).endswith("admin"):
                        continue
                    first, second = recorded[n % len(recorded)]
                    n += 1
                    one = (FIXTURES / f"proxy-metrics-{first}.txt").read_text(encoding="utf-8")
                    two = (FIXTURES / f"proxy-metrics-{second}.txt").read_text(encoding="utf-8")
                    handler = type("Metrics", (_Metrics,), {
                        "texts": [one, two] + [_grown(two, k) for k in range(1, 200)], "served": 0})
                    server = ThreadingHTTPServer((pod["status"]["podIP"], port["containerPort"]), handler)
                    server.daemon_threads = True
                    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                     daemon=True).start()
                    self.servers.append(server)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
