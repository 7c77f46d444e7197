"""The dashboards `dashboard --for grafana|openobserve` renders (pure): what linkerd-viz showed, as
dashboards of the user's own backend. docs/dashboards.md describes each one's rows.

One list of panel definitions (`dashboards()`: title, PromQL, unit, legend) feeds both renderers; the
PromQL names metrics and labels as they arrive in the backend after the OpenTelemetry pipeline, from the
one place `check`'s arrival category knows them (scrape/arrival.py: `arrived_name`, the namespace/pod
labels, the owner-kind labels our install's relabeling sets).

The numbers are those `stat` computes (stats/golden.py), as PromQL over the stored series:
- rates are `irate` (the last two samples of each series, as `stat`'s two reads and viz's latency);
- success is the share of `response_total` classified `success`, from responses (viz, `stat`);
- latency quantiles are `histogram_quantile` over the summed per-bucket rates of
  `response_latency_ms_bucket` (viz, `stat`);
- inbound leaves out the proxy's own admin port (probes and scrapes land there), as `stat` does.
tests/render/test_dashboards_prometheus.py runs every query on a real Prometheus over recorded proxy
metrics and holds the golden panels equal to `stat` on the same data.

Grafana: the classic dashboard JSON model (https://grafana.com/docs/grafana/latest/visualizations/
dashboards/build-dashboards/view-dashboard-json-model/), schemaVersion 41, as Grafana's own typed model
(grafana-foundation-sdk, 11.6 line) has it; the tests round-trip every dashboard through that model.
OpenObserve: its dashboard format version 8 (openobserve/openobserve src/config/src/meta/dashboards/v8),
what its Dashboards > Import takes: one tab per row, PromQL panels on 192-column layouts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..naming import LINKERD_ADMIN_PORT
from ..scrape.arrival import NAMESPACE_LABEL, OWNER_KINDS, arrived_name

TARGETS = ("grafana", "openobserve")
NAMES = ("overview", "workload", "pipeline")
GRAFANA_SCHEMA_VERSION = 41
OPENOBSERVE_VERSION = 8
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
# the owner kinds a workload view offers: Linkerd's linkerd.io/proxy-<kind> labels, which our install maps to
# a label named after the kind; not `job` (mapped to `k8s_job`: `job` is the scrape job's) nor `replicaset`
# (a Deployment's pods are found by `deployment`)
WORKLOAD_KINDS = tuple(k for k in OWNER_KINDS if k not in ("job", "replicaset"))
# a rate window: Grafana's own (at least four scrape intervals of the data source), a fixed one elsewhere
GRAFANA_WINDOW, FIXED_WINDOW = "$__rate_interval", "2m"


@dataclass(frozen=True)
class Panel:
    title: str
    expr: str                 # PromQL; `$window` is the rate window, `$namespace`... the variables
    unit: str                 # Grafana's unit id (reqps, percentunit, ms, Bps, s, short)
    legend: str = ""          # Grafana's legendFormat ({{label}})
    golden: str = ""          # which `stat` number it is (rps, success, p50, p95, p99, tcp, read, write)
    description: str = ""


@dataclass(frozen=True)
class Row:
    title: str
    panels: Tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    values: Tuple[str, ...] = ()        # a fixed list (custom), else label values:
    metric: str = ""                    # ... of this metric's label `label_name`
    label_name: str = ""
    matchers: str = ""                  # ... restricted by these matchers (with other variables)


@dataclass(frozen=True)
class Dashboard:
    name: str                 # overview | workload | pipeline
    uid: str
    title: str
    description: str
    rows: Tuple[Row, ...]
    variables: Tuple[Variable, ...] = ()

    def panels(self) -> List[Panel]:
        return [p for row in self.rows for p in row.panels]


@dataclass(frozen=True)
class Names:
    """Metric names as the backend holds them: with `_total` (Prometheus, Grafana Cloud, Mimir: OTLP
    counters get their suffix back) or without (a backend storing OTLP names as sent while the receiver
    trims `_total`). `check --query-url` says which of the two the backend holds."""

    trimmed_total: bool = False

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return arrived_name(name, self.trimmed_total)


def _sel(*matchers: str) -> str:
    return "{" + ", ".join(m for m in matchers if m) + "}"


INBOUND = ('direction="inbound"', f'target_port!="{LINKERD_ADMIN_PORT}"')
OUTBOUND = ('direction="outbound"',)
SUCCESS = 'classification="success"'
# an outbound series' destination, as `stat` names it (stats/golden.py DESTINATION_KINDS, then authority)
DESTINATION = ("dst_namespace", "dst_deployment", "dst_statefulset", "dst_daemonset", "dst_service", "authority")


def _golden_panels(n: Names, scope: Tuple[str, ...], by: Tuple[str, ...], legend: str, what: str) -> List[Panel]:
    """Request rate, success rate and latency quantiles of the series `scope` selects, per `by`."""
    group = f"sum by ({', '.join(by)}) " if by else "sum "
    responses = f"{n.response_total}{_sel(*scope)}"
    success = f"{n.response_total}{_sel(*scope, SUCCESS)}"
    buckets = f"{n.response_latency_ms_bucket}{_sel(*scope)}"
    le_by = ", ".join(by + ("le",))
    panels = [
        Panel(f"{what} request rate", f"{group}(irate({responses}[$window]))", "reqps", legend, "rps",
              "Responses per second (success and failure), as `stat`'s RPS."),
        Panel(f"{what} success rate",
              f"{group}(irate({success}[$window])) / {group}(irate({responses}[$window]))", "percentunit",
              legend, "success", "The share of responses Linkerd classified `success`, as `stat`'s SUCCESS."),
    ]
    for name, q in QUANTILES:
        panels.append(Panel(f"{what} latency {name}",
                            f"histogram_quantile({q}, sum by ({le_by}) (irate({buckets}[$window])))", "ms",
                            legend, name, f"The {name} response latency, as `stat`'s LATENCY_{name.upper()}."))
    return panels


def dashboards(names: Optional[Names] = None) -> List[Dashboard]:
    """The three dashboards: the one list of panel definitions both renderers read."""
    n = names or Names()
    ns = NAMESPACE_LABEL
    overview = Dashboard(
        "overview", "linkerd-otel-overview", "Linkerd mesh overview (linkerd-otel)",
        "Per namespace: inbound request rate, success rate and latency of every meshed workload, as "
        "`kubectl linkerd-otel stat ns` shows them.",
        (Row("Traffic per namespace", tuple(_golden_panels(n, INBOUND, (ns,), "{{%s}}" % ns, "Inbound")[:2])),
         Row("Latency per namespace", tuple(_golden_panels(n, INBOUND, (ns,), "{{%s}}" % ns, "Inbound")[2:]))))

    workload_scope = (f'{ns}="$namespace"', '$kind="$workload"')
    inbound = _golden_panels(n, workload_scope + INBOUND, (), "$workload", "Inbound")
    outbound = _golden_panels(n, workload_scope + OUTBOUND, DESTINATION,
                              "{{dst_namespace}}/{{dst_deployment}}{{dst_statefulset}}{{dst_daemonset}}", "Outbound")
    tcp_in = workload_scope + INBOUND
    workload = Dashboard(
        "workload", "linkerd-otel-workload", "Linkerd workload (linkerd-otel)",
        "One workload (namespace, kind, name): inbound and outbound traffic, success, latency and TCP, as "
        "`kubectl linkerd-otel stat KIND/NAME` and `stat --outbound` show them.",
        (Row("Inbound traffic", tuple(inbound[:2])),
         Row("Inbound latency", tuple(inbound[2:])),
         Row("Outbound traffic (per destination)", tuple(outbound[:2])),
         Row("Outbound latency (per destination)", tuple(outbound[2:])),
         Row("TCP (inbound)", (
             Panel("Open connections", f"sum({n.tcp_open_connections}{_sel(*tcp_in)})", "short", "$workload",
                   "tcp", "Connections open now, as `stat`'s TCP_CONN."),
             Panel("Bytes read", f"sum(irate({n.tcp_read_bytes_total}{_sel(*tcp_in)}[$window]))", "Bps",
                   "$workload", "read", "Bytes per second read from clients, as `stat -o wide`'s READ_BYTES/SEC."),
             Panel("Bytes written", f"sum(irate({n.tcp_write_bytes_total}{_sel(*tcp_in)}[$window]))", "Bps",
                   "$workload", "write",
                   "Bytes per second written to clients, as `stat -o wide`'s WRITE_BYTES/SEC.")))),
        (Variable(ns, "Namespace", metric=n.response_total, label_name=ns),
         Variable("kind", "Kind", values=WORKLOAD_KINDS),
         Variable("workload", "Workload", metric=n.response_total, label_name="$kind",
                  matchers=f'{ns}="$namespace"')))

    pipeline = Dashboard(
        "pipeline", "linkerd-otel-pipeline", "Linkerd metrics pipeline (linkerd-otel)",
        "The collector's path: targets up, scrape duration and samples (the prometheus receiver's series "
        "per target), exporter points sent and failed and the queue (the collector's self-metrics: only "
        "where they reach the backend, see docs/dashboards.md).",
        (Row("Scraping (per job)", (
            Panel("Targets up", "sum by (job) (up)", "short", "{{job}}", "",
                  "Targets whose last scrape succeeded (the receiver's `up`)."),
            Panel("Targets down", "count by (job) (up == 0) or sum by (job) (up) * 0", "short", "{{job}}", "",
                  "Targets whose last scrape failed (0 when none)."),
            Panel("Scrape duration (max)", "max by (job) (scrape_duration_seconds)", "s", "{{job}}", ""),
            Panel("Samples scraped", "sum by (job) (scrape_samples_scraped)", "short", "{{job}}", ""))),
         Row("Exporting (collector self-metrics)", (
             Panel("Points sent", f"sum by (exporter) (rate({n.otelcol_exporter_sent_metric_points_total}[$window]))",
                   "short", "{{exporter}}", "", "Metric points per second the exporter delivered."),
             Panel("Points failed",
                   f"sum by (exporter) (rate({n.otelcol_exporter_send_failed_metric_points_total}[$window]))",
                   "short", "{{exporter}}", "", "Metric points per second the backend refused or never got."),
             Panel("Queue size", f"max by (exporter) ({n.otelcol_exporter_queue_size})", "short", "{{exporter}}",
                   "", "Batches waiting in the exporter's sending queue.")))))
    return [overview, workload, pipeline]


def select(which: Optional[str], names: Optional[Names] = None) -> List[Dashboard]:
    found = dashboards(names)
    return found if which in (None, "all") else [d for d in found if d.name == which]


def query(panel: Panel, window: str, values: Optional[Dict[str, str]] = None) -> str:
    """A panel's PromQL with the window and the variables filled in (as the backends substitute them)."""
    text = panel.expr.replace("$window", window)
    for name, value in sorted((values or {}).items(), key=lambda item: -len(item[0])):
        text = text.replace(f"${name}", value)
    return text


