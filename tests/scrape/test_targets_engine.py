"""The targets engine: expected targets, the reasons for unscraped meshed pods, the merge with the
collector's own /api/v1/targets answer."""
import copy
import json
from pathlib import Path

import pytest
import yaml

from kubectl_linkerd_otel.scrape.config import (ScrapeConfigError, duration_ms, format_duration, receivers,
                                                scrape_jobs, unescape)
from kubectl_linkerd_otel.scrape.targets import merge_actual, simulate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


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
    # it keeps linkerd-admin ports too, but with a job meant for proxies it is not listed as one
    assert not sim.job("linkerd-controller").proxy_job and sim.job("linkerd-controller").unscraped == []


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
    assert duration_ms("1h30m") == 5400_000 and format_duration(5400_000) == "1h30m"
    assert format_duration(60_000) == "1m" and format_duration(0) == "0s" and format_duration(90_061_001) == "1d1h1m1s1ms"
    assert format_duration(14 * 86_400_000) == "2w"
    with pytest.raises(ScrapeConfigError):
        duration_ms("10 s")


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


# -- which meshed pods are scraped: by outcome, whatever the jobs are called -----------------------
def one_job(rules, name="proxies", **extra):
    job = {"job_name": name, "kubernetes_sd_configs": [{"role": "pod"}], "relabel_configs": rules}
    job.update(extra)
    return {"receivers": {"prometheus": {"config": {"scrape_configs": [job]}}}}


def keep(label, regex):
    return {"source_labels": [label], "action": "keep", "regex": regex}


def meshed_names(pods):
    return sorted(p["metadata"]["name"] for p in pods if any(
        c["name"] == "linkerd-proxy" for c in p["spec"].get("containers", []) + p["spec"].get("initContainers", [])))


def test_a_job_keeping_another_port_leaves_every_proxy_unscraped(pods):
    sim = simulate(scrape_jobs(one_job([keep("__meta_kubernetes_pod_container_port_number", "9999")])), pods)
    assert sorted(u.pod.name for u in sim.meshed_unscraped) == meshed_names(pods)
    assert all(u.reason.startswith("no scrape job keeps the linkerd-proxy container's linkerd-admin port")
               for u in sim.meshed_unscraped)
    assert not any("linkerd-admin" in n for n in sim.notes)


def test_a_job_keeping_port_4191_is_a_proxy_job(pods):
    sim = simulate(scrape_jobs(one_job([keep("__meta_kubernetes_pod_container_port_number", "4191")])), pods)
    assert sim.job("proxies").proxy_job
    assert sim.meshed_unscraped == [] and sim.notes == []


def test_keeping_only_portless_init_containers_does_not_scrape_the_proxy(pods):
    rules = [keep("__meta_kubernetes_pod_container_init", "true"),
             keep("__meta_kubernetes_pod_container_port_number", "")]
    sim = simulate(scrape_jobs(one_job(rules, name="linkerd-proxy")), pods)
    proxy = sim.job("linkerd-proxy")
    assert proxy.active and all(t.info.container == "linkerd-init" for t in proxy.active)
    why = reasons(sim)
    assert sorted(why) == meshed_names(pods)
    web = why["web-5b4656675c-826fd"]      # its proxy (a native sidecar) has ports: rule 2 dropped them
    assert web.rule.index == 2 and web.job.name == "linkerd-proxy"
    assert "port `4191`" in web.reason
    emoji = why["emoji-547b6957d6-s59rz"]  # a regular sidecar: rule 1 dropped it
    assert emoji.rule.index == 1 and "init container flag `false`" in emoji.reason


def test_targets_made_identical_are_scraped_once(pods):
    rules = [keep("__meta_kubernetes_pod_container_port_name", "linkerd-admin"),
             {"source_labels": ["__meta_kubernetes_pod_host_ip"], "target_label": "__address__",
              "replacement": "$${1}:4191"}]
    sim = simulate(scrape_jobs(one_job(rules, name="linkerd-proxy")), pods)
    proxy = sim.job("linkerd-proxy")
    assert len(proxy.active) == 1
    kept = proxy.active[0].pod
    why = reasons(sim)
    assert sorted(why) == [n for n in meshed_names(pods) if n != kept.name]
    for u in why.values():
        assert u.reason.startswith(f"kept, but identical after relabeling to the target of pod "
                                   f"{kept.namespace}/{kept.name}")
        assert "scraped once" in u.reason and "where the job expects" not in u.reason


# -- ${env:VAR} the collector expands but we cannot -----------------------------------------------
def env_config():
    rules = [keep("__meta_kubernetes_pod_container_port_name", "linkerd-admin"),
             {"target_label": "cluster", "replacement": "${env:CLUSTER}"},
             keep("__meta_kubernetes_namespace", "${env:KEEP_NS}")]
    return one_job(rules, name="linkerd-proxy")


def test_unknown_env_in_rules_is_a_note_not_a_verdict(pods):
    sim = simulate(scrape_jobs(env_config()), pods)
    proxy = sim.job("linkerd-proxy")
    assert sim.meshed_unscraped == [] and len(proxy.active) == 7
    assert {t.visible()["cluster"] for t in proxy.active} == {"${env:CLUSTER}"}
    notes = " | ".join(proxy.notes)
    assert "rule 3 (keep" in notes and "${env:KEEP_NS}" in notes and "treated as keeping every target" in notes
    assert "rule 2 (replace" in notes and "${env:CLUSTER}" in notes and "shown as written" in notes
    # with the collector container's environment, its literal values are used
    sim = simulate(scrape_jobs(env_config(), {"CLUSTER": "east", "KEEP_NS": "linkerd"}), pods)
    proxy = sim.job("linkerd-proxy")
    assert {t.pod.namespace for t in proxy.active} == {"linkerd"} and proxy.notes == []
    assert {t.visible()["cluster"] for t in proxy.active} == {"east"}
    # not set on the container: still unknown, said so
    sim = simulate(scrape_jobs(env_config(), {"OTHER": "x"}), pods)
    assert any("sets no literal value" in n for n in sim.job("linkerd-proxy").notes)


