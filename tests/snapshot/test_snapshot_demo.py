"""The demo snapshot: shipped in the package, built from the fake API server by the real gather code
(scripts/demo_snapshot.py), and `check --demo` / `targets --demo` need no kubeconfig and no network."""
from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path


from helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "src" / "kubectl_linkerd_otel" / "data" / "demo-snapshot.json.gz"


def _script():
    spec = importlib.util.spec_from_file_location("demo_snapshot", ROOT / "scripts" / "demo_snapshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc(data: bytes) -> dict:
    doc = json.loads(gzip.decompress(data))
    doc["manifest"].pop("plugin_version")     # a version bump alone is not drift
    return doc


def test_the_shipped_demo_is_what_gather_writes_today():
    built = _script().build()
    assert _doc(built) == _doc(SHIPPED.read_bytes()), \
        "the demo snapshot drifted from gather: run python scripts/demo_snapshot.py and commit the file"


def test_check_demo_shows_the_whole_report(nowhere):
    result = run_cli("check", "--demo")
    assert result.exit_code == 1, result.output          # the demo has problems to find
    lines = result.stdout.splitlines()
    assert lines[0] == ("Demo snapshot (a made-up mesh; no cluster was contacted), taken 2026-11-25 09:31:40 UTC "
                        "(context demo, Kubernetes v1.31.2)")
    assert lines[1] == "" and lines[2] == "kubernetes-api"
    out = result.stdout
    # what the demo mesh holds, as check reports it
    assert "        emojivoto/voting-6d9f7c8b5d-x2kqp  1/2  Running  voting-svc: CrashLoopBackOff\n" in out
    assert "× every proxy exposes the linkerd-admin port\n" in out
    assert "        emojivoto/vote-bot-5f6b8c9d4c-m7tzn\n" in out
    assert "‼ no scrape failures in the logs\n    1 scrape failure" in out
    assert "‼ no export retries or drops in the logs\n    3 exports retried" in out
    assert "(1 completed pod not counted)" in out
    assert "√ collector image is pinned\n" in out
    assert lines[-1] == "Status check results are ×"
    assert result.stderr == ""
    assert not any(nowhere.iterdir())                      # nothing written to HOME


def test_check_demo_json_and_short(nowhere):
    result = run_cli("check", "--demo", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["success"] is False
    assert result.stderr.startswith("Demo snapshot (a made-up mesh")
    short = run_cli("check", "--demo", "-o", "short")
    assert "√ can query" not in short.stdout and "× meshed pods are ready" in short.stdout


def test_targets_demo(nowhere):
    result = run_cli("targets", "--demo", "--all")
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("Demo snapshot (a made-up mesh; no cluster was contacted), taken ")
    out = result.stdout
    assert "vote-bot-5f6b8c9d4c-m7tzn" in out and "no `linkerd-admin` port" in out
    assert "hello-px6k6" in out                             # the completed Job pod, dropped by the phase rule
    doc = json.loads(run_cli("targets", "--demo", "-o", "json").stdout)
    pods = {t["linkerdOtel"].get("pod") for t in doc["data"]["activeTargets"]}
    assert {"emoji-547b6957d6-s59rz", "web-5b4656675c-826fd", "voting-6d9f7c8b5d-x2kqp"} <= pods
    assert all(t["health"] == "up" for t in doc["data"]["activeTargets"])


def test_demo_holds_both_proxy_kinds_and_no_credential():
    doc = json.loads(gzip.decompress(SHIPPED.read_bytes()))
    assert doc["manifest"]["source"] == "demo" and doc["manifest"]["readers"] == ["check", "targets", "stat"]
    assert doc["manifest"]["unreadable"] == {}
    pods = {p["metadata"]["name"]: p for p in doc["snapshot"]["pods"]}
    native = [n for n, p in pods.items()
              if any(c["name"] == "linkerd-proxy" for c in p["spec"].get("initContainers") or [])]
    regular = [n for n, p in pods.items() if any(c["name"] == "linkerd-proxy" for c in p["spec"]["containers"])]
    assert native and regular
    assert pods["hello-px6k6"]["status"]["phase"] == "Succeeded"
    assert b"cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM=" not in gzip.decompress(SHIPPED.read_bytes())


def test_demo_as_a_user_runs_it(tmp_path):
    """A separate process, a bare environment: no KUBECONFIG, an empty HOME, no proxy settings."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT / "src"),
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    proc = subprocess.run([sys.executable, "-m", "kubectl_linkerd_otel", "check", "--demo"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("Demo snapshot") and proc.stderr == ""
    assert os.listdir(home) == []
