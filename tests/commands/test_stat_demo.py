"""`stat --demo`: the demo snapshot's two reads of every meshed proxy (tests/demo_proxies.py), with no
kubeconfig, an empty HOME and no network: voting has errors, emoji has high latency."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent.parent
HEADING = ("Demo snapshot (a made-up mesh; no cluster was contacted), taken 2026-11-25 09:31:40 UTC "
           "(context demo, Kubernetes v1.31.2)")


def test_demo_table_shows_every_namespace(nowhere):
    result = run_cli("stat", "--demo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [HEADING, ""]
    assert lines[2].split() == ["NAMESPACE", "NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95",
                                "LATENCY_P99", "TCP_CONN"]
    rows = {line.split()[1]: line.split() for line in lines[3:10]}
    assert rows["voting"][2:] == ["1/1", "78.50%", "53.5rps", "1ms", "4ms", "7ms", "1"]     # the errors
    assert rows["emoji"][2:] == ["1/1", "100.00%", "88.0rps", "133ms", "922ms", "1848ms", "2"]  # the latency
    assert rows["web"][2:5] == ["1/1", "97.78%", "90.0rps"]
    assert rows["linkerd-identity"][3:] == ["-"] * 6                 # no requests in the window
    assert rows["vote-bot"][3] == "-"
    assert "emojivoto   vote-bot-5f6b8c9d4c-m7tzn   deploy/vote-bot   no `linkerd-admin` port on the linkerd-proxy " \
           "container" in result.stdout
    assert result.stderr == ""
    assert not any(nowhere.iterdir())


def test_demo_json_outbound_of_one_namespace(nowhere):
    result = run_cli("stat", "deploy/web", "-n", "emojivoto", "--outbound", "--demo", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == HEADING + "\n"
    rows = {r["linkerdOtel"]["destination"]["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"emoji", "voting", "linkerd-destination"}
    voting = rows["voting"]
    assert voting["linkerdOtel"]["responses"] == {"success": 420, "failure": 115}
    assert voting["linkerdOtel"]["windowSeconds"] == 10.0 and voting["rps"] == pytest.approx(53.5)
    assert rows["emoji"]["latency_ms_p99"] == 1848


def test_demo_pod_and_namespace_views(nowhere):
    pods = json.loads(run_cli("stat", "pod", "-n", "linkerd", "--demo", "-o", "json").stdout)
    assert [p["name"] for p in pods] == ["linkerd-destination-7bc66fc896-wzm6d", "linkerd-identity-699b5bb85d-gwl55",
                                         "linkerd-proxy-injector-56bcf878c5-sm7gp"]
    assert all(p["linkerdOtel"]["status"] == "Running" for p in pods)
    namespaces = {r["name"]: r for r in json.loads(run_cli("stat", "ns", "--demo", "-o", "json").stdout)}
    assert set(namespaces) == {"emojivoto", "linkerd"}                  # default's d1 pods are not meshed
    assert namespaces["emojivoto"]["meshed"] == "4/4"
    assert namespaces["emojivoto"]["linkerdOtel"]["responses"] == {"success": 1300 + 880, "failure": 20 + 115}


def test_demo_namespace_without_meshed_pods(nowhere):
    result = run_cli("stat", "deploy", "-n", "default", "--demo")
    assert result.exit_code == 0
    assert result.stdout == HEADING + "\n\n"
    assert result.stderr == "No meshed pods: no deploy with meshed running pods in namespace default.\n"


def test_stat_demo_as_a_user_runs_it(tmp_path):
    """A separate process, a bare environment: no KUBECONFIG, an empty HOME, no proxy settings."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT / "src"),
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    proc = subprocess.run([sys.executable, "-m", "kubectl_linkerd_otel", "stat", "--demo", "-o", "wide"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(HEADING + "\n\nNAMESPACE") and proc.stderr == ""
    assert "READ_BYTES/SEC" in proc.stdout
    assert os.listdir(home) == []
