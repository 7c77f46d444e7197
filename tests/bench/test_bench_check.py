"""bench/check.py's budgets: against kubectl where it ran, against the raw listing above
--kubectl-max-pods (the kubectl budget scaled by how much slower kubectl was than the raw listing at the
largest size both ran), and a figure whose run did not finish is reported, not dropped."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import check  # noqa: E402
from safety import Outcome  # noqa: E402


def _size(n: int, walls: dict, limits: dict = None) -> check.Size:
    size = check.Size(n)
    for label, wall in walls.items():
        outcome = Outcome(label, [], cap=0, timeout=0, wall=wall, peak_rss=100 * check.MB, code=0,
                          limit=(limits or {}).get(label, ""))
        size.rows.append((label, outcome, 0))
    return size


def test_above_the_kubectl_size_check_is_measured_against_the_raw_listing_with_a_scaled_budget():
    ten = _size(10000, {check.KUBECTL: 20.0, check.RAW: 4.0, check.CHECK: 10.0,
                        check.FILE_JSON: 6.0, check.LOAD: 3.0})
    fifty = _size(50000, {check.RAW: 20.0, check.CHECK: 60.0, check.FILE_JSON: 30.0, check.LOAD: 15.0,
                          check.LIVE_JSON: 1.0})
    budgets = {label: (value, budget) for label, value, budget, _unit, _note in check.budgets_for([ten, fifty])}
    # issue 24's budgets
    assert budgets["10000: check / kubectl get pods"] == (0.5, 1.0)
    assert budgets["50000: check / raw listing"] == (3.0, 5.0)        # 1 x (20 / 4)
    assert budgets["50000: targets -o json --pods FILE / json.load"] == (2.0, 1.5)
    assert budgets["50000: check peak RSS"] == (100, 300)
    assert budgets["50000: targets -o json (live) peak RSS"] == (100, 500)
    assert budgets["50000: targets -o json --pods FILE peak RSS"] == (100, 1024)


def test_without_a_kubectl_run_the_raw_listing_gets_the_kubectl_budget_itself():
    fifty = _size(50000, {check.RAW: 20.0, check.CHECK: 60.0})
    budgets = {label: (value, budget) for label, value, budget, _unit, _note in check.budgets_for([fifty])}
    assert budgets["50000: check / raw listing"] == (3.0, 1.0)


def test_a_run_stopped_by_a_limit_leaves_its_figure_unmeasured():
    ten = _size(10000, {check.KUBECTL: 20.0, check.RAW: 4.0, check.CHECK: 10.0, check.FILE_JSON: 6.0,
                        check.LOAD: 3.0}, limits={check.LOAD: "memory"})
    budgets = {label: value for label, value, _budget, _unit, _note in check.budgets_for([ten])}
    assert budgets["10000: targets -o json --pods FILE / json.load"] is None
