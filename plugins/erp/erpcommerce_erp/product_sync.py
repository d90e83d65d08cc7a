"""Product sync from the ERP: durable workflow ``sync-products-from-erp``, its daily job, its sync spec.

One run reads three change streams, each from its own cursor (``products:products``,
``products:prices``, ``products:stock``; ERPs like Odoo change prices and stock without touching
the product's write date): the products (with options, variants, and prices when given), then the
price lists, then the stock levels. Every page is two steps: fetching it from the ERP (retried with
backoff while the ERP is unavailable; its output, the page, is checkpointed), then applying it in
one database transaction together with the run's progress, so a crashed run resumes at the page it
was on and a failed run, retried (``erpcommerce retry``), goes on from the page that failed. A
stream's cursor is stored with its last page, never in a dry run; a ``--full`` run reads every
stream from the start and, at the end of the product stream, archives the ERP-linked products the
ERP no longer lists (a retried full run reads the product stream again, as it needs all of it).
A delta run also reads the stock of each products page's variants (:func:`_refresh_variant_stock`).

A failure that outlasts the retries fails the run: the first step's compensation marks the
SyncRun ``failed`` with the error (the pages applied so far stay; the cursors do not move).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pluggy

from core.catalog.cache import bump_catalog_version
from core.errors import ErpUnavailable, PermanentError
from core.jobs import JobSpec
from core.syncs import (
    StreamProgress,
    SyncAlreadyRunning,
    SyncCounts,
    SyncInput,
    SyncSpec,
    begin_sync_run,
    fail_sync_run,
    finish_sync_run,
    record_page,
    run_error,
    save_cursor,
    set_expected,
    start_sync,
)
from core.workflows.durable import get_engine
from core.workflows.engine import RetryPolicy, Step, StepContext, StepResponse, current_workflow, step, workflow
from erpcommerce_erp.catalog_upsert import apply_product_page, archive_unlisted_products
from erpcommerce_erp.contract import ErpProduct, Page, StockLevel, VariantPrices
from erpcommerce_erp.gateway import ErpGateway
from erpcommerce_erp.variant_levels import apply_price_page, apply_stock_page

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin

__all__ = [
    "JOB_NAME",
    "JOB_SCHEDULE",
    "STREAMS",
    "SYNC_NAME",
    "WORKFLOW_NAME",
    "jobs",
    "run_scheduled_sync",
    "sync_products_from_erp",
    "syncs",
]

log = logging.getLogger("erpcommerce.erp.sync")

SYNC_NAME = "products"
WORKFLOW_NAME = "sync-products-from-erp"
JOB_NAME = "sync-products-from-erp"
JOB_SCHEDULE = "0 0 * * *"
STREAMS = ("products", "prices", "stock")


# -------------------------------------------------------------------------------------------------
# Declarations
# -------------------------------------------------------------------------------------------------


def syncs(erp: ErpPlugin) -> list[SyncSpec]:
    """``products`` (``erpcommerce sync products``), when an ERP client is configured."""
    if erp.gateway is None:
        return []
    description = f"Products, prices and stock from {erp.gateway.name}"
    return [SyncSpec(name=SYNC_NAME, workflow=WORKFLOW_NAME, description=description)]


def jobs(erp: ErpPlugin) -> list[JobSpec]:
    """The daily sync (``[jobs.sync-products-from-erp]`` overrides it), when an ERP client is configured."""
    if erp.gateway is None:
        return []
    return [JobSpec(JOB_NAME, JOB_SCHEDULE, run_scheduled_sync)]


async def run_scheduled_sync(*, scheduled_for: datetime) -> dict[str, Any]:
    """The job: start a sync (one per tick, whoever fires it); a sync already running is left alone."""
    key = f"schedule-{scheduled_for.astimezone(UTC):%Y-%m-%dT%H:%M}"
    try:
        sync_run = await start_sync(get_engine(), SYNC_NAME, trigger="schedule", key=key)
    except SyncAlreadyRunning as exc:
        log.info("scheduled product sync skipped: one is already running", extra={"run_id": exc.run_id})
        return {"started": False, "running": exc.run_id}
    return {"started": True, "sync_run_id": sync_run.id, "run_id": sync_run.run_id}


# -------------------------------------------------------------------------------------------------
# Steps
# -------------------------------------------------------------------------------------------------


def _erp(plugins: pluggy.PluginManager | None) -> ErpPlugin:
    from erpcommerce_erp.plugin import erp_plugin  # the plugin imports this module

    return erp_plugin(plugins)


def _gateway(plugins: pluggy.PluginManager | None) -> ErpGateway:
    gateway = _erp(plugins).gateway
    if gateway is None:
        raise PermanentError("Product sync needs an ERP client: no installed plugin supplies one (erp_client hook)")
    return gateway


@step("begin-product-sync", transactional=True)
async def begin_product_sync(sync: SyncInput, ctx: StepContext) -> StepResponse[dict[str, StreamProgress]]:
    """Mark the SyncRun running; each stream's progress (a full run reads the product stream again)."""
    ctx.record_compensate_input(sync.sync_run_id)
    restart = ("products",) if sync.full else ()
    progress = await begin_sync_run(sync, ctx.run.run_id, STREAMS, restart=restart)
    return StepResponse(progress, compensate_input=sync.sync_run_id)


