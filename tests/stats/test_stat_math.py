"""stat's arithmetic on proxy metrics text in the real proxy's format (tests/fixtures/proxy-metrics-*.txt),
against values computed by hand from the fixtures' bucket counts (see the comments)."""
import math

import pytest

from kubectl_linkerd_otel.stats.golden import Readings, pod_traffic, summarize, summarize_texts
from kubectl_linkerd_otel.stats.promql import bucket_quantile, increase
from kubectl_linkerd_otel.stats.proxy_text import MetricsTextError, parse
from stat_scenarios import (NS, POD_API, POD_API_NO_ADMIN, POD_DB, POD_WEB, POD_WEB_403, meshed_pod,
                            metrics)

INF = math.inf


def traffic(name, window=10.0):
    return pod_traffic(Readings(parse(metrics(f"{name}-1")), 100.0, parse(metrics(f"{name}-2")), 100.0 + window),
                       4191)


def test_parse_keeps_only_golden_families_and_the_start_time():
    reading = parse(metrics("web-1"))
    names = {s.name for s in reading.series.values()}
    assert names == {"response_total", "response_latency_ms_bucket", "tcp_open_connections",
                     "tcp_read_bytes_total", "tcp_write_bytes_total"}
    assert reading.start_time == 1750000000.5
    # every response_total series of the text: 3 inbound (one on the admin port), 4 outbound
    responses = [s for s in reading.series.values() if s.name == "response_total"]
    assert len(responses) == 7
    histograms = [s for s in reading.series.values() if s.name == "response_latency_ms_bucket"]
    assert len(histograms) == 7 and all(len(h.values) == 26 for h in histograms)   # 25 bounds and +Inf
    inbound_200 = next(h for h in histograms if h.labels["direction"] == "inbound"
                       and h.labels["target_port"] == "8080" and h.values[1.0] == 500)
    assert inbound_200.values[3.0] == 800 and inbound_200.values[INF] == 1000
    assert inbound_200.labels == {"direction": "inbound", "target_port": "8080",
                                  "target_addr": "10.244.1.12:8080"}


def test_parse_refuses_what_is_not_prometheus_text():
    with pytest.raises(MetricsTextError):
        parse('response_total{direction="inbound" 12\n')


def test_increase_follows_prometheus_counter_resets():
    assert increase(10, 25) == 15
    assert increase(25, 10) == 10            # went down: restarted from zero
    assert increase(None, 7) == 7            # a series the first read did not have
    assert increase(5, 50, restarted=True) == 50


def test_bucket_quantile_matches_prometheus_edge_cases():
    assert math.isnan(bucket_quantile(0.5, [(1, 0), (INF, 0)]))         # empty histogram
    assert math.isnan(bucket_quantile(0.5, [(1, 3), (2, 5)]))           # no +Inf bucket
    assert math.isnan(bucket_quantile(0.5, [(INF, 4)]))                 # fewer than two buckets
    assert bucket_quantile(0.99, [(1, 1), (2, 2), (INF, 10)]) == 2      # rank in +Inf: highest finite bound
    assert bucket_quantile(0.25, [(-1, 4), (INF, 8)]) == -1             # lowest bound <= 0 is returned
    # made monotonic, (20, 8) becomes (20, 10): rank 10 is reached in the first bucket: 0 + 10 * 10/10
    assert bucket_quantile(0.5, [(10, 10), (20, 8), (INF, 20)]) == 10
    assert bucket_quantile(1.5, [(1, 1), (INF, 1)]) == INF
    assert bucket_quantile(-0.1, [(1, 1), (INF, 1)]) == -INF


def test_web_inbound_rates_success_and_latency_by_hand():
    t = traffic("web").inbound
    # response_total app port: 200 1000 -> 1190 (+190), 500 10 -> 20 (+10); admin port 4191 left out
    assert (t.success_count, t.failure_count) == (190, 10)
    assert t.rps == pytest.approx(20.0)            # 200 responses in 10 s
    assert t.success_rate == pytest.approx(0.95)
    # bucket deltas (200 and 500 series summed), cumulative: le1 20, le2 80, le3 120, le4 140, le5 160,
    # le10 180, le20 190, le30 196, le40 198, le50 200
    # p50: rank 100 in (2,3]: 2 + 1 * (100-80)/40 = 2.5; p95: rank 190 in (10,20]: 10 + 10 * 10/10 = 20
    # p99: rank 198 in (30,40]: 30 + 10 * 2/2 = 40
    assert [t.latency(q) for q in (0.5, 0.95, 0.99)] == pytest.approx([2.5, 20.0, 40.0])
    assert t.tcp_open == 3                          # 4191's connection left out
    assert t.read_bytes == pytest.approx(5000.0)    # 100000 -> 150000 over 10 s
    assert t.write_bytes == pytest.approx(10000.0)


def test_web_outbound_by_destination_by_hand():
    out = traffic("web").outbound
    api = out[("deployment", "shop", "api")]
    # +50 in (50,100], +50 in (100,200]: p50 rank 50 -> 50 + 50*50/50 = 100; p95 rank 95 -> 100 + 100*45/50
    assert (api.success_count, api.failure_count) == (100, 0)
    assert [api.latency(q) for q in (0.5, 0.95, 0.99)] == pytest.approx([100.0, 190.0, 198.0])
    db = out[("deployment", "shop", "db")]
    # 200: 300 -> 340, 503: 5 -> 15: 40/50 success; all 50 in (4,5]: 4 + 25/50, 4 + 47.5/50, 4 + 49.5/50
    assert db.success_rate == pytest.approx(0.8)
    assert [db.latency(q) for q in (0.5, 0.95, 0.99)] == pytest.approx([4.5, 4.95, 4.99])
    cp = out[("deployment", "linkerd", "linkerd-destination")]
    assert not cp.has_requests and cp.tcp_open == 1


