"""Link each glossary term from the lessons, where a lesson first uses it.

The terms come from the ``{glossary}`` directive of ``book/glossary.md``: a group of
consecutive term lines is one entry (synonyms, abbreviations), its first line the target.
In every lesson, the first use of an entry in prose becomes ``{term}`text <target>```,
unless the lesson links the entry already. Prose excludes headings, code (fenced, indented,
inline), math, directive option lines, existing roles and Markdown links.

    python tools/glossary_links.py          # add the missing links to the lessons
    python tools/glossary_links.py --check  # exit 1 and list the lessons with unlinked terms
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from llmu.lesson import LESSON_GLOB, course_paths

PATHS = course_paths(Path(__file__).resolve().parents[1])
ROOT = PATHS.root
GLOSSARY = ROOT / "book" / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`(?:[^`<]*<)?([^`>]+)>?`")
# Spans of a prose line that are not prose: inline code, roles, math, links, HTML.
PROTECTED = re.compile(
    r"`[^`]*`|\{[\w:.-]+\}`[^`]*`|\$\$.*?\$\$|\$[^$]+\$|\[[^\]]*\]\([^)]*\)|<[^>]+>"
)


@dataclass(frozen=True)
class GlossaryEntry:
    target: str
    names: tuple[str, ...]

    def pattern(self) -> re.Pattern[str]:
        # Longest first: "MC dropout" before "dropout".
        names = sorted(self.names, key=len, reverse=True)
        alternatives = "|".join(re.escape(n) for n in names)
        return re.compile(rf"(?<![\w-])({alternatives})(?:s|es)?(?![\w-])", re.IGNORECASE)


def glossary_entries(path: Path = GLOSSARY) -> list[GlossaryEntry]:
    """The entries of the ``{glossary}`` directive in ``path``."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    if match is None:
        raise SystemExit(f"{path.relative_to(ROOT)} has no ```{{glossary}} directive")
    entries, names = [], []
    for line in match.group(1).splitlines():
        if line.strip() and not line.startswith((" ", "\t")):
            names.append(line.strip())
        elif line.strip() and names:
            entries.append(GlossaryEntry(names[0], tuple(names)))
            names = []
    return entries


def _prose_lines(source: str) -> list[tuple[int, bool]]:
    """(line index, is prose) for each line of a markdown cell."""
    flags, fence = [], None
    for i, line in enumerate(source.split("\n")):
        stripped = line.strip()
        opening = re.match(r"^(`{3,}|~{3,})(\{?[\w-]*\}?)", stripped)
        if fence is None and opening:
            directive = opening.group(2)
            # Directives whose body is prose stay open for matching; code and math fences do not.
            prose_body = directive.startswith("{") and directive not in {
                "{code-cell}", "{code-block}", "{math}", "{bibliography}", "{glossary}"}
            fence = (opening.group(1), prose_body)
            flags.append((i, False))
            continue
        if fence is not None and stripped == fence[0]:
            fence = None
            flags.append((i, False))
            continue
        in_code = fence is not None and not fence[1]
        is_prose = not (in_code or stripped.startswith(("#", ":", "$$", "|"))
                        or line.startswith("    ") or not stripped)
        flags.append((i, is_prose))
    return flags


def _first_use(source: str, pattern: re.Pattern[str]) -> tuple[int, int, int] | None:
    """(line, start, end) of the first prose use of ``pattern`` in a markdown cell."""
    lines = source.split("\n")
    in_display_math = False
    for i, prose in _prose_lines(source):
        line = lines[i]
        if line.strip().startswith("$$"):
            in_display_math = not in_display_math if line.strip() == "$$" else in_display_math
        if not prose or in_display_math:
            continue
        masked = PROTECTED.sub(lambda m: " " * len(m.group(0)), line)
        match = pattern.search(masked)
        if match:
            return i, match.start(), match.end()
    return None


def link_notebook(path: Path, entries: list[GlossaryEntry], write: bool) -> list[str]:
    """Link the first use of every entry that ``path`` uses but does not link; return the
    targets linked."""
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    linked = {m.lower() for cell in markdown for m in TERM_ROLE.findall(cell.source)}
    added = []
    for entry in entries:
        if entry.target.lower() in linked:
            continue
        pattern = entry.pattern()
        for cell in markdown:
            found = _first_use(cell.source, pattern)
            if found is None:
                continue
            i, start, end = found
            lines = cell.source.split("\n")
            text = lines[i][start:end]
            lines[i] = f"{lines[i][:start]}{{term}}`{text} <{entry.target}>`{lines[i][end:]}"
            cell.source = "\n".join(lines)
            added.append(entry.target)
            break
    if added and write:
        nbformat.write(notebook, path)
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report unlinked terms")
    args = parser.parse_args(argv)
    entries = glossary_entries()
    missing = 0
    for path in sorted(PATHS.lessons.glob(LESSON_GLOB)):
        added = link_notebook(path, entries, write=not args.check)
        if added:
            missing += 1
            verb = "uses but does not link" if args.check else "now links"
            print(f"{path.relative_to(ROOT)} {verb}: {', '.join(added)}")
    if args.check and missing:
        print("run python tools/glossary_links.py to link them")
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())
