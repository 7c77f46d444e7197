"""Every dashboard panel's query, run by the real Prometheus 3.5.3 over recorded Linkerd proxy metrics, and
the golden panels held equal to what `stat` computes from the same data: two independent computations.

The data: the two reads of every meshed proxy of the demo mesh (the emojivoto mesh `stat --demo` shows;
tests/demo_proxies.py, admin-port traffic included), served by a local HTTP server under the labels our
rendered collector config gives each proxy target (namespace, pod, deployment, ...: the scrape simulation
of scrape/targets.py), each sample stamped:
the first read at T1, the second at T2 = T1 + 32 s. Prometheus scrapes them (the first read until it holds
every one, then the second), so each series holds exactly those two samples, and every panel is evaluated
at T2. 32 s is a power of two: a per-second rate (irate's (v2 - v1) / 32, `stat`'s increase
times 1/32) is exact in binary floating point, so request and success rates must be equal, not close.

The pipeline panels read what Prometheus records per scrape (`up`, `scrape_duration_seconds`,
`scrape_samples_scraped`, as the collector's prometheus receiver does) and a collector self-metrics text
(exporter points sent/failed, queue size), evaluated now.

Without a binary the answers come from tests/golden/prometheus/dashboards.json (prometheus_harness:
replay); with one they are compared with it (scripts/record-prometheus.py re-records).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlencode

import pytest
import yaml

from prometheus_harness import Recording, free_port, live, prometheus_binary

from kubectl_linkerd_otel.render import dashboards as dash
from kubectl_linkerd_otel.stats import golden
from kubectl_linkerd_otel.stats.promql import bucket_quantile

pytestmark = pytest.mark.prometheus

ANSWERS = Recording("dashboards")
WINDOW_SECONDS = 32           # between the two reads (a power of two: rates are exact)
RANGE = "1m"                  # the panels' $window here: holds both samples at T2
COLLECTOR_JOB = "otel-collector"


# -- the recorded data -----------------------------------------------------------------------------
def demo_data():
    """(pods, texts by (namespace, pod): (first, second)): the demo snapshot's pods, and the two answers of
    each demo proxy (tests/demo_proxies.py, with the admin port's own probe and scrape traffic that
    inbound panels must leave out, as `stat` does)."""
    import demo_proxies
    from kubectl_linkerd_otel.source.saved import load

    snap, _ = load(None, True, "stat")
    texts = {(p.me.namespace, p.me.pod): (p.text(1), p.text(2)) for p in demo_proxies.proxies()}
    assert set(texts) == {tuple(key.split("/", 1)) for key in snap.proxy_metrics}
    return snap.pods, texts


def proxy_labels(pods) -> Dict[Tuple[str, str], Dict[str, str]]:
    """(namespace, pod) -> the labels our rendered collector config gives the pod's proxy target."""
    from kubectl_linkerd_otel.render.collector_config import collector_config_text
    from kubectl_linkerd_otel.render.options import InstallOptions
    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import is_proxy_admin, simulate

    config = collector_config_text(InstallOptions(linkerd_namespace="linkerd", insecure=True,
                                                  exporter_endpoint="openobserve.openobserve.svc.cluster.local:5081"))
    sim = simulate(scrape_jobs(yaml.safe_load(config)), pods, own_namespace="linkerd-otel")
    job = sim.job("linkerd-proxy")
    return {(t.pod.namespace, t.pod.name): {k: v for k, v in t.visible().items() if k not in ("job", "instance")}
            for t in job.active if is_proxy_admin(t.info)}


def stamped(text: str, at_ms: int) -> str:
    return "".join(line if line.startswith("#") or not line.strip() else f"{line.rstrip()} {at_ms}\n"
                   for line in text.splitlines(keepends=True))


def collector_text(n: int) -> str:
    """The collector's self-metrics at its n-th scrape: points sent grow, none failed, a queue of 3."""
    exporter = 'exporter="otlp_grpc/backend",service_name="otelcol"'
    return (f"# TYPE otelcol_exporter_sent_metric_points_total counter\n"
            f"otelcol_exporter_sent_metric_points_total{{{exporter}}} {1000 + 640 * n}\n"
            f"# TYPE otelcol_exporter_send_failed_metric_points_total counter\n"
            f"otelcol_exporter_send_failed_metric_points_total{{{exporter}}} 0\n"
            f"# TYPE otelcol_exporter_queue_size gauge\notelcol_exporter_queue_size{{{exporter}}} 3\n")


