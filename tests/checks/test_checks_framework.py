from __future__ import annotations

import json

from kubectl_linkerd_otel.checks.framework import (Category, Check, CheckOptions, fail, failed, passed,
                                                    retryable_failures, run_categories, skip, warn)
from kubectl_linkerd_otel.report import check_human, check_json


def _cats(first_outcome):
    return [
        Category("a", [Check("one", "first", lambda s, o: first_outcome, "a-one", fatal=True),
                       Check("two", "second", lambda s, o: None, "a-two")]),
        Category("b", [Check("three", "third", lambda s, o: warn("careful", ["x"]), "b-three")], requires=("a",)),
        Category("c", [Check("four", "fourth", lambda s, o: None)], requires=("b",)),
    ]


def test_fatal_failure_skips_rest_and_dependents():
    results = run_categories(_cats(fail("broken")), object())
    assert [(r.check_id, r.status) for r in results] == [
        ("one", "error"), ("two", "skipped"), ("three", "skipped"), ("four", "skipped")]
    assert results[1].error == "skipped: 'first' did not pass"
    assert results[3].error == "skipped: 'first' did not pass"   # transitively through b
    assert results[0].hint == "https://github.com/linkerd-otel/kubectl-linkerd-otel#a-one"
    assert failed(results) and not retryable_failures(results)   # checks are not retryable unless they say so


def test_only_retryable_failures_are_retried():
    def cats(outcome, retryable):
        return [Category("a", [Check("x", "x", lambda s, o: outcome, retryable=retryable)])]

    assert retryable_failures(run_categories(cats(fail("pod starting"), True), object()))
    assert not retryable_failures(run_categories(cats(fail("no such object"), False), object()))
    # one failure of a retryable check may say it will not go away by itself, and the reverse
    assert not retryable_failures(run_categories(cats(fail("config", retryable=False), True), object()))
    assert retryable_failures(run_categories(cats(fail("not ready yet", retryable=True), False), object()))
    # warnings are never waited for
    assert not retryable_failures(run_categories(cats(warn("careful"), True), object()))


def test_passing_runs_everything_and_words_success():
    results = run_categories(_cats(passed("first, reworded")), object())
    assert [(r.check_id, r.status) for r in results] == [
        ("one", "ok"), ("two", "ok"), ("three", "warning"), ("four", "ok")]
    assert results[0].description == "first, reworded" and results[0].hint == ""
    assert not failed(results)


def test_a_crashing_check_is_an_error_not_a_crash():
    def boom(_s, _o):
        raise KeyError("spec")
    results = run_categories([Category("a", [Check("x", "x", boom)])], object(), CheckOptions())
    assert results[0].status == "error" and "internal error in this check: KeyError" in results[0].error


def test_human_rendering_matches_linkerd_style():
    results = run_categories(_cats(passed()), object())
    text = check_human.render(results)
    assert text == ("a\n-\n\u221a first\n\u221a second\n\nb\n-\n\u203c third\n    careful\n        x\n"
                    "    see https://github.com/linkerd-otel/kubectl-linkerd-otel#b-three for hints\n\n"
                    "c\n-\n\u221a fourth\n\nStatus check results are \u221a\n")
    short = check_human.render(results, short=True)
    assert short == ("b\n-\n\u203c third\n    careful\n        x\n"
                     "    see https://github.com/linkerd-otel/kubectl-linkerd-otel#b-three for hints\n\n"
                     "Status check results are \u221a\n")


def test_human_collapses_wholly_skipped_category():
    text = check_human.render(run_categories(_cats(fail("broken")), object()))
    assert "b\n-\n- all checks skipped: 'first' did not pass\n" in text
    assert text.endswith("Status check results are \u00d7\n")


def test_json_schema():
    doc = json.loads(check_json.render(run_categories(_cats(fail("broken")), object())))
    assert doc["success"] is False
    assert doc["categories"][0] == {"categoryName": "a", "checks": [
        {"description": "first", "hint": "https://github.com/linkerd-otel/kubectl-linkerd-otel#a-one",
         "error": "broken", "result": "error"},
        {"description": "second", "hint": "", "error": "skipped: 'first' did not pass", "result": "warning"}]}


def test_skip_outcome_is_not_a_failure():
    results = run_categories([Category("a", [Check("x", "x", lambda s, o: skip("n/a"))])], object())
    assert results[0].status == "skipped" and not failed(results)
    assert json.loads(check_json.render(results))["categories"][0]["checks"] == [
        {"description": "x (n/a)", "hint": "", "error": "", "result": "success"}]
