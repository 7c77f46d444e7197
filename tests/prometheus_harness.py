"""A real Prometheus 3.5.3 for differential tests: one process, one scrape pool per case.

The binary comes from `PROMETHEUS`, PATH, or `../shared/tools/prometheus.sh` (beside the repository:
it unpacks Debian's package with dpkg-deb). Without one the tests are skipped with the reason in the
skip summary; CI (.ci/run) sets REQUIRE_PROMETHEUS=1, which turns that skip into a failure: a silently
skipped differential suite would prove nothing.

Targets are fed through `static_configs` carrying the `__meta_kubernetes_*` labels our service
discovery produces, or through `kubernetes_sd_configs` pointed at a tiny fake API server serving pods.
Every address is on the loopback range and the scrape interval is an hour, so Prometheus never sends
a scrape anywhere but to this machine (and in practice not at all during the run).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS_SH = REPO.parent / "shared" / "tools" / "prometheus.sh"
STARTUP_TIMEOUT = 60.0


def prometheus_binary() -> str:
    """The path of a Prometheus 3.x binary: `PROMETHEUS` (a path), else `prometheus` on PATH, else
    `../shared/tools/prometheus.sh` beside the repository. Absent: the test is skipped, saying so in
    pytest's skip summary; with REQUIRE_PROMETHEUS=1 (as .ci/run sets) it fails instead."""
    candidates = []
    if os.environ.get("PROMETHEUS"):
        candidates.append(("PROMETHEUS", os.environ["PROMETHEUS"]))
    on_path = shutil.which("prometheus")
    if on_path:
        candidates.append(("PATH", on_path))
    reasons = []
    for where, path in candidates:
        version = _major_version(path)
        if version == 3:
            return path
        reasons.append(f"{where} names {path}, " + ("which does not run" if version is None
                                                     else f"Prometheus {version}.x, not 3.x"))
    if PROMETHEUS_SH.exists():
        proc = subprocess.run(["bash", str(PROMETHEUS_SH)], capture_output=True, text=True, timeout=120)
        path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode == 0 and path and os.access(path, os.X_OK):
            return path
        reasons.append(f"{PROMETHEUS_SH} could not provide one (exit {proc.returncode}: "
                       f"{(proc.stderr.strip() or proc.stdout.strip())[:200]}; it needs dpkg-deb)")
    else:
        reasons.append(f"no {PROMETHEUS_SH}")
    message = ("no Prometheus 3.x for the differential tests: " + "; ".join(reasons)
               + " (set PROMETHEUS=/path/to/prometheus)")
    if os.environ.get("REQUIRE_PROMETHEUS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _major_version(path: str) -> Optional[int]:
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    import re

    match = re.search(r"prometheus, version (\d+)\.", proc.stdout + proc.stderr)
    return int(match.group(1)) if proc.returncode == 0 and match else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read().decode("utf-8"))


