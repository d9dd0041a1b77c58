"""Calibration: proper scores, ECE/MCE, reliability diagrams, temperature scaling, bootstrap.

Conventions: ``probs`` is an ``(n, K)`` array of predicted class probabilities (K >= 2, rows sum
to 1), ``labels`` an ``(n,)`` array of integer classes in ``[0, K)``, ``logits`` an ``(n, K)``
array of unnormalised scores. Numpy arrays, torch tensors and nested lists are all accepted;
work is done in numpy float64 and results come back as Python floats or numpy arrays.

The validation helpers (``to_numpy``, ``check_*``) are public so that the other modules reuse
them; every public function validates its inputs and raises ``ValueError`` saying what is wrong
and how to fix it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

Binning = Literal["width", "mass"]
PROB_ATOL = 1e-4  # tolerance on row sums of probabilities (float32 softmax outputs pass)

__all__ = [
    "Interval",
    "ReliabilityData",
    "accuracy",
    "apply_temperature",
    "bootstrap_ci",
    "brier",
    "check_binary",
    "check_labels",
    "check_logits",
    "check_n_bins",
    "check_probs",
    "check_vector",
    "confidence_reliability",
    "ece",
    "ece_floor",
    "fit_temperature",
    "mce",
    "nll",
    "reliability_diagram",
    "softmax",
    "to_numpy",
    "top_label",
]


# --------------------------------------------------------------------------- validation


def to_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` (numpy array, torch tensor, list, scalar) as a numpy array; floats become float64."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = x.to(torch.float64) if x.is_floating_point() else x
        arr = x.numpy()
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:  # ragged nested lists
            raise ValueError(
                f"{name} must be a rectangular numeric array; got {type(x).__name__} ({err})"
            ) from None
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(
            f"{name} must be numeric (float or int); got dtype {arr.dtype}. "
            "Convert it with np.asarray(..., dtype=float)."
        )
    return arr.astype(np.float64) if np.issubdtype(arr.dtype, np.floating) else arr


def check_vector(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """A non-empty, finite, 1-D float64 array (of length ``n`` when given)."""
    arr = to_numpy(x, name)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D with one value per example; got shape {arr.shape}. "
            "Flatten it or pass one column."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one example.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but there are {n} examples; "
            "pass one value per example (same order)."
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains NaN or inf at positions {np.flatnonzero(~np.isfinite(arr))[:5].tolist()}; "
            "remove or fix them."
        )
    return arr


def check_binary(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D boolean array from bools or 0/1 numbers (e.g. ``correct`` indicators)."""
    arr = to_numpy(x, name)
    if arr.dtype != bool:
        arr = check_vector(arr, name, n)
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(
                f"{name} must hold booleans or 0/1 values; "
                f"got other values such as {arr[(arr != 0) & (arr != 1)][:3].tolist()}."
            )
        return arr.astype(bool)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but there are {n} examples; "
            "pass one value per example (same order)."
        )
    return arr


def _check_matrix(x: Any, name: str) -> np.ndarray:
    arr = to_numpy(x, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_examples, n_classes); got shape {arr.shape}. "
            "For a binary classifier with one score per example pass both columns, e.g. np.stack([1 - p, "
            "p], axis=1)."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 examples); pass at least one example.")
    if arr.shape[1] < 2:
        raise ValueError(
            f"{name} needs at least 2 classes (columns); got {arr.shape[1]}. Pass one column per class."
        )
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} contains NaN or inf in rows {np.flatnonzero(bad.any(axis=1))[:5].tolist()}; "
            "fix or drop those examples."
        )
    return arr


