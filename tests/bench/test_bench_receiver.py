"""The bench's collector receiver (bench/fakeserver.py) answers /api/v1/targets as Prometheus does: with
`state=any` every dropped target with its discovered labels (one per container port of every pod, for
the job that discovers all pods) and the dropped counts; with `state=active` no dropped targets and null
counts. The answer is sent in chunks from disk, never built whole."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import fakeserver  # noqa: E402
import scenarios  # noqa: E402
from fakekube import FakeApiServer  # noqa: E402

PODS = 45


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    api = FakeApiServer()
    fakeserver.build(api, PODS, tmp_path_factory.mktemp("receiver"))
    api.start()
    yield api
    api.stop()


def _targets(api, state: str):
    url = (f"{api.url}/api/v1/namespaces/{scenarios.NS}/pods/{scenarios.COLLECTOR_POD}:9090/proxy"
           f"/api/v1/targets?state={state}")
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200
    return answer


def _ports(pod: dict) -> int:
    """Prometheus' pod discovery: a target per declared port of each container and init container, one
    for a container without ports; none for a pod without an IP."""
    if not (pod.get("status") or {}).get("podIP"):
        return 0
    spec = pod["spec"]
    return sum(max(1, len(c.get("ports") or [])) for c in spec.get("containers", []) + spec.get("initContainers", []))


def test_state_any_lists_every_dropped_target_with_its_discovered_labels(served):
    answer = _targets(served, "any")
    assert answer.headers.get("transfer-encoding") == "chunked"
    data = answer.json()["data"]
    active, dropped = data["activeTargets"], data["droppedTargets"]
    pods = served.objects("pods")
    assert len(active) + len(dropped) == sum(_ports(p) for p in pods)   # the proxy job discovers all pods
    assert len(active) >= PODS
    assert data["droppedTargetCounts"] == {"linkerd-proxy": len(dropped)}
    by_pod = {}
    for t in dropped:
        assert set(t) == {"discoveredLabels", "scrapePool"} and t["scrapePool"] == "linkerd-proxy"
        labels = t["discoveredLabels"]
        assert list(labels) == sorted(labels)
        assert labels["job"] == "linkerd-proxy" and "__address__" in labels
        by_pod.setdefault((labels["__meta_kubernetes_namespace"], labels["__meta_kubernetes_pod_name"]), []).append(labels)
    # every generated pod has its non-admin ports dropped: the app's ports and the proxy's other ones
    generated = [p for p in pods if p["metadata"]["namespace"].startswith("app-")]
    assert len(generated) == PODS
    for pod in generated:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        assert len(by_pod[key]) == _ports(pod) - 1
        assert all(labels.get("__meta_kubernetes_pod_container_port_name") != "linkerd-admin"
                   or labels.get("__meta_kubernetes_pod_container_name") != "linkerd-proxy"
                   for labels in by_pod[key])
    for t in active:
        assert {"discoveredLabels", "labels", "scrapePool", "scrapeUrl", "globalUrl", "lastError", "lastScrape",
                "lastScrapeDuration", "health", "scrapeInterval", "scrapeTimeout"} == set(t)


def test_state_active_has_no_dropped_targets_and_null_counts(served):
    data = _targets(served, "active").json()["data"]
    assert data["droppedTargets"] == [] and data["droppedTargetCounts"] is None
    assert len(data["activeTargets"]) == served.active_targets


def test_state_dropped_has_no_active_targets(served):
    data = _targets(served, "dropped").json()["data"]
    assert data["activeTargets"] == [] and len(data["droppedTargets"]) == served.dropped_targets > 0
