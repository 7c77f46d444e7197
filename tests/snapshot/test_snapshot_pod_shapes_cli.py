"""Issue 23, item 7: pods read from a snapshot are checked at the same edge as pods from the API server
(k8s/podshape.pod_problem), in the snapshot loading code: a pod field of the wrong type is one line naming
the pod and the field, exit 2, for every command that reads snapshots; never an AttributeError."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from helpers import run_cli

DEMO = Path(__file__).resolve().parents[2] / "src" / "kubectl_linkerd_otel" / "data" / "demo-snapshot.json.gz"
POD = "web-5b4656675c-826fd"


def _break(pod: dict, what: str) -> None:
    if what == "spec":
        pod["spec"] = "a string"
    elif what == "status":
        pod["status"] = ["a", "list"]
    elif what == "containers":
        pod["spec"]["containers"] = "a string"
    elif what == "labels":
        pod["metadata"]["labels"] = ["a", "list"]
    elif what == "ports":
        pod["spec"]["containers"][0]["ports"] = [{"containerPort": "http"}]
    elif what == "pod":
        pod.clear()
        pod.update({"metadata": {"name": POD, "namespace": "emojivoto"}, "spec": {"initContainers": {}}})


EXPECTED = {
    "spec": "spec is a string, not an object",
    "status": "status is a list, not an object",
    "containers": "spec.containers is a string, not a list",
    "labels": "metadata.labels is a list, not an object",
    "ports": "spec.containers[0].ports[0].containerPort is a string, not an integer",
    "pod": "spec.initContainers is an object, not a list",
}


def _snapshot(tmp_path, what: str, *, version: int = 2) -> Path:
    doc = json.loads(gzip.decompress(DEMO.read_bytes()))
    doc["manifest"]["source"] = "cluster"
    _break(next(p for p in doc["snapshot"]["pods"] if p["metadata"]["name"] == POD), what)
    path = tmp_path / "broken.snapshot.gz"
    if version == 1:    # the first format: plain JSON, the fields at the top
        path.write_text(json.dumps({"format": "kubectl-linkerd-otel/snapshot/v1", **doc["snapshot"]}))
    else:
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


@pytest.mark.parametrize("what", sorted(EXPECTED))
@pytest.mark.parametrize("args", [("targets",), ("targets", "-o", "json"), ("stat", "-A"), ("stat", "-A", "-o", "json"),
                                  ("check",)])
def test_a_pod_of_the_wrong_shape_in_a_snapshot_is_one_line(tmp_path, what, args):
    path = _snapshot(tmp_path, what)
    result = run_cli(*args, "--snapshot", str(path))
    assert result.exit_code == 2, result.output
    assert "Error" not in result.stdout and "AttributeError" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0] == (f"Error: snapshot {path} is damaged (pod emojivoto/{POD}: {EXPECTED[what]}); pass a file "
                        "written by `kubectl linkerd-otel snapshot -f FILE` (or check --save-snapshot)")


def test_version_1_files_are_checked_too(tmp_path):
    path = _snapshot(tmp_path, "status", version=1)
    result = run_cli("targets", "--snapshot", str(path))
    assert result.exit_code == 2, result.output
    assert "status is a list, not an object" in result.stderr


def test_the_shipped_demo_passes_the_edge():
    for args in (("targets", "--demo"), ("stat", "--demo"), ("check", "--demo")):
        result = run_cli(*args)
        assert result.exit_code in (0, 1), result.output
