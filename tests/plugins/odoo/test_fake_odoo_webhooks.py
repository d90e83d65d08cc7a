"""The fake Odoo posts automation-rule webhooks when a sale.order changes state."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .fake_odoo_support import DB, PASSWORD, create_app, fake_of, jsonrpc_body


class Receiver:
    """An aiohttp app recording posts; answers ``fail_first`` 503s before 200s."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = fail_first
        self.app = web.Application()
        self.app.router.add_post("/erp/order-updates", self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        if self.fail_first:
            self.fail_first -= 1
            return web.Response(status=503)
        self.posts.append((request.query.get("token", ""), json.loads(await request.read())))
        return web.Response(status=202)


async def start(aiohttp_server: Any, aiohttp_client: Any, receiver: Receiver, **options: Any) -> Any:
    target = await aiohttp_server(receiver.app)
    url = str(target.make_url("/erp/order-updates")) + "?token=s3cret"
    return await aiohttp_client(create_app("demo", webhook_url=url, webhook_backoff=0.01, **options))


async def execute_kw(client: Any, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
    params = {"service": "object", "method": "execute_kw", "args": [DB, 2, PASSWORD, model, method, args, kwargs or {}]}
    body = await (await client.post("/jsonrpc", json=jsonrpc_body(params))).json()
    assert "error" not in body, body
    return body.get("result")


async def new_order(client: Any) -> int:
    return int(await execute_kw(client, "sale.order", "create", [{
        "partner_id": 6, "client_order_ref": "order_01WEB", "order_line": [(0, 0, {"product_id": 7})],
    }]))


async def test_state_changes_are_posted_as_automation_rule_bodies(aiohttp_server: Any, aiohttp_client: Any) -> None:
    receiver = Receiver()
    client = await start(aiohttp_server, aiohttp_client, receiver)
    order = await new_order(client)
    await execute_kw(client, "sale.order", "write", [[order], {"note": "no state change"}])
    await execute_kw(client, "sale.order", "action_confirm", [[order]])
    await execute_kw(client, "sale.order", "action_cancel", [[order]])
    await fake_of(client.app).webhooks.join()
    assert [post[0] for post in receiver.posts] == ["s3cret", "s3cret"]
    first = receiver.posts[0][1]
    assert first["_model"] == "sale.order" and first["_id"] == first["id"] == order
    assert first["state"] == "sale" and first["client_order_ref"] == "order_01WEB" and first["name"].startswith("S")
    assert receiver.posts[1][1]["state"] == "cancel"


async def test_failed_deliveries_are_retried(aiohttp_server: Any, aiohttp_client: Any) -> None:
    receiver = Receiver(fail_first=2)
    client = await start(aiohttp_server, aiohttp_client, receiver)
    await execute_kw(client, "sale.order", "action_confirm", [[await new_order(client)]])
    await fake_of(client.app).webhooks.join()
    [delivery] = fake_of(client.app).webhooks.deliveries
    assert delivery.delivered and delivery.attempts == 3 and delivery.statuses == [503, 503, 202]
    assert len(receiver.posts) == 1


async def test_unreachable_target_gives_up_without_failing_the_rpc_call(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app("demo", webhook_url="http://127.0.0.1:9/nowhere", webhook_backoff=0.01,
                                             webhook_attempts=2))
    assert await execute_kw(client, "sale.order", "action_confirm", [[await new_order(client)]]) is True
    await fake_of(client.app).webhooks.join()
    [delivery] = fake_of(client.app).webhooks.deliveries
    assert not delivery.delivered and delivery.attempts == 2 and delivery.error


async def test_webhook_url_is_set_through_the_admin_endpoint(aiohttp_server: Any, aiohttp_client: Any) -> None:
    receiver = Receiver()
    target = await aiohttp_server(receiver.app)
    client = await aiohttp_client(create_app("demo"))
    await execute_kw(client, "sale.order", "action_confirm", [[await new_order(client)]])
    url = str(target.make_url("/erp/order-updates")) + "?token=t0ken"
    response = await client.post("/fake/webhook", json={"url": url})
    assert (await response.json())["url"] == url
    assert (await client.post("/fake/webhook", json={"url": "ftp://x"})).status == 400
    await execute_kw(client, "sale.order", "action_confirm", [[await new_order(client)]])
    await fake_of(client.app).webhooks.join()
    assert [token for token, _ in receiver.posts] == ["t0ken"]
    state = await (await client.get("/fake/webhook")).json()
    assert state["deliveries"][0]["delivered"] is True
