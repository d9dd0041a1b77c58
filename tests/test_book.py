"""The book builds from the executed lessons, warning-free, and loads nothing from a CDN.

Builds exactly as ``make book`` does (``tools/build_book.py``: stage ``_build/site/``, then
``jupyter-book build -W -n --keep-going``), from the notebooks that the ``executed_lessons``
fixture (tests/conftest.py) ran into ``_build/executed/``.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import PATHS, load_build_tool

pytestmark = pytest.mark.book

ROOT = PATHS.root
build_book = load_build_tool()
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# A <script> (or stylesheet <link>) that fetches from another host.
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)
REMOTE_STYLESHEET = re.compile(
    r"<link\b(?=[^>]*\brel\s*=\s*[\"']?stylesheet)[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)
# Any address of MathJax, require.js or the widget manager on the network, in any attribute or
# inline script.
REMOTE_ASSET = re.compile(
    r"(?:https?:)?//[^\s\"'<>]*"
    r"(?:mathjax|require(?:\.min)?\.js|requirejs|jupyter-widgets|html-manager|embed-amd)",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def book(built_book: Path) -> Path:
    return built_book


def _executed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(PATHS.executed / f"{name}.ipynb", as_version=4)


def _pages(book: Path) -> list[Path]:
    return sorted(book.rglob("*.html"))


def test_index_and_intro(book: Path):
    assert (book / "index.html").is_file()
    intro = (book / "book" / "intro.html").read_text(encoding="utf-8")
    assert "Uncertainty in Language Models" in intro


def test_every_lesson_has_a_page_with_its_outputs(book: Path, executed_lessons):
    assert executed_lessons, "no lesson was executed"
    for name in executed_lessons:
        page = book / "lessons" / f"{name}.html"
        assert page.is_file(), f"no page for lesson {name}"
        html = page.read_text(encoding="utf-8")
        assert 'class="cell_output' in html, f"{name}: the page shows no cell output"
        notebook = _executed(name)
        images = sum(
            1
            for cell in notebook.cells
            if cell.cell_type == "code"
            for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})
        )
        assert html.count("<img") >= images, (
            f"{name}: {images} figures executed, fewer <img> on the page"
        )
        leak = html.find(str(ROOT))
        assert leak == -1, (
            f"{name}: the page shows this machine's path {ROOT} (an output printing a path or a "
            f"warning naming a file?): ...{html[max(0, leak - 200) : leak + 200]}..."
        )


def test_calibration_lesson_shows_figures_math_and_widgets(book: Path, executed_lessons):
    name = "02_calibration"
    if name not in executed_lessons:
        pytest.skip(f"lesson {name} is not in lessons/")
    html = (book / "lessons" / f"{name}.html").read_text(encoding="utf-8")
    assert re.search(r"<img[^>]+src=\"[^\"]*_images/[^\"]+\.png\"", html), "no figure on the page"
    assert 'class="math' in html, "no math on the page"
    assert f'type="{WIDGET_STATE}"' in html, "the widget state is not embedded in the page"
    assert re.search(r'<script[^>]+src="[^"]*_static/jupyter-widgets/embed-amd\.js', html)
    assert re.search(r'<script[^>]+src="[^"]*_static/requirejs/require\.js', html)


def test_widget_state_embedded_wherever_a_lesson_has_widgets(book: Path, executed_lessons):
    for name in executed_lessons:
        state = _executed(name).metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state")
        if state:
            html = (book / "lessons" / f"{name}.html").read_text(encoding="utf-8")
            assert f'type="{WIDGET_STATE}"' in html, f"{name}: widget state not embedded"


def test_no_page_loads_anything_from_the_network(book: Path):
    pages = _pages(book)
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        where = page.relative_to(book)
        assert not REMOTE_SCRIPT.search(html), f"{where}: {REMOTE_SCRIPT.search(html).group(0)}"
        stylesheet = REMOTE_STYLESHEET.search(html)
        assert not stylesheet, f"{where}: {stylesheet and stylesheet.group(0)}"
        assert not REMOTE_ASSET.search(html), f"{where}: {REMOTE_ASSET.search(html).group(0)}"


def test_mathjax_is_served_locally(book: Path):
    static = book / "_static"
    assert (static / "mathjax" / "tex-mml-chtml.js").is_file()
    fonts = static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("*.woff")), "MathJax fonts missing"
    assert (static / "requirejs" / "require.js").is_file()
    assert (static / "jupyter-widgets" / "embed-amd.js").is_file()
    pages_with_math = [p for p in _pages(book) if 'class="math' in p.read_text(encoding="utf-8")]
    assert pages_with_math, "no page has math"
    for page in pages_with_math:
        html = page.read_text(encoding="utf-8")
        assert re.search(r'<script[^>]+src="[^"]*_static/mathjax/tex-mml-chtml\.js', html), (
            f"{page.relative_to(book)} has math but does not load the local MathJax"
        )


def _cells(row_html: str) -> list[str]:
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
        for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, re.S)
    ]


def _article(page_html: str) -> str:
    """The page's own content, without the navigation (whose sidebar links every page)."""
    start = page_html.find('<article class="bd-article"')
    assert start != -1, 'no <article class="bd-article"> in the page'
    return page_html[start : page_html.find("</article>", start)]


