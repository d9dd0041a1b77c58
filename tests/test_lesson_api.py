"""The lesson API (``llmu.lesson``): ``start`` with its settings, ``record``, ``save``,
``summary``, the pinned threads, the reference step, and where the course checkout is."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import PATHS
from llmu import config, lesson
from llmu.calibration import Interval
from llmu.config import PROFILES

SETTINGS = {
    "quick": {"epochs": 5.0, "batch_size": None, "mc_samples": 8, "method": "lac"},
    "full": {"epochs": None, "batch_size": 16, "mc_samples": 20, "method": "aps"},
}
FAKE_STEP_S = 0.25


@pytest.fixture(autouse=True)
def _keep_threads(monkeypatch):
    """``start`` and ``pin_threads`` set torch's thread count: restore it after each test."""
    threads = torch.get_num_threads()
    monkeypatch.delenv(config.NUM_THREADS_ENV, raising=False)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def fake_step(monkeypatch):
    """Skip timing the reference step (a model load and six passes) where it does not matter."""
    monkeypatch.setattr(lesson, "reference_step_seconds", lambda *args, **kwargs: FAKE_STEP_S)


@pytest.fixture
def run(fake_step, tmp_path) -> lesson.LessonRun:
    return lesson.start("02_calibration", "quick", 3, tmp_path, settings=SETTINGS)


# ----------------------------------------------------------------------------- start


def test_start_splits_profile_fields_from_the_lessons_own_knobs(run, tmp_path):
    quick = PROFILES["quick"]
    assert run.profile.name == "quick" and run.profile.epochs == 5.0
    assert run.profile.batch_size == quick.batch_size  # None: the profile's value
    assert run.profile.learning_rate == quick.learning_rate
    assert dict(run.settings) == {"mc_samples": 8, "method": "lac"}
    assert run.settings.mc_samples == 8 and run.settings["method"] == "lac"
    with pytest.raises(AttributeError, match="no setting 'epochs'.*mc_samples"):
        run.settings.epochs
    assert run.lesson == "02_calibration" and run.seed == 3 and run.output_dir == tmp_path
    assert run.device.type == "cpu" and run.reference_step_s == FAKE_STEP_S


def test_start_full_profile_takes_the_full_settings(fake_step, tmp_path):
    run = lesson.start("02_calibration", "full", 0, tmp_path, settings=SETTINGS)
    full = PROFILES["full"]
    assert run.profile.name == "full" and run.profile.epochs == full.epochs
    assert run.profile.batch_size == 16
    assert dict(run.settings) == {"mc_samples": 20, "method": "aps"}


def test_overrides_replace_a_knob_and_none_keeps_it(fake_step, tmp_path):
    run = lesson.start(
        "02_calibration",
        "quick",
        0,
        tmp_path,
        settings=SETTINGS,
        mc_samples=3,
        method=None,
        epochs=1.0,
        backbone=None,
        train_examples=50,
    )
    assert run.settings.mc_samples == 3 and run.settings.method == "lac"
    assert run.profile.epochs == 1.0 and run.profile.train_examples == 50
    assert run.profile.backbone == PROFILES["quick"].backbone
    bare = lesson.start("02_calibration", "quick", 0, tmp_path)
    assert dict(bare.settings) == {} and bare.profile == PROFILES["quick"]


def test_start_seeds_after_timing_the_reference(fake_step, tmp_path):
    lesson.start("02_calibration", "quick", 7, tmp_path)
    drawn = torch.rand(4)
    config.seed_everything(7)
    assert torch.equal(drawn, torch.rand(4))


@pytest.mark.parametrize(
    "settings, overrides, message",
    [
        ({"quick": {"k": 1}, "full": {"j": 1}}, {}, r"same knobs; they differ in \['j', 'k'\]"),
        ({"quick": {"k": 1}}, {}, "exactly the keys 'quick' and 'full'"),
        ({"quick": {}, "full": {}, "medium": {}}, {}, "exactly the keys"),
        (SETTINGS, {"mc_sample": 3}, r"unknown override\(s\) \['mc_sample'\]"),
        (None, {"mc_samples": 3}, "unknown override"),
    ],
)
def test_bad_settings_and_overrides_fail_before_the_run_starts(
    settings, overrides, message, monkeypatch, tmp_path
):
    monkeypatch.setattr(lesson, "reference_step_seconds", lambda *a, **k: pytest.fail("timed"))
    with pytest.raises(ValueError, match=message):
        lesson.start("02_calibration", "quick", 0, tmp_path, settings=settings, **overrides)


def test_bad_profile_name_fails(fake_step, tmp_path):
    with pytest.raises(ValueError, match="unknown profile"):
        lesson.start("02_calibration", "medium", 0, tmp_path, settings=SETTINGS)


# ---------------------------------------------------------------------------- record


