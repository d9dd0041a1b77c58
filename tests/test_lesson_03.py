"""Lesson 03 (estimating uncertainty): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson

LESSON = "03_estimating_uncertainty"


def test_lesson_03_ensemble_beats_single_model(executed_lessons):
    m = executed_lessons[LESSON]
    assert m["ensemble_size"] >= 2 and m["mc_samples"] >= 2
    assert m["nll_ensemble"] < m["nll_single"]
    assert m["nll_single_ci_low"] <= m["nll_single"] <= m["nll_single_ci_high"]
    assert m["acc_single_ci_low"] <= m["acc_single"] <= m["acc_single_ci_high"]
    assert m["acc_single"] > 1 / m["n_classes"]  # far better than chance
    for name in ("acc_single", "acc_ensemble", "ece_single", "ece_ensemble"):
        assert 0 <= m[name] <= 1


def test_lesson_03_out_of_scope_detection(executed_lessons):
    m = executed_lessons[LESSON]
    assert m["auroc_msp"] > 0.7
    aurocs = [v for k, v in m.items() if k.startswith("auroc_") and not k.endswith(("_ci_low", "_ci_high"))]
    assert len(aurocs) >= 3 and all(0 <= v <= 1 for v in aurocs)
    assert m["auroc_msp_ci_low"] <= m["auroc_msp"] <= m["auroc_msp_ci_high"]
    for name in ("fpr95_msp", "fpr95_entropy", "fpr95_mutual_info", "oos_recall", "in_scope_acc_at_threshold"):
        assert 0 <= m[name] <= 1
    assert m["in_scope_acc_at_threshold"] <= m["acc_single"]  # flagging in-scope queries can only cost accuracy


def test_lesson_03_mutual_information_is_non_negative(executed_lessons):
    m = executed_lessons[LESSON]
    assert m["mi_min"] >= 0  # the notebook also asserts it for every query
    assert 0 < m["mi_tolerance"] <= 1e-6
