"""cluster/collector.py against the fake API server: finding the collector and reading its receiver."""
from __future__ import annotations

import json

import pytest

from kubectl_linkerd_otel.cluster.collector import (TargetsUnreadable, actual_targets, locate_collector,
                                                    read_targets)
from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.k8s.kubeflags import KubeOptions
from kubectl_linkerd_otel.kube import Kube

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
def test_a_targets_answer_that_is_not_a_targets_document(mesh_api, kube, status, body, kind):
    mesh_api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", status=status, body=body)
    with pytest.raises(TargetsUnreadable) as info:
        read_targets(kube, scenarios.NS, scenarios.COLLECTOR_POD, 9090)
    assert info.value.kind == kind


def test_actual_targets_reads_every_running_collector_pod(mesh_api, kube):
    scenarios.healthy(mesh_api)
    location = locate_collector(kube, scenarios.NS)
    from kubectl_linkerd_otel.commands.inputs import parse_config_text

    config = parse_config_text(location.config_text, "configmap")
    answers, notes = actual_targets(kube, location, config)
    assert notes == []
    assert list(answers) == [scenarios.COLLECTOR_POD]
    assert answers[scenarios.COLLECTOR_POD]["data"]["activeTargets"]