def test_record_expands_intervals_and_converts_numpy(run):
    run.record(
        accuracy=Interval(0.8, 0.7, 0.9, 0.95),
        ece=np.float32(0.25),
        count=np.int64(7),
        flag=np.bool_(True),
        sizes=np.array([10, 20]),
        matrix=np.eye(2),
        probs=torch.tensor([0.5, 0.25]),
        per_type={"PER": np.float64(0.5)},
        name="minilm",
        values=[np.float64(1.5), 2],
    )
    m = run.metrics
    assert (m["accuracy"], m["accuracy_ci_low"], m["accuracy_ci_high"]) == (0.8, 0.7, 0.9)
    assert m["ece"] == 0.25 and type(m["ece"]) is float
    assert m["count"] == 7 and type(m["count"]) is int
    assert m["flag"] is True
    assert m["sizes"] == [10, 20] and m["matrix"] == [[1.0, 0.0], [0.0, 1.0]]
    assert m["probs"] == [0.5, 0.25] and m["per_type"] == {"PER": 0.5}
    assert m["name"] == "minilm" and m["values"] == [1.5, 2]
    json.dumps(m)  # plain Python all the way down


def test_record_glues_each_number_for_the_prose(run, monkeypatch):
    import myst_nb

    glued = []
    monkeypatch.setattr(
        myst_nb, "glue", lambda name, value, display: glued.append((name, value, display))
    )
    run.record(acc=Interval(0.8, 0.7, 0.9, 0.95), n=np.int64(3))
    assert glued == [
        ("acc", 0.8, False),
        ("acc_ci_low", 0.7, False),
        ("acc_ci_high", 0.9, False),
        ("n", 3, False),
    ]


def test_record_works_outside_a_notebook(run):
    run.record(accuracy=0.5)  # the real myst_nb.glue, in a process without IPython
    assert run.metrics["accuracy"] == 0.5


@pytest.mark.parametrize(
    "values, message",
    [
        ({"seed": 1}, "reserved"),
        ({"runtime_s": 1.0}, "reserved"),
        ({"settings": {"a": 1}}, "reserved"),
        ({"nll": float("nan")}, "finite"),
        ({"nll": np.float64("inf")}, "finite"),
        ({"curve": np.array([0.5, np.nan])}, "finite"),
        ({"blob": object()}, "has type object"),
        ({"per_type": {1: 0.5}}, "non-string key"),
    ],
)
def test_record_rejects_reserved_names_and_bad_values(run, values, message):
    with pytest.raises(ValueError, match=message):
        run.record(**values)
    assert not set(values) & set(run.metrics)


def test_each_name_is_recorded_once(run):
    run.record(accuracy=0.5, auroc_ci_low=0.1)
    with pytest.raises(ValueError, match="'accuracy' was recorded already"):
        run.record(accuracy=0.6)
    with pytest.raises(ValueError, match="'auroc_ci_low' was recorded already"):
        run.record(auroc=Interval(0.7, 0.6, 0.8, 0.95))
    assert run.metrics["accuracy"] == 0.5


# ----------------------------------------------------------------------- save, summary


def test_save_writes_the_numbers_and_the_runs_own_fields(run, tmp_path):
    run.record(accuracy=Interval(0.8, 0.7, 0.9, 0.95), sizes=[1, 2])
    run.started = time.perf_counter() - 10.0  # as if the lesson had run for 10 s
    path = run.save()
    assert path == tmp_path / "metrics.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert set(saved) == {
        "accuracy",
        "accuracy_ci_low",
        "accuracy_ci_high",
        "sizes",
        *lesson.RESERVED_KEYS,
    }
    assert saved["lesson"] == "02_calibration" and saved["profile"] == "quick"
    assert saved["seed"] == 3 and saved["device"].startswith("cpu (")
    assert saved["settings"] == {"mc_samples": 8, "method": "lac"}
    assert 10.0 <= saved["runtime_s"] < 60 and saved["reference_step_s"] == FAKE_STEP_S
    ratio = saved["runtime_s"] / saved["reference_step_s"]
    assert math.isclose(saved["runtime_reference_steps"], ratio, abs_tol=0.1)
    assert {"torch", "transformers", "llmu"} <= set(saved["versions"])
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", saved["python"])


def test_save_rejects_settings_that_are_not_finite_numbers(fake_step, tmp_path):
    bad = {"quick": {"alpha": float("nan")}, "full": {"alpha": 1.0}}
    run = lesson.start("02_calibration", "quick", 0, tmp_path, settings=bad)
    with pytest.raises(ValueError, match="settings.*finite"):
        run.save()


def test_summary_folds_every_saved_number_into_a_dropdown(run):
    with pytest.raises(FileNotFoundError, match=r"run.save\(\) first"):
        run.summary()
    run.record(accuracy=0.5, note="<b>bold</b>", curve=list(range(100)))
    saved = json.loads(run.save().read_text(encoding="utf-8"))
    html = run.summary().data
    assert html.startswith("<details><summary>") and html.endswith("</details>")
    assert f"All {len(saved)} numbers" in html
    for key in saved:
        assert f"<td><code>{key}</code></td>" in html, f"{key} missing from the summary"
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold" not in html  # escaped
    assert "..." in html  # long values shortened


