"""Two fixes to what every page of the book loads, so that pages open without console errors.

1. Jupyter Book 1 always loads sphinx-thebe, which adds an inline script declaring
   ``const THEBE_JS_URL = "https://unpkg.com/..."`` (a CDN address) and ``sphinx-thebe.js`` to
   every page; on a full rebuild it adds the inline script twice, and browsers then report
   "Identifier 'THEBE_JS_URL' has already been declared". The book does not use thebe
   (``launch_buttons.thebe: false``), so both scripts are removed from each page.
2. The theme's pages start with ``dataset.mode = localStorage.getItem("mode") || "{default_mode}"``,
   and sphinx-book-theme leaves ``default_mode`` empty (it rejects the option), so the theme logs
   "Got invalid theme mode" on every first visit. The page context gets ``"auto"`` (follow the
   reader's system setting), the theme's own default.
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


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", fix_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
