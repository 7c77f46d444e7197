"""`dashboard --apply`: the plugin's real HTTP client against local fakes answering as each product's
documented API does (Grafana's dashboard HTTP API: GET /api/dashboards/uid/<uid>, POST /api/dashboards/db,
DELETE /api/dashboards/uid/<uid>; OpenObserve's /api/<org>/dashboards handlers). A refusal leaves the
product as it was: nothing of the run half-written."""
from __future__ import annotations

import base64
import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from helpers import run_cli

TOKEN = "glsa_0123456789abcdef"
O2_USER, O2_PASSWORD = "root@example.com", "Complexpass#123"


class Fake:
    """A tiny JSON API on 127.0.0.1: `handle(method, path, query, body, authorization) -> (status, doc)`."""

    def __init__(self):
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((self.command, url.path))
                status, doc = fake.handle(self.command, url.path, parse_qs(url.query), body,
                                          self.headers.get("Authorization"))
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakeGrafana(Fake):
    def __init__(self, refuse=None):
        super().__init__()
        self.dashboards = {}            # uid -> (dashboard, folderUid)
        self.refuse = refuse or {}      # uid -> (status, doc) for POST
        self.next_id = 1

    def handle(self, method, path, query, body, authorization):
        if authorization != f"Bearer {TOKEN}":
            return 401, {"message": "Unauthorized"}
        if method == "GET" and path.startswith("/api/dashboards/uid/"):
            uid = path.rsplit("/", 1)[1]
            if uid not in self.dashboards:
                return 404, {"message": "Dashboard not found"}
            dashboard, folder = self.dashboards[uid]
            return 200, {"dashboard": dashboard, "meta": {"folderUid": folder, "slug": uid}}
        if method == "POST" and path == "/api/dashboards/db":
            dashboard = body["dashboard"]
            uid = dashboard["uid"]
            if uid in self.refuse:
                return self.refuse[uid]
            if uid in self.dashboards and not body.get("overwrite"):
                return 412, {"message": "A dashboard with the same uid already exists", "status": "name-exists"}
            old = self.dashboards.get(uid)
            version = (old[0].get("version", 0) if old else 0) + 1
            self.dashboards[uid] = (dict(dashboard, id=self.next_id, version=version), body.get("folderUid", ""))
            self.next_id += 1
            return 200, {"id": self.next_id - 1, "uid": uid, "url": f"/d/{uid}/x", "status": "success",
                         "version": version, "slug": "x"}
        if method == "DELETE" and path.startswith("/api/dashboards/uid/"):
            uid = path.rsplit("/", 1)[1]
            if self.dashboards.pop(uid, None) is None:
                return 404, {"message": "Dashboard not found"}
            return 200, {"title": uid, "message": f"Dashboard {uid} deleted", "id": 1}
        return 404, {"message": "Not found"}


