"""Lesson 01 (sources of uncertainty): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson

PROBABILITY_LIKE = (
    "seed_disagreement_rate",
    "acc_clean",
    "acc_label_noise",
    "label_noise_rate",
    "acc_in_domain",
    "acc_shifted",
    "ece_in_domain",
    "ece_shifted",
    "oos_mean_max_prob",
    "in_scope_mean_max_prob",
)


def test_lesson_01_values_are_fractions(executed_lessons):
    m = executed_lessons["01_sources_of_uncertainty"]
    for key in PROBABILITY_LIKE:
        assert 0 <= m[key] <= 1, key


def test_lesson_01_seeds_disagree(executed_lessons):
    m = executed_lessons["01_sources_of_uncertainty"]
    assert m["n_seeds"] >= 2
    assert m["seed_disagreement_rate"] > 0
    assert m["seed_disagreement_ci_low"] <= m["seed_disagreement_rate"] <= m["seed_disagreement_ci_high"]


def test_lesson_01_label_noise_costs_accuracy(executed_lessons):
    m = executed_lessons["01_sources_of_uncertainty"]
    assert m["label_noise_rate"] > 0
    assert m["acc_label_noise"] < m["acc_clean"]
    assert m["noise_rates"][0] == 0 and m["noise_rates"][-1] == m["label_noise_rate"]


def test_lesson_01_shift_costs_accuracy(executed_lessons):
    m = executed_lessons["01_sources_of_uncertainty"]
    assert m["acc_shifted"] < m["acc_in_domain"]


def test_lesson_01_out_of_scope_gets_confident_answers(executed_lessons):
    m = executed_lessons["01_sources_of_uncertainty"]
    assert m["n_classes"] >= 2
    assert m["oos_mean_max_prob"] < m["in_scope_mean_max_prob"]
    assert m["oos_mean_max_prob"] > 1 / m["n_classes"]
