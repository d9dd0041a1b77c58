"""What every lesson shares: its settings, its numbers, its ``metrics.json``, and papermill.

A lesson starts with :func:`start`, which resolves the profile and the lesson's own settings,
pins the CPU threads, times a reference step and seeds everything. Every number the lesson
claims goes through :meth:`LessonRun.record` (glued for the prose and kept for
``metrics.json``); :meth:`LessonRun.save` writes the file and :meth:`LessonRun.summary` shows
it folded.
"""

from __future__ import annotations

import html
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llmu.calibration import Interval
from llmu.config import Profile, get_profile, pin_threads, seed_everything, select_device

#: Lesson notebooks are ``lessons/NN_topic.ipynb``; this is the one place that says so.
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
REPORTED_PACKAGES = ("llmu", "torch", "transformers", "accelerate", "datasets", "torchmetrics")
RESERVED_KEYS = (
    "lesson",
    "profile",
    "seed",
    "device",
    "settings",
    "runtime_s",
    "reference_step_s",
    "runtime_reference_steps",
    "versions",
    "python",
)
#: The reference workload: one training step of the quick backbone on a fixed batch.
REFERENCE_BATCH = (8, 64)
REFERENCE_REPEATS = 5


# --------------------------------------------------------------------------- course layout


@dataclass(frozen=True)
class CoursePaths:
    """Where a checkout of the course keeps its lessons and what running them produces."""

    root: Path

    @property
    def lessons(self) -> Path:
        return self.root / "lessons"

    @property
    def build(self) -> Path:
        """What building the book makes: executed notebooks, the staged site, the HTML."""
        return self.root / "_build"

    @property
    def executed(self) -> Path:
        """Executed notebooks, the ones the book renders."""
        return self.build / "executed"

    @property
    def artifacts(self) -> Path:
        """One ``artifacts/<lesson>/`` folder per lesson, holding its ``metrics.json``."""
        return self.root / "artifacts"


def _is_course_root(path: Path) -> bool:
    return (path / "_toc.yml").is_file() and (path / "lessons").is_dir()


def course_paths(root: str | Path | None = None) -> CoursePaths:
    """The course checkout: ``root``, else the first folder from the working directory up
    that holds ``_toc.yml`` and ``lessons/``, else the checkout this library was installed from.

    Under a plain ``pip install`` (e.g. on Colab) there is no checkout; the error says how to
    get one.
    """
    if root is not None:
        path = Path(root).expanduser().resolve()
        if not _is_course_root(path):
            raise FileNotFoundError(f"{path} is not a course checkout (no _toc.yml and lessons/)")
        return CoursePaths(path)
    here = Path.cwd().resolve()
    for path in (here, *here.parents, Path(__file__).resolve().parents[2]):
        if _is_course_root(path):
            return CoursePaths(path)
    raise FileNotFoundError(
        "no course checkout found (a folder with _toc.yml and lessons/) from "
        f"{here} upwards; clone the course repository and run this from inside it"
    )


def lesson_names(root: str | Path | None = None) -> list[str]:
    """The lessons of the course, in order (file stems under ``lessons/``)."""
    return sorted(p.stem for p in course_paths(root).lessons.glob(LESSON_GLOB))


def resolve_lesson(name: str, root: str | Path | None = None) -> str:
    """Accept ``"02"``, ``"02_calibration"`` or ``"02_calibration.ipynb"``; return the stem."""
    stem = Path(name).stem
    names = lesson_names(root)
    matches = [n for n in names if n == stem or n.split("_", 1)[0] == stem]
    if len(matches) != 1:
        raise ValueError(f"unknown lesson {name!r}; lessons are {names}")
    return matches[0]


# --------------------------------------------------------------------------- a lesson's run


