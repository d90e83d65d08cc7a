"""Helpers for the order sync tests: orders made directly, a durable engine the test drives itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pluggy
import pytest

from core.config import Settings
from core.models import Customer, Order, OrderItem, ProductVariant, WorkflowRunRecord
from core.workflows.durable import Engine, set_engine
from tests.plugins.erp.conftest import ErpStore
from tests.workflows.durable_support import RecordingExecutor, make_engine
from tests.polling import wait_until

__all__ = [
    "DrivenEngine",
    "driven_engine",
    "make_order",
    "run_of",
]

ADDRESS = {
    "id": "addr_1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines Ltd",
    "address_1": "1 Engine Street",
    "address_2": None,
    "city": "Berlin",
    "postal_code": "10115",
    "province": None,
    "country_code": "de",
    "phone": "+49 30 1234",
    "metadata": {"floor": 2},
}


class DrivenEngine:
    """The process's durable engine, whose runs the test executes itself (:meth:`run_all`)."""

    def __init__(self, engine: Engine, executor: RecordingExecutor) -> None:
        self.engine = engine
        self.executor = executor

    async def run_all(self) -> list[str]:
        """Execute every submitted run, and the runs those submit, until none is left; their ids."""
        executed: list[str] = []
        while self.executor.submitted:
            run_id = self.executor.submitted.pop(0)
            await self.engine.execute(run_id)
            executed.append(run_id)
        return executed


@pytest.fixture
async def driven_engine(settings: Settings, plugins: pluggy.PluginManager, db: None) -> AsyncIterator[DrivenEngine]:
    """An engine set as the process's (``get_engine()``), with fast compensation retries."""
    engine = make_engine(settings, plugins)
    executor = RecordingExecutor()
    engine.executor = executor
    set_engine(engine)
    try:
        yield DrivenEngine(engine, executor)
    finally:
        set_engine(None)


async def make_order(
    erp_store: ErpStore,
    items: list[tuple[str, int]] | None = None,
    *,
    metadata: dict[str, Any] | None = None,
    customer: Customer | None = None,
) -> Order:
    """A placed order of ``items`` (variant id, quantity); default one Shirt S and two Mugs."""
    items = items if items is not None else [(erp_store.shirt_s, 1), (erp_store.mug, 2)]
    display_id = await Order.all().count() + 1
    order = await Order.create(
        display_id=display_id,
        currency_code="eur",
        email=customer.email if customer else "guest@example.com",
        customer_id=customer.id if customer else None,
        region_id=erp_store.store.region_id,
        total=Decimal(0),
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        metadata=metadata,
    )
    total = Decimal(0)
    for variant_id, quantity in items:
        variant = await ProductVariant.get(id=variant_id).prefetch_related("product")
        price = erp_store.store.prices[variant_id]
        total += price * quantity
        await OrderItem.create(
            order=order,
            title=variant.product.title,
            quantity=quantity,
            unit_price=price,
            variant_id=variant.id,
            product_id=variant.product.id,
            product_title=variant.product.title,
            variant_title=variant.title,
            variant_sku=variant.sku,
        )
    order.total = total
    await order.save(update_fields=["total"])
    return order


async def run_of(run_id: str) -> WorkflowRunRecord:
    return await WorkflowRunRecord.get(id=run_id)


