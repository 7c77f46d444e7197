"""One read of a Linkerd proxy's `/metrics` (pure): the few families `stat` needs, parsed with
prometheus-client's parser.

A proxy exports some 1,700 series; only the golden-metric families are handed to the parser (lines are
picked by metric name first, which is far cheaper than parsing everything), and each series is told
apart by its full label set, so counters are compared series by series as Prometheus does.
Families (linkerd2-proxy's legacy HTTP/TCP metrics, still exported by Linkerd 2.x proxies):
`response_total` (label `classification`), `response_latency_ms` (histogram, ms), `tcp_open_connections`
(gauge), `tcp_read_bytes_total`/`tcp_write_bytes_total`, and `process_start_time_seconds`.

A sample that is not a finite number (`+Inf`, `-Inf`, `NaN`: valid exposition text, but no proxy counter
holds one) is a bad sample: its series is left out of the reading and listed in `Reading.bad`, so the
arithmetic never sees it and the report can say which one it was.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

RESPONSES = "response_total"
LATENCY_BUCKETS = "response_latency_ms_bucket"
TCP_OPEN = "tcp_open_connections"
TCP_READ = "tcp_read_bytes_total"
TCP_WRITE = "tcp_write_bytes_total"
START_TIME = "process_start_time_seconds"
FAMILIES = (RESPONSES, LATENCY_BUCKETS, TCP_OPEN, TCP_READ, TCP_WRITE, START_TIME)
_PREFIXES = tuple(f"{name}{end}" for name in FAMILIES for end in ("{", " "))

# the labels the arithmetic reads (stats/golden.py); the others only tell series apart
KEPT_LABELS = frozenset({"direction", "classification", "target_port", "target_addr", "authority",
                         "dst_namespace", "dst_deployment", "dst_statefulset", "dst_daemonset", "dst_service"})


_LE = re.compile(r'(^|,)le="([^"]*)"')


class MetricsTextError(ValueError):
    """The text is not Prometheus exposition text."""


@dataclass
class Series:
    """One label set of one family; a histogram's buckets share it (`values` by upper bound)."""

    name: str
    labels: Dict[str, str]                      # KEPT_LABELS only
    values: Dict[Optional[float], float]        # le -> value; None for counters and gauges


@dataclass
class Reading:
    """One proxy's answer: series by the hash of their full label text (stable between two reads of a
    proxy, which prints its labels in a fixed order)."""

    series: Dict[int, Series] = field(default_factory=dict)
    start_time: Optional[float] = None
    bad: Dict[int, str] = field(default_factory=dict)   # series left out (a sample not finite) -> which one


def _number_text(value: float) -> str:
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf") if math.isinf(value) else f"{value:g}"


def series_text(name: str, labels: Dict[str, str]) -> str:
    """A series as a report names it: the family and the labels the arithmetic reads."""
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items() if k in KEPT_LABELS)
    return f"{name}{{{shown}}}"


def _described(name: str, labels: Dict[str, str], value: float) -> str:
    return f"{series_text(name, labels)} {_number_text(value)}"


def parse(text: str, fast: bool = True) -> Reading:
    """Each distinct label set is read once: a histogram's 26 bucket lines differ only in `le`, so they
    are grouped first (a 30x saving on a proxy's histograms). The plain form a proxy writes is read by a
    strict regular expression (`_fast_samples`); any other text by prometheus-client's parser. `fast=False`:
    lines grouped by a regular expression and every text read by prometheus-client, the reference the
    tests compare with."""
    groups = _grouped(text) if fast else _grouped_by_regex(text)
    reading = Reading()
    if not groups:
        return reading
    heads = list(groups)
    try:
        samples = _fast_samples(heads, groups) if fast else None
        if samples is None:     # not the plain text a proxy writes: prometheus-client decides
            samples = _parsed_samples(heads, groups)
        intern = sys.intern
        for head, (name, all_labels, first) in zip(heads, samples):
            if name == START_TIME:
                if math.isfinite(first):
                    reading.start_time = float(first)
                else:
                    reading.bad[hash(head)] = _described(name, all_labels, first)
                continue
            values: Dict[Optional[float], float] = {}
            for le, rest in groups[head]:
                bound = None if le is None else float(le)
                try:
                    values[bound] = float(rest)      # " 42": float() takes the spaces around it
                except ValueError:                 # a timestamp after the value
                    values[bound] = float(rest.split()[0])
            wrong = next((v for v in values.values() if not math.isfinite(v)), None)
            if wrong is not None:
                reading.bad[hash(head)] = _described(name, all_labels, wrong)
                continue
            labels = {intern(k): intern(v) for k, v in all_labels.items() if k in KEPT_LABELS}
            reading.series[hash(head)] = Series(intern(name), labels, values)
    except (ValueError, IndexError, KeyError) as exc:
        raise MetricsTextError(f"not Prometheus text: {exc}") from None
    return reading


