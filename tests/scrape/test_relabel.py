"""Relabel semantics (Prometheus 3.5): every action, defaults, templates, validation."""
import hashlib

import pytest

from kubectl_linkerd_otel.scrape.relabel import (RelabelConfigError, compile_rules, go_lower, go_upper,
                                                 hashmod, parse_template, expand)
from kubectl_linkerd_otel.scrape.re2 import compile_anchored


def run(rules, labels):
    compiled = compile_rules(rules, "job 't'")
    labels = dict(labels)
    dropped = compiled.process(labels)
    return labels, dropped


def test_replace_defaults_copy_a_label():
    labels, dropped = run([{"source_labels": ["a"], "target_label": "b"}], {"a": "1"})
    assert dropped is None and labels == {"a": "1", "b": "1"}


def test_replace_empty_result_deletes_the_target():
    labels, _ = run([{"source_labels": ["missing"], "target_label": "a"}], {"a": "1"})
    assert labels == {}


def test_replace_no_match_changes_nothing():
    labels, _ = run([{"source_labels": ["a"], "regex": "x", "target_label": "b", "replacement": "y"}], {"a": "1"})
    assert labels == {"a": "1"}


def test_regex_is_anchored():
    _, dropped = run([{"source_labels": ["a"], "regex": "web", "action": "keep"}], {"a": "webapp"})
    assert dropped is not None and dropped.index == 1


@pytest.mark.parametrize("template,expected", [
    ("$1", "web"), ("${1}_x", "web_x"), ("$1_x", ""), ("$0", "web-42"), ("$2$1", "42web"),
    ("$name", "42"), ("${name}!", "42!"), ("$$1", "$1"), ("$-", "$-"), ("${1", "${1"), ("$9", ""),
    ("$01", ""), ("plain", "plain"), ("$", "$"),
])
def test_go_template_expansion(template, expected):
    regex = compile_anchored("(\\w+)-(?P<name>\\d+)")
    m = regex.fullmatch("web-42")
    assert expand(parse_template(template, regex), m) == expected


def test_duplicate_group_name_takes_the_first_that_matched():
    regex = compile_anchored("(?P<n>x)?(?P<n>y)?z")
    tpl = parse_template("[$n]", regex)
    assert expand(tpl, regex.fullmatch("yz")) == "[y]"
    assert expand(tpl, regex.fullmatch("xz")) == "[x]"


def test_keep_drop_keepequal_dropequal():
    assert run([{"source_labels": ["a"], "regex": "1", "action": "drop"}], {"a": "1"})[1].action == "drop"
    assert run([{"source_labels": ["a"], "target_label": "b", "action": "keepequal"}], {"a": "1", "b": "1"})[1] is None
    assert run([{"source_labels": ["a"], "target_label": "b", "action": "keepequal"}], {"a": "1"})[1] is not None
    assert run([{"source_labels": ["a"], "target_label": "b", "action": "dropequal"}], {})[1] is not None


def test_separator_and_missing_labels():
    labels, _ = run([{"source_labels": ["a", "x", "b"], "separator": "/", "target_label": "j"}], {"a": "1", "b": "2"})
    assert labels["j"] == "1//2"


def test_hashmod_matches_prometheus_formula():
    labels, _ = run([{"source_labels": ["a"], "modulus": 7, "target_label": "h", "action": "hashmod"}], {"a": "x"})
    assert labels["h"] == str(int.from_bytes(hashlib.md5(b"x").digest()[8:], "big") % 7)
    assert hashmod("x", 7) == int(labels["h"])


def test_labelmap_sees_a_snapshot_and_keeps_sources():
    labels, _ = run([{"action": "labelmap", "regex": "(a+)", "replacement": "${1}a"}], {"a": "1", "aa": "2"})
    assert labels == {"a": "1", "aa": "1", "aaa": "2"}


