"""Lesson 04 (knowledge distillation): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_04_distillation_claims(executed_lessons):
    m = executed_lessons["04_distillation"]
    for who in ("teacher", "student", "control"):
        assert 0 <= m[f"{who}_accuracy_ci_low"] <= m[f"{who}_accuracy"] <= m[f"{who}_accuracy_ci_high"] <= 1
        assert 0 <= m[f"{who}_ece"] <= 1
        assert m[f"{who}_nll"] > 0
    assert m["student_layers"] < m["teacher_layers"]
    assert m["student_params"] < m["teacher_params"]
    assert m["speedup"] > 1.3
    assert m["student_accuracy"] >= 0.9 * m["teacher_accuracy"]
    assert m["student_accuracy"] > m["student_init_accuracy"]  # training repaired the copied layers
    assert m["temperature"] > 0
    assert 0 < m["alpha"] < 1
    assert 0 <= m["student_agreement"] <= 1 and 0 <= m["control_agreement"] <= 1