# ----------------------------------------------------------- threads, reference step


def test_threads_pinned_from_the_environment(monkeypatch):
    monkeypatch.setenv(config.NUM_THREADS_ENV, "1")
    assert config.pin_threads("full") == 1 == torch.get_num_threads()
    monkeypatch.setenv(config.NUM_THREADS_ENV, "3")
    assert config.pin_threads("quick") == 3 == torch.get_num_threads()
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(config.NUM_THREADS_ENV, bad)
        with pytest.raises(ValueError, match="LLMU_NUM_THREADS"):
            config.pin_threads("quick")


def test_quick_profile_defaults_to_two_threads_and_full_keeps_torchs():
    torch.set_num_threads(1)
    assert config.QUICK_THREADS == 2
    assert config.pin_threads("quick") == 2 == torch.get_num_threads()
    torch.set_num_threads(1)
    assert config.pin_threads("full") == 1


def test_start_pins_the_threads(fake_step, monkeypatch, tmp_path):
    torch.set_num_threads(1)
    run = lesson.start("02_calibration", "quick", 0, tmp_path)
    assert torch.get_num_threads() == 2
    monkeypatch.setenv(config.NUM_THREADS_ENV, "1")
    run = lesson.start("02_calibration", "quick", 0, tmp_path)
    assert torch.get_num_threads() == 1
    assert json.loads(run.save().read_text())["device"] == "cpu (1 threads)"


def test_reference_step_is_timed_and_leaves_the_random_state_alone():
    torch.manual_seed(11)
    before = torch.get_rng_state()
    seconds = lesson.reference_step_seconds(repeats=1)  # the one real timing of this file
    assert torch.equal(before, torch.get_rng_state())
    assert 0 < seconds < 30 and math.isfinite(seconds)


# --------------------------------------------------------------------- the checkout


def test_course_paths_finds_the_checkout_from_inside_it(monkeypatch):
    monkeypatch.chdir(PATHS.lessons)
    paths = lesson.course_paths()
    assert paths.root == PATHS.root and paths.lessons == PATHS.root / "lessons"
    assert paths.executed == PATHS.root / "_build" / "executed"
    assert paths.artifacts == PATHS.root / "artifacts"
    assert (paths.root / "_toc.yml").is_file()


def test_lesson_names_follow_the_glob():
    names = lesson.lesson_names(PATHS.root)
    assert names == sorted(p.stem for p in PATHS.lessons.glob(lesson.LESSON_GLOB))
    assert names and all(re.fullmatch(r"\d\d_\w+", n) for n in names)
    assert lesson.resolve_lesson("02", PATHS.root) == "02_calibration"
    assert lesson.resolve_lesson("02_calibration.ipynb", PATHS.root) == "02_calibration"
    with pytest.raises(ValueError, match="unknown lesson '99'"):
        lesson.resolve_lesson("99", PATHS.root)


def test_outside_a_checkout_the_error_says_what_to_do(monkeypatch, tmp_path):
    """As after a plain ``pip install llmu`` (Colab): no checkout above the working
    directory, none where the library is installed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lesson, "__file__", str(tmp_path / "site-packages" / "llmu" / "lesson.py"))
    for call in (lesson.course_paths, lesson.lesson_names, lambda: lesson.execute("02")):
        with pytest.raises(FileNotFoundError, match="no course checkout found.*clone the course"):
            call()
    with pytest.raises(FileNotFoundError, match="is not a course checkout"):
        lesson.course_paths(tmp_path)


def test_a_lesson_runs_without_a_checkout(fake_step, monkeypatch, tmp_path):
    """``start``, ``record``, ``save`` and ``summary`` (what a notebook on Colab calls) never
    look for the checkout."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lesson, "course_paths", lambda *a, **k: pytest.fail("looked"))
    run = lesson.start("02_calibration", "quick", 0, "artifacts/02_calibration", settings=SETTINGS)
    run.record(accuracy=0.5)
    assert run.save() == Path("artifacts/02_calibration/metrics.json")
    assert (tmp_path / "artifacts" / "02_calibration" / "metrics.json").is_file()
    run.summary()


def test_only_course_paths_looks_for_the_checkout():
    """No library module finds files relative to itself (which breaks under a plain
    ``pip install``) except ``llmu.lesson.course_paths``, which says so when there is none."""
    pattern = re.compile(r"__file__|parents\[|_toc\.yml")
    found = sorted(
        path.name
        for path in (PATHS.root / "src" / "llmu").glob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    )
    assert found == ["lesson.py"], f"modules that assume a checkout: {found}"
