"""One leased execution of a durable workflow's body: replay of checkpoints, new steps, compensation.

Each step call gets the next sequence number. A call whose number has a recorded, finished step
returns the stored output without running (its compensations are registered again); a recorded
step of another name means the body changed under a live run (:class:`NonDeterministicWorkflow`).
Otherwise the step runs (retries, timeout) and is checkpointed before the body goes on.

A run resumed while ``compensating`` replays its body only to rebuild the list of compensations:
no new step runs, the first one past the checkpoints raises the stored failure instead.
Compensations are numbered after the last step and recorded as ``compensate`` rows, so a run
interrupted while compensating skips the compensations already done.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import Any

import pluggy
from tortoise.transactions import in_transaction

from core.errors import PermanentError, RetryableError
from core.metrics import observe_step_attempt
from core.models import WorkflowStepRecord
from core.workflows.checkpoints import Checkpoints
from core.workflows.engine import (
    Compensate,
    RetryPolicy,
    Step,
    StepContext,
    StepRecord,
    WorkflowRun,
    split_result,
)
from core.workflows.leases import Lease, LeaseLost
from core.workflows.serialization import (
    function_ref,
    param_adapter,
    resolve_function,
    restore,
    return_adapter,
    to_json,
)
from core.workflows.statements import dump_json

__all__ = [
    "COMPENSATION_RETRY",
    "DurableRun",
    "NonDeterministicWorkflow",
    "RunFailed",
]

log = logging.getLogger(__name__)

COMPENSATION_RETRY = RetryPolicy(max_retries=3, backoff_seconds=0.2)


class NonDeterministicWorkflow(PermanentError):
    """The body called other steps than the ones recorded for this run (its code changed).

    :param seq: the step call's sequence number; ``recorded`` and ``called``: the two step names.
    """

    def __init__(self, run_id: str, seq: int, recorded: str, called: str) -> None:
        super().__init__(
            f"non-deterministic workflow: run {run_id} step #{seq} was recorded as {recorded!r} "
            f"but the workflow now calls {called!r}"
        )
        self.seq = seq
        self.recorded = recorded
        self.called = called


class RunFailed(PermanentError):
    """Replaying a run that already failed: the stored failure, raised where the body failed."""


@dataclass(slots=True)
class _Undo:
    """A compensation to run on failure: a step's own (``step`` set) or a registered function."""

    seq: int
    name: str
    args: Any
    step: Step[Any, Any] | None = None
    record: StepRecord | None = None


