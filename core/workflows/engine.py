"""The workflow engine: named workflows made of named steps, compensated in reverse on failure.

A **step** is declared with :func:`step`: a stable kebab-case name, one input object (a pydantic
model or a dataclass, so fields can be added later) and keyword-only options. Its invoke function
returns its output, or a :class:`StepResponse` carrying the output and, separately, the minimal
input its compensation needs (Medusa's ``StepResponse(output, compensateInput)``)::

    @step("reserve-stock", retry=RetryPolicy(max_retries=3))
    async def reserve_stock(input: ReserveInput, ctx: StepContext) -> StepResponse[Reservation]:
        reservation = await erp.reserve(input.lines, idempotency_key=ctx.idempotency_key)
        return StepResponse(reservation, compensate_input=reservation.id)

    @reserve_stock.compensate
    async def release_stock(reservation_id: str | None, ctx: StepContext) -> None:
        ...

A **workflow** is an async function, declared with :func:`workflow`, that calls its steps in order
(``await reserve_stock(ReserveInput(...))``). :meth:`Workflow.run` executes it: when anything
raises, the compensations of the completed steps run in reverse order, then the failing step's
own compensation when it declares one (with what it recorded through
:meth:`StepContext.record_compensate_input`, else None), then the original error is re-raised.
A compensation that fails is logged and noted on the original error; the others still run.

Code running inside a step (hook implementations included) registers extra compensations with
``current_workflow().register_compensation(fn, *args)``; they run in reverse order of
registration, interleaved with the steps' own.

``Workflow.run(input, plugins=pm)`` makes the plugin manager's hooks available to the steps as
``ctx.run.hooks`` (``current_workflow().hooks``). :meth:`Workflow.run` is request-scoped: nothing
is persisted and a step costs about a microsecond. A workflow declared ``durable=True`` is run by
the durable engine (:mod:`core.workflows.durable`) with the same declarations: a run id that
doubles as idempotency key, stable step names and per-step idempotency keys
(``<run id>:<step name>``), a retry policy for :class:`~core.errors.RetryableError` (permanent
errors are never retried), a timeout, and ``transactional=True`` for steps that only write to our
database (their writes and their checkpoint commit together).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import pluggy
from tortoise.transactions import in_transaction

from core.errors import RetryableError
from core.ids import new_id
from core.workflows.registry import register_workflow

__all__ = [
    "Compensation",
    "RetryPolicy",
    "RetrySource",
    "Step",
    "StepContext",
    "StepDeclaration",
    "StepRecord",
    "StepResponse",
    "Workflow",
    "WorkflowRun",
    "current_workflow",
    "running",
    "split_result",
    "step",
    "workflow",
]

log = logging.getLogger(__name__)

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")

RUN_ID_PREFIX = "wfrun"
_UNSET: Any = object()
_current: ContextVar[WorkflowRun | None] = ContextVar("erpcommerce_workflow", default=None)


@dataclass(frozen=True, slots=True)
class StepResponse(Generic[OutputT]):
    """What a step returns: its ``output`` and, separately, its compensation's input.

    ``compensate_input`` defaults to the output itself.
    """

    output: OutputT
    compensate_input: Any = _UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often a step is retried after a :class:`~core.errors.RetryableError` (or a timeout).

    The n-th retry waits ``min(backoff_seconds * backoff_factor ** (n - 1), max_backoff_seconds)``.
    """

    max_retries: int = 0
    backoff_seconds: float = 0.1
    backoff_factor: float = 2.0
    max_backoff_seconds: float = 30.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return min(self.backoff_seconds * self.backoff_factor ** (retry - 1), self.max_backoff_seconds)


NO_RETRY = RetryPolicy()


def split_result(result: Any) -> tuple[Any, Any]:
    """``(output, compensate_input)`` of what an invoke function returned."""
    if isinstance(result, StepResponse):
        output = result.output
        return output, output if result.compensate_input is _UNSET else result.compensate_input
    return result, result


