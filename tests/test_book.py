"""The book builds from the executed lessons, warning-free, and loads nothing from a CDN.

Builds exactly as ``make book`` does (``tools/build_book.py``: stage ``_build/site/``, then
``jupyter-book build -W -n --keep-going``), from the notebooks that the ``executed_lessons``
fixture (tests/conftest.py) ran into ``_build/executed/``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# A <script> (or stylesheet <link>) that fetches from another host.
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)
REMOTE_STYLESHEET = re.compile(
    r"<link\b(?=[^>]*\brel\s*=\s*[\"']?stylesheet)[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE
)
# Any address of MathJax, require.js or the widget manager on the network, in any attribute or inline script.
REMOTE_ASSET = re.compile(
    r"(?:https?:)?//[^\s\"'<>]*(?:mathjax|require(?:\.min)?\.js|requirejs|jupyter-widgets|html-manager|embed-amd)",
    re.IGNORECASE,
)


def _load_build_tool():
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "tools" / "build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def book(executed_lessons: dict[str, dict[str, object]]) -> Path:
    """Build the book from the lessons the session executed; return ``_build/html``."""
    build_book = _load_build_tool()
    try:
        html = build_book.build()
    except build_book.BuildError as error:
        pytest.fail(str(error), pytrace=False)
    assert html == ROOT / "_build" / "html"
    return html


def _executed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "_build" / "executed" / f"{name}.ipynb", as_version=4)


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
            1 for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
        )
        assert html.count("<img") >= images, f"{name}: {images} figures executed, fewer <img> on the page"
        leak = html.find(str(ROOT))
        assert leak == -1, (
            f"{name}: the page shows this machine's path {ROOT} (an output printing a path or a "
            f"warning naming a file?): ...{html[max(0, leak - 200):leak + 200]}..."
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
        assert not REMOTE_STYLESHEET.search(html), f"{where}: {REMOTE_STYLESHEET.search(html).group(0)}"
        assert not REMOTE_ASSET.search(html), f"{where}: {REMOTE_ASSET.search(html).group(0)}"


def test_mathjax_is_served_locally(book: Path):
    static = book / "_static"
    assert (static / "mathjax" / "tex-mml-chtml.js").is_file()
    assert any((static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")), "MathJax fonts missing"
    assert (static / "requirejs" / "require.js").is_file()
    assert (static / "jupyter-widgets" / "embed-amd.js").is_file()
    pages_with_math = [p for p in _pages(book) if 'class="math' in p.read_text(encoding="utf-8")]
    assert pages_with_math, "no page has math"
    for page in pages_with_math:
        html = page.read_text(encoding="utf-8")
        assert re.search(r'<script[^>]+src="[^"]*_static/mathjax/tex-mml-chtml\.js', html), (
            f"{page.relative_to(book)} has math but does not load the local MathJax"
        )