def check_probs(probs: Any, atol: float = PROB_ATOL) -> np.ndarray:
    """Validate an ``(n, K)`` probability matrix; return it as float64.

    Entries must be finite, in ``[0, 1]``, and each row must sum to 1 within ``atol``.
    """
    p = _check_matrix(probs, "probs")
    if (p < 0).any():
        raise ValueError(
            f"probs has negative entries (min {p.min():.3g}); pass probabilities, e.g. "
            "llmu.calibration.softmax(logits)."
        )
    if (p > 1 + atol).any():
        raise ValueError(
            f"probs has entries above 1 (max {p.max():.3g}); these look like logits: "
            "convert with llmu.calibration.softmax(logits)."
        )
    sums = p.sum(axis=1)
    off = np.abs(sums - 1) > atol
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"probs rows must sum to 1 (tolerance {atol:g}); {int(off.sum())} rows do not, e.g. "
            f"row {i} sums to {sums[i]:.6g}. "
            "Normalise with probs / probs.sum(axis=1, keepdims=True), or pass logits through softmax()."
        )
    return p


def check_logits(logits: Any) -> np.ndarray:
    """Validate an ``(n, K)`` matrix of finite logits; return it as float64."""
    return _check_matrix(logits, "logits")


def check_labels(labels: Any, n_classes: int | None = None, n: int | None = None) -> np.ndarray:
    """Validate integer class labels in ``[0, n_classes)`` (and ``n`` of them when given); return int64."""
    y = to_numpy(labels, "labels")
    if y.ndim != 1:
        raise ValueError(
            f"labels must be 1-D with one class index per example; got shape {y.shape}. "
            "Use labels.reshape(-1) or argmax of one-hot labels."
        )
    if y.size == 0:
        raise ValueError("labels is empty; pass at least one example.")
    if n is not None and y.shape[0] != n:
        raise ValueError(
            f"labels has {y.shape[0]} entries but probs/logits have {n} rows; "
            "pass one label per row (same order)."
        )
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y) & (y == np.round(y))):
        raise ValueError(
            "labels must be integer class indices; got non-integer values. "
            "Pass class indices 0..K-1 (not probabilities or one-hot rows)."
        )
    y = y.astype(np.int64)
    if (y < 0).any() or (n_classes is not None and (y >= n_classes).any()):
        hi = "K-1" if n_classes is None else str(n_classes - 1)
        raise ValueError(
            f"labels must lie in [0, {hi}]; got min {y.min()}, max {y.max()}. "
            "Map labels to 0-based class indices (matching the columns of probs)."
        )
    return y


def check_n_bins(n_bins: Any) -> int:
    """``n_bins`` must be a positive integer."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer (e.g. 15); got {n_bins!r}.")
    return int(n_bins)


def _check_probs_labels(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    p = check_probs(probs)
    return p, check_labels(labels, p.shape[1], p.shape[0])


def top_label(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Top-label confidence ``max_k p_k`` and correctness ``argmax_k p_k == y`` (ties: lowest index)."""
    p, y = _check_probs_labels(probs, labels)
    return p.max(axis=1), p.argmax(axis=1) == y


# --------------------------------------------------------------------------- scores


def nll(probs: Any, labels: Any, eps: float = 1e-12) -> float:
    r"""Negative log-likelihood :math:`-\frac1n\sum_i \log p_{i,y_i}` (nats).

    A strictly proper scoring rule. Probabilities are clipped below at ``eps`` so that a
    probability that underflowed to 0 gives a large finite loss instead of ``inf``; compute
    from logits (``-log_softmax``) when exact values far in the tail matter.
    """
    p, y = _check_probs_labels(probs, labels)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], eps))))


def brier(probs: Any, labels: Any) -> float:
    r"""Multiclass Brier score :math:`\frac1n\sum_i\sum_k (p_{ik} - \mathbb 1[y_i = k])^2`, in ``[0, 2]``.

    This is Brier's original (1950) definition, summed over all K classes. The binary
    convention ``(p - y)^2`` on the positive class only is half of it when K = 2.
    """
    p, y = _check_probs_labels(probs, labels)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def accuracy(probs: Any, labels: Any) -> float:
    """Fraction of examples whose arg-max class (lowest index on ties) equals the label."""
    _, correct = top_label(probs, labels)
    return float(correct.mean())


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


