"""POST /erp/order-updates, signed form: verified on the raw body, recorded once, applied by a durable run."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pluggy
import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from core.app import create_app
from core.config import ErpSettings, ServerSettings, Settings
from core.models import Order, WebhookEvent, WorkflowRunRecord
from core.plugins import build_plugin_manager
from core.webhooks import sign, webhook_figures
from erpcommerce_erp.order_updates import SYNC_ORDER_FROM_ERP, sync_order_from_erp_run_id
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin
from tests.plugins.erp.conftest import WEBHOOK_SECRET, ErpStore
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.orders_support import make_order
from tests.polling import wait_until

PATH = "/erp/order-updates"


def order_update(
    status: str = "completed", event_id: str = "evt_1", external_id: str | int = "7", **order: Any
) -> bytes:
    body = {"event_id": event_id, "type": "order.updated", "order": {"external_id": external_id, "status": status}}
    body["order"].update(order)  # type: ignore[attr-defined]
    return json.dumps(body).encode()


def signed_headers(body: bytes, *, timestamp: int | None = None, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    sent_at = int(time.time()) if timestamp is None else timestamp
    return {"X-Erp-Timestamp": str(sent_at), "X-Erp-Signature": sign(secret, sent_at, body)}


async def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return await client.post(PATH, data=body, headers=signed_headers(body) if headers is None else headers)


async def finished_run(run_id: str) -> WorkflowRunRecord:
    async def finished() -> bool:
        return await WorkflowRunRecord.filter(id=run_id, finished_at__isnull=False).exists()

    await wait_until(finished)
    return await WorkflowRunRecord.get(id=run_id)


async def nothing_recorded() -> bool:
    return await WebhookEvent.all().count() == 0 and await WorkflowRunRecord.all().count() == 0


# -------------------------------------------------------------------------------------------------
# Accepted
# -------------------------------------------------------------------------------------------------


async def test_a_signed_update_is_accepted_then_applied(client: TestClient, erp_store: ErpStore) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})
    body = order_update("completed", fulfillment_status="shipped", metadata={"tracking": "1Z999"})

    resp = await post(client, body)  # no publishable key, no bearer token

    assert resp.status == 202
    run_id = sync_order_from_erp_run_id("evt_1")
    assert await resp.json() == {"event_id": "evt_1", "run_id": run_id, "status": "accepted"}
    event = await WebhookEvent.get(event_id="evt_1")
    assert (event.source, event.kind, event.subject, event.run_id, event.deliveries) == (
        "erp", "order.updated", "7", run_id, 1
    )
    run = await finished_run(run_id)
    assert (run.workflow_name, run.state) == (SYNC_ORDER_FROM_ERP, "done")
    stored = await Order.get(id=order.id)
    assert (stored.status, stored.fulfillment_status) == ("completed", "shipped")
    assert stored.metadata is not None and stored.metadata["erp"] == {"tracking": "1Z999"}


async def test_a_numeric_erp_order_id_is_read_as_text(client: TestClient, erp_store: ErpStore) -> None:
    order = await make_order(erp_store, metadata={"external_id": "42"})
    resp = await post(client, order_update("canceled", external_id=42))
    assert resp.status == 202
    assert (await finished_run(sync_order_from_erp_run_id("evt_1"))).state == "done"
    stored = await Order.get(id=order.id)
    assert stored.status == "canceled" and stored.canceled_at is not None


async def test_a_replayed_event_is_answered_200_without_effect(client: TestClient, erp_store: ErpStore) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})
    body = order_update("completed")
    assert (await post(client, body)).status == 202
    await finished_run(sync_order_from_erp_run_id("evt_1"))
    await Order.filter(id=order.id).update(status="requires_action")  # an operator's change since
    duplicates = webhook_figures()["erp"].duplicates

    resp = await post(client, body)

    assert resp.status == 200
    assert await resp.json() == {
        "event_id": "evt_1", "run_id": sync_order_from_erp_run_id("evt_1"), "status": "duplicate"
    }
    assert (await WebhookEvent.get(event_id="evt_1")).deliveries == 2
    assert await WorkflowRunRecord.filter(workflow_name=SYNC_ORDER_FROM_ERP).count() == 1
    assert (await Order.get(id=order.id)).status == "requires_action"
    assert webhook_figures()["erp"].duplicates == duplicates + 1


async def test_two_identical_deliveries_at_once_are_accepted_once(client: TestClient, erp_store: ErpStore) -> None:
    await make_order(erp_store, metadata={"external_id": "7"})
    body = order_update("completed", event_id="evt_race")
    headers = signed_headers(body)

    first, second = await asyncio.gather(post(client, body, headers), post(client, body, headers))

    assert sorted([first.status, second.status]) == [200, 202]
    assert sorted([(await first.json())["status"], (await second.json())["status"]]) == ["accepted", "duplicate"]
    assert (await WebhookEvent.get(event_id="evt_race")).deliveries == 2
    assert (await finished_run(sync_order_from_erp_run_id("evt_race"))).state == "done"
    assert await WorkflowRunRecord.filter(workflow_name=SYNC_ORDER_FROM_ERP).count() == 1


@pytest.mark.parametrize("erp_options", [{"order_update_max_retries": 0}])
async def test_an_update_for_an_unknown_order_is_accepted_and_its_run_fails(
    client: TestClient, erp_store: ErpStore
) -> None:
    await make_order(erp_store, metadata={"external_id": "7"})

    assert (await post(client, order_update("completed", external_id="999"))).status == 202

    run = await finished_run(sync_order_from_erp_run_id("evt_1"))
    assert run.state in ("failed", "reverted")
    assert "FakeERP order 999 matches no store order" in (run.error or "")


async def test_an_update_with_an_unknown_status_is_accepted_and_its_run_fails(
    client: TestClient, erp_store: ErpStore
) -> None:
    order = await make_order(erp_store, metadata={"external_id": "7"})

    assert (await post(client, order_update("quotation"))).status == 202

    run = await finished_run(sync_order_from_erp_run_id("evt_1"))
    assert run.state in ("failed", "reverted")
    assert "Unknown FakeERP order status 'quotation' for ERP order 7" in (run.error or "")
    assert (await Order.get(id=order.id)).status == "pending"


# -------------------------------------------------------------------------------------------------
# Refused
# -------------------------------------------------------------------------------------------------


async def test_bad_credentials_are_refused_with_401(client: TestClient, erp_store: ErpStore) -> None:
    body = order_update()
    now = int(time.time())
    before = webhook_figures().get("erp")
    cases = {
        "bad_signature": signed_headers(body, secret="not-the-secret"),
        "stale_timestamp": signed_headers(body, timestamp=now - 301),
        "missing_signature": {"X-Erp-Timestamp": str(now)},
        "malformed_signature": {"X-Erp-Timestamp": str(now), "X-Erp-Signature": "v1=deadbeef"},
    }
    for reason, headers in cases.items():
        resp = await post(client, body, headers)
        error = await resp.json()
        assert resp.status == 401, (reason, error)
        assert error["type"] == "unauthorized" and error["message"], reason

    other_body = order_update(event_id="evt_other")
    resp = await post(client, body, signed_headers(other_body))  # a signature of another body
    assert resp.status == 401
    assert (await resp.json())["message"] == "The webhook signature does not match the body"
    resp = await client.post(PATH, data=body)
    assert (await resp.json())["message"] == "Missing webhook timestamp or signature header"
    assert await nothing_recorded()
    rejected = webhook_figures()["erp"].rejected
    for reason in cases:
        assert rejected[reason] >= (before.rejected[reason] if before else 0) + 1


async def test_the_default_tolerance_is_five_minutes(client: TestClient, erp_store: ErpStore) -> None:
    await make_order(erp_store, metadata={"external_id": "7"})
    body = order_update()
    resp = await post(client, body, signed_headers(body, timestamp=int(time.time()) - 280))
    assert resp.status == 202


async def test_an_empty_webhook_secret_refuses_every_call(
    aiohttp_client: Any, settings: Settings, erp_store: ErpStore, fake_erp: FakeErp
) -> None:
    unset = settings.model_copy(update={"erp": ErpSettings(webhook_secret="")})
    pm = build_plugin_manager(unset, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME), fake_erp))
    client = await aiohttp_client(create_app(unset, pm, manage_database=False))
    body = order_update()

    resp = await post(client, body, signed_headers(body, secret=""))

    assert resp.status == 401
    assert await resp.json() == {
        "type": "unauthorized",
        "message": "Webhooks from erp are refused: [erp] webhook_secret is not configured",
    }
    assert await nothing_recorded()


async def test_malformed_bodies_are_refused_with_400(client: TestClient, erp_store: ErpStore) -> None:
    malformed = webhook_figures().get("erp")
    before = malformed.rejected["malformed"] if malformed else 0
    bodies = [
        b"{not json",
        b"",
        b"[]",
        json.dumps({"type": "order.updated", "order": {"external_id": "7", "status": "completed"}}).encode(),
        json.dumps({"event_id": "evt_1", "type": "order.updated", "order": {"external_id": "7"}}).encode(),
        json.dumps({"event_id": "e", "type": "order.deleted", "order": {"external_id": "7", "status": "x"}}).encode(),
    ]
    for body in bodies:
        resp = await post(client, body)
        error = await resp.json()
        assert resp.status == 400, (body, error)
        assert error["type"] == "invalid_data"
        assert error["message"].startswith("Malformed order update: "), error
    assert "event_id: Field required" in (await (await post(client, bodies[3])).json())["message"]
    assert await nothing_recorded()
    assert webhook_figures()["erp"].rejected["malformed"] == before + len(bodies) + 1


@pytest.mark.parametrize(
    "fields",
    [{"event_id": "evt\u0000nul"}, {"order": {"external_id": "7", "status": "comp\u0000leted"}},
     {"order": {"external_id": "7", "status": "completed", "metadata": {"note\u0000": "x"}}}],
)
async def test_a_value_with_a_nul_character_is_refused_with_400(
    client: TestClient, erp_store: ErpStore, fields: dict[str, object]
) -> None:
    # found by scripts/drill_webhook.py: PostgreSQL cannot store U+0000, it was a 500 there
    payload = {"event_id": "evt_nul", "type": "order.updated", "order": {"external_id": "7", "status": "completed"}}
    resp = await post(client, json.dumps({**payload, **fields}).encode())
    error = await resp.json()
    assert resp.status == 400 and error["message"].endswith("contains a NUL character"), error
    assert await nothing_recorded()


async def test_the_signature_is_checked_before_the_body_is_parsed(client: TestClient, erp_store: ErpStore) -> None:
    resp = await post(client, b"{not json", {"X-Erp-Timestamp": "1", "X-Erp-Signature": "sha256=00"})
    assert resp.status == 401


async def test_a_body_over_the_size_limit_is_refused_with_413(
    aiohttp_client: Any, settings: Settings, plugins: pluggy.PluginManager, erp_store: ErpStore
) -> None:
    small = settings.model_copy(update={"server": ServerSettings(max_body_bytes=2048)})
    client = await aiohttp_client(create_app(small, plugins, manage_database=False))
    body = order_update(metadata={"padding": "x" * 4096})

    resp = await post(client, body)

    assert resp.status == 413
    assert await resp.json() == {"type": "invalid_data", "message": "Request body too large"}
    assert await nothing_recorded()


async def test_without_an_erp_client_the_route_answers_404(
    aiohttp_client: Any, settings: Settings, erp_store: ErpStore
) -> None:
    pm = build_plugin_manager(settings, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME),))
    client = await aiohttp_client(create_app(settings, pm, manage_database=False))
    resp = await post(client, order_update())
    assert resp.status == 404
    assert (await resp.json())["message"] == "No ERP plugin is installed: order updates cannot be received"


# -------------------------------------------------------------------------------------------------
# Documentation
# -------------------------------------------------------------------------------------------------


async def test_the_route_is_documented_as_public(client: TestClient) -> None:
    document = await (await client.get("/openapi.json")).json()
    validate(document)
    operation = document["paths"][PATH]["post"]
    assert "security" not in operation
    assert operation["x-access"] == "public"
    assert operation["tags"] == ["ERP"]
    assert operation["summary"] == "Receive an order update from the ERP"
    assert "X-Erp-Signature" in operation["description"]
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderUpdateReceipt"
    }
    assert set(operation["responses"]) == {"202", "400", "401", "404", "413"}
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
