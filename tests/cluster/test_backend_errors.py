"""`check`'s backend category when the query API cannot answer as it should: one failed check with a hint,
never a traceback, and a slow backend does not hold the other categories up beyond --query-timeout."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import scenarios
from helpers import run_cli


class Answering:
    """A local HTTP server answering every request with (status, content type, body) after `delay` s."""

    def __init__(self, status: int, body: str, content_type: str = "text/html", delay: float = 0.0):
        stop = self.stop_event = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                if delay:
                    stop.wait(delay)
                payload = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def answering():
    servers = []

    def make(*args, **kwargs):
        servers.append(Answering(*args, **kwargs))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def backend_entry(stdout: str) -> dict:
    doc = json.loads(stdout)
    return next(c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-backend")["checks"][0]


def check(*extra):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    assert "Traceback" not in result.output
    return result, backend_entry(result.stdout)


def test_not_configured_is_skipped_with_how_to_turn_it_on(mesh_api):
    scenarios.healthy(mesh_api)
    result, entry = check()
    assert result.exit_code == 0
    assert entry == {"description": "metrics arrive in the backend (not asked: pass --query-url with the backend's "
                                    "Prometheus-compatible query API (the base before /api/v1/query) to check that "
                                    "the metrics arrive)", "hint": "", "error": "", "result": "success"}
    human = run_cli("check", "--metrics-interval=0s")
    # a category that does not apply is one line at the end, saying how to turn it on
    lines = [line for line in human.stdout.splitlines() if "linkerd-otel-backend" in line]
    assert lines == ["- linkerd-otel-backend does not apply: not asked: pass --query-url with the backend's "
                     "Prometheus-compatible query API (the base before /api/v1/query) to check that the metrics "
                     "arrive"]


def test_an_html_page_is_one_failed_check_with_a_hint(mesh_api, answering):
    scenarios.healthy(mesh_api)
    server = answering(200, "<!DOCTYPE html><html><head><title>Login</title></head></html>")
    result, entry = check("--query-url", server.url)
    assert result.exit_code == 1
    assert entry["result"] == "error"
    assert entry["error"] == (f"{server.url}: HTTP 200: the answer is an HTML page, not the Prometheus API: "
                              "--query-url points at a UI or a login page, not at the base before /api/v1/query")


def test_404_says_what_the_url_should_be(mesh_api, answering):
    scenarios.healthy(mesh_api)
    server = answering(404, "404 page not found", "text/plain")
    _, entry = check("--query-url", server.url + "/wrong")
    assert entry["error"].startswith(f"{server.url}/wrong: HTTP 404: no query API at this URL; --query-url is the "
                                     "base before /api/v1/query")


def test_a_slow_backend_does_not_hold_up_the_other_categories(mesh_api, answering):
    scenarios.healthy(mesh_api)
    server = answering(200, "{}", "application/json", delay=600)
    started = time.monotonic()
    result, entry = check("--query-url", server.url, "--query-timeout", "1s")
    elapsed = time.monotonic() - started
    assert elapsed < 60, elapsed      # far below the backend's 600 s: cut at --query-timeout
    assert entry["result"] == "error"
    assert entry["error"] == (f"{server.url}: {server.url} did not answer within 1s; raise --query-timeout if "
                              "the backend is just slow")
    others = [c for c in json.loads(result.stdout)["categories"] if c["categoryName"] != "linkerd-otel-backend"]
    assert all(k["result"] == "success" for c in others for k in c["checks"])


def test_connection_refused(mesh_api, answering):
    from prometheus_harness import free_port

    scenarios.healthy(mesh_api)
    url = f"http://127.0.0.1:{free_port()}"
    _, entry = check("--query-url", url)
    assert entry["error"].startswith(f"{url}: cannot connect to {url}: ")


@pytest.mark.parametrize("args, message", [
    (["--query-url", "ftp://x"], "--query-url 'ftp://x' is not an http(s) URL"),
    (["--query-url", "http://u:p@host:9090"], "--query-url must not hold credentials"),
    (["--query-url", "http://h", "--query-basic-auth-from-env", "NOPE_NOT_SET"],
     "--query-basic-auth-from-env NOPE_NOT_SET: the environment variable is not set"),
    (["--query-header", "X-Scope-OrgID=t"], "need --query-url"),
    (["--query-url", "http://h", "--query-header", "novalue"], "--query-header expects NAME=VALUE"),
    (["--query-url", "http://h", "--no-query"], "--no-query and --query-url contradict each other"),
    (["--query-url", "http://h", "--query-ca-file", "/nonexistent.pem"], "--query-ca-file /nonexistent.pem: cannot read"),
])
def test_bad_flags_are_one_line_errors(mesh_api, args, message):
    result = run_cli("check", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "u:p@" not in result.stderr   # a URL's credentials are not echoed


def test_the_answers_are_kept_in_a_snapshot_and_checked_offline(mesh_api, answering, tmp_path):
    scenarios.healthy(mesh_api)
    server = answering(401, "Unauthorized", "text/plain")
    snap = tmp_path / "s.json"
    _, online = check("--query-url", server.url, "--save-snapshot", str(snap))
    offline = run_cli("check", "-o", "json", "--snapshot", str(snap))
    assert backend_entry(offline.stdout) == online
    assert online["error"].startswith(f"{server.url}: HTTP 401: the query API refused the credentials")


def _exporting_to(api, endpoint: str) -> None:
    scenarios.healthy(api)
    scenarios.set_config(api, scenarios.HEALTHY_CONFIG.replace(
        "    endpoint: openobserve.openobserve.svc.cluster.local:5081",
        f"    endpoint: {endpoint}").replace("otlp_grpc/backend", "otlp_http/backend"))


@pytest.mark.parametrize("endpoint, said", [
    ("https://ingress.eu2.coralogix.com:443",
     "not asked: Coralogix's query API for this exporter's region: pass --query-url "
     "https://api.eu2.coralogix.com/metrics with --query-header 'Authorization=Bearer <API key with the "
     "DataQuerying role>'"),
    ("https://otlp.datadoghq.eu",
     "not asked: Datadog offers no Prometheus-compatible query API, so check cannot see the metrics arrive"),
    ("https://otlp-gateway-prod-eu-west-2.grafana.net/otlp",
     "not asked: pass --query-url with your stack's Prometheus query endpoint (its Details page in the Grafana "
     "Cloud portal) and --query-basic-auth-from-env VAR (its instance id:a token allowed to read metrics)"),
])
def test_a_backend_preset_says_how_its_arrival_is_checked(mesh_api, endpoint, said):
    _exporting_to(mesh_api, endpoint)
    human = run_cli("check", "--metrics-interval=0s")
    lines = [line for line in human.stdout.splitlines() if "linkerd-otel-backend" in line]
    assert lines == [f"- linkerd-otel-backend does not apply: {said}"]
