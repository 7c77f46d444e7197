"""`check` against a failing API server: --wait bounds the whole run, a refused connection is fatal at once,
and a flaky server (a share of requests dropped, throttled, failed or stalled) gives the same report or
names exactly what it could not read."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

import scenarios
from helpers import run_cli
from test_check_scenarios import find

EXTENSION_FLAGS = ("--proxy=false", "--wait=5m0s", "--as-group=[]", "--linkerd-namespace=linkerd",
                   "--verbose=false", "--output=json")


def check_json(*extra):
    started = time.monotonic()
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", *extra)
    return result, json.loads(result.stdout), time.monotonic() - started




def descriptions(doc):
    """What each check said, without the figures that move between two runs (points sent so far)."""
    return [(c["categoryName"], re.sub(r"^\d+ metric points sent$", "N metric points sent", k["description"]),
             k["result"], k["error"], k["hint"]) for c in doc["categories"] for k in c["checks"]]


def not_success(doc):
    return [(c["categoryName"], k["description"], k["error"]) for c in doc["categories"]
            for k in c["checks"] if k["result"] != "success"]


# Wall-time bounds here guard against waiting for a long timeout (5 minutes of request timeout, an hour of
# stall): each is at most a fifth of what it guards against and many times what a loaded 2-core machine
# needs. What they really mean (reads side by side, one deadline) is shown by the server's own record.
LONG_TIMEOUT = "--request-timeout=5m"
FAR_BELOW_IT = 60


def test_wait_bounds_a_server_that_never_answers(mesh_api):
    mesh_api.stall()
    result, doc, took = check_json("--wait", "3s", LONG_TIMEOUT)
    assert took < FAR_BELOW_IT, took            # not the 5-minute request timeout
    assert result.exit_code == 2
    api = find(doc, "kubernetes-api", "can query the Kubernetes API")
    assert api["result"] == "error"
    assert "before the end of --wait 3s" in api["error"]


def test_wait_bounds_a_server_that_stalls_after_version(mesh_api):
    """/version answers, every list stalls: one deadline for all of them, not a timeout after another."""
    scenarios.healthy(mesh_api)
    mesh_api.stall(path=r"^/(api/v1|apis)/.+")
    result, doc, took = check_json("--wait", "3s", LONG_TIMEOUT)
    assert took < FAR_BELOW_IT, took
    assert result.exit_code == 1
    assert find(doc, "kubernetes-api", "can query the Kubernetes API")["result"] == "success"
    installed = find(doc, "linkerd-control-plane", "Linkerd control plane is installed")
    assert installed["result"] == "error"
    assert "before the end of --wait 3s" in installed["error"] and "list" in installed["error"]


def test_reads_run_side_by_side_without_wait(mesh_api):
    """Without --wait each request has its own timeout, but the reads wait together: a server that answers
    /version and stalls every list costs one request timeout, not one per round."""
    scenarios.healthy(mesh_api)
    mesh_api.stall(path=r"^/(api/v1|apis)/.+")
    result, doc, _ = check_json("--request-timeout=2s")
    assert result.exit_code == 1
    assert "did not answer within 2s" in find(doc, "linkerd-control-plane", "is installed")["error"]
    # the first request of every stalled list was being served at one same moment: side by side, not
    # one after another (a list asked again after its timeout is a retry of the same read; the gets that
    # depend on what the lists found, such as the OpenTelemetryCollector's, come in the round after)
    first = {}
    for request in mesh_api.requests_to(r"^/(api/v1|apis)/.+", method="GET"):
        if "limit" in request.query:
            first.setdefault((request.path, tuple(sorted(request.query.items()))), request)
    reads = list(first.values())
    assert len(reads) > 3, first
    late = [(r.path, round(r.at - reads[0].at, 2)) for r in reads if r.at > min(x.done for x in reads)]
    assert reads[0].in_flight_with(reads[1:]), late


def test_refused_connection_is_fatal_at_once_as_linkerd_check_runs_us(mesh_api):
    mesh_api.stop()                  # the port now refuses connections
    started = time.monotonic()
    result = run_cli("check", *EXTENSION_FLAGS)
    took = time.monotonic() - started
    assert took < FAR_BELOW_IT, took            # not five minutes of retries
    doc = json.loads(result.stdout)
    api = find(doc, "kubernetes-api", "can query the Kubernetes API")
    assert api["result"] == "error" and "connection refused" in api["error"], api
    assert doc["success"] is False


def test_timeouts_are_still_retried_by_wait(mesh_api):
    """What a running cluster produces while it settles is retried: /version failing with 503 for a while."""
    scenarios.healthy(mesh_api)
    mesh_api.fail(503, times=8, path="^/version$")     # more than one gather's own retries
    result, doc, took = check_json("--wait", "30s")
    assert result.exit_code == 0, not_success(doc)


@pytest.mark.parametrize("kinds", [("drop",), ("429",), ("500",), ("drop", "429", "500")],
                         ids=["drop", "429", "500", "mixed"])
def test_flaky_server_same_report(mesh_api, kinds):
    """10% of the requests fail in this way (fixed seed): retried within the request, the same report."""
    scenarios.healthy(mesh_api)
    _, clean, _ = check_json()
    chaos = mesh_api.flaky(0.10, kinds=kinds, seed=16)
    result, doc, took = check_json("--request-timeout=20s")
    assert sum(chaos.injected.values()) >= 1, chaos.injected     # faults were injected indeed
    assert descriptions(doc) == descriptions(clean), not_success(doc)
    assert doc["success"] is True and result.exit_code == 0


def test_flaky_server_with_stalls_names_what_it_could_not_read(mesh_api):
    """10% of the requests stall past the request timeout: check still ends in bounded time and each failed
    check names the read that timed out; everything else is as without faults."""
    scenarios.healthy(mesh_api)
    _, clean, _ = check_json()
    chaos = mesh_api.flaky(0.10, kinds=("stall",), seed=16)
    result, doc, took = check_json("--request-timeout=2s")
    assert chaos.injected["stall"] >= 1
    assert took < FAR_BELOW_IT, took    # stalls of an hour are cut by the 2 s request timeout
    assert len(descriptions(doc)) == len(descriptions(clean))
    changed = [(cat["categoryName"], check) for (cat, check), before, after in zip(
        ((c, k) for c in doc["categories"] for k in c["checks"]), descriptions(clean), descriptions(doc))
        if before != after]
    for category, check in changed:
        # a check that differs failed for a named read that timed out, or was skipped because one did
        assert check["result"] in ("error", "warning"), (category, check)
        assert ("did not answer within 2s" in check["error"] or check["error"].startswith("skipped:")
                or "timed out" in check["error"] or "did not answer" in check["error"]), (category, check)
    assert changed, "a stalled read must show in the report"
    print(changed)


def test_flaky_server_with_stalls_and_wait_settles(mesh_api):
    """Short stalls (under the request timeout) only slow the run down: the same report."""
    scenarios.healthy(mesh_api)
    _, clean, _ = check_json()
    mesh_api.flaky(0.10, kinds=("stall",), seed=16, stall_seconds=0.5)
    result, doc, _ = check_json("--request-timeout=10s")
    assert descriptions(doc) == descriptions(clean), not_success(doc)
