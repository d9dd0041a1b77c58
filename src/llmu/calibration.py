"""Calibration: proper scores, ECE/MCE, reliability diagrams, temperature scaling, bootstrap.

Conventions: ``probs`` is an ``(n, K)`` array of predicted class probabilities (K >= 2, rows sum
to 1), ``labels`` an ``(n,)`` array of integer classes in ``[0, K)``, ``logits`` an ``(n, K)``
array of unnormalised scores. Numpy arrays, torch tensors and nested lists are all accepted;
work is done in numpy float64 and results come back as Python floats or numpy arrays. Every
public function validates its inputs and raises ``ValueError`` saying what is wrong and how to
fix it.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from llmu._checks import (
    check_binary,
    check_bounds,
    check_choice,
    check_int,
    check_labels,
    check_logits,
    check_number,
    check_positive,
    check_probs_labels,
    check_vector,
    to_numpy,
)

if TYPE_CHECKING:
    import pandas as pd

Binning = Literal["width", "mass"]

__all__ = [
    "SCORES",
    "Interval",
    "PairedProportions",
    "ReliabilityData",
    "Scorecard",
    "TemperatureScaler",
    "accuracy",
    "apply_temperature",
    "bootstrap_ci",
    "brier",
    "confidence_gap",
    "confidence_reliability",
    "ece",
    "ece_floor",
    "fit_temperature",
    "mce",
    "nll",
    "paired_proportions",
    "reliability_diagram",
    "scorecard",
    "softmax",
    "top_label",
]


# --------------------------------------------------------------------------- top label


def top_label(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Top-label confidence ``max_k p_k`` and correctness ``argmax_k p_k == y``.

    Ties go to the lowest class index."""
    p, y = check_probs_labels(probs, labels)
    return p.max(axis=1), p.argmax(axis=1) == y


# --------------------------------------------------------------------------- scores


def nll(probs: Any, labels: Any, eps: float = 1e-12) -> float:
    r"""Negative log-likelihood :math:`-\frac1n\sum_i \log p_{i,y_i}` (nats).

    A strictly proper scoring rule. Probabilities are clipped below at ``eps`` so that a
    probability that underflowed to 0 gives a large finite loss instead of ``inf``; compute
    from logits (``-log_softmax``) when exact values far in the tail matter.
    """
    p, y = check_probs_labels(probs, labels)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], eps))))


def brier(probs: Any, labels: Any) -> float:
    r"""Multiclass Brier score :math:`\frac1n\sum_i\sum_k (p_{ik} - \mathbb 1[y_i = k])^2`.

    It lies in ``[0, 2]``: Brier's original (1950) definition, summed over all K classes. The binary
    convention ``(p - y)^2`` on the positive class only is half of it when K = 2.
    """
    p, y = check_probs_labels(probs, labels)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def accuracy(probs: Any, labels: Any) -> float:
    """Fraction of examples whose arg-max class (lowest index on ties) equals the label."""
    _, correct = top_label(probs, labels)
    return float(correct.mean())


def confidence_gap(probs: Any, labels: Any) -> float:
    """Mean top-label confidence minus accuracy: positive if over-confident, negative if under.

    The unbinned, signed summary of calibration-in-the-large (a model can have a gap of 0 and
    a large ECE, with its over- and under-confident bins cancelling).
    """
    conf, correct = top_label(probs, labels)
    return float(conf.mean() - correct.mean())


# --------------------------------------------------------------------------- binning, ECE


