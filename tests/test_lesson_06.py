"""Lesson 06 (adversarial training): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_06_attacks_work_on_the_standard_model(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    # each attack flips some sentences, and together they take the accuracy far below the
    # clean accuracy's interval
    assert m["success_word_standard"] > 0 and m["success_char_standard"] > 0
    assert m["robust_acc_standard_ci_high"] < m["clean_acc_standard_ci_low"]
    # the attacked sentences are misclassified with confidence: the ECE rises under attack
    assert m["ece_char_standard"] > m["ece_clean_standard"]


def test_lesson_06_adversarial_training_costs_and_gains(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    # it still learned the task, at no clean-accuracy cost beyond a few points
    assert m["clean_acc_adversarial_ci_low"] > 0.6
    assert m["clean_acc_change_ci_low"] > -0.1
    # paired over the same attacked sentences, it is not less robust (in the quick profile the
    # gain's interval may include zero, and the lesson says so)
    assert m["robust_acc_gain_ci_high"] > 0
    # and it costs training time: FGM adds two passes per batch to the clean one
    assert m["train_time_ratio"] > 1.5
