"""The writes of a leased durable run: step checkpoints and run state, each fenced on the lease.

The two writes of every step (:meth:`Checkpoints.step_started`, :meth:`Checkpoints.step_done`)
are single statements fenced in themselves (:mod:`core.workflows.statements`). ``step_done`` of a
transactional step joins the step's open transaction: the step's writes and its checkpoint commit
together. The rarer writes (failures, compensations, run state) use the ORM in a transaction
whose first statement is :func:`~core.workflows.leases.fence`.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tortoise.transactions import in_transaction

from core.models import WorkflowStepRecord
from core.workflows.leases import Lease, LeaseLost, fence, utcnow
from core.workflows.statements import STEP_DONE, STEP_RETRIED, STEP_STARTED, dump_json, fetch

__all__ = [
    "CheckpointFailed",
    "Checkpoints",
    "describe_error",
]


class CheckpointFailed(BaseException):
    """The database refused a checkpoint write: the run is interrupted, not failed.

    A ``BaseException`` (like a cancellation) so that neither a step's retry loop nor the workflow
    body mistake an infrastructure failure for the workflow's own; :meth:`Engine.execute
    <core.workflows.durable.Engine.execute>` releases the lease and re-raises ``cause``. The run
    resumes later from its last checkpoint.
    """

    def __init__(self, run_id: str, cause: Exception) -> None:
        super().__init__(f"checkpoint of workflow run {run_id} failed: {cause!r}")
        self.run_id = run_id
        self.cause = cause


@contextmanager
def _writing(run_id: str) -> Iterator[None]:
    try:
        yield
    except LeaseLost:
        raise
    except Exception as exc:
        raise CheckpointFailed(run_id, exc) from exc


def describe_error(exc: BaseException) -> tuple[str, str]:
    """``("ErrorType: message", traceback)`` as stored on runs and steps (notes included)."""
    text = f"{type(exc).__name__}: {exc}"
    notes = getattr(exc, "__notes__", None)
    if notes:
        text = "\n".join([text, *notes])
    return text, "".join(traceback.format_exception(exc))


class Checkpoints:
    """Fenced writes for one leased run (:class:`~core.workflows.leases.Lease`)."""

    __slots__ = ("_fence_args", "lease", "run_id")

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.run_id = lease.run_id
        self._fence_args = [lease.run_id, lease.owner, lease.token]

    async def _execute(self, template: str, values: list[Any]) -> None:
        with _writing(self.run_id):
            if not await fetch(template, values):
                raise LeaseLost(self.run_id)

    async def run_state(self, **changes: Any) -> None:
        """Change the run's row (state, error...) while we hold the lease."""
        with _writing(self.run_id):
            async with in_transaction():
                await fence(self.lease, updated_at=utcnow(), **changes)

    async def step_started(self, seq: int, name: str, attempts: int, error: str | None) -> None:
        """Record that attempt ``attempts`` (1 = first) of step ``seq`` starts."""
        if attempts == 1:
            values = [seq, name, attempts, utcnow(), *self._fence_args]
            await self._execute(STEP_STARTED, values)
        else:
            await self._execute(STEP_RETRIED, [attempts, error, self.run_id, seq, *self._fence_args])

    async def step_done(
        self, seq: int, attempts: int, output: str | None, compensate_input: str | None, compensations: str | None
    ) -> None:
        """Checkpoint a completed step (JSON texts); joins the current transaction, if any."""
        values = [attempts, output, compensate_input, compensations, utcnow(), self.run_id, seq, *self._fence_args]
        await self._execute(STEP_DONE, values)

    async def step_failed(
        self,
        seq: int,
        attempts: int,
        exc: BaseException,
        compensate_input: Any,
        compensations: list[dict[str, Any]] | None,
    ) -> None:
        """Record a step that failed for good (retries exhausted or a permanent error)."""
        error, trace = describe_error(exc)
        with _writing(self.run_id):
            async with in_transaction():
                await fence(self.lease)
                await WorkflowStepRecord.filter(run_id=self.run_id, seq=seq).update(
                    state="failed",
                    attempts=attempts,
                    compensate_input=dump_json(compensate_input),
                    compensations=dump_json(compensations or None),
                    error=error,
                    error_traceback=trace,
                    finished_at=utcnow(),
                )

    async def compensated(
        self, seq: int, name: str, compensates_seq: int, attempts: int, exc: BaseException | None
    ) -> None:
        """Record compensation ``seq`` (of step ``compensates_seq``): reverted, or failed with ``exc``.

        The compensated step's row becomes ``reverted`` (or ``compensation_failed``, which sticks).
        """
        error, trace = describe_error(exc) if exc is not None else (None, None)
        state = "reverted" if exc is None else "compensation_failed"
        compensated = WorkflowStepRecord.filter(run_id=self.run_id, seq=compensates_seq, kind="invoke")
        if exc is None:
            compensated = compensated.exclude(state="compensation_failed")
        with _writing(self.run_id):
            async with in_transaction():
                await fence(self.lease)
                await WorkflowStepRecord.create(
                    run_id=self.run_id,
                    seq=seq,
                    name=name,
                    kind="compensate",
                    compensates_seq=compensates_seq,
                    state=state,
                    attempts=attempts,
                    error=error,
                    error_traceback=trace,
                    finished_at=utcnow(),
                )
                await compensated.update(state=state)
