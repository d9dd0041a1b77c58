"""Lesson 08 (NER case study): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_08_entity_scores(executed_lessons):
    m = executed_lessons["08_ner_case_study"]
    assert m["f1_test_ci_low"] >= 0.70  # quick profile: uncased MiniLM on 2,400 sentences
    assert m["f1_val"] >= 0.70
    assert m["token_accuracy_test"] > m["f1_test_ci_high"]  # the per-word number flatters
    # the entity outcomes behind calibration and abstention agree with seqeval's precision
    assert m["precision_full_coverage"] == pytest.approx(m["precision_test"])


def test_lesson_08_entity_temperature_on_unseen_articles(executed_lessons):
    m = executed_lessons["08_ner_case_study"]
    # cross-fitted by document: it lowers the log loss it minimises, and the paired interval of
    # the entity ECE's change does not lie above zero (scaling does not make it worse beyond noise)
    assert m["entity_nll_after"] <= m["entity_nll_before"]
    assert m["entity_ece_change_ci_low"] <= 0
    # the measured miscalibration is more than the bias of binned ECE on this many entities
    assert 0 < m["entity_ece_floor"] < m["entity_ece_before"]


def test_lesson_08_uncertainty_abstention_and_shift(executed_lessons):
    m = executed_lessons["08_ner_case_study"]
    # MC dropout: the passes disagree more about the entities the model gets wrong
    assert m["entity_mi_gap_ci_low"] > 0
    # abstention: the most confident entities are more often right
    assert m["precision_at_80_coverage"] > m["precision_full_coverage"]
    # domain shift to WNUT-17: F1 falls, and the in-domain temperature does not carry over
    assert m["f1_wnut"] < m["f1_test_ci_low"]
    assert m["entity_ece_wnut"] > m["entity_ece_test_after_ci_high"]
