"""The ERP plugin's metrics on ``GET /metrics``: every ERP call timed, failures counted by kind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.store.carts_support import create_cart
from tests.api.metrics_support import scrape, value
from tests.plugins.erp.conftest import ErpStore

ONLY_PRICES = {"restrict_purchases": False, "check_inventory": False, "timeout_seconds": 0.2}


@pytest.fixture
def erp_options() -> dict[str, object]:
    return dict(ONLY_PRICES)


async def add_custom(client: Any, erp_store: ErpStore, cart_id: str) -> int:
    response = await client.post(
        f"/store/carts/{cart_id}/custom-line-items",
        json={"variant_id": erp_store.shirt_s, "quantity": 1},
        headers=erp_store.store.headers(),
    )
    return int(response.status)


async def test_erp_calls_are_timed_and_their_failures_counted_by_kind(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    before = await scrape(client)

    assert await add_custom(client, erp_store, cart["id"]) == 200
    erp_store.fake.fail("get_prices", ConnectionResetError("connection reset by peer"))
    assert await add_custom(client, erp_store, cart["id"]) == 503
    erp_store.fake.fail("get_prices", asyncio.TimeoutError())  # the ERP's own timeout, seen as one
    assert await add_custom(client, erp_store, cart["id"]) == 503
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("erpcommerce_erp_call_duration_seconds_count", operation="get_prices") == 3
    assert grew("erpcommerce_erp_call_errors_total", operation="get_prices", error="unavailable") == 1
    assert grew("erpcommerce_erp_call_errors_total", operation="get_prices", error="timeout") == 1
    assert grew("erpcommerce_erp_call_duration_seconds_bucket", operation="get_prices", le="+Inf") == 3
