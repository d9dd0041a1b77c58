"""Lesson 08 (NER case study): its claims, asserted on the metrics of its quick run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lesson


def test_lesson_08_ner_claims(executed_lessons):
    m = executed_lessons["08_ner_case_study"]
    assert m["f1_test"] >= 0.70  # quick profile: uncased MiniLM on 3,000 sentences
    assert m["f1_test_ci_low"] <= m["f1_test"] <= m["f1_test_ci_high"]
    assert m["f1_val"] >= 0.70
    assert m["token_accuracy_test"] > m["f1_test"]  # the per-word number flatters
    assert set(m["f1_per_type"]) == {"PER", "ORG", "LOC", "MISC"}
    assert min(m["precision_test"], m["recall_test"]) <= m["f1_test"] <= max(m["precision_test"], m["recall_test"])
    # the entity temperature, judged on validation articles it never saw (cross-fitted by document):
    # it lowers the log loss it minimises, and does not make the entity ECE worse beyond noise
    assert m["temperature"] > 0 and m["entity_temperature"] > 0 and m["n_val_folds"] == 5
    assert m["entity_nll_after"] <= m["entity_nll_before"]
    assert m["entity_ece_after"] <= m["entity_ece_before"] + 0.01
    assert m["entity_ece_change_ci_low"] <= m["entity_ece_after"] - m["entity_ece_before"] <= m["entity_ece_change_ci_high"]
    # the measured miscalibration is more than the bias of binned ECE on this many entities
    assert 0 < m["entity_ece_floor"] < m["entity_ece_before"]
    # abstention: the most confident entities are more often right
    assert m["precision_at_80_coverage"] >= m["precision_full_coverage"]
    assert m["precision_full_coverage"] == pytest.approx(m["precision_test"])
    # domain shift to WNUT-17: F1 falls
    assert m["f1_wnut"] < m["f1_test"]
    assert 0 <= m["entity_ece_wnut"] <= 1
    assert m["n_test"] == 3453 and m["n_wnut"] == 1287