def test_high_latency_and_an_empty_histogram_by_hand():
    t = traffic("api").inbound
    # 503 series: every bucket 0 in both reads (an empty histogram) adds nothing
    # deltas: (400,500] 10, (500,1000] 60, (1000,2000] 25, (2000,3000] 5 -> cumulative 10, 70, 95, 100
    # p50: 500 + 500*40/60 = 833.33; p95: rank 95 -> 1000 + 1000*25/25 = 2000; p99: 2000 + 1000*4/5 = 2800
    assert [t.latency(q) for q in (0.5, 0.95, 0.99)] == pytest.approx([2500 / 3, 2000.0, 2800.0])
    assert t.success_rate == 1.0 and t.rps == pytest.approx(10.0)


def test_counter_reset_proxy_restarted_between_reads():
    t = traffic("db")
    assert t.restarted                              # process_start_time_seconds changed
    i = t.inbound
    # after the restart: 200 -> 30, 500 -> 20 (were 9000 and 1000): the increases are the new values
    assert (i.success_count, i.failure_count) == (30, 20)
    assert i.success_rate == pytest.approx(0.6)
    # second read cumulative le10 10, le20 40, le30 50: p50 10 + 10*15/30, p95 20 + 10*7.5/10, p99 20 + 9.5
    assert [i.latency(q) for q in (0.5, 0.95, 0.99)] == pytest.approx([15.0, 27.5, 29.5])
    assert i.tcp_open == 4 and i.read_bytes == pytest.approx(100.0)


def test_counter_reset_of_one_series_without_a_restart():
    # the same proxy (start time unchanged), one series went down (evicted idle, then seen again)
    first = parse(metrics("web-1"))
    second_text = metrics("web-2").replace(
        'status_code="500",classification="failure",grpc_status="",error=""} 20',
        'status_code="500",classification="failure",grpc_status="",error=""} 4')
    t = pod_traffic(Readings(first, 0.0, parse(second_text), 10.0), 4191).inbound
    assert (t.success_count, t.failure_count) == (190, 4)      # 10 -> 4: increase 4, as rate() says


def test_no_traffic_between_reads_has_no_numbers():
    same = parse(metrics("web-2"))
    t = pod_traffic(Readings(same, 0.0, same, 10.0), 4191).inbound
    assert not t.has_requests and t.rps == 0
    assert t.success_rate is None and t.latency(0.5) is None


def test_summarize_groups_by_workload_and_lists_unread_pods():
    pods = [meshed_pod("web", "6d4cf56db6", "t8k2m", "10.244.1.12"),
            meshed_pod("web", "6d4cf56db6", "x9p4q", "10.244.1.13", native_sidecar=True),
            meshed_pod("api", "7c9d8b6f5", "k2x9p", "10.244.1.20", native_sidecar=True),
            meshed_pod("api", "7c9d8b6f5", "n4v7z", "10.244.1.21", admin_port=False),
            meshed_pod("legacy", "55d8f9c7b4", "r5t6y", "10.244.1.40", meshed=False)]
    texts = {(NS, POD_WEB): (metrics("web-1"), 0.0, metrics("web-2"), 10.0),
             (NS, POD_API): (metrics("api-1"), 0.0, metrics("api-2"), 5.0)}
    result = summarize_texts(pods, texts, {(NS, POD_WEB_403): "HTTP 403"}, kind="deployment")
    assert [(r.name, r.meshed, r.running, r.read_count) for r in result.rows] == [("api", 2, 2, 1), ("web", 2, 2, 1)]
    api, web = result.rows
    assert api.traffic.rps == pytest.approx(20.0)           # 100 responses in 5 s
    assert web.traffic.rps == pytest.approx(20.0)
    assert {(p.name, p.reason) for p in result.unread} == {
        (POD_WEB_403, "HTTP 403"), (POD_API_NO_ADMIN, "no `linkerd-admin` port on the linkerd-proxy container")}
    by_ns = summarize_texts(pods, texts, {}, kind="namespace")
    assert [(r.name, r.meshed, r.running) for r in by_ns.rows] == [(NS, 4, 5)]
    assert by_ns.rows[0].traffic.rps == pytest.approx(40.0)
    assert summarize(pods, {}, {}, kind="deployment", name="legacy").rows == []   # unmeshed: no row, as viz


def test_two_pods_sum_their_rates():
    pods = [meshed_pod("db", "5f6b8c7d9", "q7w3e", "10.244.1.30"),
            meshed_pod("db", "5f6b8c7d9", "h2j6w", "10.244.1.31")]
    texts = {(NS, POD_DB): (metrics("db-1"), 0.0, metrics("db-2"), 10.0),
             (NS, "db-5f6b8c7d9-h2j6w"): (metrics("web-1"), 0.0, metrics("web-2"), 10.0)}
    row = summarize_texts(pods, texts, {}, kind="deployment").rows[0]
    # db pod: 30 + 20 over 10 s; the other (web's texts): 190 + 10 over 10 s
    assert row.traffic.rps == pytest.approx(25.0)
    assert row.traffic.success_rate == pytest.approx((3 + 19) / 25)
