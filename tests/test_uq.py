"""Tests of llmu.uq: split conformal prediction (LAC, APS) and selective prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from llmu import calibration as cal
from llmu import uq

# -------------------------------------------------------------------- conformal: by hand


def test_scores_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]])
    np.testing.assert_allclose(uq.conformal_scores(p, [1, 2], "lac"), [0.8, 0.8])
    # APS: mass of the classes ranked at or above the label, the label's own mass included
    np.testing.assert_allclose(uq.conformal_scores(p, [1, 2], "aps"), [0.9, 1.0])
    np.testing.assert_allclose(uq.conformal_scores(p, [0, 0], "aps"), [0.7, 0.4])
    np.testing.assert_allclose(uq.conformal_scores(p, [0, 1], "aps"), [0.7, 0.8])  # tie: class 0 first


def test_quantile_finite_sample_correction():
    s = np.arange(1, 20, dtype=float)[::-1]  # n = 19 scores 1..19
    assert uq.conformal_quantile(s, 0.1) == 18  # ceil(20 * 0.9) = 18th smallest
    assert uq.conformal_quantile(np.arange(1, 10), 0.1) == 9  # n = 9: level 9/9 = 1, the maximum
    assert uq.conformal_quantile(np.arange(100.0), 0.1) == 90  # ceil(101 * .9) = 91st smallest
    assert (
        uq.conformal_quantile(np.arange(99.0), 0.1) == 89
    )  # (n+1)(1-alpha) = 90 exactly, no float slip to 91
    with pytest.raises(ValueError, match="too few"):
        uq.conformal_quantile(np.arange(8.0), 0.1)  # ceil(9 * 0.9) = 9 > 8


def test_prediction_sets_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    np.testing.assert_array_equal(
        uq.prediction_sets(p, 0.7, "lac"), [[True, False, False], [True, True, False]]
    )
    np.testing.assert_array_equal(
        uq.prediction_sets(p, 0.8, "lac"), [[True, True, False], [True, True, True]]
    )
    np.testing.assert_array_equal(
        uq.prediction_sets(p, 0.76, "aps"), [[True, False, False], [True, True, False]]
    )
    np.testing.assert_array_equal(
        uq.prediction_sets(p, 0.3, "aps"), [[False, False, False], [False, False, False]]
    )
    sets = np.array([[True, False, False], [True, True, False]])
    assert uq.coverage(sets, [0, 2]) == 0.5 and uq.mean_set_size(sets) == 1.5


@pytest.mark.parametrize("method", ["lac", "aps"])
def test_label_in_set_iff_score_below_threshold(method):
    rng = np.random.default_rng(0)
    p = cal.softmax(rng.normal(size=(500, 6)) * 2)
    y = rng.integers(0, 6, 500)
    scores = uq.conformal_scores(p, y, method)
    for q in np.quantile(scores, [0.1, 0.5, 0.9]):
        sets = uq.prediction_sets(p, q, method)
        np.testing.assert_array_equal(sets[np.arange(500), y], scores <= q)


# -------------------------------------------------------------------- conformal: the guarantee


def _synthetic(rng: np.random.Generator, n: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Exchangeable data from a miscalibrated model: labels drawn from softmax(2 z), model says softmax(z)."""
    z = rng.normal(size=(n, k))
    y = (cal.softmax(2 * z).cumsum(axis=1) < rng.uniform(size=(n, 1))).sum(axis=1)
    return cal.softmax(z), np.minimum(y, k - 1)


@pytest.mark.parametrize("method", ["lac", "aps"])
def test_split_conformal_coverage_guarantee(method):
    rng = np.random.default_rng(42)
    alpha, n_cal, n_test, reps = 0.1, 100, 500, 400
    covs, sizes = [], []
    for _ in range(reps):
        p, y = _synthetic(rng, n_cal + n_test)
        res = uq.split_conformal(p[:n_cal], y[:n_cal], p[n_cal:], alpha, method)
        covs.append(res.coverage(y[n_cal:]))
        sizes.append(res.mean_set_size)
    mean, se = float(np.mean(covs)), float(np.std(covs) / math.sqrt(reps))
    # theory (continuous scores): E[coverage] = ceil((n+1)(1-alpha)) / (n+1), in [1-alpha, 1-alpha+1/(n+1)]
    k = math.ceil((n_cal + 1) * (1 - alpha))
    assert mean == pytest.approx(k / (n_cal + 1), abs=4 * se)
    assert 1 - alpha - 4 * se <= mean <= 1 - alpha + 1 / (n_cal + 1) + 4 * se
    assert 1 < np.mean(sizes) < 5  # informative sets


def test_conformal_result_fields_and_torch_inputs():
    rng = np.random.default_rng(1)
    p, y = _synthetic(rng, 300)
    res = uq.split_conformal(torch.tensor(p[:200]), torch.tensor(y[:200]), p[200:], alpha=0.2, method="aps")
    assert res.sets.shape == (100, 5) and res.sets.dtype == bool
    assert res.alpha == 0.2 and res.method == "aps" and res.n_calibration == 200
    assert res.qhat == uq.conformal_quantile(uq.conformal_scores(p[:200], y[:200], "aps"), 0.2)
    assert res.mean_set_size == uq.mean_set_size(res.sets) and 0 <= res.empty_fraction <= 1
    assert res.coverage(y[200:]) == uq.coverage(res.sets, y[200:])


