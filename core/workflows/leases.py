"""Run leases: who may execute a run right now, claimed atomically and fenced on every write.

A claim is one conditional ``UPDATE`` (runnable, lease free or expired, due) that also increments
``attempts``: the new value is the lease's **fencing token**. Every later write of the holder goes
through :func:`fence`, an ``UPDATE ... WHERE owner = ? AND attempts = ?`` that also extends the
lease: it matches no row once another process took the run over, and the writer then gets
:class:`LeaseLost` and stops. On PostgreSQL the ``UPDATE`` locks the run row until the writer's
transaction ends, so a takeover cannot slip between the fence and the checkpoint written after it
in the same transaction. SQLite serialises writers itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from core.errors import RetryableError
from core.models import WorkflowRunRecord
from core.workflows.statements import CLAIM_RUN, FINISH_RUN, dump_json, fetch

__all__ = [
    "FINISHED_STATES",
    "RUNNABLE_STATES",
    "ClaimedRun",
    "Lease",
    "LeaseLost",
    "claim",
    "due_filter",
    "fence",
    "finish",
    "release",
    "utcnow",
]

FINISHED_STATES = ("done", "reverted", "failed", "canceled")
RUNNABLE_STATES = ("pending", "invoking", "compensating")


class LeaseLost(RetryableError):
    """Another process took the run over (our lease expired): stop without writing anything.

    :param run_id: the run whose lease was lost.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__(f"lease of workflow run {run_id} lost to another process")
        self.run_id = run_id


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Lease:
    """A claimed run: ``owner`` and ``token`` (the run's ``attempts`` after the claim) fence writes."""

    run_id: str
    owner: str
    token: int
    seconds: float

    def expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.seconds)


def due_filter(now: datetime) -> Q:
    """Runs that may be claimed at ``now``: runnable, lease free or expired, due."""
    return (
        Q(state__in=RUNNABLE_STATES)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        & (Q(wake_at__isnull=True) | Q(wake_at__lte=now))
    )


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """What a claim returns about the run: enough to execute it."""

    id: str
    workflow_name: str
    state: str
    input: Any
    attempts: int
    error: str | None


async def claim(run_id: str, owner: str, seconds: float) -> tuple[Lease, ClaimedRun] | None:
    """Claim ``run_id`` for ``owner`` (a ``pending`` run becomes ``invoking``).

    One statement (:data:`~core.workflows.statements.CLAIM_RUN`). None when the run is leased by
    someone else, finished, not due or unknown.
    """
    now = utcnow()
    rows = await fetch(CLAIM_RUN, [owner, now + timedelta(seconds=seconds), now, run_id, now, now])
    if not rows:
        return None
    row = rows[0]
    raw_input = row["input"]
    run = ClaimedRun(
        id=row["id"],
        workflow_name=row["workflow_name"],
        state=row["state"],
        input=json.loads(raw_input) if isinstance(raw_input, str | bytes) else raw_input,
        attempts=int(row["attempts"]),
        error=row["error"],
    )
    return Lease(run_id, owner, run.attempts, seconds), run


async def fence(lease: Lease, **changes: Any) -> None:
    """Extend the lease (and apply ``changes`` to the run) if we still hold it.

    Call it inside the transaction of the write it protects.

    :raises LeaseLost: when another process took the run over.
    """
    updated = await WorkflowRunRecord.filter(id=lease.run_id, owner=lease.owner, attempts=lease.token).update(
        lease_until=lease.expiry(), **changes
    )
    if not updated:
        raise LeaseLost(lease.run_id)


async def release(lease: Lease, **changes: Any) -> bool:
    """Give the lease up (applying ``changes``); False when it was no longer ours."""
    updated = await WorkflowRunRecord.filter(id=lease.run_id, owner=lease.owner, attempts=lease.token).update(
        owner=None, lease_until=None, updated_at=utcnow(), **changes
    )
    return bool(updated)


async def finish(
    lease: Lease, state: str, *, output: Any = None, error: str | None = None, traceback: str | None = None
) -> bool:
    """Record the run's final ``state`` (output: JSON-able) and release the lease; False when it was not ours."""
    now = utcnow()
    values = [state, dump_json(output), error, traceback, now, now, lease.run_id, lease.owner, lease.token]
    return bool(await fetch(FINISH_RUN, values))