def _grouped(text: str) -> Dict[str, list]:
    """The sample lines of the families read, by head (the line up to its labels' `}`, a bucket's `le`
    taken out): head -> [(le or None, the rest of the line)]. A histogram's bucket lines come one after
    another, alike up to their `le` value: a line that starts as the previous bucket line did, and ends
    its labels as it did, joins its head without the head being made again."""
    groups: Dict[str, list] = {}
    prefix = suffix = ""          # the previous bucket line: up to its le value, after it
    size, same = 0, []            # the prefix's length; its head's lines
    for line in text.splitlines():
        if size and line.startswith(prefix):      # a bucket line (so one of _PREFIXES): checked first
            quote, close = line.find('"', size), line.rfind("}")
            if 0 <= quote < close and line[quote + 1:close + 1] == suffix:
                same.append((line[size:quote], line[close + 1:]))
                continue
        elif not line.startswith(_PREFIXES):
            continue
        close = line.rfind("}")
        head, rest = (line[:close + 1], line[close + 1:]) if close >= 0 else line.split(" ", 1)
        le = None
        if line.startswith(LATENCY_BUCKETS):
            brace = head.find("{")
            inner = head[brace + 1:-1]
            # the first `le="..."` that starts the labels or follows a comma (str.find: what the regex
            # `(^|,)le="([^"]*)"` finds, without scanning the long label text character by character)
            start = 0 if inner.startswith('le="') else inner.find(',le="')
            value_at = start + (4 if start == 0 else 5)
            end = inner.find('"', value_at) if start >= 0 else -1
            if end >= 0:
                le = inner[value_at:end]
                inner = inner[end + 1:].lstrip(",") if start == 0 else inner[:start] + inner[end + 1:]
                head = f"{LATENCY_BUCKETS}{{{inner}}}"
                if brace >= 0:
                    prefix, suffix = line[:brace + 1 + value_at], line[brace + 2 + end:close + 1]
                    size = len(prefix)
                    same = groups.setdefault(head, [])
        groups.setdefault(head, []).append((le, rest))
    return groups


def _grouped_by_regex(text: str) -> Dict[str, list]:
    """_grouped as first written, a line at a time with a regular expression (the tests' reference)."""
    groups: Dict[str, list] = {}
    for line in text.splitlines():
        if not line.startswith(_PREFIXES):
            continue
        close = line.rfind("}")
        head, rest = (line[:close + 1], line[close + 1:]) if close >= 0 else line.split(" ", 1)
        le = None
        if line.startswith(LATENCY_BUCKETS):
            inner = head[head.find("{") + 1:-1]
            match = _LE.search(inner)
            if match:
                le = match.group(2)
                inner = (inner[:match.start()] + inner[match.end():]).lstrip(",") if match.group(1) == "" \
                    else inner[:match.start()] + inner[match.end():]
                head = f"{LATENCY_BUCKETS}{{{inner}}}"
        groups.setdefault(head, []).append((le, rest))
    return groups


Sample = Tuple[str, Dict[str, str], float]     # name, every label, the first value


def _parsed_samples(heads: List[str], groups: Dict[str, list]) -> List[Sample]:
    """Each head's sample as prometheus-client's parser reads it (ValueError when it refuses one)."""
    # lazy: prometheus_client's parser costs ~40 ms at start-up; only a line the fast reader cannot read needs it
    from prometheus_client.parser import text_string_to_metric_families

    samples = [sample for family in text_string_to_metric_families(
        "".join(f"{head} {groups[head][0][1].split()[0] if groups[head][0][1].split() else ''}\n"
                for head in heads)) for sample in family.samples]
    if len(samples) != len(heads):
        raise ValueError("a sample line could not be read")
    return [(sample.name, sample.labels, sample.value) for sample in samples]