# -------------------------------------------------------------------- selective prediction


def test_risk_coverage_by_hand():
    rc = uq.risk_coverage_curve(
        [0.6, 0.9, 0.7, 0.8], [1, 1, 1, 0]
    )  # sorted: 0.9 ok, 0.8 wrong, 0.7 ok, 0.6 ok
    np.testing.assert_allclose(rc.coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(rc.risk, [0, 1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(rc.threshold, [0.9, 0.8, 0.7, 0.6])
    assert uq.aurc([0.6, 0.9, 0.7, 0.8], [1, 1, 1, 0]) == pytest.approx((0 + 1 / 2 + 1 / 3 + 1 / 4) / 4)


def test_aurc_of_a_perfect_ranking():
    n, m = 10, 3  # 3 errors, all less confident than the 7 correct predictions
    conf = np.linspace(1, 0.1, n)
    correct = np.arange(n) < n - m
    expected = sum(1 - (n - m) / k for k in range(n - m + 1, n + 1)) / n
    assert uq.aurc(conf, correct) == pytest.approx(expected)  # = 0.0647..., not 0
    assert uq.aurc(conf, np.ones(n, bool)) == 0.0
    assert uq.aurc(conf, ~correct) > uq.aurc(-conf, ~correct)  # reversed ranking is worse


def test_ties_are_broken_by_input_order():
    np.testing.assert_allclose(uq.risk_coverage_curve([0.5, 0.5], [0, 1]).risk, [1.0, 0.5])
    np.testing.assert_allclose(uq.risk_coverage_curve([0.5, 0.5], [1, 0]).risk, [0.0, 0.5])


def test_selective_accuracy():
    conf, correct = [0.9, 0.8, 0.7, 0.6], [True, False, True, True]
    assert uq.selective_accuracy(conf, correct, 0.25) == 1.0  # ceil(1.0) = 1 example
    assert uq.selective_accuracy(conf, correct, 0.3) == 0.5  # ceil(1.2) = 2 examples
    assert uq.selective_accuracy(conf, correct, 0.5) == 0.5
    assert uq.selective_accuracy(torch.tensor(conf), torch.tensor(correct), 1.0) == 0.75


# -------------------------------------------------------------------- bad inputs

P = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
Y = np.array([0, 1, 1])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: uq.conformal_scores(P, Y, method="raps"), "method"),
        (lambda: uq.conformal_scores(P, Y[:2]), "labels has 2 entries"),
        (lambda: uq.conformal_scores(P, [0, 1, 2]), r"\[0, 1\]"),
        (lambda: uq.conformal_scores(P * 2, Y), "above 1"),
        (lambda: uq.conformal_quantile([0.1, 0.2], 0.0), "alpha"),
        (lambda: uq.conformal_quantile([0.1, 0.2], 1.2), "alpha"),
        (lambda: uq.conformal_quantile([0.1, 0.2], 0.1), "too few"),
        (lambda: uq.conformal_quantile([], 0.1), "empty"),
        (lambda: uq.conformal_quantile([0.1, np.nan], 0.5), "NaN"),
        (lambda: uq.prediction_sets(P, float("nan")), "qhat"),
        (lambda: uq.prediction_sets(P, [0.1, 0.2]), "qhat"),
        (lambda: uq.split_conformal(P, Y, np.ones((2, 3)) / 3, alpha=0.5), "3 classes"),
        (lambda: uq.coverage(np.ones(3, bool), Y), "sets"),
        (lambda: uq.mean_set_size(np.full((2, 2), 2)), "boolean"),
        (lambda: uq.risk_coverage_curve([0.9, 0.8], [1, 2]), "0/1"),
        (lambda: uq.risk_coverage_curve([0.9, 0.8], [1, 0, 1]), "entries"),
        (lambda: uq.aurc(np.ones((2, 2)), [1, 0]), "1-D"),
        (lambda: uq.aurc([0.9, np.inf], [1, 0]), "NaN or inf"),
        (lambda: uq.selective_accuracy([0.9, 0.8], [1, 0], 0.0), "coverage"),
        (lambda: uq.selective_accuracy([0.9, 0.8], [1, 0], 1.5), "coverage"),
    ],
)
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dropout_active_samples_and_restores_modes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2)).eval()
    x = torch.ones(4, 8)
    with torch.inference_mode():
        deterministic = model(x)
        with uq.dropout_active(model):
            assert all(m.training for m in model.modules())
            first, second = model(x), model(x)
        assert not torch.equal(first, second)
        assert torch.equal(model(x), deterministic)
    assert not any(m.training for m in model.modules())


def test_dropout_active_restores_mixed_modes_after_an_error():
    model = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Dropout(0.1))
    model[0].eval()
    with pytest.raises(RuntimeError, match="boom"):
        with uq.dropout_active(model):
            raise RuntimeError("boom")
    assert [model.training, model[0].training, model[1].training] == [True, False, True]
    with pytest.raises(TypeError, match="torch.nn.Module"):
        with uq.dropout_active("not a model"):
            pass
