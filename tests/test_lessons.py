"""What every lesson owes: its quick run in budget, its record, and lesson 00's set-up checks.

Each later lesson's claims are asserted in its own ``tests/test_lesson_NN.py``, on the
metrics of the same run (directions and bounds, never values).
"""

from __future__ import annotations

import pytest

from llmu import lesson

pytestmark = pytest.mark.lesson
#: The quick budget in reference steps (see ``llmu.lesson.reference_step_seconds``): the hard
#: limit of 180 s divided by the reference step measured on an idle 2-core machine (0.28 s).
#: A lesson's ``runtime_reference_steps`` does not change with the machine's speed or load the
#: way its wall-clock ``runtime_s`` does. The target, 120 s idle, is about 430 steps.
QUICK_BUDGET_REFERENCE_STEPS = 640


def test_every_lesson_ran_in_budget_and_recorded_its_run(executed_lessons):
    assert set(executed_lessons) == set(lesson.lesson_names())
    for name, metrics in executed_lessons.items():
        assert metrics["lesson"] == name and metrics["profile"] == "quick" and metrics["seed"] == 0
        assert metrics["device"].startswith("cpu")
        steps = metrics["runtime_reference_steps"]
        assert 0 < steps <= QUICK_BUDGET_REFERENCE_STEPS, (
            f"{name} took {steps} reference steps ({metrics['runtime_s']} s at "
            f"{metrics['reference_step_s']} s a step); the budget is {QUICK_BUDGET_REFERENCE_STEPS}"
        )
        assert set(metrics["versions"]) >= {"torch", "transformers", "llmu"}


def test_lesson_00_setup(executed_lessons):
    metrics = executed_lessons["00_setup"]
    assert metrics["doctor_exit_code"] == 0, "llmu doctor found a problem on the test machine"
    assert 20e6 < metrics["backbone_parameters"] < 25e6  # MiniLM-L6-H384 with a 2-class head
    import os  # the quick profile pins torch's threads: LLMU_NUM_THREADS, else 2 (lesson 00)

    threads = int(os.environ.get("LLMU_NUM_THREADS") or 2)
    assert metrics["device"] == f"cpu ({threads} threads)", "lesson.start did not pin the threads"