@begin_product_sync.compensate
async def fail_product_sync(sync_run_id: str | None, ctx: StepContext) -> None:
    """The run failed: so does its SyncRun, with the run's error."""
    if sync_run_id is not None:
        await fail_sync_run(sync_run_id, await run_error(ctx.run.run_id))


@dataclass(frozen=True)
class CountRequest:
    sync_run_id: str
    cursor: str | None


@step("count-erp-products")
async def count_erp_products(request: CountRequest, ctx: StepContext) -> int | None:
    """How many products the ERP will list (for the progress bar); None when it cannot say."""
    try:
        expected = await _gateway(ctx.run.plugins).count_products(request.cursor)
    except ErpUnavailable as exc:
        log.warning("erp product count unavailable", extra={"error": str(exc)})
        expected = None
    await set_expected(request.sync_run_id, "products", expected)
    return expected


def sync_retry(ctx: StepContext) -> RetryPolicy:
    """``[plugins.erp] sync_*``: how an unavailable ERP is retried while fetching a page."""
    settings = _erp(ctx.run.plugins).settings
    return RetryPolicy(
        max_retries=settings.sync_max_retries,
        backoff_seconds=settings.sync_backoff_seconds,
        max_backoff_seconds=settings.sync_max_backoff_seconds,
    )


@dataclass(frozen=True)
class PageRequest:
    cursor: str | None
    page: str | None
    limit: int


@step("fetch-erp-products-page", retry=sync_retry)
async def fetch_products_page(request: PageRequest, ctx: StepContext) -> Page[ErpProduct]:
    """One page of products changed since the stream's cursor."""
    return await _gateway(ctx.run.plugins).list_products(request.cursor, request.page, request.limit)


@step("fetch-erp-prices-page", retry=sync_retry)
async def fetch_prices_page(request: PageRequest, ctx: StepContext) -> Page[VariantPrices]:
    """One page of variant price lists changed since the stream's cursor."""
    return await _gateway(ctx.run.plugins).list_price_changes(request.cursor, request.page, request.limit)


@step("fetch-erp-stock-page", retry=sync_retry)
async def fetch_stock_page(request: PageRequest, ctx: StepContext) -> Page[StockLevel]:
    """One page of stock levels changed since the stream's cursor."""
    return await _gateway(ctx.run.plugins).list_stock_changes(request.cursor, request.page, request.limit)


@dataclass(frozen=True)
class StockRequest:
    variant_external_ids: list[str]


@step("fetch-erp-variant-stock", retry=sync_retry)
async def fetch_variant_stock(request: StockRequest, ctx: StepContext) -> list[StockLevel]:
    """The stock of the variants a delta products page listed (see :func:`_sync_stream`)."""
    return await _gateway(ctx.run.plugins).get_stock_for_sync(request.variant_external_ids)


@dataclass(frozen=True)
class StockApplyRequest:
    levels: list[StockLevel]
    dry_run: bool


@step("apply-erp-variant-stock", transactional=True)
async def apply_variant_stock(request: StockApplyRequest) -> SyncCounts:
    """Set the stock of a delta products page's variants (one transaction)."""
    return await apply_stock_page(request.levels, dry_run=request.dry_run)


