"""The pages generated from a build's runs (``tools/build_book.py``): results ledger, execution
status, misconceptions and agenda, on hand-made runs; ``book/ledger.yml`` and
``python -m llmu ledger``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import PATHS, load_build_tool
from llmu import lesson
from llmu.cli import main

build_book = load_build_tool()
RUN_FIELDS = {
    "profile": "quick",
    "seed": 0,
    "device": "cpu (2 threads)",
    "runtime_s": 12.34,
    "reference_step_s": 0.2812,
    "runtime_reference_steps": 43.9,
    "settings": {"mc_samples": 8, "ratio": 0.5},
    "python": "3.11.9",
    "versions": {"torch": "2.13.0"},
}


def _write_run(
    root: Path,
    name: str,
    metrics: dict,
    exception: bool = False,
    title: str = "A lesson",
    box: str = "- Wrong. Right.",
) -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n", "\n", "Text."]},
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": f"```{{admonition}} Common misconceptions\n:class: warning\n\n{box}\n```",
        },
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": f"```{{exercise}} First\n:label: ex-{name[:2]}-first\n\nDo it.\n```",
        },
    ]
    notebook = {
        "cells": cells,
        "metadata": {"papermill": {"end_time": "2026-11-22T10:00:00", "exception": exception}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "executed").mkdir(exist_ok=True)
    (root / "executed" / f"{name}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (root / "artifacts" / name).mkdir(parents=True, exist_ok=True)
    record = {"lesson": name, **RUN_FIELDS, **metrics}
    path = root / "artifacts" / name / "metrics.json"
    path.write_text(json.dumps(record), encoding="utf-8")


def _records(root: Path, *names: str) -> list:
    return build_book.load_records(list(names), root / "executed", root / "artifacts")


def test_format_value():
    assert build_book.format_value(22713986) == "22,713,986"
    assert build_book.format_value(0.83944) == "0.839"
    assert build_book.format_value(78.25) == "78.2"
    assert build_book.format_value(12345.6) == "12,346"
    assert build_book.format_value([0.5, 0.25]) == "0.500, 0.250"
    for bad in (True, None, "0.5", {"a": 1}):
        with pytest.raises(TypeError, match="numbers"):
            build_book.format_value(bad)


def test_ledger_file_names_lessons_and_sources_that_exist():
    ledger = build_book.load_ledger()
    assert ledger, "book/ledger.yml lists no lesson"
    assert set(ledger) <= set(lesson.lesson_names(PATHS.root)), "ledger.yml names unknown lessons"
    bib = (PATHS.root / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = {e.published.source for entries in ledger.values() for e in entries if e.published}
    assert cited, "the ledger cites no published number"
    assert cited <= keys, f"ledger sources missing from book/references.bib: {cited - keys}"
    in_notes = {key for entries in ledger.values() for e in entries
                for group in re.findall(r"\{cite:[tp]\}`([^`]+)`", e.note)
                for key in group.split(",")}
    assert in_notes <= keys, f"ledger notes cite works not in references.bib: {in_notes - keys}"
    for name, entries in ledger.items():
        rows = [(e.key, e.divide_by) for e in entries]
        assert len(rows) == len(set(rows)), f"{name}: a row is listed twice"
        labels = [e.label for e in entries]
        assert len(labels) == len(set(labels)), f"{name}: two rows share a label"
        used = {key for row in rows for key in row if key}
        assert not used & set(lesson.RESERVED_KEYS), f"{name}: lists a run field"


def test_published_numbers_stand_beside_comparable_ones_only():
    """A count is not set beside a ratio: where the published value is a ratio ("0.6 x the
    teacher"), the row divides; and a GLUE average is never set beside one task's accuracy."""
    for name, entries in build_book.load_ledger().items():
        for entry in entries:
            if entry.published is None:
                continue
            text = f"{entry.published.value} {entry.published.setting}"
            assert "GLUE" not in text, f"{name} {entry.label}: a GLUE figure as published value"
            if entry.key.endswith("_params"):
                assert entry.divide_by, f"{name} {entry.label}: parameter counts need a ratio"


def test_ledger_ratio_rows_and_notes(tmp_path: Path):
    ledger = {"04_distillation": (
        build_book.Entry("student_params", "student parameters"),
        build_book.Entry("student_params", "student / teacher", divide_by="teacher_params",
                         note="see {cite:t}`sanh2019distilbert`"),
    )}
    _write_run(tmp_path, "04_distillation", {"student_params": 30, "teacher_params": 120})
    page = build_book.render_ledger(_records(tmp_path, "04_distillation"), ledger)
    assert "| student parameters | 30 |  |  |  |  |" in page
    assert "| student / teacher | 0.250 |  |  |  | see {cite:t}`sanh2019distilbert` |" in page
    _write_run(tmp_path, "04_distillation", {"student_params": 30})
    with pytest.raises(build_book.BuildError, match="lacks \\['teacher_params'\\]"):
        build_book.render_ledger(_records(tmp_path, "04_distillation"), ledger)
    _write_run(tmp_path, "04_distillation", {"student_params": 30, "teacher_params": 0})
    with pytest.raises(build_book.BuildError, match="non-zero divisor"):
        build_book.render_ledger(_records(tmp_path, "04_distillation"), ledger)


def test_malformed_ledger_file_is_an_error(tmp_path: Path):
    path = tmp_path / "ledger.yml"
    path.write_text("02_calibration:\n  - {key: accuracy}\n", encoding="utf-8")
    with pytest.raises(build_book.BuildError, match="key and a label"):
        build_book.load_ledger(path)
    path.write_text(
        "02_calibration:\n  - {key: a, label: b, published: {value: 1}}\n", encoding="utf-8"
    )
    with pytest.raises(build_book.BuildError, match="value, setting, source"):
        build_book.load_ledger(path)
    with pytest.raises(build_book.BuildError, match="missing"):
        build_book.load_ledger(tmp_path / "none.yml")


def test_ledger_shows_declared_entries_with_references(tmp_path: Path):
    ledger = build_book.load_ledger()
    entries = ledger["02_calibration"]
    _write_run(tmp_path, "02_calibration", {e.key: 0.5 for e in entries}, title="Calibration")
    records = _records(tmp_path, "02_calibration")
    assert records[0].passed and records[0].title == "Calibration"
    page = build_book.render_ledger(records, ledger)
    for entry in entries:
        assert f"| {entry.label} | 0.500 |" in page
    assert "{cite:t}`vovk2005algorithmic`" in page and "{cite:t}`desai2020calibration`" in page
    assert "run time 12.3 s (44 reference steps)" in page and "```{bibliography}" in page


def test_ledger_fails_loudly_when_a_declared_metric_is_missing(tmp_path: Path):
    _write_run(tmp_path, "02_calibration", {"accuracy": 0.8})
    with pytest.raises(build_book.BuildError, match="02_calibration/metrics.json lacks"):
        build_book.render_ledger(_records(tmp_path, "02_calibration"), build_book.load_ledger())


def test_undeclared_lesson_shows_its_scalar_metrics_and_failures_show(tmp_path: Path):
    _write_run(tmp_path, "99_new", {"score": 0.25, "counts": [1, 2], "flag": True, "name": "x"})
    _write_run(tmp_path, "98_broken", {}, exception=True)
    records = _records(tmp_path, "99_new", "98_broken")
    assert [r.passed for r in records] == [True, False]
    page = build_book.render_ledger(records, {})
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == [
        "| quantity | this build | published | setting | source | notes |",
        "| score | 0.250 |  |  |  |  |",
    ], "run fields, lists, flags or text shown"
    assert "failed in this build" in page
    status = build_book.render_status(records)
    assert (
        "| {doc}`99_new </lessons/99_new>` | quick | `cpu (2 threads)` | 0 | 12.3 | 0.281 "
        "| 44 | passed |"
    ) in status
    assert "**failed**" in status and "| torch | 2.13.0 |" in status


def test_status_of_a_run_without_reference_step_leaves_the_cells_empty(tmp_path: Path):
    _write_run(tmp_path, "99_old", {})
    path = tmp_path / "artifacts" / "99_old" / "metrics.json"
    record = json.loads(path.read_text())
    del record["reference_step_s"], record["runtime_reference_steps"]
    path.write_text(json.dumps(record))
    status = build_book.render_status(_records(tmp_path, "99_old"))
    assert "| 0 | 12.3 |  |  | passed |" in status


def test_misconceptions_and_agenda_pages(tmp_path: Path):
    _write_run(tmp_path, "01_one", {}, title="One", box="- A myth. The fact.")
    _write_run(tmp_path, "02_two", {"runtime_s": 61.0}, title="Two")
    records = _records(tmp_path, "01_one", "02_two")
    page = build_book.render_misconceptions(records, tmp_path / "executed")
    assert page.count("```{admonition} Common misconceptions") == 2
    assert "- A myth. The fact." in page and "{doc}`One </lessons/01_one>`" in page
    plan = {
        "short": {
            "title": "Short",
            "start": "09:00",
            "summary": "S.",
            "sessions": [
                {"lesson": "01_one", "teach": 10, "exercise": 5},
                {"break": "tea", "minutes": 15},
                {"lesson": "02_two", "teach": 20, "exercise": 0},
            ],
        }
    }
    agenda = build_book.render_agenda(records, plan, tmp_path / "executed")
    first = "| 09:00 | {doc}`One </lessons/01_one>` | 10 | 1 | 5 ({ref}`ex-01-first`) | 16 |"
    assert first in agenda
    assert "| 09:16 | *tea* | | | | 15 |" in agenda
    assert "| 09:31 | {doc}`Two </lessons/02_two>` | 20 | 2 | — | 22 |" in agenda
    assert "| 09:53 | *end* |" in agenda
    assert "## Short (0 h 53)" in agenda  # the length is the sum of the rows, never typed
    plan["short"]["sessions"].append({"lesson": "07_missing", "teach": 1, "exercise": 1})
    with pytest.raises(build_book.BuildError, match="07_missing"):
        build_book.render_agenda(records, plan, tmp_path / "executed")


def test_misconceptions_box_must_not_quote_glued_numbers(tmp_path: Path):
    _write_run(tmp_path, "01_one", {}, box="- It is {glue:text}`acc`.")
    with pytest.raises(build_book.BuildError, match="glued number"):
        build_book.misconception_box(tmp_path / "executed" / "01_one.ipynb")


def test_missing_executed_notebook_is_an_error(tmp_path: Path):
    with pytest.raises(build_book.BuildError, match="execute the lesson first"):
        build_book.load_records(["00_setup"], tmp_path, tmp_path)


def test_cli_ledger_prints_the_pages_of_the_lessons_run(tmp_path: Path, monkeypatch, capsys):
    _write_run(tmp_path, "02_calibration", {"accuracy": 0.8})
    monkeypatch.setattr(build_book, "EXECUTED_DIR", tmp_path / "executed")
    page, passed = build_book.ledger_so_far(True, tmp_path / "executed", tmp_path / "artifacts")
    assert passed and "02_calibration" in page and "00_setup" not in page
    monkeypatch.chdir(PATHS.root)
    for folder in ("executed", "artifacts"):
        monkeypatch.setattr(lesson.CoursePaths, folder, property(lambda _, f=folder: tmp_path / f))
    assert main(["ledger", "--status"]) == 0
    assert "| {doc}`02_calibration </lessons/02_calibration>` | quick |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="02_calibration/metrics.json lacks"):
        main(["ledger"])  # the published entries of 02 name numbers this run lacks


def test_intro_links_exactly_the_lessons_of_each_part_of_the_toc():
    toc = {"parts": [
        {"caption": "Start here", "chapters": [{"file": "book/how_to_use"}]},
        {"caption": "Part I · One",
         "chapters": [{"file": "lessons/01_a"}, {"file": "lessons/02_b"}]},
        {"caption": "Part II · Two", "chapters": [{"file": "lessons/03_c"}]},
    ]}
    good = ("Intro.\n\n**Part I · One.** {doc}`../lessons/01_a`, {doc}`../lessons/02_b`.\n"
            "After it you can.\n\n**Part II · Two.** {doc}`../lessons/03_c`.\nAfter it.\n")
    build_book.check_intro(good, toc)
    promised = good + "\n**Part III · Later.** {doc}`../lessons/07_d`.\n"
    with pytest.raises(build_book.BuildError, match="Part III · Later"):
        build_book.check_intro(promised, toc)
    missing = good.replace(", {doc}`../lessons/02_b`", "")
    with pytest.raises(build_book.BuildError, match="02_b"):
        build_book.check_intro(missing, toc)
    toc["parts"].append({"caption": "Part III · Three", "chapters": [{"file": "lessons/04_d"}]})
    with pytest.raises(build_book.BuildError, match="no paragraph opening with"):
        build_book.check_intro(good, toc)


def test_the_course_intro_matches_its_table_of_contents():
    import yaml

    toc = yaml.safe_load((PATHS.root / "_toc.yml").read_text(encoding="utf-8"))
    build_book.check_intro((PATHS.root / "book" / "intro.md").read_text(encoding="utf-8"), toc)


def test_pages_hide_injected_parameters_and_fold_cells_that_only_record(tmp_path: Path):
    def code(source, tags=(), outputs=()):
        return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source,
                "outputs": list(outputs), "execution_count": 1}

    record = {"output_type": "display_data", "metadata": {},
              "data": {"application/papermill.record/text/plain": "0.5"}}
    shown = {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "0.5"}}
    cells = [
        code("profile = 'quick'", ["parameters"]),
        code("# Parameters\nprofile = 'quick'\n", ["injected-parameters"]),
        code("published = 92.4\nrun.record(gap=published - f1)", outputs=[record]),
        code("x = fit()\nrun.record(x=x)", outputs=[record]),
        code("run.record(a=1)\nprint(a)", outputs=[record, shown]),
        code("%pip install llmu"),
    ]
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    staged = json.loads(build_book.page_notebook(path))
    assert [c["metadata"]["tags"] for c in staged["cells"]] == [
        ["parameters"], ["injected-parameters", "remove-cell"], ["hide-input"], [], [], []]