class FakeOpenObserve(Fake):
    def __init__(self, refuse_title=None):
        super().__init__()
        self.dashboards = {}    # id -> v8 dashboard
        self.refuse_title = refuse_title
        self.next_id = 1

    def handle(self, method, path, query, body, authorization):
        expected = "Basic " + base64.b64encode(f"{O2_USER}:{O2_PASSWORD}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 401, "message": "Unauthorized Access"}
        if not path.startswith("/api/default/dashboards") or query.get("folder") != ["default"]:
            return 404, {"code": 404, "message": "not found"}
        rest = path[len("/api/default/dashboards"):].strip("/")
        if method == "GET" and not rest:
            return 200, {"dashboards": [{"version": 8, "v8": d, "hash": "1"} for d in self.dashboards.values()]}
        if method == "POST" and not rest:
            if body.get("title") == self.refuse_title:
                return 400, {"code": 400, "message": "Invalid dashboard: tabs"}
            dashboard_id = f"7{self.next_id:017d}"
            self.next_id += 1
            self.dashboards[dashboard_id] = dict(body, dashboardId=dashboard_id)
            return 201, {"version": 8, "v8": self.dashboards[dashboard_id], "hash": "2"}
        if method == "DELETE" and rest:
            if self.dashboards.pop(rest, None) is None:
                return 404, {"code": 404, "message": "Dashboard not found"}
            return 200, {"code": 200, "message": "Dashboard deleted"}
        return 405, {"code": 405, "message": "method not allowed"}


@pytest.fixture
def grafana_token(monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)


def apply_grafana(fake, *extra):
    return run_cli("dashboard", "--for", "grafana", "--apply", "--url", fake.url, "--auth-from-env",
                   "GRAFANA_TOKEN", *extra)


def test_grafana_creates_then_updates_in_place(grafana_token):
    fake = FakeGrafana()
    try:
        result = apply_grafana(fake)
        assert result.exit_code == 0, result.stderr
        assert sorted(fake.dashboards) == ["linkerd-otel-overview", "linkerd-otel-pipeline", "linkerd-otel-workload"]
        assert "dashboard linkerd-otel-overview created" in result.stdout
        fake.dashboards["linkerd-otel-overview"] = (fake.dashboards["linkerd-otel-overview"][0], "team-folder")
        again = apply_grafana(fake, "--dashboard", "overview")
        assert again.exit_code == 0 and "linkerd-otel-overview configured" in again.stdout
        dashboard, folder = fake.dashboards["linkerd-otel-overview"]
        assert folder == "team-folder" and dashboard["version"] == 2      # kept in its folder
        assert TOKEN not in result.stdout + result.stderr + again.stdout + again.stderr
    finally:
        fake.stop()


def test_grafana_refusal_puts_everything_back(grafana_token):
    fake = FakeGrafana(refuse={"linkerd-otel-pipeline": (412, {"message": "The dashboard has been changed by "
                                                                          "someone else", "status": "version-mismatch"})})
    before = {"title": "mine", "uid": "linkerd-otel-overview", "panels": [], "version": 7}
    fake.dashboards["linkerd-otel-overview"] = (copy.deepcopy(before), "team-folder")
    try:
        result = apply_grafana(fake)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert "refused dashboard linkerd-otel-pipeline: HTTP 412" in lines[0] and "version-mismatch" in lines[0]
        assert "the 2 saved before it were put back as they were" in lines[0]
        assert sorted(fake.dashboards) == ["linkerd-otel-overview"]              # the new workload one deleted
        restored, folder = fake.dashboards["linkerd-otel-overview"]
        assert restored["title"] == "mine" and restored["panels"] == [] and folder == "team-folder"
    finally:
        fake.stop()


def test_grafana_bad_token_writes_nothing(monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong-token")
    fake = FakeGrafana()
    try:
        result = apply_grafana(fake)
        assert result.exit_code == 2
        assert "HTTP 401: Grafana refused the credentials" in result.stderr and "nothing was written" in result.stderr
        assert "wrong-token" not in result.stderr + result.stdout
        assert all(method == "GET" for method, _ in fake.requests) and fake.dashboards == {}
    finally:
        fake.stop()


@pytest.fixture
def o2_auth(monkeypatch):
    monkeypatch.setenv("O2_AUTH", f"{O2_USER}:{O2_PASSWORD}")


def apply_o2(fake, *extra):
    return run_cli("dashboard", "--for", "openobserve", "--apply", "--url", f"{fake.url}/api/default",
                   "--auth-from-env", "O2_AUTH", *extra)


def test_openobserve_creates_and_replaces_older_copies(o2_auth):
    fake = FakeOpenObserve()
    try:
        first = apply_o2(fake)
        assert first.exit_code == 0, first.stderr
        assert sorted(d["title"] for d in fake.dashboards.values()) == [
            "Linkerd mesh overview (linkerd-otel)", "Linkerd metrics pipeline (linkerd-otel)",
            "Linkerd workload (linkerd-otel)"]
        ids = set(fake.dashboards)
        second = apply_o2(fake)
        assert second.exit_code == 0, second.stderr
        assert len(fake.dashboards) == 3 and not ids & set(fake.dashboards)      # replaced, not duplicated
        assert second.stdout.count("deleted (replaced)") == 3
        assert O2_PASSWORD not in first.stdout + first.stderr + second.stdout + second.stderr
    finally:
        fake.stop()


def test_openobserve_refusal_deletes_what_this_run_created(o2_auth):
    fake = FakeOpenObserve(refuse_title="Linkerd metrics pipeline (linkerd-otel)")
    fake.dashboards["1"] = {"title": "Linkerd mesh overview (linkerd-otel)", "dashboardId": "1", "tabs": []}
    try:
        result = apply_o2(fake)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "HTTP 400: Invalid dashboard: tabs" in lines[0]
        assert "the 2 created before it were deleted" in lines[0]
        assert list(fake.dashboards) == ["1"]          # the older one untouched
    finally:
        fake.stop()


@pytest.mark.parametrize("args,fragment", [
    (["--apply"], "--apply needs --url"),
    (["--apply", "--url", "ftp://x"], "is not an http(s) URL"),
    (["--apply", "--url", "http://u:p@grafana.example"], "must not hold credentials"),
    (["--apply", "--url", "http://grafana.example"], "--apply needs --auth-from-env"),
    (["--apply", "--url", "http://grafana.example", "--auth-from-env", "NO_SUCH_VAR_X"], "not set or empty"),
    (["--url", "http://grafana.example"], "are for --apply"),
    (["--apply", "--file", "x.json"], "leave out --file"),
])
def test_apply_usage_errors_are_one_line(args, fragment, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VAR_X", raising=False)
    result = run_cli("dashboard", "--for", "grafana", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_openobserve_url_must_name_the_organization(o2_auth):
    result = run_cli("dashboard", "--for", "openobserve", "--apply", "--url", "http://o2.example:5080",
                     "--auth-from-env", "O2_AUTH")
    assert result.exit_code == 2 and "/api/ORG" in result.stderr