def test_escaped_dollar_brace_is_a_template_not_an_env_reference(pods):
    rules = [keep("__meta_kubernetes_pod_container_port_name", "linkerd-admin"),
             {"source_labels": ["__meta_kubernetes_pod_name"], "regex": "(?P<name>.*)", "target_label": "p",
              "replacement": "$${name}"}]
    sim = simulate(scrape_jobs(one_job(rules, name="linkerd-proxy")), pods)
    proxy = sim.job("linkerd-proxy")
    assert proxy.notes == []
    assert all(t.visible()["p"] == t.pod.name for t in proxy.active)


# -- receivers no pipeline uses ----------------------------------------------------------------------
def test_a_receiver_in_no_pipeline_is_left_out():
    config = {"receivers": {
        "prometheus/a": {"config": {"scrape_configs": [{"job_name": "a", "static_configs": [{"targets": ["x:1"]}]}]}},
        "prometheus/unused": {"config": {"scrape_configs": [{"job_name": "b"}]}}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"metrics": {"receivers": ["prometheus/a"], "exporters": ["debug"]}}}}
    assert [j.name for j in scrape_jobs(config)] == ["a"]
    assert [r.name for r in receivers(config, include_unused=True)] == ["prometheus/a", "prometheus/unused"]
    # the unused receiver's config is still checked: the collector refuses it at start
    config["receivers"]["prometheus/unused"]["config"]["scrape_configs"][0]["relabel_config"] = []
    with pytest.raises(ScrapeConfigError, match="relabel_config"):
        scrape_jobs(config)


# -- reasons -----------------------------------------------------------------------------------------
def test_sd_selector_reason_names_the_failing_selector(pods):
    config = one_job([keep("__meta_kubernetes_pod_container_port_name", "linkerd-admin")], name="linkerd-proxy")
    sd = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["kubernetes_sd_configs"][0]
    sd["selectors"] = [{"role": "pod", "label": "app=web-svc", "field": "spec.nodeName=nowhere"}]
    why = reasons(simulate(scrape_jobs(config), pods))
    assert "label selector `app=web-svc` does not match (label app is `emoji-svc`)" in \
        why["emoji-547b6957d6-s59rz"].reason
    assert "field selector `spec.nodeName=nowhere` does not match (spec.nodeName is `" in \
        why["web-5b4656675c-826fd"].reason


def test_quoted_values_are_capped_and_escaped(pods):
    pod = copy.deepcopy(next(p for p in pods if p["metadata"]["name"].startswith("emoji-")))
    pod["metadata"]["annotations"]["team"] = "line1\nline2\t" + "x" * 200
    rules = [keep("__meta_kubernetes_pod_container_port_name", "linkerd-admin"),
             {"source_labels": ["__meta_kubernetes_pod_annotation_team"], "action": "drop", "regex": "line1.*"}]
    reason = reasons(simulate(scrape_jobs(one_job(rules, name="linkerd-proxy")), [pod]))[pod["metadata"]["name"]].reason
    assert "\n" not in reason and "\t" not in reason
    assert "`line1\\nline2\\txxx" in reason and "…`" in reason
    assert len(reason) < 200


def test_an_invalid_interval_reads_like_prometheus(pods):
    rules = [keep("__meta_kubernetes_pod_container_port_name", "linkerd-admin"),
             {"target_label": "__scrape_interval__", "replacement": "bogus"}]
    sim = simulate(scrape_jobs(one_job(rules, name="linkerd-proxy")), pods)
    errors = {t.error for t in sim.job("linkerd-proxy").invalid}
    assert errors == {'error parsing scrape interval: not a valid duration string: "bogus"'}
    with pytest.raises(ScrapeConfigError, match="job 'j' scrape_interval: not a valid duration string: \"1 m\""):
        scrape_jobs({"receivers": {"prometheus": {"config": {"scrape_configs": [
            {"job_name": "j", "scrape_interval": "1 m"}]}}}})


# -- configs Prometheus refuses (tests/scrape/test_targets_validation.py runs them through Prometheus too) --
@pytest.mark.parametrize("job,words", [
    ({"job_name": "j", "relabel_config": []}, ["job 'j'", "field relabel_config", "did you mean relabel_configs"]),
    ({"job_name": "j", "kubernetes_sd_configs": [{"role": "pod", "namespace": {"names": ["x"]}}]},
     ["job 'j'", "kubernetes_sd_configs[0]", "field namespace", "did you mean namespaces"]),
    ({"job_name": "j", "kubernetes_sd_configs": [{"role": "pod", "selectors": [
        {"role": "pod", "label": "a=b"}, {"role": "pod", "field": "spec.nodeName=x"}]}]},
     ["job 'j'", "duplicated selector role: pod"]),
])
def test_configs_prometheus_refuses_are_refused(job, words):
    with pytest.raises(ScrapeConfigError) as info:
        scrape_jobs({"receivers": {"prometheus": {"config": {"scrape_configs": [job]}}}})
    for word in words:
        assert word in str(info.value)
