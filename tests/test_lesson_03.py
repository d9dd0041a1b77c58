"""Lesson 03 (estimating uncertainty): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson

LESSON = "03_estimating_uncertainty"


def test_lesson_03_ensemble_beats_single_model(executed_lessons):
    m = executed_lessons[LESSON]
    assert m["acc_single_ci_low"] > 0.8  # far better than chance (1 / n_classes)
    # Paired bootstrap over test queries: the ensemble's NLL is lower than the single model's.
    assert m["nll_change_ensemble_ci_high"] < 0
    # Averaging lowers the mean confidence by more than it raises the accuracy (paired): the
    # signed gap moves down, which is why the ensemble's ECE need not fall with its NLL.
    assert m["gap_change_ensemble_ci_high"] < 0


def test_lesson_03_out_of_scope_detection(executed_lessons):
    m = executed_lessons[LESSON]
    assert m["auroc_msp"] > 0.7
    assert m["auroc_msp_ci_low"] > 0.5  # better than chance, judged by its interval
    assert m["auroc_mutual_info_ci_low"] > 0.5
    # The threshold chosen on validation queries flags out-of-scope test queries more often
    # than in-scope ones ...
    assert m["oos_recall"] > 1 - m["in_scope_kept_at_threshold"]
    # ... and keeps about the in-scope accuracy it was chosen for (98% of the unthresholded one).
    target = m["oos_threshold_relative_accuracy"] * m["acc_single"]
    assert m["in_scope_acc_at_threshold"] >= target - 0.03


def test_lesson_03_epistemic_uncertainty(executed_lessons):
    m = executed_lessons[LESSON]
    # Ensemble members disagree more on out-of-scope queries than on in-scope ones ...
    assert m["epi_out"] > m["epi_in"]
    # ... and independently trained members disagree more than MC-dropout passes of one network.
    assert m["epi_in"] > m["epi_in_mc_dropout"]
    assert m["epi_out"] > m["epi_out_mc_dropout"]
