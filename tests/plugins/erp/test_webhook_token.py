"""POST /erp/order-updates, token form: an ERP that cannot sign (Odoo automation rules) sends its own body."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InvalidData
from core.models import Order, WebhookEvent, WorkflowRunRecord
from core.webhooks import sign
from erpcommerce_erp.contract import ErpClient, ErpOrder, OrderUpdate
from erpcommerce_erp.order_updates import sync_order_from_erp_run_id
from tests.plugins.erp.conftest import WEBHOOK_SECRET, ErpStore
from tests.plugins.erp.fake_erp import FakeErp, FakeErpOrder
from tests.plugins.erp.orders_support import make_order
from tests.polling import wait_until

PATH = "/erp/order-updates"


class OdooSaleOrder(BaseModel):
    """What an Odoo automation rule posts: the record's fields, in Odoo's terms."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    model: Literal["sale.order"] = Field(alias="_model")
    id: int
    state: str
    name: str | None = None


class OdooLikeErp(FakeErp):
    """The fake ERP speaking like Odoo: token webhooks, Odoo's sale.order states."""

    webhook_mode = "token"
    order_status_map = {"draft": "pending", "sale": "pending", "done": "completed", "cancel": "canceled"}
    fulfillment_status_map = {"done": "fulfilled"}

    def parse_order_update(self, body: bytes, *, event_id: str | None = None) -> OrderUpdate:
        try:
            record = OdooSaleOrder.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidData(f"Malformed order update: {exc.errors(include_url=False)[0]['msg']}") from None
        assert event_id is not None
        return OrderUpdate(
            event_id=event_id, external_id=str(record.id), status=record.state, metadata={"name": record.name}
        )


@pytest.fixture
def fake_erp() -> FakeErp:
    return OdooLikeErp()


@pytest.fixture
def erp_options() -> dict[str, object]:
    return {"status_map": {"sent": "requires_action", "cancel": "archived"}}


def odoo_body(state: str, record_id: int = 42, **fields: Any) -> bytes:
    return json.dumps({"_model": "sale.order", "_id": record_id, "id": record_id, "state": state, **fields}).encode()


async def post(client: TestClient, body: bytes, token: str | None = WEBHOOK_SECRET, **kwargs: Any) -> Any:
    params = {} if token is None else {"token": token}
    return await client.post(PATH, data=body, params=params, **kwargs)


async def finished_run(run_id: str) -> WorkflowRunRecord:
    async def finished() -> bool:
        return await WorkflowRunRecord.filter(id=run_id, finished_at__isnull=False).exists()

    await wait_until(finished)
    return await WorkflowRunRecord.get(id=run_id)


async def test_an_update_with_the_token_is_accepted_under_the_body_hash(
    client: TestClient, erp_store: ErpStore
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "42"})
    body = odoo_body("done", name="S00042")
    event_id = hashlib.sha256(body).hexdigest()

    resp = await post(client, body)

    assert resp.status == 202
    assert await resp.json() == {
        "event_id": event_id, "run_id": sync_order_from_erp_run_id(event_id), "status": "accepted"
    }
    assert (await finished_run(sync_order_from_erp_run_id(event_id))).state == "done"
    stored = await Order.get(id=order.id)
    assert (stored.status, stored.fulfillment_status) == ("completed", "fulfilled")  # the client's maps
    assert stored.metadata is not None and stored.metadata["erp"] == {"name": "S00042"}


async def test_settings_override_the_clients_status_map(client: TestClient, erp_store: ErpStore) -> None:
    order = await make_order(erp_store, metadata={"external_id": "42"})

    assert (await post(client, odoo_body("sent"))).status == 202
    await finished_run(sync_order_from_erp_run_id(hashlib.sha256(odoo_body("sent")).hexdigest()))
    assert (await Order.get(id=order.id)).status == "requires_action"

    assert (await post(client, odoo_body("cancel"))).status == 202
    await finished_run(sync_order_from_erp_run_id(hashlib.sha256(odoo_body("cancel")).hexdigest()))
    stored = await Order.get(id=order.id)
    assert (stored.status, stored.canceled_at) == ("archived", None)


async def test_the_same_body_again_is_a_duplicate(client: TestClient, erp_store: ErpStore) -> None:
    await make_order(erp_store, metadata={"external_id": "42"})
    body = odoo_body("sale")
    assert (await post(client, body)).status == 202

    resp = await post(client, body)

    assert resp.status == 200
    assert (await resp.json())["status"] == "duplicate"
    assert (await WebhookEvent.get(event_id=hashlib.sha256(body).hexdigest())).deliveries == 2
    assert (await post(client, odoo_body("done"))).status == 202  # a new state is a new event
    assert await WorkflowRunRecord.all().count() == 2


async def test_a_missing_or_wrong_token_is_refused_with_401(client: TestClient, erp_store: ErpStore) -> None:
    body = odoo_body("done")
    signed = {"X-Erp-Timestamp": "1700000000", "X-Erp-Signature": sign(WEBHOOK_SECRET, 1700000000, body)}
    for token, headers, message in [
        (None, None, "Missing webhook token (?token=...)"),
        ("", None, "Missing webhook token (?token=...)"),
        ("not-the-secret", None, "The webhook token is wrong"),
        (WEBHOOK_SECRET[:-1], None, "The webhook token is wrong"),
        (None, signed, "Missing webhook token (?token=...)"),  # this ERP's form is the token
    ]:
        resp = await post(client, body, token, headers=headers)
        assert resp.status == 401
        assert await resp.json() == {"type": "unauthorized", "message": message}
    assert await WebhookEvent.all().count() == 0


