"""Go durations: one parser (k8s/durations.go_duration_parts), read in seconds for flags and in
nanoseconds for collector configs."""
import pytest

from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.k8s.durations import go_duration_ns, go_duration_parts, go_duration_seconds


@pytest.mark.parametrize("text,seconds", [
    ("1h30m", 5400.0), ("250ms", 0.25), ("1.5s", 1.5), (".5m", 30.0), ("2µs", 2e-6), ("2μs", 2e-6),
    ("-1m", -60.0), ("+10s", 10.0),
])
def test_both_readers_read_the_same_durations(text, seconds):
    assert go_duration_seconds(text) == pytest.approx(seconds)
    assert go_duration_ns(text) == round(seconds * 1e9)


@pytest.mark.parametrize("text", ["", "5", "1d", "1h 30m", "1٣s", "s", "1.5.5s"])
def test_what_neither_reads(text):
    assert go_duration_ns(text) is None
    if text != "5":            # a bare number is seconds for a flag (as kubectl's --request-timeout)
        with pytest.raises(UsageError):
            go_duration_seconds(text, flag="--wait")


def test_the_parts():
    assert go_duration_parts("1h30m") == [(1.0, "h"), (30.0, "m")]
    assert go_duration_parts("") is None and go_duration_parts("1h-") is None
    assert go_duration_seconds("5") == 5.0 and go_duration_ns("0") == 0 and go_duration_ns(7) == 7
