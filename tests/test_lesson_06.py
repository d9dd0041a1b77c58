"""Lesson 06 (adversarial training): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_06_adversarial_training_claims(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    # the attacks were run, and they work on the standard model
    assert m["attack_success_standard"] > 0
    assert m["robust_acc_standard"] < m["clean_acc_standard"]
    # adversarial training buys robustness, costs training time, and still learned the task
    assert m["robust_acc_adversarial"] >= m["robust_acc_standard"]
    assert m["train_time_ratio"] > 1
    assert m["clean_acc_adversarial"] > 0.6


def test_lesson_06_metrics_are_consistent(executed_lessons):
    m = executed_lessons["06_adversarial_training"]
    assert m["n_attacked_sentences"] >= 150
    for model in ("standard", "adversarial"):
        robust, clean = m[f"robust_acc_{model}"], m[f"clean_acc_{model}"]
        assert 0 <= robust <= clean <= 1
        assert 0 <= m[f"attack_success_{model}"] <= 1
        assert 0 <= m[f"ece_clean_{model}"] <= 1
        per_attack = m[f"per_attack_{model}"]
        assert set(per_attack) == {"word", "char"}
        for attack in per_attack.values():  # the headline robust accuracy is the worst case over both attacks
            assert robust <= attack["robust_acc"] <= clean
            assert 0 <= attack["ece_attacked"] <= 1 and 0 <= attack["attack_success"] <= 1
