"""Scheduled jobs: declaration, config overrides, cron conversion for arq, the embedded scheduler, runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pluggy
import pytest
from arq.cron import next_cron
from croniter import croniter

from core.config import JobSettings, Settings
from core.errors import ConfigError
from core.hookspecs import hookimpl
from core.jobs import JobSpec, collect_jobs, job_run_id, start_job_run
from core.models import WorkflowRunRecord
from core.scheduler import EmbeddedScheduler, arq_cron_fields, arq_cron_for, next_fire_time
from core.workflows.durable import Engine, set_engine

CALLS: list[tuple[str, datetime]] = []


async def sync_products(*, scheduled_for: datetime) -> dict[str, int]:
    CALLS.append(("sync-products", scheduled_for))
    return {"created": 2}


async def send_digest(*, scheduled_for: datetime) -> None:
    CALLS.append(("send-digest", scheduled_for))


class JobsPlugin:
    def __init__(self, *jobs: JobSpec) -> None:
        self.jobs = list(jobs)

    @hookimpl
    def register_jobs(self) -> list[JobSpec]:
        return self.jobs


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


def with_jobs(settings: Settings, **jobs: JobSettings) -> Settings:
    return settings.model_copy(update={"jobs": jobs})


@pytest.fixture
def job_plugins(plugins: pluggy.PluginManager) -> pluggy.PluginManager:
    plugins.register(
        JobsPlugin(
            JobSpec("sync-products", "0 0 * * *", sync_products),
            JobSpec("send-digest", "*/15 * * * *", send_digest),
        ),
        name="shop-jobs",
    )
    return plugins


# -------------------------------------------------------------------------------------------------
# Collection and configuration
# -------------------------------------------------------------------------------------------------


def test_collect_jobs_returns_every_declared_job(job_plugins: pluggy.PluginManager, settings: Settings) -> None:
    jobs = collect_jobs(job_plugins, settings)
    assert [(job.name, job.schedule) for job in jobs] == [
        ("sync-products", "0 0 * * *"),
        ("send-digest", "*/15 * * * *"),
    ]
    assert jobs[0].func is sync_products


def test_collect_jobs_without_plugins_is_empty(plugins: pluggy.PluginManager, settings: Settings) -> None:
    assert collect_jobs(plugins, settings) == []


def test_config_overrides_a_job_schedule(job_plugins: pluggy.PluginManager, settings: Settings) -> None:
    jobs = collect_jobs(job_plugins, with_jobs(settings, **{"sync-products": JobSettings(schedule="30 2 * * 1-5")}))
    assert {job.name: job.schedule for job in jobs}["sync-products"] == "30 2 * * 1-5"


def test_config_disables_a_job(job_plugins: pluggy.PluginManager, settings: Settings) -> None:
    jobs = collect_jobs(job_plugins, with_jobs(settings, **{"send-digest": JobSettings(enabled=False)}))
    assert [job.name for job in jobs] == ["sync-products"]


def test_config_accepts_cron_aliases(job_plugins: pluggy.PluginManager, settings: Settings) -> None:
    jobs = collect_jobs(job_plugins, with_jobs(settings, **{"send-digest": JobSettings(schedule="@hourly")}))
    assert {job.name: job.schedule for job in jobs}["send-digest"] == "@hourly"


@pytest.mark.parametrize("schedule", ["61 * * * *", "* * * *", "0 0 * * * *", "every day", ""])
def test_invalid_cron_in_config_names_the_key(
    job_plugins: pluggy.PluginManager, settings: Settings, schedule: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        collect_jobs(job_plugins, with_jobs(settings, **{"sync-products": JobSettings(schedule=schedule)}))
    assert raised.value.key == "jobs.sync-products.schedule"
    assert "jobs.sync-products.schedule" in str(raised.value)


def test_invalid_cron_declared_by_a_plugin_names_the_key(plugins: pluggy.PluginManager, settings: Settings) -> None:
    plugins.register(JobsPlugin(JobSpec("nightly", "0 25 * * *", send_digest)))
    with pytest.raises(ConfigError) as raised:
        collect_jobs(plugins, settings)
    assert raised.value.key == "jobs.nightly.schedule"


def test_config_for_an_unknown_job_is_refused(job_plugins: pluggy.PluginManager, settings: Settings) -> None:
    with pytest.raises(ConfigError) as raised:
        collect_jobs(job_plugins, with_jobs(settings, **{"sync-prodcts": JobSettings(schedule="0 1 * * *")}))
    assert raised.value.key == "jobs.sync-prodcts"
    assert "no plugin declares a job named 'sync-prodcts'" in str(raised.value)
    assert "send-digest, sync-products" in str(raised.value)


def test_duplicate_job_names_are_refused(job_plugins: pluggy.PluginManager, settings: Settings) -> None:
    job_plugins.register(JobsPlugin(JobSpec("sync-products", "0 1 * * *", send_digest)), name="other")
    with pytest.raises(ConfigError) as raised:
        collect_jobs(job_plugins, settings)
    assert raised.value.key == "jobs.sync-products"
    # pluggy calls the newest registered plugin first
    assert "declared twice (by plugins other and shop-jobs)" in str(raised.value)


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (JobSpec("bad:name", "0 0 * * *", send_digest), "job name 'bad:name'"),
        (JobSpec("plain", "0 0 * * *", print), "func must be an async function"),  # type: ignore[arg-type]
    ],
)
def test_malformed_job_declarations_are_refused(
    plugins: pluggy.PluginManager, settings: Settings, job: JobSpec, message: str
) -> None:
    plugins.register(JobsPlugin(job), name="broken")
    with pytest.raises(ConfigError, match=message):
        collect_jobs(plugins, settings)


def test_register_jobs_must_return_job_specs(plugins: pluggy.PluginManager, settings: Settings) -> None:
    class Broken:
        @hookimpl
        def register_jobs(self) -> Any:
            return {"name": "x"}

    plugins.register(Broken(), name="broken")
    with pytest.raises(ConfigError, match="plugin broken: register_jobs must return a list of JobSpec"):
        collect_jobs(plugins, settings)


def test_async_register_jobs_is_refused(plugins: pluggy.PluginManager, settings: Settings) -> None:
    class Broken:
        @hookimpl
        async def register_jobs(self) -> list[JobSpec]:
            return []

    plugins.register(Broken(), name="broken")
    with pytest.raises(ConfigError, match="must be a plain"):
        collect_jobs(plugins, settings)


def test_job_run_id_is_the_utc_minute() -> None:
    moment = datetime(2026, 3, 1, 10, 15, 42, 5, tzinfo=UTC)
    assert job_run_id("sync-products", moment) == "job:sync-products:2026-03-01T10:15"
    paris = moment.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert job_run_id("sync-products", paris) == "job:sync-products:2026-03-01T10:15"


# -------------------------------------------------------------------------------------------------
# arq cron conversion
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("*/15 * * * *", {"minute": {0, 15, 30, 45}, "hour": None, "day": None, "month": None, "weekday": None}),
        ("0 9 * * 1-5", {"minute": {0}, "hour": {9}, "day": None, "month": None, "weekday": {0, 1, 2, 3, 4}}),
        ("0 0 * * 0", {"minute": {0}, "hour": {0}, "day": None, "month": None, "weekday": {6}}),
        ("0 0 * * 7", {"minute": {0}, "hour": {0}, "day": None, "month": None, "weekday": {6}}),
        ("0 0 * * sat,sun", {"minute": {0}, "hour": {0}, "day": None, "month": None, "weekday": {5, 6}}),
        ("5 4 1 */3 *", {"minute": {5}, "hour": {4}, "day": {1}, "month": {1, 4, 7, 10}, "weekday": None}),
        ("0-10/5 8-17 * * *", {"minute": {0, 5, 10}, "hour": set(range(8, 18)), "day": None, "month": None,
                               "weekday": None}),
        ("@daily", {"minute": {0}, "hour": {0}, "day": None, "month": None, "weekday": None}),
    ],
)
def test_cron_expression_becomes_arq_sets(schedule: str, expected: dict[str, set[int] | None]) -> None:
    fields = arq_cron_fields(schedule)
    assert fields.exact
    actual = {name: getattr(fields, name) for name in expected}
    assert actual == expected


@pytest.mark.parametrize("schedule", ["0 0 1 * 1", "0 0 L * *", "0 0 * * 5#2"])
def test_schedules_arq_cannot_express_are_marked_inexact(schedule: str) -> None:
    fields = arq_cron_fields(schedule)
    assert not fields.exact
    assert fields.weekday is None


@pytest.mark.parametrize(
    "schedule", ["*/15 * * * *", "0 9 * * 1-5", "0 0 * * 0", "30 6 * * 6,7", "5 4 1 */3 *", "0 12 * * mon", "@weekly"]
)
def test_arq_fires_at_the_same_times_as_cron(schedule: str) -> None:
    """arq's own next-run computation over the converted sets gives croniter's times."""
    fields = arq_cron_fields(schedule)
    options = {name: getattr(fields, name) for name in ("minute", "hour", "day", "month", "weekday")}
    arq_time = cron_time = datetime(2026, 2, 25, 13, 7, tzinfo=UTC)  # a Wednesday
    expected = croniter(schedule, cron_time)
    for _ in range(12):
        arq_time = next_cron(arq_time, **options, microsecond=0)
        assert arq_time == expected.get_next(datetime)


def test_arq_cron_job_is_unique_and_named_after_the_job() -> None:
    cron_job = arq_cron_for(JobSpec("sync-products", "0 9 * * 1-5", sync_products))
    assert cron_job.unique
    assert cron_job.name == "cron:job:sync-products"
    assert (cron_job.minute, cron_job.hour, cron_job.weekday) == ({0}, {9}, {0, 1, 2, 3, 4})
    assert cron_job.day is None and cron_job.month is None
    assert arq_cron_for(JobSpec("x", "@hourly", send_digest), queue_name="shop").name == "shop:cron:job:x"


def _tick(moment: datetime) -> dict[str, Any]:
    """The ctx arq gives a unique cron job enqueued for ``moment`` (job id ``<name>:<unix ms>``)."""
    return {"job_id": f"cron:job:whatever:{int(moment.timestamp() * 1000)}", "job_try": 1}


async def test_arq_cron_tick_starts_the_jobs_run(engine: Engine) -> None:
    cron_job = arq_cron_for(JobSpec("sync-products", "0 9 * * 1-5", sync_products), engine=engine)
    tick = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)  # arq fires at .123456 s
    assert await cron_job.coroutine(_tick(tick)) == "job:sync-products:2026-03-02T09:00"
    assert await cron_job.coroutine(_tick(tick)) == "job:sync-products:2026-03-02T09:00"  # a second worker
    run = await WorkflowRunRecord.get(id="job:sync-products:2026-03-02T09:00")
    assert (run.workflow_name, run.input) == ("scheduled-job", {"name": "sync-products",
                                                                 "scheduled_for": "2026-03-02T09:00:00Z"})
    assert await WorkflowRunRecord.all().count() == 1


async def test_arq_cron_tick_checks_schedules_arq_cannot_express(engine: Engine) -> None:
    # Midnight on the 1st of the month OR on Mondays: arq is asked for every midnight.
    cron_job = arq_cron_for(JobSpec("sync-products", "0 0 1 * 1", sync_products), engine=engine)
    assert (cron_job.minute, cron_job.hour, cron_job.day, cron_job.weekday) == ({0}, {0}, None, None)
    assert await cron_job.coroutine(_tick(datetime(2026, 3, 4, tzinfo=UTC))) is None  # a Wednesday, the 4th
    assert await cron_job.coroutine(_tick(datetime(2026, 3, 2, tzinfo=UTC))) is not None  # a Monday
    assert await cron_job.coroutine(_tick(datetime(2026, 4, 1, tzinfo=UTC))) is not None  # the 1st
    assert await WorkflowRunRecord.all().count() == 2


async def test_arq_cron_tick_uses_the_process_engine_by_default(engine: Engine) -> None:
    cron_job = arq_cron_for(JobSpec("sync-products", "* * * * *", sync_products))
    set_engine(engine)
    try:
        assert await cron_job.coroutine(_tick(datetime(2026, 3, 2, 7, 1, tzinfo=UTC))) == (
            "job:sync-products:2026-03-02T07:01"
        )
    finally:
        set_engine(None)


# -------------------------------------------------------------------------------------------------
# Runs: each tick is one recorded durable run
# -------------------------------------------------------------------------------------------------


@pytest.fixture
async def engine(job_plugins: pluggy.PluginManager, settings: Settings, db: None) -> Engine:
    return Engine(settings=settings, plugins=job_plugins)


async def run_to_end(engine: Engine, run_id: str) -> WorkflowRunRecord:
    await engine.execute(run_id)
    return await WorkflowRunRecord.get(id=run_id)


async def test_a_tick_is_one_recorded_run(
    engine: Engine, job_plugins: pluggy.PluginManager, settings: Settings
) -> None:
    job = collect_jobs(job_plugins, settings)[0]
    tick = datetime(2026, 3, 2, 0, 0, 0, 123456, tzinfo=UTC)
    first = await start_job_run(engine, job, tick)
    second = await start_job_run(engine, job, tick + timedelta(seconds=20))  # another process, same minute
    assert first.id == second.id == "job:sync-products:2026-03-02T00:00"
    assert await WorkflowRunRecord.filter(workflow_name="scheduled-job").count() == 1
    run = await run_to_end(engine, first.id)
    assert run.state == "done"
    assert run.output == {"created": 2}
    assert CALLS == [("sync-products", datetime(2026, 3, 2, tzinfo=UTC))]


async def test_a_failing_job_fails_its_run_visibly(engine: Engine, job_plugins: pluggy.PluginManager) -> None:
    async def explode(*, scheduled_for: datetime) -> None:
        raise ValueError("warehouse feed is malformed")

    job_plugins.register(JobsPlugin(JobSpec("import-feed", "0 * * * *", explode)), name="feeds")
    run = await start_job_run(engine, JobSpec("import-feed", "0 * * * *", explode), datetime(2026, 3, 2, 5, tzinfo=UTC))
    run = await run_to_end(engine, run.id)
    assert run.state in ("failed", "reverted")
    assert "warehouse feed is malformed" in (run.error or "")


async def test_a_job_no_plugin_declares_any_more_fails_permanently(engine: Engine) -> None:
    gone = JobSpec("retired-job", "0 * * * *", send_digest)
    run = await start_job_run(engine, gone, datetime(2026, 3, 2, 5, tzinfo=UTC))
    run = await run_to_end(engine, run.id)
    assert run.state in ("failed", "reverted")
    assert "no plugin declares a job named 'retired-job'" in (run.error or "")
    assert CALLS == []


# -------------------------------------------------------------------------------------------------
# The embedded scheduler (fake clock)
# -------------------------------------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when the scheduler sleeps, and stops at ``until`` (sleeps forever then)."""

    def __init__(self, now: datetime, until: datetime) -> None:
        self.now = now
        self.until = until
        self.sleeps: list[float] = []
        self.at_end = asyncio.Event()

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.now + timedelta(seconds=seconds) > self.until:
            self.at_end.set()
            await asyncio.Event().wait()  # until the scheduler is stopped
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


