"""stats/proxy_text.py reads the plain text a proxy writes with its own strict reader (and groups a
histogram's bucket lines by what the previous one began with), and everything else with prometheus-client's
parser: on every text, the reading equals the reference's (lines grouped by a regular expression, every
text read by prometheus-client) (the recorded proxy texts, and
generated lines of the plain form, with escapes, odd numbers and lines that are not that form)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kubectl_linkerd_otel.stats.proxy_text import MetricsTextError, parse

from helpers import examples

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _same(text: str) -> None:
    try:
        expected = parse(text, fast=False)
    except MetricsTextError as exc:
        with pytest.raises(MetricsTextError) as info:
            parse(text)
        assert str(info.value) == str(exc)
        return
    assert parse(text) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("proxy-metrics*.txt")))
def test_recorded_proxy_texts_read_the_same(name):
    _same((FIXTURES / name).read_text())


def test_the_demo_proxies_read_the_same():
    import demo_proxies

    for proxy in demo_proxies.proxies():
        for read in (1, 2):
            _same(proxy.text(read))


_NAMES = st.sampled_from(["response_total", "response_latency_ms_bucket", "tcp_open_connections",
                          "tcp_read_bytes_total", "tcp_write_bytes_total", "process_start_time_seconds"])
_LABEL = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True) | st.sampled_from(
    ["le", "direction", "classification", "target_port", "1bad", "a-b", ""])
_VALUE = st.lists(st.sampled_from(list('abc ,={}"\\n\t') + ["\\\\", '\\"', "\\n", "\\t", "é"]),
                  max_size=8).map("".join)
_NUMBER = st.sampled_from(["0", "1", "1.", ".5", "-.5e3", "+3", "01", "1e5", "2.5E-3", "+Inf", "-Inf", "NaN",
                           "Inf", "nan", "1_0", "0x10", "١٢", "", "1 1700000000000", "1 x", "1.5.2"])


@st.composite
def _line(draw):
    name = draw(_NAMES)
    labels = draw(st.lists(st.tuples(_LABEL, _VALUE), max_size=4))
    body = ",".join(f'{k}="{v}"' for k, v in labels)
    if draw(st.booleans()):
        body += ","
    head = name if not labels and draw(st.booleans()) else f"{name}{{{body}}}"
    return f"{head} {draw(_NUMBER)}"


@st.composite
def _histogram(draw):
    """Bucket lines one after another, alike but for `le` (placed first, among or last), now and then one
    whose labels end otherwise."""
    before = draw(st.lists(st.tuples(_LABEL, _VALUE), max_size=2))
    after = draw(st.lists(st.tuples(_LABEL, _VALUE), max_size=2))
    lines = []
    for le in draw(st.lists(st.sampled_from(["1", "5", "+Inf", "", 'x\\"y', "10"]), min_size=1, max_size=4)):
        tail = after if draw(st.integers(0, 4)) else after + [("odd", "1")]
        labels = [f'{k}="{v}"' for k, v in before] + [f'le="{le}"'] + [f'{k}="{v}"' for k, v in tail]
        lines.append(f"response_latency_ms_bucket{{{','.join(labels)}}} {draw(_NUMBER)}")
    return lines


@given(st.lists(_line().map(lambda line: [line]) | _histogram(), min_size=1, max_size=5)
       .map(lambda groups: [line for group in groups for line in group]))
@settings(max_examples=examples(300), deadline=None)
@example(['response_latency_ms_bucket{direction="inbound",le="5"} 3',
          'response_latency_ms_bucket{direction="inbound",le="+Inf"} 4'])
@example(['response_total{a="x\\"y\\\\z\\n",classification="success"} 7'])
@example(['response_total{a="1",a="2"} 7'])
@example(['response_total{__=""} 0'])
@example(['response_latency_ms_bucket{a="b",le="1"} 1', 'response_latency_ms_bucket{a="b",le="2",c="d"} 2',
          'response_latency_ms_bucket{a="b",le="3"} 3', 'response_latency_ms_bucket{a="b",le="4} 4'])
@example(['response_latency_ms_bucket{le="1"} 1', 'response_latency_ms_bucket{le="2"} 2',
          'response_latency_ms_bucket{le="2"x} 2'])
@example(['response_latency_ms_bucket{le="1",a="b"} 1', 'response_latency_ms_bucket{a="b",le="2"} 2'])
def test_any_lines_read_the_same(lines):
    _same("\n".join(lines) + "\n")
