"""Snapshot files through the CLI: `snapshot -f`, `check --save-snapshot`, `check|targets --snapshot`:
the same report offline as live, a heading line, and one-line errors for files that are not snapshots."""
from __future__ import annotations

import gzip
import json

import pytest

import scenarios
from helpers import run_cli, snapshot_text

NS = scenarios.NS


def _fresh_metrics(api) -> None:
    """The self-metrics counters start again, so two gathers read the same values."""
    api.set_proxy(NS, scenarios.COLLECTOR_POD, 8888, "metrics", body=scenarios.growing_metrics())


@pytest.mark.parametrize("scenario", ["healthy", "reference"])
def test_snapshot_checked_offline_gives_the_live_report(mesh_api, tmp_path, scenario):
    getattr(scenarios, scenario)(mesh_api)
    _fresh_metrics(mesh_api)
    live = run_cli("check", "-o", "json", "--metrics-interval=0s")
    _fresh_metrics(mesh_api)
    path = tmp_path / "snap.gz"
    saved = run_cli("snapshot", "-f", str(path), "--metrics-interval=0s")
    assert saved.exit_code == 0, saved.output
    assert saved.stdout == ""
    assert saved.stderr.startswith(f"Wrote snapshot {path} (")
    assert "credentials redacted" in saved.stderr
    mesh_api.stop()
    offline = run_cli("check", "-o", "json", "--snapshot", str(path))
    assert offline.exit_code == live.exit_code
    assert json.loads(offline.stdout) == json.loads(live.stdout)
    assert offline.stderr.startswith(f"Snapshot {path}, taken ")     # JSON stays clean on stdout
    assert "(context fake, Kubernetes v1.31.2)" in offline.stderr


