"""End to end on loopback, no cluster: the real collector (scripts/otelcol.sh) runs the config `install`
renders, discovers the fake API server's pods (pod IPs in a /24 of 127.77.0.0/16) through its real Kubernetes
client, scrapes the fake proxies on <podIP>:4191 and exports over OTLP/HTTP to a real Prometheus 3
(scripts/prometheus-otlp.sh). The plugin's view is then held against what really happened."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from fakekube import FakeApiServer
from helpers import run_cli
from realcollector import loopback

DEADLINE_S = 180       # the collector's first scrapes of every target, on a loaded 2-core machine


def _rendered(*args: str) -> dict:
    result = run_cli("install", "--dry-run", "client", "-o", "json", "--linkerd-namespace", "linkerd", *args)
    assert result.exit_code == 0, result.output
    for obj in json.loads(result.stdout)["items"]:
        if obj["kind"] == "ConfigMap":
            return yaml.safe_load(obj["data"]["config.yaml"])
    raise AssertionError("no ConfigMap rendered")


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))
    else:
        yield prefix, value


def test_as_in_pod_changes_only_what_a_pod_gives():
    """The one change made to the rendered config: API server, token, CA, listening addresses."""
    for mode in ("deployment", "daemonset"):
        config = _rendered("--mode", mode)
        ports = {port: 40000 + index for index, port in enumerate(loopback.listen_ports(config))}
        changed = loopback.as_in_pod(config, api_server="https://127.0.0.1:1", token_file="/t",
                                     ca_file="/ca", ports=ports)
        before, after = dict(_paths(config)), dict(_paths(changed))
        removed = {p for p in before if p not in after}
        differs = {p for p in before if p in after and before[p] != after[p]}
        added = {p for p in after if p not in before}
        assert not removed
        assert {p[-1] for p in added} == {"api_server", "credentials_file", "ca_file"}
        assert all("kubernetes_sd_configs" in p for p in added)
        assert {p[-1] for p in differs} == {"endpoint", "host", "port"}
        assert {before[p] for p in differs} == {"0.0.0.0:13133", "0.0.0.0:9090", "0.0.0.0", 8888}


def _get_json(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def _wait(what: str, probe, deadline_s: float = DEADLINE_S, proc=None, log: Path = None):
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended (exit {proc.returncode}):\n"
                                 f"{log.read_text()[-3000:] if log else ''}")
        try:
            last = probe()
            if last:
                return last
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"{what}: not within {deadline_s} s (last: {str(last)[:500]})\n"
                         f"{log.read_text()[-3000:] if log else ''}")


BCRYPT_RIGHT_PASSWORD = "$2b$04$0ztFD2W1IMIY6JkaotCaleAKUguMKxApqrWrL10S/xe3t0hcHcNLa"   # "right-password"


class Prometheus:
    """A real Prometheus 3 taking OTLP on /api/v1/otlp/v1/metrics and answering PromQL; with
    `basic_auth`, its web config asks every request for user `collector`, password `right-password`."""

    def __init__(self, binary: str, workdir: Path, basic_auth: bool = False):
        self.workdir = workdir
        port = loopback.free_port()
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\n", encoding="utf-8")
        args = [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir}/tsdb",
                f"--web.listen-address=127.0.0.1:{port}", "--web.enable-otlp-receiver"]
        if basic_auth:
            web = workdir / "web.yml"
            web.write_text(f"basic_auth_users:\n  collector: '{BCRYPT_RIGHT_PASSWORD}'\n", encoding="utf-8")
            args.append(f"--web.config.file={web}")
        self.log = workdir / "prometheus.log"
        self.proc = subprocess.Popen(args, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"

        def ready():
            try:
                return urllib.request.urlopen(self.url + "/-/ready", timeout=5).status == 200
            except urllib.error.HTTPError as exc:
                return exc.code == 401
        _wait("Prometheus ready", ready, 60, self.proc, self.log)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def backend(prometheus_otlp, tmp_path):
    prometheus = Prometheus(prometheus_otlp, tmp_path)
    yield prometheus.url
    prometheus.stop()


def _query(url: str, promql: str):
    return _get_json(url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))["data"]["result"]


INBOUND = 'namespace="emojivoto",direction="inbound",target_port!="4191"'


def _golden(backend: str) -> dict:
    """Per deployment of emojivoto: success rate, RPS, p50 and p99 latency (ms) as PromQL computes them
    from what the collector exported (viz's queries, the admin port left out as `stat` does)."""
    out: dict = {}
    window = "[20s]"
    # rate() over a window the series do not yet fill extrapolates short: wait for 24 s of samples
    # (scraped every 2 s) before asking
    samples = _query(backend, f"min(count_over_time(response_total{{{INBOUND}}}[1m]))")
    if not samples or float(samples[0]["value"][1]) < 13:
        return out
    queries = {
        "success": f'sum by (deployment) (increase(response_total{{{INBOUND},classification="success"}}{window}))'
                   f' / sum by (deployment) (increase(response_total{{{INBOUND}}}{window}))',
        "rps": f"sum by (deployment) (rate(response_total{{{INBOUND}}}{window}))",
        "p50": f"histogram_quantile(0.5, sum by (deployment, le) (rate(response_latency_ms_bucket{{{INBOUND}}}{window})))",
        "p99": f"histogram_quantile(0.99, sum by (deployment, le) (rate(response_latency_ms_bucket{{{INBOUND}}}{window})))",
    }
    for key, promql in queries.items():
        for row in _query(backend, promql):
            value = float(row["value"][1])
            if value == value:      # not NaN
                out.setdefault(row["metric"].get("deployment"), {})[key] = value
    return out


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode("utf-8")


def _mesh_on_loopback(api: FakeApiServer, prefix: str, mutate_pods=None, rbac: bool = True) -> list:
    """The shared harness mesh (with the reference collector's objects) in the fake API server, its pods
    with loopback IPs; the collector's pod as scenarios.healthy leaves it (pinned image, RBAC)."""
    import scenarios
    from conftest import mesh_objects

    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in loopback.loopback_pods(prefix)}
    if mutate_pods is not None:
        mutate_pods(pods)
    for obj in mesh_objects():
        if obj.get("kind") == "Pod":
            obj = dict(pods[(obj["metadata"]["namespace"], obj["metadata"]["name"])], apiVersion="v1", kind="Pod")
        api.add(obj)
    scenarios.reference(api, rbac=rbac)
    api.remove("pods", "web-697cdddb99-5t22j", "other-mesh")     # as scenarios.healthy: another mesh's
    scenarios._set_image(api, "otel/opentelemetry-collector:0.159.0")
    return [p for p in api.objects("pods")]


