"""`stat --snapshot FILE` and `stat --demo` through the CLI: the snapshot command reads every meshed proxy
twice (stat_scenarios' namespace `shop` on the fake API server), and stat offline gives the rows stat
gives live over the same cluster at the same readings."""
from __future__ import annotations

import gzip
import json

import pytest

from helpers import run_cli, snapshot_text
from stat_scenarios import NS, POD_API, POD_API_NO_ADMIN, POD_DB, POD_DB_SLOW, POD_WEB, POD_WEB_403, metrics, reads, shop

TIMEOUT = ("--request-timeout", "2s")   # healthy reads fit in it on a loaded machine; the slow pod never answers
# what depends on the window (the time between the two reads): compared as counts, rate x window
RATES = ("rps", "tcp_read_bytes_rate", "tcp_write_bytes_rate")


@pytest.fixture
def shop_api(fake_api):
    shop(fake_api)
    return fake_api


def _fresh_reads(api) -> None:
    """Each proxy answers its first text again at the next read: the same readings for the next run."""
    api.set_proxy(NS, POD_WEB, 4191, "metrics", body=reads(metrics("web-1"), metrics("web-2")))
    api.set_proxy(NS, POD_API, 4191, "metrics", body=reads(metrics("api-1"), metrics("api-2")))
    api.set_proxy(NS, POD_DB, 4191, "metrics", body=reads(metrics("db-1"), metrics("db-2")))


def _snapshot(path, *extra):
    result = run_cli("snapshot", "-f", str(path), "--metrics-interval=1s", *TIMEOUT, *extra)
    assert result.exit_code == 0, result.output
    return result


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)      # quantiles interpolate rates: the window leaves float noise
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _assert_close(got, want, where="rows"):
    if isinstance(want, (int, float)) and isinstance(got, (int, float)) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=0.02), where
    elif isinstance(want, dict) and isinstance(got, dict):
        assert sorted(got) == sorted(want), where
        for key in want:
            _assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want)):
            _assert_close(a, b, f"{where}[{i}]")
    else:
        assert got == want, where


def _counts(rows):
    """Rows with every rate turned into the count over its window, and the window itself left out."""
    out = []
    for row in rows:
        row = json.loads(json.dumps(row))
        window = row["linkerdOtel"].pop("windowSeconds")
        for name in RATES:
            if row[name] is not None:
                row[name] = row[name] * window
        out.append(_rounded(row))
    return out


@pytest.mark.parametrize("args", [("deploy",), ("pod",), ("ns", NS), ("deploy/web", "--outbound")])
def test_offline_json_is_the_live_json(shop_api, tmp_path, args):
    live = run_cli("stat", *args, "-n", NS, "--interval", "1s", *TIMEOUT, "-o", "json")
    assert live.exit_code == 0, live.output
    _fresh_reads(shop_api)
    path = tmp_path / "snap.gz"
    _snapshot(path)
    shop_api.stop()
    offline = run_cli("stat", *args, "-n", NS, "--snapshot", str(path), "-o", "json")
    assert offline.exit_code == 0, offline.output
    live_rows, offline_rows = json.loads(live.stdout), json.loads(offline.stdout)
    assert live_rows
    if args[0] == "ns":
        # a row of several pods: each pod's own window weighs its rates, the same within timing noise
        _assert_close(_counts(offline_rows), _counts(live_rows))
    else:
        assert _counts(offline_rows) == _counts(live_rows)
    for row in offline_rows:
        if row["linkerdOtel"]["readPods"]:
            # the two reads an --interval apart or more (a round may wait out the slow pod's timeout)
            assert row["linkerdOtel"]["windowSeconds"] > 0.5
    assert offline.stderr.startswith(f"Snapshot {path}, taken ")      # JSON stays clean on stdout


