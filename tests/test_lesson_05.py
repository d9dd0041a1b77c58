"""Lesson 05 (data augmentation): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_05_augmentation_claims(executed_lessons):
    m = executed_lessons["05_augmentation"]
    # EDA's rate is not the fraction of words it edits on short phrases: one edit at least.
    assert m["median_words"] < 20 and m["edit_share"] > 0.15
    # Embedding neighbours contain antonyms: the lesson's warning is measured, not assumed.
    assert m["n_polar_pairs"] > 0 and m["antonym_rate_ci_low"] > 0
    # The baseline learns from 100 phrases: far above chance, averaged over the seeds.
    assert m["acc_baseline_smallest"] > 0.6
    # EDA at equal passes over the real phrases: no accuracy gain (the paired interval does not
    # lie above 0) and worse calibration (its interval lies above 0).
    assert m["acc_gain_smallest_ci_low"] < 0
    assert m["ece_change_smallest_ci_low"] > 0
    # Stopped at the baseline's number of steps, EDA's diluted real phrases cost accuracy.
    assert m["acc_gain_steps_smallest_ci_high"] < 0
