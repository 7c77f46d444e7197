"""cluster/collector.py against the fake API server: finding the collector and reading its receiver."""
from __future__ import annotations

import json

import pytest

from kubectl_linkerd_otel.cluster.collector import (TargetsUnreadable, actual_targets, locate_collector,
                                                    read_targets)
from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.k8s.kubeflags import KubeOptions
from kubectl_linkerd_otel.apiclient import Kube

import scenarios


@pytest.fixture
def kube(mesh_api):
    client = Kube.connect(KubeOptions())
    yield client
    client.close()


def test_locate_finds_the_reference_collector(mesh_api, kube):
    found = locate_collector(kube, scenarios.NS)
    assert found.configmap_name == "otel-collector-config"
    assert found.workload is not None


def test_locate_in_an_empty_namespace_is_a_usage_error(mesh_api, kube):
    with pytest.raises(UsageError, match="no OpenTelemetry collector config found in namespace nowhere"):
        locate_collector(kube, "nowhere")


@pytest.mark.parametrize("status,body,kind", [
    (500, "oops", "status"),
    (200, "<html>", "json"),
    (200, json.dumps(["not", "a", "targets", "document"]), "shape"),
])
@pytest.mark.parametrize("streamed", [False, True])
def test_a_targets_answer_that_is_not_a_targets_document(mesh_api, kube, status, body, kind, streamed):
    mesh_api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", status=status, body=body)
    with pytest.raises(TargetsUnreadable) as info:
        read_targets(kube, scenarios.NS, scenarios.COLLECTOR_POD, 9090, reduce=(lambda t: t) if streamed else None)
    assert info.value.kind == kind


def _targets_answer(n: int) -> dict:
    return {"status": "success", "data": {
        "activeTargets": [{"scrapePool": "linkerd-proxy", "scrapeUrl": f"http://10.0.{i // 250}.{i % 250}:4191/metrics",
                           "labels": {"instance": f"10.0.{i // 250}.{i % 250}:4191", "pod": f"web-{i:06d}"},
                           "discoveredLabels": {"__address__": f"10.0.{i // 250}.{i % 250}:4191",
                                                "__meta_kubernetes_pod_name": f"web-{i:06d}",
                                                "__meta_kubernetes_pod_label_app": "web" * 100},
                           "health": "up", "lastError": "", "lastScrape": "2026-12-06T10:00:00Z",
                           "lastScrapeDuration": 0.01} for i in range(n)],
        "droppedTargets": [{"discoveredLabels": {"__address__": "10.1.0.1:80"}}] * n}}


def test_a_streamed_answer_is_reduced_as_it_comes_and_never_held_whole(mesh_api, kube):
    from kubectl_linkerd_otel.k8s.bounded import _in_flight
    from kubectl_linkerd_otel.k8s.limits import TARGETS_ANSWER

    answer = _targets_answer(8000)        # about 5 MB
    body = json.dumps(answer)
    mesh_api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=body)
    held = []

    def reduce(target):
        held.append(_in_flight(TARGETS_ANSWER).total)
        return target["labels"]["pod"]

    before = len(mesh_api.requests_to("/proxy/api/v1/targets"))
    doc = read_targets(kube, scenarios.NS, scenarios.COLLECTOR_POD, 9090, state="active", reduce=reduce)
    assert doc["data"]["activeTargets"] == [f"web-{i:06d}" for i in range(8000)]
    assert doc["data"]["droppedTargets"] == []
    assert len(mesh_api.requests_to("/proxy/api/v1/targets")) == before + 1
    assert max(held) <= 1024 * 1024 < len(body) // 4     # a chunk at a time, not the answer


def test_an_answer_the_stream_reader_cannot_follow_is_asked_again_and_read_whole(mesh_api, kube):
    body = '{"status": "success", "data": {"activeTargets": [], "activeTargets": [{"scrapePool": "p"}]}}'
    mesh_api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=body)
    before = len(mesh_api.requests_to("/proxy/api/v1/targets"))
    doc = read_targets(kube, scenarios.NS, scenarios.COLLECTOR_POD, 9090, state="active", reduce=lambda t: t)
    assert doc["data"]["activeTargets"] == [{"scrapePool": "p"}]     # json.loads: the last key wins
    assert len(mesh_api.requests_to("/proxy/api/v1/targets")) == before + 2


def test_actual_targets_reads_every_running_collector_pod(mesh_api, kube):
    scenarios.healthy(mesh_api)
    location = locate_collector(kube, scenarios.NS)
    from kubectl_linkerd_otel.source.collector import parse_config_text

    config = parse_config_text(location.config_text, "configmap")
    answers, notes = actual_targets(kube, location, config)
    assert notes == []
    assert list(answers) == [scenarios.COLLECTOR_POD]
    assert answers[scenarios.COLLECTOR_POD]["data"]["activeTargets"]
