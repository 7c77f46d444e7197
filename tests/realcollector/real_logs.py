"""Real collector log lines for the log classifier (collector/logs.py): each scenario runs the real
collector (scripts/otelcol.sh) on loopback until it has logged what the scenario is about, and keeps its
output. `RECORD_OTELCOL_LOGS=1 pytest -m otelcol tests/realcollector/test_real_logs.py` writes them to
tests/fixtures/otelcol-logs/<scenario>.log (first line: the version that wrote them), which the unit
tests classify without Go."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import yaml

from realcollector import loopback

RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "otelcol-logs"

# scenario -> (the class its lines must give, the log text that ends the run early)
SCENARIOS: Dict[str, Tuple[str, str]] = {
    "healthy": ("started", "Everything is ready"),
    "config-typo": ("config-error", "has invalid keys"),
    "missing-exporter": ("config-error", "which is not configured"),
    "port-in-use": ("start-failed", "address already in use"),
    "backend-down": ("export-retry", "Exporting failed"),
    "rbac-forbidden": ("forbidden", "is forbidden"),
    "credentials-refused": ("export-dropped", "Exporting failed"),
    "scrape-refused": ("scrape-failed", "Failed to scrape Prometheus endpoint"),
}


def version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def _rendered(exporter_endpoint: str, *extra: str) -> dict:
    """The config `install` renders, exporting over OTLP/HTTP to `exporter_endpoint`."""
    from helpers import run_cli

    args = ["install", "--dry-run", "client", "-o", "json", "--linkerd-namespace", "linkerd",
            "--exporter-protocol", "http", "--exporter-endpoint", exporter_endpoint, "--insecure",
            "--scrape-interval", "2s", *extra]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return next(yaml.safe_load(o["data"]["config.yaml"]) for o in json.loads(result.stdout)["items"]
                if o["kind"] == "ConfigMap")


def run(binary: str, config: dict, workdir: Path, until: str, seconds: float = 60,
        env: Optional[Dict[str, str]] = None) -> str:
    """Run the collector with `config` until `until` appears in its output, it exits, or `seconds`."""
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    log = workdir / "otelcol.log"
    env = dict(env or {}, PATH=os.environ.get("PATH", ""), HOME=str(workdir), GOMEMLIMIT="400MiB")
    with open(log, "w") as out:
        proc = subprocess.Popen([binary, f"--config={path}"], stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                if until in log.read_text(errors="replace"):
                    time.sleep(0.5)      # the lines around it
                    break
                time.sleep(0.25)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return log.read_text(errors="replace")


def scenario(name: str, binary: str, workdir: Path) -> str:
    """The real log of one scenario."""
    from fakekube import FakeApiServer
    from otlp_server import serve_otlp

    api = FakeApiServer(tls=True).start()
    subnet = loopback.Subnet()
    pods = loopback.loopback_pods(subnet.prefix)
    for pod in pods:
        api.add(dict(pod, apiVersion="v1", kind="Pod"))
    token = workdir / "token"
    token.write_text(api.token)
    proxies: Optional[loopback.FakeProxies] = None
    blocker: Optional[socket.socket] = None
    until = SCENARIOS[name][1]
    try:
        with serve_otlp("api-key", "the-key") as backend:
            # the backend's key is a credential: install keeps it in the Secret, the pod gets it as env
            endpoint = backend.url
            env = {"OTLP_HEADER_0": "the-key"}
            if name == "backend-down":
                endpoint = "http://127.0.0.1:%d" % loopback.free_port()    # nobody listens there
            if name == "credentials-refused":
                env = {"OTLP_HEADER_0": "a-revoked-key"}
            rendered = _rendered(endpoint, "--secret-header", "api-key=the-key")
            ports = {port: loopback.free_port() for port in loopback.listen_ports(rendered)}
            config = loopback.as_in_pod(rendered, api_server=api.url, token_file=str(token),
                                        ca_file=api.ca_file, ports=ports)
            if name in ("healthy", "backend-down", "credentials-refused"):
                proxies = loopback.FakeProxies(pods).start()
            elif name == "config-typo":
                exporter = config["exporters"][next(iter(config["exporters"]))]
                exporter["endpiont"] = exporter.pop("endpoint")
            elif name == "missing-exporter":
                config["service"]["pipelines"]["metrics"]["exporters"].append("otlp_grpc/missing")
            elif name == "port-in-use":
                blocker = socket.socket()
                blocker.bind(("127.0.0.1", ports["13133"]))
                blocker.listen(1)
            elif name == "rbac-forbidden":
                # what the API server answers a service account without the ClusterRole's binding
                user = "system:serviceaccount:observability:linkerd-otel-collector"
                body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": f'pods is forbidden: User "{user}" cannot list resource "pods" in API '
                                   f'group "" at the cluster scope',
                        "reason": "Forbidden", "details": {"kind": "pods"}, "code": 403}
                api.answer(json.dumps(body).encode(), path=r"^/api/v1/(namespaces/[^/]+/)?pods$", status=403)
            # scrape-refused: the pods are there, but no proxy answers on <podIP>:4191
            return run(binary, config, workdir, until, seconds=90, env=env)
    finally:
        if blocker is not None:
            blocker.close()
        if proxies is not None:
            proxies.stop()
        api.stop()
        subnet.close()


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def save(name: str, text: str, version_line: str) -> Path:
    RECORDED.mkdir(parents=True, exist_ok=True)
    path = RECORDED / f"{name}.log"
    path.write_text(f"# {version_line}; scenario {name} (tests/realcollector/real_logs.py)\n{text}",
                    encoding="utf-8")
    return path


def recorded(name: str) -> Tuple[str, str]:
    """(version line, log text) of a recorded scenario."""
    text = (RECORDED / f"{name}.log").read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    return first.lstrip("# "), rest


Check = Callable[[str], bool]
