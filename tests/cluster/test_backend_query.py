"""`check` asks the backend whether the proxies' metrics arrive: the real CLI against the fake API server,
with a real Prometheus 3.5.3 as the backend (basic auth on), loaded by scraping recorded proxy metrics text
served with the labels our collector config gives each proxy target.

The plugin talks to an `HttpTape` (prometheus_harness): in front of the real Prometheus it records or checks
each test's exchanges; without a binary it answers them from tests/golden/prometheus/backend-query.json,
with the recorded times put back relative to the time each query asks about."""
from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

import scenarios
from conftest import mesh_objects
from helpers import run_cli, snapshot_text
from prometheus_harness import HttpTape, Recording, free_port, live, prometheus_binary

pytestmark = pytest.mark.prometheus

FIXTURE = Path(__file__).parent.parent / "fixtures" / "proxy-metrics.txt"
USER, PASSWORD = "admin", "s3cret"
# bcrypt (cost 4) of PASSWORD, for Prometheus' --web.config.file
PASSWORD_HASH = "$2b$04$Uw5osc1THr27LeVDXiLj2.oi4Wdpht1Fzdw4DusGWAUkIYgrT8/Km"
# a stale pod's samples are stamped this long before each scrape: 12m15s, so that a scrape between the
# plugin's "now" and Prometheus' evaluation still leaves the newest sample over 12 minutes old
STALE_SECONDS = 12 * 60 + 15
O2_SERVICE, O2_NS = "openobserve-openobserve-standalone", "openobserve"
EXCHANGES = Recording("backend-query")


def rendered_config(endpoint: str = "openobserve.openobserve.svc.cluster.local:5081", headers=()) -> str:
    from kubectl_linkerd_otel.render.collector_config import collector_config_text
    from kubectl_linkerd_otel.render.options import InstallOptions

    return collector_config_text(InstallOptions(linkerd_namespace="linkerd", exporter_endpoint=endpoint,
                                                insecure=True, headers=list(headers)))


def extra_pod(name: str, deployment: str, ip: str) -> dict:
    """A copy of the harness's meshed web pod, as another Deployment's."""
    web = next(o for o in mesh_objects() if o.get("kind", "Pod") == "Pod"
               and o["metadata"].get("name") == "web-5b4656675c-826fd")
    pod = copy.deepcopy(web)
    pod["metadata"]["name"] = name
    pod["metadata"]["uid"] = f"uid-{name}"
    pod["metadata"]["labels"]["linkerd.io/proxy-deployment"] = deployment
    pod["metadata"]["labels"]["app"] = f"{deployment}-svc"
    pod["metadata"].pop("ownerReferences", None)
    pod["status"]["podIP"] = ip
    pod["status"]["podIPs"] = [{"ip": ip}]
    return pod


VOTING = extra_pod("voting-6f7d8c9b5-qv2lx", "voting", "10.244.0.31")     # never reaches the backend
LEGACY = extra_pod("legacy-5d9f7b6c4-x8k2p", "legacy", "10.244.0.32")     # its samples are old


def proxy_targets(pods):
    """(discovered pod, final labels) of every proxy target our rendered config gives these pods."""
    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import is_proxy_admin, simulate

    sim = simulate(scrape_jobs(yaml.safe_load(rendered_config())), pods, own_namespace=scenarios.NS)
    job = sim.job("linkerd-proxy")
    return [(t.pod, t.visible()) for t in job.active if is_proxy_admin(t.info)]


class MetricsServer:
    """Serves the recorded proxy metrics at /metrics/<ns>/<pod>; for stale pods each sample is stamped
    STALE_SECONDS before the scrape (so the newest sample is always about that old, whenever the query runs)."""

    def __init__(self, stale=()):
        text = FIXTURE.read_text(encoding="utf-8")
        stale = set(stale)

        def old() -> str:
            old_ms = int((time.time() - STALE_SECONDS) * 1000)
            return "".join(line if line.startswith("#") or not line.strip() else f"{line.rstrip()} {old_ms}\n"
                           for line in text.splitlines(keepends=True))

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                body = (old() if self.path.split("/", 2)[-1] in stale else text).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Backend:
    """Prometheus 3.5.3 behind basic auth, scraping every proxy target every second."""

    def __init__(self, targets, metrics: MetricsServer, stale: int = 0):
        self.dir = tempfile.mkdtemp(prefix="prom-backend-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        statics = [{"targets": [metrics.address],
                    "labels": dict({k: v for k, v in labels.items() if k not in ("job", "instance")},
                                   __metrics_path__=f"/metrics/{pt.namespace}/{pt.name}")}
                   for pt, labels in targets]
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                  "scrape_configs": [{"job_name": "linkerd-proxy", "static_configs": statics}]}
        cfg, web = os.path.join(self.dir, "prometheus.yml"), os.path.join(self.dir, "web.yml")
        with open(cfg, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh)
        with open(web, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"basic_auth_users": {USER: PASSWORD_HASH}}, fh)
        self.log = open(os.path.join(self.dir, "log"), "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={cfg}", f"--web.config.file={web}",
             f"--web.listen-address=127.0.0.1:{self.port}", f"--storage.tsdb.path={self.dir}/data",
             "--log.level=warn"], stdout=self.log, stderr=subprocess.STDOUT)
        self.expected = len(targets) - stale    # old samples are not in an instant query

    def get(self, path: str, params: dict, auth=(USER, PASSWORD)):
        request = urllib.request.Request(f"{self.url}{path}?{urlencode(params)}")
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()

    def wait_for_data(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"Prometheus exited with {self.proc.returncode}", pytrace=False)
            try:
                _, body = self.get("/api/v1/query", {"query": "count(request_total)"})
                result = json.loads(body)["data"]["result"]
                if result and int(float(result[0]["value"][1])) >= 2 * self.expected:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail("Prometheus did not scrape the recorded proxy metrics in time", pytrace=False)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Front:
    """What the tests talk to: the tape (a proxy to Prometheus, or the recording without one)."""

    def __init__(self, tape: HttpTape):
        self.tape = tape
        self.url = tape.url

    def get(self, path: str, params: dict, auth=(USER, PASSWORD)):
        return self.tape.get(path, params, auth)


