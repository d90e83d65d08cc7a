"""Scheduled job declarations (what the ``register_jobs`` hook returns)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "JobSpec",
]


@dataclass(frozen=True)
class JobSpec:
    """A job: a stable ``name``, a cron ``schedule`` (``"0 0 * * *"``) and a coroutine function.

    The coroutine receives keyword arguments ``scheduled_for`` (an aware datetime).
    """

    name: str
    schedule: str
    func: Callable[..., Awaitable[Any]]