async def test_a_body_the_client_cannot_read_is_refused_with_400(client: TestClient, erp_store: ErpStore) -> None:
    for body in (b"<xml/>", json.dumps({"_model": "sale.order", "id": 42}).encode(), odoo_body("done")[:-1]):
        resp = await post(client, body)
        error = await resp.json()
        assert resp.status == 400, error
        assert error["type"] == "invalid_data"
    assert await WebhookEvent.all().count() == 0


async def test_an_unknown_odoo_state_fails_the_run_naming_it(client: TestClient, erp_store: ErpStore) -> None:
    await make_order(erp_store, metadata={"external_id": "42"})
    body = odoo_body("quotation_sent")

    assert (await post(client, body)).status == 202

    run = await finished_run(sync_order_from_erp_run_id(hashlib.sha256(body).hexdigest()))
    assert run.state in ("failed", "reverted")
    assert "Unknown FakeERP order status 'quotation_sent' for ERP order 42" in (run.error or "")


def erp_order(fake_erp: FakeErp, order: Order, status: str) -> None:
    """The ERP's order 42, made for ``order``, now in ``status``."""
    fake_erp.orders["42"] = FakeErpOrder("42", ErpOrder.model_construct(id=order.id), f"key-{order.id}", status)


async def accepted(client: TestClient, body: bytes) -> None:
    resp = await post(client, body)
    assert resp.status == 202, await resp.text()
    await finished_run((await resp.json())["run_id"])


async def test_a_body_repeated_after_another_update_is_rechecked_with_the_erp(
    client: TestClient, erp_store: ErpStore, fake_erp: FakeErp
) -> None:
    # Odoo's write_date has second precision: confirm, cancel, confirm within one second posts
    # the first body twice. Taken for a replay, the order would stay cancelled.
    order = await make_order(erp_store, metadata={"external_id": "42"})
    erp_order(fake_erp, order, "sale")
    confirmed = odoo_body("sale", write_date="2026-01-01 10:00:00")
    await accepted(client, confirmed)
    await accepted(client, odoo_body("cancel", write_date="2026-01-01 10:00:00"))
    assert (await Order.get(id=order.id)).status == "archived"  # this module maps cancel to archived

    resp = await post(client, confirmed)

    receipt = await resp.json()
    assert (resp.status, receipt["status"]) == (202, "rechecked")
    assert (await finished_run(receipt["run_id"])).state == "done"
    assert fake_erp.calls["list_orders_by_reference"] == 1
    stored = await Order.get(id=order.id)
    assert (stored.status, stored.canceled_at) == ("pending", None)
    assert stored.metadata is not None and stored.metadata["erp_last_update"]["status"] == "sale"

    again = await post(client, confirmed)  # a replay of the repeat: the same recheck, no new run
    assert (again.status, (await again.json())["run_id"]) == (202, receipt["run_id"])
    assert fake_erp.calls["list_orders_by_reference"] == 1
    assert await WorkflowRunRecord.all().count() == 3


async def test_a_recheck_applies_the_erps_state_not_the_repeated_body(
    client: TestClient, erp_store: ErpStore, fake_erp: FakeErp
) -> None:
    # A genuine late redelivery of the "sale" body after a cancel: the ERP says cancel, so it stays.
    order = await make_order(erp_store, metadata={"external_id": "42"})
    erp_order(fake_erp, order, "cancel")
    await accepted(client, odoo_body("sale"))
    await accepted(client, odoo_body("cancel"))

    resp = await post(client, odoo_body("sale"))

    assert (await finished_run((await resp.json())["run_id"])).state == "done"
    assert (await Order.get(id=order.id)).status == "archived"  # this module maps cancel to archived


async def test_a_recheck_the_erp_cannot_answer_fails_the_run_and_changes_nothing(
    client: TestClient, erp_store: ErpStore, fake_erp: FakeErp
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "42"})  # the ERP lists no order 42
    await accepted(client, odoo_body("sale"))
    await accepted(client, odoo_body("cancel"))

    resp = await post(client, odoo_body("sale"))

    run = await finished_run((await resp.json())["run_id"])
    assert run.state in ("failed", "reverted")
    assert f"FakeERP no longer lists order 42 for {order.id}" in (run.error or "")
    assert (await Order.get(id=order.id)).status == "archived"  # this module maps cancel to archived


async def test_without_a_way_to_read_orders_a_repeated_body_stays_a_duplicate(
    client: TestClient, erp_store: ErpStore, fake_erp: FakeErp
) -> None:
    type(fake_erp).list_orders_by_reference = ErpClient.list_orders_by_reference  # type: ignore[method-assign]
    try:
        await make_order(erp_store, metadata={"external_id": "42"})
        await accepted(client, odoo_body("sale"))
        await accepted(client, odoo_body("cancel"))

        resp = await post(client, odoo_body("sale"))
    finally:
        del type(fake_erp).list_orders_by_reference  # back to FakeErp's

    assert (resp.status, (await resp.json())["status"]) == (200, "duplicate")
    assert await WorkflowRunRecord.all().count() == 2