def test_offline_rows_hold_the_hand_computed_numbers(shop_api, tmp_path):
    path = tmp_path / "snap.gz"
    saved = _snapshot(path)
    assert ", 3 proxies read twice (2 not read))" in saved.stderr       # web 403, db slow; api's 2nd has no port
    rows = {r["name"]: r for r in json.loads(run_cli("stat", "deploy", "-n", NS, "--snapshot", str(path),
                                                     "-o", "json").stdout)}
    assert rows["web"]["linkerdOtel"]["responses"] == {"success": 190, "failure": 10}
    assert rows["db"]["success"] == pytest.approx(0.6)
    assert rows["api"]["linkerdOtel"]["latencyMs"] == pytest.approx({"p50": 2500 / 3, "p95": 2000.0, "p99": 2800.0})
    unread = {u["pod"]: u["reason"] for row in rows.values() for u in row["linkerdOtel"]["unreadPods"]}
    assert unread[POD_WEB_403].startswith("HTTP 403 from the proxy")
    assert unread[POD_DB_SLOW] == "no answer within 2s"
    assert unread[POD_API_NO_ADMIN] == "no `linkerd-admin` port on the linkerd-proxy container"


def test_the_file_keeps_only_the_golden_lines(shop_api, tmp_path):
    path = tmp_path / "snap.gz"
    _snapshot(path)
    doc = json.loads(snapshot_text(path))
    assert doc["manifest"]["readers"] == ["check", "targets", "stat"]
    assert "proxy/" not in json.dumps(doc["manifest"]["unreadable"])   # stat lists them, with the reason
    kept = doc["snapshot"]["proxy_metrics"]
    assert sorted(kept) == [f"{NS}/{POD_API}", f"{NS}/{POD_DB}", f"{NS}/{POD_WEB}"]
    web = kept[f"{NS}/{POD_WEB}"]
    assert web["second_at"] - web["first_at"] > 0.5     # two reads, an --interval apart or more
    names = {line.split("{")[0].split(" ")[0] for line in web["first"].splitlines()}
    assert names == {"response_total", "response_latency_ms_bucket", "tcp_open_connections",
                     "tcp_read_bytes_total", "tcp_write_bytes_total", "process_start_time_seconds"}
    assert len(web["first"]) < len(metrics("web-1"))
    errors = doc["snapshot"]["proxy_metrics_errors"]
    assert set(errors) == {f"{NS}/{POD_WEB_403}", f"{NS}/{POD_DB_SLOW}"}


def test_table_from_a_snapshot_has_its_heading(shop_api, tmp_path):
    path = tmp_path / "snap.gz"
    _snapshot(path)
    result = run_cli("stat", "deploy", "-n", NS, "--snapshot", str(path))
    assert result.exit_code == 0, result.output
    heading, blank, header, *rows = result.stdout.splitlines()
    assert heading.startswith(f"Snapshot {path}, taken 20") and "(context fake, Kubernetes v1.31.2)" in heading
    assert blank == "" and header.split()[:3] == ["NAME", "MESHED", "SUCCESS"]
    assert [r.split()[0] for r in rows[:3]] == ["api", "db", "web"]
    assert rows[1].split()[:3] == ["db", "2/2", "60.00%"]


def test_snapshot_without_stat_data_is_refused(shop_api, tmp_path):
    path = tmp_path / "snap.gz"
    saved = _snapshot(path, "--no-stat")
    assert "read twice" not in saved.stderr
    doc = json.loads(snapshot_text(path))
    assert doc["manifest"]["readers"] == ["check", "targets"] and doc["snapshot"]["proxy_metrics"] is None
    result = run_cli("stat", "deploy", "-n", NS, "--snapshot", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"Error: snapshot {path} holds no data for `stat` (it holds data for: check, targets); "
                             f"take a new one with `kubectl linkerd-otel snapshot -f FILE`\n")


def test_check_save_snapshot_holds_no_stat_data(shop_api, tmp_path):
    path = tmp_path / "snap.gz"
    run_cli("check", "--metrics-interval=0s", "--save-snapshot", str(path))
    result = run_cli("stat", "--snapshot", str(path))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "holds no data for `stat`" in result.stderr


def _gz(doc) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


