"""Lesson 06 (adversarial training): its claims, asserted on the metrics of its quick run.

Each defended model is compared with the standard one by paired bootstrap intervals over the
same attacked sentences; a claim is asserted only where its interval supports it (checked for
seeds 0, 1 and 2).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_06_attacks_work_on_the_standard_model(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    # each attack flips some sentences, and together they take the accuracy far below the
    # clean accuracy's interval
    assert m["success_word_standard"] > 0 and m["success_char_standard"] > 0
    assert m["robust_acc_standard_ci_high"] < m["clean_acc_standard_ci_low"]
    # the typo'd sentences are misclassified with confidence: the paired rise of ECE is positive
    assert m["ece_rise_char_standard_ci_low"] > 0


def test_lesson_06_the_filter_removes_label_changing_swaps(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    # VADER, which the filter never saw, flags less than half as many of the kept candidate pairs
    assert m["pool_flagged_share_kept"] < m["pool_flagged_share_raw"] / 2
    assert m["swaps_word"] > 0 and m["swaps_flagged"] <= m["swaps_rated"] <= m["swaps_word"]


def test_lesson_06_fgm_costs_time_and_little_clean_accuracy(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    # it still learned the task, at no clean-accuracy cost beyond a few points
    assert m["clean_acc_adversarial_ci_low"] > 0.6
    assert m["clean_change_adversarial_ci_low"] > -0.1
    # one extra forward pass per batch (the gradient reuses the clean one), and the time shows it
    assert m["forward_passes_ratio"] == 2
    assert m["train_time_ratio"] > 1.5
