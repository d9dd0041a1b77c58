"""Execute the lessons, stage the book source, build it, and generate the pages made from runs.

The sub-commands are the steps of ``make book`` (``tests/test_book.py`` calls the same
functions), plus the ledger that ``python -m llmu ledger`` prints:

``execute LESSON``
    Run ``lessons/LESSON.ipynb`` once with papermill (quick profile) through
    :func:`llmu.lesson.execute`, after checking that the kernel papermill will start
    is this environment's Python. Writes ``_build/executed/LESSON.ipynb`` and
    ``artifacts/LESSON/metrics.json``. A failing cell fails the step.

``stage``
    Mirror the book's source into ``_build/site/``: ``_config.yml``, ``_toc.yml`` and
    ``book/`` as they are, ``lessons/`` replaced by the *executed* notebooks (papermill's
    injected-parameters cell removed, cells that only record numbers folded:
    :func:`page_notebook`), after checking that ``book/intro.md`` describes exactly the
    lessons of ``_toc.yml`` (:func:`check_intro`), and
    ``_vendor/`` holding the JavaScript that the pages load (MathJax 3, require.js,
    the Jupyter widgets HTML manager), copied from ``node_modules/`` (``npm ci``).
    It also writes the pages made from this build's runs (:data:`GENERATED_PAGES`).
    Files are copied only when they changed, and files that no longer belong are removed.

``build``
    ``stage``, then ``jupyter-book build --all -W -n --keep-going`` on the staged tree,
    with the HTML in ``_build/html/``. Notebook execution is off in ``_config.yml``:
    the book renders the notebooks executed by ``execute``, nothing runs twice.

``ledger [--status]``
    Print the results ledger (or the execution status) of the lessons executed so far,
    as Markdown.

The generated pages are rendered here and nowhere else (the library ``llmu`` knows
nothing of the book):

- ``book/ledger.md``, the results ledger: per lesson, the numbers of ``book/ledger.yml``
  read from this build's ``metrics.json``, beside the published numbers it lists;
- ``book/status.md``, the execution status: what ran where, for how long, with which
  library versions;
- ``book/misconceptions.md``: every lesson's "Common misconceptions" box, linking the lesson;
- ``book/workshop/agenda.md``: ``book/workshop/plan.yml`` timed with the measured run times.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmu.lesson import LESSON_GLOB, RESERVED_KEYS, course_paths

PATHS = course_paths(Path(__file__).resolve().parents[1])
ROOT = PATHS.root
LESSONS_DIR = PATHS.lessons
BUILD_DIR = PATHS.build
EXECUTED_DIR = PATHS.executed
ARTIFACTS_DIR = PATHS.artifacts
SITE_DIR = BUILD_DIR / "site"
HTML_DIR = BUILD_DIR / "html"
GENERATED_DIR = BUILD_DIR / "generated"
NODE_MODULES = ROOT / "node_modules"
# The staged folder Sphinx serves as ``_static/`` (``html_static_path`` in _config.yml).
# It is not called ``_static``: Jupyter Book would add every .js file found under a root
# ``_static/`` folder to every page, and MathJax alone ships hundreds.
VENDOR = "_vendor"

# What the pages load, as (source under node_modules, destination under _static, files).
# ``None`` for files means the whole folder. Keep in step with _config.yml
# (``mathjax_path``, ``nb_ipywidgets_js``) and package.json.
ASSETS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    # MathJax 3 loads its fonts and extensions relative to its own location: whole es5 tree.
    ("mathjax/es5", "mathjax", None),
    ("requirejs", "requirejs", ("require.js",)),
    # embed-amd.js bundles @jupyter-widgets/base, controls and output; the font files
    # beside it are the icons it loads relative to its own URL (webpack public path).
    ("@jupyter-widgets/html-manager/dist", "jupyter-widgets",
     ("embed-amd.js", "*.woff2", "*.woff", "*.ttf", "*.eot", "*.svg")),
)
# Pages written by the build, as paths in the staged site (listed in _toc.yml, absent from
# book/).
GENERATED_PAGES = (
    "book/ledger.md", "book/status.md", "book/misconceptions.md", "book/workshop/agenda.md",
)
LEDGER_FILE = ROOT / "book" / "ledger.yml"
TOC_FILE = ROOT / "_toc.yml"
INTRO_FILE = ROOT / "book" / "intro.md"
WORKSHOP_PLAN = ROOT / "book" / "workshop" / "plan.yml"
MISCONCEPTIONS_OPENING = "```{admonition} Common misconceptions"


class BuildError(RuntimeError):
    """A step of the book build failed; the message says what to do."""


def lesson_files() -> list[Path]:
    """The lesson notebooks, in order (:data:`llmu.lesson.LESSON_GLOB`)."""
    return sorted(LESSONS_DIR.glob(LESSON_GLOB))


def _rel(path: Path) -> str:
    """``path`` relative to the checkout, for messages."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------- execute


