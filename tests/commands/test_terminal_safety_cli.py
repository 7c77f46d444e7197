"""Issue 23, item 8: strings from the cluster, a file or a snapshot reach the terminal only through
`printable` (scrape/text.py): an escape sequence cannot retitle the terminal and a newline cannot forge a
line of the report. JSON output keeps the strings as they are (its encoder escapes them)."""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

import scenarios
from helpers import run_cli

DEMO = Path(__file__).resolve().parents[2] / "src" / "kubectl_linkerd_otel" / "data" / "demo-snapshot.json.gz"
FORGED = "Status check results are \u221a"
EVIL = "prod\x1b]0;pwned\x07\x1b[2J\r\n" + FORGED + "\u202e"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def _clean(text: str) -> None:
    for ch in RAW:
        assert ch not in text, repr(text)


def _forged_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith(FORGED))


def _snapshot(tmp_path, *, context=EVIL, pod_name=None, log_line=None) -> Path:
    doc = json.loads(gzip.decompress(DEMO.read_bytes()))
    doc["manifest"].update(context=context, source="cluster", cluster_version="v1.31\x1b[31m")
    snap = doc["snapshot"]
    if pod_name is not None:
        pod = next(p for p in snap["pods"] if p["metadata"]["name"].startswith("web-"))
        old = pod["metadata"]["name"]
        pod["metadata"]["name"] = pod_name
        snap["proxy_metrics"][f"emojivoto/{pod_name}"] = snap["proxy_metrics"].pop(f"emojivoto/{old}")
    if log_line is not None:
        pod = next(iter(snap["logs"]))
        snap["logs"][pod] += f"2026-11-25T09:21:03.418Z\terror\tx.go:1\t{log_line}\n"
    path = tmp_path / "evil.snapshot.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


@pytest.mark.parametrize("args", [("check",), ("check", "-o", "short"), ("targets",), ("stat", "-A")])
def test_snapshot_manifest_strings_are_escaped_in_the_heading(tmp_path, args):
    path = _snapshot(tmp_path)
    result = run_cli(*args, "--snapshot", str(path))
    assert result.exit_code in (0, 1), result.output
    _clean(result.output)
    heading = result.stdout.splitlines()[0]
    assert heading.startswith(f"Snapshot {path}, taken ")
    assert "context prod\\x1b]0;pwned\\x07\\x1b[2J\\r\\nStatus check results are \u221a\\u202e" in heading
    assert "Kubernetes v1.31\\x1b[31m" in heading
    assert _forged_lines(result.stdout) <= (1 if args[0] == "check" else 0)   # only check's own status line


def test_the_heading_goes_to_stderr_escaped_with_json(tmp_path):
    path = _snapshot(tmp_path)
    result = run_cli("check", "-o", "json", "--snapshot", str(path))
    _clean(result.stderr)
    assert "context prod\\x1b]0;pwned" in result.stderr
    json.loads(result.stdout)


def test_pod_names_from_a_snapshot_are_escaped_in_tables_and_kept_in_json(tmp_path):
    name = "web-5b4656675c-826fd\x1b[2K\r" + FORGED
    path = _snapshot(tmp_path, context="demo", pod_name=name)
    for args in (("targets", "--all", "-o", "wide"), ("stat", "pod", "-n", "emojivoto")):
        result = run_cli(*args, "--snapshot", str(path))
        assert result.exit_code in (0, 1), result.output
        _clean(result.stdout)
        assert "web-5b4656675c-826fd\\x1b[2K\\r" + FORGED in result.stdout
        assert _forged_lines(result.stdout) == 0
    doc = json.loads(run_cli("targets", "-o", "json", "--snapshot", str(path)).stdout)
    pods = {t["linkerdOtel"].get("pod") for t in doc["data"]["activeTargets"]}
    assert name in pods                    # JSON: the name as it is


def test_log_lines_from_a_snapshot_are_escaped_in_check(tmp_path):
    # a log is split into lines; a line's escape sequences (retitle, cursor up, erase line) stay on it
    path = _snapshot(tmp_path, context="demo", log_line="boom\x1b]0;pwned\x07\x1b[1A\x1b[2K" + FORGED)
    result = run_cli("check", "--snapshot", str(path))
    _clean(result.stdout)
    example = next(line for line in result.stdout.splitlines() if "boom" in line)
    # the line's problem (its message), once, with its count and time (issue 26): escaped all the same
    assert example == "        boom\\x1b]0;pwned\\x07\\x1b[1A\\x1b[2K" + FORGED + " (once, 2026-11-25 09:21:03 UTC)"
    assert _forged_lines(result.stdout) == 0                  # the demo's status line is ×
    as_json = json.loads(run_cli("check", "-o", "json", "--snapshot", str(path)).stdout)
    errors = [c["error"] for cat in as_json["categories"] for c in cat["checks"]]
    assert any("boom\x1b]0;pwned\x07\x1b[1A\x1b[2K" + FORGED in e for e in errors)   # JSON untouched


def test_live_pod_name_and_collector_error_are_escaped(mesh_api):
    scenarios.healthy(mesh_api)
    pod = copy.deepcopy(next(p for p in mesh_api.objects("pods") if p["metadata"]["name"].startswith("web-")))
    pod["metadata"]["name"] = "web-evil\x1b]0;pwned\x07"
    mesh_api.add(pod)
    result = run_cli("targets", "--all")
    _clean(result.output)
    assert "web-evil\\x1b]0;pwned\\x07" in result.stdout
    check = run_cli("check", "--metrics-interval=0s")
    _clean(check.output)


def test_an_api_server_message_in_an_error_line_is_escaped(fake_api):
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
                       "code": 403, "message": "nope\x1b]0;pwned\x07\n" + FORGED}).encode()
    fake_api.answer(body, path=".*", status=403)
    for args in (("version",), ("targets",), ("stat", "-n", "x")):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        _clean(result.stderr)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "nope\\x1b]0;pwned\\x07\\n" in lines[0]