# -- Grafana -------------------------------------------------------------------------------------------
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_GRID = 24


def _legend(text: str) -> str:
    return text.replace("$workload", "${workload}")


def grafana(dashboard: Dashboard) -> dict:
    """A classic Grafana dashboard JSON (schemaVersion 41): a row panel per row, time series under it, a
    `datasource` variable choosing the Prometheus data source."""
    panels: List[dict] = []
    y, next_id = 0, 1
    for row in dashboard.rows:
        panels.append({"type": "row", "title": row.title, "id": next_id, "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": _GRID, "x": 0, "y": y}})
        next_id, y = next_id + 1, y + 1
        width = _GRID // len(row.panels)
        for i, panel in enumerate(row.panels):
            panels.append({
                "type": "timeseries", "title": panel.title, "description": panel.description, "id": next_id,
                "datasource": dict(DATASOURCE),
                "gridPos": {"h": 8, "w": width, "x": i * width, "y": y},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                            "tooltip": {"mode": "multi", "sort": "desc"}},
                "targets": [{"refId": "A", "datasource": dict(DATASOURCE), "expr": query(panel, GRAFANA_WINDOW),
                             "legendFormat": _legend(panel.legend) or "__auto", "range": True}],
            })
            next_id += 1
        y += 8
    variables: List[dict] = [{"type": "datasource", "name": "datasource", "label": "Data source",
                              "query": "prometheus", "current": {}, "hide": 0, "refresh": 1}]
    for var in dashboard.variables:
        if var.values:
            variables.append({
                "type": "custom", "name": var.name, "label": var.label, "query": ",".join(var.values),
                "current": {"text": var.values[0], "value": var.values[0]},
                "options": [{"text": v, "value": v, "selected": i == 0} for i, v in enumerate(var.values)],
                "hide": 0, "multi": False, "includeAll": False})
            continue
        selector = var.metric + (f"{{{var.matchers}}}" if var.matchers else "")
        definition = f"label_values({selector}, {var.label_name})"
        variables.append({
            "type": "query", "name": var.name, "label": var.label, "datasource": dict(DATASOURCE),
            "query": {"query": definition, "refId": "PrometheusVariableQueryEditor"},
            "current": {}, "refresh": 2, "sort": 1, "hide": 0, "multi": False, "includeAll": False})
    return {
        "uid": dashboard.uid, "title": dashboard.title, "description": dashboard.description,
        "tags": ["linkerd", "linkerd-otel"], "timezone": "browser", "editable": True, "graphTooltip": 1,
        "schemaVersion": GRAFANA_SCHEMA_VERSION, "version": 1, "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "annotations": {"list": []}, "links": [], "panels": panels, "templating": {"list": variables},
    }


