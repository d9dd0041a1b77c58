"""Interactive widgets for the lessons (they also render statically when run by papermill)."""

from __future__ import annotations

import base64
import io
import html
import math
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from llmu import calibration as cal
from llmu import uq
from llmu._checks import (
    check_binary,
    check_int,
    check_labels,
    check_logits,
    check_positive,
    check_vector,
)
from llmu.plots import plot_reliability

__all__ = [
    "abstention_figure",
    "abstention_slider",
    "reliability_at_temperature",
    "temperature_figure",
    "temperature_slider",
]


def reliability_at_temperature(
    logits: Any, labels: Any, temperature: float, n_bins: int = 15, binning: cal.Binning = "width"
) -> tuple[cal.ReliabilityData, float, float]:
    """Reliability diagram, NLL and ECE of ``softmax(logits / temperature)``."""
    probs = cal.TemperatureScaler(temperature).predict_proba(logits)
    data = cal.reliability_diagram(probs, labels, n_bins, binning)
    return data, cal.nll(probs, labels), data.ece


def temperature_figure(
    logits: Any,
    labels: Any,
    temperature: float,
    fitted: float,
    n_bins: int = 15,
    curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Figure:
    """The slider's picture: reliability diagram at ``temperature`` and NLL/ECE against T,
    fitted T marked.

    ``curve`` = (T grid, NLL, ECE) precomputed over the grid (computed here when ``None``).
    Uses a bare ``Figure`` (no pyplot state), so it can be redrawn many times without leaking.
    """
    data, nll_t, ece_t = reliability_at_temperature(logits, labels, temperature, n_bins)
    if curve is None:
        lo, hi = min(temperature, fitted), max(temperature, fitted)
        curve = _curve(logits, labels, lo / 2, hi * 2, n_bins)
    grid, nlls, eces = curve
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax_rel, ax_t = fig.subplots(1, 2)
    plot_reliability(
        data,
        labels=[f"T = {temperature:.2f}"],
        ax=ax_rel,
        title=f"T = {temperature:.2f}: NLL {nll_t:.3f}, ECE {ece_t:.3f}",
    )
    ax_t.plot(grid, nlls, color="tab:blue", label="NLL")
    ax_t.set_xscale("log")
    ax_t.xaxis.set_major_locator(ticker.LogLocator(base=2))
    ax_t.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax_t.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax_t.set_xlabel("temperature T (log scale)")
    ax_t.set_ylabel("NLL (nats)", color="tab:blue")
    ax_e = ax_t.twinx()
    ax_e.plot(grid, eces, color="tab:orange", label="ECE")
    ax_e.set_ylabel("ECE", color="tab:orange")
    ax_t.axvline(fitted, color="black", ls="--", lw=1, label=f"fitted T* = {fitted:.2f}")
    ax_t.axvline(temperature, color="tab:red", lw=1.5, label=f"current T = {temperature:.2f}")
    handles = ax_t.get_legend_handles_labels()[0] + ax_e.get_legend_handles_labels()[0]
    ax_t.legend(handles=handles, loc="upper center", fontsize="small")
    ax_t.set_title("NLL and ECE against temperature")
    return fig


def _curve(
    logits: Any, labels: Any, t_min: float, t_max: float, n_bins: int, n: int = 41
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = np.geomspace(t_min, t_max, n) if t_max > t_min else np.array([t_min])
    stats = [reliability_at_temperature(logits, labels, t, n_bins)[1:] for t in grid]
    return grid, np.array([s[0] for s in stats]), np.array([s[1] for s in stats])


def _png_output(fig: Figure) -> dict[str, Any]:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return {
        "output_type": "display_data",
        "data": {
            "image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
            "text/plain": "<reliability diagram>",
        },
        "metadata": {},
    }


def temperature_slider(
    logits: Any,
    labels: Any,
    n_bins: int = 15,
    t_min: float = 0.25,
    t_max: float = 4.0,
    initial: float = 1.0,
    fitted: float | None = None,
) -> widgets.VBox:
    """A log-scale slider for the temperature T that redraws the reliability diagram, NLL and ECE.

    The fitted temperature is marked on the NLL/ECE panel: ``fitted`` when given (e.g. fitted
    on a calibration split), else a :class:`llmu.calibration.TemperatureScaler` fitted on these
    logits. The figure is written straight into the ``Output`` widget's ``outputs`` (a PNG), so
    the initial state is stored in the notebook's widget state when executed headless
    (papermill/nbclient) and the picture shows in the book. Use held-out logits: fitting and
    judging T on the same data flatters it.
    """
    z = check_logits(logits)
    y = check_labels(labels, z.shape[1], z.shape[0])
    n_bins = check_int(n_bins, "n_bins")
    for name, v in (("t_min", t_min), ("t_max", t_max), ("initial", initial)):
        check_positive(v, name, "It is a temperature.")
    if not t_min < t_max:
        raise ValueError(f"t_min must be below t_max; got t_min={t_min}, t_max={t_max}.")
    if not t_min <= initial <= t_max:
        raise ValueError(f"initial must lie in [t_min, t_max] = [{t_min}, {t_max}]; got {initial}.")
    if fitted is None:
        fitted = cal.TemperatureScaler().fit(z, y).temperature
    fitted = check_positive(fitted, "fitted", "It is a temperature.")
    curve = _curve(z, y, t_min, t_max, n_bins)
    _, nll_star, ece_star = reliability_at_temperature(z, y, fitted, n_bins)

    slider = widgets.FloatLogSlider(
        value=initial,
        base=10,
        min=math.log10(t_min),
        max=math.log10(t_max),
        step=0.01,
        description="T",
        continuous_update=False,
        readout_format=".2f",
    )
    summary = widgets.HTML()
    out = widgets.Output()

    def redraw(change: Any = None) -> None:
        t = float(slider.value)
        _, nll_t, ece_t = reliability_at_temperature(z, y, t, n_bins)
        summary.value = (
            f"T = {t:.2f}: NLL = {nll_t:.4f}, ECE = {ece_t:.4f} &nbsp;|&nbsp; "
            f"fitted T* = {fitted:.2f}: NLL = {nll_star:.4f}, ECE = {ece_star:.4f}"
        )
        out.outputs = (_png_output(temperature_figure(z, y, t, fitted, n_bins, curve)),)

    slider.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([slider, summary, out])
    box.fitted_temperature = fitted  # type: ignore[attr-defined]
    return box


def abstention_figure(confidence: Any, correct: Any, threshold: float, name: str) -> Figure:
    """The abstention slider's picture: accuracy of the answers kept against coverage as the
    threshold on ``confidence`` moves, the current threshold marked."""
    curve = uq.risk_coverage_curve(confidence, correct)
    conf = check_vector(confidence, "confidence")
    ok = check_binary(correct, "correct", len(conf))
    kept = conf >= threshold
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(curve.coverage, 1 - curve.risk, color="tab:blue", label=f"keep if {name} >= t")
    ax.axhline(float(ok.mean()), color="gray", ls=":", label="answer everything")
    if kept.any():
        ax.plot(kept.mean(), ok[kept].mean(), "o", color="tab:red", ms=8,
                label=f"t = {threshold:.3g}")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="coverage (share of questions answered)",
           ylabel="accuracy of the answers kept", title="Abstaining below a threshold")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    return fig


def _answer_table(items: list[tuple[str, str, bool, float, bool]]) -> str:
    rows = "".join(
        f"<tr style='opacity:{1 if kept else 0.45}'><td>{html.escape(q)}</td>"
        f"<td>{html.escape(a)}</td><td>{'right' if ok else 'wrong'}</td><td>{c:.3g}</td>"
        f"<td>{'kept' if kept else 'abstained'}</td></tr>"
        for q, a, ok, c, kept in items
    )
    return (
        "<div style='max-height:260px;overflow-y:auto'><table><thead><tr><th>question</th>"
        "<th>answer</th><th>judged</th><th>confidence</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def abstention_slider(
    questions: list[str],
    answers: list[str],
    correct: Any,
    confidence: Any,
    name: str = "confidence",
    initial: float | None = None,
) -> widgets.VBox:
    """A slider for an abstention threshold t: the model answers only when ``confidence >= t``.

    Shows the coverage, the accuracy of the answers kept, the curve of both, and every answer
    (most confident first) marked kept or abstained. ``initial`` defaults to the median
    confidence (half of the questions answered). As :func:`temperature_slider`, it writes its
    picture into the ``Output`` widget's state, so the built book shows it without a kernel.
    """
    conf = check_vector(confidence, "confidence")
    ok = check_binary(correct, "correct", len(conf))
    if not len(questions) == len(answers) == len(conf):
        raise ValueError(f"{len(questions)} questions, {len(answers)} answers and {len(conf)} "
                         "confidences: pass one of each per question")
    low, high = float(conf.min()), float(conf.max())
    start = float(np.median(conf)) if initial is None else float(initial)
    if not low <= start <= high:
        raise ValueError(f"initial must lie in [{low:.3g}, {high:.3g}]; got {initial}")
    order = np.argsort(-conf, kind="stable")
    slider = widgets.FloatSlider(value=start, min=low, max=high, step=(high - low) / 200 or 1,
                                 description="t", continuous_update=False, readout_format=".3g")
    summary, table, out = widgets.HTML(), widgets.HTML(), widgets.Output()

    def redraw(change: Any = None) -> None:
        t = float(slider.value)
        kept = conf >= t
        accuracy = f"{ok[kept].mean():.3f}" if kept.any() else "n/a (nothing kept)"
        summary.value = (f"threshold t = {t:.3g}: answers {kept.sum()} of {len(conf)} questions "
                         f"(coverage {kept.mean():.2f}); accuracy of the answers kept {accuracy}; "
                         f"answering everything: {ok.mean():.3f}")
        table.value = _answer_table([(questions[i], answers[i], bool(ok[i]), float(conf[i]),
                                      bool(kept[i])) for i in order])
        out.outputs = (_png_output(abstention_figure(conf, ok, t, name)),)

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, summary, out, table])
