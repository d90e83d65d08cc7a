"""Leases: one executor per run at a time, takeover of expired leases, fencing of zombies, heartbeats.

On PostgreSQL the engines below claim and write through different pooled connections at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pluggy
import pytest
from tortoise.expressions import F

from core.config import Settings
from core.models import WorkflowRunRecord, WorkflowStepRecord
from core.workflows.durable import Engine
from core.workflows.engine import step, workflow
from core.workflows.leases import utcnow
from tests.workflows.durable_support import Script, get_run, make_engine, step_rows

script = Script()
holds: dict[str, float] = {}
gate: dict[str, asyncio.Event] = {}


@step("prepare-sync")
async def prepare_sync(value: int) -> int:
    script.enter("prepare-sync")
    return value


@step("push-to-erp")
async def push_to_erp(value: int) -> int:
    script.enter("push-to-erp")
    if script.count("push-to-erp") == 1 and "push" in gate:  # only the first invocation waits
        await gate["push"].wait()
    if "push" in holds:
        await asyncio.sleep(holds["push"])
    return value + 1


@step("finish-sync")
async def finish_sync(value: int) -> int:
    script.enter("finish-sync")
    return value + 1


@workflow("test-durable-leases", durable=True)
async def lease_flow(value: int) -> int:
    value = await prepare_sync(value)
    value = await push_to_erp(value)
    return await finish_sync(value)


@pytest.fixture(autouse=True)
def fresh_script() -> Iterator[None]:
    script.reset()
    holds.clear()
    gate.clear()
    yield
    for event in gate.values():
        event.set()
    script.reset()


@pytest.fixture
def engines(settings: Settings, plugins: pluggy.PluginManager, db: None) -> list[Engine]:
    return [make_engine(settings, plugins, owner=f"engine-{n}") for n in range(5)]


async def wait_for(name: str, count: int = 1) -> None:
    async with asyncio.timeout(5):
        while script.count(name) < count:
            await asyncio.sleep(0.005)


async def test_concurrent_executions_of_one_run_execute_its_body_once(engines: list[Engine]) -> None:
    await engines[0].start("test-durable-leases", 1, run_id="run-race")
    holds["push"] = 0.1  # the winner is still running while the others try

    results = await asyncio.gather(*(engine.execute("run-race") for engine in engines))

    assert sorted(results, key=lambda state: state or "") == [None, None, None, None, "done"]
    assert [script.count(name) for name in ("prepare-sync", "push-to-erp", "finish-sync")] == [1, 1, 1]
    run = await get_run("run-race")
    assert (run.state, run.attempts, run.output) == ("done", 1, 3)


async def test_running_run_is_not_claimed_by_another_engine(engines: list[Engine]) -> None:
    first, second = engines[:2]
    await first.start("test-durable-leases", 1, run_id="run-busy")
    gate["push"] = asyncio.Event()
    running = asyncio.create_task(first.execute("run-busy"))
    await wait_for("push-to-erp")

    assert await second.execute("run-busy") is None

    gate["push"].set()
    assert await running == "done"
    run = await get_run("run-busy")
    assert (run.attempts, run.owner) == (1, None)


async def test_expired_lease_is_taken_over_and_the_zombie_cannot_write(engines: list[Engine]) -> None:
    zombie, rescuer = engines[:2]
    await zombie.start("test-durable-leases", 1, run_id="run-takeover")
    gate["push"] = asyncio.Event()
    stuck = asyncio.create_task(zombie.execute("run-takeover"))
    await wait_for("push-to-erp")
    # The zombie stalls (no heartbeat for longer than the lease): its lease expires.
    await WorkflowRunRecord.filter(id="run-takeover").update(lease_until=utcnow() - timedelta(seconds=1))

    assert await rescuer.execute("run-takeover") == "done"

    gate["push"].set()  # the zombie wakes up: its checkpoint write is fenced off, it stops
    assert await stuck is None
    assert [script.count(name) for name in ("prepare-sync", "push-to-erp", "finish-sync")] == [1, 2, 1]
    run = await get_run("run-takeover")
    assert (run.state, run.attempts, run.owner, run.output) == ("done", 2, None, 3)
    push = await WorkflowStepRecord.get(run_id="run-takeover", seq=2)
    assert (push.state, push.attempts, push.output) == ("done", 2, 2)
    assert len(await step_rows("run-takeover")) == 3


async def test_zombie_stops_as_soon_as_its_heartbeat_sees_the_lease_taken(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    zombie = make_engine(settings, plugins, owner="engine-zombie", lease_seconds=1)
    await zombie.start("test-durable-leases", 1, run_id="run-stolen")
    gate["push"] = asyncio.Event()  # never set: the step would wait forever
    stuck = asyncio.create_task(zombie.execute("run-stolen"))
    await wait_for("push-to-erp")

    await WorkflowRunRecord.filter(id="run-stolen").update(owner="engine-other", attempts=F("attempts") + 1)

    async with asyncio.timeout(2):
        assert await stuck is None
    assert script.count("finish-sync") == 0
    run = await get_run("run-stolen")
    assert (run.state, run.owner) == ("invoking", "engine-other")  # untouched by the zombie


async def test_heartbeat_keeps_the_lease_of_a_step_longer_than_the_lease(
    settings: Settings, plugins: pluggy.PluginManager, db: None
) -> None:
    owner = make_engine(settings, plugins, owner="engine-slow", lease_seconds=1)
    other = make_engine(settings, plugins, owner="engine-eager", lease_seconds=1)
    await owner.start("test-durable-leases", 1, run_id="run-long")
    holds["push"] = 2.0
    running = asyncio.create_task(owner.execute("run-long"))
    await wait_for("push-to-erp")

    attempts = []
    while not running.done():
        attempts.append(await other.execute("run-long"))
        await asyncio.sleep(0.1)

    assert await running == "done"
    assert len(attempts) > 10 and set(attempts) == {None}
    run = await get_run("run-long")
    assert (run.attempts, run.state) == (1, "done")


async def test_lease_is_released_when_the_execution_is_cancelled(engines: list[Engine]) -> None:
    first, second = engines[:2]
    await first.start("test-durable-leases", 1, run_id="run-shutdown")
    gate["push"] = asyncio.Event()
    running = asyncio.create_task(first.execute("run-shutdown"))
    await wait_for("push-to-erp")

    running.cancel()  # a graceful shutdown
    with pytest.raises(asyncio.CancelledError):
        await running

    run = await get_run("run-shutdown")
    assert (run.owner, run.lease_until, run.state) == (None, None, "invoking")
    assert await second.execute("run-shutdown") == "done"
    assert [script.count(name) for name in ("prepare-sync", "push-to-erp", "finish-sync")] == [1, 2, 1]
