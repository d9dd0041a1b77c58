"""The built book in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Every page must load without console errors or failed requests (a missing local asset shows up as
both), request nothing from the network, typeset its math with MathJax (no raw ``\\(`` left in the
text), show every display equation whole within the text column at 1280 px (break a wide one
into lines, e.g. with ``gathered``), show no cell papermill injected, and load every image;
lesson 02's temperature slider must render from the widget state embedded in the page.
Screenshots of the home page, the glossary (its 中文 column needs a CJK font) and lesson 02 are
saved in ``_build/screenshots/``. Skips, saying how to install it, when Chromium is not on the
machine (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
WIDGET_LESSON = "02_calibration"
CHROMIUM_ENV = "LLMU_CHROMIUM"  # another Chromium binary, if not /usr/bin/chromium


def chromium_path() -> str | None:
    return (
        os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    )


# Waits until MathJax (if the page loads it) has typeset the page.
MATHJAX_DONE = """() => new Promise(resolve => {
  const loaded = Array.from(document.scripts).some(s => /mathjax\\/tex-mml-chtml\\.js/.test(s.src));
  if (!loaded) { resolve(false); return; }
  const started = Date.now();
  const wait = () => {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) { mj.startup.promise.then(() => resolve(true)); }
    else if (Date.now() - started > 20000) { resolve(false); }
    else { setTimeout(wait, 50); }
  };
  wait();
})"""
# Text of the page outside code, where a raw TeX delimiter would mean un-typeset math.
PROSE_TEXT = (
    "() => {\n"
    "  const body = document.querySelector('main') || document.body;\n"
    "  const copy = body.cloneNode(true);\n"
    "  copy.querySelectorAll('pre, code, script, style, mjx-container, .cell_output')"
    ".forEach(e => e.remove());\n"
    "  return copy.textContent;\n"
    "}"
)
# Display equations that stick out of the text column, or are wider than their own box (the
# rest hidden, or reachable only by scrolling sideways): the reader does not see them whole.
CLIPPED_EQUATIONS = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const column = article.getBoundingClientRect();
  return Array.from(article.querySelectorAll('mjx-container[display="true"]')).filter(el => {
    const box = el.getBoundingClientRect();
    const outside = box.left < column.left - 1 || box.right > column.right + 1;
    return outside || el.scrollWidth > el.clientWidth + 1;
  }).map(el => `${el.scrollWidth} px in ${el.clientWidth} px: ${el.textContent.slice(0, 60)}`);
}"""
# Code cells papermill injected (tag injected-parameters), if the page shows any.
INJECTED_CELLS = """() => Array.from(document.querySelectorAll('.tag_injected-parameters'))
  .filter(e => e.offsetParent !== null).length"""
BROKEN_IMAGES = """() => Array.from(document.images)
  .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.getAttribute('src'))"""


@dataclass
class PageReport:
    """What one page did in the browser."""

    errors: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    math_elements: int = 0
    typeset: int = 0
    raw_tex: bool = False
    broken_images: list[str] = field(default_factory=list)
    clipped_equations: list[str] = field(default_factory=list)
    injected_cells: int = 0


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "Chromium is not installed: `apt-get install chromium` (Debian), or set "
            f"{CHROMIUM_ENV} to a Chromium binary; .ci/run installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def visit(
    browser, page_path: Path, screenshot: Path | None = None, wait_for: str | None = None
) -> PageReport:
    """Open ``page_path`` (file://), wait for MathJax, and report what went wrong."""
    report = PageReport()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on(
        "console",
        lambda m: report.errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: report.errors.append(f"uncaught: {e}"))
    page.on(
        "requestfailed", lambda r: report.errors.append(f"failed request: {r.url} ({r.failure})")
    )

    def route(request_route):
        if request_route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            report.remote.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        page.evaluate(MATHJAX_DONE)
        if wait_for:
            page.wait_for_selector(wait_for, timeout=15_000)
        report.math_elements = page.locator(".math").count()
        report.typeset = page.locator("mjx-container").count()
        report.raw_tex = "\\(" in page.evaluate(PROSE_TEXT)
        report.broken_images = page.evaluate(BROKEN_IMAGES)
        report.clipped_equations = page.evaluate(CLIPPED_EQUATIONS)
        report.injected_cells = page.evaluate(INJECTED_CELLS)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    return report


def _html_pages(book: Path) -> list[Path]:
    skip = {
        "genindex.html",
        "search.html",
    }  # Sphinx's own index and search pages: no content of ours
    return sorted(
        p
        for p in book.rglob("*.html")
        if p.name not in skip
        and "_static" not in p.parts
        and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8")
    )  # index.html only redirects


def test_every_page_loads_cleanly_and_typesets_its_math(browser, built_book: Path):
    pages = _html_pages(built_book)
    assert len(pages) >= 5
    problems = []
    for path in pages:
        report = visit(browser, path)
        where = path.relative_to(built_book)
        problems += [f"{where}: {e}" for e in report.errors]
        problems += [f"{where}: requested {url} from the network" for url in report.remote]
        problems += [f"{where}: image did not load: {src}" for src in report.broken_images]
        if report.math_elements and report.typeset == 0:
            problems.append(
                f"{where}: {report.math_elements} math elements, none typeset by MathJax"
            )
        if report.raw_tex:
            problems.append(f"{where}: raw \\( left in the text: math was not typeset")
        problems += [f"{where}: display equation wider than the column at 1280 px: {tex}"
                     for tex in report.clipped_equations]
        if report.injected_cells:
            problems.append(f"{where}: shows {report.injected_cells} papermill-injected cell(s)")
    assert not problems, "\n".join(problems)


def test_screenshots_and_the_widget_of_lesson_02(browser, built_book: Path, executed_lessons):
    if WIDGET_LESSON not in executed_lessons:
        pytest.skip(f"lesson {WIDGET_LESSON} is not in lessons/")
    home = visit(browser, built_book / "book" / "intro.html", screenshot=SCREENSHOTS / "home.png")
    assert not home.errors and home.typeset > 0
    # The slider of llmu.widgets.temperature_slider, drawn by the widget manager from the
    # embedded state.
    lesson = visit(
        browser,
        built_book / "lessons" / f"{WIDGET_LESSON}.html",
        screenshot=SCREENSHOTS / f"{WIDGET_LESSON}.png",
        wait_for=".widget-slider",
    )
    assert not lesson.errors, lesson.errors
    assert lesson.typeset > 0 and not lesson.raw_tex
    glossary = visit(browser, built_book / "book" / "glossary.html",
                     screenshot=SCREENSHOTS / "glossary.png")
    assert not glossary.errors, glossary.errors
    for name in ("home.png", "glossary.png", f"{WIDGET_LESSON}.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, f"{name} looks empty"
