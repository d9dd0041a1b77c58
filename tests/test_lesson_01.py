"""Lesson 01 (sources of uncertainty): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson
LESSON = "01_sources_of_uncertainty"


def test_lesson_01_toy_separates_aleatoric_from_epistemic(executed_lessons):
    m = executed_lessons[LESSON]
    # where the classes overlap the uncertainty is mostly aleatoric, where there are no data
    # mostly epistemic
    assert m["toy_overlap_aleatoric"] > m["toy_overlap_epistemic"]
    assert m["toy_empty_epistemic"] > m["toy_empty_aleatoric"]


def test_lesson_01_seeds_disagree(executed_lessons):
    m = executed_lessons[LESSON]
    assert m["seed_disagreement_rate_ci_low"] > 0  # the interval excludes "all seeds agree"
    # the seed models' mutual information is larger where their predicted labels differ
    assert m["seed_mi_disagree"] > m["seed_mi_agree"]


def test_lesson_01_label_noise_costs_accuracy_and_confidence(executed_lessons):
    m = executed_lessons[LESSON]
    # paired over the dev sentences: the noisiest model is less accurate and less confident,
    # each with an interval that excludes no change
    assert m["noise_accuracy_drop_ci_low"] > 0
    assert m["noise_confidence_drop_ci_low"] > 0


def test_lesson_01_shift_costs_calibration_and_cut_reviews_cost_accuracy(executed_lessons):
    m = executed_lessons[LESSON]
    # Two independent samples each time (resampled separately). Reviews read whole are no
    # harder than the SST-2 dev set (seeds 0-2: the drop's interval lies below 0) ...
    assert m["shift_accuracy_drop_ci_low"] < 0
    # ... but their ECE is higher (seeds 0-2: interval lows 0.028 to 0.055) ...
    assert m["shift_ece_change_ci_low"] > 0
    # ... and reviews cut at max_length are less accurate than whole ones (lows 0.033 to 0.11).
    assert m["cut_accuracy_drop_ci_low"] > 0


def test_lesson_01_out_of_scope_gets_confident_answers(executed_lessons):
    m = executed_lessons[LESSON]
    uniform = 1 / m["n_classes"]
    assert m["oos_mean_max_prob_ci_high"] < m["in_scope_mean_max_prob_ci_low"]
    assert m["oos_mean_max_prob_ci_low"] > 2 * uniform  # far above the uniform 1/K
