"""Every lesson's Colab set-up cell (tagged ``colab-setup``), executed as IPython would run it.

The cell is IPython code (it holds a ``%pip`` line), so it is transformed with IPython's own
input transformer and run with a stand-in ``get_ipython()`` whose ``run_line_magic`` records the
call instead of running pip. A stand-in ``google.colab`` module in ``sys.modules`` makes it
believe it is on Colab, and ``torch.cuda.is_available`` is patched to say whether there is a GPU.
The ``parameters`` cell that follows is run too, to check the profile a lesson ends up with.
"""

from __future__ import annotations

import shlex
import sys
import types
from pathlib import Path

import nbformat
import pytest
import torch
import yaml
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
TAG = "colab-setup"


class FakeShell:
    """``get_ipython()`` for the cell: records line magics, runs nothing."""

    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> None:
        self.magics.append((name, line))


def setup_cells(path: Path) -> tuple[str, str]:
    """The sources of the lesson's colab-setup cell and of the parameters cell after it."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert TAG in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not {TAG}"
    assert "parameters" in code[1].metadata.get("tags", []), path.name
    return code[0].source, code[1].source


def run_cells(path: Path, shell: FakeShell) -> dict[str, object]:
    setup, parameters = setup_cells(path)
    namespace: dict[str, object] = {"get_ipython": lambda: shell, "__name__": "__main__"}
    exec(compile(TransformerManager().transform_cell(setup), path.name, "exec"), namespace)
    exec(compile(parameters, path.name, "exec"), namespace)
    return namespace


@pytest.fixture(params=[True, False], ids=["colab", "elsewhere"])
def on_colab(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param:
        google = types.ModuleType("google")
        colab = types.ModuleType("google.colab")
        google.colab = colab  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return request.param


@pytest.fixture(params=[True, False], ids=["cuda", "cpu"])
def cuda(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: request.param)
    return request.param


def expected_requirement() -> str:
    """What the cell must install: this project, from the book's repository URL (PEP 508)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = str(config["repository"]["url"]).rstrip("/")
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    name = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in project.splitlines()
        if line.startswith("name =")
    )
    assert url.startswith("https://github.com/"), url
    return f"{name} @ git+{url}"


def test_every_lesson_has_the_same_cell() -> None:
    assert LESSONS, "no lessons found"
    assert len({setup_cells(path)[0] for path in LESSONS}) == 1


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem[:2] for p in LESSONS])
def test_colab_cell(path: Path, on_colab: bool, cuda: bool) -> None:
    shell = FakeShell()
    namespace = run_cells(path, shell)
    full = on_colab and cuda
    assert namespace["DEFAULT_PROFILE"] == ("full" if full else "quick")
    assert namespace["profile"] == namespace["DEFAULT_PROFILE"]
    if not on_colab:
        assert shell.magics == [], "outside Colab the cell must install nothing"
        return
    assert len(shell.magics) == 1
    magic, line = shell.magics[0]
    assert magic == "pip"
    words = shlex.split(line)
    assert words[0] == "install" and "--quiet" in words[1:-1]
    assert words[-1] == expected_requirement()
