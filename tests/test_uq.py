"""Tests of llmu.uq: MC dropout, ensembles, the entropy decomposition, OOS detection metrics,
split conformal prediction and selective prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from llmu import calibration as cal
from llmu import predict, uq

# -------------------------------------------------------------------- conformal: by hand


def test_scores_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]])
    np.testing.assert_allclose(uq.conformal_scores(p, [1, 2], "lac"), [0.8, 0.8])
    # APS: mass of the classes ranked at or above the label, the label's own mass included
    np.testing.assert_allclose(uq.conformal_scores(p, [1, 2], "aps"), [0.9, 1.0])
    np.testing.assert_allclose(uq.conformal_scores(p, [0, 0], "aps"), [0.7, 0.4])
    np.testing.assert_allclose(
        uq.conformal_scores(p, [0, 1], "aps"), [0.7, 0.8]
    )  # tie: class 0 first


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
    """Exchangeable data from a miscalibrated model: labels drawn from softmax(2 z), model says
    softmax(z)."""
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
    # theory (continuous scores): E[coverage] = ceil((n+1)(1-alpha)) / (n+1),
    # in [1-alpha, 1-alpha+1/(n+1)]
    k = math.ceil((n_cal + 1) * (1 - alpha))
    assert mean == pytest.approx(k / (n_cal + 1), abs=4 * se)
    assert 1 - alpha - 4 * se <= mean <= 1 - alpha + 1 / (n_cal + 1) + 4 * se
    assert 1 < np.mean(sizes) < 5  # informative sets


def test_conformal_result_fields_and_torch_inputs():
    rng = np.random.default_rng(1)
    p, y = _synthetic(rng, 300)
    res = uq.split_conformal(
        torch.tensor(p[:200]), torch.tensor(y[:200]), p[200:], alpha=0.2, method="aps"
    )
    assert res.sets.shape == (100, 5) and res.sets.dtype == bool
    assert res.alpha == 0.2 and res.method == "aps" and res.n_calibration == 200
    assert res.qhat == uq.conformal_quantile(uq.conformal_scores(p[:200], y[:200], "aps"), 0.2)
    assert res.mean_set_size == uq.mean_set_size(res.sets) and 0 <= res.empty_fraction <= 1
    assert res.coverage(y[200:]) == uq.coverage(res.sets, y[200:])


def test_predict_sets_applies_the_fitted_threshold_to_new_probabilities():
    rng = np.random.default_rng(2)
    p, y = _synthetic(rng, 400)
    for method in ("lac", "aps"):
        res = uq.split_conformal(p[:200], y[:200], p[200:300], alpha=0.1, method=method)
        np.testing.assert_array_equal(res.predict_sets(p[200:300]), res.sets)
        new = res.predict_sets(torch.tensor(p[300:]))
        np.testing.assert_array_equal(new, uq.prediction_sets(p[300:], res.qhat, method))
    lac = uq.split_conformal(p[:200], y[:200], p[200:300], alpha=0.1, method="lac")
    aps = uq.split_conformal(p[:200], y[:200], p[200:300], alpha=0.1, method="aps")
    assert not np.array_equal(lac.predict_sets(p[300:]), aps.predict_sets(p[300:]))
    with pytest.raises(ValueError, match="3 classes but the calibration had 5"):
        lac.predict_sets(np.full((2, 3), 1 / 3))


# -------------------------------------------------------------------- selective prediction


def test_risk_coverage_by_hand():
    rc = uq.risk_coverage_curve(
        [0.6, 0.9, 0.7, 0.8], [1, 1, 1, 0]
    )  # sorted: 0.9 ok, 0.8 wrong, 0.7 ok, 0.6 ok
    np.testing.assert_allclose(rc.coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(rc.risk, [0, 1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(rc.threshold, [0.9, 0.8, 0.7, 0.6])
    assert uq.aurc([0.6, 0.9, 0.7, 0.8], [1, 1, 1, 0]) == pytest.approx(
        (0 + 1 / 2 + 1 / 3 + 1 / 4) / 4
    )


def test_aurc_of_a_perfect_ranking():
    n, m = 10, 3  # 3 errors, all less confident than the 7 correct predictions
    conf = np.linspace(1, 0.1, n)
    correct = np.arange(n) < n - m
    expected = sum(1 - (n - m) / k for k in range(n - m + 1, n + 1)) / n
    assert uq.aurc(conf, correct) == pytest.approx(expected)  # = 0.0647..., not 0
    assert uq.aurc(conf, np.ones(n, bool)) == 0.0
    assert uq.aurc(conf, ~correct) > uq.aurc(-conf, ~correct)  # reversed ranking is worse


def test_tied_confidences_are_averaged_whatever_their_order():
    for correct in ([0, 1], [1, 0]):
        np.testing.assert_allclose(uq.risk_coverage_curve([0.5, 0.5], correct).risk, [0.5, 0.5])
    # untied examples keep their exact risks around a tie
    curve = uq.risk_coverage_curve([0.9, 0.5, 0.5, 0.1], [1, 0, 1, 0])
    np.testing.assert_allclose(curve.risk, [0.0, 0.25, 1 / 3, 0.5])


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
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2)
    ).eval()
    x = torch.ones(4, 8)
    with torch.inference_mode():
        deterministic = model(x)
        with predict.dropout_active(model):
            assert all(m.training for m in model.modules())
            first, second = model(x), model(x)
        assert not torch.equal(first, second)
        assert torch.equal(model(x), deterministic)
    assert not any(m.training for m in model.modules())


def test_dropout_active_restores_mixed_modes_after_an_error():
    model = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Dropout(0.1))
    model[0].eval()
    with pytest.raises(RuntimeError, match="boom"):
        with predict.dropout_active(model):
            raise RuntimeError("boom")
    assert [model.training, model[0].training, model[1].training] == [True, False, True]
    with pytest.raises(TypeError, match="torch.nn.Module"):
        with predict.dropout_active("not a model"):
            pass


# -------------------------------------------------------------------- MC dropout and ensembles


@pytest.fixture(scope="module")
def tokenizer():
    from llmu.models import load_tokenizer

    return load_tokenizer("minilm")


@pytest.fixture(scope="module")
def queries():
    from datasets import Dataset

    rng = np.random.default_rng(0)
    words = "play some music book a table what is the weather set an alarm for six".split()
    return Dataset.from_dict(
        {"text": [" ".join(rng.choice(words, size=rng.integers(1, 9))) for _ in range(23)]}
    )


def tiny_classifier(
    tokenizer,
    hidden_dropout: float = 0.1,
    attention_dropout: float = 0.1,
    seed: int = 0,
    labels=("a", "b", "c"),
):
    from transformers import BertConfig, BertForSequenceClassification

    from llmu.predict import Classifier
    from llmu.train import TrainResult

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(labels),
        hidden_dropout_prob=hidden_dropout,
        attention_probs_dropout_prob=attention_dropout,
    )
    model = BertForSequenceClassification(config).eval()
    return Classifier(
        model,
        tokenizer,
        list(labels),
        max_length=16,
        eval_batch_size=8,
        result=TrainResult(steps=0, losses=[], seconds=0.0, examples=0),
    )


def test_mc_dropout_shape_reproducibility_and_modes(tokenizer, queries):
    clf = tiny_classifier(tokenizer)
    state = torch.get_rng_state()
    probs = predict.mc_dropout_probs(clf, queries, n_samples=5, seed=3)
    assert probs.shape == (5, len(queries), 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1, atol=1e-9)
    assert not np.allclose(probs[0], probs[1])  # the passes differ
    again = predict.mc_dropout_probs(clf, queries, n_samples=5, seed=3)
    np.testing.assert_array_equal(probs, again)
    assert not np.allclose(probs, predict.mc_dropout_probs(clf, queries, n_samples=5, seed=4))
    assert torch.equal(torch.get_rng_state(), state)  # the global random state is untouched
    assert not any(m.training for m in clf.model.modules())  # eval mode restored


def test_mc_dropout_switches_attention_dropout(tokenizer, queries):
    only_attention = tiny_classifier(tokenizer, hidden_dropout=0.0, attention_dropout=0.5)
    probs = predict.mc_dropout_probs(only_attention, queries, n_samples=3)
    assert not np.allclose(probs[0], probs[1])


def test_mc_dropout_without_dropout_equals_the_deterministic_prediction(tokenizer, queries):
    """With every dropout rate 0 each pass must equal eval-mode prediction, example by example:
    this checks that repeating a batch K times keeps examples and passes apart and in order."""
    clf = tiny_classifier(tokenizer, hidden_dropout=0.0, attention_dropout=0.0)
    deterministic = cal.softmax(clf.logits(queries))
    probs = predict.mc_dropout_probs(clf, queries, n_samples=4)
    for k in range(4):
        np.testing.assert_allclose(probs[k], deterministic, atol=1e-5)


def test_mc_samples_needs_dropout_on(tokenizer, queries):
    clf = tiny_classifier(tokenizer)
    with pytest.raises(ValueError, match="dropout_active"):
        clf.logits(queries, mc_samples=3)
    with pytest.raises(ValueError, match="n_samples"):
        predict.mc_dropout_probs(clf, queries, n_samples=1)
    with pytest.raises(TypeError, match="Classifier"):
        predict.mc_dropout_probs(clf.model, queries, n_samples=3)


def test_ensemble_probs(tokenizer, queries):
    members = [tiny_classifier(tokenizer, seed=s) for s in range(3)]
    probs = predict.ensemble_probs(members, queries)
    assert probs.shape == (3, len(queries), 3)
    np.testing.assert_allclose(probs[1], cal.softmax(members[1].logits(queries)))
    with pytest.raises(ValueError, match="at least 2"):
        predict.ensemble_probs(members[:1], queries)
    other = tiny_classifier(tokenizer, labels=("x", "y", "z"))
    with pytest.raises(ValueError, match="label names"):
        predict.ensemble_probs([members[0], other], queries)


# -------------------------------------------------------------------- entropy decomposition


def test_entropy_decomposition_by_hand():
    # two confident members that disagree: no aleatoric, all epistemic (log 2)
    d = uq.entropy_decomposition([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(
        [d.total[0], d.aleatoric[0], d.epistemic[0]], [math.log(2), 0, math.log(2)]
    )
    # two members that agree on (0.5, 0.5): all aleatoric, no epistemic
    d = uq.entropy_decomposition(np.full((2, 1, 2), 0.5))
    np.testing.assert_allclose(
        [d.total[0], d.aleatoric[0], d.epistemic[0]], [math.log(2), math.log(2), 0]
    )
    np.testing.assert_allclose(d.mean_probs, [[0.5, 0.5]])


def test_entropy_decomposition_of_posterior_draws_matches_scipy():
    """Lesson 01's toy: (S, N, C) draws of a Bernoulli parameter per cell, as class pairs."""
    from scipy.stats import entropy as scipy_entropy

    rng = np.random.default_rng(0)
    theta = rng.beta([0.5, 20.0, 3.0], [0.5, 20.0, 1.0], size=(2000, 3))
    samples = np.stack([1 - theta, theta], axis=-1)
    d = uq.entropy_decomposition(samples)
    total = scipy_entropy(samples.mean(axis=0), axis=-1)
    aleatoric = scipy_entropy(samples, axis=-1).mean(axis=0)
    np.testing.assert_allclose(d.total, total)
    np.testing.assert_allclose(d.aleatoric, aleatoric)
    np.testing.assert_allclose(d.epistemic, total - aleatoric, atol=1e-12)
    # a cell with few observations (wide posterior) has more epistemic uncertainty
    assert d.epistemic[0] > d.epistemic[2] > d.epistemic[1]


