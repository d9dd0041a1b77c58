"""Shared fixtures: every lesson is executed once per test session (quick profile, seed 0)."""

from __future__ import annotations

import pytest

from llmu import lesson


@pytest.fixture(scope="session")
def executed_lessons() -> dict[str, dict]:
    """Run every lesson with papermill into ``_build/executed``; return each one's metrics.

    The book build test renders exactly these executed notebooks, so tests and book share one run.
    """
    return {name: lesson.execute(name, profile="quick", seed=0) for name in lesson.lesson_names()}