def check_kernel() -> str:
    """Fail unless the ``python3`` kernel papermill starts is this interpreter.

    papermill asks jupyter_client for the kernel spec ``python3``. ipykernel's own spec
    says ``python`` and jupyter_client replaces that with ``sys.executable``; a spec of the
    same name installed for the user or system-wide (``jupyter kernelspec list``) that names
    another interpreter would run the lessons without this environment's packages.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    program = spec.argv[0]
    major, minor = sys.version_info[:2]
    if program in {"python", f"python{major}", f"python{major}.{minor}"}:
        return sys.executable  # jupyter_client substitutes sys.executable for these names
    if Path(program).is_absolute() and Path(program).parent == Path(sys.executable).parent:
        return program  # an interpreter of this environment (.venv/bin/python3 and the like)
    raise BuildError(
        f"the 'python3' kernel spec in {spec.resource_dir} runs {program}, not this "
        f"environment's {sys.executable}; remove it (`jupyter kernelspec remove python3`) "
        "or run make from a shell without it on JUPYTER_PATH"
    )


def execute(name: str, profile: str = "quick", seed: int = 0) -> dict[str, object]:
    """Execute one lesson with papermill into ``_build/executed/`` and return its metrics."""
    from llmu.lesson import execute as execute_lesson

    check_kernel()
    started = time.perf_counter()
    metrics = execute_lesson(name, profile=profile, seed=seed, root=ROOT)
    elapsed = time.perf_counter() - started
    print(f"    {name}: executed in {elapsed:.1f} s ({profile} profile, seed {seed})")
    return metrics


# ------------------------------------------------------------------------------ stage


def _copy_if_changed(source: Path, target: Path) -> bool:
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def _asset_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for source, destination, patterns in ASSETS:
        base = NODE_MODULES / source
        if not base.is_dir():
            raise BuildError(
                f"{_rel(base)} is missing: run `npm ci` in {ROOT} "
                "(make book does it) to install the book's JavaScript"
            )
        if patterns is None:
            found = [p for p in base.rglob("*") if p.is_file()]
        else:
            found = sorted({p for pattern in patterns for p in base.glob(pattern) if p.is_file()})
            missing = [pattern for pattern in patterns
                       if "*" not in pattern and not (base / pattern).is_file()]
            if missing:
                raise BuildError(f"{_rel(base)} lacks {missing}: run `npm ci` again")
        for path in found:
            files[f"{VENDOR}/{destination}/{path.relative_to(base).as_posix()}"] = path
    return files


# ------------------------------------------------------------------ generated pages


@dataclass(frozen=True)
class LessonRecord:
    """What a build knows of one lesson: its title, its metrics, whether its execution passed."""

    name: str
    title: str
    metrics: Mapping[str, object]
    passed: bool


@dataclass(frozen=True)
class Published:
    """A published number: what was reported, in which setting, by which work (BibTeX key)."""

    value: str
    setting: str
    source: str


@dataclass(frozen=True)
class Entry:
    """One row of the ledger: a key of the lesson's ``metrics.json`` and what it means.

    ``divide_by`` names a second key: the row then shows the ratio ``key / divide_by`` (a
    student/teacher ratio, say), so that it compares like with like. ``published`` is a
    published number measured in a setting comparable with this run's; ``note`` (Markdown,
    citations allowed) holds what is worth knowing but not comparable.
    """

    key: str
    label: str
    published: Published | None = None
    divide_by: str | None = None
    note: str = ""

    def value(self, metrics: Mapping[str, object]) -> object:
        """This row's number in a run's metrics."""
        value = metrics[self.key]
        if self.divide_by is None:
            return value
        divisor = metrics[self.divide_by]
        if not (_is_number(value) and _is_number(divisor)) or divisor == 0:
            raise BuildError(f"ledger row {self.label!r}: {self.key} / {self.divide_by} needs "
                             f"two numbers and a non-zero divisor, got {value!r} / {divisor!r}")
        return float(value) / float(divisor)


def _read_yaml(path: Path, what: str) -> object:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BuildError(f"{_rel(path)} is missing: {what} is made from it") from error


def load_ledger(path: Path = LEDGER_FILE) -> dict[str, tuple[Entry, ...]]:
    """``book/ledger.yml``: lesson -> the entries its ledger section shows, in order."""
    data = _read_yaml(path, "the results ledger") or {}
    if not isinstance(data, dict):
        raise BuildError(f"{_rel(path)}: expected a mapping of lesson names to lists of entries")
    ledger: dict[str, tuple[Entry, ...]] = {}
    for lesson, items in data.items():
        entries = []
        for item in items or []:
            where = f"{_rel(path)} [{lesson}] {item!r}"
            if not isinstance(item, dict) or not {"key", "label"} <= set(item):
                raise BuildError(f"{where}: every entry needs a key and a label")
            unknown = set(item) - {"key", "label", "published", "divide_by", "note"}
            if unknown:
                raise BuildError(f"{where}: unknown field(s) {sorted(unknown)}")
            published = item.get("published")
            if published is not None:
                if not isinstance(published, dict) or set(published) != {
                        "value", "setting", "source"}:
                    raise BuildError(f"{where}: published needs exactly value, setting, source")
                published = Published(**{k: str(v) for k, v in published.items()})
            divide_by = item.get("divide_by")
            entries.append(Entry(str(item["key"]), str(item["label"]), published,
                                 None if divide_by is None else str(divide_by),
                                 " ".join(str(item.get("note") or "").split())))
        ledger[str(lesson)] = tuple(entries)
    return ledger


def format_value(value: object) -> str:
    """The ledger's rendering of a number (or a list of numbers): integers whole with thousands
    separators; floats to 3 decimals below 10, to 1 decimal below 1000, whole above."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"the ledger shows numbers, got {value!r}")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(format_value(v) for v in value)
    raise TypeError(f"the ledger shows numbers or lists of numbers, got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _markdown_cells(notebook_path: Path) -> list[str]:
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    return ["".join(c.get("source", [])) for c in notebook.get("cells", [])
            if c.get("cell_type") == "markdown"]


def notebook_title(path: Path) -> str:
    """The lesson's ``# title``, the first level-1 heading of its markdown cells."""
    for cell in _markdown_cells(path):
        for line in cell.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    raise BuildError(f"{path}: the lesson has no '# title' line in a markdown cell")


def load_records(names: Sequence[str], executed_dir: Path = EXECUTED_DIR,
                 artifacts_dir: Path = ARTIFACTS_DIR) -> list[LessonRecord]:
    """Every lesson's record in this build, from ``executed_dir/NAME.ipynb`` and
    ``artifacts_dir/NAME/metrics.json``.

    A lesson passed when papermill finished it without an exception and it wrote its metrics.
    """
    records = []
    for name in names:
        executed = executed_dir / f"{name}.ipynb"
        metrics_path = artifacts_dir / name / "metrics.json"
        if not executed.is_file():
            raise BuildError(f"{executed} is missing: execute the lesson first (make book)")
        notebook = json.loads(executed.read_text(encoding="utf-8"))
        run = notebook.get("metadata", {}).get("papermill", {})
        metrics = (json.loads(metrics_path.read_text(encoding="utf-8"))
                   if metrics_path.is_file() else {})
        passed = (bool(run.get("end_time")) and not run.get("exception")
                  and metrics.get("lesson") == name)
        records.append(LessonRecord(name, notebook_title(executed), metrics, passed))
    return records


def ledger_entries(record: LessonRecord, ledger: Mapping[str, Sequence[Entry]]) -> list[Entry]:
    """The rows of a lesson's ledger section: those of ``book/ledger.yml``, else every scalar
    number of its ``metrics.json`` (the run's own fields, settings included, left out)."""
    if record.name in ledger:
        missing = [key for e in ledger[record.name] for key in (e.key, e.divide_by)
                   if key is not None and key not in record.metrics]
        if missing:
            raise BuildError(f"{record.name}/metrics.json lacks {missing}, which the ledger "
                             f"shows ({_rel(LEDGER_FILE)}): record them or edit the ledger")
        return list(ledger[record.name])
    return [Entry(key, key.replace("_", " ")) for key, value in record.metrics.items()
            if key not in RESERVED_KEYS and _is_number(value)]


def _seconds(metrics: Mapping[str, object], key: str, digits: int) -> str:
    value = metrics.get(key)
    return f"{float(value):.{digits}f}" if _is_number(value) else ""


def _run_line(metrics: Mapping[str, object]) -> str:
    line = (f"profile `{metrics['profile']}` · device `{metrics['device']}` · "
            f"seed {metrics['seed']} · run time {float(metrics['runtime_s']):.1f} s")
    steps = _seconds(metrics, "runtime_reference_steps", 0)
    return line + (f" ({steps} reference steps)" if steps else "")


def render_ledger(records: Sequence[LessonRecord], ledger: Mapping[str, Sequence[Entry]]) -> str:
    """The ledger page: per lesson, this build's numbers beside the published ones."""
    lines = [
        "# Results ledger",
        "",
        "Every number in the column *this build* was read from the `metrics.json` that the",
        "lesson wrote when this book was built; the page is generated, nothing in it is typed by",
        "hand. Beside it stands the published number the lesson compares itself with, where one",
        "exists, and its source. The book is built with the `quick` profile (small subsets, a",
        "small offline backbone, a CPU): expect its numbers to fall short of the published ones,",
        "which the `full` profile targets. The lessons explain each gap.",
        "",
        "A published number stands beside ours only where the two were measured alike: the same",
        "quantity (a ratio beside a ratio, a sentiment accuracy beside a sentiment accuracy) in a",
        "comparable setting. Figures from other tasks, other data sizes or other protocols are",
        "in the *notes* column, with their setting, for orientation only.",
        "",
    ]
    for record in records:
        lines += [f"## {{doc}}`{record.title} </lessons/{record.name}>`", ""]
        if not record.passed:
            lines += ["```{error}", "This lesson failed in this build; it has no numbers.", "```",
                      ""]
            continue
        lines += [_run_line(record.metrics), "",
                  "| quantity | this build | published | setting | source | notes |",
                  "|---|---|---|---|---|---|"]
        for entry in ledger_entries(record, ledger):
            ref = entry.published
            published = ((ref.value, ref.setting, f"{{cite:t}}`{ref.source}`") if ref
                         else ("", "", ""))
            value = format_value(entry.value(record.metrics))
            lines.append(f"| {entry.label} | {value} | " + " | ".join(published)
                         + f" | {entry.note} |")
        lines.append("")
    lines += ["## References", "", "```{bibliography}", ":filter: docname in docnames", "```", ""]
    return "\n".join(lines)


def render_status(records: Sequence[LessonRecord]) -> str:
    """The execution-status page: per lesson its profile, device, seed, run time, reference
    step and result; the library versions."""
    lines = [
        "# Execution status",
        "",
        "Every lesson of this book was executed once, from top to bottom, by papermill while the",
        "book was built; the pages show the outputs of those runs. This table is generated from",
        "the runs themselves. A lesson's `quick` profile is budgeted at 120 s on an idle 2-core",
        "machine. Machines differ in speed, and a shared one from run to run, so each run also",
        "times a *reference step* (one training step of the quick backbone on a fixed batch) at",
        "its start; the tests check the run time measured in reference steps, not in seconds.",
        "",
        "| lesson | profile | device | seed | run time (s) | reference step (s) "
        "| run time in reference steps | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    versions: dict[str, dict[str, str]] = {}
    for record in records:
        m = record.metrics
        cells = [str(m.get("profile", "")), f"`{m['device']}`" if "device" in m else "",
                 str(m.get("seed", "")), _seconds(m, "runtime_s", 1),
                 _seconds(m, "reference_step_s", 3), _seconds(m, "runtime_reference_steps", 0)]
        result = "passed" if record.passed else "**failed**"
        lines.append(f"| {{doc}}`{record.name} </lessons/{record.name}>` | "
                     + " | ".join(cells) + f" | {result} |")
        for package, version in dict(m.get("versions", {})).items():
            versions.setdefault(package, {})[record.name] = str(version)
    lines += ["", "## Library versions", "", "| package | version |", "|---|---|"]
    for package, per_lesson in versions.items():
        distinct = sorted(set(per_lesson.values()))
        lines.append(f"| {package} | {', '.join(distinct)} |")
    lines.append("")
    return "\n".join(lines)


def misconception_box(notebook_path: Path) -> str:
    """The body of the lesson's "Common misconceptions" admonition (between its options and
    its closing fence)."""
    boxes = [cell for cell in _markdown_cells(notebook_path)
             if cell.lstrip().startswith(MISCONCEPTIONS_OPENING)]
    if len(boxes) != 1:
        raise BuildError(f"{notebook_path.name}: expected one cell opening with "
                         f"{MISCONCEPTIONS_OPENING!r}, found {len(boxes)}")
    lines = boxes[0].strip().splitlines()
    if lines[-1].strip() != "```":
        raise BuildError(f"{notebook_path.name}: the misconceptions cell must end with the "
                         "admonition's closing fence")
    body = [line for line in lines[1:-1] if not line.startswith(":")]
    if any("{glue" in line for line in body):
        raise BuildError(f"{notebook_path.name}: the misconceptions box quotes a glued number; "
                         "the misconceptions page cannot show it, so keep numbers out of the box")
    return "\n".join(body).strip()


def render_misconceptions(records: Sequence[LessonRecord],
                          executed_dir: Path = EXECUTED_DIR) -> str:
    """Every lesson's misconceptions box, gathered on one page, each linking to its lesson."""
    lines = [
        "# Common misconceptions",
        "",
        "Popular write-ups on uncertainty in language models repeat a handful of errors. Each",
        "lesson names the ones that belong to its topic in a \"Common misconceptions\" box and",
        "shows the right version with code. This page gathers those boxes as the lessons state",
        "them (it is generated from the lessons when the book is built); follow the link to see",
        "each correction demonstrated. It lists only the lessons this book contains: a",
        "misconception whose lesson is still being written appears here when that lesson does.",
        "",
    ]
    for record in records:
        lines += [f"## {record.title}", "",
                  f"Demonstrated in {{doc}}`{record.title} </lessons/{record.name}>`.", "",
                  "```{admonition} Common misconceptions", ":class: warning", "",
                  misconception_box(executed_dir / f"{record.name}.ipynb"), "```", ""]
    lines += ["## References", "", "```{bibliography}", ":filter: docname in docnames", "```", ""]
    return "\n".join(lines)


def exercise_labels(notebook_path: Path) -> list[str]:
    """Labels of the exercises of a lesson, in order."""
    return re.findall(r"^```\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)",
                      "\n".join(_markdown_cells(notebook_path)), flags=re.M)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _duration(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}"


def render_agenda(records: Sequence[LessonRecord], plan: Mapping[str, dict],
                  executed_dir: Path = EXECUTED_DIR) -> str:
    """The workshop agendas of ``plan.yml``, timed with each lesson's measured quick-profile
    run time."""
    by_name = {record.name: record for record in records}
    lines = [
        "# Workshop agendas",
        "",
        "Generated when the book is built: the *run* column is the measured run time of the",
        "lesson's `quick` profile in this build (see {doc}`/book/status`), rounded up to whole",
        "minutes, on the build machine's 2 CPU cores; a participant's laptop may need up to twice",
        "as long. *Teach* and *exercise* are the planned minutes of `book/workshop/plan.yml`. The",
        "live exercise is the lesson's first; the others make good homework. Each agenda's",
        "length, in its heading, is the sum of its rows.",
        "",
    ]
    for key, agenda in plan.items():
        hours, minutes = map(int, str(agenda["start"]).split(":"))
        start = now = hours * 60 + minutes
        rows = ["| start | session | teach | run | exercise (live) | minutes |",
                "|---|---|---|---|---|---|"]
        for session in agenda["sessions"]:
            if "break" in session:
                rows.append(f"| {_clock(now)} | *{session['break']}* | | | "
                            f"| {session['minutes']} |")
                now += int(session["minutes"])
                continue
            name = session["lesson"]
            if name not in by_name:
                raise BuildError(f"{_rel(WORKSHOP_PLAN)} [{key}] plans lesson {name!r}, "
                                 f"which is not in lessons/ ({sorted(by_name)})")
            record = by_name[name]
            run = math.ceil(float(record.metrics["runtime_s"]) / 60)
            labels = exercise_labels(executed_dir / f"{name}.ipynb")
            live = (f"{session['exercise']} ({{ref}}`{labels[0]}`)"
                    if labels and session["exercise"] else "—")
            total = int(session["teach"]) + run + int(session["exercise"])
            rows.append(f"| {_clock(now)} | {{doc}}`{record.title} </lessons/{name}>` "
                        f"| {session['teach']} | {run} | {live} | {total} |")
            now += total
        rows += [f"| {_clock(now)} | *end* | | | | |", ""]
        lines += [f"## {agenda['title']} ({_duration(now - start)})", "",
                  agenda["summary"].strip(), "", *rows]
    return "\n".join(lines)


def generated_pages(executed_dir: Path = EXECUTED_DIR,
                    artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, str]:
    """The text of every page in :data:`GENERATED_PAGES`, made from this build's runs."""
    records = load_records([p.stem for p in lesson_files()], executed_dir, artifacts_dir)
    plan = _read_yaml(WORKSHOP_PLAN, "the workshop agenda")
    pages = {
        "book/ledger.md": render_ledger(records, load_ledger()),
        "book/status.md": render_status(records),
        "book/misconceptions.md": render_misconceptions(records, executed_dir),
        "book/workshop/agenda.md": render_agenda(records, plan, executed_dir),
    }
    assert set(pages) == set(GENERATED_PAGES)
    return pages


def ledger_so_far(status: bool = False, executed_dir: Path = EXECUTED_DIR,
                  artifacts_dir: Path = ARTIFACTS_DIR) -> tuple[str, bool]:
    """The ledger (or the status) of the lessons executed so far, and whether all passed;
    what ``python -m llmu ledger`` prints."""
    ran = [p.stem for p in lesson_files() if (executed_dir / p.name).is_file()]
    if not ran:
        raise BuildError("no lesson has run yet: `python -m llmu run 02` (or --all) first")
    records = load_records(ran, executed_dir, artifacts_dir)
    page = render_status(records) if status else render_ledger(records, load_ledger())
    return page, all(record.passed for record in records)


def toc_lessons_by_part(toc: Mapping[str, object]) -> dict[str, list[str]]:
    """The lessons of each part of ``_toc.yml`` that has lessons: caption -> lesson names."""
    parts: dict[str, list[str]] = {}
    for part in toc.get("parts", []):
        names = [str(c["file"]).split("/", 1)[1] for c in part.get("chapters", [])
                 if str(c.get("file", "")).startswith("lessons/")]
        if names:
            parts[str(part["caption"])] = names
    return parts


def check_intro(intro: str, toc: Mapping[str, object]) -> None:
    """Fail unless the introduction's parts link exactly the lessons of ``_toc.yml``'s parts.

    The introduction describes each part in a paragraph opening with ``**CAPTION.**``; it may
    describe only chapters the book has, and must describe each of them, in its own part.
    """
    paragraphs = {m.group(1): m.group(2) for m in re.finditer(
        r"^\*\*(Part [^*]+?)\.\*\*(.*?)(?=\n\n|\Z)", intro, flags=re.M | re.S)}
    expected = toc_lessons_by_part(toc)
    problems = []
    for caption in sorted(set(paragraphs) - set(expected)):
        problems.append(f"describes {caption!r}, which _toc.yml does not have (or has no lesson)")
    for caption, names in expected.items():
        if caption not in paragraphs:
            problems.append(f"has no paragraph opening with '**{caption}.**'")
            continue
        linked = re.findall(r"\{doc\}`\.\./lessons/([^`<>\s]+)`", paragraphs[caption])
        if linked != names:
            problems.append(f"'{caption}' links {linked}; _toc.yml lists {names}")
    if problems:
        raise BuildError(f"{_rel(INTRO_FILE)} does not match {_rel(TOC_FILE)}: "
                         + "; ".join(problems))


#: Tags the staged notebooks get, so that the pages hide what is not for the reader:
#: papermill's injected parameters (the run's own values, shown in the run summary) are removed,
#: and a cell that only records numbers for the prose gets its code folded away.
INJECTED_TAG, REMOVE_TAG, FOLD_TAG = "injected-parameters", "remove-cell", "hide-input"
RECORDING_CALLS = {"run.record", "glue"}


def records_only(source: str) -> bool:
    """Whether a code cell only records numbers: each statement a ``run.record(...)`` or
    ``glue(...)`` call or a constant assignment, with at least one call."""
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics: not a bookkeeping cell
        return False
    calls = [s for s in body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
             and ast.unparse(s.value.func) in RECORDING_CALLS]
    constants = [s for s in body if isinstance(s, ast.Assign)
                 and isinstance(s.value, ast.Constant)]
    return bool(calls) and len(calls) + len(constants) == len(body)


def _visible(output: Mapping[str, object]) -> bool:
    data = output.get("data") or {}
    return output.get("output_type") == "stream" or any(
        not str(mime).startswith("application/papermill.record/") for mime in data)


def page_notebook(executed: Path) -> str:
    """The executed notebook as the book renders it (see :data:`INJECTED_TAG`)."""
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        source = "".join(cell.get("source", []))
        if INJECTED_TAG in tags:
            tags.append(REMOVE_TAG)
        elif records_only(source) and not any(map(_visible, cell.get("outputs", []))):
            tags.append(FOLD_TAG)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _write_generated(executed_dir: Path) -> dict[str, Path]:
    files = {}
    pages = generated_pages(executed_dir)
    for lesson in lesson_files():
        pages[f"lessons/{lesson.name}"] = page_notebook(executed_dir / lesson.name)
    for rel, text in pages.items():
        target = GENERATED_DIR / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        files[rel] = target
    return files


def source_files(executed_dir: Path = EXECUTED_DIR) -> dict[str, Path]:
    """What the staged tree holds: ``{path relative to the site: file to copy}``."""
    files: dict[str, Path] = {}
    for name in ("_config.yml", "_toc.yml"):
        files[name] = ROOT / name
    for path in sorted((ROOT / "book").rglob("*")):
        skipped = {".ipynb_checkpoints", "__pycache__"} & set(path.parts)
        if path.is_file() and not skipped:
            files[path.relative_to(ROOT).as_posix()] = path
    lessons = lesson_files()
    if not lessons:
        raise BuildError(f"no lessons ({LESSON_GLOB}) in {LESSONS_DIR}")
    for lesson in lessons:
        executed = executed_dir / lesson.name
        if not executed.is_file():
            raise BuildError(
                f"{executed} is missing: execute the lesson first "
                f"(`make book` does, or `python tools/build_book.py execute {lesson.stem}`)"
            )
        if executed.stat().st_mtime < lesson.stat().st_mtime:
            raise BuildError(
                f"{executed} is older than {_rel(lesson)}: execute it again "
                "(`make book` does) so the book does not show stale outputs"
            )
        notebook = json.loads(executed.read_text(encoding="utf-8"))
        run = notebook.get("metadata", {}).get("papermill", {})
        if run.get("exception") or not run.get("end_time"):
            executed.unlink()  # so that the next `make book` executes the lesson again
            raise BuildError(
                f"{_rel(executed)} records a failed or unfinished execution (removed it): "
                f"fix lessons/{lesson.name} and run `make book` again"
            )
    check_intro(INTRO_FILE.read_text(encoding="utf-8"),
                _read_yaml(TOC_FILE, "the table of contents") or {})
    files.update(_write_generated(executed_dir))
    files.update(_asset_files())
    return files


def stage(site_dir: Path = SITE_DIR, executed_dir: Path = EXECUTED_DIR) -> Path:
    """Mirror the book source, with executed lessons and local JavaScript, into ``site_dir``."""
    files = source_files(executed_dir)
    copied = sum(_copy_if_changed(source, site_dir / rel) for rel, source in files.items())
    removed = 0
    if site_dir.is_dir():
        for path in sorted(site_dir.rglob("*"), reverse=True):
            rel = path.relative_to(site_dir).as_posix()
            if path.is_file() and rel not in files:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    print(f"    staged {len(files)} files in {_rel(site_dir)} "
          f"({copied} copied, {removed} removed)")
    return site_dir


# ------------------------------------------------------------------------------ build


def _jupyter_book() -> str:
    candidate = Path(sys.executable).parent / "jupyter-book"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("jupyter-book")
    if found is None:
        raise BuildError("jupyter-book is not installed: run `make book` (it installs .[book])")
    return found


def _uncoloured(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def build(site_dir: Path = SITE_DIR, executed_dir: Path = EXECUTED_DIR) -> Path:
    """Stage, then build the HTML with warnings as errors; return ``_build/html``."""
    stage(site_dir, executed_dir)
    command = [
        _jupyter_book(), "build", str(site_dir),
        "--path-output", str(ROOT),  # Jupyter Book appends _build/html: HTML_DIR
        "--builder", "html", "--all", "-W", "-n", "--keep-going",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    log = BUILD_DIR / "book-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(_uncoloured(f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}"),
                   encoding="utf-8")
    if result.returncode != 0:
        output = _uncoloured(result.stdout + result.stderr)
        problems = [line for line in output.splitlines()
                    if "WARNING" in line or "ERROR" in line or "Error" in line]
        detail = "\n".join(problems[-40:]) or output[-4000:]
        raise BuildError(f"jupyter-book build failed after {elapsed:.0f} s (full log: {log}):\n"
                         f"{detail}")
    print(f"    built {_rel(HTML_DIR)}/index.html in {elapsed:.0f} s (log: {_rel(log)})")
    return HTML_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("execute", help="execute one lesson with papermill")
    run.add_argument("lesson", nargs="+", help="lesson name, e.g. 02_calibration")
    run.add_argument("--profile", default="quick", choices=("quick", "full"))
    run.add_argument("--seed", type=int, default=0)
    commands.add_parser("stage", help="stage the book source in _build/site")
    commands.add_parser("build", help="stage and build the HTML in _build/html")
    table = commands.add_parser("ledger", help="print the results ledger of the lessons run")
    table.add_argument("--status", action="store_true", help="the execution status instead")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            for lesson in args.lesson:
                execute(lesson, profile=args.profile, seed=args.seed)
        elif args.command == "stage":
            stage()
        elif args.command == "ledger":
            page, passed = ledger_so_far(args.status)
            print(page)
            return 0 if passed else 1
        else:
            build()
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a failing cell: papermill's message names it, not its stack
        if type(error).__name__ != "PapermillExecutionError":
            raise
        print(f"error: lesson {' '.join(args.lesson)} failed{error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