class LoopbackRun:
    """The fake API server with the mesh on loopback, the fake proxies, and the real collector running
    the config `install` renders (with `install_args`), changed only by loopback.as_in_pod. The
    collector's pod answers pods/proxy (self-metrics, /api/v1/targets) from the real collector, and its
    pods/log with the real collector's output."""

    def __init__(self, otelcol: str, tmp_path: Path, monkeypatch, install_args=(), env=None,
                 mutate_pods=None, mutate_config=None, rbac: bool = True):
        import base64

        import scenarios

        self.tmp = tmp_path
        self.api = FakeApiServer(tls=True).start()
        monkeypatch.setenv("KUBECONFIG", self.api.kubeconfig(str(tmp_path / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        self.subnet = loopback.Subnet()
        self.pods = _mesh_on_loopback(self.api, self.subnet.prefix, mutate_pods, rbac)
        if not rbac:
            # what the API server answers the collector's service account without its ClusterRole's binding
            user = scenarios.SA_USER
            body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": f'pods is forbidden: User "{user}" cannot list resource "pods" in API group "" '
                               f'at the cluster scope', "reason": "Forbidden", "details": {"kind": "pods"},
                    "code": 403}
            self.api.answer(json.dumps(body).encode(), path=r"^/api/v1/(namespaces/[^/]+/)?pods$", status=403,
                            agent=r"^Prometheus/")
        for name, value in (env or {}).items():
            # the pod's env from the credentials Secret, as install wires it
            scenarios._set_secret_env(self.api, name)
            secret = self.api.get("secrets", "otel-credentials", scenarios.NS) or {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "otel-credentials", "namespace": scenarios.NS}, "data": {}}
            secret["data"][name] = base64.b64encode(value.encode()).decode()
            self.api.add(secret)
        self.proxies = loopback.FakeProxies(self.pods).start()
        self.config = _rendered(*install_args)
        if mutate_config is not None:
            mutate_config(self.config)
        self.rendered_text = yaml.safe_dump(self.config, sort_keys=False)
        scenarios._set_config(self.api, self.rendered_text)
        token = tmp_path / "token"
        token.write_text(self.api.token)
        self.ports = {port: loopback.free_port() for port in loopback.listen_ports(self.config)}
        run = loopback.as_in_pod(self.config, api_server=self.api.url, token_file=str(token),
                                 ca_file=self.api.ca_file, ports=self.ports)
        (tmp_path / "rendered.yaml").write_text(self.rendered_text)
        (tmp_path / "run.yaml").write_text(yaml.safe_dump(run, sort_keys=False))
        (tmp_path / "pods.json").write_text(json.dumps({"kind": "PodList", "apiVersion": "v1",
                                                        "items": self.pods}))
        self.log = tmp_path / "otelcol.log"
        run_env = dict(env or {}, PATH=os.environ.get("PATH", ""), GOMEMLIMIT="400MiB", HOME=str(tmp_path))
        self.proc = subprocess.Popen([otelcol, f"--config={tmp_path / 'run.yaml'}"], env=run_env,
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.receiver = f"http://127.0.0.1:{self.ports['9090']}"
        self_metrics = f"http://127.0.0.1:{self.ports['8888']}"
        self.api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets",
                           body=lambda _q: _fetch(self.receiver + "/api/v1/targets"))
        self.api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 8888, "metrics",
                           body=lambda _q: _fetch(self_metrics + "/metrics"))
        # the proxies answer `check` through pods/proxy as they answer the collector
        for pod in self.pods:
            ip = pod["status"].get("podIP", "")
            if pod["status"].get("phase") != "Running":
                continue
            for container in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
                for port in container.get("ports") or []:
                    if str(port.get("name", "")).endswith("admin"):
                        url = f"http://{ip}:{port['containerPort']}/metrics"
                        self.api.set_proxy(pod["metadata"]["namespace"], pod["metadata"]["name"],
                                           port["containerPort"], "metrics", body=lambda _q, u=url: _fetch(u))

    def expected_targets(self) -> set:
        expected = json.loads(run_cli("targets", "--config", str(self.tmp / "rendered.yaml"), "--pods",
                                      str(self.tmp / "pods.json"), "-o", "json").stdout)
        return {(t["scrapePool"], t["scrapeUrl"], json.dumps(t["labels"], sort_keys=True))
                for t in expected["data"]["activeTargets"]}

    def wait_targets_up(self, count: int) -> list:
        def all_up():
            targets = _get_json(self.receiver + "/api/v1/targets")["data"]["activeTargets"]
            return targets if len(targets) >= count and all(t["health"] == "up" for t in targets) else None
        return _wait("every target scraped and up", all_up, proc=self.proc, log=self.log)

    def wait_log(self, text: str, exited: bool = False) -> None:
        _wait(f"{text!r} in the collector's log", lambda: text in self.log.read_text(errors="replace"),
              proc=None if exited else self.proc, log=self.log)

    def check(self, *args: str):
        """`check` as a user runs it: (exit code, {description: (category, result, error)}, report)."""
        import scenarios

        self.api.set_logs(scenarios.NS, scenarios.COLLECTOR_POD, scenarios.COLLECTOR_CONTAINER,
                          self.log.read_text(errors="replace"))
        result = run_cli("check", "-o", "json", *args)
        (self.tmp / "check.json").write_text(result.stdout)
        report = json.loads(result.stdout)
        results = {k["description"]: (c["categoryName"], k["result"], k["error"])
                   for c in report["categories"] for k in c["checks"]}
        return result.exit_code, results

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proxies.stop()
        self.api.stop()
        self.subnet.close()