class StepContext:
    """What a running step knows about itself; passed as the second argument of invoke/compensate."""

    __slots__ = ("attempt", "compensate_input", "resumed", "run", "step_name")

    def __init__(self, run: WorkflowRun, step_name: str) -> None:
        self.run = run
        self.step_name = step_name
        self.attempt = 1
        # True when an earlier execution of the run started this step and died before recording
        # its end (durable runs only): its effects outside the database are unknown.
        self.resumed = False
        self.compensate_input: Any = None

    @property
    def idempotency_key(self) -> str:
        """``<run id>:<step name>``: stable across retries, to pass to external systems."""
        return f"{self.run.run_id}:{self.step_name}"

    def record_compensate_input(self, value: Any) -> None:
        """Record partial progress: what the compensation receives if this step then fails."""
        self.compensate_input = value


Invoke = Callable[..., Awaitable[Any]]
Compensate = Callable[..., Any]
# A step's retry policy, or a function giving it for the attempt (a policy read from settings).
RetrySource = RetryPolicy | Callable[[StepContext], RetryPolicy]


def _positional_arity(fn: Callable[..., Any]) -> int:
    parameters = inspect.signature(fn).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds)


class Step(Generic[InputT, OutputT]):
    """A named unit of work; call it (``await my_step(input)``) inside a running workflow."""

    __slots__ = (
        "_compensate",
        "_compensate_takes_ctx",
        "_invoke",
        "_invoke_takes_ctx",
        "name",
        "retry",
        "timeout",
        "transactional",
    )

    def __init__(
        self,
        name: str,
        invoke: Invoke,
        *,
        retry: RetrySource = NO_RETRY,
        timeout: float | None = None,
        transactional: bool = False,
    ) -> None:
        self.name = name
        self.retry = retry
        self.timeout = timeout
        self.transactional = transactional
        self._invoke = invoke
        self._invoke_takes_ctx = _positional_arity(invoke) >= 2
        self._compensate: Compensate | None = None
        self._compensate_takes_ctx = False

    @property
    def has_compensation(self) -> bool:
        return self._compensate is not None

    def retry_policy(self, ctx: StepContext) -> RetryPolicy:
        """The retry policy of this attempt: the declared one, or what the declared function gives."""
        return self.retry if isinstance(self.retry, RetryPolicy) else self.retry(ctx)

    @property
    def invoke_function(self) -> Invoke:
        """The declared invoke function (its return annotation types the output)."""
        return self._invoke

    @property
    def compensate_function(self) -> Compensate | None:
        """The declared compensation, if any (its first parameter types the compensate input)."""
        return self._compensate

    def compensate(self, fn: Compensate) -> Compensate:
        """Decorator declaring the step's compensation ``fn(compensate_input[, ctx])``."""
        self._compensate = fn
        self._compensate_takes_ctx = _positional_arity(fn) >= 2
        return fn

    async def __call__(self, input: InputT) -> OutputT:
        run = _current.get()
        if run is None:
            raise RuntimeError(f"step {self.name!r} called outside a running workflow")
        result: OutputT = await run.run_step(self, input)
        return result

    async def _call_invoke_in_transaction(self, input: Any, ctx: StepContext) -> Any:
        async with in_transaction():
            return await self._call_invoke(input, ctx)

    async def _call_invoke(self, input: Any, ctx: StepContext) -> Any:
        if self.timeout is None:
            return await (self._invoke(input, ctx) if self._invoke_takes_ctx else self._invoke(input))
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                return await (self._invoke(input, ctx) if self._invoke_takes_ctx else self._invoke(input))
        except TimeoutError:
            if deadline.expired():
                raise TimeoutError(f"step {self.name} timed out after {self.timeout}s") from None
            raise

    def _compensation(self, compensate_input: Any, ctx: StepContext, record: StepRecord) -> Compensation:
        assert self._compensate is not None
        args = (compensate_input, ctx) if self._compensate_takes_ctx else (compensate_input,)
        return Compensation(self.name, self._compensate, args, record)

    def __repr__(self) -> str:
        return f"Step({self.name!r})"


