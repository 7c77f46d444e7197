"""`kubectl linkerd-otel dashboard`: renders both products' dashboards; no cluster needed."""
from __future__ import annotations

import json
import os

from helpers import run_cli


def test_help_names_both_products_and_the_options():
    result = run_cli("dashboard", "--help")
    assert result.exit_code == 0
    for word in ("--for", "grafana", "openobserve", "--dashboard", "--counter-names", "-o, --output", "--file"):
        assert word in result.stdout
    assert "dashboard" in run_cli("--help").stdout


def test_text_lists_every_row_and_query():
    result = run_cli("dashboard", "--for", "grafana")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for title in ("Linkerd mesh overview", "Linkerd workload", "Linkerd metrics pipeline", "Inbound latency p99",
                  "Outbound traffic (per destination)", "Points failed"):
        assert title in out
    assert "$__rate_interval" in out and "rerun with -o json or --file" in out


def test_json_one_dashboard_is_importable_object():
    result = run_cli("dashboard", "--for", "grafana", "--dashboard", "overview", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["schemaVersion"] == 41 and doc["uid"] == "linkerd-otel-overview"
    result = run_cli("dashboard", "--for", "openobserve", "--dashboard", "workload", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["version"] == 8 and len(doc["tabs"]) == 5
    assert 'response_total{namespace="$namespace"' in doc["tabs"][0]["panels"][0]["queries"][0]["query"]


def test_json_all_is_a_list_and_trimmed_counter_names():
    result = run_cli("dashboard", "--for", "openobserve", "-o", "json", "--counter-names", "trimmed")
    docs = json.loads(result.stdout)
    assert [d["title"] for d in docs] == ["Linkerd mesh overview (linkerd-otel)", "Linkerd workload (linkerd-otel)",
                                          "Linkerd metrics pipeline (linkerd-otel)"]
    assert "response_total" not in result.stdout and "irate(response{" in result.stdout


def test_file_writes_one_importable_file_per_dashboard(tmp_path):
    target = tmp_path / "linkerd.json"
    result = run_cli("dashboard", "--for", "grafana", "--file", str(target))
    assert result.exit_code == 0, result.stderr
    names = sorted(os.listdir(tmp_path))
    assert names == ["linkerd-overview.json", "linkerd-pipeline.json", "linkerd-workload.json"]
    assert json.loads((tmp_path / "linkerd-workload.json").read_text())["uid"] == "linkerd-otel-workload"
    one = tmp_path / "one.json"
    assert run_cli("dashboard", "--for", "grafana", "--dashboard", "pipeline", "--file", str(one)).exit_code == 0
    assert json.loads(one.read_text())["uid"] == "linkerd-otel-pipeline"


def test_unwritable_file_is_one_line_and_writes_nothing(tmp_path):
    result = run_cli("dashboard", "--for", "grafana", "--file", str(tmp_path / "missing" / "d.json"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_unknown_product_is_a_usage_error():
    result = run_cli("dashboard", "--for", "kibana")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
