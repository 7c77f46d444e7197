"""`check -o json` that cannot run (exit 2) still prints one JSON document on stdout.

Linkerd's side (linkerd/linkerd2 pkg/healthcheck/healthcheck.go, RunExtensionsChecks, and cli/cmd/check.go):
it runs `linkerd-<name> check <its flags> --output=json`, ignores the exit code (`plugin.Run()`), and parses
stdout with parseJSONCheckOutput; a check fails there when its `error` is non-empty and `result` is not
"warning". When stdout is not JSON, it reports a failed check "Running: <command>" whose error is stderr (or
"invalid extension check output ... (JSON object expected)"). So our document must hold a failing check
(an empty document would read as success), and there must be exactly one document.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import scenarios
from helpers import run_cli

LINKERD_FLAGS = ("--as-group=[]", "--linkerd-namespace=linkerd", "--verbose=false", "--proxy=false", "--wait=5m0s")


def parse_like_linkerd(stdout: str):
    """(success, failed checks): parseJSONCheckOutput, then RunChecks' rule."""
    doc = json.loads(stdout)          # exactly one JSON document on stdout
    assert set(doc) == {"success", "categories"} and isinstance(doc["success"], bool)
    failed = []
    for category in doc["categories"]:
        assert set(category) == {"categoryName", "checks"}
        for check in category["checks"]:
            assert set(check) == {"description", "hint", "error", "result"}
            if check["error"] and check["result"] != "warning":
                failed.append(check)
    return doc["success"], failed


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0][len("Error: "):]


@pytest.mark.parametrize("args", [
    ("check", "-o", "json", "--wait=abc"),
    ("check", "--output=json", "--snapshot", "/nonexistent/snapshot.gz"),
    ("check", "--output", "json", "--demo", "--snapshot", "x.gz"),
    ("check", "-ojson", "--metrics-interval=soon"),
    ("check", "-o=json", "--since=-5m"),
    ("check", *LINKERD_FLAGS, "--output=json", "--query-url=ftp://x"),
])
def test_exit_2_prints_one_failed_check(nowhere, args):
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    message = _one_line(result)
    success, failed = parse_like_linkerd(result.stdout)
    assert success is False
    assert failed == [{"description": "linkerd-otel check can run", "error": message, "result": "error",
                       "hint": "https://github.com/linkerd-otel/kubectl-linkerd-otel#otel-check-could-not-run"}]


def test_a_damaged_snapshot_is_a_failed_check_too(tmp_path):
    demo = Path(__file__).resolve().parents[2] / "src" / "kubectl_linkerd_otel" / "data" / "demo-snapshot.json.gz"
    doc = json.loads(gzip.decompress(demo.read_bytes()))
    doc["snapshot"]["pods"][0]["status"] = []
    path = tmp_path / "x.snapshot.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    result = run_cli("check", "-o", "json", "--snapshot", str(path))
    assert result.exit_code == 2
    _success, failed = parse_like_linkerd(result.stdout)
    assert failed[0]["error"] == _one_line(result) and "status is a list, not an object" in failed[0]["error"]


def test_no_cluster_still_prints_the_report_itself(nowhere):
    """Exit 2 because nothing could be checked: the report says why; no second document."""
    result = run_cli("check", *LINKERD_FLAGS, "--output=json")
    assert result.exit_code == 2
    success, failed = parse_like_linkerd(result.stdout)
    assert success is False and failed
    assert all(c["description"] != "linkerd-otel check can run" for c in failed)


def test_a_failure_after_the_report_adds_no_second_document(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", "--save-snapshot",
                     str(tmp_path / "missing-dir" / "s.gz"))
    assert result.exit_code == 2
    assert "cannot write snapshot" in _one_line(result)
    success, failed = parse_like_linkerd(result.stdout)   # the report, alone
    assert success is True and failed == []


@pytest.mark.parametrize("output", ["table", "short"])
def test_other_outputs_print_nothing_on_stdout(nowhere, output):
    result = run_cli("check", "-o", output, "--wait=abc")
    assert result.exit_code == 2 and result.stdout == ""
    _one_line(result)


def test_other_commands_with_json_print_nothing_on_stdout(nowhere):
    result = run_cli("stat", "-o", "json", "--interval=abc")
    assert result.exit_code == 2 and result.stdout == ""