class DurableRun(WorkflowRun):
    """A :class:`WorkflowRun` whose steps are checkpointed through a lease (see the module doc)."""

    __slots__ = (
        "_checkpoints",
        "_done",
        "_hook_specs",
        "_invokes",
        "_last_recorded",
        "_seq",
        "_undos",
        "compensation_retry",
        "failure",
        "nondeterminism",
    )

    def __init__(
        self,
        workflow_name: str,
        lease: Lease,
        plugins: pluggy.PluginManager | None,
        rows: list[WorkflowStepRecord],
        *,
        failure: str | None = None,
        compensation_retry: RetryPolicy = COMPENSATION_RETRY,
    ) -> None:
        super().__init__(workflow_name, lease.run_id, plugins)
        self._checkpoints = Checkpoints(lease)
        self._invokes = {row.seq: row for row in rows if row.kind == "invoke"}
        self._done = {row.seq: row for row in rows if row.kind == "compensate"}
        self._seq = 0
        self._last_recorded = max(self._invokes, default=0)
        self._hook_specs: list[dict[str, Any]] | None = None
        self._undos: list[_Undo] = []
        self.compensation_retry = compensation_retry
        self.failure = failure
        self.nondeterminism: NonDeterministicWorkflow | None = None

    # -- steps -------------------------------------------------------------------------------

    async def run_step(self, step: Step[Any, Any], input: Any) -> Any:
        self._seq += 1
        seq = self._seq
        row = self._invokes.get(seq)
        if row is not None and row.name != step.name:
            self.nondeterminism = NonDeterministicWorkflow(self.run_id, seq, row.name, step.name)
            raise self.nondeterminism
        if row is not None and row.state != "invoking":
            return self._replay(step, seq, row)
        if self.failure is not None:
            raise RunFailed(self.failure)
        return await self._invoke(step, seq, input, row)

    def _replay(self, step: Step[Any, Any], seq: int, row: WorkflowStepRecord) -> Any:
        if row.error is not None:  # the step that failed (perhaps compensated since): fail again
            record = StepRecord(step.name, "failed")
            self.steps.append(record)
            self._register_step_undos(step, seq, row.compensations, row.compensate_input, record)
            raise RunFailed(self.failure or row.error)
        output = restore(return_adapter(step.invoke_function), row.output)
        record = StepRecord(step.name, "done")  # outputs are not kept: a long run would hold them all
        self.steps.append(record)
        self._register_step_undos(step, seq, row.compensations, row.compensate_input, record)
        return output

    def _register_step_undos(
        self,
        step: Step[Any, Any],
        seq: int,
        specs: list[dict[str, Any]] | None,
        compensate_input: Any,
        record: StepRecord,
    ) -> None:
        for spec in specs or ():
            self._undos.append(_Undo(seq, spec["fn"], spec["args"]))
        if step.has_compensation:
            self._undos.append(_Undo(seq, step.name, compensate_input, step, record))

    async def _invoke(self, step: Step[Any, Any], seq: int, input: Any, row: WorkflowStepRecord | None) -> Any:
        if self._hook_specs is not None:
            raise RuntimeError(
                f"step {step.name} called while another step runs: a durable workflow runs one step at a time"
            )
        ctx = StepContext(self, step.name)
        attempts = row.attempts if row is not None else 0
        # An attempt was started before and never recorded an end: its process died (or lost the
        # lease) in it, so whatever it did outside the database may or may not have happened.
        ctx.resumed = attempts > 0
        specs: list[dict[str, Any]] = []
        self._hook_specs = specs
        failures = 0
        error: str | None = None
        try:
            while True:
                attempts += 1
                ctx.attempt = attempts
                await self._checkpoints.step_started(seq, step.name, attempts, error)
                self._last_recorded = max(self._last_recorded, seq)
                try:
                    with observe_step_attempt(self.workflow_name, step.name):
                        return await self._attempt(step, seq, input, ctx, specs)
                except LeaseLost:
                    raise
                except (RetryableError, TimeoutError) as exc:
                    failures += 1
                    policy = step.retry_policy(ctx)
                    if failures > policy.max_retries:
                        await self._record_failure(step, seq, ctx, exc, specs)
                        raise
                    delay = max(policy.delay(failures), getattr(exc, "retry_after", None) or 0.0)
                    error = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "workflow %s run %s step %s attempt %d failed (%s), retrying in %.2fs",
                        self.workflow_name, self.run_id, step.name, attempts, error, delay,
                    )
                    await asyncio.sleep(delay)
                except Exception as exc:
                    await self._record_failure(step, seq, ctx, exc, specs)
                    raise
        finally:
            self._hook_specs = None

    async def _attempt(
        self, step: Step[Any, Any], seq: int, input: Any, ctx: StepContext, specs: list[dict[str, Any]]
    ) -> Any:
        if step.transactional:
            async with in_transaction():
                result = await step._call_invoke(input, ctx)
                output, undo_input = await self._checkpoint(step, seq, ctx, result, specs)
        else:
            result = await step._call_invoke(input, ctx)
            output, undo_input = await self._checkpoint(step, seq, ctx, result, specs)
        record = StepRecord(step.name, "done")  # outputs are not kept: a long run would hold them all
        self.steps.append(record)
        self._register_step_undos(step, seq, specs, undo_input, record)
        return output

    async def _checkpoint(
        self, step: Step[Any, Any], seq: int, ctx: StepContext, result: Any, specs: list[dict[str, Any]]
    ) -> tuple[Any, Any]:
        """Write the done checkpoint; return the output and the JSON compensate input."""
        output, compensate_input = split_result(result)
        output_json = to_json(output)
        if not step.has_compensation:
            undo_input = None
        elif compensate_input is output:
            undo_input = output_json
        else:
            undo_input = to_json(compensate_input)
        await self._checkpoints.step_done(
            seq,
            ctx.attempt,
            dump_json(output_json),
            dump_json(undo_input),
            dump_json(specs) if specs else None,
        )
        return output, undo_input

    async def _record_failure(
        self, step: Step[Any, Any], seq: int, ctx: StepContext, exc: BaseException, specs: list[dict[str, Any]]
    ) -> None:
        try:
            compensate_input = to_json(ctx.compensate_input)
        except Exception:
            log.exception("run %s step %s: compensate input is not JSON-able", self.run_id, step.name)
            compensate_input = None
        await self._checkpoints.step_failed(seq, ctx.attempt, exc, compensate_input, specs)
        record = StepRecord(step.name, "failed")
        self.steps.append(record)
        self._register_step_undos(step, seq, specs, compensate_input, record)

    def register_compensation(self, fn: Compensate, *args: Any, name: str | None = None) -> None:
        """Run ``fn(*args)`` if the workflow fails, also in another process after a crash.

        ``fn`` must be a module-level function and ``args`` JSON-able (they are stored).

        :raises TypeError: for other callables.
        """
        spec = {"fn": function_ref(fn), "args": to_json(list(args))}
        if self._hook_specs is not None:  # inside a step: stored with the step's checkpoint
            self._hook_specs.append(spec)
            return
        self._undos.append(_Undo(self._seq, spec["fn"], spec["args"]))  # the body registers it again

    # -- compensation ------------------------------------------------------------------------

    async def compensate_durably(self) -> list[str]:
        """Run the compensations in reverse order (skipping recorded ones); return the failures."""
        base = self._last_recorded  # the same in every execution: no step is recorded once compensating
        failures: list[str] = []
        for index, undo in enumerate(reversed(self._undos)):
            seq = base + 1 + index
            row = self._done.get(seq)
            if row is not None and row.name != undo.name:
                self.nondeterminism = NonDeterministicWorkflow(self.run_id, seq, row.name, undo.name)
                raise self.nondeterminism
            if row is not None and row.state == "reverted":
                continue
            if row is not None:
                failures.append(f"compensation {undo.name} failed: {row.error}")
                continue
            attempts, exc = await self._run_undo(undo)
            await self._checkpoints.compensated(seq, undo.name, undo.seq, attempts, exc)
            if exc is not None:
                failures.append(f"compensation {undo.name} failed: {type(exc).__name__}: {exc}")
        return failures

    async def _run_undo(self, undo: _Undo) -> tuple[int, Exception | None]:
        policy = self.compensation_retry
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._call_undo(undo)
                if undo.record is not None:
                    undo.record.state = "reverted"
                return attempt, None
            except Exception as exc:
                if attempt > policy.max_retries:
                    log.exception(
                        "workflow %s run %s: compensation %s failed", self.workflow_name, self.run_id, undo.name
                    )
                    if undo.record is not None:
                        undo.record.state = "compensation_failed"
                    return attempt, exc
                await asyncio.sleep(policy.delay(attempt))

    async def _call_undo(self, undo: _Undo) -> None:
        if undo.step is None:
            result = resolve_function(undo.name)(*undo.args)
        else:
            compensate = undo.step.compensate_function
            assert compensate is not None
            value = restore(param_adapter(compensate), undo.args)
            ctx = StepContext(self, undo.step.name)
            ctx.compensate_input = value
            result = undo.step._compensation(value, ctx, undo.record or StepRecord(undo.name, "done"))()
        if inspect.isawaitable(result):
            await result
