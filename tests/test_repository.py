"""What the repository itself must hold: clean lesson notebooks, a table of contents that
matches them, a book configuration that loads nothing from a CDN, small files."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import PATHS, load_tool
from llmu.lesson import LESSON_GLOB

ROOT = PATHS.root
LESSONS = sorted(PATHS.lessons.glob(LESSON_GLOB))
MAX_FILE_BYTES = 1024 * 1024
MAX_CELL_LINES = 30
MAX_LINE_CHARS = 100
# Never part of the repository, whatever .gitignore says on a given machine.
UNTRACKED_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "_build",
    "artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ipynb_checkpoints",
    ".cache",
    ".whl",
}


def _load_tool(name: str):
    """A script of ``tools/`` imported as a module."""
    return load_tool(name)


def lesson_ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _markdown(path: Path) -> str:
    cells = nbformat.read(path, as_version=4).cells
    return "\n".join(c.source for c in cells if c.cell_type == "markdown")


def test_lessons_exist():
    assert LESSONS, "lessons/ holds no notebook"
    stray = sorted(p.name for p in PATHS.lessons.glob("*.ipynb") if p not in LESSONS)
    assert not stray, (
        f"{stray}: lesson files are named NN_topic.ipynb (llmu.lesson.LESSON_GLOB); "
        "anything else in lessons/ is neither run, tested nor in the book"
    )


@pytest.mark.parametrize("path", LESSONS, ids=lesson_ids(LESSONS))
def test_lesson_code_cells_are_short(path: Path):
    """Short cells, one idea each: at most 30 lines a code cell, 100 characters a line."""
    cells = nbformat.read(path, as_version=4).cells
    code = {
        f"cell {i} (id {c.get('id')})": c.source.splitlines()
        for i, c in enumerate(cells)
        if c.cell_type == "code"
    }
    long_cells = {name: len(lines) for name, lines in code.items() if len(lines) > MAX_CELL_LINES}
    long_lines = [
        f"{name} line {n + 1} ({len(line)} chars)"
        for name, lines in code.items()
        for n, line in enumerate(lines)
        if len(line) > MAX_LINE_CHARS
    ]
    problems = []
    if long_cells:
        problems.append(
            f"code cells longer than {MAX_CELL_LINES} lines: {long_cells}; split them "
            "(one idea per cell), or move reusable code into llmu"
        )
    if long_lines:
        problems.append(f"code lines over {MAX_LINE_CHARS} characters: {long_lines}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_python_lines_are_at_most_100_characters():
    """The library, tests, tools and benchmarks keep the lessons' line limit (ruff's setting)."""
    files = sorted(p for d in ("src", "tests", "tools", "bench") for p in (ROOT / d).rglob("*.py"))
    assert files
    long_lines = [
        f"{path.relative_to(ROOT)}:{n + 1} ({len(line)} chars)"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines())
        if len(line) > MAX_LINE_CHARS
    ]
    assert not long_lines, f"lines over {MAX_LINE_CHARS} characters: {long_lines}"


@pytest.mark.parametrize("path", LESSONS, ids=lesson_ids(LESSONS))
def test_lesson_committed_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them "
        "(e.g. jupyter nbconvert --clear-output --inplace) before committing"
    )
    assert "widgets" not in notebook.metadata, f"{path.name}: widget state is committed; clear it"
    assert "papermill" not in notebook.metadata, (
        f"{path.name}: this is an executed copy, not the source"
    )


def _assigned_values(source: str) -> dict[str, object]:
    """Names assigned in a parameters cell; a bare name on the right is kept as ``ast.Name``."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        else:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name) and node.value is not None:
                value = node.value
                bare_name = isinstance(value, ast.Name)
                values[target.id] = value if bare_name else ast.literal_eval(value)
    return values


