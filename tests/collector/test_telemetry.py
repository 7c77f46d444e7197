from __future__ import annotations

from kubectl_linkerd_otel.collector import telemetry

WITH_TOTAL = """# HELP otelcol_exporter_sent_metric_points_total Number of metric points sent.
# TYPE otelcol_exporter_sent_metric_points_total counter
otelcol_exporter_sent_metric_points_total{exporter="otlp",service_name="otelcol"} 120
otelcol_exporter_sent_metric_points_total{exporter="debug",service_name="otelcol"} 5
# HELP otelcol_exporter_send_failed_metric_points_total Failed.
# TYPE otelcol_exporter_send_failed_metric_points_total counter
otelcol_exporter_send_failed_metric_points_total{exporter="otlp"} 3
# HELP otelcol_exporter_queue_size Queue size.
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{exporter="otlp"} 7
# HELP otelcol_receiver_accepted_metric_points_total Accepted.
# TYPE otelcol_receiver_accepted_metric_points_total counter
otelcol_receiver_accepted_metric_points_total{receiver="prometheus/linkerd",transport="http"} 900
"""
WITHOUT_TOTAL = """# TYPE otelcol_exporter_sent_metric_points counter
otelcol_exporter_sent_metric_points{exporter="otlp"} 10
# TYPE otelcol_exporter_send_failed_metric_points counter
otelcol_exporter_send_failed_metric_points{exporter="otlp"} 9
"""


def test_parse_with_total_suffix():
    t = telemetry.parse(WITH_TOTAL)
    assert t.sent == {"otlp": 120.0, "debug": 5.0}
    assert t.failed == {"otlp": 3.0}
    assert t.queue_size == {"otlp": 7.0}
    assert t.accepted == {"prometheus/linkerd": 900.0}
    assert t.total_sent() == 125.0 and t.has_exporter_metrics


def test_parse_without_total_suffix():
    t = telemetry.parse(WITHOUT_TOTAL)
    assert t.sent == {"otlp": 10.0} and t.failed == {"otlp": 9.0}


def test_failed_growth_ignores_resets():
    first, second = telemetry.parse(WITHOUT_TOTAL), telemetry.parse(WITH_TOTAL)
    assert telemetry.failed_growth(first, second) == {}          # 9 -> 3: a restart, not growth
    assert telemetry.failed_growth(second, first) == {"otlp": 6.0}


def test_no_exporter_metrics_and_garbage():
    assert not telemetry.parse("# TYPE up gauge\nup 1\n").has_exporter_metrics
    assert telemetry.safe_parse("") is None
    assert telemetry.safe_parse("this is { not prometheus") is None
