"""The README's minimal client plugin (section "A minimal client plugin"), executed as written.

Its code block is loaded as a module and driven through the erp plugin against a small Acme API
served by aiohttp, so the example in the README stays a working client.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import pluggy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.config import Settings
from core.errors import ErpUnavailable, PermanentError
from core.plugins import build_plugin_manager
from erpcommerce_erp.contract import ErpOrder, PriceRequest
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin, erp_plugin
from tests.plugins.erp.conftest import ErpStore

README = Path(__file__).resolve().parents[3] / "README.md"
TOKEN = "secret-token"


def readme_client_module() -> types.ModuleType:
    text = README.read_text(encoding="utf-8")
    section = text.split("### A minimal client plugin", 1)[1]
    code = re.search(r"```python\n(# acme_erp\.py.*?)```", section, re.DOTALL)
    assert code is not None, "the README has no acme_erp.py example"
    module = types.ModuleType("acme_erp")
    exec(compile(code.group(1), "README.md:acme_erp.py", "exec"), module.__dict__)  # noqa: S102
    return module


PRODUCT = {
    "external_id": "T1",
    "title": "Shirt",
    "options": [{"title": "Size", "values": ["S"]}],
    "variants": [{"external_id": "V1", "title": "S", "sku": "SHIRT-S", "options": {"Size": "S"}}],
}


def acme_api(received: list[tuple[str, Any]]) -> web.Application:
    """Acme's API: the answers the README client expects, every call recorded."""
    orders: dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        received.append((request.path, body))
        path = request.path
        if path == "/products/changes":
            return web.json_response({"items": [PRODUCT], "next": None, "cursor": "c1"})
        if path in ("/prices/changes", "/stock/changes"):
            return web.json_response({"items": [], "next": None, "cursor": "c1"})
        if path == "/prices":
            quotes = [
                {"variant_external_id": line["variant_external_id"], "quantity": line["quantity"],
                 "unit_price": "7.25", "currency_code": body["currency"]}
                for line in body["lines"]
            ]
            return web.json_response({"quotes": quotes})
        if path == "/permissions":
            return web.json_response({"decisions": [{"product_external_id": p, "allowed": True} for p in body["products"]]})
        if path == "/stock":
            levels = [{"variant_external_id": v, "qty_available": 50} for v in body["variants"]]
            return web.json_response({"levels": levels})
        if path == "/orders":
            number = orders.setdefault(body["key"], len(orders) + 1)
            return web.json_response({"id": number, "number": f"SO{number:03}", "status": "confirmed"})
        if path.endswith("/cancel"):
            return web.json_response({"ok": True})
        if path == "/broken":
            return web.json_response({}, status=503)
        return web.json_response({"error": "not found"}, status=404)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    return app


@pytest.fixture
async def acme(settings: Settings) -> Any:
    received: list[tuple[str, Any]] = []
    server = TestServer(acme_api(received))
    await server.start_server()
    module = readme_client_module()

    class LocalAcme(module.AcmePlugin):  # type: ignore[name-defined,misc]
        @module.erp_hookimpl
        def erp_client(self) -> Any:
            return module.AcmeClient(str(server.make_url("")).rstrip("/"), TOKEN)

    pm = build_plugin_manager(
        settings, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME), LocalAcme())
    )
    gateway = erp_plugin(pm).gateway
    assert gateway is not None
    yield types.SimpleNamespace(pm=pm, gateway=gateway, received=received)
    await server.close()


@pytest.fixture
async def started(acme: Any) -> Any:
    """The client started as a process would (the app does it itself through the startup hook)."""
    await acme.gateway.client.start()
    yield acme
    await acme.gateway.client.close()


@pytest.fixture
def plugins(acme: Any) -> pluggy.PluginManager:
    return acme.pm  # type: ignore[no-any-return]


async def test_the_readme_client_answers_every_use_case(started: Any) -> None:
    acme = started
    gateway = acme.gateway
    page = await gateway.list_products(None, None, 100)
    assert [product.external_id for product in page.items] == ["T1"] and page.cursor == "c1"
    assert (await gateway.list_price_changes(None, None, 100)).items == []
    assert (await gateway.list_stock_changes(None, None, 100)).items == []
    quotes = await gateway.get_prices([PriceRequest(variant_external_id="V1", quantity=3)], "eur", None)
    assert str(quotes[("V1", 3)].unit_price) == "7.25"
    assert (await gateway.check_purchase(["T1"], None))["T1"].allowed
    assert (await gateway.get_stock(["V1"]))["V1"].qty_available == 50
    order = ErpOrder(id="order_1", display_id=1, currency_code="eur", items=[], total=0, created_at="2026-01-01T00:00:00Z")
    first = await gateway.create_order(order, "run:create-erp-order")
    again = await gateway.create_order(order, "run:create-erp-order")
    assert first == again and first.name == "SO001"
    await gateway.cancel_order(first.external_id, "run:create-erp-order:cancel")
    assert acme.received[-1][0] == "/orders/1/cancel"


async def test_the_readme_client_maps_acme_errors(started: Any) -> None:
    client = started.gateway.client
    with pytest.raises(ErpUnavailable, match="503"):
        await client._post("/broken", {})
    with pytest.raises(PermanentError, match="refused /nowhere"):
        await client._post("/nowhere", {})


async def test_a_custom_line_item_gets_the_readme_clients_price(client: Any, erp_store: ErpStore, acme: Any) -> None:
    store = erp_store.store
    cart = (await (await client.post("/store/carts", json={}, headers=store.headers())).json())["cart"]
    resp = await client.post(
        f"/store/carts/{cart['id']}/custom-line-items",
        json={"variant_id": erp_store.shirt_s, "quantity": 2},
        headers=store.headers(),
    )
    assert resp.status == 200, await resp.text()
    (item,) = (await resp.json())["cart"]["items"]
    assert (item["unit_price"], item["is_custom_price"]) == (7.25, True)
    assert sorted(path for path, _ in acme.received) == ["/permissions", "/prices", "/stock"]  # one call each