class StepDeclaration:
    """What :func:`step` returns: applied to an invoke function, it makes the typed :class:`Step`.

    The invoke function takes the input (and optionally the :class:`StepContext`) and returns the
    output, or a :class:`StepResponse` of it.
    """

    __slots__ = ("name", "retry", "timeout", "transactional")

    def __init__(self, name: str, retry: RetrySource, timeout: float | None, transactional: bool) -> None:
        self.name = name
        self.retry = retry
        self.timeout = timeout
        self.transactional = transactional

    @overload
    def __call__(self, invoke: Callable[[InputT], Awaitable[StepResponse[OutputT]]]) -> Step[InputT, OutputT]: ...
    @overload
    def __call__(
        self, invoke: Callable[[InputT, StepContext], Awaitable[StepResponse[OutputT]]]
    ) -> Step[InputT, OutputT]: ...
    @overload
    def __call__(self, invoke: Callable[[InputT], Awaitable[OutputT]]) -> Step[InputT, OutputT]: ...
    @overload
    def __call__(self, invoke: Callable[[InputT, StepContext], Awaitable[OutputT]]) -> Step[InputT, OutputT]: ...

    def __call__(self, invoke: Invoke) -> Step[Any, Any]:
        return Step(self.name, invoke, retry=self.retry, timeout=self.timeout, transactional=self.transactional)


def step(
    name: str,
    *,
    retry: RetrySource | None = None,
    max_retries: int | None = None,
    timeout: float | None = None,
    transactional: bool = False,
) -> StepDeclaration:
    """Declare a step named ``name`` (kebab-case, never renamed once released).

    :param retry: the retry policy for retryable failures (default: no retry), or a function of the
        :class:`StepContext` returning it (read when an attempt fails: a policy from settings).
    :param max_retries: shorthand for ``RetryPolicy(max_retries=...)``.
    :param timeout: seconds one attempt may take; a timeout counts as a retryable failure.
    :param transactional: the step only writes to our database: each attempt runs inside
        ``in_transaction()`` and, in a durable run, its checkpoint commits in that same
        transaction (exactly once).
    """
    policy = retry or (RetryPolicy(max_retries=max_retries) if max_retries else NO_RETRY)
    return StepDeclaration(name, policy, timeout, transactional)


@dataclass(slots=True)
class Compensation:
    """An undo action: ``fn(*args)`` (sync or async), labelled for logs; ``record`` is its step's."""

    label: str
    fn: Compensate
    args: tuple[Any, ...]
    record: StepRecord | None = None

    async def __call__(self) -> None:
        result = self.fn(*self.args)
        if inspect.isawaitable(result):
            await result


@dataclass(slots=True)
class StepRecord:
    """One step of a run: ``done`` or ``failed``, then ``reverted`` or ``compensation_failed``."""

    name: str
    state: str
    output: Any = None


