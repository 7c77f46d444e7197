"""The dashboards' JSON (render/dashboards.py): one list of panels behind both products' formats, Grafana's
checked by round-tripping through Grafana's own typed model (grafana-foundation-sdk), OpenObserve's against
the fields its v8 dashboard struct requires (openobserve/openobserve src/config/src/meta/dashboards/v8)."""
from __future__ import annotations

import json
import re

import pytest

from kubectl_linkerd_otel.render import dashboards as dash
from kubectl_linkerd_otel.scrape import arrival

DASHBOARDS = dash.dashboards()


def test_three_dashboards_with_the_rows_the_docs_describe():
    assert [d.name for d in DASHBOARDS] == ["overview", "workload", "pipeline"]
    rows = {d.name: [r.title for r in d.rows] for d in DASHBOARDS}
    assert rows["overview"] == ["Traffic per namespace", "Latency per namespace"]
    assert rows["workload"] == ["Inbound traffic", "Inbound latency", "Outbound traffic (per destination)",
                                "Outbound latency (per destination)", "TCP (inbound)"]
    assert rows["pipeline"] == ["Scraping (per job)", "Exporting (collector self-metrics)"]
    assert [v.name for v in DASHBOARDS[1].variables] == ["namespace", "kind", "workload"]


def test_names_come_from_the_arrival_check():
    """One definition: the counter names check's arrival asks for, the labels it prefers."""
    assert (dash.Names().request_total, dash.Names(trimmed_total=True).request_total) == arrival.METRIC_VARIANTS
    trimmed = " ".join(p.expr for d in dash.dashboards(dash.Names(trimmed_total=True)) for p in d.panels())
    assert "response_total" not in trimmed and "response{" in trimmed and "tcp_read_bytes{" in trimmed
    assert "response_latency_ms_bucket{" in trimmed       # histograms keep their suffixes
    exprs = " ".join(p.expr for d in DASHBOARDS for p in d.panels())
    assert f'{arrival.NAMESPACE_LABEL}="$namespace"' in exprs
    assert set(dash.WORKLOAD_KINDS) <= set(arrival.OWNER_KINDS)


@pytest.mark.parametrize("target", dash.TARGETS)
def test_both_formats_carry_the_one_panel_list(target):
    for dashboard in DASHBOARDS:
        doc = dash.render(target, dashboard)
        if target == "grafana":
            shown = [(p["title"], p["targets"][0]["expr"]) for p in doc["panels"] if p["type"] != "row"]
            window = dash.GRAFANA_WINDOW
        else:
            shown = [(p["title"], p["queries"][0]["query"]) for tab in doc["tabs"] for p in tab["panels"]]
            window = dash.FIXED_WINDOW
        assert shown == [(p.title, dash.query(p, window)) for p in dashboard.panels()]


