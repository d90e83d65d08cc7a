"""Durable workflows for the executor, worker and crash tests, importable by worker subprocesses.

Every side effect is observable from outside the process that caused it:

- database steps (``transactional=True``) increment a :class:`core.models.Counter` named
  ``fx:<run id>:<step>`` inside their own transaction: a value of 1 means the effect committed
  exactly once;
- the external step calls a fake external service that appends one line
  ``<idempotency key> <pid> <unix time>`` per call to ``external-calls.log``: a real service
  would deduplicate the calls by key, so calls may exceed distinct keys, effects may not.

The environment steers the steps of a worker subprocess (``tests/workflows/worker_process.py``):
``CRASH_TEST_DIR`` is where the files go (markers, the external log, release files);
``CRASH_AT=<step>`` makes that step stop in its middle (after its side effect; inside its
transaction for a database step) and wait there forever, having written the marker file
``blocked-<step>-<pid>``. The test then kills the process with SIGKILL.

Registered as a plugin, the module subscribes to events: :func:`handle_event` appends
``<event name> <payload id> <pid>`` to ``events.log``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from pydantic import BaseModel
from tortoise.expressions import F

from core.hookspecs import hookimpl
from core.models import Counter
from core.workflows.engine import StepContext, step, workflow

__all__ = [
    "CRASH_AT_ENV",
    "CRASH_TEST_DIR_ENV",
    "ErpOrder",
    "ExternalCalls",
    "Job",
    "effect_count",
    "effect_name",
    "handle_event",
    "handled_events",
    "release_file",
    "three_steps",
    "wait_for_release",
]

CRASH_TEST_DIR_ENV = "CRASH_TEST_DIR"
CRASH_AT_ENV = "CRASH_AT"
EXTERNAL_LOG = "external-calls.log"
EVENTS_LOG = "events.log"
FOREVER_SECONDS = 3600.0
RELEASE_POLL_SECONDS = 0.05


class Job(BaseModel):
    """The input of every test workflow."""

    label: str


class ErpOrder(BaseModel):
    """What the fake external service answers."""

    erp_id: str


def _test_dir() -> Path:
    return Path(os.environ[CRASH_TEST_DIR_ENV])


def effect_name(run_id: str, step_name: str) -> str:
    """The counter a database step of ``run_id`` increments."""
    return f"fx:{run_id}:{step_name}"


async def effect_count(run_id: str, step_name: str) -> int:
    """How many times the database effect of ``step_name`` committed for ``run_id``."""
    counter = await Counter.get_or_none(name=effect_name(run_id, step_name))
    return 0 if counter is None else int(counter.value)


async def _count_effect(run_id: str, step_name: str) -> None:
    # Write first (an UPDATE), so that a SQLite transaction takes its write lock at once.
    name = effect_name(run_id, step_name)
    if not await Counter.filter(name=name).update(value=F("value") + 1):
        await Counter.create(name=name, value=1)


async def _crash_here_if_asked(step_name: str) -> None:
    """Stop in the middle of ``step_name`` for good when ``CRASH_AT`` names it (the test kills us)."""
    if os.environ.get(CRASH_AT_ENV) == step_name:
        (_test_dir() / f"blocked-{step_name}-{os.getpid()}").touch()
        await asyncio.sleep(FOREVER_SECONDS)


class ExternalCalls:
    """The fake external service's call log: ``<key> <pid> <time>`` per call, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / EXTERNAL_LOG

    def call(self, idempotency_key: str) -> ErpOrder:
        """Record one call (an O_APPEND write of one line is atomic between processes)."""
        with self.path.open("a", encoding="utf-8") as log:
            log.write(f"{idempotency_key} {os.getpid()} {time.time():.3f}\n")
        return ErpOrder(erp_id=f"erp-{idempotency_key}")

    def calls(self) -> list[tuple[str, int, float]]:
        """Every call so far: (key, pid, unix time)."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            key, pid, at = line.split(" ")
            rows.append((key, int(pid), float(at)))
        return rows

    def keys(self) -> list[str]:
        return [key for key, _, _ in self.calls()]


# -------------------------------------------------------------------------------------------------
# exec-three-steps: database, external, database
# -------------------------------------------------------------------------------------------------


@step("write-order", transactional=True)
async def write_order(job: Job, ctx: StepContext) -> str:
    await _count_effect(ctx.run.run_id, "write-order")
    await _crash_here_if_asked("write-order")
    return job.label


@step("call-erp")
async def call_erp(job: Job, ctx: StepContext) -> ErpOrder:
    order = ExternalCalls(_test_dir()).call(ctx.idempotency_key)
    await _crash_here_if_asked("call-erp")
    return order


@step("write-shipment", transactional=True)
async def write_shipment(order: ErpOrder, ctx: StepContext) -> str:
    await _count_effect(ctx.run.run_id, "write-shipment")
    await _crash_here_if_asked("write-shipment")
    return order.erp_id


@workflow("exec-three-steps", durable=True)
async def three_steps(job: Job) -> str:
    """Write, call the external service, write: the crash test's workflow."""
    await write_order(job)
    order = await call_erp(job)
    return await write_shipment(order)


# -------------------------------------------------------------------------------------------------
# exec-wait-for-release: a step that waits for a file (graceful shutdown tests)
# -------------------------------------------------------------------------------------------------


def release_file(directory: Path, label: str) -> Path:
    """The file whose creation lets ``exec-wait-for-release`` of ``label`` finish its step."""
    return directory / f"release-{label}"


@step("wait-for-release")
async def wait_step(job: Job, ctx: StepContext) -> str:
    directory = _test_dir()
    (directory / f"waiting-{job.label}-{os.getpid()}").touch()
    while not release_file(directory, job.label).exists():
        await asyncio.sleep(RELEASE_POLL_SECONDS)
    return f"released by {os.getpid()}"


@step("after-release", transactional=True)
async def after_release(note: str, ctx: StepContext) -> str:
    await _count_effect(ctx.run.run_id, "after-release")
    return note


@workflow("exec-wait-for-release", durable=True)
async def wait_for_release(job: Job) -> str:
    """Wait for the release file, then write: a run that is easy to catch in its middle."""
    return await after_release(await wait_step(job))


# -------------------------------------------------------------------------------------------------
# An event subscriber
# -------------------------------------------------------------------------------------------------


@hookimpl
def handle_event(name: str, payload: dict[str, object]) -> None:
    """Record the delivery (one line per call) in ``events.log``."""
    with (_test_dir() / EVENTS_LOG).open("a", encoding="utf-8") as log:
        log.write(f"{name} {payload.get('id')} {os.getpid()}\n")


def handled_events(directory: Path) -> list[tuple[str, str, int]]:
    """Every delivery recorded so far: (event name, payload id, pid)."""
    path = directory / EVENTS_LOG
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, event_id, pid = line.split(" ")
        rows.append((name, event_id, int(pid)))
    return rows