@dataclass(frozen=True, eq=False)
class ReliabilityData:
    """Per-bin statistics of top-label confidence.

    Bin ``b`` holds the confidences ``c`` with ``edges[b] <= c < edges[b + 1]`` (see
    :func:`reliability_diagram` for the exact rule); ``confidence``/``accuracy`` are the bin
    means (NaN for empty bins) and ``counts`` the number of examples per bin.
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray
    binning: str

    @property
    def n_bins(self) -> int:
        return len(self.counts)

    @property
    def n_examples(self) -> int:
        return int(self.counts.sum())

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def gaps(self) -> np.ndarray:
        """``|accuracy - confidence|`` per bin (NaN for empty bins)."""
        return np.abs(self.accuracy - self.confidence)

    @property
    def ece(self) -> float:
        r""":math:`\sum_b \frac{n_b}{n} |\mathrm{acc}_b - \mathrm{conf}_b|`."""
        full = self.counts > 0
        return float(np.sum(self.counts[full] / self.n_examples * self.gaps[full]))

    @property
    def mce(self) -> float:
        r""":math:`\max_{b: n_b > 0} |\mathrm{acc}_b - \mathrm{conf}_b|`."""
        return float(np.max(self.gaps[self.counts > 0]))


def _width_bins(conf: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    # Exactly torchmetrics' rule: float32 confidences, float32 torch.linspace edges,
    # bucketize(right=True) - 1, i.e. left-closed bins [e_b, e_{b+1}) plus a slot for c == 1.
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float32).numpy().astype(np.float64)
    c32 = conf.astype(np.float32).astype(np.float64)
    idx = np.searchsorted(edges, c32, side="right") - 1
    if (idx == n_bins).any():  # confidences of exactly 1.0 get their own zero-width bin [1, 1]
        edges = np.append(edges, 1.0)
    return edges, idx


def _mass_bins(conf: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.quantile(conf, np.linspace(0, 1, n_bins + 1))
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    return edges, idx


def reliability_diagram(
    probs: Any, labels: Any, n_bins: int = 15, binning: Binning = "width"
) -> ReliabilityData:
    """Bin examples by top-label confidence and return per-bin confidence, accuracy and counts.

    ``binning="width"``: ``n_bins`` equal-width bins on [0, 1], left-closed ``[b/n, (b+1)/n)``,
    with membership decided exactly as in ``torchmetrics`` (confidences rounded to float32,
    edges ``torch.linspace(0, 1, n_bins + 1)``); a confidence of exactly 1 falls in an extra
    zero-width bin ``[1, 1]`` that is present only when non-empty (torchmetrics does the same).

    ``binning="mass"``: equal-mass (adaptive) bins whose edges are the empirical quantiles of
    the confidences, so bins hold about ``n / n_bins`` examples each (fewer with ties); bins
    are left-closed, the last one closed.
    """
    conf, correct = top_label(probs, labels)
    return confidence_reliability(conf, correct, n_bins, binning)


def confidence_reliability(
    confidence: Any, correct: Any, n_bins: int = 15, binning: Binning = "width"
) -> ReliabilityData:
    """:func:`reliability_diagram` for any confidence in [0, 1] and a correct/wrong outcome each.

    For predictions that are not one arg-max over classes, e.g. the confidence of a predicted
    entity against whether the entity is right; ``.ece`` then equals torchmetrics'
    ``binary_calibration_error(confidence, correct)`` with ``binning="width"``.
    """
    conf = check_vector(confidence, "confidence")
    correct = check_binary(correct, "correct", len(conf))
    if (conf < 0).any() or (conf > 1).any():
        raise ValueError(
            f"confidence must lie in [0, 1]; got values from {conf.min():.3g} to {conf.max():.3g}."
        )
    n_bins = check_int(n_bins, "n_bins", hint="15 is the usual choice.")
    binning = check_choice(binning, "binning", ("width", "mass"))
    edges, idx = (_width_bins if binning == "width" else _mass_bins)(conf, n_bins)
    size = len(edges) - 1
    counts = np.bincount(idx, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=size) / counts
        mean_acc = np.bincount(idx, weights=correct.astype(np.float64), minlength=size) / counts
    return ReliabilityData(
        edges=edges, confidence=mean_conf, accuracy=mean_acc, counts=counts, binning=binning
    )


def ece_floor(
    confidence: Any,
    n_bins: int = 15,
    binning: Binning = "width",
    n_draws: int = 200,
    seed: int = 0,
) -> float:
    """The ECE that a *perfectly calibrated* model with these confidences would still show.

    Outcomes are drawn as ``Bernoulli(confidence)`` (so P(correct | c) = c holds exactly) and
    :func:`confidence_reliability`'s ECE is averaged over ``n_draws`` draws. The binned ECE is
    biased upwards on a finite sample; an ECE near this floor is within sampling noise.
    """
    conf = check_vector(confidence, "confidence")  # confidence_reliability checks the range
    n_draws = check_int(n_draws, "n_draws")
    rng = np.random.default_rng(seed)
    draws = (rng.random(len(conf)) < conf for _ in range(n_draws))
    return float(np.mean([confidence_reliability(conf, ok, n_bins, binning).ece for ok in draws]))


def ece(probs: Any, labels: Any, n_bins: int = 15, binning: Binning = "width") -> float:
    r"""Expected calibration error of the top-label confidence.

    :math:`\mathrm{ECE} = \sum_b \frac{n_b}{n}\,|\mathrm{acc}_b - \mathrm{conf}_b|` over the bins
    of :func:`reliability_diagram`. With ``binning="width"`` it equals
    ``torchmetrics.functional.classification.multiclass_calibration_error(norm="l1")``.
    The binned estimate is biased (upwards for a calibrated model on few examples).
    """
    return reliability_diagram(probs, labels, n_bins, binning).ece


def mce(probs: Any, labels: Any, n_bins: int = 15, binning: Binning = "width") -> float:
    r"""Maximum calibration error :math:`\max_b |\mathrm{acc}_b - \mathrm{conf}_b|`.

    The maximum runs over the non-empty bins. Equals torchmetrics' ``norm="max"`` with
    ``binning="width"``. Very noisy on sparse bins.
    """
    return reliability_diagram(probs, labels, n_bins, binning).mce


# --------------------------------------------------------------------------- temperature scaling


def softmax(logits: Any) -> np.ndarray:
    r"""Row-wise :math:`\mathrm{softmax}(z)_k = e^{z_k} / \sum_j e^{z_j}` (stable, float64)."""
    z = check_logits(logits)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_temperature(logits: Any, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities ``softmax(logits / T)``; T > 1 softens, T < 1 sharpens."""
    t = check_positive(temperature, "temperature", "Use T > 1 to soften, T < 1 to sharpen.")
    return softmax(check_logits(logits) / t)