def _check_binning(binning: Any) -> str:
    if binning not in ("width", "mass"):
        raise ValueError(
            f'binning must be "width" (equal-width bins) or "mass" (equal-count bins); got {binning!r}.'
        )
    return binning


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
        raise ValueError(f"confidence must lie in [0, 1]; got values from {conf.min():.3g} to {conf.max():.3g}.")
    n_bins = check_n_bins(n_bins)
    edges, idx = (_width_bins if _check_binning(binning) == "width" else _mass_bins)(conf, n_bins)
    size = len(edges) - 1
    counts = np.bincount(idx, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=size) / counts
        mean_acc = np.bincount(idx, weights=correct.astype(np.float64), minlength=size) / counts
    return ReliabilityData(
        edges=edges, confidence=mean_conf, accuracy=mean_acc, counts=counts, binning=binning
    )


def ece_floor(
    confidence: Any, n_bins: int = 15, binning: Binning = "width", n_draws: int = 200, seed: int = 0
) -> float:
    """The ECE that a *perfectly calibrated* model with these confidences would still show.

    Outcomes are drawn as ``Bernoulli(confidence)`` (so P(correct | c) = c holds exactly) and
    :func:`confidence_reliability`'s ECE is averaged over ``n_draws`` draws. The binned ECE is
    biased upwards on a finite sample; an ECE near this floor is within sampling noise.
    """
    conf = check_vector(confidence, "confidence")  # confidence_reliability checks the range
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer; got {n_draws!r}.")
    rng = np.random.default_rng(seed)
    return float(np.mean([confidence_reliability(conf, rng.random(len(conf)) < conf, n_bins, binning).ece
                          for _ in range(n_draws)]))


def ece(probs: Any, labels: Any, n_bins: int = 15, binning: Binning = "width") -> float:
    r"""Expected calibration error of the top-label confidence.

    :math:`\mathrm{ECE} = \sum_b \frac{n_b}{n}\,|\mathrm{acc}_b - \mathrm{conf}_b|` over the bins
    of :func:`reliability_diagram`. With ``binning="width"`` it equals
    ``torchmetrics.functional.classification.multiclass_calibration_error(norm="l1")``.
    The binned estimate is biased (upwards for a calibrated model on few examples).
    """
    return reliability_diagram(probs, labels, n_bins, binning).ece


def mce(probs: Any, labels: Any, n_bins: int = 15, binning: Binning = "width") -> float:
    r"""Maximum calibration error :math:`\max_b |\mathrm{acc}_b - \mathrm{conf}_b|` over non-empty bins.

    Equals torchmetrics' ``norm="max"`` with ``binning="width"``. Very noisy on sparse bins.
    """
    return reliability_diagram(probs, labels, n_bins, binning).mce


# --------------------------------------------------------------------------- temperature scaling


def softmax(logits: Any) -> np.ndarray:
    r"""Row-wise :math:`\mathrm{softmax}(z)_k = e^{z_k} / \sum_j e^{z_j}` (stable, float64)."""
    z = check_logits(logits)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def check_temperature(temperature: Any) -> float:
    if isinstance(temperature, torch.Tensor):
        temperature = temperature.item()
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise ValueError(f"temperature must be a positive number; got {temperature!r}.")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(
            f"temperature must be finite and > 0; got {temperature}. Use T > 1 to soften, T < 1 to sharpen."
        )
    return float(temperature)


