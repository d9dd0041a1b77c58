"""Tests of llmu.plots and llmu.widgets (matplotlib Agg backend, no kernel needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from ipywidgets.embed import dependency_state

from llmu import calibration as cal
from llmu import plots, uq, widgets


@pytest.fixture(scope="module")
def logits_labels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 3)) * 3
    y = (cal.softmax(z / 2).cumsum(axis=1) < rng.uniform(size=(400, 1))).sum(axis=1)  # true T = 2
    return z, y


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_reliability_single(logits_labels):
    z, y = logits_labels
    d = cal.reliability_diagram(cal.softmax(z), y)
    ax = plots.plot_reliability(d, title="before")
    assert ax.get_xlabel() and ax.get_ylabel() == "accuracy" and ax.get_title() == "before"
    assert any(f"ECE = {d.ece:.3f}" in t for t in _legend_texts(ax))
    assert any("gap" in t for t in _legend_texts(ax))
    hist = ax.histogram_ax
    assert hist.get_ylabel() == "count" and hist.get_xlabel()
    assert len(ax.figure.axes) == 2


def test_plot_reliability_overlay_on_given_axes(logits_labels):
    z, y = logits_labels
    t = cal.fit_temperature(z, y)
    ds = [
        cal.reliability_diagram(cal.apply_temperature(z, temp), y, 10, b)
        for temp, b in ((1.0, "width"), (t, "mass"))
    ]
    fig, ax = plt.subplots()
    out = plots.plot_reliability(ds, labels=["T = 1", "fitted T"], ax=ax, histogram=False)
    assert out is ax and ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    texts = _legend_texts(ax)
    assert any(t.startswith("T = 1 ") for t in texts) and any(
        t.startswith("fitted T") for t in texts
    )
    assert out.histogram_ax is None and len(fig.axes) == 1
    assert not out.patches, "overlaid diagrams are drawn as lines, not as bars on top of each other"
    assert len(out.get_lines()) == 3  # the diagonal and one line per diagram


def test_overlaid_histograms_show_fractions_so_a_small_set_stays_visible(logits_labels):
    z, y = logits_labels
    big = cal.reliability_diagram(cal.softmax(z), y)
    small = cal.reliability_diagram(cal.softmax(z[:40]), y[:40])
    ax = plots.plot_reliability([big, small], labels=["400", "40"])
    assert ax.histogram_ax.get_ylabel() == "fraction"
    heights = [patch.get_data().values for patch in ax.histogram_ax.patches]
    assert [h.sum() for h in heights] == pytest.approx([1.0, 1.0])


def test_plot_reliability_axis_labels_default_and_custom():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0, 1, 200)
    d = cal.confidence_reliability(conf, rng.uniform(0, 1, 200) < conf)
    ax = plots.plot_reliability(d)
    assert ax.get_xlabel() == plots.CONFIDENCE_LABEL == ax.histogram_ax.get_xlabel()
    assert ax.get_ylabel() == "accuracy"
    ax = plots.plot_reliability(d, xlabel="entity confidence", ylabel="fraction of entities right")
    assert ax.get_xlabel() == "entity confidence" == ax.histogram_ax.get_xlabel()
    assert ax.get_ylabel() == "fraction of entities right"
    assert ax.histogram_ax.get_ylabel() == "count"


def test_plot_reliability_handles_confidence_one_and_bad_args():
    d = cal.reliability_diagram([[1.0, 0.0], [0.9, 0.1]], [1, 0])
    assert d.n_bins == 16  # the zero-width bin [1, 1]
    plots.plot_reliability(d)
    with pytest.raises(ValueError, match="one label per diagram"):
        plots.plot_reliability([d, d], labels=["only one"])
    with pytest.raises(ValueError, match="ReliabilityData"):
        plots.plot_reliability([])


def test_plot_risk_coverage(logits_labels):
    z, y = logits_labels
    conf, correct = cal.top_label(cal.softmax(z), y)
    curves = {
        "max prob": uq.risk_coverage_curve(conf, correct),
        "random": uq.risk_coverage_curve(np.random.default_rng(0).uniform(size=len(y)), correct),
    }
    ax = plots.plot_risk_coverage(curves)
    assert "coverage" in ax.get_xlabel() and "risk" in ax.get_ylabel() and ax.get_title()
    assert any("AURC" in t for t in _legend_texts(ax)) and len(ax.get_lines()) == 4
    plots.plot_risk_coverage(curves["max prob"])  # a single curve is accepted too
    with pytest.raises(ValueError, match="RiskCoverage"):
        plots.plot_risk_coverage({"x": [1, 2]})


def test_plot_roc_orders_by_auroc_and_marks_the_fpr_at_95_tpr():
    rng = np.random.default_rng(0)
    s_in = rng.normal(0, 1, 300)
    s_out = {"weak": rng.normal(0.5, 1, 200), "strong": rng.normal(2.0, 1, 200)}
    curves = {name: uq.roc_curve(s_in, s) for name, s in s_out.items()}
    ax = plots.plot_roc(curves, title="OOS")
    texts = _legend_texts(ax)
    assert texts[0].startswith("chance") and texts[1].startswith("TPR = 0.95")
    assert texts[2:] == [f"{name} (AUROC {uq.auroc(s_in, s_out[name]):.3f})"
                         for name in ("strong", "weak")]  # best first, areas as uq.auroc
    colours = {line.get_color() for line in ax.get_lines() if len(line.get_xdata()) > 2}
    assert len(colours) == 2  # the two curves, each its own colour (the chance line has 2 points)
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 2 and all(line.get_ydata()[0] >= 0.95 for line in dots)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "OOS"
    with pytest.raises(ValueError, match="ROC"):
        plots.plot_roc({"x": [0, 1]})
    with pytest.raises(ValueError, match="tpr"):
        plots.plot_roc(curves, tpr=1.5)


def test_reliability_at_temperature(logits_labels):
    z, y = logits_labels
    d, nll, ece = widgets.reliability_at_temperature(z, y, 2.0)
    p = cal.apply_temperature(z, 2.0)
    assert (
        nll == pytest.approx(cal.nll(p, y))
        and ece == pytest.approx(cal.ece(p, y))
        and d.n_examples == len(y)
    )


def _png(box: ipywidgets.VBox) -> str:
    (output,) = box.children[2].outputs
    return output["data"]["image/png"]


def test_temperature_slider_builds_and_updates(logits_labels):
    z, y = logits_labels
    box = widgets.temperature_slider(z, y, n_bins=10, initial=1.0)
    slider, summary, out = box.children
    assert isinstance(slider, ipywidgets.FloatLogSlider) and isinstance(out, ipywidgets.Output)
    assert slider.value == 1.0 and box.fitted_temperature == pytest.approx(
        cal.fit_temperature(z, y)
    )
    before_png, before_text = _png(box), summary.value
    assert "T = 1.00" in before_text and "fitted T*" in before_text and before_png
    slider.value = 2.0
    assert _png(box) != before_png and summary.value != before_text and "T = 2.00" in summary.value
    _, nll2, ece2 = widgets.reliability_at_temperature(z, y, 2.0, n_bins=10)
    assert f"NLL = {nll2:.4f}" in summary.value and f"ECE = {ece2:.4f}" in summary.value
    # the picture lives in the widget state, which nbclient stores when run headless (papermill)
    state = dependency_state(box)
    outputs = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    assert outputs and "image/png" in outputs[0][0]["data"]


def test_temperature_figure_has_labelled_axes(logits_labels):
    z, y = logits_labels
    fig = widgets.temperature_figure(z, y, 1.5, fitted=2.0)
    for ax in fig.axes:
        assert ax.get_ylabel()
    assert any("temperature" in ax.get_xlabel() for ax in fig.axes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t_min": 0.0}, "t_min"),
        ({"t_min": 4.0, "t_max": 1.0, "initial": 2.0}, "below t_max"),
        ({"initial": 10.0}, "initial"),
        ({"n_bins": -1}, "n_bins"),
    ],
)
def test_temperature_slider_bad_args(logits_labels, kwargs, match):
    z, y = logits_labels
    with pytest.raises(ValueError, match=match):
        widgets.temperature_slider(z, y, **kwargs)
