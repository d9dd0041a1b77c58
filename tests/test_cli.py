"""The command line, ``python -m llmu doctor | prefetch | run | ledger`` (``llmu.cli``).

``ledger`` renders the book's pages; its tests are in ``tests/test_ledger.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import PATHS, run_python
from llmu import lesson
from llmu.cli import build_parser, main


def test_every_command_is_documented():
    parser = build_parser()
    for command in ("doctor", "prefetch", "run", "ledger"):
        assert command in parser.format_help()
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_doctor_without_data_dir_explains_the_fix_and_fails():
    result = run_python("from llmu.cli import main; raise SystemExit(main(['doctor']))")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LLMU_DATA_DIR: not set" in result.stdout
    assert "python -m llmu prefetch" in result.stdout and "export LLMU_DATA_DIR" in result.stdout


def test_doctor_with_the_course_data_passes():
    if not os.environ.get("LLMU_DATA_DIR"):
        pytest.skip("LLMU_DATA_DIR is not set")
    result = run_python(
        "from llmu.cli import main; raise SystemExit(main(['doctor']))",
        LLMU_DATA_DIR=os.environ["LLMU_DATA_DIR"],
    )
    assert result.returncode == 0, result.stdout
    assert "all good" in result.stdout
    # the course data has no TriviaQA: only lesson 09's full profile needs it, so it is no problem
    assert "[--] triviaqa (TriviaQA): not here; only the full profile needs it" in result.stdout


def test_run_rejects_an_unknown_lesson_before_starting_a_kernel(monkeypatch, capsys):
    monkeypatch.chdir(PATHS.root)
    for argv, message in (
        (["run", "42"], "unknown lesson '42'; lessons are ["),
        (["run", "02", "--profile", "medium"], "invalid choice: 'medium'"),
        (["run"], "name a lesson"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
        assert message in capsys.readouterr().err, argv


def test_an_unknown_lesson_gets_one_line_and_exit_status_2():
    """``python -m llmu run 99``, as a user types it: no traceback."""
    result = subprocess.run([sys.executable, "-m", "llmu", "run", "99"], cwd=PATHS.root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"python -m llmu run: error: unknown lesson '99'; lessons are "
        f"{lesson.lesson_names(PATHS.root)}"
    ]


def test_run_executes_in_the_checkout_and_says_where_the_results_went(monkeypatch, capsys):
    calls = []

    def execute(name, profile, seed, parameters, root):
        calls.append((name, profile, seed, parameters, root))
        return {"runtime_s": 12.5, "runtime_reference_steps": 44.6, "device": "cpu (2 threads)"}

    monkeypatch.setattr(lesson, "execute", execute)
    monkeypatch.chdir(PATHS.lessons)  # any folder inside the checkout
    assert main(["run", "02", "--seed", "2", "-p", "mc_samples", "4"]) == 0
    assert calls == [("02_calibration", "quick", 2, {"mc_samples": "4"}, PATHS.root)]
    out = capsys.readouterr().out
    assert "02_calibration: 12.5 s (44.6 reference steps) on cpu (2 threads)" in out
    assert str(PATHS.executed / "02_calibration.ipynb") in out
    assert str(PATHS.artifacts / "02_calibration" / "metrics.json") in out
    calls.clear()
    assert main(["run", "--all", "--profile", "full"]) == 0
    assert [c[0] for c in calls] == lesson.lesson_names(PATHS.root)


@pytest.mark.parametrize("command", [["run", "02"], ["run", "--all"], ["ledger"]])
def test_commands_outside_a_checkout_fail_cleanly(command, monkeypatch, tmp_path):
    """As after a plain ``pip install llmu`` (Colab): no checkout above the working directory,
    none where the library is installed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lesson, "__file__", str(tmp_path / "site-packages" / "llmu" / "lesson.py"))
    with pytest.raises(SystemExit, match="no course checkout found.*clone the course"):
        main(command)