# The plain form a proxy writes, read without prometheus-client's character-by-character parser:
# `name{label="value",...} number`, label names of the text format (none reserved: `__...`), values with
# its three escapes, a decimal or +Inf/-Inf/NaN number and no timestamp. Anything else goes to
# prometheus-client (the same verdict as before for text that is not this form).
# A label block is that form when it is exactly its pairs, joined by commas (one trailing comma allowed).
_VALUE_TEXT = r'[^"\\\n]*(?:\\[\\"n][^"\\\n]*)*'      # the loop unrolled: no alternation a character
_PAIRS = re.compile(f'([a-zA-Z_][a-zA-Z0-9_]*)="({_VALUE_TEXT})"')      # a block's pairs, in order
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"\\": "\\", '"': '"', "n": "\n"}


def _fast_samples(heads: List[str], groups: Dict[str, list]) -> Optional[List[Sample]]:
    out: List[Sample] = []
    for head in heads:
        tokens = groups[head][0][1].split()
        if len(tokens) != 1 or not _PLAIN_NUMBER.fullmatch(tokens[0]):
            return None
        brace = head.find("{")
        if brace < 0:
            out.append((head, {}, float(tokens[0])))
            continue
        if not head.endswith("}"):
            return None
        inner = head[brace + 1:-1]
        pairs = _PAIRS.findall(inner)
        # joining the pairs found again, rather than matching the block twice: half the time
        joined = ",".join([f'{key}="{value}"' for key, value in pairs])
        if inner != joined and not (pairs and inner == joined + ","):
            return None
        labels = dict(pairs)
        if len(labels) != len(pairs) or any(key.startswith("__") for key in labels):   # twice; reserved
            return None
        if "\\" in inner:
            labels = {k: _ESCAPE.sub(lambda m: _ESCAPED[m.group(1)], v) for k, v in pairs}
        out.append((head[:brace], labels, float(tokens[0])))
    return out


def golden_lines(text: str) -> str:
    """Only the sample lines `parse` reads (what a snapshot keeps of a proxy's answer): parsing them
    gives the same Reading as parsing the whole text."""
    kept = [line for line in text.splitlines() if line.startswith(_PREFIXES)]
    return "\n".join(kept) + "\n" if kept else ""


def _series_of(text: str) -> Dict[str, List[str]]:
    """Golden lines grouped by series (a histogram's bucket lines together, as `parse` groups them)."""
    groups: Dict[str, List[str]] = {}
    for line in text.splitlines():
        if not line.startswith(_PREFIXES):
            continue
        close = line.rfind("}")
        head = line[:close + 1] if close >= 0 else line.split(" ", 1)[0]
        if line.startswith(LATENCY_BUCKETS):
            head = _LE.sub("", head)
        groups.setdefault(head, []).append(line)
    return groups


def stat_lines(first: str, second: str, admin_port: Optional[int]) -> Tuple[str, str]:
    """Two reads of one proxy cut to the series `stat`'s arithmetic (stats/golden.pod_traffic) can see
    change, so a snapshot of a large mesh stays small; the numbers stay the same. Dropped from both:
    series of the second read whose lines did not change (an increase of 0; unless the proxy restarted),
    series only the first read has (the arithmetic walks the second read), and the inbound series of
    the proxy's own admin port (left out of the numbers). Gauges (`tcp_open_connections`) and the start
    time are always kept."""
    before, after = _series_of(first), _series_of(second)
    starts = [g.get(START_TIME) for g in (before, after)]
    restarted = starts[0] is not None and starts[1] is not None and starts[0] != starts[1]
    admin = re.compile(r'[{,]direction="inbound"[,}]') if admin_port else None
    admin_port_label = re.compile(rf'[{{,]target_port="{admin_port}"[,}}]') if admin_port else None
    kept_first: List[str] = []
    kept_second: List[str] = []
    for head, lines in after.items():
        if admin is not None and admin.search(head) and admin_port_label.search(head):
            continue
        always = head == START_TIME or head.startswith(TCP_OPEN)
        if not always and not restarted and before.get(head) == lines:
            continue
        kept_second.extend(lines)
        kept_first.extend(before.get(head, ()))
    if starts[0] is not None and START_TIME not in after:
        kept_first.extend(starts[0])
    return tuple("\n".join(kept) + "\n" if kept else "" for kept in (kept_first, kept_second))  # type: ignore
