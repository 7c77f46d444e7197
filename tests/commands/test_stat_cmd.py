"""`kubectl linkerd-otel stat` against the fake API server: namespace `shop` with three deployments,
one pod answering 403, one never answering in time, one without a linkerd-admin port (stat_scenarios)."""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import run_cli
from stat_scenarios import NS, POD_API_NO_ADMIN, POD_DB_SLOW, POD_WEB_403, metrics, shop

FAST = ("--interval", "1s", "--request-timeout", "2s")   # healthy reads fit in it on a loaded machine
REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def shop_api(fake_api):
    shop(fake_api)
    return fake_api


def _rows(result):
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_json_matches_the_hand_computed_numbers(shop_api):
    rows = _rows(run_cli("stat", "deploy", "-n", NS, *FAST, "-o", "json"))
    assert set(rows) == {"web", "api", "db"}               # `legacy` is not meshed: no row, as viz
    web, api, db = rows["web"], rows["api"], rows["db"]
    for row in rows.values():
        assert row["namespace"] == NS and row["kind"] == "deployment" and row["meshed"] == "2/2"
        assert row["linkerdOtel"]["readPods"] == 1
        # two reads about --interval apart (longer when a round waits out the slow pod's timeout: no
        # upper bound, which a loaded machine could miss); the rates below are computed over this window
        assert row["linkerdOtel"]["windowSeconds"] > 0.5
    # web: 190 successes, 10 failures; p50 2.5, p95 20, p99 40 ms; 3 open connections
    assert web["linkerdOtel"]["responses"] == {"success": 190, "failure": 10}
    assert web["success"] == pytest.approx(0.95)
    assert web["rps"] == pytest.approx(200 / web["linkerdOtel"]["windowSeconds"])
    assert web["linkerdOtel"]["latencyMs"] == pytest.approx({"p50": 2.5, "p95": 20.0, "p99": 40.0})
    assert (web["latency_ms_p50"], web["latency_ms_p95"], web["latency_ms_p99"]) == (2, 20, 40)
    assert web["tcp_open_connections"] == 3
    # api: the high-latency one
    assert api["linkerdOtel"]["latencyMs"] == pytest.approx({"p50": 2500 / 3, "p95": 2000.0, "p99": 2800.0})
    assert (api["latency_ms_p50"], api["latency_ms_p99"]) == (833, 2800)
    assert api["success"] == 1.0 and api["tcp_open_connections"] == 5
    # db: the erroring one, whose proxy restarted between the reads (counters reset)
    assert db["linkerdOtel"]["responses"] == {"success": 30, "failure": 20}
    assert db["success"] == pytest.approx(0.6)
    assert db["linkerdOtel"]["latencyMs"] == pytest.approx({"p50": 15.0, "p95": 27.5, "p99": 29.5})
    unread = {u["pod"]: u["reason"] for row in rows.values() for u in row["linkerdOtel"]["unreadPods"]}
    assert unread[POD_WEB_403].startswith("HTTP 403 from the proxy")
    assert unread[POD_DB_SLOW] == "no answer within 2s"
    assert unread[POD_API_NO_ADMIN] == "no `linkerd-admin` port on the linkerd-proxy container"
    assert len(unread) == 3


def test_table_lists_the_pods_not_read(shop_api):
    result = run_cli("stat", "deploy", "-n", NS, *FAST)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95",
                                "LATENCY_P99", "TCP_CONN"]
    api = lines[1].split()
    assert api[:3] == ["api", "2/2", "100.00%"] and api[4:] == ["833ms", "2000ms", "2800ms", "5"]
    db = lines[2].split()
    assert db[:3] == ["db", "2/2", "60.00%"] and db[4:] == ["15ms", "27ms", "29ms", "4"]
    assert lines[3].split()[:3] == ["web", "2/2", "95.00%"]
    assert "Meshed pods not read (3; their traffic is not in the numbers above):" in result.stdout
    assert f"{POD_DB_SLOW}     deploy/db    no answer within 2s" in result.stdout


def test_outbound_by_destination(shop_api):
    rows = json.loads(run_cli("stat", "deploy/web", "-n", NS, *FAST, "--outbound", "-o", "json").stdout)
    by_dst = {(r["linkerdOtel"]["destination"]["namespace"], r["linkerdOtel"]["destination"]["name"]): r
              for r in rows}
    assert set(by_dst) == {("shop", "api"), ("shop", "db"), ("linkerd", "linkerd-destination")}
    assert by_dst[("shop", "db")]["success"] == pytest.approx(0.8)
    assert by_dst[("shop", "api")]["linkerdOtel"]["latencyMs"] == pytest.approx(
        {"p50": 100.0, "p95": 190.0, "p99": 198.0})
    assert by_dst[("linkerd", "linkerd-destination")]["success"] is None     # connected, no requests
    assert all(r["name"] == "web" and r["linkerdOtel"]["direction"] == "outbound" for r in rows)


