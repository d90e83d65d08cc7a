"""Product sync runs: resuming after a crash or a failure, an ERP down or malformed, one sync at a
time, the daily job, the sync declarations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pluggy
import pytest

from core.config import JobSettings, Settings
from core.errors import ConfigError, ErpUnavailable, NotFound
from core.hookspecs import hookimpl
from core.jobs import collect_jobs, start_job_run
from core.models import Product, SyncCursor, SyncRun, WorkflowRunRecord
from core.plugins import build_plugin_manager
from core.syncs import SyncAlreadyRunning, SyncSpec, declared_syncs, find_sync, start_sync
from core.workflows.durable import Engine, set_engine
from erpcommerce_erp.contract import ErpProduct, Page, StockLevel
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin
from erpcommerce_erp.product_sync import JOB_NAME, run_scheduled_sync
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.product_sync_support import cap, catalogue, mug, run_sync, shirt
from tests.workflows.durable_support import Crash, make_engine


@dataclass(eq=False)
class PagedFakeErp(FakeErp):
    """FakeErp whose product pages can fail: ``fail_pages[token]`` is raised ``fail_times[token]`` times."""

    fail_pages: dict[str, BaseException] = field(default_factory=dict)
    fail_times: dict[str, int] = field(default_factory=dict)

    async def list_products(self, cursor: str | None, page: str | None, limit: int) -> Page[ErpProduct]:
        token = page or ""
        if self.fail_times.get(token, 0) > 0:
            self.fail_times[token] -= 1
            self.calls["list_products"] += 1
            self.log.append(("list_products", (cursor, page, limit)))
            raise self.fail_pages[token]
        return await super().list_products(cursor, page, limit)


@pytest.fixture
def fake_erp() -> PagedFakeErp:
    return PagedFakeErp()


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"sync_page_size": 2, "sync_max_retries": 2, "sync_backoff_seconds": 0.001}


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> Iterator[Engine]:
    engine = make_engine(settings, plugins)
    set_engine(engine)
    yield engine
    set_engine(None)


def product_calls(fake: FakeErp) -> list[Any]:
    return [args for name, args in fake.log if name == "list_products"]


# -------------------------------------------------------------------------------------------------
# Resuming
# -------------------------------------------------------------------------------------------------


async def test_a_failed_sync_retried_resumes_at_the_page_that_failed(engine: Engine, fake_erp: PagedFakeErp) -> None:
    fake_erp.products = catalogue()
    fake_erp.fail_pages["2"] = ErpUnavailable("FakeERP is restarting")
    fake_erp.fail_times["2"] = 3  # the first try and both retries

    failed = await run_sync(engine)

    assert failed.state == "failed"
    assert failed.error is not None and "FakeERP is restarting" in failed.error
    assert (await WorkflowRunRecord.get(id=failed.run_id)).state == "reverted"
    assert (failed.created, failed.pages) == (2, 1)  # page 1 was applied and stays
    assert await Product.all().count() == 2
    assert await SyncCursor.all().count() == 0  # no stream finished: no cursor moved
    fake_erp.log.clear()

    await engine.retry(failed.run_id)
    await engine.execute(failed.run_id)

    retried = await SyncRun.get(id=failed.id)
    assert retried.state == "succeeded" and retried.error is None
    assert product_calls(fake_erp) == [(None, "2", 2)]  # page 1 is not fetched again
    assert (retried.created, retried.pages, retried.seen) == (3, 4, 3)
    assert await Product.all().count() == 3
    assert (await SyncCursor.get(name="products:products")).value == "3"


async def test_a_crashed_sync_resumes_from_its_checkpoints(engine: Engine, fake_erp: PagedFakeErp) -> None:
    fake_erp.products = catalogue()
    fake_erp.fail_pages["2"] = Crash("the process died")
    fake_erp.fail_times["2"] = 1
    sync_run = await start_sync(engine, "products")

    with pytest.raises(Crash):
        await engine.execute(sync_run.run_id)
    assert (await SyncRun.get(id=sync_run.id)).state == "running"
    state = await engine.execute(sync_run.run_id)

    assert state == "done"
    # Page 1 replayed from its checkpoint: fetched once; page 2 fetched again after the crash.
    assert product_calls(fake_erp) == [(None, None, 2), (None, "2", 2), (None, "2", 2)]
    row = await SyncRun.get(id=sync_run.id)
    assert (row.state, row.created, row.pages) == ("succeeded", 3, 4)
    assert await Product.all().count() == 3


async def test_a_full_sync_retried_reads_the_product_stream_again(engine: Engine, fake_erp: PagedFakeErp) -> None:
    fake_erp.products = catalogue()
    await run_sync(engine)
    fake_erp.products = [shirt(), mug()]  # the cap is gone from the ERP
    fake_erp.fail_pages["2"] = ErpUnavailable("FakeERP is restarting")
    fake_erp.fail_times["2"] = 3
    fake_erp.products.append(cap(title="Cap again"))  # page 2 holds the cap: the full listing needs it

    failed = await run_sync(engine, full=True)
    assert failed.state == "failed"
    fake_erp.log.clear()
    await engine.retry(failed.run_id)
    await engine.execute(failed.run_id)

    row = await SyncRun.get(id=failed.id)
    assert product_calls(fake_erp) == [(None, None, 2), (None, "2", 2)]
    assert (row.state, row.seen, row.unchanged, row.updated, row.archived) == ("succeeded", 3, 2, 1, 0)
    assert await Product.filter(deleted_at=None).count() == 3


# -------------------------------------------------------------------------------------------------
# The ERP down or malformed
# -------------------------------------------------------------------------------------------------


async def test_an_erp_down_is_retried_then_fails_the_run_visibly(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.products = catalogue()
    fake_erp.down = True

    row = await run_sync(engine)

    assert fake_erp.calls["list_products"] == 3  # one try, two retries
    assert row.state == "failed" and row.finished_at is not None
    assert row.error is not None and "FakeERP could not be reached (list_products)" in row.error
    assert await Product.all().count() == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"items": []},
        Page[StockLevel](items=[StockLevel(variant_external_id="V1", qty_available=1)]),
    ],
    ids=["not-a-page", "wrong-items"],
)
async def test_a_malformed_page_is_retried_then_fails_the_run(
    engine: Engine, fake_erp: FakeErp, answer: object
) -> None:
    fake_erp.products = catalogue()
    fake_erp.malformed["list_products"] = answer

    row = await run_sync(engine)

    assert fake_erp.calls["list_products"] == 3
    assert row.state == "failed"
    assert row.error is not None and "FakeERP answered list_products with malformed data" in row.error


async def test_a_refusal_by_the_erp_fails_at_once(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.fail("list_products", ConfigError("FakeERP refused the credentials"), times=5)

    row = await run_sync(engine)

    assert fake_erp.calls["list_products"] == 1
    assert row.state == "failed" and row.error is not None and "refused the credentials" in row.error


# -------------------------------------------------------------------------------------------------
# One sync at a time
# -------------------------------------------------------------------------------------------------


async def test_a_second_sync_is_refused_while_one_is_running(engine: Engine, fake_erp: FakeErp) -> None:
    first = await start_sync(engine, "products")

    with pytest.raises(SyncAlreadyRunning) as refused:
        await start_sync(engine, "products", full=True)

    assert refused.value.status == 409
    assert f"A products sync is already running (run {first.run_id}, pending)" in refused.value.message
    assert await SyncRun.all().count() == 1
    await engine.execute(first.run_id)
    second = await start_sync(engine, "products")
    assert second.id != first.id


async def test_a_canceled_sync_does_not_block_the_next(engine: Engine, fake_erp: FakeErp) -> None:
    first = await start_sync(engine, "products")
    await engine.cancel(first.run_id)

    second = await start_sync(engine, "products")

    abandoned = await SyncRun.get(id=first.id)
    assert (abandoned.state, abandoned.error) == ("failed", f"its workflow run {first.run_id} ended canceled")
    assert (await SyncRun.get(id=second.id)).state == "running"


async def test_an_old_run_retried_while_another_runs_fails(engine: Engine, fake_erp: FakeErp) -> None:
    fake_erp.down = True
    old = await run_sync(engine)
    fake_erp.down = False
    new = await start_sync(engine, "products")

    await engine.retry(old.run_id)
    await engine.execute(old.run_id)

    retried = await SyncRun.get(id=old.id)
    assert retried.state == "failed"
    assert retried.error is not None and f"already running (run {new.run_id}" in retried.error
    await engine.execute(new.run_id)
    assert (await SyncRun.get(id=new.id)).state == "succeeded"


# -------------------------------------------------------------------------------------------------
# The daily job
# -------------------------------------------------------------------------------------------------


def test_the_daily_job_is_declared_and_configurable(plugins: pluggy.PluginManager, settings: Settings) -> None:
    (job,) = collect_jobs(plugins, settings)
    assert (job.name, job.schedule) == (JOB_NAME, "0 0 * * *")

    moved = settings.model_copy(update={"jobs": {JOB_NAME: JobSettings(schedule="30 2 * * 1-5")}})
    assert [job.schedule for job in collect_jobs(plugins, moved)] == ["30 2 * * 1-5"]
    disabled = settings.model_copy(update={"jobs": {JOB_NAME: JobSettings(enabled=False)}})
    assert collect_jobs(plugins, disabled) == []


async def test_the_job_starts_a_sync_once_per_tick_and_skips_while_one_runs(
    engine: Engine, fake_erp: FakeErp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="erpcommerce.erp.sync")
    fake_erp.products = catalogue()
    (job,) = collect_jobs(engine.plugins, engine.settings)
    midnight = datetime(2026, 3, 3, tzinfo=UTC)

    job_run = await start_job_run(engine, job, midnight)
    assert await engine.execute(job_run.id) == "done"

    (sync_run,) = await SyncRun.all()
    assert (sync_run.trigger, sync_run.run_id) == ("schedule", "sync:products:schedule-2026-03-03T00:00")
    assert (await WorkflowRunRecord.get(id=job_run.id)).output == {
        "started": True, "sync_run_id": sync_run.id, "run_id": sync_run.run_id
    }
    assert (await run_scheduled_sync(scheduled_for=midnight))["sync_run_id"] == sync_run.id  # the same tick
    skipped = await run_scheduled_sync(scheduled_for=datetime(2026, 3, 4, tzinfo=UTC))
    assert skipped == {"started": False, "running": sync_run.run_id}
    assert "scheduled product sync skipped: one is already running" in caplog.messages

    assert await engine.execute(sync_run.run_id) == "done"
    assert (await SyncRun.get(id=sync_run.id)).created == 3


# -------------------------------------------------------------------------------------------------
# Declarations
# -------------------------------------------------------------------------------------------------


class OtherSyncs:
    @hookimpl
    def register_syncs(self) -> list[SyncSpec]:
        return [SyncSpec(name="products", workflow="other-products")]


def test_sync_names_must_be_unique(plugins: pluggy.PluginManager) -> None:
    plugins.register(OtherSyncs(), name="other")
    with pytest.raises(ConfigError, match="sync 'products' is declared twice"):
        declared_syncs(plugins)


def test_unknown_syncs_are_named_with_the_known_ones(plugins: pluggy.PluginManager, settings: Settings) -> None:
    with pytest.raises(NotFound, match=r"No sync named 'prices' \(known: products\)"):
        find_sync(plugins, "prices")
    without_client = build_plugin_manager(settings, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME),))
    assert declared_syncs(without_client) == []
    assert collect_jobs(without_client, settings) == []
    with pytest.raises(NotFound, match="is an ERP plugin installed and configured"):
        find_sync(without_client, "products")
