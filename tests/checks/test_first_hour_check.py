"""What a newcomer reads in `check` (issue 26, points 1-3): advice that follows from the evidence of the
same run, categories that do not apply kept to one line, each log problem once."""
from __future__ import annotations

import json

import scenarios
from helpers import run_cli

NS = scenarios.NS

# (words of a check that passed, advice that would contradict it)
CONTRADICTIONS = [
    ("no restrictive inbound policy in force", "--restrict-metrics"),
    ("the proxies' /metrics are not restricted", "--restrict-metrics"),
    ("the collector need not be meshed", "to mesh it"),
]


def checks(doc):
    return [(c["categoryName"], k) for c in doc["categories"] for k in c["checks"]]


def find(doc, text):
    found = [k for _c, k in checks(doc) if text in k["description"]]
    assert len(found) == 1, (text, json.dumps(doc, indent=1))
    return found[0]


def contradictions(doc):
    passed = [k["description"] for _c, k in checks(doc) if k["result"] == "success"]
    advice = [(k["description"], k["error"]) for _c, k in checks(doc) if k["error"]]
    return [(premise, check, said) for premise, contradicting in CONTRADICTIONS
            if any(premise in p for p in passed)
            for check, said in advice if contradicting in said]


# -- 1. advice follows from the evidence --------------------------------------------------------------

def test_demo_gives_no_advice_that_contradicts_a_passing_check(nowhere):
    doc = json.loads(run_cli("check", "--demo", "-o", "json").stdout)
    premises = [p for p, _a in CONTRADICTIONS if any(p in k["description"] for _c, k in checks(doc)
                                                     if k["result"] == "success")]
    assert premises, "the demo no longer holds the premises this test is about"
    assert contradictions(doc) == []


def test_demo_403_in_the_logs_is_past_when_the_receiver_scrapes_that_target(nowhere):
    targets = json.loads(run_cli("targets", "--demo", "-o", "json").stdout)
    voting = [t for t in targets["data"]["activeTargets"] if t["labels"]["instance"] == "10.244.0.26:4191"]
    assert [t["health"] for t in voting] == ["up"]
    doc = json.loads(run_cli("check", "--demo", "-o", "json").stdout)
    refused = find(doc, "no scrape answered HTTP 403")
    assert refused["result"] == "warning"          # not an error: it is scraped now
    assert refused["error"].startswith("1 scrape target answered HTTP 403 earlier (the collector's logs), not at "
                                       "its last scrape (its receiver): no inbound policy in force refuses the "
                                       "collector (the checks above), so restricting is not the fix: look for a "
                                       "Server, AuthorizationPolicy or default-inbound-policy annotation changed "
                                       "since, or a proxy of another version")
    assert ("10.244.0.26:4191 (emojivoto/voting-6d9f7c8b5d-x2kqp, job linkerd-proxy): HTTP 403 (once, "
            "2026-11-25 09:24:31 UTC)") in refused["error"]


def test_403_now_without_a_restriction_points_elsewhere(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=scenarios.targets_json(
        mesh_api, {"emojivoto/emoji-547b6957d6-s59rz": ("down", "server returned HTTP status 403 Forbidden")}))
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    doc = json.loads(result.stdout)
    refused = find(doc, "no scrape answered HTTP 403")
    assert refused["result"] == "error"
    assert refused["error"].startswith("1 scrape target answers HTTP 403 (the collector's receiver, last scrape): "
                                       "no inbound policy in force refuses the collector (the checks above), so "
                                       "restricting is not the fix: look for a policy object this plugin could "
                                       "not read, or a proxy of another version")
    assert "10.244.0.22:4191: server returned HTTP status 403 Forbidden" in refused["error"]
    assert contradictions(doc) == []


# -- 2. a category that does not apply ---------------------------------------------------------------

def test_a_category_that_does_not_apply_is_one_line_and_json_keeps_every_check(nowhere):
    table = run_cli("check", "--demo").stdout
    assert "linkerd-otel-operator\n" not in table and "OpenTelemetryCollector exists" not in table
    assert ("\n- linkerd-otel-operator does not apply: not installed with --mode operator: no "
            "OpenTelemetryCollector linkerd-otel\n") in table
    assert table.count("linkerd-otel-operator") == 1
    assert "((" not in table and "))" not in table
    doc = json.loads(run_cli("check", "--demo", "-o", "json").stdout)
    operator = next(c for c in doc["categories"] if c["categoryName"] == "linkerd-otel-operator")
    assert len(operator["checks"]) == 5 and {k["result"] for k in operator["checks"]} == {"success"}
    assert operator["checks"][0]["description"] == ("the OpenTelemetryCollector exists (not installed with --mode "
                                                    "operator: no OpenTelemetryCollector linkerd-otel)")
    assert "-operator" not in run_cli("check", "--demo", "-o", "short").stdout


def test_without_a_kubeconfig_the_operator_is_skipped_like_the_rest(nowhere):
    table = run_cli("check").stdout
    assert ("linkerd-otel-operator\n---------------------\n- all checks skipped: 'can initialize the client' did "
            "not pass\n") in table
    assert "not installed with --mode operator" not in table


# -- 3. each log problem once -------------------------------------------------------------------------

def test_demo_log_problems_are_each_shown_once_with_count_and_time(nowhere):
    out = run_cli("check", "--demo").stdout
    assert ("‼ no export retries or drops in the logs\n"
            "    3 exports retried (counts are lower bounds: the collector drops repeated log lines)\n"
            "        otlp_grpc/backend: rpc error: code = Unavailable desc = connection error: desc = \"transport: "
            "Error while dialing: dial tcp 10.96.112.7:5081: connect: connection refused\" (3 times, 2026-11-25 "
            "09:21:03 UTC)\n"
            "    see ") in out
    assert ("        10.244.0.26:4191 (emojivoto/voting-6d9f7c8b5d-x2kqp, job linkerd-proxy): server returned HTTP "
            "status 403 Forbidden (once, 2026-11-25 09:24:31 UTC)\n") in out
    for raw in ('{"kind"', "e.g. ", "retry_sender.go", "\t"):
        assert raw not in out