@pytest.mark.parametrize("path", LESSONS, ids=lesson_ids(LESSONS))
def test_lesson_has_parameters_cell(path: Path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, (
        f"{path.name}: needs exactly one cell tagged 'parameters', found {len(tagged)}"
    )
    assert tagged[0].cell_type == "code"
    values = _assigned_values(tagged[0].source)
    missing = {"profile", "seed", "output_dir"} - set(values)
    assert not missing, f"{path.name}: the parameters cell does not define {sorted(missing)}"
    profile = values["profile"]
    assert isinstance(profile, ast.Name) and profile.id == "DEFAULT_PROFILE", (
        f"{path.name}: write `profile = DEFAULT_PROFILE` (quick, or full on a Colab GPU; set by "
        "the Colab cell)"
    )
    assert values["seed"] == 0
    assert values["output_dir"] == f"artifacts/{path.stem}"
    knobs = {
        name: value
        for name, value in values.items()
        if name not in {"profile", "seed", "output_dir"}
    }
    assert all(value is None for value in knobs.values()), (
        f'{path.name}: every other parameter is None by default ("None: the profile\'s value"; '
        f"lesson.start(settings=...) holds the values), not {knobs}"
    )


@pytest.mark.parametrize("path", LESSONS, ids=lesson_ids(LESSONS))
def test_lesson_opens_with_the_guarded_colab_cell(path: Path):
    """Colab installs the course and picks the GPU profile; elsewhere nothing is installed."""
    colab_cell = _load_tool("colab_cell")
    code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert code[0].source == colab_cell.colab_cell_source(colab_cell.repository_url()), (
        f"{path.name}: the first code cell is not the Colab set-up cell; "
        "run python tools/colab_cell.py"
    )
    assert "parameters" in code[1].metadata.get("tags", []), (
        f"{path.name}: the parameters cell must follow it"
    )
    install = re.compile(r"^\s*[%!]\s*(pip|conda|apt)", re.M)
    installs = [i for i, cell in enumerate(code) if install.search(cell.source)]
    assert installs == [0], (
        f"{path.name}: code cells {installs} install packages; only the guarded Colab cell may"
    )
    guard = code[0].source.split("if ON_COLAB:")
    assert len(guard) == 2 and "%pip" not in guard[0] and colab_cell.COLAB_GUARD in guard[0]


def test_colab_url_is_the_repository_url():
    colab_cell = _load_tool("colab_cell")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = config["repository"]["url"]
    assert colab_cell.repository_url() == url.rstrip("/")
    assert f'git+{url.rstrip("/")}"' in colab_cell.colab_cell_source(colab_cell.repository_url())
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def _toc_files(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_toc_files(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_toc_files(item))
    return found


def test_toc_lists_exactly_the_lessons():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = _toc_files(toc)
    assert len(entries) == len(set(entries)), f"_toc.yml lists a file twice: {entries}"
    listed = sorted(e.removesuffix(".ipynb") for e in entries if e.startswith("lessons/"))
    expected = sorted(f"lessons/{p.stem}" for p in LESSONS)
    assert listed == expected, f"_toc.yml lists {listed}, lessons/ holds {expected}"
    generated = {page.removesuffix(".md") for page in _load_tool("build_book").GENERATED_PAGES}
    for entry in entries:
        candidates = [ROOT / entry] + [
            ROOT / f"{entry}{suffix}" for suffix in (".md", ".ipynb", ".rst")
        ]
        assert entry in generated or any(c.is_file() for c in candidates), (
            f"_toc.yml lists {entry}, which does not exist"
        )
    assert generated <= set(entries), (
        f"generated pages missing from _toc.yml: {sorted(generated - set(entries))}"
    )
    assert not any((ROOT / page).exists() for page in _load_tool("build_book").GENERATED_PAGES), (
        "a generated page is committed in book/; the build writes it"
    )


def test_book_config_is_offline_and_renders_executed_notebooks():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off", (
        "lessons are executed by papermill, once"
    )
    sphinx = config["sphinx"]["config"]
    assert "://" not in sphinx["mathjax_path"]
    for script, attributes in sphinx["nb_ipywidgets_js"].items():
        assert "://" not in script, f"nb_ipywidgets_js loads {script} from the network"
        assert not any("://" in value for value in attributes.values()), attributes
    assert config["repository"]["url"].startswith("https://github.com/")
    assert "book/references.bib" in config["bibtex_bibfiles"]


def test_book_javascript_is_pinned():
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), (
            f"package.json: pin {name} to an exact version, not {version!r}"
        )
        locked = lock["packages"][f"node_modules/{name}"]["version"]
        assert locked == version, (
            f"package-lock.json has {name} {locked}, package.json {version}: run npm install"
        )


