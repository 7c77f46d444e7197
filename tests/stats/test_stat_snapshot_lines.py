"""What a snapshot keeps of two proxy reads (stats/proxy_text.stat_lines) gives `stat` the same numbers
as the whole texts: the fixture pairs (one with a restarted proxy), the demo proxies, and reads with
idle, vanished and new series."""
from __future__ import annotations

import pytest

import demo_proxies
from kubectl_linkerd_otel.report.stat import to_json
from kubectl_linkerd_otel.stats.golden import summarize_texts
from kubectl_linkerd_otel.stats.proxy_text import golden_lines, parse, stat_lines
from stat_scenarios import meshed_pod, metrics

PAIRS = {name: (metrics(f"{name}-1"), metrics(f"{name}-2")) for name in ("web", "api", "db")}
PAIRS.update({f"demo-{p.me.deployment}": (p.text(1), p.text(2)) for p in demo_proxies.proxies()})

IDLE = ('response_total{direction="inbound",target_addr="10.244.1.12:8080",target_port="8080",tls="true",'
        'client_id="old.shop.serviceaccount.identity.linkerd.cluster.local",status_code="200",'
        'classification="success"} 70')
GONE = IDLE.replace("old.shop", "gone.shop")
NEW = IDLE.replace("old.shop", "new.shop").replace("} 70", "} 9")


def _rows(first: str, second: str, **kwargs):
    pod = meshed_pod("web", "6d4cf56db6", "t8k2m", "10.244.1.12")
    key = ("shop", pod["metadata"]["name"])
    return to_json(summarize_texts([pod], {key: (first, 100.0, second, 110.0)}, {}, kind="deployment", **kwargs))


@pytest.mark.parametrize("outbound", [False, True])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_the_kept_lines_give_the_same_rows(name, outbound):
    first, second = PAIRS[name]
    kept = stat_lines(golden_lines(first), golden_lines(second), 4191)
    assert _rows(*kept, outbound=outbound) == _rows(first, second, outbound=outbound)
    assert len(kept[0]) + len(kept[1]) <= len(golden_lines(first)) + len(golden_lines(second))


def test_idle_vanished_and_admin_series_are_dropped_new_ones_kept():
    first, second = (golden_lines(t) for t in PAIRS["web"])
    first, second = first + IDLE + "\n" + GONE + "\n", second + IDLE + "\n" + NEW + "\n"
    kept_first, kept_second = stat_lines(first, second, 4191)
    assert "old.shop" not in kept_first + kept_second and "gone.shop" not in kept_first
    assert NEW in kept_second.splitlines()
    assert 'target_port="4191"' not in kept_first + kept_second
    assert "tcp_open_connections{" in kept_first and "process_start_time_seconds" in kept_first + kept_second
    assert _rows(kept_first, kept_second) == _rows(first, second)
    assert _rows(kept_first, kept_second)[0]["linkerdOtel"]["responses"]["success"] == 190 + 9


def test_a_restarted_proxy_keeps_every_series():
    first, second = (golden_lines(t) for t in PAIRS["db"])
    assert parse(first).start_time != parse(second).start_time
    first, second = first + IDLE + "\n", second + IDLE + "\n"
    kept_first, kept_second = stat_lines(first, second, 4191)
    assert IDLE in kept_second.splitlines()                    # after a restart it counts from zero
    assert _rows(kept_first, kept_second) == _rows(first, second)


def test_nothing_to_keep():
    assert stat_lines("", "", 4191) == ("", "")
    assert stat_lines(IDLE + "\n", IDLE + "\n", None) == ("", "")