async def run_until_the_clock_ends(scheduler: EmbeddedScheduler, clock: FakeClock) -> list[str]:
    """Run the scheduler until its fake clock reached its end; the ids of the runs it started."""
    await scheduler.start()
    try:
        await asyncio.wait_for(clock.at_end.wait(), timeout=10)
    finally:
        await scheduler.stop()
    return [run.id for run in await WorkflowRunRecord.filter(workflow_name="scheduled-job").order_by("id")]


async def test_embedded_scheduler_starts_a_run_at_each_tick(engine: Engine, job_plugins: pluggy.PluginManager,
                                                            settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 59, 30, tzinfo=UTC), until=datetime(2026, 3, 2, 9, 40, tzinfo=UTC))
    jobs = collect_jobs(job_plugins, settings)  # sync-products at midnight, send-digest every 15 min
    scheduler = EmbeddedScheduler(engine, jobs, clock=clock, sleep=clock.sleep)
    ids = await run_until_the_clock_ends(scheduler, clock)
    assert ids == [
        "job:send-digest:2026-03-02T09:00",
        "job:send-digest:2026-03-02T09:15",
        "job:send-digest:2026-03-02T09:30",
    ]
    # It slept straight to each tick (capped at a minute per sleep), never spinning.
    assert clock.sleeps[0] == 30.0
    assert clock.sleeps[1:] == [60.0] * 40  # then a minute at a time up to the fake clock's end, 09:40
    assert not scheduler.running


