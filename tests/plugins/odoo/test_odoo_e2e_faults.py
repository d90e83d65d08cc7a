"""The fake Odoo's faults over HTTP: what a storefront call and a durable run make of each.

- transient (a serialization failure Odoo gave up retrying, HTTP 502 from a proxy, HTTP 429, an
  answer slower than ``[plugins.erp] timeout_seconds``): the storefront call fails closed with 503
  and writes nothing (nobody retries it but the shopper); a durable run's step is retried with
  backoff and the run succeeds;
- credentials (a wrong password, AccessDenied on object calls): a configuration error, never
  retried: the run fails at once, naming ``[plugins.odoo]``.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.models import LineItem, SyncRun, WorkflowStepRecord
from core.schemas.carts import CartResponse
from erpcommerce_odoo.fake_odoo import FakeOdoo
from tests.api.store.carts_support import add_item, checked, create_cart, error_of
from tests.plugins.odoo.e2e_support import (  # noqa: F401 - fixtures
    OdooStore,
    fake,
    odoo_options,
    odoo_server,
    odoo_store,
    plugins,
    settings,
    sync,
)

TRANSIENT = ["serialization_failure", "http_502", "http_429"]


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"timeout_seconds": 0.3, "sync_max_retries": 3, "sync_backoff_seconds": 0.01}


async def add_lamp(client: TestClient, odoo_store: OdooStore, cart: dict[str, Any]) -> Any:
    return await add_item(client, odoo_store.store, cart["id"], await odoo_store.variant("LAMP"), 2)


async def attempts(row: SyncRun, step: str) -> list[int]:
    """The attempts of each of the sync run's steps called ``step``."""
    return [s.attempts for s in await WorkflowStepRecord.filter(run_id=row.run_id, name=step).order_by("seq")]


# -------------------------------------------------------------------------------------------------
# Transient faults
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_transient_fault_fails_a_storefront_call_with_503_and_writes_nothing(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, fault: str
) -> None:
    cart = await create_cart(client, odoo_store.store)
    fake.faults.set(fault, times=1)

    body = await error_of(await add_lamp(client, odoo_store, cart), 503)

    assert body["type"] == "unexpected_state"
    assert body["message"].startswith("Odoo ")
    assert fake.faults.fired[fault] == 1
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0
    # nothing retried it behind the shopper's back; the shopper's retry goes through
    (line,) = (await checked(await add_lamp(client, odoo_store, cart), CartResponse))["cart"]["items"]
    assert line["quantity"] == 2


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_transient_fault_is_retried_by_the_sync_run(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo, fault: str
) -> None:
    fake.faults.set(fault, times=1, model="product.template", method="search_read")
    fake.call("product.template", "write", [odoo_store.template_id("LAMP")], {"name": "Desk Lamp Pro"})

    row = await sync(client)

    assert row.state == "succeeded", row.error
    assert fake.faults.fired[fault] == 1
    assert (await attempts(row, "fetch-erp-products-page"))[0] == 2
    assert row.updated >= 1


async def test_an_answer_slower_than_the_timeout_is_503(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    cart = await create_cart(client, odoo_store.store)
    fake.faults.set("slow", times=1, seconds=1.0)

    body = await error_of(await add_lamp(client, odoo_store, cart), 503)

    assert body["type"] == "unexpected_state"
    assert "Odoo did not answer within 0.3 s" in body["message"]
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


class TestSlowSyncPages:
    """A page slower than Odoo's own call timeout is retried by the run."""

    @pytest.fixture
    def odoo_options(self) -> dict[str, object]:
        return {"timeout_seconds": 0.3}

    async def test_a_slow_page_is_retried(self, client: TestClient, odoo_store: OdooStore, fake: FakeOdoo) -> None:
        fake.faults.set("slow", times=1, seconds=0.6, model="product.template", method="search_read")
        row = await sync(client)
        assert row.state == "succeeded", row.error
        assert (await attempts(row, "fetch-erp-products-page"))[0] == 2


# -------------------------------------------------------------------------------------------------
# Credentials
# -------------------------------------------------------------------------------------------------


async def test_access_denied_is_a_configuration_error_that_is_not_retried(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    fake.faults.set("access_denied")  # every object call, as for a revoked API key

    row = await sync(client)

    assert row.state == "failed"
    assert "Odoo refused the credentials of [plugins.odoo]" in (row.error or "")
    assert await attempts(row, "count-erp-products") == [1]
    assert await WorkflowStepRecord.filter(run_id=row.run_id, name="fetch-erp-products-page").count() == 0


async def test_access_denied_refuses_a_storefront_call_without_writing(
    client: TestClient, odoo_store: OdooStore, fake: FakeOdoo
) -> None:
    cart = await create_cart(client, odoo_store.store)
    fake.faults.set("access_denied")
    body = await error_of(await add_lamp(client, odoo_store, cart), 503)
    # The storefront sees the ERP unavailable; the operator finds the configuration error in the log.
    assert body == {
        "type": "unexpected_state",
        "message": "Odoo is unavailable (check_purchase): the store's connection to it is misconfigured",
    }
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


class TestAWrongPassword:
    @pytest.fixture
    def odoo_options(self) -> dict[str, object]:
        return {"password": "not-the-password"}

    async def test_the_sync_fails_at_once_naming_the_setting(self, client: TestClient, fake: FakeOdoo) -> None:
        row = await sync(client)

        assert row.state == "failed"
        assert "Odoo refused login 'admin' on database 'demo'" in (row.error or "")
        assert "[plugins.odoo]" in (row.error or "")
        assert await attempts(row, "count-erp-products") == [1]
        assert fake.faults.fired == {}