def _not_passed(results: dict) -> dict:
    return {d: r for d, r in results.items() if r[1] not in ("success", "skipped")}


@pytest.mark.otelcol
def test_healthy_run(otelcol_core, backend, tmp_path, monkeypatch):
    """The real collector runs the rendered config: the targets it scrapes are the ones `targets`
    expects, every scraped workload's metrics arrive in the real backend, and `check` passes, reading
    the collector's real logs, self-metrics and /api/v1/targets through the fake API server."""
    run = LoopbackRun(otelcol_core, tmp_path, monkeypatch,
                      install_args=("--exporter-protocol", "http", "--exporter-endpoint",
                                    backend + "/api/v1/otlp", "--insecure", "--scrape-interval", "2s"))
    try:
        want = run.expected_targets()
        assert want
        real = run.wait_targets_up(len(want))
        got = {(t["scrapePool"], t["scrapeUrl"], json.dumps(t["labels"], sort_keys=True)) for t in real}
        assert got == want

        # every scraped workload arrives in the backend, with the labels the relabeling gave it
        scraped = {(t["labels"].get("namespace"), t["labels"].get("pod")) for t in real
                   if t["scrapePool"] == "linkerd-proxy"}
        promql = 'count by (namespace, pod) (request_total{job="linkerd-proxy"})'
        rows = _wait("the exported request_total in Prometheus",
                     lambda: (lambda r: r if len(r) >= len(scraped) else None)(_query(backend, promql)),
                     proc=run.proc, log=run.log)
        assert {(r["metric"].get("namespace"), r["metric"].get("pod")) for r in rows} == scraped

        code, results = run.check("--query-url", backend)
        # the one warning is true: the loopback backend takes OTLP over plain http
        assert _not_passed(results) == {"export to outside the cluster is encrypted": (
            "linkerd-otel-exporter", "warning", results["export to outside the cluster is encrypted"][2])}, \
            _not_passed(results)
        assert code == 0
        checked = [d for d, r in results.items() if r[1] == "success"]
        for says in (f"{len(want)} targets scraped", f"{len(want)} up, 0 down",
                     f"request_total samples from the last 5m for every scraped workload ({len(scraped)}) in "
                     f"{backend}", "metric points sent", "no scrape failures in the logs",
                     "no export retries or drops in the logs"):
            assert any(says in d for d in checked), (says, "\n".join(sorted(checked)))

        # `targets` as a user runs it: its simulation and the real receiver's targets, merged, agree
        live = run_cli("targets", "-o", "json")
        assert live.exit_code == 0, live.output[-2000:]
        merged = json.loads(live.stdout)["data"]["activeTargets"]
        assert {t["linkerdOtel"]["source"] for t in merged} == {"both"}, \
            [(t["scrapeUrl"], t["linkerdOtel"]["source"]) for t in merged]
        assert {(t["scrapePool"], t["scrapeUrl"], json.dumps(t["labels"], sort_keys=True)) for t in merged} == want

        # `stat` over the fake proxies (read through pods/proxy) = PromQL over what the collector exported
        stat = run_cli("stat", "deploy", "-n", "emojivoto", "--interval", "4s", "-o", "json")
        assert stat.exit_code == 0, stat.output[-2000:]
        rows = {row["name"]: row for row in json.loads(stat.stdout)}
        assert set(rows) == {"emoji", "web"}, rows
        computed = _wait("the backend's golden metrics for both workloads",
                         lambda: (lambda g: g if set(g) == set(rows) and all(len(v) == 4 for v in g.values())
                                  else None)(_golden(backend)), proc=run.proc, log=run.log)
        for name, row in rows.items():
            ours = row["linkerdOtel"]
            success, rps, p50, p99 = (computed[name][k] for k in ("success", "rps", "p50", "p99"))
            assert row["success"] == pytest.approx(success, rel=1e-6), (name, row, computed[name])
            assert ours["latencyMs"]["p50"] == pytest.approx(p50, rel=1e-3), (name, row, computed[name])
            assert ours["latencyMs"]["p99"] == pytest.approx(p99, rel=1e-3), (name, row, computed[name])
            # rates: both windows see the same pace; only when each sample was taken differs
            assert row["rps"] == pytest.approx(rps, rel=0.1), (name, row, computed[name])
    finally:
        run.stop()