def apply_temperature(logits: Any, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities ``softmax(logits / T)``; T > 1 softens, T < 1 sharpens."""
    t = check_temperature(temperature)
    return softmax(check_logits(logits) / t)


def _nll_grad_beta(z: np.ndarray, y: np.ndarray, beta: float) -> float:
    # d/dbeta of mean(-log softmax(beta z)_y) = mean(E_p[z] - z_y); increasing in beta (convexity).
    s = beta * z
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return float(np.mean(np.sum(p * z, axis=1) - z[np.arange(len(y)), y]))


def fit_temperature(logits: Any, labels: Any, bounds: tuple[float, float] = (0.01, 100.0)) -> float:
    r"""Fit :math:`T^* = \arg\min_{T>0} \mathrm{NLL}(\mathrm{softmax}(z / T), y)` on a calibration split.

    With :math:`\beta = 1/T` the NLL :math:`\frac1n\sum_i [\log\sum_k e^{\beta z_{ik}} - \beta z_{iy_i}]`
    is convex in :math:`\beta` (its second derivative is the mean variance of the logits under the
    scaled softmax), so its derivative :math:`\frac1n\sum_i (\mathbb E_{p_\beta}[z_i] - z_{iy_i})` is
    increasing and has at most one sign change. We bisect that derivative in :math:`\log\beta`
    inside ``bounds`` (deterministic, no step size, exact to float precision). If the minimum lies
    outside ``bounds`` (e.g. every example is correct with a margin, so NLL keeps falling as
    T -> 0) the nearer bound is returned with a warning. Fit on held-out data, never on the test set.
    """
    z = check_logits(logits)
    y = check_labels(labels, z.shape[1], z.shape[0])
    lo_t, hi_t = bounds
    if not (0 < lo_t < hi_t and math.isfinite(hi_t)):
        raise ValueError(f"bounds must be (t_min, t_max) with 0 < t_min < t_max < inf; got {bounds}.")
    z = z - z.mean(axis=1, keepdims=True)  # softmax is shift-invariant; keeps products small
    lo, hi = math.log(1 / hi_t), math.log(1 / lo_t)  # search log(beta)
    if _nll_grad_beta(z, y, math.exp(hi)) <= 0:
        warnings.warn(
            f"NLL is still decreasing at T = {lo_t}; returning that bound (are the logits separable?).",
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


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Interval:
    """A point estimate with a (percentile-bootstrap) confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}] ({100 * self.confidence:g}% CI)"


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays: Any,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile-bootstrap confidence interval for ``metric(*arrays)``.

    Each resample draws n example indices with replacement and applies the same rows to every
    array (so probabilities stay paired with their labels); the interval is the
    ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles of the resampled metric. The
    index matrix is drawn at once from ``np.random.default_rng(seed)``, so results are
    deterministic for a given seed. Arrays (numpy, torch, lists) reach ``metric`` as numpy.
    The interval is for the metric on this test-set distribution; it ignores e.g.
    training-seed variance.
    """
    if not callable(metric):
        raise ValueError(f"metric must be a callable f(*arrays) -> float; got {type(metric).__name__}.")
    if not arrays:
        raise ValueError("pass at least one array to resample, e.g. bootstrap_ci(ece, probs, labels).")
    data = [to_numpy(a, f"array {i}") for i, a in enumerate(arrays)]
    if any(a.ndim == 0 for a in data):
        raise ValueError("every array needs one row per example; got a scalar.")
    n = data[0].shape[0]
    if any(a.shape[0] != n for a in data):
        raise ValueError(
            f"all arrays must have the same number of rows (examples); got {[a.shape[0] for a in data]}."
        )
    if n < 2:
        raise ValueError(f"need at least 2 examples to bootstrap; got {n}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(
            f"n_resamples must be a positive integer (1000 or more for a 95% interval); got {n_resamples!r}."
        )
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float, np.floating))
        or not 0 < confidence < 1
    ):
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95); got {confidence!r}.")
    estimate = float(metric(*data))
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    stats = np.array([float(metric(*(a[i] for a in data))) for i in idx])
    bad = ~np.isfinite(stats)
    if bad.any():
        raise ValueError(
            f"metric returned NaN/inf on {int(bad.sum())} of {n_resamples} resamples; "
            "make it defined on every resample."
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(stats, [tail, 1 - tail])
    return Interval(estimate=estimate, low=float(low), high=float(high), confidence=float(confidence))


#: The scores of :func:`scorecard`: name -> metric(probs, labels).
SCORES: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "NLL": nll,
    "Brier": brier,
    "ECE (equal width)": ece,
    "ECE (equal mass)": lambda probs, labels: ece(probs, labels, binning="mass"),
    "MCE": mce,
}


def scorecard(
    probs: Any, labels: Any, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[str, Interval]:
    """Every score of :data:`SCORES` with its bootstrap confidence interval (15 bins for ECE/MCE)."""
    p, y = _check_probs_labels(probs, labels)
    return {
        name: bootstrap_ci(metric, p, y, n_resamples=n_resamples, confidence=confidence, seed=seed)
        for name, metric in SCORES.items()
    }
