"""What every lesson owes: its quick run in budget, its record, and lesson 00's set-up checks.

Each later lesson's claims are asserted in its own ``tests/test_lesson_NN.py``, on the
metrics of the same run (directions and bounds, never values).
"""

from __future__ import annotations

import pytest

from llmu import lesson

pytestmark = pytest.mark.lesson
QUICK_BUDGET_S = 180


def test_every_lesson_ran_in_budget_and_recorded_its_run(executed_lessons):
    assert set(executed_lessons) == set(lesson.lesson_names())
    for name, metrics in executed_lessons.items():
        assert metrics["lesson"] == name and metrics["profile"] == "quick" and metrics["seed"] == 0
        assert metrics["device"].startswith("cpu")
        assert 0 < metrics["runtime_s"] <= QUICK_BUDGET_S, f"{name} took {metrics['runtime_s']} s"
        assert set(metrics["versions"]) >= {"torch", "transformers", "llmu"}


def test_lesson_00_setup(executed_lessons):
    metrics = executed_lessons["00_setup"]
    assert metrics["doctor_exit_code"] == 0, "llmu doctor found a problem on the test machine"
    assert 20e6 < metrics["backbone_parameters"] < 25e6  # MiniLM-L6-H384 with a 2-class head
    assert metrics["inference_sentences_per_s"] > 0