def _nll_grad_beta(z: np.ndarray, y: np.ndarray, beta: float) -> float:
    # d/dbeta of mean(-log softmax(beta z)_y) = mean(E_p[z] - z_y); increasing in beta (convexity).
    s = beta * z
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return float(np.mean(np.sum(p * z, axis=1) - z[np.arange(len(y)), y]))


def fit_temperature(logits: Any, labels: Any, bounds: tuple[float, float] = (0.01, 100.0)) -> float:
    r"""Fit :math:`T^* = \arg\min_{T>0} \mathrm{NLL}(\mathrm{softmax}(z / T), y)` on held-out data.

    With :math:`\beta = 1/T` the NLL
    :math:`\frac1n\sum_i [\log\sum_k e^{\beta z_{ik}} - \beta z_{iy_i}]` is convex in
    :math:`\beta` (its second derivative is the mean variance of the logits under the scaled
    softmax), so its derivative :math:`\frac1n\sum_i (\mathbb E_{p_\beta}[z_i] - z_{iy_i})` is
    increasing and has at most one sign change. We bisect that derivative in :math:`\log\beta`
    inside ``bounds`` (deterministic, no step size, exact to float precision). If the minimum
    lies outside ``bounds`` (e.g. every example is correct with a margin, so NLL keeps falling
    as T -> 0) the nearer bound is returned with a warning. Fit on a calibration split, never
    on the test set. :class:`TemperatureScaler` wraps this with ``fit``/``predict_proba``.
    """
    z = check_logits(logits)
    y = check_labels(labels, z.shape[1], z.shape[0])
    lo_t, hi_t = check_bounds(bounds)
    z = z - z.mean(axis=1, keepdims=True)  # softmax is shift-invariant; keeps products small
    lo, hi = math.log(1 / hi_t), math.log(1 / lo_t)  # search log(beta)
    if _nll_grad_beta(z, y, math.exp(hi)) <= 0:
        warnings.warn(
            f"NLL is still decreasing at T = {lo_t}; "
            "returning that bound (are the logits separable?).",
            RuntimeWarning,
            stacklevel=2,
        )
        return float(lo_t)
    if _nll_grad_beta(z, y, math.exp(lo)) >= 0:
        warnings.warn(
            f"NLL is still decreasing at T = {hi_t}; "
            "returning that bound (do the logits carry no information about the labels?).",
            RuntimeWarning,
            stacklevel=2,
        )
        return float(hi_t)
    for _ in range(100):
        mid = (lo + hi) / 2
        if _nll_grad_beta(z, y, math.exp(mid)) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-12:
            break
    return float(math.exp(-(lo + hi) / 2))


