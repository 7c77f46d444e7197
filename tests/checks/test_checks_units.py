"""Pure checks on Snapshots built in memory from the shared fixtures (no cluster)."""
from __future__ import annotations

import copy

from conftest import load_fixture

from kubectl_linkerd_otel.checks import collector, exporter, linkerd_data_plane
from kubectl_linkerd_otel.checks.framework import CheckOptions
from kubectl_linkerd_otel.collector import facts
from kubectl_linkerd_otel.snapshot import REDACTED, Snapshot, choose_collector, redact


def snapshot(config_text=None, **kw) -> Snapshot:
    snap = Snapshot(
        namespaces=load_fixture("harness-mesh-namespaces.json")["items"],
        pods=load_fixture("harness-mesh-pods.json")["items"],
        workloads=[dict(d, kind="Deployment") for d in load_fixture("harness-mesh-deployments.json")["items"]
                   if d["metadata"]["namespace"] == "observability"],
        configmaps=[load_fixture("harness-mesh-collector-configmap.json")], **kw)
    if config_text is not None:
        snap.configmaps[0] = copy.deepcopy(snap.configmaps[0])
        snap.configmaps[0]["data"]["config.yaml"] = config_text
    choose_collector(snap)
    return snap


def test_reference_collector_is_found_through_its_volume():
    snap = snapshot()
    assert snap.collector_workload == "Deployment/otel-collector"
    assert snap.collector_configmap == "otel-collector-config"
    assert [p["metadata"]["name"] for p in snap.collector_pods()] == ["otel-collector-857df6bd6f-b84jg"]
    assert snap.service_account_name() == "otel-collector"


def test_reference_config_problems():
    outcome = collector.config_consistent(snapshot(), CheckOptions())
    assert outcome.status == "error"
    assert any("unescaped $" in d and "relabel_configs[8].replacement" in d for d in outcome.details)
    assert not any("plain text" in d for d in outcome.details)   # the exporter category reports those
    assert collector.image_pinned(snapshot(), CheckOptions()).details == [
        "otel-collector: otel/opentelemetry-collector:latest"]


def test_reference_credentials_and_self_metrics():
    snap = snapshot()
    creds = exporter.credentials(snap, CheckOptions())
    assert creds.status == "warning" and creds.details == ["exporters.otlp/openobserve.headers.Authorization"]
    assert exporter.self_metrics(snap, CheckOptions()).status == "warning"
    assert exporter.encrypted(snap, CheckOptions()) is None   # insecure, but to an in-cluster Service


def test_missing_metrics_pipeline():
    text = "receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n"
    outcome = collector.config_consistent(snapshot(text), CheckOptions())
    assert outcome.status == "error"
    assert any("no metrics pipeline" in d for d in outcome.details)


def test_unparseable_config():
    assert collector.config_parses(snapshot("a: [unclosed"), CheckOptions()).error.startswith(
        "collector config otel-collector-config: not valid YAML")


def test_other_control_plane_and_filter():
    snap = snapshot()
    outcome = linkerd_data_plane.same_control_plane(snap, CheckOptions())
    assert outcome.status == "warning"
    assert outcome.details == ["other-mesh/web-697cdddb99-5t22j (linkerd.io/control-plane-ns=linkerd-other)"]
    assert linkerd_data_plane.same_control_plane(snap, CheckOptions(namespace_filter=("emojivoto",))) is None


def test_policy_from_namespace_annotation():
    snap = snapshot()
    pod = copy.deepcopy(next(p for p in snap.pods if p["metadata"]["name"].startswith("emoji")))
    for c in pod["spec"]["containers"]:
        c["env"] = [e for e in c.get("env", []) if e["name"] != "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY"]
    ns = copy.deepcopy(snap.namespace("emojivoto"))
    ns["metadata"]["annotations"]["config.linkerd.io/default-inbound-policy"] = "all-authenticated"
    snap.namespaces = [ns if n["metadata"]["name"] == "emojivoto" else n for n in snap.namespaces]
    assert linkerd_data_plane.effective_policy(snap, pod) == "all-authenticated"


def test_cluster_service_forms():
    assert facts.cluster_service("openobserve-openobserve-standalone.openobserve.svc.cluster.local:5081") == (
        "openobserve-openobserve-standalone", "openobserve", 5081)
    assert facts.cluster_service("backend.obs.svc:4317") == ("backend", "obs", 4317)
    assert facts.cluster_service("backend:4317") == ("backend", None, 4317)
    assert facts.cluster_service("https://api.honeycomb.io:443") is None
    assert facts.cluster_service("10.0.0.5:4317") is None


def test_redaction():
    data = {"data": {"config.yaml": 'headers:\n  Authorization: "Basic c2VjcmV0OnNlY3JldA=="\n'
                                    '  api-key: ${env:KEY}\n  token: abc\n'},
            "env": [{"name": "OTLP_PASSWORD", "value": "hunter2"}, {"name": "MODE", "value": "x"}]}
    out = redact(data)
    text = out["data"]["config.yaml"]
    assert "c2VjcmV0OnNlY3JldA" not in text and "abc" not in text and "${env:KEY}" in text
    assert out["env"] == [{"name": "OTLP_PASSWORD", "value": REDACTED}, {"name": "MODE", "value": "x"}]


def test_config_the_engine_cannot_simulate_is_a_warning():
    from kubectl_linkerd_otel.checks import targets

    text = ("receivers:\n  prometheus:\n    config:\n      scrape_configs:\n        - job_name: a\n"
            "          relabel_configs: [{source_labels: [x], regex: '(?=y)', action: keep}]\n")
    outcome = targets.scraped(snapshot(text), CheckOptions())
    assert outcome.status == "warning"
    assert outcome.error.startswith("the collector config cannot be simulated: ")


def test_identity_patterns_as_linkerd_reads_them():
    from kubectl_linkerd_otel.checks.policy import identity_matches

    me = "otel-collector.observability.serviceaccount.identity.linkerd.cluster.local"
    assert identity_matches(me, me)
    assert identity_matches("*", me)
    assert identity_matches("*.observability.serviceaccount.identity.linkerd.cluster.local", me)
    assert not identity_matches("*.linkerd-viz.serviceaccount.identity.linkerd.cluster.local", me)
    assert not identity_matches("prometheus.linkerd-viz.serviceaccount.identity.linkerd.cluster.local", me)


def test_trust_domain_comes_from_the_proxies():
    from kubectl_linkerd_otel.checks.policy import collector_identity

    assert collector_identity(snapshot()) == \
        "otel-collector.observability.serviceaccount.identity.linkerd.cluster.local"


def test_count_words():
    from kubectl_linkerd_otel.checks.common import count, verb

    assert count(1, "pod") == "1 pod" and count(0, "pod") == "0 pods" and count(2, "pod") == "2 pods"
    assert count(1, "proxy", "proxies") == "1 proxy" and count(3, "proxy", "proxies") == "3 proxies"
    assert verb(1, "is", "are") == "is" and verb(2, "is", "are") == "are"