class Prometheus:
    """One Prometheus process for a whole config; `targets()` is its /api/v1/targets?state=any."""

    def __init__(self, config: dict, *, binary: Optional[str] = None):
        self.binary = binary or prometheus_binary()
        self.config = config
        self.dir = tempfile.mkdtemp(prefix="prom-diff-")
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(self.dir, "prometheus.log")

    def start(self) -> "Prometheus":
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w", encoding="utf-8") as fh:
            yaml.safe_dump(self.config, fh, sort_keys=False, allow_unicode=True)
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{self.port}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8") as fh:
                return fh.read()[-4000:]
        except OSError:
            return ""

    def targets(self) -> dict:
        return _get_json(f"http://127.0.0.1:{self.port}/api/v1/targets?state=any")

    def wait_for_pools(self, pools: List[str], *, with_targets: List[str] = (),
                       timeout: float = STARTUP_TIMEOUT) -> dict:
        """Poll until every pool has been synced (it is listed in droppedTargetCounts) and every pool of
        `with_targets` (fed by service discovery that may lag) has targets; then once more after a
        pause, to be sure nothing was still on its way."""
        deadline = time.monotonic() + timeout
        last_error = ""
        settled = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"Prometheus exited with {self.proc.returncode}:\n{self.log()}", pytrace=False)
            try:
                answer = self.targets()
            except OSError as exc:
                last_error = str(exc)
                time.sleep(0.25)
                continue
            data = answer.get("data") or {}
            counts = data.get("droppedTargetCounts") or {}
            seen = {t.get("scrapePool") for t in data.get("activeTargets") or []} | \
                   {t.get("scrapePool") for t in data.get("droppedTargets") or []}
            ready = all(p in counts for p in pools) and all(p in seen for p in with_targets)
            if ready:
                if settled is not None and _shape(settled) == _shape(answer):
                    return answer
                settled = answer
                time.sleep(1.0)
                continue
            settled = None
            last_error = (f"{len([p for p in pools if p in counts])}/{len(pools)} pools synced, "
                          f"{len([p for p in with_targets if p in seen])}/{len(with_targets)} discovered")
            time.sleep(0.25)
        pytest.fail(f"Prometheus did not sync every scrape pool within {timeout:.0f}s ({last_error}):\n"
                    f"{self.log()}", pytrace=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def config_error(binary: str, config: dict, timeout: float = 30.0) -> str:
    """Start Prometheus on `config` alone: "" when it loads it, else the error it exits with."""
    with tempfile.TemporaryDirectory(prefix="prom-cfg-") as tmp:
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, sort_keys=False, allow_unicode=True)
        port = free_port()
        proc = subprocess.Popen([binary, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}",
                                 f"--storage.tsdb.path={os.path.join(tmp, 'data')}", "--log.level=warn"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    out = proc.stdout.read() if proc.stdout else ""
                    return out.strip() or f"exit {proc.returncode}"
                try:  # a config that loaded: the server answers /-/ready
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=0.5):  # noqa: S310
                        return ""
                except OSError:
                    time.sleep(0.05)
            return ""
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# -- a fake Kubernetes API server, enough for Prometheus' pod discovery ---------------------------
class FakePodsApi:
    """Serves LIST and (idle) WATCH of pods, cluster-wide and per namespace, on 127.0.0.1."""

    def __init__(self, pods: List[dict]):
        self.pods = pods
        self.requests: List[str] = []
        self._stop = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                api.requests.append(self.path)
                url = urlparse(self.path)
                query = parse_qs(url.query)
                parts = url.path.strip("/").split("/")
                namespace = None
                if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "pods":
                    namespace = parts[3]
                elif parts != ["api", "v1", "pods"]:
                    body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}'
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                items = [dict(p, kind="Pod", apiVersion="v1") for p in api.pods
                         if namespace is None or p["metadata"].get("namespace") == namespace]
                if query.get("watch", ["false"])[0] in ("true", "1"):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    events = []
                    if query.get("sendInitialEvents", ["false"])[0] == "true":
                        # A streaming list (WatchList): every pod as ADDED, then the end bookmark.
                        events = [{"type": "ADDED", "object": item} for item in items]
                        events.append({"type": "BOOKMARK", "object": {
                            "kind": "Pod", "apiVersion": "v1", "metadata": {
                                "resourceVersion": "1",
                                "annotations": {"k8s.io/initial-events-end": "true"}}}})
                    try:
                        for event in events:
                            data = json.dumps(event).encode() + b"\n"
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                        while not api._stop.wait(0.2):
                            pass
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    return
                body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": "1"}, "items": items}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakePodsApi":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def _shape(answer: dict) -> List[str]:
    """The targets of an answer, order-free and without the fields that change on their own."""
    data = answer.get("data") or {}
    return sorted(canonical([t.get("scrapePool"), t.get("labels"), t.get("discoveredLabels")])
                  for t in (data.get("activeTargets") or []) + (data.get("droppedTargets") or []))


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def summarize_pool(answer: dict, pool: str) -> Dict[str, List[str]]:
    """A pool's active and dropped targets as sorted canonical strings (order-free comparison)."""
    data = answer.get("data") or {}
    active = sorted(canonical({"labels": t.get("labels"), "discoveredLabels": t.get("discoveredLabels"),
                               "scrapeUrl": t.get("scrapeUrl")})
                    for t in data.get("activeTargets") or [] if t.get("scrapePool") == pool)
    dropped = sorted(canonical(t.get("discoveredLabels"))
                     for t in data.get("droppedTargets") or [] if t.get("scrapePool") == pool)
    return {"active": active, "dropped": dropped}


Engine = Callable[[], Dict[str, List[str]]]