async def test_embedded_scheduler_fires_due_jobs_once_each(engine: Engine, job_plugins: pluggy.PluginManager,
                                                           settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), until=datetime(2026, 3, 3, 0, 5, tzinfo=UTC))
    scheduler = EmbeddedScheduler(engine, collect_jobs(job_plugins, settings), clock=clock, sleep=clock.sleep)
    ids = await run_until_the_clock_ends(scheduler, clock)
    assert ids == ["job:send-digest:2026-03-03T00:00", "job:sync-products:2026-03-03T00:00"]


async def test_embedded_scheduler_stop_cancels_a_real_sleep(engine: Engine, job_plugins: pluggy.PluginManager,
                                                            settings: Settings) -> None:
    scheduler = EmbeddedScheduler(engine, collect_jobs(job_plugins, settings))
    await scheduler.start()
    assert scheduler.running
    await asyncio.sleep(0.01)
    await asyncio.wait_for(scheduler.stop(), timeout=1)
    assert not scheduler.running
    await scheduler.stop()  # idempotent


async def test_embedded_scheduler_without_jobs_starts_nothing(engine: Engine) -> None:
    scheduler = EmbeddedScheduler(engine, [])
    await scheduler.start()
    assert not scheduler.running
    await scheduler.stop()


def test_next_fire_time_is_strictly_after() -> None:
    moment = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert next_fire_time("*/15 * * * *", moment) == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
