"""check's series per target: counted on sampled proxies as the receiver counts
scrape_samples_scraped / scrape_samples_post_metric_relabeling."""
from __future__ import annotations

import json
from pathlib import Path

import scenarios
from helpers import run_cli

from kubectl_linkerd_otel.scrape.metrics import GOLDEN
from kubectl_linkerd_otel.scrape.relabel import compile_rules
from kubectl_linkerd_otel.scrape.series import count

PROXY_METRICS = (Path(__file__).parent.parent / "fixtures" / "proxy-metrics-series.txt").read_text()
NS = scenarios.NS
GOLDEN_RULE = ("          metric_relabel_configs:\n"
               "            - source_labels: [__name__]\n"
               "              action: keep\n"
               f"              regex: {'|'.join(GOLDEN)}\n")


def series_check(api):
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    doc = json.loads(result.stdout)
    found = [k for c in doc["categories"] if c["categoryName"] == "linkerd-otel-targets" for k in c["checks"]
             if k["description"].startswith(("linkerd-proxy:", "series per target"))]
    assert len(found) == 1, json.dumps(doc, indent=1)
    return result, found[0]


def _serve_proxies(api):
    scenarios.serve_proxy_metrics(api, PROXY_METRICS)


def test_counts_match_prometheus_rules():
    figures = count(PROXY_METRICS, compile_rules([]))
    assert (figures.scraped, figures.kept, figures.golden) == (268, 268, 66)
    only_requests = compile_rules([{"source_labels": ["__name__"], "action": "keep", "regex": "request_total"}])
    assert count(PROXY_METRICS, only_requests).kept == 2
    # target labels are visible to the rules, as in Prometheus
    by_job = compile_rules([{"source_labels": ["namespace"], "action": "drop", "regex": "emojivoto"}])
    assert count(PROXY_METRICS, by_job, {"namespace": "emojivoto"}).kept == 0


def test_unfiltered_config_says_what_golden_would_save(mesh_api):
    scenarios.healthy(mesh_api)
    _serve_proxies(mesh_api)
    result, check = series_check(mesh_api)
    assert result.exit_code == 0
    assert check["result"] == "success"
    assert check["description"] == ("linkerd-proxy: 268 series per target, all sent (3 targets sampled); "
                                    "`install --metrics golden` would send 66")
    reads = mesh_api.requests_to(r"4191/proxy/metrics")
    assert len(reads) == 3


def test_golden_filter_reports_what_it_drops(mesh_api):
    scenarios.healthy(mesh_api)
    config = scenarios.HEALTHY_CONFIG.replace("          relabel_configs:\n", GOLDEN_RULE + "          relabel_configs:\n")
    assert config != scenarios.HEALTHY_CONFIG
    scenarios.set_config(mesh_api, config)
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets",
                       body=lambda _q: scenarios.targets_json(mesh_api, config_text=config))
    _serve_proxies(mesh_api)
    result, check = series_check(mesh_api)
    assert check["result"] == "success", check
    assert check["description"] == ("linkerd-proxy: 268 series per target scraped, 66 sent after "
                                    "metric_relabel_configs (75% dropped; 3 targets sampled)")


def test_unreadable_proxies_skip_with_the_reason(mesh_api):
    scenarios.healthy(mesh_api)
    for key in scenarios.EXPECTED_TARGETS:
        namespace, pod = key.split("/")
        mesh_api.set_proxy(namespace, pod, 4191, "metrics", status=403, body="forbidden")
    result, check = series_check(mesh_api)
    assert result.exit_code == 0
    assert check["description"] == (
        "series per target are counted (no target's /metrics could be read through the API server "
        "(linkerd-proxy/emojivoto/emoji-547b6957d6-s59rz: GET /metrics on port 4191 answered HTTP 403))")
    assert check["result"] == "success"   # Linkerd's JSON has no "skipped": a skip passes with its reason