FETCH_STEPS: dict[str, Step[PageRequest, Any]] = {
    "products": fetch_products_page,
    "prices": fetch_prices_page,
    "stock": fetch_stock_page,
}


@dataclass(frozen=True)
class ApplyRequest:
    sync: SyncInput
    stream: str
    page: Page[Any]
    cursor_from: str | None
    listed: frozenset[str] | None = None  # a full run's last product page: every product listed


@step("apply-erp-page", transactional=True)
async def apply_erp_page(request: ApplyRequest) -> SyncCounts:
    """Apply one page and record it (one transaction); after a stream's last page, store its cursor."""
    sync, page = request.sync, request.page
    if request.stream == "products":
        counts = await apply_product_page(page.items, dry_run=sync.dry_run)
    elif request.stream == "prices":
        counts = await apply_price_page(page.items, dry_run=sync.dry_run)
    else:
        counts = await apply_stock_page(page.items, dry_run=sync.dry_run)
    if request.listed is not None:
        archived = await archive_unlisted_products(request.listed, dry_run=sync.dry_run)
        counts = counts.plus(SyncCounts(archived=archived))
    progress = await record_page(sync.sync_run_id, request.stream, counts, next_page=page.next_page,
                                 cursor=page.cursor)
    if progress.done and not sync.dry_run:
        await save_cursor(sync.name, request.stream, progress.cursor or request.cursor_from, sync.sync_run_id)
    return counts


@step("finish-product-sync", transactional=True)
async def finish_product_sync(sync: SyncInput) -> SyncCounts:
    """Mark the SyncRun succeeded; the run's totals."""
    row = await finish_sync_run(sync.sync_run_id)
    return SyncCounts(**{name: getattr(row, name) for name in ("seen", "created", "updated", "unchanged",
                                                                "archived", "failed")})


# -------------------------------------------------------------------------------------------------
# The workflow
# -------------------------------------------------------------------------------------------------


async def _sync_stream(sync: SyncInput, stream: str, progress: StreamProgress) -> None:
    """Fetch and apply the pages of one stream, from where ``progress`` says it stopped."""
    limit = _erp(current_workflow().plugins).settings.sync_page_size  # not a step: replays alike
    fetch = FETCH_STEPS[stream]
    listed: set[str] | None = set() if sync.full and stream == "products" else None
    token, done = progress.next_page, progress.done
    while not done:
        page = await fetch(PageRequest(progress.cursor_from, token, limit))
        if listed is not None:
            listed.update(product.external_id for product in page.items)
        last = page.next_page is None
        request = ApplyRequest(sync, stream, page, progress.cursor_from,
                               frozenset(listed) if last and listed is not None else None)
        counts = await apply_erp_page(request)
        if stream == "products" and progress.cursor_from is not None:
            counts = counts.plus(await _refresh_variant_stock(sync, page.items))
        if counts.changed and not sync.dry_run:
            bump_catalog_version()
        token, done = page.next_page, last


async def _refresh_variant_stock(sync: SyncInput, products: list[ErpProduct]) -> SyncCounts:
    """A delta products page also brings its live variants' stock: a variant the store creates or
    restores may have stock no stock-stream change announces (in Odoo, a variant left active under
    an archived template comes back with it without being written). A full run reads all stock."""
    variant_ids = [variant.external_id for product in products if product.active
                   for variant in product.variants if variant.active]
    if not variant_ids:
        return SyncCounts()
    levels = await fetch_variant_stock(StockRequest(variant_ids))
    return await apply_variant_stock(StockApplyRequest(levels, sync.dry_run))


@workflow(WORKFLOW_NAME, durable=True)
async def sync_products_from_erp(sync: SyncInput) -> SyncCounts:
    """Sync products, then prices, then stock from the ERP (see the module doc)."""
    progress = await begin_product_sync(sync)
    products = progress["products"]
    if not products.done:
        await count_erp_products(CountRequest(sync.sync_run_id, products.cursor_from))
    for stream in STREAMS:
        await _sync_stream(sync, stream, progress[stream])
    return await finish_product_sync(sync)
