"""Input validation shared by every module of :mod:`llmu` (private: import, do not re-export).

Each check returns the value in canonical form (numpy float64/int64 arrays, Python ``int`` or
``float``) or raises ``ValueError`` saying what was wrong and how to fix it. ``name`` is the
argument's name as the caller knows it; ``hint`` is appended to the message.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Collection
from typing import Any

import numpy as np

PROB_ATOL = 1e-4  # tolerance on row sums of probabilities (float32 softmax outputs pass)


def _hint(hint: str) -> str:
    return f" {hint}" if hint else ""


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only once torch is imported
    return torch is not None and isinstance(x, torch.Tensor)


# --------------------------------------------------------------------------- scalars


def check_int(value: Any, name: str, minimum: int = 1, hint: str = "") -> int:
    """An integer (not a bool) ``>= minimum``, as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        raise ValueError(f"{name} must be {kind}; got {value!r}.{_hint(hint)}")
    return int(value)


def check_seed(seed: Any, name: str = "seed") -> int:
    """A random seed: a non-negative integer."""
    return check_int(seed, name, 0)


def check_number(
    value: Any,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
    hint: str = "",
) -> float:
    """A finite real number (not a bool) in the interval from ``low`` to ``high``, as ``float``.

    The bounds are included unless ``open_low``/``open_high``; torch and numpy scalars pass.
    """
    if _is_tensor(value) and value.numel() == 1:
        value = value.item()
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        ok = math.isfinite(value) and (low < value if open_low else low <= value)
        ok = ok and (value < high if open_high else value <= high)
    if not ok:
        if math.isinf(low) and math.isinf(high):
            where = "finite"
        elif math.isinf(high):
            where = f"{'>' if open_low else '>='} {low:g}"
        elif math.isinf(low):
            where = f"{'<' if open_high else '<='} {high:g}"
        else:
            where = f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ValueError(f"{name} must be a number {where}; got {value!r}.{_hint(hint)}")
    return float(value)


def check_positive(value: Any, name: str, hint: str = "") -> float:
    """A finite number ``> 0`` (a temperature, a radius, a scale), as ``float``."""
    return check_number(value, name, 0.0, open_low=True, hint=hint)


def check_fraction(value: Any, name: str, hint: str = "") -> float:
    """A number in ``[0, 1]`` (a rate or a weight between two terms), as ``float``."""
    return check_number(value, name, 0.0, 1.0, hint=hint)


def check_choice(value: Any, name: str, choices: Collection[str]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}.")
    return value


# --------------------------------------------------------------------------- arrays


def to_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` (numpy array, torch tensor, list, scalar) as numpy; floats become float64."""
    if _is_tensor(x):
        x = x.detach().cpu()
        arr = (x.double() if x.is_floating_point() else x).numpy()
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


def _check_length(arr: np.ndarray, name: str, n: int | None) -> None:
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but there are {n} examples; "
            "pass one value per example (same order)."
        )


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
    _check_length(arr, name, n)
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"{name} contains NaN or inf at positions {bad[:5].tolist()}; remove or fix them."
        )
    return arr


def check_binary(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D boolean array from bools or 0/1 numbers (e.g. ``correct`` indicators)."""
    arr = to_numpy(x, name)
    if arr.dtype != bool:
        arr = check_vector(arr, name, n)
        other = arr[(arr != 0) & (arr != 1)]
        if other.size:
            raise ValueError(
                f"{name} must hold booleans or 0/1 values; "
                f"got other values such as {other[:3].tolist()}."
            )
        return arr.astype(bool)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}.")
    _check_length(arr, name, n)
    return arr


def check_matrix(x: Any, name: str) -> np.ndarray:
    """A finite ``(n >= 1, K >= 2)`` float64 matrix: one row per example, one column per class."""
    arr = to_numpy(x, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_examples, n_classes); got shape {arr.shape}. "
            "For a binary classifier with one score per example pass both columns, "
            "e.g. np.stack([1 - p, p], axis=1)."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 examples); pass at least one example.")
    if arr.shape[1] < 2:
        raise ValueError(
            f"{name} needs at least 2 classes (columns); got {arr.shape[1]}. "
            "Pass one column per class."
        )
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} contains NaN or inf in rows {np.flatnonzero(bad.any(axis=1))[:5].tolist()}; "
            "fix or drop those examples."
        )
    return arr


def check_probs(probs: Any, atol: float = PROB_ATOL, name: str = "probs") -> np.ndarray:
    """An ``(n, K)`` probability matrix (entries in [0, 1], rows summing to 1 within ``atol``)."""
    p = check_matrix(probs, name)
    if (p < 0).any():
        raise ValueError(
            f"{name} has negative entries (min {p.min():.3g}); pass probabilities, e.g. "
            "llmu.calibration.softmax(logits)."
        )
    if (p > 1 + atol).any():
        raise ValueError(
            f"{name} has entries above 1 (max {p.max():.3g}); these look like logits: "
            "convert with llmu.calibration.softmax(logits)."
        )
    sums = p.sum(axis=1)
    off = np.abs(sums - 1) > atol
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"{name} rows must sum to 1 (tolerance {atol:g}); {int(off.sum())} rows do not, "
            f"e.g. row {i} sums to {sums[i]:.6g}. Normalise with "
            "probs / probs.sum(axis=1, keepdims=True), or pass logits through softmax()."
        )
    return p


def check_logits(logits: Any, name: str = "logits") -> np.ndarray:
    """An ``(n, K)`` matrix of finite logits, as float64."""
    return check_matrix(logits, name)


def check_labels(labels: Any, n_classes: int | None = None, n: int | None = None) -> np.ndarray:
    """Integer class labels in ``[0, n_classes)`` (``n`` of them when given), as int64."""
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


def check_probs_labels(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`check_probs` and :func:`check_labels` for one matrix and its labels."""
    p = check_probs(probs)
    return p, check_labels(labels, p.shape[1], p.shape[0])


def check_bounds(bounds: Any, name: str = "bounds") -> tuple[float, float]:
    """A search range ``(low, high)`` of positive finite numbers with ``low < high``."""
    try:
        low, high = (check_positive(b, name) for b in bounds)
    except (TypeError, ValueError):
        low = high = math.nan
    if not low < high:
        raise ValueError(
            f"{name} must be (t_min, t_max) with 0 < t_min < t_max < inf; got {bounds!r}."
        )
    return low, high