# -- OpenObserve ------------------------------------------------------------------------------------
_O2_GRID = 192
# Grafana's unit ids -> OpenObserve's (its panel config `unit`; `custom` shows `unit_custom`)
O2_UNITS = {"reqps": ("custom", "req/s"), "percentunit": ("percent-1", None), "ms": ("milliseconds", None),
            "s": ("seconds", None), "Bps": ("bps", None), "short": ("default", None)}


def _o2_legend(text: str) -> str:
    return re.sub(r"\{\{(\w+)\}\}", r"{\1}", text)


def openobserve(dashboard: Dashboard) -> dict:
    """An OpenObserve dashboard (format version 8): a tab per row, a PromQL line chart per panel."""
    tabs = []
    counter = 0
    for t, row in enumerate(dashboard.rows):
        width = _O2_GRID // len(row.panels)
        panels = []
        for i, panel in enumerate(row.panels):
            counter += 1
            unit, custom = O2_UNITS[panel.unit]
            config: dict = {"show_legends": True, "legends_position": "bottom", "unit": unit, "decimals": 2}
            if custom:
                config["unit_custom"] = custom
            panels.append({
                "id": f"panel_{counter:03d}", "type": "line", "title": panel.title,
                "description": panel.description, "config": config, "queryType": "promql",
                "queries": [{
                    "query": query(panel, FIXED_WINDOW), "vrlFunctionQuery": "", "customQuery": True,
                    "fields": {"stream": _stream(panel.expr), "stream_type": "metrics", "x": [], "y": [], "z": [],
                               "filter": {"filterType": "group", "logicalOperator": "AND", "conditions": []}},
                    "config": {"promql_legend": _o2_legend(panel.legend)}}],
                "layout": {"x": i * width, "y": 0, "w": width, "h": 18, "i": counter},
            })
        tabs.append({"tabId": f"tab-{t + 1}", "name": row.title, "panels": panels})
    variables = []
    for var in dashboard.variables:
        if var.values:
            variables.append({"type": "custom", "name": var.name, "label": var.label, "value": var.values[0],
                              "options": [{"label": v, "value": v, "selected": i == 0}
                                          for i, v in enumerate(var.values)]})
            continue
        if var.label_name.startswith("$"):
            # its label is another variable's value: OpenObserve's label-values variable reads one fixed
            # field, so the name is typed in
            variables.append({"type": "textbox", "name": var.name, "label": var.label, "value": "",
                              "options": []})
            continue
        data: dict = {"stream_type": "metrics", "stream": var.metric, "field": var.label_name,
                      "max_record_size": None}
        if var.matchers:
            label, _, value = var.matchers.partition("=")
            data["filter"] = [{"name": label, "operator": "=", "value": value.strip('"')}]
        variables.append({"type": "query_values", "name": var.name, "label": var.label, "query_data": data,
                          "value": "", "options": []})
    return {
        "version": OPENOBSERVE_VERSION, "dashboardId": "", "title": dashboard.title,
        "description": dashboard.description, "role": "", "owner": "", "tabs": tabs,
        "variables": {"list": variables, "showDynamicFilters": False},
        "defaultDatetimeDuration": {"type": "relative", "relativeTimePeriod": "1h"},
    }


def _stream(expr: str) -> str:
    """The first metric a PromQL expression reads (OpenObserve files a PromQL panel under a stream)."""
    for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?=\{|\[| *\))", expr):
        if word not in ("sum", "max", "count", "by", "irate", "rate", "histogram_quantile", "or"):
            return word
    return ""


def render(target: str, dashboard: Dashboard) -> dict:
    return grafana(dashboard) if target == "grafana" else openobserve(dashboard)


def outline(dashboard: Dashboard, target: str) -> List[str]:
    """The human listing: the dashboard, its variables, each row and panel with its query."""
    window = GRAFANA_WINDOW if target == "grafana" else FIXED_WINDOW
    lines = [f"{dashboard.title} [{dashboard.name}]"]
    if dashboard.variables:
        lines.append("  variables: " + ", ".join(v.name for v in dashboard.variables))
    for row in dashboard.rows:
        lines.append(f"  {row.title}")
        for panel in row.panels:
            lines.append(f"    {panel.title} ({panel.unit}): {query(panel, window)}")
    return lines