def library_versions() -> dict[str, str]:
    """Installed versions of the packages whose behaviour a lesson's numbers depend on."""
    versions = {}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Settings(Mapping[str, Any]):
    """A lesson's own knobs for its profile, read as ``settings.name`` or ``settings["name"]``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"no setting {name!r}; settings are {sorted(self._values)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Settings({self._values!r})"


@dataclass
class LessonRun:
    """A lesson's run, made by :func:`start`: profile, settings, device, and its numbers."""

    lesson: str
    profile: Profile
    settings: Settings
    seed: int
    device: torch.device
    output_dir: Path
    reference_step_s: float
    started: float = field(default_factory=time.perf_counter)
    metrics: dict[str, object] = field(default_factory=dict)

    def record(self, **values: object) -> None:
        """Keep numbers for ``metrics.json`` and glue each one for the prose (``{glue}`name```).

        Accepts Python and NumPy numbers, arrays and lists of numbers, strings, booleans and
        :class:`~llmu.calibration.Interval` s; an interval ``name`` becomes ``name``,
        ``name_ci_low`` and ``name_ci_high``. A name can be recorded once.
        """
        from myst_nb import glue

        for name, value in values.items():
            for key, item in _flatten(name, value).items():
                if key in RESERVED_KEYS:
                    raise ValueError(f"{key!r} is reserved for the run's own fields; rename it")
                if key in self.metrics:
                    raise ValueError(f"{key!r} was recorded already; each number is recorded once")
                _check_json_numbers(item, key)
                self.metrics[key] = item
                glue(key, item, display=False)

    def save(self) -> Path:
        """Write ``<output_dir>/metrics.json``: the recorded numbers and the run's own fields.

        The run's fields are profile, seed, device, settings, versions, the wall-clock
        ``runtime_s``, the reference step's ``reference_step_s`` and their ratio
        ``runtime_reference_steps`` (the budget that does not depend on the machine's speed).
        The reference step is timed again here and averaged with the start's timing, so a
        machine whose load changes during the run is measured at both ends.
        """
        runtime = time.perf_counter() - self.started
        reference = (self.reference_step_s + reference_step_seconds()) / 2
        record = {
            **self.metrics,
            "lesson": self.lesson,
            "profile": self.profile.name,
            "seed": self.seed,
            "device": _device_name(self.device),
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
            "runtime_s": round(runtime, 2),
            "reference_step_s": round(reference, 4),
            "runtime_reference_steps": round(runtime / reference, 1),
            "python": platform.python_version(),
            "versions": library_versions(),
        }
        _check_json_numbers(record["settings"], "settings")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / "metrics.json"
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    def summary(self) -> object:
        """The saved ``metrics.json`` as a table folded into a dropdown (an HTML ``<details>``)."""
        from IPython.display import HTML

        path = self.output_dir / "metrics.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist yet; call run.save() first")
        record = json.loads(path.read_text(encoding="utf-8"))
        rows = "".join(
            f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(_short(v))}</td></tr>"
            for k, v in sorted(record.items())
        )
        return HTML(
            f"<details><summary>All {len(record)} numbers of this run "
            f"(<code>{html.escape(str(path))}</code>)</summary>"
            f"<table><thead><tr><th>name</th><th>value</th></tr></thead><tbody>{rows}</tbody>"
            "</table></details>"
        )


def start(
    lesson: str,
    profile: str,
    seed: int,
    output_dir: str | Path,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    **overrides: object,
) -> LessonRun:
    """Begin a lesson: resolve profile and settings, pin threads, time the reference, seed.

    ``settings`` maps each profile name (``"quick"`` and ``"full"``) to the lesson's knobs;
    both must name the same knobs. A knob named like a :class:`~llmu.config.Profile` field
    (``epochs``, ``train_examples``, ...) changes ``run.profile`` (``None``: the profile's
    value); the others make ``run.settings``. ``overrides`` (papermill parameters) replace a
    knob or a profile field of the same name; ``None`` keeps the value. The quick profile
    always runs on the CPU with pinned threads (:func:`llmu.config.pin_threads`), so its
    numbers are the same on every machine.
    """
    import datasets

    datasets.disable_progress_bars()
    declared = _profile_settings(settings or {"quick": {}, "full": {}}, profile)
    knobs = {**declared, **{k: v for k, v in overrides.items() if v is not None}}
    fields = set(Profile.__dataclass_fields__)
    own = {k: v for k, v in knobs.items() if k not in fields}
    unknown = set(own) - set(declared)
    if unknown:
        raise ValueError(
            f"unknown override(s) {sorted(unknown)}: not a setting of this lesson nor a "
            f"profile field ({sorted(fields)})"
        )
    resolved = get_profile(profile, **{k: v for k, v in knobs.items() if k in fields})
    pin_threads(resolved.name)
    reference = reference_step_seconds()
    seed_everything(seed)
    device = select_device("auto" if resolved.name == "full" else "cpu")
    return LessonRun(
        lesson=lesson,
        profile=resolved,
        settings=Settings(own),
        seed=seed,
        device=device,
        output_dir=Path(output_dir),
        reference_step_s=reference,
    )