def test_entropy_matches_scipy():
    from scipy.stats import entropy as scipy_entropy

    p = np.random.default_rng(0).dirichlet(np.full(7, 0.3), size=50)
    np.testing.assert_allclose(uq.entropy(p), scipy_entropy(p, axis=1))


@pytest.mark.parametrize("concentration", [0.05, 1.0, 50.0])
def test_mutual_information_is_non_negative_on_random_samples(concentration):
    rng = np.random.default_rng(1)
    samples = rng.dirichlet(np.full(10, concentration), size=(8, 300))
    samples[:, :5] = samples[
        0, :5
    ]  # some examples where every sample agrees: MI = 0 up to rounding
    d = uq.entropy_decomposition(torch.tensor(samples))
    assert (d.mutual_information >= 0).all()
    np.testing.assert_allclose(d.total, d.aleatoric + d.epistemic, atol=uq.MI_TOL)
    np.testing.assert_allclose(d.total, uq.entropy(samples.mean(axis=0)))
    assert (d.total <= math.log(10) + 1e-12).all()
    np.testing.assert_allclose(d.epistemic[:5], 0, atol=uq.MI_TOL)


# -------------------------------------------------------------- OOS detection: against scikit-learn


def _ood_scores(seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    score_in, score_out = rng.normal(0, 1, 400), rng.normal(1, 1.5, 150)
    if ties:
        score_in, score_out = np.round(score_in, 1), np.round(score_out, 1)
    return score_in, score_out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_ood_metrics_match_sklearn(seed, ties):
    from sklearn import metrics

    score_in, score_out = _ood_scores(seed, ties)
    y = np.r_[
        np.zeros(len(score_in)), np.ones(len(score_out))
    ]  # out-of-scope is the positive class
    s = np.r_[score_in, score_out]
    fpr, tpr, thresholds = metrics.roc_curve(y, s, drop_intermediate=False)
    roc = uq.roc_curve(score_in, score_out)
    np.testing.assert_allclose(roc.fpr, fpr)
    np.testing.assert_allclose(roc.tpr, tpr)
    np.testing.assert_allclose(roc.thresholds[1:], thresholds[1:])
    assert uq.auroc(score_in, score_out) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
    assert uq.aupr(score_in, score_out) == pytest.approx(
        metrics.average_precision_score(y, s), abs=1e-12
    )
    for level in (0.5, 0.9, 0.95):
        assert uq.fpr_at_tpr(score_in, score_out, level) == fpr[np.searchsorted(tpr, level)]


def test_ood_metrics_by_hand():
    assert uq.auroc([0, 1], [2, 3]) == 1.0 and uq.auroc([2, 3], [0, 1]) == 0.0
    assert uq.auroc([1, 1], [1, 1]) == 0.5  # all tied: chance
    assert (
        uq.fpr_at_tpr([0.1, 0.2, 0.9, 0.3], [0.5, 0.95], tpr=0.95) == 0.25
    )  # threshold 0.5 flags both OOS and 0.9
    assert (
        uq.fpr_at_tpr([0.1, 0.2, 0.9, 0.3], [0.5, 0.95, 0.05], tpr=0.95) == 1.0
    )  # must go down to 0.05
    assert uq.aupr([0.1, 0.2], [0.9]) == 1.0


def test_threshold_protocol_by_hand():
    probs_in = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45]])
    labels_in = np.array(
        [0, 1, 1, 0]
    )  # correct, wrong, correct, correct: accuracy 0.75 without threshold
    probs_out = np.array([[0.5, 0.5], [0.8, 0.2]])
    m = uq.threshold_metrics(probs_in, labels_in, probs_out, threshold=0.65)
    assert m == {"in_scope_accuracy": 0.5, "in_scope_kept": 0.5, "oos_recall": 0.5}
    # accuracy when keeping conf >= 0.9: 1/4, >= 0.7: 2/4, >= 0.6: 2/4, >= 0.55: 3/4
    assert uq.oos_threshold(probs_in, labels_in, relative_accuracy=1.0) == 0.55
    assert uq.oos_threshold(probs_in, labels_in, relative_accuracy=0.6) == 0.7
    assert uq.oos_threshold(probs_in, labels_in, relative_accuracy=0.3) == 0.9


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: uq.entropy_decomposition(np.full((1, 3, 2), 0.5)), "n_samples >= 2"),
        (lambda: uq.entropy_decomposition(np.full((3, 2), 0.5)), "n_samples >= 2"),
        (lambda: uq.entropy_decomposition(np.full((2, 3, 2), 0.7)), "sum to 1"),
        (lambda: uq.auroc([], [1.0]), "empty"),
        (lambda: uq.auroc([0.1, np.nan], [1.0]), "NaN"),
        (lambda: uq.fpr_at_tpr([0.1], [0.2], tpr=0.0), "tpr"),
        (lambda: uq.oos_threshold(P, Y, relative_accuracy=1.5), "relative_accuracy"),
        (lambda: uq.threshold_metrics(P, Y[:2], P, 0.5), "labels"),
        (lambda: predict.dropout_active(torch.nn.Linear(2, 2), seed=-1).__enter__(), "seed"),
    ],
)
def test_uq_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -------------------------------------------------------------------- seed disagreement


