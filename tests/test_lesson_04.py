"""Lesson 04 (knowledge distillation): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_04_distillation_claims(executed_lessons):
    m = executed_lessons["04_distillation"]
    # The T^2 derivation, checked on the teacher's logits: without T^2 the soft term's gradient
    # falls as 1/T^2 at large T; with it, the gradient tends to the logit-matching limit.
    assert m["grad_fall_plain"] == pytest.approx(m["grad_fall_expected"], rel=0.02)
    assert m["grad_t2_over_limit"] == pytest.approx(1.0, abs=0.02)
    # Teacher and both students learned the task: their accuracy intervals lie far above chance.
    for who in ("teacher", "student", "control"):
        assert m[f"{who}_accuracy_ci_low"] > 0.7, who
    # Copying every other layer damages the student; training repairs it (paired interval > 0).
    assert m["training_gain_ci_low"] > 0
    # What the smaller model buys and costs: most of the teacher's accuracy, at a higher speed.
    assert m["accuracy_ratio"] >= 0.9
    assert m["speedup"] > 1.3
    # The distilled student mostly predicts what the teacher predicts.
    assert m["student_agreement"] > 0.8
