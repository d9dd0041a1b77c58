"""Fixes to what every page of the book shows: two so that pages open without console errors,
one so that each lesson numbers its own exercises.

1. Jupyter Book 1 always loads sphinx-thebe, which adds an inline script declaring
   ``const THEBE_JS_URL = "https://unpkg.com/..."`` (a CDN address) and ``sphinx-thebe.js`` to
   every page; on a full rebuild it adds the inline script twice, and browsers then report
   "Identifier 'THEBE_JS_URL' has already been declared". The book does not use thebe
   (``launch_buttons.thebe: false``), so both scripts are removed from each page.
2. The theme's pages start with ``dataset.mode = localStorage.getItem("mode") || "{default_mode}"``,
   and sphinx-book-theme leaves ``default_mode`` empty (it rejects the option), so the theme logs
   "Got invalid theme mode" on every first visit. The page context gets ``"auto"`` (follow the
   reader's system setting), the theme's own default.
3. sphinx-exercise numbers exercises with Sphinx's figure numbering (numfig). Without a numbered
   table of contents, Sphinx counts across the whole book, so a lesson's first exercise could be
   "Exercise 7". After Sphinx assigns the numbers, each page's exercises are renumbered from 1,
   in the order Sphinx found them; references (``{numref}``) read the same numbers.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _is_thebe(script: Any) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body or "thebe@" in filename


def fix_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def number_exercises_per_page(app: Sphinx, env: Any) -> list[str]:
    for by_type in env.toc_fignumbers.values():
        numbers = by_type.get("exercise")
        if numbers:
            order = sorted(numbers, key=numbers.__getitem__)
            by_type["exercise"] = {node_id: (i,) for i, node_id in enumerate(order, start=1)}
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", fix_page, priority=900)
    # After Sphinx's own handler (priority 500) has assigned the book-wide numbers.
    app.connect("env-get-updated", number_exercises_per_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
