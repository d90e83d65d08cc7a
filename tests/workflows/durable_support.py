"""Helpers for the durable engine tests: an engine per owner, a scripted journal, a simulated crash."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pluggy

from core.config import Settings, WorkflowSettings
from core.models import WorkflowRunRecord, WorkflowStepRecord
from core.workflows.engine import RetryPolicy
from core.workflows.durable import Engine

__all__ = [
    "RecordingExecutor",
    "Crash",
    "Script",
    "make_engine",
    "step_rows",
]

FAST_COMPENSATION_RETRY = RetryPolicy(max_retries=2, backoff_seconds=0.001)


class RecordingExecutor:
    """An executor that only records what it is asked to do (the test executes runs itself)."""

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.notified = 0

    async def submit(self, run_id: str) -> None:
        self.submitted.append(run_id)

    async def notify_events(self) -> None:
        self.notified += 1


class Crash(BaseException):
    """A simulated process death: not an ``Exception``, so the engine neither retries nor compensates."""


@dataclass
class Script:
    """What the test steps do: they journal each call and raise what the test asked for.

    ``crash_at``: step names that raise :class:`Crash` once; ``fail_at``: name -> error raised
    (``times`` times, every time when absent).
    """

    journal: list[str] = field(default_factory=list)
    crash_at: set[str] = field(default_factory=set)
    fail_at: dict[str, BaseException] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.journal.clear()
        self.crash_at.clear()
        self.fail_at.clear()
        self.times.clear()
        self.keys.clear()

    def enter(self, name: str) -> None:
        """Journal ``name``; then crash or fail if the test asked for it."""
        self.journal.append(name)
        if name in self.crash_at:
            self.crash_at.discard(name)
            raise Crash(name)
        error = self.fail_at.get(name)
        if error is not None:
            left = self.times.get(name)
            if left is None or left > 0:
                if left is not None:
                    self.times[name] = left - 1
                raise error

    def count(self, name: str) -> int:
        return Counter(self.journal)[name]


def make_engine(
    settings: Settings,
    plugins: pluggy.PluginManager,
    *,
    owner: str = "engine-a",
    lease_seconds: float = 30.0,
) -> Engine:
    """An engine with its own lease owner name, fast compensation retries, no executor."""
    workflows = WorkflowSettings(lease_seconds=lease_seconds)
    return Engine(
        settings=settings.model_copy(update={"workflows": workflows}),
        plugins=plugins,
        owner=owner,
        compensation_retry=FAST_COMPENSATION_RETRY,
    )


async def step_rows(run_id: str) -> list[tuple[int, str, str, str]]:
    """``(seq, name, kind, state)`` of the run's step rows, in order."""
    rows = await WorkflowStepRecord.filter(run_id=run_id).order_by("seq")
    return [(row.seq, row.name, row.kind, row.state) for row in rows]


async def get_run(run_id: str) -> WorkflowRunRecord:
    return await WorkflowRunRecord.get(id=run_id)


class SleepRecorder:
    """Stands for the ``asyncio`` module inside one module under test: its ``sleep`` is recorded
    and does not wait; everything else is asyncio's own. ``monkeypatch.setattr(mod, "asyncio", recorder)``."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.delays.append(delay)
        await asyncio.sleep(0)
        return result