class MetricsServer:
    """/metrics/<ns>/<pod>: the first read stamped T1 until `second` is set (once Prometheus holds every
    first read: a scrape that failed on a loaded machine is simply repeated), then the second stamped T2;
    /collector: the collector's self-metrics."""

    def __init__(self, texts, t1_ms: int, t2_ms: int):
        self.served: Dict[str, int] = {}
        self.second = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                key = self.path
                n = server.served.get(key, 0)
                if key == "/collector":
                    body = collector_text(n)
                else:
                    ns, pod = key.split("/", 3)[2:4]
                    first, second = texts[(ns, pod)]
                    body = stamped(second, t2_ms) if server.second else stamped(first, t1_ms)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                server.served[key] = n + 1

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.address = f"127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.http.shutdown()
        self.http.server_close()


class Backend:
    def __init__(self, labels, metrics: MetricsServer):
        self.dir = tempfile.mkdtemp(prefix="prom-dash-")
        self.url = f"http://127.0.0.1:{free_port()}"
        statics = [{"targets": [metrics.address], "labels": dict(lab, __metrics_path__=f"/metrics/{ns}/{pod}")}
                   for (ns, pod), lab in sorted(labels.items())]
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},   # a failed scrape is repeated
                  "scrape_configs": [{"job_name": "linkerd-proxy", "static_configs": statics},
                                     {"job_name": COLLECTOR_JOB, "metrics_path": "/collector",
                                      "static_configs": [{"targets": [metrics.address]}]}]}
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh)
        self.log = open(os.path.join(self.dir, "log"), "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={cfg}", f"--web.listen-address={self.url[7:]}",
             f"--storage.tsdb.path={self.dir}/data", "--log.level=warn"], stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, expr: str, at: Optional[float] = None) -> dict:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urlencode(params)}", timeout=10) as r:  # noqa: S310
            return json.loads(r.read().decode())

    def wait(self, ready, what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"Prometheus exited with {self.proc.returncode}", pytrace=False)
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"Prometheus did not {what} in {timeout:.0f}s", pytrace=False)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def data():
    pods, texts = demo_data()
    labels = proxy_labels(pods)
    assert set(labels) == set(texts), "every read proxy is a target of our config's proxy job"
    return pods, texts, labels


@pytest.fixture(scope="module")
def prometheus(data):
    """(ask(expr, golden) -> Prometheus' answer, T2): live, or None in replay mode."""
    if not live():
        yield None
        return
    _, texts, labels = data
    t2 = math.floor(time.time()) - 10
    t1 = t2 - WINDOW_SECONDS
    metrics = MetricsServer(texts, t1 * 1000, t2 * 1000)
    backend = Backend(labels, metrics)
    expected = sum(1 for first, _ in texts.values() for line in first.splitlines() if line.startswith("response_total"))
    try:
        def first_reads():
            answer = backend.query("count(response_total)", t1)["data"]["result"]
            return answer and int(float(answer[0]["value"][1])) == expected
        backend.wait(first_reads, "store the first read of every proxy")
        metrics.second = True

        def both_reads():
            answer = backend.query("count(irate(response_total[1m]))", t2)["data"]["result"]
            return answer and int(float(answer[0]["value"][1])) == expected
        backend.wait(both_reads, "store both reads of every proxy")
        sent = "sum(rate(otelcol_exporter_sent_metric_points_total[1m]))"
        backend.wait(lambda: backend.query(sent)["data"]["result"],
                     "scrape the collector's self-metrics twice")
        yield backend, t2
    finally:
        backend.stop()
        metrics.stop()


def result(prometheus, expr: str, golden_panel: bool) -> List[Tuple[Dict[str, str], float]]:
    """(labels, value) per series of an instant query: at T2 for the proxies' panels, now for the pipeline."""
    def ask():
        backend, t2 = prometheus
        answer = backend.query(expr, t2 if golden_panel else None)
        assert answer["status"] == "success", answer
        return sorted(([item["metric"], item["value"][1]] for item in answer["data"]["result"]),
                      key=lambda pair: json.dumps(pair[0], sort_keys=True))

    def normalise(value):    # the pipeline's values change from run to run (scrape durations, growing counters)
        return value if golden_panel else [labels for labels, _ in value]

    answer = ANSWERS.answer(expr, expr, ask, normalise)
    return [(labels, float(value)) for labels, value in answer]


# -- every panel returns data --------------------------------------------------------------------
SHOWN = {"namespace": "emojivoto", "kind": "deployment", "workload": "web"}


@pytest.mark.parametrize("name,title", [(d.name, p.title) for d in dash.dashboards() for p in d.panels()])
def test_every_panel_returns_data(prometheus, name, title):
    dashboard = next(d for d in dash.dashboards() if d.name == name)
    panel = next(p for p in dashboard.panels() if p.title == title)
    series = result(prometheus, dash.query(panel, RANGE, SHOWN), name != "pipeline")
    assert series, f"{name}/{title}: no data"
    assert any(math.isfinite(v) for _, v in series), series