@dataclass
class TemperatureScaler:
    """Temperature scaling as an object: ``TemperatureScaler().fit(logits, labels)``, then
    ``.temperature`` and ``.predict_proba(new_logits)``.

    ``fit`` runs :func:`fit_temperature` inside ``bounds``; ``predict_proba`` is
    :func:`apply_temperature`. ``TemperatureScaler(temperature=T)`` applies a known T unfitted
    (the default, T = 1, changes nothing).
    """

    temperature: float = 1.0
    bounds: tuple[float, float] = (0.01, 100.0)

    def __post_init__(self) -> None:
        self.temperature = check_positive(self.temperature, "temperature")
        self.bounds = check_bounds(self.bounds)

    def fit(self, logits: Any, labels: Any) -> TemperatureScaler:
        """Fit the temperature on held-out ``logits`` and ``labels``; returns ``self``."""
        self.temperature = fit_temperature(logits, labels, self.bounds)
        return self

    def predict_proba(self, logits: Any) -> np.ndarray:
        """``softmax(logits / temperature)``, one row per example."""
        return apply_temperature(logits, self.temperature)


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Interval:
    """A point estimate with a (percentile-bootstrap) confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    def __str__(self) -> str:
        return (
            f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}] ({100 * self.confidence:g}% CI)"
        )

    def side(self, value: float) -> str:
        """Where the interval lies relative to ``value``: ``"below"``, ``"above"`` or
        ``"across"`` (it contains ``value``, so the data do not resolve the difference).

        For prose that must read right on every run, e.g. "the interval lies {side} zero".
        """
        value = check_number(value, "value", hint="e.g. 0 for a difference, 0.9 for a target")
        return "below" if self.high < value else "above" if self.low > value else "across"


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays: Any,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    paired: bool = False,
) -> Interval:
    """Percentile-bootstrap confidence interval for ``metric(*arrays)``.

    Each resample draws n example indices with replacement and applies the same rows to every
    array (so probabilities stay paired with their labels); the interval is the
    ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles of the resampled metric. The
    index matrix is drawn at once from ``np.random.default_rng(seed)``, so results are
    deterministic for a given seed. Arrays (numpy, torch, lists) reach ``metric`` as numpy.

    ``paired=True`` compares two systems on the same examples: with arrays ``a, b, *rest`` the
    interval is for ``metric(a, *rest) - metric(b, *rest)``, both terms computed on the same
    resampled rows, e.g. ``bootstrap_ci(nll, probs_new, probs_old, labels, paired=True)``.
    Pairing removes the example-to-example variation the two share, so the interval of the
    difference is narrower than one read off two separate intervals. An interval that excludes
    0 is a difference this test set resolves. The intervals describe this test-set
    distribution; they ignore e.g. training-seed variance.
    """
    if not callable(metric):
        raise ValueError(
            f"metric must be a callable f(*arrays) -> float; got {type(metric).__name__}."
        )
    if not arrays:
        raise ValueError(
            "pass at least one array to resample, e.g. bootstrap_ci(ece, probs, labels)."
        )
    if paired:
        if len(arrays) < 2:
            raise ValueError(
                "paired=True needs the two systems' arrays first, e.g. "
                "bootstrap_ci(nll, probs_a, probs_b, labels, paired=True)."
            )
        single = metric

        def metric(a: Any, b: Any, *rest: Any) -> float:
            return float(single(a, *rest)) - float(single(b, *rest))

    data = _example_rows(arrays)
    n_resamples, confidence = _check_resampling(n_resamples, confidence)
    idx = np.random.default_rng(seed).integers(0, len(data[0]), size=(n_resamples, len(data[0])))
    stats = [metric(*(a[i] for a in data)) for i in idx]
    return _percentile_interval(metric(*data), stats, confidence)


def bootstrap_difference_ci(
    metric: Callable[..., float],
    first: Sequence[Any],
    second: Sequence[Any],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile-bootstrap interval for ``metric(*first) - metric(*second)`` on two
    *independent* samples, e.g. accuracy in domain minus accuracy on another data set.

    Each resample redraws the rows of each sample separately (a stratified bootstrap), keeping
    the two sample sizes. Use :func:`bootstrap_ci` with ``paired=True`` instead when both systems
    answer the same examples. ``first`` and ``second`` are tuples of arrays, e.g.
    ``bootstrap_difference_ci(accuracy, (probs_a, labels_a), (probs_b, labels_b))``.
    """
    if not callable(metric):
        raise ValueError(
            f"metric must be a callable f(*arrays) -> float; got {type(metric).__name__}."
        )
    samples = []
    for name, arrays in (("first", first), ("second", second)):
        if not isinstance(arrays, (tuple, list)) or not arrays:
            raise ValueError(
                f"{name} must be a non-empty tuple of arrays, e.g. (probs, labels); "
                f"got {type(arrays).__name__}."
            )
        samples.append(_example_rows(arrays))
    n_resamples, confidence = _check_resampling(n_resamples, confidence)
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(rows[0]), size=(n_resamples, len(rows[0]))) for rows in samples]

    def difference(rows_a: list[np.ndarray], rows_b: list[np.ndarray]) -> float:
        return float(metric(*rows_a)) - float(metric(*rows_b))

    stats = [
        difference([a[i] for a in samples[0]], [b[j] for b in samples[1]])
        for i, j in zip(*draws)
    ]
    return _percentile_interval(difference(*samples), stats, confidence)