def test_pairwise_disagreement_by_hand():
    preds = np.array([[0, 1, 1, 2], [0, 1, 0, 1], [0, 0, 1, 0]])  # 3 models, 4 examples
    # pairs (0,1), (0,2), (1,2) disagree on: ex 0 none; ex 1 two; ex 2 two; ex 3 all three
    np.testing.assert_allclose(uq.pairwise_disagreement(preds), [0, 2 / 3, 2 / 3, 1])
    two = np.array([[1, 0, 1, 1], [1, 1, 0, 1]])
    np.testing.assert_allclose(uq.pairwise_disagreement(two), [0, 1, 1, 0])


def test_pairwise_disagreement_matches_a_loop_over_pairs():
    rng = np.random.default_rng(0)
    preds = rng.integers(0, 3, size=(5, 200))
    pairs = [(a, b) for a in range(5) for b in range(a + 1, 5)]
    expected = np.mean([preds[a] != preds[b] for a, b in pairs], axis=0)
    np.testing.assert_allclose(uq.pairwise_disagreement(torch.as_tensor(preds)), expected)


@pytest.mark.parametrize(
    "preds, match",
    [
        (np.zeros((1, 4), int), "n_models >= 2"),
        (np.zeros(4, int), "n_models >= 2"),
        (np.zeros((2, 0), int), "n_models >= 2"),
        (np.array([[0, 1], [1, -1]]), "labels"),
        (np.array([[0.5, 1.0], [1.0, 0.0]]), "integer"),
    ],
)
def test_pairwise_disagreement_bad_inputs(preds, match):
    with pytest.raises(ValueError, match=match):
        uq.pairwise_disagreement(preds)