def test_reads_each_proxy_twice_through_pods_proxy(shop_api):
    run_cli("stat", "pod", "-n", NS, *FAST, "-o", "json")
    reads = shop_api.requests_to(r"/pods/[^/]+:4191/proxy/metrics$", "GET")
    per_pod = {}
    for request in reads:
        pod = request.path.split("/pods/")[1].split(":")[0]
        per_pod[pod] = per_pod.get(pod, 0) + 1
    assert per_pod[POD_WEB_403] == 2 and per_pod["web-6d4cf56db6-t8k2m"] == 2
    assert POD_API_NO_ADMIN not in per_pod                  # nothing to read: listed, not asked


def test_pod_and_namespace_views(shop_api):
    pods = _rows(run_cli("stat", "pod", "-n", NS, *FAST, "-o", "json"))
    assert pods["web-6d4cf56db6-t8k2m"]["meshed"] == "1/1"
    assert pods["web-6d4cf56db6-t8k2m"]["linkerdOtel"]["status"] == "Running"
    assert pods[POD_WEB_403]["success"] is None


def test_namespace_view(shop_api):
    ns = _rows(run_cli("stat", "ns", "-n", NS, *FAST, "-o", "json"))
    assert ns[NS]["meshed"] == "6/7"                        # `legacy` runs unmeshed
    # web 190 + 10, api 100 + 0, db 30 + 20
    assert ns[NS]["linkerdOtel"]["responses"] == {"success": 320, "failure": 30}
    assert ns[NS]["linkerdOtel"]["readPods"] == 3


def test_errors_are_one_line(shop_api):
    for args, text in [(("stat", "rs"), "unknown resource type 'rs'"),
                       (("stat", "deploy", "--interval", "0s"), "--interval must be longer than 0s"),
                       (("stat", "-A", "-n", NS), "-A and -n cannot be used together"),
                       (("stat", "--watch", "-o", "json"), "--watch draws a table")]:
        result = run_cli(*args)
        assert result.exit_code == 2 and result.stderr.startswith("Error: ") and text in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_api_server_refusing_pods_proxy_is_an_error(shop_api):
    shop_api.faults.clear()
    shop_api.fail(403, times=None, path=r"/proxy/metrics$")
    result = run_cli("stat", "deploy", "-n", NS, *FAST)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: forbidden to get pods/proxy")


def test_no_meshed_pods(shop_api):
    result = run_cli("stat", "deploy", "-n", "nowhere", *FAST)
    assert result.exit_code == 0 and result.stdout == ""
    assert "No meshed pods: no deploy with meshed running pods in namespace nowhere." in result.stderr
    assert run_cli("stat", "deploy", "-n", "nowhere", *FAST, "-o", "json").stdout.strip() == "[]"


def test_watch_redraws_under_a_terminal_until_ctrl_c(shop_api):
    counters = {"n": 0}

    def growing(_query):
        # every read adds 10 successes: each refresh has traffic
        counters["n"] += 1
        return metrics("web-1").replace(
            'status_code="200",classification="success",grpc_status="",error=""} 1000',
            f'status_code="200",classification="success",grpc_status="",error=""}} {1000 + 10 * counters["n"]}')
    shop_api.set_proxy(NS, "web-6d4cf56db6-t8k2m", 4191, "metrics", body=growing)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
               COLUMNS="160", LINES="40", TERM="xterm")
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_linkerd_otel", "stat", "deploy/web", "-n", NS,
                             "--interval", "300ms", "--request-timeout", "1s", "--watch"],
                            stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    output = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and output.count(b"last at") < 2:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    output += os.read(main, 65536)
                except OSError:
                    break
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        while True:
            ready, _, _ = select.select([main], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    text = output.decode("utf-8", "replace")
    assert output.count(b"last at") >= 2, text          # redrawn at least twice
    assert "LATENCY_P50" in text and "100.00%" in text and "Ctrl-C to stop" in text
    assert "\x1b[" in text                               # a live display, not plain lines
    assert "Traceback" not in text and code == 0
