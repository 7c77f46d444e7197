"""A mesh on loopback for the real collector: the shared harness mesh's pods with pod IPs in 127.0.0.0/8,
a fake Linkerd proxy (or control-plane admin server) on <podIP>:<port> for each admin port, serving the
recorded /metrics texts of tests/fixtures, growing with time (Growing).

`as_in_pod` is the one change made to the config `install` renders before the real collector runs it:
what a pod would give the collector and a loopback run must give it explicitly.
"""
from __future__ import annotations

import copy
import json
import math
import re
import socket
import threading
import time
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


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$")
PERIOD_S = 10.0      # the recorded texts are two reads this far apart


def _samples(text: str) -> Dict[str, float]:
    out = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            out[match.group(1)] = float(match.group(2))
    return out


class Growing:
    """A proxy's /metrics that grows with time, not with reads, so whoever reads it (the collector,
    `stat`, `check`) sees the same rates. Counters go on from the first recorded read at the pace the
    two reads show (value = first + (second - first) * elapsed / 10 s). Histograms step instead: each
    whole second adds the recorded difference to every bucket, count and sum, because OTLP carries
    bucket counts as integers (the collector truncates fractions) and whole steps keep every bucket's
    share, so latency quantiles over any window are the recorded ones."""

    HISTOGRAM = re.compile(r"^\w+_(bucket|count|sum)\{")

    def __init__(self, first: str, second: str):
        self.lines = second.splitlines()
        self.first, self.second = _samples(first), _samples(second)
        self.started = time.time()

    def text(self, at: float = None) -> str:
        elapsed = (time.time() if at is None else at) - self.started
        out = []
        for line in self.lines:
            match = _SAMPLE.match(line)
            if match and not line.startswith("#") and match.group(1) in self.first:
                key = match.group(1)
                grown = self.second[key] - self.first[key]
                if self.HISTOGRAM.match(key):
                    value = self.first[key] + grown * math.floor(elapsed)
                    line = f"{key} {value:.17g}"
                else:
                    line = f"{key} {self.first[key] + grown * elapsed / PERIOD_S:.6f}"
            out.append(line)
        return "\n".join(out) + "\n"


class _Metrics(BaseHTTPRequestHandler):
    growing: Growing = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        body = type(self).growing.text().encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeProxies:
    """An HTTP server on <podIP>:<port> for every admin port of the loopback pods (linkerd-admin 4191 of
    the proxies, the control plane's *-admin ports), each serving its recorded /metrics."""

    def __init__(self, pods: List[dict]):
        self.servers: List[ThreadingHTTPServer] = []
        self.pods = pods

    def start(self) -> "FakeProxies":
        # web and api: counters that only grow (db's recorded proxy restarts between its reads)
        recorded = [("web-1", "web-2"), ("api-1", "api-2")]
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
                    handler = type("Metrics", (_Metrics,), {"growing": Growing(one, two)})
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
