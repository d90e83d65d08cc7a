"""Event delivery: the outbox (:class:`core.models.Event`) to every ``handle_event`` subscriber.

Flows write events in the transaction of the change they announce (``complete-cart`` writes
``order.placed``). :func:`dispatch_pending_events` takes a batch of undispatched events and, in one
transaction, creates one durable ``deliver-event`` run per event and subscriber (run id
``event:<event id>:<subscriber>``, the subscriber being the plugin's registered name) and marks the
events dispatched; then it submits the runs to the engine's executor. Each run calls exactly that
subscriber's implementation, retrying retryable errors with backoff, so one failing subscriber
never holds up the others and its failure is visible as a failed run.

Delivery is at least once (a subscriber may see an event again if its process dies mid-call) and
deduplicated by (event id, subscriber): the run id is the idempotency key, so dispatching an event
twice (two dispatchers, a crash before the batch committed) makes no second run.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pluggy
from pydantic import BaseModel
from tortoise import timezone
from tortoise.transactions import in_transaction

from core.errors import PermanentError
from core.models import Event
from core.workflows.durable import Engine, get_engine
from core.workflows.engine import RetryPolicy, StepContext, step, workflow


__all__ = [
    "DELIVER_EVENT",
    "DISPATCH_BATCH_SIZE",
    "DeliverEventInput",
    "deliver_event",
    "dispatch_pending_events",
    "event_run_id",
    "event_subscribers",
    "notify_events_written",
]

log = logging.getLogger(__name__)

DELIVER_EVENT = "deliver-event"
EVENT_RUN_PREFIX = "event"
DISPATCH_BATCH_SIZE = 100
SUBSCRIBER_RETRY = RetryPolicy(max_retries=5, backoff_seconds=1.0, max_backoff_seconds=60.0)


class DeliverEventInput(BaseModel):
    """One event for one subscriber."""

    event_id: str
    subscriber: str
    name: str
    payload: dict[str, Any]


def event_run_id(event_id: str, subscriber: str) -> str:
    """``event:<event id>:<subscriber>``: the delivery's run id and idempotency key."""
    return f"{EVENT_RUN_PREFIX}:{event_id}:{subscriber}"


def event_subscribers(plugins: pluggy.PluginManager) -> list[str]:
    """The registered names of the plugins implementing ``handle_event``, in hook call order."""
    return [impl.plugin_name for impl in reversed(plugins.hook.handle_event.get_hookimpls())]


# -------------------------------------------------------------------------------------------------
# The deliver-event workflow
# -------------------------------------------------------------------------------------------------


def _subscriber_impl(plugins: pluggy.PluginManager | None, subscriber: str) -> pluggy.HookImpl:
    if plugins is not None:
        for impl in plugins.hook.handle_event.get_hookimpls():
            if impl.plugin_name == subscriber:
                return impl
    raise PermanentError(f"plugin {subscriber!r} no longer implements handle_event")


@step("call-subscriber", retry=SUBSCRIBER_RETRY)
async def call_subscriber(input: DeliverEventInput, ctx: StepContext) -> None:
    """Call the one subscriber's ``handle_event`` (with the arguments it declares).

    :raises PermanentError: when the subscriber is not registered any more.
    """
    impl = _subscriber_impl(ctx.run.plugins, input.subscriber)
    arguments = {"name": input.name, "payload": input.payload, "event_id": input.event_id}
    result = impl.function(**{name: arguments[name] for name in impl.argnames})
    if inspect.isawaitable(result):
        await result


@workflow(DELIVER_EVENT, durable=True)
async def deliver_event(input: DeliverEventInput) -> None:
    """Deliver one event to one subscriber."""
    await call_subscriber(input)


# -------------------------------------------------------------------------------------------------
# Dispatching the outbox
# -------------------------------------------------------------------------------------------------


async def dispatch_pending_events(engine: Engine, *, limit: int = DISPATCH_BATCH_SIZE) -> int:
    """Turn up to ``limit`` undispatched events into delivery runs; return how many events were taken.

    One transaction selects the oldest undispatched events (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, so concurrent dispatchers take different batches; SQLite serialises writers),
    creates a run per event and subscriber and marks the events dispatched. The runs are submitted
    to the executor once that transaction has committed. Call again while it returns ``limit``.
    """
    subscribers = event_subscribers(engine.plugins)
    async with in_transaction():
        pending = Event.filter(dispatched_at=None).order_by("created_at", "id").limit(limit)
        events = await pending.select_for_update(skip_locked=True)
        if not events:
            return 0
        new_run_ids: list[str] = []
        for event in events:
            for subscriber in subscribers:
                if (run_id := await _create_run(engine, event, subscriber)) is not None:
                    new_run_ids.append(run_id)
        await Event.filter(id__in=[event.id for event in events]).update(dispatched_at=timezone.now())
    for run_id in new_run_ids:
        await engine.submit(run_id)
    log.info("events dispatched", extra={"events": len(events), "runs": len(new_run_ids)})
    return len(events)


async def _create_run(engine: Engine, event: Event, subscriber: str) -> str | None:
    """Create the delivery run (inside the caller's transaction); its id if it is new."""
    run_id = event_run_id(event.id, subscriber)
    run_input = DeliverEventInput(event_id=event.id, subscriber=subscriber, name=event.name, payload=event.payload)
    record = await engine.start(deliver_event, run_input, run_id=run_id)
    return run_id if record.state == "pending" else None


async def notify_events_written(engine: Engine | None = None) -> None:
    """Wake the event dispatcher of ``engine`` (default: the process's); a no-op without one.

    Call it after committing a transaction that wrote events, so they are delivered at once
    rather than at the dispatcher's next periodic pass.
    """
    if engine is None:
        try:
            engine = get_engine()
        except RuntimeError:
            return
    if engine.executor is not None:
        await engine.executor.notify_events()
