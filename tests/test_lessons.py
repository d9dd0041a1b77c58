"""Every lesson's claims, asserted on the metrics of its quick run (directions and bounds, never values)."""

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


def test_lesson_02_calibration_claims(executed_lessons):
    m = executed_lessons["02_calibration"]
    assert m["accuracy"] >= 0.80
    assert m["accuracy_ci_low"] <= m["accuracy"] <= m["accuracy_ci_high"]
    assert m["nll_after"] <= m["nll_before"]
    assert m["ece_after"] < m["ece_before"]
    for when in ("before", "after"):
        assert m[f"ece_{when}_ci_low"] <= m[f"ece_{when}"] <= m[f"ece_{when}_ci_high"]
    assert m["temperature"] > 0
    assert m["conformal_coverage"] >= 1 - m["conformal_alpha"] - 0.03
    assert 1 <= m["conformal_mean_set_size"] <= 2
    assert m["selective_accuracy_at_50"] >= m["accuracy"]
    assert 0 <= m["aurc"] <= 1 - m["accuracy"]
    assert m["n_calibration"] + m["n_evaluation"] == 872


def test_lesson_02_is_reproducible(executed_lessons, tmp_path):
    """A second quick run with the same seed gives the same numbers (runtime aside)."""
    first = executed_lessons["02_calibration"]
    second = lesson.execute("02_calibration", profile="quick", seed=0,
                            executed_dir=tmp_path / "executed", artifacts_dir=tmp_path / "artifacts")
    ignore = {"runtime_s"}
    assert {k: v for k, v in second.items() if k not in ignore} == {k: v for k, v in first.items() if k not in ignore}