def _rename_admin_port(pods: dict) -> None:
    """emoji's proxy names its admin port `admin-http` instead of `linkerd-admin`."""
    pod = pods[("emojivoto", "emoji-547b6957d6-s59rz")]
    for container in pod["spec"]["containers"]:
        for port in container.get("ports") or []:
            if port.get("name") == "linkerd-admin":
                port["name"] = "admin-http"


def _typo_in_exporter(config: dict) -> None:
    exporter = config["exporters"][next(iter(config["exporters"]))]
    exporter["endpiont"] = exporter.pop("endpoint")


# name -> what breaks; what the collector logs (waited for); the check that must name it: (category,
# description start, words its error must hold)
BROKEN = {
    "credentials-refused": ("Exporting failed", ("linkerd-otel-logs", "no export retries or drops", "401")),
    "backend-down": ("Exporting failed", ("linkerd-otel-logs", "no export retries or drops", "connection refused")),
    "admin-port-misnamed": (None, ("linkerd-data-plane", "every proxy exposes the linkerd-admin port", "emoji")),
    "config-rejected": ("has invalid keys", ("linkerd-otel-logs", "no config errors in the logs", "endpiont")),
    "rbac-refused": ("is forbidden", ("linkerd-otel-logs", "no RBAC errors", "is forbidden")),
}


