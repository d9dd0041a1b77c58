"""llmu.ledger: the generated results ledger and execution status, on hand-made runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmu import ledger


def _write_run(root: Path, name: str, metrics: dict, exception: bool = False, title: str = "A lesson") -> None:
    notebook = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n", "\n", "Text."]}],
        "metadata": {"papermill": {"end_time": "2026-11-22T10:00:00", "exception": exception}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (root / "executed").mkdir(exist_ok=True)
    (root / "executed" / f"{name}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (root / "artifacts" / name).mkdir(parents=True, exist_ok=True)
    record = {"lesson": name, "profile": "quick", "seed": 0, "device": "cpu (2 threads)", "runtime_s": 12.34,
              "versions": {"torch": "2.13.0"}, **metrics}
    (root / "artifacts" / name / "metrics.json").write_text(json.dumps(record), encoding="utf-8")


def test_format_value():
    assert ledger.format_value(22713986) == "22,713,986"
    assert ledger.format_value(0.83944) == "0.839"
    assert ledger.format_value(78.25) == "78.2"
    assert ledger.format_value(12345.6) == "12,346"
    assert ledger.format_value([0.5, 0.25]) == "0.500, 0.250"
    for bad in (True, None, "0.5", {"a": 1}):
        with pytest.raises(TypeError, match="numbers"):
            ledger.format_value(bad)


def test_ledger_shows_declared_entries_with_references(tmp_path: Path):
    entries = ledger.LEDGER["02_calibration"]
    metrics = {e.key: 0.5 for e in entries}
    _write_run(tmp_path, "02_calibration", metrics, title="Calibration")
    records = ledger.load_records(["02_calibration"], tmp_path / "executed", tmp_path / "artifacts")
    assert records[0].passed and records[0].title == "Calibration"
    page = ledger.render_ledger(records)
    for entry in entries:
        assert f"| {entry.label} | 0.500 |" in page
    assert "{cite:t}`desai2020calibration`" in page
    assert "run time 12.3 s" in page and "```{bibliography}" in page


def test_ledger_fails_loudly_when_a_declared_metric_is_missing(tmp_path: Path):
    _write_run(tmp_path, "02_calibration", {"accuracy": 0.8})
    records = ledger.load_records(["02_calibration"], tmp_path / "executed", tmp_path / "artifacts")
    with pytest.raises(KeyError, match="02_calibration/metrics.json lacks"):
        ledger.render_ledger(records)


def test_undeclared_lesson_shows_its_scalar_metrics_and_failures_show(tmp_path: Path):
    _write_run(tmp_path, "99_new", {"score": 0.25, "counts": [1, 2], "flag": True})
    _write_run(tmp_path, "98_broken", {}, exception=True)
    records = ledger.load_records(["99_new", "98_broken"], tmp_path / "executed", tmp_path / "artifacts")
    assert [r.passed for r in records] == [True, False]
    page = ledger.render_ledger(records)
    assert "| score | 0.250 |" in page and "counts" not in page and "flag" not in page
    assert "failed in this build" in page
    status = ledger.render_status(records)
    assert "| {doc}`99_new </lessons/99_new>` | quick | `cpu (2 threads)` | 0 | 12.3 | passed |" in status
    assert "**failed**" in status and "| torch | 2.13.0 |" in status


def test_missing_executed_notebook_is_an_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="execute the lesson first"):
        ledger.load_records(["00_setup"], tmp_path, tmp_path)