class WorkflowRun:
    """One execution of a workflow: its steps so far and the compensations to run on failure."""

    __slots__ = ("_compensations", "_run_id", "plugins", "state", "steps", "workflow_name")

    def __init__(
        self, workflow_name: str, run_id: str | None = None, plugins: pluggy.PluginManager | None = None
    ) -> None:
        self.workflow_name = workflow_name
        self._run_id = run_id
        self.plugins = plugins
        self.state = "invoking"
        self.steps: list[StepRecord] = []
        self._compensations: list[Compensation] = []

    @property
    def hooks(self) -> Any:
        """The plugin manager's hook relay (``run.hooks.validate_add_to_cart``).

        :raises RuntimeError: when the run was started without a plugin manager.
        """
        if self.plugins is None:
            raise RuntimeError(f"workflow {self.workflow_name!r} was started without plugins")
        return self.plugins.hook

    @property
    def run_id(self) -> str:
        """The run's id (its idempotency key); made on first use when the caller gave none."""
        if self._run_id is None:
            self._run_id = new_id(RUN_ID_PREFIX)
        return self._run_id

    def register_compensation(self, fn: Compensate, *args: Any, name: str | None = None) -> None:
        """Run ``fn(*args)`` (sync or async) if the workflow later fails."""
        label = name or str(getattr(fn, "__qualname__", None) or repr(fn))
        self._compensations.append(Compensation(label, fn, args))

    async def run_step(self, step: Step[Any, Any], input: Any) -> Any:
        ctx = StepContext(self, step.name)
        while True:
            try:
                if step.transactional:
                    result = await step._call_invoke_in_transaction(input, ctx)
                else:
                    result = await step._call_invoke(input, ctx)
                break
            except (RetryableError, TimeoutError) as exc:
                policy = step.retry_policy(ctx)
                if ctx.attempt > policy.max_retries:
                    self._step_failed(step, ctx)
                    raise
                delay = policy.delay(ctx.attempt)
                log.warning(
                    "workflow %s step %s attempt %d failed (%s), retrying in %.2fs",
                    self.workflow_name, step.name, ctx.attempt, exc, delay,
                )
                ctx.attempt += 1
                await asyncio.sleep(delay)
            except BaseException:
                self._step_failed(step, ctx)
                raise
        if isinstance(result, StepResponse):  # split_result, inlined: this is the hot path
            output = result.output
            compensate_input = output if result.compensate_input is _UNSET else result.compensate_input
        else:
            output = compensate_input = result
        record = StepRecord(step.name, "done", output)
        self.steps.append(record)
        if step._compensate is not None:
            self._compensations.append(step._compensation(compensate_input, ctx, record))
        return output

    def _step_failed(self, step: Step[Any, Any], ctx: StepContext) -> None:
        record = StepRecord(step.name, "failed")
        self.steps.append(record)
        if step._compensate is not None:
            self._compensations.append(step._compensation(ctx.compensate_input, ctx, record))

    async def compensate(self, error: BaseException) -> None:
        """Run every registered compensation in reverse order; note failures on ``error``."""
        self.state = "compensating"
        failed = False
        while self._compensations:
            compensation = self._compensations.pop()
            try:
                await compensation()
            except Exception as exc:
                failed = True
                if compensation.record is not None:
                    compensation.record.state = "compensation_failed"
                log.exception(
                    "workflow %s (run %s): compensation %s failed",
                    self.workflow_name, self._run_id, compensation.label,
                )
                error.add_note(f"compensation {compensation.label} failed: {exc!r}")
            else:
                if compensation.record is not None:
                    compensation.record.state = "reverted"
        self.state = "failed" if failed else "reverted"


@contextmanager
def running(run: WorkflowRun) -> Iterator[WorkflowRun]:
    """Make ``run`` the current workflow (:func:`current_workflow`) inside the ``with`` block."""
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


def current_workflow() -> WorkflowRun:
    """The workflow run executing the current code (hook implementations use it).

    :raises RuntimeError: outside a running workflow.
    """
    run = _current.get()
    if run is None:
        raise RuntimeError("no workflow is running")
    return run


class Workflow(Generic[InputT, OutputT]):
    """A named workflow; :meth:`run` executes its body with compensation on failure.

    A ``durable`` workflow is also registered by name, so that the durable engine
    (:mod:`core.workflows.durable`) can start it and resume it in any process.
    """

    __slots__ = ("body", "durable", "name")

    def __init__(self, name: str, body: Callable[[InputT], Awaitable[OutputT]], *, durable: bool = False) -> None:
        self.name = name
        self.body = body
        self.durable = durable
        if durable:
            register_workflow(self)

    async def run(
        self, input: InputT, *, run_id: str | None = None, plugins: pluggy.PluginManager | None = None
    ) -> OutputT:
        """Run the workflow on ``input``; on failure compensate, then re-raise the original error.

        :param run_id: the run's id and idempotency key (generated when omitted).
        :param plugins: the plugin manager whose hooks the steps call (``current_workflow().hooks``).
        """
        run = WorkflowRun(self.name, run_id, plugins)
        token = _current.set(run)
        try:
            output = await self.body(input)
        except BaseException as exc:
            await run.compensate(exc)
            raise
        finally:
            _current.reset(token)
        run.state = "done"
        return output

    def __repr__(self) -> str:
        return f"Workflow({self.name!r})"


def workflow(
    name: str, *, durable: bool = False
) -> Callable[[Callable[[InputT], Awaitable[OutputT]]], Workflow[InputT, OutputT]]:
    """Declare a workflow named ``name`` (kebab-case, stable) around an async function of one input.

    :param durable: run it through the durable engine (``get_engine().start(name, input)``):
        checkpointed steps, leases, resumption after a crash. Its input and step outputs must be
        JSON-able or pydantic models.
    """

    def declare(body: Callable[[InputT], Awaitable[OutputT]]) -> Workflow[InputT, OutputT]:
        return Workflow(name, body, durable=durable)

    return declare