def test_save_snapshot_of_a_check_run_gives_the_same_report(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    path = tmp_path / "snap.gz"
    live = run_cli("check", "-o", "json", "--metrics-interval=0s", "--save-snapshot", str(path))
    offline = run_cli("check", "-o", "json", "--snapshot", str(path))
    assert (offline.exit_code, json.loads(offline.stdout)) == (live.exit_code, json.loads(live.stdout))
    table = run_cli("check", "--snapshot", str(path))
    first, rest = table.stdout.split("\n", 1)
    assert first.startswith(f"Snapshot {path}, taken 20") and first.endswith("(context fake, Kubernetes v1.31.2) "
                                                                           "by plugin 0.1.0")
    assert rest.startswith("\nkubernetes-api\n--------------\n√ can initialize the client\n")


@pytest.mark.parametrize("args", [("-o", "json"), ("-o", "json", "--all"), ("-o", "wide", "--all"),
                                  ("--job", "linkerd-proxy")])
@pytest.mark.parametrize("scenario", ["healthy", "reference"])
def test_targets_from_a_snapshot_is_the_live_report(mesh_api, tmp_path, scenario, args):
    getattr(scenarios, scenario)(mesh_api)
    live = run_cli("targets", *args)
    path = tmp_path / "snap.gz"
    assert run_cli("snapshot", "-f", str(path), "--metrics-interval=0s").exit_code == 0
    mesh_api.stop()
    offline = run_cli("targets", "--snapshot", str(path), *args)
    assert offline.exit_code == live.exit_code, offline.output
    if args[:2] == ("-o", "json"):
        assert json.loads(offline.stdout) == json.loads(live.stdout)
        assert offline.stderr.startswith(f"Snapshot {path}, taken ")
    else:
        heading, rest = offline.stdout.split("\n", 1)
        assert heading.startswith(f"Snapshot {path}, taken ")
        assert rest == "\n" + live.stdout


def test_targets_snapshot_with_unreadable_collector_targets_says_so(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", 500, "oops")
    live = run_cli("targets", "--job", "linkerd-proxy")
    path = tmp_path / "snap.gz"
    run_cli("snapshot", "-f", str(path), "--metrics-interval=0s")
    offline = run_cli("targets", "--snapshot", str(path), "--job", "linkerd-proxy")
    assert f"collector pod {scenarios.COLLECTOR_POD} answered HTTP 500" in live.stdout
    assert offline.stdout.split("\n", 1)[1] == "\n" + live.stdout


def test_manifest_says_what_could_not_be_read(mesh_api, tmp_path):
    scenarios.healthy(mesh_api)
    mesh_api.fail(403, times=None, path=r"^/api/v1/namespaces/observability/serviceaccounts")
    path = tmp_path / "snap.gz"
    result = run_cli("snapshot", "-f", str(path), "--metrics-interval=0s")
    assert result.exit_code == 0, result.output
    assert "1 read failed (listed in its manifest)" in result.stderr
    doc = json.loads(snapshot_text(path))
    assert doc["format"] == "kubectl-linkerd-otel/snapshot" and doc["version"] == 2
    manifest = doc["manifest"]
    assert manifest["readers"] == ["check", "targets", "stat"]
    assert manifest["context"] == "fake" and manifest["cluster_version"] == "v1.31.2"
    assert manifest["plugin_version"] == "0.1.0" and manifest["redacted"] is True
    assert manifest["taken_at"] == doc["snapshot"]["taken_at"] and manifest["taken_at_text"].endswith(" UTC")
    assert list(manifest["unreadable"]) == ["serviceaccounts"]
    assert "(HTTP 403)" in manifest["unreadable"]["serviceaccounts"]
    assert mesh_api.url not in snapshot_text(path)          # the server URL is not saved


def test_snapshot_command_needs_a_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = run_cli("snapshot", "-f", str(tmp_path / "snap.gz"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "snap.gz").exists()
    assert "Missing option '-f'" in run_cli("snapshot").stderr


def test_a_version_1_file_is_still_read(mesh_api, tmp_path):
    from kubectl_linkerd_otel.snapshot import Snapshot

    scenarios.reference(mesh_api)
    path = tmp_path / "snap.gz"
    live = run_cli("check", "-o", "json", "--metrics-interval=0s", "--save-snapshot", str(path))
    body = json.loads(snapshot_text(path))["snapshot"]
    old = tmp_path / "v1.json"
    old.write_text(json.dumps({"format": "kubectl-linkerd-otel/snapshot/v1", **body}))
    offline = run_cli("check", "-o", "json", "--snapshot", str(old))
    assert json.loads(offline.stdout) == json.loads(live.stdout)
    assert Snapshot.from_dict(body).taken_at == body["taken_at"]


# -- files that are not snapshots this plugin reads: one line, exit 2 ----------------------------------
def _good(tmp_path) -> bytes:
    from kubectl_linkerd_otel.snapshot import Snapshot
    from kubectl_linkerd_otel.snapshot.fileformat import encode, manifest_for

    snap = Snapshot(taken_at=1764000000.0, pods=[{"metadata": {"name": "p", "namespace": "x"}}] * 200)
    return encode(snap, manifest_for(snap, plugin_version="0.1.0"))


def _gz(doc) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


V2 = {"format": "kubectl-linkerd-otel/snapshot", "version": 2, "manifest": {}, "snapshot": {}}


@pytest.mark.parametrize("make, needle", [
    (lambda good: b"hello, world\n", "is not a linkerd-otel snapshot (neither gzip nor JSON)"),
    (lambda good: b"\x00\x01\xff\xfe binary", "is not a linkerd-otel snapshot (neither gzip nor UTF-8 JSON)"),
    (lambda good: b"", "is not a linkerd-otel snapshot (neither gzip nor JSON)"),
    (lambda good: good[:len(good) // 2], "is truncated (the compressed data ends early)"),
    (lambda good: good[:1], "is truncated (it ends inside the gzip header)"),
    (lambda good: good[:5], "is truncated"),
    (lambda good: good[:20] + bytes(b ^ 0x5A for b in good[20:60]) + good[60:], "is corrupt ("),
    (lambda good: good[:-8] + b"\x00" * 8, "is corrupt (CRC check failed"),
    (lambda good: b"\x1f\x8b" + b"\x00" * 30, "is corrupt ("),
    (lambda good: _gz([1, 2]), "is not a linkerd-otel snapshot (a JSON list, not an object)"),
    (lambda good: _gz({"pods": []}), "is not a linkerd-otel snapshot (no snapshot format named in it)"),
    (lambda good: _gz(dict(V2, snapshot=[])), "is damaged (no snapshot object in it)"),
    (lambda good: _gz(dict(V2, manifest=None)), "is damaged (no manifest in it)"),
    (lambda good: _gz(dict(V2, manifest={"readers": "check"})), "manifest field 'readers' has the wrong type"),
    (lambda good: _gz(dict(V2, snapshot={"pods": {"a": 1}})), "is damaged (field 'pods' has the wrong type)"),
    (lambda good: _gz(dict(V2, snapshot={"logs": ["x"]})), "is damaged (field 'logs' has the wrong type)"),
    (lambda good: _gz(dict(V2, version=3)),
     "is format version 3, newer than this plugin reads (versions 1 and 2): upgrade kubectl-linkerd-otel"),
    (lambda good: _gz(dict(V2, version="2")), "has an unknown format version '2'; this plugin reads versions 1 and 2"),
    (lambda good: _gz(dict(V2, version=0)), "has an unknown format version 0; this plugin reads versions 1 and 2"),
    (lambda good: _gz({k: v for k, v in V2.items() if k != "version"}), "unknown format version None"),
])
@pytest.mark.parametrize("command", ["check", "targets"])
def test_bad_files_are_one_line_and_exit_2(tmp_path, monkeypatch, make, needle, command):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    path = tmp_path / "bad.gz"
    path.write_bytes(make(_good(tmp_path)))
    result = run_cli(command, "--snapshot", str(path))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_a_file_without_data_for_a_reader_is_refused(tmp_path):
    path = tmp_path / "check-only.gz"
    path.write_bytes(_gz(dict(V2, manifest={"readers": ["check"]})))
    result = run_cli("targets", "--snapshot", str(path))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: snapshot {path} holds no data for `targets` (it holds data for: check); "
                             f"take a new one with `kubectl linkerd-otel snapshot -f FILE`\n")
    assert "holds no data" not in run_cli("check", "--snapshot", str(path)).stderr   # check reads it


def test_missing_file_and_conflicting_flags(tmp_path):
    result = run_cli("check", "--snapshot", str(tmp_path / "nope.gz"))
    assert result.exit_code == 2 and "cannot read snapshot" in result.stderr and "No such file" in result.stderr
    result = run_cli("targets", "--snapshot", str(tmp_path / "x"), "--pods", "p.json")
    assert result.exit_code == 2 and "cannot be used with --snapshot" in result.stderr
    result = run_cli("check", "--snapshot", str(tmp_path / "x"), "--demo")
    assert result.exit_code == 2 and "--demo and --snapshot cannot be used together" in result.stderr


def test_written_file_is_whole_and_reproducible(tmp_path):
    from kubectl_linkerd_otel.snapshot.fileformat import decode

    data = _good(tmp_path)
    assert data == _good(tmp_path)                  # no time stamp in the gzip header
    snap, manifest = decode(data, "x", "check")
    assert len(snap.pods) == 200 and manifest.taken_at_text == "2025-11-24 16:00:00 UTC"
    plain, _ = decode(gzip.decompress(data), "x", "targets")      # gunzipped to look inside: still read
    assert plain.pods == snap.pods


def test_snapshot_to_stdout_as_a_subprocess(mesh_api, tmp_path):
    import os
    import subprocess
    import sys

    scenarios.reference(mesh_api)
    env = dict(os.environ, KUBECONFIG=mesh_api.kubeconfig_path)
    proc = subprocess.run([sys.executable, "-m", "kubectl_linkerd_otel", "snapshot", "-f", "-",
                           "--metrics-interval=0s"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout[:2] == b"\x1f\x8b" and proc.stderr.decode().startswith("Wrote snapshot - (")
    path = tmp_path / "piped.gz"
    path.write_bytes(proc.stdout)
    mesh_api.stop()
    offline = run_cli("check", "--snapshot", str(path), "-o", "short")
    assert offline.exit_code == 1 and offline.stdout.startswith(f"Snapshot {path}, taken ")
