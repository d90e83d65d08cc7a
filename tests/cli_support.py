"""Fixtures for tests that run ``core.cli.main`` in the test process (import them into the test module)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

__all__ = [
    "cli_terminal",
]


@pytest.fixture
def cli_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A wide terminal for rich's tables; pytest's logging handlers given back after the CLI replaced them."""
    monkeypatch.setenv("COLUMNS", "220")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