@pytest.fixture(scope="module")
def backend():
    if not live():
        tape = HttpTape(EXCHANGES, upstream=None)
        try:
            yield Front(tape)
        finally:
            tape.stop()
        return
    pods = [o for o in mesh_objects() if o.get("kind", "Pod") == "Pod" and "spec" in o
            and "containers" in (o.get("spec") or {}) and o["metadata"].get("namespace")] + [LEGACY]
    targets = proxy_targets(pods)
    assert {pt.name for pt, _ in targets} >= {"web-5b4656675c-826fd", LEGACY["metadata"]["name"]}
    metrics = MetricsServer(stale=[f"emojivoto/{LEGACY['metadata']['name']}"])
    prom = Backend(targets, metrics, stale=1)
    tape = HttpTape(EXCHANGES, upstream=prom.url)
    try:
        prom.wait_for_data()
        yield Front(tape)
    finally:
        tape.stop()
        prom.stop()
        metrics.stop()


@pytest.fixture(autouse=True)
def exchanges(request, backend):
    """Each test's exchanges with the backend: recorded, replayed, or checked against the recording."""
    backend.tape.begin(request.node.name)
    yield
    backend.tape.end()


def _setup(api, config: str = None) -> None:
    scenarios.healthy(api)
    config = config or rendered_config()
    scenarios.set_config(api, config)
    api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets",
                  body=lambda _q: scenarios.targets_json(api, config_text=config))
    # every target the check samples answers /metrics (an unserved port is a 503 the client retries for ~2 s)
    text = scenarios.proxy_metrics_text()
    for pod in api.objects("pods") + [VOTING, LEGACY]:
        spec = pod.get("spec") or {}
        for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            for port in container.get("ports") or []:
                api.set_proxy(pod["metadata"]["namespace"], pod["metadata"]["name"], port["containerPort"],
                              "metrics", body=text)