def _rows(page_html: str) -> list[list[str]]:
    return [_cells(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page_html, re.S)]


def test_ledger_shows_every_lesson_with_the_numbers_of_this_build(book: Path, executed_lessons):
    page = _article((book / "book" / "ledger.html").read_text(encoding="utf-8"))
    ledger = build_book.load_ledger()
    records = build_book.load_records(list(executed_lessons))
    for record in records:
        name, metrics = record.name, record.metrics
        heading = page.find(f'<h2><a class="reference internal" href="../lessons/{name}.html"')
        assert heading != -1, f"the ledger has no section for {name}"
        end = page.find("<h2", heading + 1)
        section = page[heading : end if end != -1 else None]
        shown = {row[0]: row[1] for row in _rows(section) if len(row) == 6}
        entries = build_book.ledger_entries(record, ledger)
        assert entries, f"{name}: nothing to show in the ledger"
        for entry in entries:
            assert shown.get(entry.label) == build_book.format_value(entry.value(metrics)), (
                f"ledger, {name}, {entry.label!r}: page shows {shown.get(entry.label)!r}, "
                f"metrics.json has {entry.value(metrics)!r}"
            )


def test_status_page_shows_every_lesson_run(book: Path, executed_lessons):
    page = _article((book / "book" / "status.html").read_text(encoding="utf-8"))
    rows = {row[0]: row[1:] for row in _rows(page) if len(row) == 8}
    for name, m in executed_lessons.items():
        expected = [
            m["profile"],
            m["device"],
            str(m["seed"]),
            f"{m['runtime_s']:.1f}",
            f"{m['reference_step_s']:.3f}",
            f"{m['runtime_reference_steps']:.0f}",
            "passed",
        ]
        assert rows.get(name) == expected, f"status page row for {name}: {rows.get(name)}"
    versions = {row[0]: row[1] for row in _rows(page) if len(row) == 2}
    for package, version in next(iter(executed_lessons.values()))["versions"].items():
        assert version in versions.get(package, ""), f"status page: {package} {version} not listed"


def test_misconceptions_page_gathers_every_lesson_box(book: Path, executed_lessons):
    page = _article((book / "book" / "misconceptions.html").read_text(encoding="utf-8"))
    for name in executed_lessons:
        assert f'href="../lessons/{name}.html"' in page, f"misconceptions page does not link {name}"
    boxes = re.findall(r'class="(?=[^"]*\badmonition\b)(?=[^"]*\bwarning\b)[^"]*"', page)
    assert len(boxes) == len(executed_lessons), (
        f"{len(boxes)} misconception boxes for {len(executed_lessons)} lessons"
    )


def test_workshop_agenda_is_timed_with_measured_runtimes(book: Path, executed_lessons):
    page = _article((book / "book" / "workshop" / "agenda.html").read_text(encoding="utf-8"))
    plan = yaml.safe_load((ROOT / "book" / "workshop" / "plan.yml").read_text(encoding="utf-8"))
    # Sphinx's smartquotes curls the quotes of a title ("LLM's" becomes "LLM’s").
    plain = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
    run_minutes = {row[1].translate(plain): int(row[3])
                   for row in _rows(page) if len(row) == 6 and row[3].isdigit()}
    titles = {
        r.name: " ".join(r.title.split()) for r in build_book.load_records(list(executed_lessons))
    }
    for agenda in plan.values():
        assert agenda["title"] in html.unescape(page)
        for session in agenda["sessions"]:
            if "lesson" in session:
                name = session["lesson"]
                assert f'href="../../lessons/{name}.html"' in page, f"agenda does not link {name}"
                minutes = math.ceil(executed_lessons[name]["runtime_s"] / 60)
                assert run_minutes[titles[name]] == minutes


def test_lesson_pages_hide_the_injected_parameters_and_number_their_exercises(
        book: Path, executed_lessons):
    for name in executed_lessons:
        page = _article((book / "lessons" / f"{name}.html").read_text(encoding="utf-8"))
        assert "tag_injected-parameters" not in page, f"{name}: papermill's parameters shown"
        assert "tag_parameters" in page, f"{name}: the lesson's own parameters cell is gone"
        labels = build_book.exercise_labels(PATHS.executed / f"{name}.ipynb")
        numbers = re.findall(r'<span class="caption-number">Exercise (\d+) </span>', page)
        assert numbers == [str(i) for i in range(1, len(labels) + 1)], (
            f"{name}: exercises numbered {numbers}, expected 1 to {len(labels)} within the lesson"
        )


def test_metrics_table_is_folded_at_the_end_of_each_lesson(book: Path, executed_lessons):
    for name in executed_lessons:
        page = _article((book / "lessons" / f"{name}.html").read_text(encoding="utf-8"))
        assert re.search(r"<details><summary>All \d+ numbers of this run", page), (
            f"{name}: the run's numbers are not folded in a <details> block (run.summary())"
        )
