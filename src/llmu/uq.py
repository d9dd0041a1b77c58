"""Uncertainty quantification: MC dropout, split conformal prediction and selective prediction.

Split conformal prediction turns any classifier's probabilities into prediction *sets*
``C(x)`` with the marginal guarantee ``P(y in C(x)) >= 1 - alpha`` for a fresh example
exchangeable with the calibration split -- a statement about sets over repeated draws, not
about one predicted probability.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from llmu.calibration import check_binary, check_labels, check_probs, check_vector, to_numpy

Method = Literal["lac", "aps"]

__all__ = [
    "ConformalResult",
    "RiskCoverage",
    "aurc",
    "conformal_quantile",
    "conformal_scores",
    "coverage",
    "dropout_active",
    "mean_set_size",
    "prediction_sets",
    "risk_coverage_curve",
    "selective_accuracy",
    "split_conformal",
]

_EPS = 1e-9  # absorbs float error in (n+1)(1-alpha) and coverage*n before ceil


# --------------------------------------------------------------------------- MC dropout


@contextmanager
def dropout_active(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Keep every dropout of ``model`` sampling, for Monte Carlo dropout at inference.

    ``model.train()`` switches *all* modules, so the attention-probability dropout inside
    the attention layers samples too, not only the ``nn.Dropout`` modules (transformers'
    attention implementations read ``self.training``). Use it under
    ``torch.inference_mode()``: no graph is built, nothing is updated. The previous mode of
    every module is restored on exit, also when the body raises.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"dropout_active expects a torch.nn.Module, got {type(model).__name__}")
    modes = {name: module.training for name, module in model.named_modules()}
    model.train()
    try:
        yield model
    finally:
        for name, module in model.named_modules():
            module.training = modes[name]


# --------------------------------------------------------------------------- conformal


def _check_method(method: Any) -> str:
    if method not in ("lac", "aps"):
        raise ValueError(f'method must be "lac" (1 - p_y) or "aps" (cumulative sorted mass); got {method!r}.')
    return method


def _check_alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ValueError(
            "alpha is the miscoverage rate and must lie strictly between 0 and 1 (e.g. 0.1 for 90% sets); "
            f"got {alpha!r}."
        )
    return float(alpha)


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
    r"""The conformal threshold :math:`\hat q`: the :math:`\lceil (n+1)(1-\alpha) \rceil`-th smallest score.

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
            f"Use at least {math.ceil(1 / alpha - 1 - _EPS)} calibration examples or a larger alpha."
        )
    return float(np.sort(s)[k - 1])


def prediction_sets(probs: Any, qhat: float, method: Method = "lac") -> np.ndarray:
    r"""Boolean ``(n, K)`` matrix: class k is in the set of example i iff its score is :math:`\le \hat q`.

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
            f"sets must be a non-empty boolean matrix of shape (n_examples, n_classes); got shape {s.shape}."
        )
    if s.dtype != bool:
        if not np.all((s == 0) | (s == 1)):
            raise ValueError(
                "sets must be boolean (or 0/1): sets[i, k] says whether class k is in example i's set."
            )
        s = s.astype(bool)
    return s


def coverage(sets: Any, labels: Any) -> float:
    """Empirical coverage: the fraction of examples whose true label is in its prediction set."""
    s = _check_sets(sets)
    y = check_labels(labels, s.shape[1], s.shape[0])
    return float(s[np.arange(len(y)), y].mean())


def mean_set_size(sets: Any) -> float:
    """Average number of classes per prediction set (smaller is more informative at equal coverage)."""
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
    r"""Split conformal prediction: scores on the calibration split, threshold, sets on the test split.

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


def risk_coverage_curve(confidence: Any, correct: Any) -> RiskCoverage:
    """Selective risk at every coverage when abstaining on the least confident examples.

    Examples are sorted by decreasing ``confidence`` with a stable sort, so tied confidences keep
    their input order (deterministic; a different order of tied examples can change the curve).
    ``confidence`` may be any score where larger means more confident (max prob, -entropy, ...).
    """
    c, ok = _check_selective(confidence, correct)
    order = np.argsort(-c, kind="stable")
    k = np.arange(1, len(c) + 1)
    errors = np.cumsum(~ok[order])
    return RiskCoverage(coverage=k / len(c), risk=errors / k, threshold=c[order])


def aurc(confidence: Any, correct: Any) -> float:
    r"""Area under the risk-coverage curve (Geifman et al. 2019): :math:`\frac1n\sum_{k=1}^n r_k`.

    :math:`r_k` is the error rate of the k most confident examples. Lower is better; a perfect
    ranking of m errors among n examples gives :math:`\frac1n\sum_{k=n-m+1}^{n} (1 - \frac{n-m}{k})`,
    not 0, so compare models at similar accuracy (or subtract that optimum: E-AURC).
    """
    return risk_coverage_curve(confidence, correct).aurc


def selective_accuracy(confidence: Any, correct: Any, coverage: float) -> float:
    """Accuracy on the ``ceil(coverage * n)`` most confident examples (stable sort on ties)."""
    c, ok = _check_selective(confidence, correct)
    if (
        isinstance(coverage, bool)
        or not isinstance(coverage, (int, float, np.floating))
        or not 0 < coverage <= 1
    ):
        raise ValueError(
            f"coverage is the fraction of examples kept and must lie in (0, 1]; got {coverage!r}."
        )
    m = max(1, math.ceil(coverage * len(c) - _EPS))
    order = np.argsort(-c, kind="stable")
    return float(ok[order[:m]].mean())


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
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(f"n_splits must be a positive integer; got {n_splits!r}.")
    if not 0 < calibration_fraction < 1:
        raise ValueError(f"calibration_fraction must lie in (0, 1); got {calibration_fraction!r}.")
    n_cal = int(round(calibration_fraction * len(y)))
    if not 0 < n_cal < len(y):
        raise ValueError(f"{len(y)} examples cannot be split into calibration and test at {calibration_fraction}.")
    rng = np.random.default_rng(seed)
    coverages = np.empty(n_splits)
    for i in range(n_splits):
        order = rng.permutation(len(y))
        cal_idx, test_idx = order[:n_cal], order[n_cal:]
        result = split_conformal(p[cal_idx], y[cal_idx], p[test_idx], alpha, method)
        coverages[i] = result.coverage(y[test_idx])
    return coverages