def _backend_check(stdout: str) -> dict:
    doc = json.loads(stdout)
    category = next(c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-backend")
    assert len(category["checks"]) == 1
    return category["checks"][0]


def check(*extra: str):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    return result, _backend_check(result.stdout)


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("BACKEND_AUTH", f"{USER}:{PASSWORD}")
    return ["--query-basic-auth-from-env", "BACKEND_AUTH"]


# -- against Prometheus --------------------------------------------------------------------------
def test_all_workloads_present(mesh_api, backend, credentials):
    _setup(mesh_api)
    result, entry = check("--query-url", backend.url, *credentials)
    assert entry["result"] == "success", entry
    assert entry["description"] == (f"request_total samples from the last 5m for every scraped workload (5) in "
                                    f"{backend.url}")
    assert result.exit_code in (0, 1)   # other categories may warn; this one passed


def test_one_workload_missing_is_named(mesh_api, backend, credentials):
    _setup(mesh_api)
    mesh_api.add(copy.deepcopy(VOTING))
    result, entry = check("--query-url", backend.url, *credentials)
    assert result.exit_code == 1
    assert entry["result"] == "error"
    lines = entry["error"].splitlines()
    assert lines[0] == f"1 of 6 scraped workloads has no request_total sample in {backend.url} from the last 5m"
    assert lines[1:] == ["    emojivoto/deployment/voting: no sample in the last 1h"]
    assert entry["hint"].endswith("#otel-backend")


def test_stale_samples_fail_with_their_age(mesh_api, backend, credentials):
    _setup(mesh_api)
    mesh_api.add(copy.deepcopy(LEGACY))
    result, entry = check("--query-url", backend.url, *credentials)
    assert result.exit_code == 1
    assert entry["result"] == "error"
    lines = entry["error"].splitlines()
    assert lines[0].startswith("1 of 6 scraped workloads has no request_total sample")
    assert len(lines) == 2 and lines[1].startswith("    emojivoto/deployment/legacy: newest sample 12m")
    assert lines[1].endswith(" old")


def test_wrong_credentials_fail_with_a_hint(mesh_api, backend, monkeypatch):
    _setup(mesh_api)
    monkeypatch.setenv("BACKEND_AUTH", f"{USER}:wrong-{PASSWORD}")
    result, entry = check("--query-url", backend.url, "--query-basic-auth-from-env", "BACKEND_AUTH")
    assert result.exit_code == 1
    assert entry["result"] == "error"
    assert entry["error"] == (f"{backend.url}: HTTP 401: the query API refused the credentials; check "
                              "--query-basic-auth-from-env / --query-header (the backend's user and password or "
                              "token)")
    assert "wrong-" not in result.output and PASSWORD not in result.output


def test_the_metric_name_variant_that_matched_is_named(mesh_api, backend):
    from kubectl_linkerd_otel.scrape import arrival

    _setup(mesh_api)
    params = {"query": "max by (namespace, deployment) (timestamp(request_total))",
              "start": str(time.time() - 600), "end": str(time.time()), "step": "60"}
    _, body = backend.get("/api/v1/query_range", params)
    renamed = json.loads(body)   # as a backend that keeps the receiver's trimmed OTLP name would answer
    workloads = [arrival.Workload("emojivoto", "deployment", "web", selector={"namespace": "emojivoto",
                                                                               "deployment": "web"})]
    verdict = arrival.judge(workloads, {"request_total": {"status": "success", "data": {"result": []}},
                                        "request": renamed}, time.time())
    assert verdict.metric == "request" and [w.ref for w in verdict.fresh] == ["emojivoto/deployment/web"]


# -- the in-cluster OpenObserve, through the service proxy ---------------------------------------
def _openobserve(api, backend, secret_value: str = None):
    """The default install's OpenObserve: its Service, our Secret, the collector exporting to it with the
    Secret's credentials; the fake API server proxies to a fake OpenObserve that forwards to Prometheus."""
    config = rendered_config(endpoint=f"{O2_SERVICE}.{O2_NS}.svc.cluster.local:5081",
                             headers=[("organization", "default"), ("stream-name", "default")])
    config = yaml.safe_load(config)
    exporter = config["exporters"]["otlp_grpc/backend"]
    exporter["headers"]["Authorization"] = "Basic ${env:OTLP_AUTH}"
    config = yaml.safe_dump(config)
    _setup(api, config)
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": O2_NS}})
    api.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": O2_SERVICE, "namespace": O2_NS},
             "spec": {"ports": [{"name": "http", "port": 5080}, {"name": "grpc", "port": 5081}]}})
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    api.add({"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "linkerd-otel-collector-credentials", "namespace": scenarios.NS},
             "data": {"OTLP_AUTH": base64.b64encode((secret_value or token).encode()).decode()}})
    dep = copy.deepcopy(api.get("deployments", "otel-collector", scenarios.NS))
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container.get("env") or [] if e.get("name") != "OTLP_AUTH"]
    container["env"].append(
        {"name": "OTLP_AUTH", "valueFrom": {"secretKeyRef": {"name": "linkerd-otel-collector-credentials",
                                                              "key": "OTLP_AUTH"}}})
    api.add(dep)
    seen = []

    def openobserve(path, query, headers):
        seen.append((path, headers))
        cookie = headers.get("Cookie", "")
        name, _, value = cookie.partition("=")
        tokens = json.loads(value) if name == "auth_tokens" else {}
        if tokens.get("access_token") != f"Basic {token}":
            return 401, "Unauthorized Access", "text/plain"
        if path != "api/default/prometheus/api/v1/query_range":
            return 404, "not found", "text/plain"
        status, body = backend.get("/api/v1/query_range", query)
        return status, body, "application/json"

    api.set_service_proxy(O2_NS, O2_SERVICE, 5080, openobserve)
    return seen, token


def test_finds_the_in_cluster_openobserve_through_the_service_proxy(mesh_api, backend, tmp_path):
    seen, token = _openobserve(mesh_api, backend)
    snapshot = tmp_path / "snap.json"
    result, entry = check("--save-snapshot", str(snapshot))
    assert entry["result"] == "success", entry
    assert entry["description"] == ("request_total samples from the last 5m for every scraped workload (5) in "
                                    "OpenObserve openobserve/openobserve-openobserve-standalone:5080 organization "
                                    "default (through the API server's service proxy)")
    assert seen and all("Authorization" not in h for _, h in seen)   # the API server consumed ours
    saved = snapshot_text(snapshot)
    for secret in (PASSWORD, token):
        assert secret not in result.output and secret not in saved


def test_openobserve_refusing_the_secret_credentials(mesh_api, backend):
    _openobserve(mesh_api, backend, secret_value=base64.b64encode(b"admin:old").decode())
    result, entry = check()
    assert entry["result"] == "error"
    assert "HTTP 401: OpenObserve refused the credentials of the collector's Secret" in entry["error"]
    assert "admin:old" not in result.output


def test_no_query_turns_it_off(mesh_api, backend):
    seen, _ = _openobserve(mesh_api, backend)
    result, entry = check("--no-query")
    assert entry["result"] == "success"
    assert entry["description"] == "metrics arrive in the backend (not asked (--no-query))"
    assert seen == []
