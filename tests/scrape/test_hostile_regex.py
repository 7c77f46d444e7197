"""Relabel regexes that make a backtracking engine blow up: bounded time, the same answers as RE2.

Prometheus matches with RE2 in linear time. Patterns that could backtrack exponentially in Python's
`re` run on the linear-time matcher (scrape/linear.py); these tests hold both engines to the same
answers (Python's `re` path is the one the Prometheus differential tests check) and hold the CLI to a
bounded time on the patterns of the issue.
"""
from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from conftest import load_fixture
from helpers import examples, run_cli
from kubectl_linkerd_otel.scrape.linear import LinearRegex
from kubectl_linkerd_otel.scrape.re2 import compile_anchored

PATTERNS = [
    "(.*)", "(a+)+b", "(a|aa)*c", "(a*)*", "(a*)+", "(a|b)*?b", "a{2,4}", "(ab){0,3}c?",
    "(\\w+)-(\\d+)", "(?P<ns>[^/]+)/(?<pod>.+)", "(.*)=(.*)", "(a*)b", "(?P<n>x)?(?P<n>y)?z",
    "a|b.*", "1;(2|3)", "([^:]+)(?::\\d+)?;(\\d+)", "(?i)AB+c", "x*?(x*)", "(a?){3}a{3}",
    "^a$", "(?m)^a$\\n^b$", "\\bab\\b.*", "(.+);(.+)", "[[:alpha:]]+(\\d)", "(a|ab)(c|bcd)(d*)",
    "(?U)(a+)(a*)", "((a)|b)+", ".*admin$", "(linkerd-service-mirror|controller);.*admin$",
]
ALPHABET = "aAbBcdx0129-;:/=\n_ "
# A repeated group that can match empty: Go's regexp (RE2) and Python's `re` report different
# submatches for the last, empty iteration (`(a*)+` on "a": Go "a", Python ""); the linear engine
# follows Go's program shape. Only match/no-match is compared for these.
EMPTY_LOOPS = {"(a*)*", "(a*)+", "(a?){3}a{3}", "x*?(x*)"}


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=examples(60), deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=14))
def test_linear_engine_answers_as_python_re(pattern, text):
    backtracking = compile_anchored(pattern, engine="re")
    linear = compile_anchored(pattern, engine="linear")
    assert isinstance(linear.compiled, LinearRegex)
    want, got = backtracking.fullmatch(text), linear.fullmatch(text)
    assert (want is None) == (got is None), (pattern, text)
    if want is not None and pattern not in EMPTY_LOOPS:
        assert [want.group(i) for i in range(want.re.groups + 1)] == \
            [got.group(i) for i in range(backtracking.groups + 1)], (pattern, text)


@pytest.mark.parametrize("pattern", ["(a+)+b", "(a|aa)*b", "(a*)*b", "(.*a){20}b", "(x+x+)+y",
                                     "((a+)|(b+))+c"])
def test_catastrophic_patterns_are_linear(pattern):
    regex = compile_anchored(pattern)
    assert isinstance(regex.compiled, LinearRegex)
    started = time.monotonic()
    assert regex.fullmatch("a" * 20000) is None
    assert time.monotonic() - started < 5


def test_safe_patterns_keep_python_re():
    for pattern in ("(.*)", "__meta_kubernetes_pod_label_(.+)", "(Pending|Running)", "[0-9]{3}x+"):
        assert not isinstance(compile_anchored(pattern).compiled, LinearRegex), pattern


def test_targets_with_a_catastrophic_relabel_regex_answers_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    pods = load_fixture("harness-mesh-pods.json")
    for pod in pods["items"]:
        pod["metadata"].setdefault("labels", {})["long"] = "a" * 60
        pod["metadata"].setdefault("annotations", {})["huge"] = "a" * 50000
    (tmp_path / "pods.json").write_text(json.dumps(pods))
    config = {"receivers": {"prometheus": {"config": {"scrape_configs": [{
        "job_name": "evil", "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_label_long"], "regex": "(a+)+b", "action": "drop"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_huge"], "regex": "(a|aa)*c",
             "action": "drop"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_huge"], "regex": "(a*)*(a+)",
             "target_label": "tail", "replacement": "${2}"}]}]}}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["debug"]}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    started = time.monotonic()
    result = run_cli("targets", "--pods", str(tmp_path / "pods.json"), "--config",
                     str(tmp_path / "config.yaml"), "-o", "json")
    assert time.monotonic() - started < 60
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)
    active = doc["data"]["activeTargets"]
    assert active and all(t["labels"]["tail"] == "a" for t in active)
