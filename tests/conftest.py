"""Shared fixtures: every lesson is executed at most once per test session (quick profile, seed 0)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from llmu import lesson


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
