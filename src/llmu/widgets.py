"""Interactive widgets for the lessons (they also render statically when run by papermill)."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from llmu import calibration as cal
from llmu._checks import check_int, check_labels, check_logits, check_positive
from llmu.plots import plot_reliability

__all__ = ["reliability_at_temperature", "temperature_figure", "temperature_slider"]


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
