from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from kubectl_linkerd_otel.k8s import podstatus

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _pods():
    return {p["metadata"]["name"]: p for p in json.loads((FIXTURES / "harness-mesh-pods.json").read_text())["items"]}


def _pod(name):
    return copy.deepcopy(_pods()[name])


def test_regular_proxy_pod_is_2_of_2():
    pod = _pod("emoji-547b6957d6-s59rz")
    assert podstatus.ready_counts(pod) == (2, 2)
    assert podstatus.status_column(pod) == "Running"


def test_native_sidecar_proxy_counts_in_ready():
    pod = _pod("web-5b4656675c-826fd")
    assert podstatus.ready_counts(pod) == (2, 2)
    assert podstatus.is_fully_ready(pod)


def test_native_sidecar_not_started_is_not_ready():
    pod = _pod("web-5b4656675c-826fd")
    for cs in pod["status"]["initContainerStatuses"]:
        if cs["name"] == "linkerd-proxy":
            cs["started"] = False
            cs["ready"] = False
            cs["state"] = {"waiting": {"reason": "PodInitializing"}}
    ready, total = podstatus.ready_counts(pod)
    assert (ready, total) == (1, 2)


def test_completed_job_pod():
    pod = _pod("hello-px6k6")
    assert podstatus.ready_counts(pod) == (0, 2)
    assert podstatus.status_column(pod) == "Completed"
    assert "Succeeded" in podstatus.not_ready_reason(pod)


def test_crashloop_reason_and_restarts():
    pod = _pod("emoji-547b6957d6-s59rz")
    cs = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "linkerd-proxy")
    cs.update(ready=False, restartCount=7,
              state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
              lastState={"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-01-01T00:00:00Z"}})
    assert podstatus.ready_counts(pod) == (1, 2)
    assert podstatus.status_column(pod) == "CrashLoopBackOff"
    assert podstatus.restarts(pod) == 7
    assert podstatus.last_termination(pod)["reason"] == "Error"
    assert podstatus.last_termination(pod)["container"] == "linkerd-proxy"
    assert ("linkerd-proxy", "CrashLoopBackOff") in podstatus.waiting_reasons(pod)
    assert podstatus.not_ready_reason(pod).startswith("CrashLoopBackOff")


def test_init_waiting_reason():
    pod = _pod("emoji-547b6957d6-s59rz")
    pod["status"]["initContainerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    pod["status"]["conditions"] = [c for c in pod["status"]["conditions"] if c["type"] != "Initialized"]
    assert podstatus.status_column(pod) == "Init:ImagePullBackOff"


def test_init_failed_exit_code():
    pod = _pod("emoji-547b6957d6-s59rz")
    pod["status"]["initContainerStatuses"][0]["state"] = {"terminated": {"exitCode": 3}}
    pod["status"]["conditions"] = []
    assert podstatus.status_column(pod) == "Init:ExitCode:3"


def test_terminating():
    pod = _pod("emoji-547b6957d6-s59rz")
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert podstatus.status_column(pod) == "Terminating"


@pytest.mark.parametrize("name,expected", [
    ("d1-dfc67885c-kg565", (1, 1)),
    ("linkerd-destination-7bc66fc896-wzm6d", (4, 4)),
    ("linkerd-identity-699b5bb85d-gwl55", (2, 2)),
    ("otel-collector-857df6bd6f-b84jg", (1, 1)),
])
def test_fixture_ready_columns(name, expected):
    assert podstatus.ready_counts(_pod(name)) == expected


def test_empty_pod():
    assert podstatus.ready_counts({}) == (0, 0)
    assert not podstatus.is_fully_ready({})
    assert podstatus.last_termination({}) is None