def test_labelmap_collision_is_reported_as_ambiguous():
    rules = compile_rules([{"action": "labelmap", "regex": "(x|y)_(.*)", "replacement": "$2"}], "job 't'")
    labels = {"x_n": "1", "y_n": "2"}
    rules.process(labels)
    assert rules[0].ambiguities == {("n", ("x_n", "y_n"))}
    same = {"x_n": "1", "y_n": "1"}
    rules[0].ambiguities.clear()
    rules.process(same)
    assert not rules[0].ambiguities


def test_labeldrop_and_labelkeep():
    labels, _ = run([{"action": "labeldrop", "regex": "tmp_.*"}], {"tmp_a": "1", "b": "2"})
    assert labels == {"b": "2"}
    labels, _ = run([{"action": "labelkeep", "regex": "b|__.*"}], {"tmp_a": "1", "b": "2", "__address__": "x"})
    assert labels == {"b": "2", "__address__": "x"}


def test_go_case_mapping():
    assert go_upper("straße") == "STRAßE"
    assert go_upper("ﬀ") == "ﬀ"
    assert go_upper("ᾳ") == "ᾼ"
    assert go_lower("İ") == "i"
    assert go_lower("ΑΣ") == "ασ"      # no final-sigma context in Go
    labels, _ = run([{"source_labels": ["a"], "target_label": "a", "action": "uppercase"}], {"a": "x"})
    assert labels == {"a": "X"}
    labels, _ = run([{"source_labels": ["none"], "target_label": "a", "action": "lowercase"}], {"a": "x"})
    assert labels == {}


def test_action_is_case_insensitive():
    labels, _ = run([{"source_labels": ["a"], "target_label": "b", "action": "RePlAcE"}], {"a": "1"})
    assert labels["b"] == "1"


@pytest.mark.parametrize("rule,words", [
    ({"action": "nope"}, "unknown relabel action"),
    ({"action": "hashmod", "source_labels": ["a"], "target_label": "b"}, "non-zero modulus"),
    ({"source_labels": ["a"]}, "requires 'target_label'"),
    ({"action": "keepequal", "source_labels": ["a"], "target_label": "b", "regex": "(.*)"}, "only 'source_labels'"),
    ({"action": "labeldrop", "regex": "x", "target_label": "y"}, "only 'regex'"),
    ({"action": "uppercase", "source_labels": ["a"], "target_label": "b", "replacement": "c"},
     "'replacement' can not be set"),
    ({"action": "labelmap", "regex": "x", "replacement": ""}, "invalid 'replacement'"),
    ({"action": "keep", "source_labels": ["a"], "regex": "a(?=b)"}, "lookaround"),
    ({"action": "keep", "regexp": "a"}, "field regexp not found"),
])
def test_invalid_rules_name_the_job_and_the_rule(rule, words):
    with pytest.raises(RelabelConfigError) as info:
        compile_rules([{"action": "replace", "target_label": "ok"}, rule], "job 'linkerd-proxy'")
    assert "job 'linkerd-proxy', relabel rule 2" in str(info.value)
    assert words in str(info.value)


def test_memo_does_not_change_answers():
    rules = compile_rules([{"source_labels": ["a"], "regex": "(.)(.*)", "target_label": "b",
                            "replacement": "$2$1"}], "job")
    for value in ["ab", "ab", "cd", "ab"]:
        labels = {"a": value}
        rules.process(labels)
        assert labels["b"] == value[1:] + value[0]


def test_trace_stops_at_the_dropping_rule():
    rules = compile_rules([{"target_label": "x", "replacement": "1"},
                           {"source_labels": ["x"], "regex": "1", "action": "drop"},
                           {"target_label": "never", "replacement": "1"}], "job")
    steps = rules.trace({"a": "1"})
    assert [s[0].index for s in steps] == [1, 2] and steps[-1][2] is False
    assert steps[1][1] == {"a": "1", "x": "1"}