def test_grafana_layout_and_ids():
    for dashboard in DASHBOARDS:
        doc = dash.grafana(dashboard)
        assert doc["schemaVersion"] == dash.GRAFANA_SCHEMA_VERSION
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids))
        for panel in doc["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
                assert panel["fieldConfig"]["defaults"]["unit"] in ("reqps", "percentunit", "ms", "s", "Bps", "short")
        assert doc["templating"]["list"][0]["type"] == "datasource"


def _lost_or_changed(ours, back, path=""):
    """Where `back` (our JSON after the typed model) lost or changed a value of `ours` (added defaults are fine)."""
    if isinstance(ours, dict):
        if not isinstance(back, dict):
            return [path]
        return [p for key in ours for p in
                ([f"{path}.{key} lost"] if key not in back else _lost_or_changed(ours[key], back[key], f"{path}.{key}"))]
    if isinstance(ours, list):
        if not isinstance(back, list) or len(ours) != len(back):
            return [f"{path} length"]
        return [p for i, (a, b) in enumerate(zip(ours, back)) for p in _lost_or_changed(a, b, f"{path}[{i}]")]
    return [] if ours == back else [f"{path}: {ours!r} -> {back!r}"]


def test_grafana_round_trips_through_grafanas_typed_model():
    sdk = pytest.importorskip("grafana_foundation_sdk", reason="needs grafana-foundation-sdk (Python >= 3.11): "
                              "pip install -e '.[test]'")
    from grafana_foundation_sdk.cog import plugins
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

    plugins.register_default_plugins()
    assert sdk is not None
    assert Dashboard().schema_version == dash.GRAFANA_SCHEMA_VERSION     # the SDK's current schemaVersion
    for dashboard in DASHBOARDS:
        ours = dash.grafana(dashboard)
        model = Dashboard.from_json(json.loads(json.dumps(ours)))
        assert all(isinstance(p, (Panel, RowPanel)) for p in model.panels)
        timeseries = [p for p in model.panels if isinstance(p, Panel)]
        assert {type(p.options).__module__ for p in timeseries} == {"grafana_foundation_sdk.models.timeseries"}
        assert all(type(t).__module__ == "grafana_foundation_sdk.models.prometheus" for p in timeseries
                   for t in p.targets)
        back = json.loads(json.dumps(model, cls=JSONEncoder))
        assert _lost_or_changed(ours, back) == [], dashboard.name
        again = json.loads(json.dumps(Dashboard.from_json(back), cls=JSONEncoder))
        assert again == back


# OpenObserve's v8 Dashboard struct (serde): the fields without a default that an import must carry
O2_PANEL = {"id", "type", "title", "description", "config", "queries"}
O2_QUERY = {"query", "vrlFunctionQuery", "customQuery", "fields", "config"}
O2_FIELDS = {"stream", "stream_type", "x", "y", "filter"}


def test_openobserve_v8_shape():
    for dashboard in DASHBOARDS:
        doc = dash.openobserve(dashboard)
        assert doc["version"] == 8 and doc["title"] and "description" in doc
        assert [t["name"] for t in doc["tabs"]] == [r.title for r in dashboard.rows]
        assert len({t["tabId"] for t in doc["tabs"]}) == len(doc["tabs"])
        ids = [p["id"] for t in doc["tabs"] for p in t["panels"]]
        assert len(ids) == len(set(ids))
        for tab in doc["tabs"]:
            for panel in tab["panels"]:
                assert O2_PANEL <= set(panel) and panel["queryType"] == "promql"
                assert isinstance(panel["config"]["show_legends"], bool)
                assert panel["config"]["unit"] in {u for u, _ in dash.O2_UNITS.values()}
                layout = panel["layout"]
                assert layout["x"] + layout["w"] <= 192 and layout["h"] > 0
                (q,) = panel["queries"]
                assert O2_QUERY <= set(q) and O2_FIELDS <= set(q["fields"]) and "promql_legend" in q["config"]
                assert q["customQuery"] is True and q["fields"]["stream_type"] == "metrics"
                assert q["fields"]["stream"] and q["fields"]["stream"] in q["query"]
                assert "{{" not in q["config"]["promql_legend"]
        for var in doc["variables"]["list"]:
            assert var["type"] in ("custom", "query_values", "textbox") and var["name"] and var["label"]
            assert "$" not in json.dumps(var.get("query_data"))      # a label-values field is fixed
            if var["type"] == "query_values":
                assert var["query_data"]["stream_type"] == "metrics"


def test_queries_only_use_known_variables():
    for dashboard in DASHBOARDS:
        known = {v.name for v in dashboard.variables} | {"window"}
        for panel in dashboard.panels():
            used = set(re.findall(r"\$(\w+)", panel.expr))
            assert used <= known, (dashboard.name, panel.title, used - known)


def test_every_kind_offered_is_the_label_our_install_gives_its_pods():
    """The arrival check's plan, over our rendered config, finds each kind's workloads under a label
    named after the kind: the label the workload view's `$kind="$workload"` selects."""
    import copy

    import yaml

    from kubectl_linkerd_otel.source.saved import load
    from kubectl_linkerd_otel.render.collector_config import collector_config_text
    from kubectl_linkerd_otel.render.options import InstallOptions
    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import simulate

    snap, _ = load(None, True, "stat")
    web = next(p for p in snap.pods if p["metadata"]["name"].startswith("web-"))
    pods = []
    for i, kind in enumerate(dash.WORKLOAD_KINDS):
        pod = copy.deepcopy(web)
        labels = pod["metadata"]["labels"]
        for other in arrival.OWNER_KINDS:
            labels.pop(f"linkerd.io/proxy-{other}", None)
        labels[f"linkerd.io/proxy-{kind}"] = f"w-{kind}"
        pod["metadata"]["name"] = f"p-{i}"
        pod["status"]["podIP"] = f"10.9.0.{i + 1}"
        pod["status"]["podIPs"] = [{"ip": f"10.9.0.{i + 1}"}]
        pods.append(pod)
    config = collector_config_text(InstallOptions(linkerd_namespace="linkerd", insecure=True,
                                                  exporter_endpoint="openobserve.openobserve.svc.cluster.local:5081"))
    plan = arrival.plan(simulate(scrape_jobs(yaml.safe_load(config)), pods, own_namespace="linkerd-otel"))
    found = {w.kind: w.selector for w in plan.workloads}
    for kind in dash.WORKLOAD_KINDS:
        assert found[kind] == {arrival.NAMESPACE_LABEL: web["metadata"]["namespace"], kind: f"w-{kind}"}
