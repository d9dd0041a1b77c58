"""Lesson 05 (data augmentation): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_05_augmentation_claims(executed_lessons):
    m = executed_lessons["05_augmentation"]
    sizes = m["sizes"]
    assert len(sizes) >= 2 and sizes == sorted(sizes)
    per_size = ("acc_baseline", "acc_augmented", "acc_baseline_std", "acc_augmented_std",
                "ece_baseline", "ece_augmented", "ece_baseline_std", "ece_augmented_std", "steps")
    for key in per_size:
        assert len(m[key]) == len(sizes), key
    for key in ("acc_baseline", "acc_augmented"):
        assert all(0 <= a <= 1 for a in m[key]), key
    for key in ("ece_baseline", "ece_augmented"):
        assert all(0 <= e <= 1 for e in m[key]), key
    assert all(s >= 0 for key in per_size if key.endswith("_std") for s in m[key])
    assert m["n_seeds"] >= 2
    assert m["acc_gain_smallest"] == pytest.approx(m["acc_augmented"][0] - m["acc_baseline"][0])
    assert m["ece_baseline_smallest"] == pytest.approx(m["ece_baseline"][0])
    assert m["ece_augmented_smallest"] == pytest.approx(m["ece_augmented"][0])
    # The backbone learns something from every training-set size, and more data does not hurt much.
    assert all(a > 0.55 for a in m["acc_baseline"])
    assert m["acc_baseline"][-1] >= m["acc_baseline"][0] - 0.02
    # Embedding neighbours contain antonyms: the lesson's warning is measured, not assumed.
    assert m["n_polar_pairs"] > 0 and 0 < m["antonym_rate"] < 1