@pytest.mark.otelcol
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_run(name, otelcol_core, prometheus_otlp, tmp_path, monkeypatch):
    """One thing broken at a time: the real collector does and logs what it really does, and `check`
    names the cause in the right category."""
    import base64

    prometheus = Prometheus(prometheus_otlp, tmp_path, basic_auth=(name == "credentials-refused"))
    endpoint = prometheus.url + "/api/v1/otlp"
    install = ["--exporter-protocol", "http", "--insecure", "--scrape-interval", "2s"]
    env, mutate_pods, mutate_config, query = {}, None, None, ["--query-url", prometheus.url]
    if name == "credentials-refused":
        # install keeps USER:PASSWORD in the Secret; the pod gets it as OTLP_AUTH: here a wrong one
        install += ["--basic-auth", "collector:right-password"]
        env["OTLP_AUTH"] = base64.b64encode(b"collector:a-wrong-password").decode()
        monkeypatch.setenv("QUERY_AUTH", "collector:right-password")
        query += ["--query-basic-auth-from-env", "QUERY_AUTH"]
    if name == "backend-down":
        prometheus.stop()
    if name == "admin-port-misnamed":
        mutate_pods = _rename_admin_port
    if name == "config-rejected":
        mutate_config = _typo_in_exporter
    run = LoopbackRun(otelcol_core, tmp_path, monkeypatch, install_args=["--exporter-endpoint", endpoint] + install,
                      env=env, mutate_pods=mutate_pods, mutate_config=mutate_config,
                      rbac=(name != "rbac-refused"))
    try:
        logged, (category, description, words) = BROKEN[name]
        if logged:
            run.wait_log(logged, exited=(name == "config-rejected"))
        else:
            run.wait_targets_up(len(run.expected_targets()))
        code, results = run.check(*query)
        failing = _not_passed(results)
        print(name, json.dumps(failing, indent=1))
        assert code == 1
        named = [(d, r) for d, r in failing.items() if d.startswith(description)]
        assert named and named[0][1][0] == category and words in named[0][1][2], failing
    finally:
        run.stop()
        prometheus.stop()