def _example_rows(arrays: Sequence[Any]) -> list[np.ndarray]:
    """The arrays as numpy, checked to share one row per example (at least 2 rows)."""
    data = [to_numpy(a, f"array {i}") for i, a in enumerate(arrays)]
    if any(a.ndim == 0 for a in data):
        raise ValueError("every array needs one row per example; got a scalar.")
    n = data[0].shape[0]
    if any(a.shape[0] != n for a in data):
        raise ValueError(
            "all arrays must have the same number of rows (examples); "
            f"got {[a.shape[0] for a in data]}."
        )
    if n < 2:
        raise ValueError(f"need at least 2 examples to bootstrap; got {n}.")
    return data


def _check_resampling(n_resamples: int, confidence: float) -> tuple[int, float]:
    n_resamples = check_int(n_resamples, "n_resamples", hint="Use 1000 or more for a 95% interval.")
    confidence = check_number(
        confidence, "confidence", 0, 1, open_low=True, open_high=True, hint="e.g. 0.95"
    )
    return n_resamples, confidence


def _percentile_interval(estimate: float, stats: Sequence[float], confidence: float) -> Interval:
    """The estimate with the central ``confidence`` quantiles of its resampled values."""
    values = np.array([float(v) for v in stats])
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"metric returned NaN/inf on {int(bad.sum())} of {len(values)} resamples; "
            "make it defined on every resample."
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return Interval(
        estimate=float(estimate), low=float(low), high=float(high), confidence=confidence
    )