def _profile_settings(settings: Mapping[str, Mapping[str, Any]], profile: str) -> dict[str, Any]:
    get_profile(profile)  # a bad profile name fails here, with the list of names
    if set(settings) != {"quick", "full"}:
        raise ValueError(
            f"settings needs exactly the keys 'quick' and 'full'; got {sorted(settings)}"
        )
    if set(settings["quick"]) != set(settings["full"]):
        differ = sorted(set(settings["quick"]) ^ set(settings["full"]))
        raise ValueError(
            f"the quick and full settings must name the same knobs; they differ in {differ}"
        )
    return dict(settings[profile])


def reference_step_seconds(repeats: int = REFERENCE_REPEATS) -> float:
    """Median time of one forward and backward pass of the quick backbone on a fixed batch.

    The batch is ``REFERENCE_BATCH`` (sentences x tokens) of fixed token ids on the CPU, after
    one warm-up pass. Lesson run times are divided by it, so the budget holds on machines of
    any speed. Random state is left as it was.
    """
    from llmu.models import load_classifier, quiet_transformers

    with torch.random.fork_rng(devices=[]), quiet_transformers():
        model = load_classifier("minilm", ["negative", "positive"])
        model.train()
        rows, length = REFERENCE_BATCH
        generator = torch.Generator().manual_seed(0)
        ids = torch.randint(1000, 20000, (rows, length), generator=generator)
        labels = torch.arange(rows) % 2
        times = []
        for _ in range(repeats + 1):
            began = time.perf_counter()
            model(input_ids=ids, labels=labels).loss.backward()
            times.append(time.perf_counter() - began)
            model.zero_grad(set_to_none=True)
    return statistics.median(times[1:])


# --------------------------------------------------------------------------- papermill


def execute(
    name: str,
    profile: str = "quick",
    seed: int = 0,
    parameters: dict[str, object] | None = None,
    executed_dir: Path | None = None,
    artifacts_dir: Path | None = None,
    root: str | Path | None = None,
) -> dict[str, object]:
    """Run one lesson with papermill and return its ``metrics.json`` as a dict.

    The executed notebook (outputs and widget state included) goes to
    ``executed_dir/<lesson>.ipynb`` (default ``_build/executed``); that file is what the book
    renders.
    """
    import papermill

    paths = course_paths(root)
    stem = resolve_lesson(name, paths.root)
    get_profile(profile)  # fail on a bad name before starting a kernel
    executed_dir = executed_dir or paths.executed
    output_dir = (artifacts_dir or paths.artifacts).resolve() / stem
    metrics_path = output_dir / "metrics.json"
    metrics_path.unlink(missing_ok=True)
    executed_dir.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(paths.lessons / f"{stem}.ipynb"),
        str(executed_dir / f"{stem}.ipynb"),
        # A path relative to the course root, so the rendered book shows no machine's paths.
        parameters={
            "profile": profile,
            "seed": seed,
            "output_dir": os.path.relpath(output_dir, paths.root),
            **(parameters or {}),
        },
        cwd=str(paths.root),
        kernel_name="python3",
        progress_bar=False,
    )
    if not metrics_path.is_file():
        raise RuntimeError(
            f"lesson {stem} ran but wrote no {metrics_path}; it must call run.save()"
        )
    return json.loads(metrics_path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- helpers


def _flatten(name: str, value: object) -> dict[str, object]:
    if isinstance(value, Interval):
        return {name: value.estimate, f"{name}_ci_low": value.low, f"{name}_ci_high": value.high}
    return {name: _jsonable(value)}


def _jsonable(value: object) -> object:
    """NumPy and torch numbers and arrays as plain Python; anything else unchanged."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def _check_json_numbers(value: object, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; metrics must be finite numbers")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}")
            _check_json_numbers(item, f"{where}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json_numbers(item, f"{where}[{i}]")
        return
    raise ValueError(
        f"{where} has type {type(value).__name__}; record numbers, strings, booleans, "
        "intervals, or lists/dicts of them"
    )