# -- the golden panels equal `stat` ------------------------------------------------------------------
def stat_rows(data, kind: str, outbound: bool = False):
    pods, texts, _ = data
    t1 = 1_000_000.0
    readings = {key: (first, t1, second, t1 + WINDOW_SECONDS) for key, (first, second) in texts.items()}
    return golden.summarize_texts(pods, readings, {}, kind=kind, outbound=outbound).rows


def expected(traffic: golden.Traffic, what: str) -> Optional[float]:
    if what == "rps":
        return traffic.rps
    if what == "success":
        return traffic.success_rate
    if what in ("p50", "p95", "p99"):
        return traffic.latency(int(what[1:]) / 100)
    return {"tcp": traffic.tcp_open, "read": traffic.read_bytes, "write": traffic.write_bytes}[what]


def bucket_width(traffic: golden.Traffic, value: float) -> float:
    """The width of the latency bucket holding `value`: the most two interpolations may differ by."""
    bounds = sorted(b for b in traffic.buckets if math.isfinite(b))
    lower = max([b for b in bounds if b < value], default=0.0)
    upper = min([b for b in bounds if b >= value], default=bounds[-1] if bounds else 0.0)
    return upper - lower


def assert_equal(got: Optional[float], want: Optional[float], what: str, traffic: golden.Traffic, where: str):
    if want is None:
        assert got is None or math.isnan(got), f"{where} {what}: Prometheus {got}, stat has none"
        return
    if got is None and want == 0 and what in ("rps", "tcp", "read", "write"):
        return      # no series of that traffic at all: the panel shows nothing, `stat` a zero
    assert got is not None, f"{where} {what}: Prometheus has no series, stat {want}"
    if what in ("p50", "p95", "p99"):
        # within one bucket's interpolation (the bound); in practice they agree to rounding
        assert abs(got - want) <= bucket_width(traffic, want), f"{where} {what}: Prometheus {got}, stat {want}"
        assert got == pytest.approx(want, rel=1e-9), f"{where} {what}: Prometheus {got}, stat {want}"
    else:
        assert got == want, f"{where} {what}: Prometheus {got!r}, stat {want!r} (must be equal)"


def golden_panels(name: str, row_prefix: str = ""):
    dashboard = next(d for d in dash.dashboards() if d.name == name)
    return [(row.title, p) for row in dashboard.rows for p in row.panels
            if p.golden and row.title.startswith(row_prefix)]


def test_overview_equals_stat_per_namespace(prometheus, data):
    rows = {row.namespace: row for row in stat_rows(data, "namespace")}
    assert {"emojivoto", "linkerd"} <= set(rows)
    compared = 0
    for _, panel in golden_panels("overview"):
        got = {labels.get("namespace"): value for labels, value in result(prometheus, dash.query(panel, RANGE), True)}
        for namespace, row in rows.items():
            assert_equal(got.get(namespace), expected(row.traffic, panel.golden), panel.golden, row.traffic,
                         f"overview {namespace}")
            compared += 1
    assert compared == 5 * len(rows)


def test_workload_inbound_and_tcp_equal_stat(prometheus, data):
    rows = stat_rows(data, "deployment")
    assert {r.name for r in rows} >= {"web", "emoji", "voting"}
    for row in rows:
        values = {"namespace": row.namespace, "kind": "deployment", "workload": row.name}
        for row_title, panel in golden_panels("workload"):
            if row_title.startswith("Outbound"):
                continue
            series = result(prometheus, dash.query(panel, RANGE, values), True)
            assert len(series) <= 1, series
            got = series[0][1] if series else None
            assert_equal(got, expected(row.traffic, panel.golden), panel.golden, row.traffic,
                         f"workload {row.namespace}/{row.name}")


def test_workload_outbound_equals_stat_per_destination(prometheus, data):
    rows = [r for r in stat_rows(data, "deployment", outbound=True) if r.destination]
    assert len({(r.namespace, r.name) for r in rows}) >= 3
    for row_title, panel in golden_panels("workload", "Outbound"):
        for source in sorted({(r.namespace, r.name) for r in rows}):
            values = {"namespace": source[0], "kind": "deployment", "workload": source[1]}
            got = {golden._destination(labels): value
                   for labels, value in result(prometheus, dash.query(panel, RANGE, values), True)}
            want = {r.destination: r for r in rows if (r.namespace, r.name) == source}
            assert set(got) == set(want), (source, panel.title)
            for dest, row in want.items():
                assert_equal(got[dest], expected(row.traffic, panel.golden), panel.golden, row.traffic,
                             f"outbound {source[0]}/{source[1]} -> {dest}")


def test_promql_quantile_engine_is_prometheus():
    """`stat`'s quantile is Prometheus' algorithm (stats/promql.py): a bucket set both agree on by hand."""
    assert bucket_quantile(0.5, [(10.0, 1.0), (20.0, 3.0), (float("inf"), 4.0)]) == 15.0
