"""The Colab set-up cell every lesson opens with, and a command that puts it in place.

On Google Colab the cell installs the course library from the repository and picks the
``full`` profile when the runtime has a GPU; anywhere else it installs nothing and keeps
the ``quick`` profile. The lesson's ``parameters`` cell follows it and reads
``DEFAULT_PROFILE``, so papermill's ``-p profile ...`` still overrides the choice.

The repository URL comes from ``repository.url`` in ``_config.yml`` (the one place it is
kept; the launch buttons use it too). ``tests/test_repository.py`` checks that every
lesson's first code cell is exactly :func:`colab_cell_source`.

    python tools/colab_cell.py          # insert or refresh the cell in every lesson
    python tools/colab_cell.py --check  # exit 1 and name the lessons that differ
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

from llmu.lesson import LESSON_GLOB, course_paths

PATHS = course_paths(Path(__file__).resolve().parents[1])
ROOT = PATHS.root
CELL_TAG = "colab-setup"
COLAB_GUARD = '"google.colab" in sys.modules'


def repository_url() -> str:
    """``repository.url`` from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    try:
        url = config["repository"]["url"]
    except (KeyError, TypeError) as exc:
        raise SystemExit(
            "_config.yml has no repository.url; the Colab cell installs from it"
        ) from exc
    return str(url).rstrip("/")


def colab_cell_source(url: str) -> str:
    """The text of the set-up cell for a repository at ``url``."""
    return (
        "# On Google Colab only: install the course library, and use the full profile when the\n"
        "# runtime has a GPU (Runtime > Change runtime type > T4 GPU). Anywhere else this cell\n"
        "# installs nothing and keeps the quick profile.\n"
        "import sys\n"
        "\n"
        "import torch\n"
        "\n"
        f"ON_COLAB = {COLAB_GUARD}\n"
        "if ON_COLAB:\n"
        f'    %pip install --quiet "llmu @ git+{url}"\n'
        'DEFAULT_PROFILE = "full" if ON_COLAB and torch.cuda.is_available() else "quick"'
    )


def _first_code_cell(notebook: nbformat.NotebookNode) -> int | None:
    return next((i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"), None)


def place_cell(path: Path, source: str) -> bool:
    """Insert the set-up cell before the first code cell of ``path``, or refresh it. True if
    changed."""
    notebook = nbformat.read(path, as_version=4)
    first = _first_code_cell(notebook)
    if first is None:
        raise SystemExit(f"{path.name}: no code cell; a lesson starts with its parameters cell")
    cell = notebook.cells[first]
    if CELL_TAG in cell.metadata.get("tags", []):
        if cell.source == source:
            return False
        cell.source = source
    else:
        if "parameters" not in cell.metadata.get("tags", []):
            raise SystemExit(f"{path.name}: the first code cell must be the set-up cell or "
                             "the parameters cell")
        new = nbformat.v4.new_code_cell(source, metadata={"tags": [CELL_TAG]})
        notebook.cells.insert(first, new)
    nbformat.write(notebook, path)
    return True


def lesson_paths() -> list[Path]:
    return sorted(PATHS.lessons.glob(LESSON_GLOB))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only report lessons whose cell differs")
    args = parser.parse_args(argv)
    source = colab_cell_source(repository_url())
    stale = []
    for path in lesson_paths():
        notebook = nbformat.read(path, as_version=4)
        first = _first_code_cell(notebook)
        if first is None or notebook.cells[first].source != source:
            stale.append(path)
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)}: first code cell is not the Colab set-up cell "
                  "(run python tools/colab_cell.py)")
        return 1 if stale else 0
    for path in stale:
        place_cell(path, source)
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
