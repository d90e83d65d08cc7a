"""The events outbox delivered to every ``handle_event`` subscriber, each as its own durable run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pluggy
import pytest
from tortoise import timezone

from core.api.store.carts import CompleteCartResponse
from core.app import create_app
from core.config import Settings
from core.errors import ErpUnavailable, PermanentError
from core.events import dispatch_pending_events, event_run_id, event_subscribers, notify_events_written
from core.hookspecs import hookimpl
from core.models import Event, WorkflowRunRecord, WorkflowStepRecord
from core.workflows.durable import Engine, set_engine
from tests.polling import wait_until

from api.store.carts_support import checked, complete, create_cart, initiate_payment  # tests/ is on sys.path
from workflows.durable_support import RecordingExecutor


class Subscriber:
    """Records every delivery; ``fail_with`` makes it raise (``times`` times, or always)."""

    def __init__(self, fail_with: Exception | None = None, times: int | None = None) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.calls = 0
        self.fail_with = fail_with
        self.times = times

    @hookimpl
    async def handle_event(self, name: str, payload: dict[str, Any]) -> None:
        self.calls += 1
        if self.fail_with is not None and (self.times is None or self.calls <= self.times):
            raise self.fail_with
        self.received.append((name, payload))


class SyncSubscriber:
    """A plain function implementation taking only some of the arguments."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    @hookimpl
    def handle_event(self, event_id: str, name: str) -> None:
        self.received.append((event_id, name))


@pytest.fixture
def executor() -> RecordingExecutor:
    return RecordingExecutor()


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None, executor: RecordingExecutor) -> Engine:
    engine = Engine(settings=settings, plugins=plugins)
    engine.executor = executor
    return engine


async def place(count: int = 1, name: str = "order.placed") -> list[Event]:
    return [await Event.create(name=name, payload={"id": f"order_{i}"}) for i in range(count)]


async def execute_submitted(engine: Engine, executor: RecordingExecutor) -> dict[str, WorkflowRunRecord]:
    for run_id in executor.submitted:
        await engine.execute(run_id)
    return {run.id: run for run in await WorkflowRunRecord.filter(workflow_name="deliver-event")}