@dataclass(frozen=True)
class PairedProportions:
    """Two systems' yes/no outcomes on the same examples, from :func:`paired_proportions`.

    ``only_a``: examples where ``a`` is true and ``b`` false; ``only_b`` the reverse (the
    discordant pairs). ``difference``: ``mean(a) - mean(b)`` with its paired bootstrap interval.
    ``p_value``: the exact two-sided McNemar test of equal rates.
    """

    n: int
    only_a: int
    only_b: int
    difference: Interval
    p_value: float


def paired_proportions(
    a: Any, b: Any, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> PairedProportions:
    """Compare two rates measured on the same examples, as McNemar's test does.

    ``a`` and ``b`` hold one boolean (or 0/1) per example, e.g. ``pred_a == labels`` or
    "agrees with the teacher". Examples where both agree carry no information about the
    difference; the exact McNemar test is a two-sided binomial test of ``only_a`` successes in
    ``only_a + only_b`` trials at 1/2 (``p_value = 1`` when no pair is discordant). The
    difference of rates gets the paired percentile-bootstrap interval of :func:`bootstrap_ci`.
    """
    from scipy.stats import binomtest

    a = check_binary(a, "a")
    b = check_binary(b, "b", len(a))
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    discordant = only_a + only_b
    p_value = binomtest(only_a, discordant, 0.5).pvalue if discordant else 1.0
    difference = bootstrap_ci(
        np.mean, a, b, n_resamples=n_resamples, confidence=confidence, seed=seed, paired=True
    )
    return PairedProportions(len(a), only_a, only_b, difference, float(p_value))


#: The scores of :func:`scorecard`: name -> metric(probs, labels).
SCORES: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "NLL": nll,
    "Brier": brier,
    "ECE (equal width)": ece,
    "ECE (equal mass)": lambda probs, labels: ece(probs, labels, binning="mass"),
    "MCE": mce,
}

#: The snake_case key of each score of :data:`SCORES` in :meth:`Scorecard.flat`.
SCORE_KEYS: dict[str, str] = {
    "accuracy": "accuracy",
    "NLL": "nll",
    "Brier": "brier",
    "ECE (equal width)": "ece",
    "ECE (equal mass)": "ece_mass",
    "MCE": "mce",
}


def _snake(name: str) -> str:
    return SCORE_KEYS.get(name) or re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


class Scorecard(dict[str, Interval]):
    """Score name -> :class:`Interval`, from :func:`scorecard`, with two views of it.

    ``card["accuracy"].estimate`` works as on any dict; :meth:`frame` is a table for display
    and :meth:`flat` the snake_case keys for ``run.record(**card.flat("teacher_"))``.
    """

    def frame(self) -> pd.DataFrame:
        """One row per score; columns ``estimate``, ``95% CI low``, ``95% CI high`` (the
        percentage is the intervals' confidence)."""
        import pandas as pd

        levels = {ci.confidence for ci in self.values()}
        if len(levels) > 1:
            raise ValueError(f"the intervals have different confidence levels {sorted(levels)}.")
        pct = f"{100 * levels.pop():g}%" if levels else "95%"
        columns = ["estimate", f"{pct} CI low", f"{pct} CI high"]
        rows = [[ci.estimate, ci.low, ci.high] for ci in self.values()]
        return pd.DataFrame(rows, index=list(self), columns=columns)

    def flat(self, prefix: str = "") -> dict[str, Interval]:
        """``{prefix + key: interval}`` with keys ``accuracy``, ``nll``, ``brier``, ``ece``,
        ``ece_mass``, ``mce`` (other names: lower case, non-alphanumerics as ``_``)."""
        return {prefix + _snake(name): ci for name, ci in self.items()}


def scorecard(
    probs: Any, labels: Any, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> Scorecard:
    """Every score of :data:`SCORES` with its bootstrap confidence interval (15 bins for
    ECE/MCE), as a :class:`Scorecard` (a dict name -> :class:`Interval`)."""
    p, y = check_probs_labels(probs, labels)
    return Scorecard(
        (
            name,
            bootstrap_ci(metric, p, y, n_resamples=n_resamples, confidence=confidence, seed=seed),
        )
        for name, metric in SCORES.items()
    )
