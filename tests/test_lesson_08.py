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
    # an entity temperature fitted on validation entities does not make test entity calibration worse (beyond noise)
    assert m["temperature"] > 0 and m["entity_temperature"] > 0
    assert m["entity_ece_after"] <= m["entity_ece_before"] + 0.01
    # abstention: the most confident entities are more often right
    assert m["precision_at_80_coverage"] >= m["precision_full_coverage"]
    assert m["precision_full_coverage"] == pytest.approx(m["precision_test"])
    # domain shift to WNUT-17: F1 falls
    assert m["f1_wnut"] < m["f1_test"]
    assert 0 <= m["entity_ece_wnut"] <= 1
    assert m["n_test"] == 3453 and m["n_wnut"] == 1287