async def test_dispatch_creates_one_run_per_event_and_subscriber(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    audit, mailer = Subscriber(), Subscriber()
    plugins.register(audit, name="audit")
    plugins.register(mailer, name="mailer")
    first, second = await place(2)

    assert await dispatch_pending_events(engine) == 2

    expected = {event_run_id(event.id, name) for event in (first, second) for name in ("audit", "mailer")}
    assert set(executor.submitted) == expected
    assert event_run_id(first.id, "audit") == f"event:{first.id}:audit"
    runs = await execute_submitted(engine, executor)
    assert set(runs) == expected
    assert {run.state for run in runs.values()} == {"done"}
    deliveries = [("order.placed", {"id": "order_0"}), ("order.placed", {"id": "order_1"})]
    assert audit.received == mailer.received == deliveries
    assert await Event.filter(dispatched_at=None).count() == 0


async def test_subscribers_get_the_arguments_they_declare_with_the_event_id(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    subscriber = SyncSubscriber()
    plugins.register(subscriber, name="counter")
    (event,) = await place()
    await dispatch_pending_events(engine)
    runs = await execute_submitted(engine, executor)
    assert [run.state for run in runs.values()] == ["done"]
    assert subscriber.received == [(event.id, "order.placed")]


async def test_a_failing_subscriber_does_not_stop_the_others(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    audit, broken = Subscriber(), Subscriber(fail_with=PermanentError("crm rejected the order"))
    plugins.register(audit, name="audit")
    plugins.register(broken, name="crm")
    (event,) = await place()
    await dispatch_pending_events(engine)

    runs = await execute_submitted(engine, executor)

    assert runs[event_run_id(event.id, "audit")].state == "done"
    assert audit.received == [("order.placed", {"id": "order_0"})]
    failed = runs[event_run_id(event.id, "crm")]
    assert failed.state in ("failed", "reverted")  # nothing to compensate: the engine ends it reverted
    assert failed.finished_at is not None
    assert "crm rejected the order" in (failed.error or "")
    step = await WorkflowStepRecord.get(run_id=failed.id, seq=1)
    assert (step.name, step.state, step.attempts) == ("call-subscriber", "failed", 1)
    assert "crm rejected the order" in (step.error or "")


async def test_a_retryable_subscriber_error_is_retried(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    flaky = Subscriber(fail_with=ErpUnavailable("erp down"), times=1)
    plugins.register(flaky, name="erp")
    (event,) = await place()
    await dispatch_pending_events(engine)

    runs = await execute_submitted(engine, executor)

    assert runs[event_run_id(event.id, "erp")].state == "done"
    step = await WorkflowStepRecord.get(run_id=event_run_id(event.id, "erp"), seq=1)
    assert (step.state, step.attempts) == ("done", 2)
    assert flaky.received == [("order.placed", {"id": "order_0"})]


async def test_redispatching_an_event_makes_no_second_delivery(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    audit = Subscriber()
    plugins.register(audit, name="audit")
    (event,) = await place()
    assert await dispatch_pending_events(engine) == 1
    await execute_submitted(engine, executor)
    assert await dispatch_pending_events(engine) == 0  # nothing pending any more

    # The same event handed out again (a dispatcher that crashed after creating the runs, a
    # duplicated outbox row being re-marked): the run id dedupes it.
    await Event.filter(id=event.id).update(dispatched_at=None)
    executor.submitted.clear()
    assert await dispatch_pending_events(engine) == 1
    assert executor.submitted == []  # the existing, finished run is not submitted again
    await execute_submitted(engine, executor)
    for run_id in [event_run_id(event.id, "audit")]:
        assert await engine.execute(run_id) is None  # finished: cannot be claimed again
    assert await WorkflowRunRecord.filter(workflow_name="deliver-event").count() == 1
    assert audit.calls == 1


async def test_dispatch_takes_the_oldest_events_in_batches(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    plugins.register(Subscriber(), name="audit")
    events = await place(5)
    assert await dispatch_pending_events(engine, limit=2) == 2
    assert executor.submitted == [event_run_id(e.id, "audit") for e in events[:2]]
    assert await dispatch_pending_events(engine, limit=2) == 2
    assert await dispatch_pending_events(engine, limit=2) == 1
    assert await dispatch_pending_events(engine, limit=2) == 0
    assert executor.submitted == [event_run_id(e.id, "audit") for e in events]


async def test_concurrent_dispatchers_never_take_the_same_event(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    plugins.register(Subscriber(), name="audit")
    plugins.register(Subscriber(), name="mailer")
    await place(9)

    async def drain() -> int:
        total = 0
        while taken := await dispatch_pending_events(engine, limit=2):
            total += taken
        return total

    totals = await asyncio.gather(drain(), drain(), drain())
    assert sum(totals) == 9
    assert len(executor.submitted) == len(set(executor.submitted)) == 18
    assert await WorkflowRunRecord.filter(workflow_name="deliver-event").count() == 18


async def test_events_without_subscribers_are_marked_dispatched(engine: Engine, executor: RecordingExecutor) -> None:
    await place(2)
    assert await dispatch_pending_events(engine) == 2
    assert executor.submitted == []
    assert await Event.filter(dispatched_at=None).count() == 0
    assert await WorkflowRunRecord.all().count() == 0


async def test_already_dispatched_events_are_left_alone(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    plugins.register(Subscriber(), name="audit")
    await Event.create(name="order.placed", payload={"id": "order_9"}, dispatched_at=timezone.now())
    assert await dispatch_pending_events(engine) == 0
    assert executor.submitted == []


async def test_a_subscriber_removed_before_delivery_fails_its_run(
    engine: Engine, executor: RecordingExecutor, plugins: pluggy.PluginManager
) -> None:
    leaving = Subscriber()
    plugins.register(leaving, name="legacy")
    (event,) = await place()
    await dispatch_pending_events(engine)
    plugins.unregister(leaving)

    runs = await execute_submitted(engine, executor)

    run = runs[event_run_id(event.id, "legacy")]
    assert run.state in ("failed", "reverted")
    assert "plugin 'legacy' no longer implements handle_event" in (run.error or "")
    assert leaving.calls == 0


def test_subscribers_are_named_by_their_plugin_names(plugins: pluggy.PluginManager) -> None:
    plugins.register(Subscriber(), name="first")
    plugins.register(SyncSubscriber(), name="second")
    assert event_subscribers(plugins) == ["second", "first"]  # pluggy's call order: newest first


async def test_notify_events_written_wakes_the_engines_executor(engine: Engine, executor: RecordingExecutor) -> None:
    await notify_events_written()  # no engine in this process: nothing happens
    await notify_events_written(Engine(settings=engine.settings, plugins=engine.plugins))  # no executor: nothing
    await notify_events_written(engine)
    set_engine(engine)
    try:
        await notify_events_written()
    finally:
        set_engine(None)
    assert executor.notified == 2


# -------------------------------------------------------------------------------------------------
# Through the API, with the server's in-process executor
# -------------------------------------------------------------------------------------------------


async def test_order_placed_through_the_api_is_delivered_to_every_subscriber(
    aiohttp_client: Any, settings: Settings, plugins: pluggy.PluginManager, store: Any
) -> None:
    audit, crm = Subscriber(), Subscriber(fail_with=PermanentError("crm is read-only"))
    plugins.register(audit, name="audit")
    plugins.register(crm, name="crm")
    # A long recovery interval: only the completion's notification can make the delivery quick.
    settings = settings.model_copy(
        update={"workflows": settings.workflows.model_copy(update={"recovery_interval_seconds": 3600})}
    )
    client = await aiohttp_client(create_app(settings, plugins, manage_database=False))
    cart = await create_cart(client, store, items=[{"variant_id": store.variant_ids[0], "quantity": 1}])
    await initiate_payment(client, store, cart["id"])

    order = (await checked(await complete(client, store, cart["id"]), CompleteCartResponse))["order"]

    async def delivered() -> bool:
        return await WorkflowRunRecord.filter(workflow_name="deliver-event", finished_at__isnull=False).count() == 2

    await wait_until(delivered)
    assert audit.received == [("order.placed", {"id": order["id"]})]
    (event,) = await Event.all()
    assert event.dispatched_at is not None
    assert (await WorkflowRunRecord.get(id=event_run_id(event.id, "audit"))).state == "done"
    failed = await WorkflowRunRecord.get(id=event_run_id(event.id, "crm"))
    assert failed.state in ("failed", "reverted")
    assert "crm is read-only" in (failed.error or "")
