"""Lesson 05 (data augmentation): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_05_augmentation_claims(executed_lessons):
    m = executed_lessons["05_augmentation"]
    # The backbone learns something from every training-set size (mean over seeds).
    assert all(a > 0.55 for a in m["acc_baseline"])
    # More data does not hurt the baseline: the paired interval (largest - smallest size)
    # does not lie below zero.
    assert m["baseline_data_gain_ci_high"] > 0
    # EDA buys no accuracy here: at no size does the paired interval of the gain lie above 0.
    assert m["n_sizes_helped"] == 0
    assert all(high < 0.05 for high in m["acc_gain_ci_high"])
    # Embedding neighbours contain antonyms: the lesson's warning is measured, not assumed.
    assert m["n_polar_pairs"] > 0 and m["antonym_rate_ci_low"] > 0
