"""What every lesson shares: its run context, its ``metrics.json``, and papermill execution."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import torch

from llmu.config import Profile, get_profile, seed_everything, select_device

REPO_ROOT = Path(__file__).resolve().parents[2]
LESSONS_DIR = REPO_ROOT / "lessons"
EXECUTED_DIR = REPO_ROOT / "_build" / "executed"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"
REPORTED_PACKAGES = ("llmu", "torch", "transformers", "accelerate", "datasets", "torchmetrics")
RESERVED_KEYS = ("lesson", "profile", "seed", "device", "runtime_s", "versions", "python")


def library_versions() -> dict[str, str]:
    """Installed versions of the packages whose behaviour a lesson's numbers depend on."""
    versions = {}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass
class LessonRun:
    """A lesson's run: profile, seed, device and output folder, started by :func:`start`."""

    lesson: str
    profile: Profile
    seed: int
    device: torch.device
    output_dir: Path
    started: float = field(default_factory=time.perf_counter)

    def save_metrics(self, metrics: dict[str, object]) -> Path:
        """Write ``metrics.json``: the lesson's numbers plus profile, seed, device, runtime, versions.

        Values must be JSON numbers, strings, booleans, or lists/dicts of them; NaN and
        infinities are rejected, since a test cannot assert anything about them.
        """
        clash = sorted(set(metrics) & set(RESERVED_KEYS))
        if clash:
            raise ValueError(f"metric names {clash} are reserved for the run's own fields")
        _check_json_numbers(metrics, "metrics")
        record = {
            **metrics,
            "lesson": self.lesson,
            "profile": self.profile.name,
            "seed": self.seed,
            "device": _device_name(self.device),
            "runtime_s": round(time.perf_counter() - self.started, 2),
            "python": platform.python_version(),
            "versions": library_versions(),
        }
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / "metrics.json"
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


def start(lesson: str, profile: str, seed: int, output_dir: str | Path, **overrides: object) -> LessonRun:
    """Begin a lesson: resolve the profile (with papermill overrides), seed, pick the device.

    The quick profile always runs on the CPU, so its numbers are the same on every machine.
    Data-set progress bars are switched off (training keeps its own).
    """
    import datasets

    datasets.disable_progress_bars()
    resolved = get_profile(profile, **overrides)
    seed_everything(seed)
    device = select_device("auto" if resolved.name == "full" else "cpu")
    return LessonRun(lesson=lesson, profile=resolved, seed=seed, device=device, output_dir=Path(output_dir))


def lesson_names() -> list[str]:
    """The lessons of the course, in order (file stems under ``lessons/``)."""
    return sorted(p.stem for p in LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def resolve_lesson(name: str) -> str:
    """Accept ``"02"``, ``"02_calibration"`` or ``"02_calibration.ipynb"``; return the stem."""
    stem = Path(name).stem
    names = lesson_names()
    matches = [n for n in names if n == stem or n.split("_", 1)[0] == stem]
    if len(matches) != 1:
        raise ValueError(f"unknown lesson {name!r}; lessons are {names}")
    return matches[0]


def execute(
    name: str,
    profile: str = "quick",
    seed: int = 0,
    parameters: dict[str, object] | None = None,
    executed_dir: Path = EXECUTED_DIR,
    artifacts_dir: Path = ARTIFACTS_DIR,
) -> dict[str, object]:
    """Run one lesson with papermill and return its ``metrics.json`` as a dict.

    The executed notebook (outputs and widget state included) goes to
    ``executed_dir/<lesson>.ipynb``; that file is what the book renders.
    """
    import papermill

    stem = resolve_lesson(name)
    get_profile(profile)  # fail on a bad name before starting a kernel
    output_dir = artifacts_dir.resolve() / stem
    metrics_path = output_dir / "metrics.json"
    metrics_path.unlink(missing_ok=True)
    executed_dir.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(LESSONS_DIR / f"{stem}.ipynb"),
        str(executed_dir / f"{stem}.ipynb"),
        # A path relative to the repository root, so the rendered book shows no machine's paths.
        parameters={
            "profile": profile,
            "seed": seed,
            "output_dir": os.path.relpath(output_dir, REPO_ROOT),
            **(parameters or {}),
        },
        cwd=str(REPO_ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    if not metrics_path.is_file():
        raise RuntimeError(f"lesson {stem} ran but wrote no {metrics_path}; it must call run.save_metrics")
    return json.loads(metrics_path.read_text(encoding="utf-8"))


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
        f"{where} has type {type(value).__name__}; convert it to a float/int/str (e.g. float(x))"
    )
