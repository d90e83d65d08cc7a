"""The durable workflow engine: runs whose every step is checkpointed in the database.

How to write a durable workflow
-------------------------------
Declare the steps as for any workflow and the workflow with ``durable=True``, in a module every
server and worker imports; start runs through the process's engine, with the caller's
idempotency key as run id::

    from pydantic import BaseModel

    from core.models import Order
    from core.workflows import RetryPolicy, StepContext, StepResponse, current_workflow, step, workflow
    from core.workflows.durable import get_engine

    class OrderRef(BaseModel):
        order_id: str

    class ErpOrder(BaseModel):
        erp_id: int

    @step("mark-order-exporting", transactional=True)  # only our database: exactly once
    async def mark_exporting(ref: OrderRef) -> OrderRef:
        await Order.filter(id=ref.order_id).update(metadata={"erp": "exporting"})
        return ref

    @step("create-erp-order", retry=RetryPolicy(max_retries=5, backoff_seconds=1), timeout=30)
    async def create_erp_order(ref: OrderRef, ctx: StepContext) -> StepResponse[ErpOrder]:
        # At least once: the ERP deduplicates retries and resumes by the idempotency key.
        erp_id = await erp.create_order(ref.order_id, idempotency_key=ctx.idempotency_key)
        return StepResponse(ErpOrder(erp_id=erp_id), compensate_input=erp_id)

    @create_erp_order.compensate
    async def cancel_erp_order(erp_id: int) -> None:
        await erp.cancel_order(erp_id)

    @workflow("sync-order-to-erp", durable=True)
    async def sync_order_to_erp(ref: OrderRef) -> ErpOrder:
        await mark_exporting(ref)
        return await create_erp_order(ref)

    run = await get_engine().start(sync_order_to_erp, OrderRef(order_id=order.id), run_id=f"order-to-erp:{order.id}")

A hook implementation called by a step undoes its own work the same way, with a module-level
function and JSON-able arguments (they are stored, and may run in another process after a
crash)::

    async def release_reservation(reservation_id: str) -> None: ...

    @hookimpl
    async def handle_event(name: str, payload: dict[str, Any]) -> None:
        reservation_id = await reserve(payload["id"])
        current_workflow().register_compensation(release_reservation, reservation_id)

Rules. The body is deterministic: it calls the same steps in the same order given the same input
and step outputs (no clock, randomness or I/O outside steps), one step at a time, and lets a
step's failure propagate. Inputs, outputs and compensation inputs are JSON-able values or
pydantic models: a replayed step returns its stored output, validated through the invoke
function's return annotation (``StepResponse[T]`` -> ``T``). Steps that call other systems run at
least once and pass ``ctx.idempotency_key`` (``"<run id>:<step name>"``, stable across retries and
resumes) along; ``transactional=True`` steps run exactly once. ``RetryableError`` and timeouts are
retried with exponential backoff, any other error fails the step at once; then the compensations
of the completed steps run in reverse order, the failing step's own first (with what it passed to
``ctx.record_compensate_input``), each retried a few times: the run ends ``reverted``, or
``failed`` when a compensation still fails. Step names never change once released: a run whose
recorded steps differ from the code's fails with "non-deterministic workflow".

How it runs
-----------
:meth:`Engine.start` inserts the run (``pending``; an existing id returns the existing run) and
hands its id to the :class:`Executor` (the in-process runner, or arq workers). Whoever executes it
calls :meth:`Engine.execute`: the run is leased atomically to one owner, its body runs and replays
the recorded steps, the lease is renewed while it runs and every write is fenced on it. A process
that dies leaves a lease that expires; :meth:`Engine.due_run_ids` then lists the run again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

import pluggy
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.config import Settings
from core.errors import NotAllowed, NotFound
from core.ids import new_id
from core.models import WorkflowRunRecord, WorkflowStepRecord
from core.workflows.checkpoints import CheckpointFailed, Checkpoints, describe_error
from core.workflows.durable_run import COMPENSATION_RETRY, DurableRun, NonDeterministicWorkflow
from core.workflows.engine import RetryPolicy, Workflow, running
from core.workflows.leases import (
    FINISHED_STATES,
    RUNNABLE_STATES,
    ClaimedRun,
    Lease,
    LeaseLost,
    claim,
    due_filter,
    fence,
    finish,
    release,
    utcnow,
)
from core.workflows.registry import UnknownWorkflow, get_workflow
from core.workflows.serialization import param_adapter, restore, to_json
from core.workflows.statements import INSERT_RUN, dump_json, fetch

__all__ = [
    "FINISHED_STATES",
    "RUNNABLE_STATES",
    "Engine",
    "Executor",
    "LeaseLost",
    "NonDeterministicWorkflow",
    "get_engine",
    "set_engine",
]

log = logging.getLogger(__name__)

RUN_ID_PREFIX = "wfrun"


class Executor(Protocol):
    """Runs submitted runs somewhere (in this process, or on arq workers)."""

    async def submit(self, run_id: str) -> None:
        """Run or resume run ``run_id`` soon (idempotent: a run already queued or running is left alone)."""

    async def notify_events(self) -> None:
        """New rows were written to the events outbox: dispatch them soon."""


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _in_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


class Engine:
    """Starts, executes, retries, cancels and prunes durable runs (see the module doc).

    :param owner: this engine's lease owner name (unique per process; generated by default).
    :param compensation_retry: how compensations are retried.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        plugins: pluggy.PluginManager,
        owner: str | None = None,
        compensation_retry: RetryPolicy = COMPENSATION_RETRY,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.owner = owner or _default_owner()
        self.compensation_retry = compensation_retry
        self.executor: Executor | None = None

    @property
    def lease_seconds(self) -> float:
        return self.settings.workflows.lease_seconds

    # -- starting ----------------------------------------------------------------------------

    async def start(
        self,
        workflow: str | Workflow[Any, Any],
        input: Any,
        *,
        run_id: str | None = None,
        wake_at: datetime | None = None,
    ) -> WorkflowRunRecord:
        """Insert a ``pending`` run of ``workflow`` (or return the existing run ``run_id``) and submit it.

        Called inside a transaction, the run is submitted only by the recovery loop (its row is not
        visible before the commit): call :meth:`submit` after the commit to start it at once.

        :param run_id: the caller's idempotency key (generated when omitted).
        :param wake_at: not to be executed before (None: now).
        :raises UnknownWorkflow: when ``workflow`` names no durable workflow.
        """
        flow = get_workflow(workflow) if isinstance(workflow, str) else workflow
        if not flow.durable:
            raise ValueError(f"workflow {flow.name!r} is not durable")
        run_id = run_id or new_id(RUN_ID_PREFIX)
        now = utcnow()
        values = [run_id, flow.name, dump_json(to_json(input)), wake_at, now, now]
        created = await fetch(INSERT_RUN, values)
        record = await WorkflowRunRecord.get(id=run_id)
        if created and not _in_transaction():
            await self.submit(run_id)
        return record

    async def submit(self, run_id: str) -> None:
        """Hand ``run_id`` to the executor, if one is set."""
        if self.executor is not None:
            await self.executor.submit(run_id)

    # -- executing ---------------------------------------------------------------------------

    async def execute(self, run_id: str) -> str | None:
        """Claim run ``run_id`` and run (or resume) it to the end; return its final state.

        Returns None when the run could not be claimed (leased by another owner, finished, not
        due) or when its lease was lost to another owner while it ran. A cancellation releases
        the lease (so another process can take the run at once) and is re-raised.
        """
        claimed = await claim(run_id, self.owner, self.lease_seconds)
        if claimed is None:
            return None
        lease, run = claimed
        task = asyncio.current_task()
        assert task is not None
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(lease, task, lost), name=f"lease:{run_id}")
        try:
            return await self._run(lease, run)
        except LeaseLost:
            log.warning("workflow run %s: lease lost to another owner, stopped", run_id)
            return None
        except CheckpointFailed as exc:  # the database, not the workflow, failed: resume later
            await asyncio.shield(self._release_quietly(lease))
            raise exc.cause from exc
        except asyncio.CancelledError:
            if lost.is_set() and task.uncancel() == 0:
                log.warning("workflow run %s: lease lost to another owner, stopped", run_id)
                return None
            await asyncio.shield(self._release_quietly(lease))
            raise
        except BaseException:
            await asyncio.shield(self._release_quietly(lease))
            raise
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, lease: Lease, task: asyncio.Task[Any], lost: asyncio.Event) -> None:
        """Renew the lease every third of its length; cancel ``task`` when it was taken over."""
        while True:
            await asyncio.sleep(lease.seconds / 3)
            try:
                await fence(lease)
            except LeaseLost:
                lost.set()
                task.cancel(f"lease of run {lease.run_id} lost")
                return
            except Exception:
                log.warning("workflow run %s: lease renewal failed", lease.run_id, exc_info=True)

    async def _release_quietly(self, lease: Lease) -> None:
        try:
            await release(lease)
        except Exception:
            log.warning("workflow run %s: could not release its lease", lease.run_id, exc_info=True)

    async def _run(self, lease: Lease, claimed: ClaimedRun) -> str:
        try:
            flow = get_workflow(claimed.workflow_name)
        except UnknownWorkflow as exc:
            return await self._finish(lease, "failed", exc)
        # The first claim of a run (``attempts`` 1) cannot have steps yet: a retry deletes them.
        rows = await WorkflowStepRecord.filter(run_id=claimed.id).order_by("seq") if claimed.attempts > 1 else []
        failure = claimed.error if claimed.state == "compensating" else None
        run = DurableRun(
            flow.name, lease, self.plugins, list(rows), failure=failure, compensation_retry=self.compensation_retry
        )
        error: Exception | None = None
        output: Any = None
        with running(run):
            try:
                output = await flow.body(restore(param_adapter(flow.body), claimed.input))
            except LeaseLost:
                raise
            except Exception as exc:
                error = exc
        if run.nondeterminism is not None:
            return await self._finish(lease, "failed", run.nondeterminism)
        if error is None and failure is None:
            return await self._finish(lease, "done", output=output)
        return await self._compensate(lease, run, error, failure)

    async def _compensate(self, lease: Lease, run: DurableRun, error: Exception | None, failure: str | None) -> str:
        """Record the failure (unless resuming a compensation), run the compensations, finish."""
        if failure is None:
            assert error is not None
            failure, trace = describe_error(error)
            await Checkpoints(lease).run_state(state="compensating", error=failure, error_traceback=trace)
        failures = await run.compensate_durably()
        if run.nondeterminism is not None:
            return await self._finish(lease, "failed", run.nondeterminism)
        if failures:
            return await self._finish(lease, "failed", error_text="\n".join([failure, *failures]))
        return await self._finish(lease, "reverted")

    async def _finish(
        self,
        lease: Lease,
        state: str,
        exc: BaseException | None = None,
        *,
        output: Any = None,
        error_text: str | None = None,
    ) -> str:
        """Store the final state (and output or error) and release the lease."""
        trace = None
        if exc is not None:
            error_text, trace = describe_error(exc)
            log.error("workflow run %s failed: %s", lease.run_id, error_text)
        json_output = to_json(output) if state == "done" else None
        if not await finish(lease, state, output=json_output, error=error_text, traceback=trace):
            raise LeaseLost(lease.run_id)
        return state

    # -- operating ---------------------------------------------------------------------------

    async def retry(self, run_id: str) -> WorkflowRunRecord:
        """Run a finished, unsuccessful run again from scratch (its steps are forgotten).

        :raises NotFound: no such run.
        :raises NotAllowed: the run is not failed, reverted or canceled.
        """
        async with in_transaction():
            reset = await WorkflowRunRecord.filter(id=run_id, state__in=("failed", "reverted", "canceled")).update(
                state="pending", output=None, error=None, error_traceback=None, owner=None, lease_until=None,
                wake_at=None, finished_at=None, updated_at=utcnow(),
            )
            if reset:
                await WorkflowStepRecord.filter(run_id=run_id).delete()
        record = await self._get(run_id)
        if not reset:
            raise NotAllowed(
                f"Workflow run {run_id} is {record.state}: only failed, reverted or canceled runs can be retried"
            )
        await self.submit(run_id)
        return record

    async def cancel(self, run_id: str) -> WorkflowRunRecord:
        """Cancel a run that has not started yet.

        :raises NotFound: no such run.
        :raises NotAllowed: the run is running or finished.
        """
        now = utcnow()
        canceled = await (
            WorkflowRunRecord.filter(id=run_id, state="pending")
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(state="canceled", finished_at=now, updated_at=now)
        )
        record = await self._get(run_id)
        if not canceled:
            raise NotAllowed(f"Workflow run {run_id} is {record.state}: only pending runs can be canceled")
        return record

    async def due_run_ids(self, limit: int = 100) -> list[str]:
        """Ids of runs to execute now: runnable, lease free or expired, due (oldest first)."""
        ids = await WorkflowRunRecord.filter(due_filter(utcnow())).order_by("created_at").limit(limit).values_list(
            "id", flat=True
        )
        return [str(run_id) for run_id in ids]

    async def prune(self, batch_size: int = 500) -> int:
        """Delete the finished runs older than ``retention_days`` (and their steps); return how many.

        ``retention_days = 0`` keeps every run.

        Deletes ``batch_size`` runs per transaction, so that a large backlog never holds long locks.
        """
        if self.settings.workflows.retention_days == 0:  # 0 keeps finished runs forever
            return 0
        cutoff = utcnow() - timedelta(days=self.settings.workflows.retention_days)
        old = WorkflowRunRecord.filter(state__in=FINISHED_STATES, finished_at__lt=cutoff)
        pruned = 0
        while True:
            async with in_transaction():
                ids = list(await old.limit(batch_size).values_list("id", flat=True))
                if not ids:
                    return pruned
                await WorkflowStepRecord.filter(run_id__in=ids).delete()
                pruned += await WorkflowRunRecord.filter(id__in=ids).delete()

    async def _get(self, run_id: str) -> WorkflowRunRecord:
        record = await WorkflowRunRecord.get_or_none(id=run_id)
        if record is None:
            raise NotFound(f"Workflow run with id: {run_id} was not found")
        return record


_engine: Engine | None = None


def set_engine(engine: Engine | None) -> None:
    """Make ``engine`` the process's engine (None: remove it)."""
    global _engine
    _engine = engine


def get_engine() -> Engine:
    """The process's engine (plugins call ``get_engine().start(...)``).

    :raises RuntimeError: when none was set.
    """
    if _engine is None:
        raise RuntimeError("no durable workflow engine is running in this process")
    return _engine