@pytest.mark.parametrize("proxy_metrics, errors, message", [
    ({"shop/web": {"first": "x", "first_at": 1}}, {}, "the proxy reads of 'shop/web' are not two texts"),
    ({"shop/web": ["a", 1, "b", 2]}, {}, "the proxy reads of 'shop/web' are not two texts"),
    ({"web": {"first": "", "first_at": 1, "second": "", "second_at": 2}}, {}, "key 'web' is not namespace/pod"),
    ({}, {"shop/web": 3}, "the read error of 'shop/web' is not text"),
])
def test_damaged_proxy_reads_are_one_line(tmp_path, proxy_metrics, errors, message):
    path = tmp_path / "bad.gz"
    path.write_bytes(_gz({"format": "kubectl-linkerd-otel/snapshot", "version": 2,
                          "manifest": {"readers": ["check", "targets", "stat"]},
                          "snapshot": {"pods": [], "proxy_metrics": proxy_metrics,
                                       "proxy_metrics_errors": errors}}))
    result = run_cli("stat", "--snapshot", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: snapshot {path} is damaged (") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_reader_listed_without_its_data_is_refused(tmp_path):
    path = tmp_path / "odd.gz"
    path.write_bytes(_gz({"format": "kubectl-linkerd-otel/snapshot", "version": 2,
                          "manifest": {"readers": ["check", "targets", "stat"]}, "snapshot": {"pods": []}}))
    result = run_cli("stat", "--snapshot", str(path))
    assert (result.exit_code, result.stderr) == (2, f"Error: snapshot {path} holds no proxy reads for `stat`; take "
                                                    f"a new one with `kubectl linkerd-otel snapshot -f FILE`\n")


@pytest.mark.parametrize("flag", [("--watch",), ("--interval", "5s"), ("--concurrency", "3")])
def test_live_only_flags_are_refused_offline(flag):
    result = run_cli("stat", "--demo", *flag)
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: {flag[0]} reads the cluster")
    assert result.stderr.count("\n") == 1


def test_demo_and_snapshot_together_are_refused(tmp_path):
    result = run_cli("stat", "--demo", "--snapshot", str(tmp_path / "x.gz"))
    assert (result.exit_code, result.stderr) == (2, "Error: --demo and --snapshot cannot be used together: "
                                                    "pick one\n")


def test_snapshot_whose_pod_list_failed_is_refused_for_stat(shop_api, tmp_path):
    shop_api.fail(403, times=None, path=r"^/api/v1/pods")
    path = tmp_path / "snap.gz"
    _snapshot(path)
    result = run_cli("stat", "deploy", "-n", NS, "--snapshot", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: snapshot {path} holds no pods: listing them failed when it was taken (")
    assert "(HTTP 403)" in result.stderr and result.stderr.count("\n") == 1


def test_pods_proxy_refused_by_rbac_is_each_pods_reason(shop_api, tmp_path):
    shop_api.fail(403, times=None, path=r"/pods/[^/]+:4191/proxy/")
    path = tmp_path / "snap.gz"
    assert ", 0 proxies read twice (5 not read))" in _snapshot(path).stderr
    rows = json.loads(run_cli("stat", "deploy", "-n", NS, "--snapshot", str(path), "-o", "json").stdout)
    reasons = {u["pod"]: u["reason"] for row in rows for u in row["linkerdOtel"]["unreadPods"]}
    assert len(reasons) == 6 and reasons[POD_API_NO_ADMIN].startswith("no `linkerd-admin` port")
    assert {pod for pod, why in reasons.items() if why.startswith("forbidden to get pods/proxy")} == \
        set(reasons) - {POD_API_NO_ADMIN, POD_DB_SLOW}, reasons      # the slow one: its delay comes first
    assert reasons[POD_DB_SLOW] == "no answer within 2s"


def test_pods_proxy_refused_for_every_pod_still_writes_the_snapshot(fake_api, tmp_path):
    from stat_scenarios import meshed_pod

    fake_api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    fake_api.add(meshed_pod("web", "6d4cf56db6", "t8k2m", "10.244.1.12"))
    fake_api.fail(403, times=None, path=r"/pods/[^/]+:4191/proxy/")
    path = tmp_path / "snap.gz"
    assert ", 0 proxies read twice (1 not read))" in _snapshot(path).stderr
    rows = json.loads(run_cli("stat", "deploy", "-n", NS, "--snapshot", str(path), "-o", "json").stdout)
    [unread] = rows[0]["linkerdOtel"]["unreadPods"]
    assert unread["pod"] == POD_WEB and unread["reason"].startswith("forbidden to get pods/proxy")
