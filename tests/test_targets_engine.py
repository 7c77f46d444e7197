"""The targets engine: expected targets, the reasons for unscraped meshed pods, the merge with the
collector's own /api/v1/targets answer."""
import copy
import json
from pathlib import Path

import pytest
import yaml

from kubectl_linkerd_otel.scrape.config import (ScrapeConfigError, format_duration, parse_duration, receivers,
                                                scrape_jobs, unescape)
from kubectl_linkerd_otel.scrape.targets import merge_actual, simulate

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"


@pytest.fixture(scope="module")
def reference_config():
    with open(FIXTURES / "harness-mesh-collector-configmap.json", encoding="utf-8") as fh:
        return yaml.safe_load(json.load(fh)["data"]["config.yaml"])


@pytest.fixture
def pods():
    with open(FIXTURES / "harness-mesh-pods.json", encoding="utf-8") as fh:
        return json.load(fh)["items"]


def viz_config(cp="linkerd"):
    proxy_rules = [
        {"source_labels": ["__meta_kubernetes_pod_phase"], "action": "keep", "regex": "(Pending|Running)"},
        {"source_labels": ["__meta_kubernetes_pod_container_name", "__meta_kubernetes_pod_container_port_name",
                           "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"],
         "action": "keep", "regex": "^linkerd-proxy;linkerd-admin;%s$$" % cp},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    return {"receivers": {"prometheus/linkerd": {"config": {
        "global": {"scrape_interval": "30s"},
        "scrape_configs": [
            {"job_name": "linkerd-proxy", "kubernetes_sd_configs": [{"role": "pod"}], "relabel_configs": proxy_rules},
            {"job_name": "linkerd-controller", "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [cp]}}],
             "relabel_configs": [{"source_labels": ["__meta_kubernetes_pod_container_port_name"],
                                  "action": "keep", "regex": ".*admin$$"}]},
        ]}}}}


def names(sim, job):
    return sorted(t.pod_name for t in sim.job(job).active)


def reasons(sim):
    return {u.pod.name: u for u in sim.meshed_unscraped}


def test_reference_config_scrapes_every_proxy_of_its_control_plane(reference_config, pods):
    sim = simulate(scrape_jobs(reference_config), pods)
    proxy = sim.job("linkerd-proxy")
    assert proxy.proxy_job and len(proxy.active) == 6
    assert all(t.labels["__address__"].endswith(":4191") for t in proxy.active)
    # no phase filter in the reference config: the completed job pod is a target
    assert "hello-px6k6" in names(sim, "linkerd-proxy")
    # stale control-plane port names: the controller job finds nothing
    assert sim.job("linkerd-controller").active == []
    why = reasons(sim)
    assert list(why) == ["web-697cdddb99-5t22j"]
    assert "control-plane namespace label `linkerd-other` where the job expects `linkerd`" in \
        why["web-697cdddb99-5t22j"].reason
    assert why["web-697cdddb99-5t22j"].rule.index == 1


def test_labels_of_a_reference_proxy_target(reference_config, pods):
    sim = simulate(scrape_jobs(reference_config), pods)
    target = next(t for t in sim.job("linkerd-proxy").active if t.pod_name.startswith("web-5b"))
    assert target.visible() == {
        "job": "linkerd-proxy", "instance": "10.244.0.24:4191", "namespace": "emojivoto",
        "pod": "web-5b4656675c-826fd", "deployment": "web", "control_plane_ns": "linkerd",
        "workload_ns": "emojivoto", "app": "web-svc", "pod_template_hash": "5b4656675c"}
    assert target.scrape_url() == "http://10.244.0.24:4191/metrics"
    assert target.discovered()["__scrape_interval__"] == "10s"


def test_phase_filter_explains_completed_pods(pods):
    sim = simulate(scrape_jobs(viz_config()), pods)
    why = reasons(sim)
    assert why["hello-px6k6"].completed
    assert why["hello-px6k6"].reason.startswith("phase Succeeded (the job keeps only `Pending` or `Running`)")


def test_other_control_plane_and_missing_admin_port_and_no_ip(pods):
    extra = copy.deepcopy(next(p for p in pods if p["metadata"]["name"].startswith("emoji-")))
    extra["metadata"]["name"] = "no-admin"
    for c in extra["spec"]["containers"]:
        if c["name"] == "linkerd-proxy":
            c["ports"] = [p for p in c["ports"] if p.get("name") != "linkerd-admin"]
    pending = copy.deepcopy(extra)
    pending["metadata"]["name"] = "pending"
    pending["status"] = {"phase": "Pending"}
    prod = copy.deepcopy(next(p for p in pods if p["metadata"]["name"].startswith("emoji-")))
    prod["metadata"]["name"] = "prod"
    prod["metadata"]["labels"]["linkerd.io/control-plane-ns"] = "linkerd-prod"
    sim = simulate(scrape_jobs(viz_config()), pods + [extra, pending, prod])
    why = reasons(sim)
    assert why["no-admin"].reason.startswith("no `linkerd-admin` port on the linkerd-proxy container")
    assert why["pending"].reason == "no pod IP yet (phase Pending)"
    assert why["prod"].reason.startswith(
        "control-plane namespace label `linkerd-prod` where the job expects `linkerd`")
    assert not why["prod"].completed


def test_namespace_filter_is_explained(pods):
    config = viz_config()
    job = config["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"][0]
    job["kubernetes_sd_configs"] = [{"role": "pod", "namespaces": {"names": ["linkerd"]}}]
    sim = simulate(scrape_jobs(config), pods)
    assert "namespace `emojivoto` is not among the job's SD namespaces (linkerd)" in \
        reasons(sim)["emoji-547b6957d6-s59rz"].reason


def test_controller_job_with_current_port_names(pods):
    sim = simulate(scrape_jobs(viz_config()), pods)
    assert sorted(t.labels["__address__"] for t in sim.job("linkerd-controller").active) == [
        "10.244.0.19:4191", "10.244.0.19:9990", "10.244.0.19:9996", "10.244.0.19:9997", "10.244.0.20:4191",
        "10.244.0.20:9990", "10.244.0.21:4191", "10.244.0.21:9995"]


def actual_answer(sim, *, health="up", drop=None, extra=None):
    items = []
    for r in sim.jobs:
        for t in r.active:
            if drop and t.pod_name == drop:
                continue
            items.append({"discoveredLabels": t.discovered(), "labels": t.visible(), "scrapePool": r.job.pool,
                          "scrapeUrl": t.scrape_url(), "health": health, "lastError": "" if health == "up" else "boom",
                          "lastScrape": "2026-11-25T10:00:00Z", "lastScrapeDuration": 0.01})
    if extra:
        items.append(extra)
    return {"status": "success", "data": {"activeTargets": items, "droppedTargets": []}}


def test_merge_marks_both_sides(reference_config, pods):
    sim = simulate(scrape_jobs(reference_config), pods)
    other = {"discoveredLabels": {"__address__": "10.9.9.9:4191"}, "labels": {"job": "linkerd-proxy",
             "instance": "10.9.9.9:4191"}, "scrapePool": "linkerd-proxy", "scrapeUrl": "http://10.9.9.9:4191/metrics",
             "health": "down", "lastError": "dial tcp: refused", "lastScrape": "x", "lastScrapeDuration": 1}
    merge_actual(sim, {"collector-0": actual_answer(sim, drop="emoji-547b6957d6-s59rz", extra=other)})
    proxy = sim.job("linkerd-proxy")
    sources = {t.pod_name or t.labels["instance"]: t.source for t in proxy.active}
    assert sources["emoji-547b6957d6-s59rz"] == "simulation"
    assert sources["10.9.9.9:4191"] == "collector"
    assert sources["web-5b4656675c-826fd"] == "both"
    assert proxy.simulation_only == 1 and proxy.actual_only == 1
    web = next(t for t in proxy.active if t.pod_name == "web-5b4656675c-826fd")
    assert web.health == "up" and web.collectors == ["collector-0"] and web.last_scrape_duration == 0.01


def test_merge_several_collectors_takes_the_worst_health(reference_config, pods):
    sim = simulate(scrape_jobs(reference_config), pods)
    merge_actual(sim, {"a": actual_answer(sim, health="up"), "b": actual_answer(sim, health="down")})
    t = sim.job("linkerd-proxy").active[0]
    assert t.health == "down" and t.collectors == ["a", "b"] and t.last_error == "boom"


def test_config_defaults_and_unescape():
    config = {"receivers": {"prometheus": {"api_server": {"enabled": True, "server_config": {"endpoint": "0.0.0.0:9090"}},
                                           "config": {"scrape_configs": [
        {"job_name": "j", "scrape_interval": "5s", "static_configs": [{"targets": ["a:1"]}],
         "relabel_configs": [{"source_labels": ["__address__"], "regex": "(.*):1", "target_label": "x",
                              "replacement": "$${1}-${env:SUFFIX}"}]}]}},
                           "otlp": {}}}
    rec = receivers(config, {"SUFFIX": "s"})[0]
    assert rec.api_server == "0.0.0.0:9090"
    job = rec.jobs[0]
    assert (job.interval, job.timeout) == ("5s", "5s")      # timeout never above the interval
    assert job.rules[0].replacement == "${1}-s"
    assert unescape("$$1 $x ${env:NOPE}", {}) == "$1 $x ${env:NOPE}"


def test_durations():
    assert parse_duration("1h30m") == 5400_000 and format_duration(5400_000) == "1h30m"
    assert format_duration(60_000) == "1m" and format_duration(0) == "0s" and format_duration(90_061_001) == "1d1h1m1s1ms"
    assert format_duration(14 * 86_400_000) == "2w"
    with pytest.raises(ScrapeConfigError):
        parse_duration("10 s")


def test_invalid_configs_name_the_job():
    bad = {"receivers": {"prometheus": {"config": {"scrape_configs": [
        {"job_name": "x", "scrape_interval": "5s", "scrape_timeout": "10s"}]}}}}
    with pytest.raises(ScrapeConfigError, match="job name 'x'"):
        scrape_jobs(bad)
    bad = {"receivers": {"prometheus": {"config": {"scrape_configs": [
        {"job_name": "y", "relabel_configs": [{"action": "keep", "source_labels": ["a"], "regex": "(a)\\1"}]}]}}}}
    with pytest.raises(ScrapeConfigError, match="job 'y', relabel rule 1"):
        scrape_jobs(bad)


def test_ambiguous_labelmap_becomes_a_note():
    pod = {"metadata": {"name": "p", "namespace": "n", "labels": {"linkerd.io/x": "a"},
                        "annotations": {"linkerd.io/x": "b"}},
           "spec": {"containers": [{"name": "c"}]}, "status": {"podIP": "10.0.0.1"}}
    config = {"receivers": {"prometheus": {"config": {"scrape_configs": [
        {"job_name": "amb", "kubernetes_sd_configs": [{"role": "pod"}], "relabel_configs": [
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_(label|annotation)_linkerd_io_(.+)",
             "replacement": "$$2"}]}]}}}}
    sim = simulate(scrape_jobs(config), [pod])
    assert any("Prometheus picks one at random" in n and " x " in n for n in sim.job("amb").notes)
