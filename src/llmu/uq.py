"""Uncertainty quantification on arrays: the entropy decomposition, out-of-scope detection
metrics, split conformal prediction and selective prediction.

Samples of predictive distributions (MC-dropout passes or ensemble members) are arrays of shape
``(S, N, C)``: S samples, N examples, C classes. Out-of-scope (OOS) detection metrics treat
**out-of-scope as the positive class** and take a score where **larger means more likely
out-of-scope** (an uncertainty: 1 - max probability, entropy, mutual information).

Split conformal prediction turns any classifier's probabilities into prediction *sets*
``C(x)`` with the marginal guarantee ``P(y in C(x)) >= 1 - alpha`` for a fresh example
exchangeable with the calibration split -- a statement about sets over repeated draws, not
about one predicted probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from llmu._checks import (
    check_binary,
    check_choice,
    check_int,
    check_labels,
    check_number,
    check_probs,
    check_vector,
    to_numpy,
)

Method = Literal["lac", "aps"]

__all__ = [
    "MI_TOL",
    "ROC",
    "ConformalResult",
    "EntropyDecomposition",
    "RiskCoverage",
    "aupr",
    "aurc",
    "auroc",
    "conformal_quantile",
    "conformal_scores",
    "coverage",
    "coverage_over_splits",
    "entropy",
    "entropy_decomposition",
    "fpr_at_tpr",
    "mean_set_size",
    "oos_threshold",
    "pairwise_disagreement",
    "prediction_rejection_ratio",
    "prediction_sets",
    "risk_coverage_curve",
    "roc_curve",
    "selective_accuracy",
    "split_conformal",
    "threshold_metrics",
    "withheld_probability",
]

_EPS = 1e-9  # absorbs float error in (n+1)(1-alpha) and coverage*n before ceil


# --------------------------------------------------------------------------- entropy decomposition

#: Tolerance (nats) for the mutual information: values in ``[-MI_TOL, 0)`` are float rounding and
#: are set to 0; anything more negative means the input was not a set of distributions.
MI_TOL = 1e-9


def _check_samples(samples: Any) -> np.ndarray:
    s = to_numpy(samples, "samples")
    if s.ndim != 3 or s.shape[0] < 2:
        raise ValueError(
            "samples must have shape (n_samples >= 2, n_examples, n_classes), e.g. from "
            f"llmu.predict.mc_dropout_probs or ensemble_probs; got shape {s.shape}"
        )
    check_probs(s.reshape(-1, s.shape[-1]), name="samples")
    return s / s.sum(axis=-1, keepdims=True)


def entropy(probs: Any) -> np.ndarray:
    r"""Shannon entropy :math:`H[p] = -\sum_k p_k \log p_k` (nats) of each row of ``(N, C)``."""
    p = check_probs(probs)
    return _entropy(p / p.sum(axis=1, keepdims=True))


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)  # 0 log 0 = 0
    return -terms.sum(axis=-1)


@dataclass(frozen=True, eq=False)
class EntropyDecomposition:
    """Per-example ``total = aleatoric + epistemic`` (nats), from :func:`entropy_decomposition`."""

    mean_probs: np.ndarray
    total: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray

    @property
    def mutual_information(self) -> np.ndarray:
        """The epistemic part, the mutual information between the label and the parameters."""
        return self.epistemic


def entropy_decomposition(samples: Any) -> EntropyDecomposition:
    r"""Split the predictive entropy of ``(S, N, C)`` samples into aleatoric and epistemic parts.

    ``samples[s, n]`` is the class distribution of example ``n`` under the ``s``-th draw of the
    parameters: MC-dropout passes, ensemble members, or draws from a posterior (e.g. a toy
    Bayesian model's ``np.stack([1 - theta, theta], axis=-1)``). With
    :math:`\bar p = \frac1S\sum_s p^{(s)}`: total :math:`H[\bar p]`, aleatoric (expected
    entropy) :math:`\frac1S\sum_s H[p^{(s)}]`, epistemic = their difference, the mutual
    information :math:`I(y; \theta \mid x)`, which is :math:`\ge 0` because entropy is
    concave. Each output has one value per example (nats). Rows are renormalised first; values
    in ``[-MI_TOL, 0)`` are rounding and clipped to 0, anything below raises.
    """
    s = _check_samples(samples)
    mean = s.mean(axis=0)
    total = _entropy(mean)
    aleatoric = _entropy(s).mean(axis=0)
    mi = total - aleatoric
    if (mi < -MI_TOL).any():
        raise ValueError(
            f"mutual information {mi.min():.3g} < -{MI_TOL:g}: "
            "the samples are not probability vectors"
        )
    return EntropyDecomposition(
        mean_probs=mean, total=total, aleatoric=aleatoric, epistemic=np.maximum(mi, 0.0)
    )


def pairwise_disagreement(predictions: Any) -> np.ndarray:
    """Per example, the share of pairs of models that predict different labels.

    ``predictions`` has shape ``(M, N)``: the predicted class of each of M models (e.g. the
    same recipe fine-tuned with M seeds) on N examples, M >= 2. Example ``n`` gets
    ``#{(a, b): a < b, pred[a, n] != pred[b, n]} / (M (M - 1) / 2)``; the mean over examples is
    the pairwise disagreement rate, the chance that two models of the set, picked at random,
    disagree on a random example (for M = 2, how often the two differ). One value per example,
    so ``bootstrap_ci(np.mean, pairwise_disagreement(preds))`` resamples examples.
    """
    preds = to_numpy(predictions, "predictions")
    if preds.ndim != 2 or preds.shape[0] < 2 or preds.shape[1] == 0:
        raise ValueError(
            "predictions must have shape (n_models >= 2, n_examples >= 1), one predicted "
            f"class per model and example; got shape {preds.shape}"
        )
    labels = check_labels(preds.reshape(-1)).reshape(preds.shape)
    m = labels.shape[0]
    counts = np.stack([(labels == c).sum(axis=0) for c in np.unique(labels)])
    agreeing = (counts * (counts - 1) // 2).sum(axis=0)
    pairs = m * (m - 1) // 2
    return (pairs - agreeing) / pairs


# --------------------------------------------------------------------------- out-of-scope detection


@dataclass(frozen=True, eq=False)
class ROC:
    """ROC curve of an OOS detector: ``fpr[j]``, ``tpr[j]`` when flagging every score
    ``>= thresholds[j]``.

    Starts at (0, 0) with threshold ``+inf`` and has one point per distinct score, decreasing.
    ``precision[j]`` is the fraction of flagged examples that are out-of-scope (1 at the start).
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    precision: np.ndarray


def roc_curve(score_in: Any, score_out: Any) -> ROC:
    """ROC curve for separating out-of-scope (positive) from in-scope examples by ``score``.

    ``score_in``/``score_out``: the scores of the in-scope and out-of-scope examples, larger
    meaning "more likely out-of-scope". Tied scores form one point (as in scikit-learn's
    ``roc_curve(..., drop_intermediate=False)``).
    """
    a = check_vector(score_in, "score_in")
    b = check_vector(score_out, "score_out")
    scores = np.concatenate([a, b])
    positive = np.concatenate([np.zeros(len(a), bool), np.ones(len(b), bool)])
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    last = np.r_[
        np.flatnonzero(np.diff(scores) != 0), len(scores) - 1
    ]  # last index of each distinct score
    tp = np.cumsum(positive)[last]
    fp = (last + 1) - tp
    return ROC(
        fpr=np.r_[0.0, fp / len(a)],
        tpr=np.r_[0.0, tp / len(b)],
        thresholds=np.r_[np.inf, scores[last]],
        precision=np.r_[1.0, tp / (last + 1)],
    )


def auroc(score_in: Any, score_out: Any) -> float:
    """Area under the ROC curve: P(score of a random OOS example > that of a random in-scope one),
    ties counting 1/2 (trapezoids). 0.5 is chance, 1 a perfect separation."""
    roc = roc_curve(score_in, score_out)
    return float(np.sum(np.diff(roc.fpr) * (roc.tpr[1:] + roc.tpr[:-1]) / 2))


def fpr_at_tpr(score_in: Any, score_out: Any, tpr: float = 0.95) -> float:
    """FPR at ``tpr`` recall of OOS: the fraction of in-scope examples flagged at the first
    (highest) threshold that flags at least ``tpr`` of the out-of-scope ones. Lower is better."""
    tpr = check_number(tpr, "tpr", 0, 1, open_low=True, hint="e.g. 0.95")
    roc = roc_curve(score_in, score_out)
    return float(roc.fpr[np.argmax(roc.tpr >= tpr - 1e-12)])


def aupr(score_in: Any, score_out: Any) -> float:
    r"""Area under the precision-recall curve with OOS positive, as average precision
    :math:`\sum_j (R_j - R_{j-1}) P_j` (no interpolation, as scikit-learn's
    ``average_precision_score``).
    Chance level is the OOS fraction of the examples."""
    roc = roc_curve(score_in, score_out)
    return float(np.sum(np.diff(roc.tpr) * roc.precision[1:]))


def threshold_metrics(
    probs_in: Any, labels_in: Any, probs_out: Any, threshold: float
) -> dict[str, float]:
    """Larson et al.'s protocol at one threshold on the max probability: a query is predicted
    out-of-scope when ``max_k p_k < threshold``. Returns ``in_scope_accuracy`` (an in-scope query
    counts as right only if it is kept *and* its class is right), ``in_scope_kept`` (the fraction
    kept) and ``oos_recall`` (the fraction of out-of-scope queries flagged)."""
    p_in = check_probs(probs_in)
    y = check_labels(labels_in, p_in.shape[1], p_in.shape[0])
    p_out = check_probs(probs_out)
    kept = p_in.max(axis=1) >= threshold
    return {
        "in_scope_accuracy": float(np.mean(kept & (p_in.argmax(axis=1) == y))),
        "in_scope_kept": float(kept.mean()),
        "oos_recall": float(np.mean(p_out.max(axis=1) < threshold)),
    }


def oos_threshold(probs_in: Any, labels_in: Any, relative_accuracy: float = 0.98) -> float:
    """The largest max-probability threshold that keeps in-scope accuracy (as in
    :func:`threshold_metrics`) at ``relative_accuracy`` times the accuracy without a threshold.

    Choose it on a validation split (in-scope queries only), then apply it to the test split.
    The candidates are the validation max probabilities themselves.
    """
    p = check_probs(probs_in)
    y = check_labels(labels_in, p.shape[1], p.shape[0])
    level = check_number(relative_accuracy, "relative_accuracy", 0, 1, open_low=True)
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    order = np.argsort(-conf, kind="stable")
    # keeping every query with conf >= conf[order[j]] gives accuracy cumsum(correct)[j] / n
    # (ties: the last of a run)
    accuracy = np.cumsum(correct[order]) / len(y)
    sorted_conf = conf[order]
    last = np.r_[np.flatnonzero(np.diff(sorted_conf) != 0), len(y) - 1]
    feasible = last[accuracy[last] >= level * correct.mean() - 1e-12]
    return float(sorted_conf[feasible[0]])


# --------------------------------------------------------------------------- conformal


def _check_method(method: Any) -> str:
    return check_choice(method, "method", ("lac", "aps"))


def _check_alpha(alpha: Any) -> float:
    return check_number(
        alpha,
        "alpha",
        0,
        1,
        open_low=True,
        open_high=True,
        hint="alpha is the miscoverage rate, e.g. 0.1 for 90% sets.",
    )


def _aps_cumulative(p: np.ndarray) -> np.ndarray:
    """For each class k, the total mass of the classes ranked at or above k (original class order).

    Classes are ranked by decreasing probability with a stable sort (ties: lower index first).
    """
    order = np.argsort(-p, axis=1, kind="stable")
    cum_sorted = np.cumsum(np.take_along_axis(p, order, axis=1), axis=1)
    cum = np.empty_like(p)
    np.put_along_axis(cum, order, cum_sorted, axis=1)
    return cum


def conformal_scores(probs: Any, labels: Any, method: Method = "lac") -> np.ndarray:
    r"""Nonconformity scores of the true labels (larger = stranger).

    - ``"lac"`` (least ambiguous set-valued classifier, Sadinle et al. 2019): :math:`s = 1 - p_y`.
    - ``"aps"`` (adaptive prediction sets, Romano et al. 2020), deterministic version: rank the
      classes by decreasing probability and sum the mass of every class ranked at or above the
      true label, *including the true label's full mass* :math:`p_y` (no randomisation of the
      last class; ties ranked by class index). The guarantee still holds; sets are slightly larger.
    """
    method = _check_method(method)
    p = check_probs(probs)
    y = check_labels(labels, p.shape[1], p.shape[0])
    rows = np.arange(len(y))
    return 1.0 - p[rows, y] if method == "lac" else _aps_cumulative(p)[rows, y]


def conformal_quantile(scores: Any, alpha: float) -> float:
    r"""The conformal threshold :math:`\hat q`, the :math:`\lceil (n+1)(1-\alpha) \rceil`-th
    smallest score.

    Equivalently the empirical quantile at level :math:`\lceil (n+1)(1-\alpha)\rceil / n`
    (the finite-sample correction). If that level exceeds 1 there are too few calibration
    scores for this alpha (need :math:`n \ge 1/\alpha - 1`), and we raise instead of
    returning an infinite threshold.
    """
    s = check_vector(scores, "scores")
    alpha = _check_alpha(alpha)
    n = len(s)
    k = math.ceil((n + 1) * (1 - alpha) - _EPS)
    if k > n:
        raise ValueError(
            f"{n} calibration scores are too few for alpha={alpha}: "
            f"the level ceil((n+1)(1-alpha))/n = {k}/{n} exceeds 1. "
            f"Use at least {math.ceil(1 / alpha - 1 - _EPS)} calibration examples "
            "or a larger alpha."
        )
    return float(np.sort(s)[k - 1])


def prediction_sets(probs: Any, qhat: float, method: Method = "lac") -> np.ndarray:
    r"""Boolean ``(n, K)`` matrix: class k is in example i's set iff its score is
    :math:`\le \hat q`.

    ``"lac"``: :math:`\{k: 1 - p_k \le \hat q\}`. ``"aps"``: the top-ranked classes whose
    cumulative mass (including their own) is :math:`\le \hat q` (deterministic APS, same ranking
    as :func:`conformal_scores`). Sets may be empty when the model is confident but :math:`\hat q`
    is small; ``y in C(x)`` iff ``score(x, y) <= qhat``, which is what the guarantee needs.
    """
    method = _check_method(method)
    p = check_probs(probs)
    q = to_numpy(qhat, "qhat")
    if q.ndim != 0 or q.dtype == bool or not np.isfinite(q):
        raise ValueError(f"qhat must be one finite number (from conformal_quantile); got {qhat!r}.")
    q = float(q)
    return (1.0 - p <= q) if method == "lac" else (_aps_cumulative(p) <= q)


def _check_sets(sets: Any) -> np.ndarray:
    s = to_numpy(sets, "sets")
    if s.ndim != 2 or s.shape[0] == 0:
        raise ValueError(
            "sets must be a non-empty boolean matrix of shape (n_examples, n_classes); "
            f"got shape {s.shape}."
        )
    if s.dtype != bool:
        if not np.all((s == 0) | (s == 1)):
            raise ValueError(
                "sets must be boolean (or 0/1): "
                "sets[i, k] says whether class k is in example i's set."
            )
        s = s.astype(bool)
    return s


def coverage(sets: Any, labels: Any) -> float:
    """Empirical coverage: the fraction of examples whose true label is in its prediction set."""
    s = _check_sets(sets)
    y = check_labels(labels, s.shape[1], s.shape[0])
    return float(s[np.arange(len(y)), y].mean())


def mean_set_size(sets: Any) -> float:
    """Average number of classes per prediction set (smaller: more informative at equal
    coverage)."""
    return float(_check_sets(sets).sum(axis=1).mean())


@dataclass(frozen=True, eq=False)
class ConformalResult:
    """Output of :func:`split_conformal`: threshold and test prediction sets."""

    qhat: float
    sets: np.ndarray
    alpha: float
    method: str
    n_calibration: int

    def coverage(self, labels: Any) -> float:
        """Empirical coverage of ``sets`` on the test labels (expect about ``1 - alpha``)."""
        return coverage(self.sets, labels)

    def predict_sets(self, probs: Any) -> np.ndarray:
        """Prediction sets for new ``(n, K)`` probabilities with this ``qhat`` and ``method``.

        The guarantee holds for new examples exchangeable with the calibration split, scored by
        the same model (K must match the calibration classes).
        """
        p = check_probs(probs)
        if p.shape[1] != self.sets.shape[1]:
            raise ValueError(
                f"probs has {p.shape[1]} classes but the calibration had {self.sets.shape[1]}; "
                "pass probabilities from the same model."
            )
        return prediction_sets(p, self.qhat, self.method)  # type: ignore[arg-type]

    @property
    def mean_set_size(self) -> float:
        return mean_set_size(self.sets)

    @property
    def empty_fraction(self) -> float:
        """Fraction of test examples with an empty set."""
        return float((self.sets.sum(axis=1) == 0).mean())


def split_conformal(
    cal_probs: Any, cal_labels: Any, test_probs: Any, alpha: float = 0.1, method: Method = "lac"
) -> ConformalResult:
    r"""Split conformal prediction: scores on the calibration split, a threshold, sets on the
    test split.

    If calibration and test examples are exchangeable,
    :math:`1-\alpha \le P(y \in C(x)) \le 1-\alpha+\frac1{n+1}` (the upper bound when scores have
    no ties), where the probability is over the draw of the calibration set and the test example.
    """
    method = _check_method(method)
    cal, test = check_probs(cal_probs), check_probs(test_probs)
    if test.shape[1] != cal.shape[1]:
        raise ValueError(
            f"test_probs has {test.shape[1]} classes but cal_probs has {cal.shape[1]}; "
            "both must come from the same model."
        )
    scores = conformal_scores(cal, cal_labels, method)
    qhat = conformal_quantile(scores, alpha)
    return ConformalResult(
        qhat=qhat,
        sets=prediction_sets(test, qhat, method),
        alpha=float(alpha),
        method=method,
        n_calibration=len(scores),
    )


# --------------------------------------------------------------------------- selective prediction


@dataclass(frozen=True, eq=False)
class RiskCoverage:
    """Risk-coverage curve: keep the ``k`` most confident examples, ``k = 1..n``.

    ``coverage[k-1] = k/n``, ``risk[k-1]`` = error rate among them, ``threshold[k-1]`` = the
    confidence of the k-th kept example.
    """

    coverage: np.ndarray
    risk: np.ndarray
    threshold: np.ndarray

    @property
    def aurc(self) -> float:
        """Area under the curve: the mean of ``risk`` over k = 1..n."""
        return float(self.risk.mean())


def _check_selective(confidence: Any, correct: Any) -> tuple[np.ndarray, np.ndarray]:
    c = check_vector(confidence, "confidence")
    return c, check_binary(correct, "correct", len(c))


def _kept_errors(c: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by decreasing confidence; the expected number of errors among the k most confident,
    k = 1..n, with examples of tied confidence taken in random order (so input order is moot)."""
    order = np.argsort(-c, kind="stable")
    conf, wrong = c[order], ~ok[order]
    group = np.r_[0, np.cumsum(np.diff(conf) != 0)]
    first = np.flatnonzero(np.r_[True, np.diff(group) != 0])
    size = np.diff(np.r_[first, len(c)])
    group_errors = np.bincount(group, weights=wrong.astype(np.float64))
    before = np.r_[0.0, np.cumsum(group_errors)[:-1]]
    k = np.arange(1, len(c) + 1)
    inside = (k - first[group]) / size[group]
    return before[group] + inside * group_errors[group], conf


def risk_coverage_curve(confidence: Any, correct: Any) -> RiskCoverage:
    """Selective risk at every coverage when abstaining on the least confident examples.

    Examples are sorted by decreasing ``confidence``; among tied confidences the risk is the
    expected one over their order (so a score with few distinct values, e.g. a count of
    distinct answers, is not helped or hurt by the input order).
    ``confidence`` may be any score where larger means more confident (max prob, -entropy, ...).
    """
    c, ok = _check_selective(confidence, correct)
    errors, threshold = _kept_errors(c, ok)
    k = np.arange(1, len(c) + 1)
    return RiskCoverage(coverage=k / len(c), risk=errors / k, threshold=threshold)



def aurc(confidence: Any, correct: Any) -> float:
    r"""Area under the risk-coverage curve (Geifman et al. 2019): :math:`\frac1n\sum_{k=1}^n r_k`.

    :math:`r_k` is the error rate of the k most confident examples. Lower is better; a perfect
    ranking of m errors among n examples gives
    :math:`\frac1n\sum_{k=n-m+1}^{n} (1 - \frac{n-m}{k})`,
    not 0, so compare models at similar accuracy (or subtract that optimum: E-AURC).
    """
    return risk_coverage_curve(confidence, correct).aurc


def selective_accuracy(confidence: Any, correct: Any, coverage: float) -> float:
    """Accuracy on the ``ceil(coverage * n)`` most confident examples (ties averaged over their
    order, as in :func:`risk_coverage_curve`)."""
    c, ok = _check_selective(confidence, correct)
    coverage = check_number(
        coverage, "coverage", 0, 1, open_low=True, hint="coverage is the fraction of examples kept."
    )
    m = max(1, math.ceil(coverage * len(c) - _EPS))
    return float(1 - _kept_errors(c, ok)[0][m - 1] / m)


def withheld_probability(uncertainty: Any, fraction: float) -> np.ndarray:
    """Per example, the probability that it is withheld when the ``ceil(fraction * n)`` least
    certain examples (largest ``uncertainty``) are withheld, examples tied at the cut sharing
    the remaining places evenly (a score with few distinct values is not judged by the input
    order)."""
    u = check_vector(uncertainty, "uncertainty")
    fraction = check_number(fraction, "fraction", 0, 1, hint="the share of examples withheld")
    m = math.ceil(fraction * len(u) - _EPS)
    if m == 0:
        return np.zeros(len(u))
    cut = np.sort(u)[::-1][m - 1]
    above, at = u > cut, u == cut
    p = above.astype(np.float64)
    p[at] = (m - above.sum()) / at.sum()
    return p


def prediction_rejection_ratio(
    confidence: Any, correct: Any, max_rejection: float = 0.5
) -> float:
    """PRR (Malinin et al. 2021): the share of the oracle's gain that a confidence ranking gets
    when it rejects the least confident examples, up to ``max_rejection`` of them.

    With R(r) the error rate of the kept examples after rejecting a fraction r, PRR =
    (A_random - A_score) / (A_random - A_oracle), A the mean of R over r = 0, 1/n, ...,
    ``max_rejection``; a random ranking keeps the overall error rate, the oracle rejects the
    errors first. 1 is the oracle, 0 a random ranking, below 0 worse than random.
    """
    c, ok = _check_selective(confidence, correct)
    limit = check_number(max_rejection, "max_rejection", 0, 1, open_low=True, open_high=True)
    if ok.all() or not ok.any():
        raise ValueError("PRR needs both right and wrong examples; all are one kind here")
    n = len(c)
    kept = n - np.arange(int(np.floor(limit * n + _EPS)) + 1)  # k kept after rejecting n - k
    score = _kept_errors(c, ok)[0][kept - 1] / kept
    oracle = np.clip(np.sum(~ok) - (n - kept), 0, None) / kept
    random = np.full(len(kept), np.mean(~ok))
    return float((random.mean() - score.mean()) / (random.mean() - oracle.mean()))


def coverage_over_splits(
    probs: Any,
    labels: Any,
    alpha: float = 0.1,
    method: Method = "lac",
    n_splits: int = 500,
    calibration_fraction: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Empirical test coverage of split conformal for ``n_splits`` random calibration/test splits.

    The guarantee ``P(y in C(x)) >= 1 - alpha`` is an average over the draw of the calibration
    set; this shows that distribution (its mean is at least ``1 - alpha`` for exchangeable data,
    even conditional on the pooled examples).
    """
    p = check_probs(probs)
    y = check_labels(labels, p.shape[1], p.shape[0])
    n_splits = check_int(n_splits, "n_splits")
    calibration_fraction = check_number(
        calibration_fraction, "calibration_fraction", 0, 1, open_low=True, open_high=True
    )
    n_cal = int(round(calibration_fraction * len(y)))
    if not 0 < n_cal < len(y):
        raise ValueError(
            f"{len(y)} examples cannot be split into calibration and test "
            f"at {calibration_fraction}."
        )
    rng = np.random.default_rng(seed)
    coverages = np.empty(n_splits)
    for i in range(n_splits):
        order = rng.permutation(len(y))
        cal_idx, test_idx = order[:n_cal], order[n_cal:]
        result = split_conformal(p[cal_idx], y[cal_idx], p[test_idx], alpha, method)
        coverages[i] = result.coverage(y[test_idx])
    return coverages