def test_references_are_well_formed():
    from pybtex.database import parse_file

    bibliography = parse_file(str(ROOT / "book" / "references.bib"), bib_format="bibtex")
    assert bibliography.entries
    for key, entry in bibliography.entries.items():
        assert entry.persons.get("author"), f"{key}: no author"
        for field in ("title", "year"):
            assert entry.fields.get(field), f"{key}: no {field}"
        venues = {"inproceedings": "booktitle", "article": "journal", "book": "publisher"}
        venue = venues.get(entry.type)
        if venue:
            assert entry.fields.get(venue), f"{key}: an @{entry.type} needs a {venue}"


def _repository_files() -> list[Path]:
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            .stdout.decode("utf-8")
            .split("\0")
        )
        paths = [ROOT / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk the tree
        paths = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in UNTRACKED_DIRS]
            paths.extend(Path(folder) / name for name in files)
    return [p for p in paths if p.is_file() and not UNTRACKED_DIRS & set(p.relative_to(ROOT).parts)]


def test_no_file_exceeds_one_megabyte():
    files = _repository_files()
    assert files
    large = {
        str(p.relative_to(ROOT)): p.stat().st_size
        for p in files
        if p.stat().st_size > MAX_FILE_BYTES
    }
    assert not large, f"files over 1 MB (keep data and weights out of the repository): {large}"


def test_ci_script_is_executable():
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


@pytest.mark.parametrize("path", LESSONS, ids=lesson_ids(LESSONS))
def test_lesson_has_exercises_with_hidden_solutions(path: Path):
    """At least two sphinx-exercise exercises, each with a solution folded away
    (``:class: dropdown``)."""
    text = _markdown(path)
    exercises = re.findall(r"^```\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", text, re.M)
    solutions = dict(re.findall(r"^```\{solution\}\s*(\S+)\n((?::[^\n]*\n)*)", text, re.M))
    assert len(exercises) >= 2, (
        f"{path.name}: {len(exercises)} exercises; every lesson has at least two"
    )
    assert len(set(exercises)) == len(exercises), (
        f"{path.name}: exercise labels repeat: {exercises}"
    )
    for label in exercises:
        assert label.startswith(f"ex-{path.name[:2]}-"), (
            f"{path.name}: label {label!r} should start with ex-{path.name[:2]}-"
        )
        assert label in solutions, f"{path.name}: exercise {label} has no solution"
        assert ":class: dropdown" in solutions[label], (
            f"{path.name}: the solution of {label} is not hidden (:class: dropdown)"
        )


@pytest.mark.parametrize("path", LESSONS, ids=lesson_ids(LESSONS))
def test_lesson_has_misconceptions_box_and_references(path: Path):
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
    boxes = [c for c in cells if c.lstrip().startswith("```{admonition} Common misconceptions")]
    assert len(boxes) == 1, (
        f"{path.name}: needs one 'Common misconceptions' admonition cell, found {len(boxes)}"
    )
    assert ":class: warning" in boxes[0]
    if any("{cite" in c for c in cells):
        assert any("```{bibliography}" in c for c in cells), (
            f"{path.name}: cites works but lists no references"
        )


def test_glossary_terms_are_linked_where_lessons_first_use_them():
    glossary_links = _load_tool("glossary_links")
    entries = glossary_links.glossary_entries()
    assert len(entries) >= 40
    unlinked = {
        path.name: glossary_links.link_notebook(path, entries, write=False) for path in LESSONS
    }
    unlinked = {name: terms for name, terms in unlinked.items() if terms}
    assert not unlinked, (
        f"glossary terms used but not linked (run python tools/glossary_links.py): {unlinked}"
    )
    for path in LESSONS:
        text = _markdown(path)
        targets = {t.lower() for t in glossary_links.TERM_ROLE.findall(text)}
        known = {e.target.lower() for e in entries}
        assert targets <= known, (
            f"{path.name} links terms not in the glossary: {sorted(targets - known)}"
        )
