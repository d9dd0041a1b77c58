"""Tests of llmu.calibration: scores, ECE/MCE (against torchmetrics), temperature scaling,
bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from llmu import _checks
from llmu import calibration as cal

# -------------------------------------------------------------------- hand-checked cases

# Two examples: confidence 0.8 (correct) and 0.6 (wrong, the label is class 0).
P2 = np.array([[0.8, 0.2], [0.4, 0.6]])
Y2 = np.array([0, 0])


def test_two_example_case_by_hand():
    assert cal.accuracy(P2, Y2) == 0.5
    assert cal.nll(P2, Y2) == pytest.approx(-(math.log(0.8) + math.log(0.4)) / 2)
    assert cal.brier(P2, Y2) == pytest.approx(((0.2**2 + 0.2**2) + (0.6**2 + 0.6**2)) / 2)  # = 0.4
    # 10 bins: the examples sit alone in [0.8, 0.9) and [0.6, 0.7): ECE = (|1 - .8| + |0 - .6|) / 2
    assert cal.ece(P2, Y2, n_bins=10) == pytest.approx(0.4)
    assert cal.mce(P2, Y2, n_bins=10) == pytest.approx(0.6)
    # 1 bin: |mean accuracy - mean confidence| = |0.5 - 0.7|
    assert cal.ece(P2, Y2, n_bins=1) == pytest.approx(0.2)


def test_top_label_and_argmax_ties():
    conf, correct = cal.top_label([[0.5, 0.5], [0.1, 0.9]], [1, 1])
    np.testing.assert_allclose(conf, [0.5, 0.9])
    np.testing.assert_array_equal(correct, [False, True])  # tie -> lowest index (class 0)


def test_scores_accept_torch_lists_and_perfect_predictions():
    p, y = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    assert cal.nll(p, y) == 0.0 and cal.brier(p, y) == 0.0 and cal.accuracy(p, y) == 1.0
    assert cal.brier([[0.0, 1.0]], [0]) == 2.0  # worst case of the multiclass Brier score
    assert cal.nll([[0.0, 1.0]], [0]) == pytest.approx(-math.log(1e-12))  # clipped, finite


def test_reliability_data_structure():
    rng = np.random.default_rng(0)
    p = cal.softmax(rng.normal(size=(1000, 4)) * 2)
    y = rng.integers(0, 4, 1000)
    d = cal.reliability_diagram(p, y, n_bins=10)
    assert d.n_bins == 10 and len(d.edges) == 11 and d.n_examples == 1000
    assert np.all(np.diff(d.edges) > 0) and d.edges[0] == 0 and d.edges[-1] == 1
    full = d.counts > 0
    assert np.all(
        (d.confidence[full] >= d.edges[:-1][full]) & (d.confidence[full] < d.edges[1:][full])
    )
    assert np.all(np.isnan(d.accuracy[~full]))
    np.testing.assert_allclose(d.centers, (np.arange(10) + 0.5) / 10, atol=1e-7)
    m = cal.reliability_diagram(p, y, n_bins=10, binning="mass")
    assert np.all(m.counts == 100) and m.binning == "mass"  # equal-mass: equal counts without ties
    assert m.ece == pytest.approx(cal.ece(p, y, n_bins=10, binning="mass"))


def test_confidence_one_gets_its_own_bin_like_torchmetrics():
    p = np.array([[1.0, 0.0], [0.97, 0.03], [0.96, 0.04]])
    y = np.array([1, 0, 0])
    d = cal.reliability_diagram(p, y, n_bins=15)
    assert d.n_bins == 16 and d.edges[-2] == d.edges[-1] == 1.0 and d.counts[-1] == 1
    # bins: {1.0} wrong (gap 1), [14/15, 1) two correct at mean conf 0.965 (gap 0.035)
    assert cal.ece(p, y) == pytest.approx((1 + 2 * 0.035) / 3)
    assert cal.mce(p, y) == pytest.approx(1.0)


@pytest.mark.parametrize("binning", ["width", "mass"])
def test_ece_near_zero_for_calibrated_and_detects_overconfidence(binning):
    rng = np.random.default_rng(1)
    n = 20000
    c = rng.uniform(0.5, 1.0, n)
    probs = np.stack([c, 1 - c], axis=1)
    calibrated = (rng.uniform(size=n) < c).astype(int)  # P(label = 0 | c) = c: calibrated
    labels = 1 - calibrated
    assert cal.ece(probs, labels, 10, binning) < 0.02
    over = 1 - (rng.uniform(size=n) < c - 0.1).astype(int)  # accuracy 10 points below confidence
    assert cal.ece(probs, over, 10, binning) == pytest.approx(0.1, abs=0.02)


# -------------------------------------------------------------------- torchmetrics cross-check


def _torchmetrics(p: np.ndarray, y: np.ndarray, n_bins: int, norm: str) -> float:
    return multiclass_calibration_error(
        torch.as_tensor(p), torch.as_tensor(y), num_classes=p.shape[1], n_bins=n_bins, norm=norm
    ).item()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("n", "k", "scale"),
    [(500, 2, 2.0), (1000, 3, 1.0), (2000, 10, 3.0), (3000, 100, 5.0), (7, 4, 1.0)],
)
def test_ece_mce_match_torchmetrics(seed, n, k, scale):
    rng = np.random.default_rng(seed)
    p = cal.softmax(rng.normal(size=(n, k)) * scale)
    y = rng.integers(0, k, n)
    for probs in (p, p.astype(np.float32)):
        assert cal.ece(probs, y, n_bins=15) == pytest.approx(
            _torchmetrics(probs, y, 15, "l1"), abs=1e-6
        )
        assert cal.mce(probs, y, n_bins=15) == pytest.approx(
            _torchmetrics(probs, y, 15, "max"), abs=1e-6
        )


@pytest.mark.parametrize("n_bins", [15, 10, 8, 7])
@pytest.mark.parametrize("seed", [0, 1])
def test_ece_matches_torchmetrics_with_ties_at_bin_edges(n_bins, seed):
    rng = np.random.default_rng(seed)
    edges = torch.linspace(0, 1, n_bins + 1).double().numpy()  # torchmetrics' own (float32) edges
    top = rng.choice(
        edges[edges > 0.5], size=300
    )  # every confidence sits exactly on an edge, 1.0 included
    p = np.stack([top, 1 - top], axis=1)
    y = rng.integers(0, 2, 300)
    assert cal.ece(p, y, n_bins) == pytest.approx(_torchmetrics(p, y, n_bins, "l1"), abs=1e-6)
    assert cal.mce(p, y, n_bins) == pytest.approx(_torchmetrics(p, y, n_bins, "max"), abs=1e-6)
    exact = np.array(
        [0.5 + 1 / 16, 0.75, 0.875, 0.9375, 1.0]
    )  # representable in float32: exact ties
    pe = np.stack([exact, 1 - exact], axis=1)
    ye = rng.integers(0, 2, 5)
    assert cal.ece(pe, ye, 16) == pytest.approx(_torchmetrics(pe, ye, 16, "l1"), abs=1e-6)


# -------------------------------------------------------------------- temperature scaling


def test_softmax_and_apply_temperature():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = cal.softmax(z)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    np.testing.assert_allclose(cal.apply_temperature(z, 1.0), p)
    np.testing.assert_allclose(cal.apply_temperature(z, 2.0), cal.softmax(z / 2))
    assert cal.apply_temperature(z, 1e6)[1].std() < 1e-6  # T -> inf: uniform


@pytest.mark.parametrize("true_t", [0.5, 2.0, 3.0])
def test_fit_temperature_recovers_generating_temperature(true_t):
    rng = np.random.default_rng(int(true_t * 10))
    z = rng.normal(size=(20000, 5)) * 3
    probs = cal.softmax(z / true_t)
    y = (probs.cumsum(axis=1) < rng.uniform(size=(20000, 1))).sum(axis=1)  # y ~ softmax(z / T)
    t = cal.fit_temperature(torch.tensor(z), torch.tensor(y))
    assert t == pytest.approx(true_t, rel=0.05)
    # a true minimum: no temperature on a fine grid around it does better
    grid = np.geomspace(t / 2, t * 2, 61)
    nll_t = cal.nll(cal.apply_temperature(z, t), y)
    nll_grid = np.array([cal.nll(cal.apply_temperature(z, g), y) for g in grid])
    assert nll_t <= nll_grid.min() + 1e-12
    assert grid[np.argmin(nll_grid)] == pytest.approx(t, rel=0.025)


def test_fit_temperature_is_deterministic_and_scale_equivariant():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(300, 3)), rng.integers(0, 3, 300)
    y[:150] = z[:150].argmax(axis=1)  # some signal
    t = cal.fit_temperature(z, y)
    assert t == cal.fit_temperature(z, y)
    assert cal.fit_temperature(4 * z, y) == pytest.approx(4 * t, rel=1e-9)
    assert cal.fit_temperature(z + 7.0, y) == pytest.approx(t, rel=1e-9)  # shift-invariant


def test_fit_temperature_warns_at_the_bound_when_separable():
    z = np.array([[3.0, 0.0], [0.0, 3.0]])
    with pytest.warns(RuntimeWarning, match="still decreasing"):
        assert cal.fit_temperature(z, [0, 1]) == 0.01


# -------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_deterministic_and_sensible():
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=2000) < 0.3).astype(float)
    ci = cal.bootstrap_ci(np.mean, x, n_resamples=500, seed=1)
    assert ci == cal.bootstrap_ci(np.mean, x, n_resamples=500, seed=1)
    assert ci != cal.bootstrap_ci(np.mean, x, n_resamples=500, seed=2)
    assert ci.low < ci.estimate < ci.high and ci.confidence == 0.95
    assert ci.estimate == pytest.approx(x.mean())
    half = 1.96 * math.sqrt(x.mean() * (1 - x.mean()) / len(x))  # normal-approximation half-width
    assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=0.15)
    assert "95% CI" in str(ci)


def test_bootstrap_ci_resamples_rows_jointly_and_takes_any_metric():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 200)
    # a paired metric is 1 on every resample only if rows stay paired
    ci = cal.bootstrap_ci(lambda u, v: float(np.mean(u == v)), a, torch.tensor(a), n_resamples=50)
    assert ci.low == ci.high == ci.estimate == 1.0
    p = cal.softmax(rng.normal(size=(200, 3)))
    y = rng.integers(0, 3, 200)
    ci = cal.bootstrap_ci(cal.ece, p, y, n_resamples=100, confidence=0.9)
    assert (
        ci.low <= ci.high and ci.estimate == pytest.approx(cal.ece(p, y)) and ci.confidence == 0.9
    )


def test_paired_bootstrap_is_the_interval_of_the_difference_on_shared_resamples():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    z = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[y]
    good, bad = cal.softmax(z), cal.softmax(z / 3)  # the same model, softer: a worse NLL
    diff = cal.bootstrap_ci(cal.nll, good, bad, y, paired=True, n_resamples=300, seed=4)
    by_hand = cal.bootstrap_ci(
        lambda a, b, t: cal.nll(a, t) - cal.nll(b, t), good, bad, y, n_resamples=300, seed=4
    )
    assert diff == by_hand
    assert diff.estimate == pytest.approx(cal.nll(good, y) - cal.nll(bad, y))
    assert diff.high < 0  # the sharper model is resolved as better
    # pairing removes the shared example-to-example variation: narrower than one system's
    alone = cal.bootstrap_ci(cal.nll, good, y, n_resamples=300, seed=4)
    assert diff.high - diff.low < alone.high - alone.low
    same = cal.bootstrap_ci(cal.nll, good, good, y, paired=True, n_resamples=50)
    assert same.low == same.high == same.estimate == 0.0
    with pytest.raises(ValueError, match="paired=True needs"):
        cal.bootstrap_ci(cal.nll, good, paired=True)


def test_difference_bootstrap_resamples_two_independent_samples_separately():
    rng = np.random.default_rng(3)
    right_a = (rng.uniform(size=400) < 0.9).astype(float)  # accuracy about 0.9
    right_b = (rng.uniform(size=250) < 0.7).astype(float)  # another data set, about 0.7
    diff = cal.bootstrap_difference_ci(np.mean, (right_a,), (right_b,), n_resamples=400, seed=1)
    assert diff.estimate == pytest.approx(right_a.mean() - right_b.mean())
    assert 0 < diff.low < diff.estimate < diff.high
    # the bootstrap standard error of a difference of independent means, sqrt(var_a + var_b)
    se = np.sqrt(right_a.var() / right_a.size + right_b.var() / right_b.size)
    assert diff.high - diff.low == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert diff == cal.bootstrap_difference_ci(np.mean, (right_a,), (right_b,), n_resamples=400,
                                               seed=1)
    same = cal.bootstrap_difference_ci(np.mean, (np.ones(5),), (np.ones(7),), n_resamples=20)
    assert same.low == same.high == same.estimate == 0.0
    with pytest.raises(ValueError, match="tuple of arrays"):
        cal.bootstrap_difference_ci(np.mean, right_a, (right_b,))
    with pytest.raises(ValueError, match="same number of rows"):
        cal.bootstrap_difference_ci(cal.accuracy, (GOOD_P, GOOD_Y[:2]), (GOOD_P, GOOD_Y))


def test_scorecard_is_a_dict_with_frame_and_flat_views():
    rng = np.random.default_rng(1)
    p = cal.softmax(rng.normal(size=(120, 3)))
    y = rng.integers(0, 3, 120)
    card = cal.scorecard(p, y, n_resamples=60, confidence=0.9, seed=2)
    assert isinstance(card, dict) and list(card) == list(cal.SCORES)
    assert card["accuracy"].estimate == pytest.approx(cal.accuracy(p, y))
    assert card["NLL"] == cal.bootstrap_ci(cal.nll, p, y, n_resamples=60, confidence=0.9, seed=2)
    frame = card.frame()
    assert list(frame.columns) == ["estimate", "90% CI low", "90% CI high"]
    assert list(frame.index) == list(cal.SCORES)
    assert frame.loc["ECE (equal mass)", "90% CI high"] == card["ECE (equal mass)"].high
    flat = card.flat("teacher_")
    assert list(flat) == [
        "teacher_accuracy",
        "teacher_nll",
        "teacher_brier",
        "teacher_ece",
        "teacher_ece_mass",
        "teacher_mce",
    ]
    assert flat["teacher_ece"] is card["ECE (equal width)"]
    assert flat["teacher_ece_mass"] is card["ECE (equal mass)"]
    assert list(cal.Scorecard({"Some Score (x)": card["MCE"]}).flat()) == ["some_score_x"]


def test_temperature_scaler_wraps_fit_and_apply_temperature():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 400)
    z = 3.0 * (rng.normal(size=(400, 4)) + 1.5 * np.eye(4)[y])  # overconfident logits
    scaler = cal.TemperatureScaler()
    np.testing.assert_allclose(scaler.predict_proba(z), cal.softmax(z))  # T = 1 before fitting
    assert scaler.fit(z, y) is scaler
    assert scaler.temperature == cal.fit_temperature(z, y) and scaler.temperature > 1.5
    expected = cal.apply_temperature(z[:5], scaler.temperature)
    np.testing.assert_allclose(scaler.predict_proba(z[:5]), expected)
    assert cal.TemperatureScaler(2.0).temperature == 2.0
    narrow = cal.TemperatureScaler(bounds=(0.5, 1.2))
    with pytest.warns(RuntimeWarning, match="still decreasing"):
        assert narrow.fit(z, y).temperature == 1.2
    with pytest.raises(ValueError, match="temperature"):
        cal.TemperatureScaler(0.0)
    with pytest.raises(ValueError, match="bounds"):
        cal.TemperatureScaler(bounds=(2.0, 1.0))


# -------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: _checks.check_int(0, "n_bins"), "n_bins must be a positive integer; got 0."),
        (lambda: _checks.check_int(True, "k"), "k must be a positive integer; got True."),
        (lambda: _checks.check_seed(-1), "seed must be a non-negative integer; got -1."),
        (
            lambda: _checks.check_int(1, "n_folds", 2, "Use 5."),
            "n_folds must be an integer >= 2; got 1. Use 5.",
        ),
        (lambda: _checks.check_fraction(1.5, "rate"), "rate must be a number in [0, 1]; got 1.5."),
        (
            lambda: _checks.check_number(0.0, "alpha", 0, 1, open_low=True, open_high=True),
            "alpha must be a number in (0, 1); got 0.0.",
        ),
        (
            lambda: _checks.check_positive(float("inf"), "temperature"),
            "temperature must be a number > 0; got inf.",
        ),
        (lambda: _checks.check_number("2", "weight", 0), "weight must be a number >= 0; got '2'."),
        (
            lambda: _checks.check_choice("l1", "norm", ("token", "sequence")),
            "norm must be one of 'token', 'sequence'; got 'l1'.",
        ),
        (
            lambda: _checks.check_bounds((2.0, 1.0)),
            "bounds must be (t_min, t_max) with 0 < t_min < t_max < inf; got (2.0, 1.0).",
        ),
    ],
)
def test_shared_checks_say_what_was_wrong(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_shared_checks_return_canonical_values():
    n = _checks.check_int(np.int64(3), "n")
    assert n == 3 and type(n) is int
    assert _checks.check_positive(torch.tensor(2.0), "t") == 2.0
    assert _checks.check_number(-1, "s", -1, 1) == -1.0  # closed bounds are included
    assert _checks.check_bounds([0.5, 4]) == (0.5, 4.0)
    assert _checks.to_numpy(torch.tensor([1.0]), "x").dtype == np.float64


GOOD_P = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]])
GOOD_Y = np.array([0, 1, 1])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cal.ece(GOOD_P[:, 0], GOOD_Y), "2-D"),
        (lambda: cal.nll(np.array([[np.nan, 1.0], [0.5, 0.5]]), [0, 1]), "NaN"),
        (lambda: cal.brier(np.array([[-0.1, 1.1]]), [0]), "negative"),
        (lambda: cal.accuracy(np.array([[0.7, 0.7]]), [0]), "sum to 1"),
        (lambda: cal.ece(np.array([[2.0, -1.0]]), [0]), "negative"),
        (lambda: cal.nll(np.array([[3.0, 1.0]]), [0]), "above 1"),
        (lambda: cal.ece(GOOD_P, GOOD_Y[:2]), "labels has 2 entries but probs/logits have 3 rows"),
        (lambda: cal.ece(GOOD_P, [0, 1, 2]), r"labels must lie in \[0, 1\]"),
        (lambda: cal.ece(GOOD_P, [0, 1, -1]), r"labels must lie in \[0, 1\]"),
        (lambda: cal.nll(GOOD_P, [0.0, 1.0, 0.5]), "integer"),
        (lambda: cal.nll(GOOD_P, np.eye(2)[[0, 1, 1]]), "1-D"),
        (lambda: cal.ece(np.zeros((0, 2)), []), "empty"),
        (lambda: cal.ece(np.ones((3, 1)), [0, 0, 0]), "at least 2 classes"),
        (lambda: cal.ece(GOOD_P, GOOD_Y, n_bins=0), "n_bins"),
        (lambda: cal.mce(GOOD_P, GOOD_Y, n_bins=2.5), "n_bins"),
        (lambda: cal.ece(GOOD_P, GOOD_Y, binning="quantile"), "binning"),
        (lambda: cal.ece([["a", "b"]], [0]), "numeric"),
        (lambda: cal.softmax([[1.0, np.inf]]), "NaN or inf"),
        (lambda: cal.fit_temperature([[1.0, 2.0]], [2]), r"\[0, 1\]"),
        (lambda: cal.fit_temperature([[1.0, 2.0]], [0], bounds=(2.0, 1.0)), "bounds"),
        (lambda: cal.apply_temperature([[1.0, 2.0]], 0.0), "temperature"),
        (lambda: cal.apply_temperature([[1.0, 2.0]], float("nan")), "temperature"),
        (lambda: cal.bootstrap_ci(np.mean, np.ones(5), confidence=1.5), "confidence"),
        (lambda: cal.bootstrap_ci(np.mean, np.ones(5), n_resamples=0), "n_resamples"),
        (lambda: cal.bootstrap_ci(cal.ece, GOOD_P, GOOD_Y[:2]), "same number of rows"),
        (lambda: cal.bootstrap_ci("ece", GOOD_P), "callable"),
        (lambda: cal.bootstrap_ci(np.mean), "at least one array"),
        (lambda: cal.bootstrap_ci(np.mean, np.ones(1)), "at least 2 examples"),
        (lambda: cal.bootstrap_ci(lambda x: float("nan"), np.ones(5), n_resamples=3), "NaN"),
    ],
)
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_confidence_reliability_matches_torchmetrics_binary_ece():
    """Entity-style calibration: any confidence in [0, 1] against a correct/wrong outcome."""
    from torchmetrics.functional.classification import binary_calibration_error

    rng = np.random.default_rng(3)
    conf = np.concatenate([[0.0, 1.0, 0.5], rng.uniform(0, 1, 500)])
    correct = rng.uniform(0, 1, len(conf)) < conf**2  # overconfident on purpose
    ours = cal.confidence_reliability(conf, correct).ece
    reference = float(
        binary_calibration_error(
            torch.tensor(conf, dtype=torch.float32),
            torch.tensor(correct.astype(int)),
            n_bins=15,
            norm="l1",
        )
    )
    assert ours == pytest.approx(reference, abs=1e-6)
    # the top-label path is the same code: probabilities (1 - c, c) with c >= 0.5 and label 1
    c = rng.uniform(0.5, 1, 200)
    y = (rng.uniform(0, 1, 200) < c).astype(int)
    top = cal.reliability_diagram(np.stack([1 - c, c], axis=1), y)
    assert top.ece == pytest.approx(cal.confidence_reliability(c, y == 1).ece)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cal.confidence_reliability([0.2, 1.3], [True, False])


def test_ece_floor_is_the_ece_of_a_calibrated_model_and_shrinks_with_more_examples():
    conf = np.random.default_rng(0).uniform(0.5, 1.0, size=400)
    floor = cal.ece_floor(conf, n_draws=300, seed=1)
    rng = np.random.default_rng(1)
    by_hand = np.mean(
        [cal.confidence_reliability(conf, rng.random(400) < conf).ece for _ in range(300)]
    )
    assert floor == pytest.approx(by_hand)
    assert 0 < floor < 0.1
    assert cal.ece_floor(np.tile(conf, 25), n_draws=50) < floor / 2  # bias ~ 1/sqrt(n)
    assert cal.ece_floor([0.0, 1.0, 1.0]) == 0.0  # certain outcomes: no sampling noise
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cal.ece_floor([0.5, 1.2])
    with pytest.raises(ValueError, match="n_draws"):
        cal.ece_floor([0.5, 0.7], n_draws=0)


def test_confidence_gap_is_mean_confidence_minus_accuracy_and_signed():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])  # 3 of 4 right; mean confidence (0.9+0.8+0.7+0.6)/4 = 0.75
    assert cal.confidence_gap(probs, labels) == pytest.approx(0.0)
    assert cal.confidence_gap(probs, [0, 1, 0, 1]) == pytest.approx(0.75 - 0.25)  # over-confident
    flat = np.full((4, 2), 0.5)
    assert cal.confidence_gap(flat, [0, 0, 0, 0]) == pytest.approx(0.5 - 1.0)  # under-confident
    with pytest.raises(ValueError, match="labels"):
        cal.confidence_gap(probs, [0, 1, 2, 0])


def test_paired_proportions_counts_discordant_pairs_and_runs_mcnemar():
    from scipy.stats import binomtest

    a = np.array([1] * 50 + [1] * 12 + [0] * 3 + [0] * 35, dtype=bool)  # 12 only a, 3 only b
    b = np.array([1] * 50 + [0] * 12 + [1] * 3 + [0] * 35, dtype=bool)
    result = cal.paired_proportions(a, b, n_resamples=500, seed=1)
    assert (result.n, result.only_a, result.only_b) == (100, 12, 3)
    assert result.difference.estimate == pytest.approx(0.09)  # (12 - 3) / 100
    assert result.difference == cal.bootstrap_ci(np.mean, a, b, n_resamples=500, seed=1,
                                                 paired=True)
    assert result.p_value == pytest.approx(binomtest(12, 15, 0.5).pvalue)
    assert result.p_value < 0.05 < cal.paired_proportions(a, a).p_value
    swapped = cal.paired_proportions(b, a, n_resamples=500, seed=1)
    assert swapped.p_value == pytest.approx(result.p_value)  # two-sided
    assert swapped.difference.estimate == pytest.approx(-0.09)
    assert cal.paired_proportions([1, 0, 1], [1, 0, 1]).p_value == 1.0  # no discordant pair
    with pytest.raises(ValueError, match="0/1"):
        cal.paired_proportions([1, 2, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="b has 2 entries"):
        cal.paired_proportions([1, 0, 1], [1, 0])


def test_interval_side_says_where_the_interval_lies_relative_to_a_value():
    ci = cal.Interval(estimate=-0.02, low=-0.03, high=-0.01, confidence=0.95)
    assert ci.side(0) == "below"
    assert ci.side(-0.05) == "above"
    assert ci.side(-0.02) == ci.side(-0.03) == "across"  # an end point counts as inside
    with pytest.raises(ValueError, match="value"):
        ci.side(float("nan"))
