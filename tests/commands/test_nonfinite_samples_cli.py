"""Issue 23, item 6: a proxy sample of `+Inf` or `NaN` is a bad sample. `stat` leaves its series out, says
which one once, and shows the rest; every JSON output is strict (no bare NaN or Infinity). Live against
the fake API server (stat_scenarios' `shop`) and from a crafted snapshot file."""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from helpers import run_cli
from stat_scenarios import NS, POD_WEB, metrics, reads, shop

FAST = ("--interval", "1s", "--request-timeout", "2s")   # healthy reads fit in it on a loaded machine
DEMO = Path(__file__).resolve().parents[2] / "src" / "kubectl_linkerd_otel" / "data" / "demo-snapshot.json.gz"
SUCCESS_LINE = re.compile(r'^(response_total\{direction="inbound",target_addr="10\.244\.1\.12:8080".*'
                          r'classification="success".*\}) \d+$', re.MULTILINE)
TCP_OPEN_LINE = re.compile(r'^(tcp_open_connections\{direction="inbound".*\}) \d+$', re.MULTILINE)


def strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"not JSON: a bare {constant}")
    return json.loads(text, parse_constant=refuse)


def _with(pattern: "re.Pattern", text: str, value: str) -> str:
    out, count = pattern.subn(lambda m: f"{m.group(1)} {value}", text, count=1)
    assert count == 1
    return out


@pytest.fixture
def shop_api(fake_api):
    shop(fake_api)
    return fake_api


def _no_bad_words(result):
    """No traceback, and no infinity or NaN among the numbers of the table (the list of samples left
    out names the value it left out)."""
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    numbers = result.stdout.split("Samples left out")[0]
    assert not re.search(r"\b(nan|inf)(%|rps|ms|B/s)?\b", numbers, re.IGNORECASE), result.stdout


@pytest.mark.parametrize("first, second, value", [
    (None, "+Inf", "+Inf"), (None, "NaN", "NaN"), ("NaN", None, "NaN"), ("+Inf", "+Inf", "+Inf"),
])
def test_live_counter_not_finite_is_left_out_and_reported_once(shop_api, first, second, value):
    one, two = metrics("web-1"), metrics("web-2")
    one = _with(SUCCESS_LINE, one, first) if first else one
    two = _with(SUCCESS_LINE, two, second) if second else two
    shop_api.set_proxy(NS, POD_WEB, 4191, "metrics", body=reads(one, two))
    result = run_cli("stat", "deploy", "-n", NS, *FAST, "-o", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in strict_json(result.stdout)}
    web = rows["web"]
    bad = web["linkerdOtel"]["badSamples"]
    assert len(bad) == 1 and bad[0]["pod"] == POD_WEB, bad            # once, though both reads had it
    assert bad[0]["sample"].startswith('response_total{direction="inbound"') and bad[0]["sample"].endswith(value)
    # the success series is out of both reads (never counted from zero); the failures still are
    assert web["linkerdOtel"]["responses"] == {"success": 0, "failure": 10}
    assert web["success"] == 0.0 and web["tcp_open_connections"] == 3
    assert rows["api"]["linkerdOtel"]["badSamples"] == [] and rows["api"]["success"] == 1.0


def test_live_gauge_of_inf_does_not_crash_the_table(shop_api):
    shop_api.set_proxy(NS, POD_WEB, 4191, "metrics",
                       body=reads(metrics("web-1"), _with(TCP_OPEN_LINE, metrics("web-2"), "+Inf")))
    result = run_cli("stat", "deploy", "-n", NS, *FAST)
    assert result.exit_code == 0, result.output
    _no_bad_words(result)
    lines = result.stdout.splitlines()
    web = next(line for line in lines if line.startswith("web "))
    assert web.split()[:3] == ["web", "2/2", "95.00%"] and web.split()[-1] == "0"
    at = lines.index(next(line for line in lines if line.startswith("Samples left out (1;")))
    assert lines[at + 1].split() == ["NAMESPACE", "POD", "SAMPLE"]
    assert lines[at + 2].split()[:2] == [NS, POD_WEB] and lines[at + 2].endswith(" +Inf")


def _crafted_snapshot(tmp_path, value: str, *, second_at=None) -> Path:
    doc = json.loads(gzip.decompress(DEMO.read_bytes()))
    doc["manifest"]["source"] = "cluster"
    reads_ = doc["snapshot"]["proxy_metrics"]
    key = next(k for k in reads_ if k.startswith("emojivoto/web-"))
    pattern = re.compile(r'^(response_total\{direction="inbound".*classification="success".*\}) \d+$', re.MULTILINE)
    reads_[key]["second"] = _with(pattern, reads_[key]["second"], value)
    if second_at is not None:
        reads_[key]["second_at"] = second_at
    path = tmp_path / "crafted.snapshot.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))   # json writes NaN/Infinity for floats
    return path


@pytest.mark.parametrize("value", ["+Inf", "NaN", "-Inf"])
def test_snapshot_sample_not_finite(tmp_path, value):
    path = _crafted_snapshot(tmp_path, value)
    table = run_cli("stat", "deploy", "-n", "emojivoto", "--snapshot", str(path))
    assert table.exit_code == 0, table.output
    _no_bad_words(table)
    assert "Samples left out (1;" in table.stdout and table.stdout.rstrip().endswith(value)
    as_json = run_cli("stat", "deploy", "-n", "emojivoto", "--snapshot", str(path), "-o", "json")
    assert as_json.exit_code == 0, as_json.output
    rows = {row["name"]: row for row in strict_json(as_json.stdout)}
    assert [b["sample"].split()[-1] for b in rows["web"]["linkerdOtel"]["badSamples"]] == [value]
    assert rows["emoji"]["rps"] == 88.0        # the rest is shown


@pytest.mark.parametrize("second_at", [float("inf"), float("nan")])
def test_snapshot_read_time_not_finite_is_a_damaged_file(tmp_path, second_at):
    path = _crafted_snapshot(tmp_path, "1", second_at=second_at)
    result = run_cli("stat", "-A", "--snapshot", str(path), "-o", "json")
    assert result.exit_code == 2 and result.stdout == "", result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: snapshot ") and "is damaged" in lines[0], lines


# -- the collector's self-metrics, read by check -----------------------------------------------------------
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_check_names_self_metrics_that_are_not_finite(mesh_api, value):
    import scenarios

    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 8888, "metrics",
                       body=scenarios.metrics_text(value, 0))
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    assert result.exit_code in (0, 1), result.output
    doc = strict_json(result.stdout)
    checks = {c["description"]: c for cat in doc["categories"] for c in cat["checks"]}
    assert not any("internal error" in c["error"] for c in checks.values()), result.stdout
    read = checks["collector self-metrics can be read"]
    assert read["result"] == "warning"
    head, *lines = read["error"].splitlines()
    assert head == "the self-metrics hold samples that are not finite numbers: left out of the exporter checks"
    shown = "+Inf" if value > 0 else "NaN"
    assert [line.strip() for line in lines] == [
        f'{scenarios.COLLECTOR_POD}: otelcol_exporter_sent_metric_points_total{{exporter="otlp_grpc/backend",'
        f'service_name="otelcol"}} {shown}']
