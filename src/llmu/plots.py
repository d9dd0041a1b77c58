"""Matplotlib figures for the course: reliability diagrams, risk-coverage and ROC curves.

Every function draws on ``ax`` (a new figure when ``None``), labels its axes, and returns the
Axes; none calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from mpl_toolkits.axes_grid1 import make_axes_locatable

from llmu.calibration import ReliabilityData
from llmu.uq import ROC, RiskCoverage

__all__ = ["plot_alignment", "plot_reliability", "plot_risk_coverage", "plot_roc"]

CONFIDENCE_LABEL = "confidence (top-label probability)"


def _as_list(data: ReliabilityData | Sequence[ReliabilityData]) -> list[ReliabilityData]:
    items = [data] if isinstance(data, ReliabilityData) else list(data)
    if not items or not all(isinstance(d, ReliabilityData) for d in items):
        raise ValueError(
            "plot_reliability needs a ReliabilityData or a non-empty list of them "
            "(from calibration.reliability_diagram)."
        )
    return items


def plot_reliability(
    data: ReliabilityData | Sequence[ReliabilityData],
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    histogram: bool = True,
    xlabel: str = CONFIDENCE_LABEL,
    ylabel: str = "accuracy",
) -> Axes:
    """Reliability diagram: per-bin accuracy against confidence, and the diagonal of perfect
    calibration.

    One diagram: accuracy bars plus hatched bars for the gap to the bin's mean confidence.
    Several (e.g. before/after temperature scaling): one line with markers at (mean confidence,
    accuracy) of each bin per diagram, no bars, so that overlaid diagrams stay readable. The
    legend gives each diagram's ECE. With ``histogram=True`` a panel below shows how many
    examples fall in each bin: counts for one diagram, for several the *fraction* of each
    diagram's examples, so that a small data set is as visible as a large one. ``xlabel``
    (both panels) and ``ylabel`` name the axes, e.g. ``"entity confidence"`` and ``"fraction of
    entities exactly right"`` for :func:`llmu.calibration.confidence_reliability` data.
    Returns the main Axes (the histogram Axes is ``ax.histogram_ax``).
    """
    items = _as_list(data)
    if isinstance(labels, str):
        labels = [labels]
    if labels is None:
        labels = ["model"] if len(items) == 1 else [f"model {i + 1}" for i in range(len(items))]
    if len(labels) != len(items):
        raise ValueError(
            f"got {len(labels)} labels for {len(items)} diagrams; pass one label per diagram."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5.5 if histogram else 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    single = len(items) == 1
    hist_ax = None
    if histogram:
        hist_ax = make_axes_locatable(ax).append_axes("bottom", size="28%", pad=0.6, sharex=ax)
    ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1, label="perfect calibration")
    markers = "osD^vP"
    for i, (d, name) in enumerate(zip(items, labels)):
        color = colors[i % len(colors)]
        full = d.counts > 0
        left, width = d.edges[:-1], np.diff(d.edges)
        wide = full & (width > 0)
        if single:
            ax.bar(
                left[wide],
                d.accuracy[wide],
                width=width[wide],
                align="edge",
                color=color,
                alpha=0.8,
                edgecolor="black",
                lw=0.6,
                label=f"{name} accuracy (ECE = {d.ece:.3f})",
            )
            point = full & (width == 0)  # zero-width bins, e.g. confidences of exactly 1
            ax.plot(left[point], d.accuracy[point], "D", color=color, ms=5)
            lo = np.minimum(d.accuracy[wide], d.confidence[wide])
            ax.bar(
                left[wide],
                np.abs(d.accuracy[wide] - d.confidence[wide]),
                bottom=lo,
                width=width[wide],
                align="edge",
                color="tab:red",
                alpha=0.3,
                hatch="//",
                edgecolor="tab:red",
                lw=0.6,
                label="gap to mean confidence",
            )
        else:
            ax.plot(
                d.confidence[full],
                d.accuracy[full],
                marker=markers[i % len(markers)],
                color=color,
                ms=5,
                lw=1.8,
                label=f"{name} (ECE = {d.ece:.3f})",
            )
        if hist_ax is not None:
            if single:
                hist_ax.stairs(d.counts, d.edges, color=color, fill=True, alpha=0.6, label=name)
            else:
                share = d.counts / max(d.counts.sum(), 1)
                hist_ax.stairs(share, d.edges, color=color, lw=1.8, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Reliability diagram")
    ax.legend(loc="upper left", fontsize="small")
    if hist_ax is not None:
        hist_ax.set_xlabel(xlabel)
        hist_ax.set_ylabel("count" if single else "fraction")
        hist_ax.set_xlim(0, 1)
    ax.histogram_ax = hist_ax  # type: ignore[attr-defined]
    return ax


def plot_risk_coverage(
    curves: Mapping[str, RiskCoverage] | RiskCoverage,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Selective risk (error rate among kept examples) against coverage, one line per curve,
    AURC in the legend."""
    if isinstance(curves, RiskCoverage):
        curves = {"model": curves}
    if (
        not isinstance(curves, Mapping)
        or not curves
        or not all(isinstance(c, RiskCoverage) for c in curves.values())
    ):
        raise ValueError(
            "plot_risk_coverage needs a dict {name: RiskCoverage} (from uq.risk_coverage_curve)."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    top = 0.0
    for name, c in curves.items():
        ax.plot(c.coverage, c.risk, lw=1.5, label=f"{name} (AURC = {c.aurc:.3f})")
        ax.plot([1.0], [c.risk[-1]], "o", color=ax.lines[-1].get_color(), ms=4)
        top = max(top, float(np.max(c.risk)))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(0.05, 1.05 * top))
    ax.set_xlabel("coverage (fraction of examples answered)")
    ax.set_ylabel("selective risk (error rate)")
    ax.set_title(title or "Risk-coverage curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_roc(
    curves: Mapping[str, ROC],
    ax: Axes | None = None,
    title: str | None = None,
    tpr: float | None = 0.95,
) -> Axes:
    """ROC curves of out-of-scope detectors (from :func:`llmu.uq.roc_curve`), one colour each,
    legend ordered by AUROC (best first).

    With ``tpr`` (default 0.95) a labelled horizontal line marks that true positive rate, and a
    dot on each curve marks its FPR there (the "FPR at 95% TPR" of :func:`llmu.uq.fpr_at_tpr`).
    """
    if (
        not isinstance(curves, Mapping)
        or not curves
        or not all(isinstance(c, ROC) for c in curves.values())
    ):
        raise ValueError("plot_roc needs a dict {name: ROC} (from uq.roc_curve).")
    if tpr is not None and not 0 < tpr <= 1:
        raise ValueError(f"tpr must be in (0, 1], e.g. 0.95; got {tpr}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    area = {name: float(np.sum(np.diff(c.fpr) * (c.tpr[1:] + c.tpr[:-1]) / 2))
            for name, c in curves.items()}
    colors = plt.get_cmap("tab10").colors
    ax.plot([0, 1], [0, 1], color="gray", lw=1, ls="--", label="chance (AUROC 0.5)")
    if tpr is not None:
        ax.axhline(tpr, color="black", lw=0.8, ls=":", label=f"TPR = {tpr:g}: dots mark each FPR")
    for i, name in enumerate(sorted(curves, key=lambda n: -area[n])):
        c, color = curves[name], colors[i % len(colors)]
        ax.plot(c.fpr, c.tpr, color=color, lw=1.8, label=f"{name} (AUROC {area[name]:.3f})")
        if tpr is not None:
            at = int(np.argmax(c.tpr >= tpr - 1e-12))
            ax.plot([c.fpr[at]], [c.tpr[at]], "o", color=color, ms=6, mec="black", mew=0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate (in-scope flagged)")
    ax.set_ylabel("true positive rate (out-of-scope flagged)")
    ax.set_title(title or "ROC curves (out-of-scope = positive)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_alignment(
    words: Sequence[str],
    tokens: Sequence[str],
    word_ids: Sequence[int | None],
    token_labels: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Words on top, their sub-tokens below, a line from each word to each of its sub-tokens.

    ``word_ids`` is the tokenizer's ``word_ids()`` (None for special tokens) and ``token_labels``
    the training label of each token (e.g. ``"B-PER"`` or ``"-100"``); lines to tokens that carry
    a real label are solid, lines to ignored sub-tokens dotted.
    """
    if not len(tokens) == len(word_ids) == len(token_labels):
        raise ValueError(
            f"tokens, word_ids and token_labels must have one entry per token; got lengths "
            f"{len(tokens)}, {len(word_ids)}, {len(token_labels)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.95 * len(tokens)), 2.8))
    spans: dict[int, list[int]] = {}
    for j, w in enumerate(word_ids):
        if w is not None:
            spans.setdefault(w, []).append(j)
    box = {"boxstyle": "round,pad=0.3", "lw": 0.8}
    for w, positions in spans.items():
        x = float(np.mean(positions))
        ax.text(
            x,
            1.0,
            words[w],
            ha="center",
            va="center",
            fontsize="small",
            bbox={**box, "fc": "#dbe9f6"},
        )
        for j in positions:
            ignored = token_labels[j] == "-100"
            ax.plot(
                [x, j],
                [0.88, 0.12],
                color="gray" if ignored else "tab:blue",
                ls=":" if ignored else "-",
                lw=1,
            )
    for j, (token, label) in enumerate(zip(tokens, token_labels)):
        ignored = label == "-100"
        ax.text(
            j,
            0.0,
            token,
            ha="center",
            va="center",
            fontsize="small",
            bbox={**box, "fc": "#eeeeee" if ignored else "#fde9c9"},
        )
        ax.text(
            j,
            -0.35,
            label,
            ha="center",
            va="center",
            fontsize="small",
            color="gray" if ignored else "black",
            rotation=30,
        )
    ax.set_xlim(-0.7, len(tokens) - 0.3)
    ax.set_ylim(-0.6, 1.2)
    ax.set_yticks([1.0, 0.0, -0.35], ["words", "sub-tokens", "training label"])
    ax.set_xticks([])
    ax.set_xlabel("token position")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "Sub-word label alignment")
    return ax
