"""Purchase restriction: the ERP says whether the customer's company may buy each product.

``FakeErp.allowed`` maps a product external id to the companies allowed to buy it; a product
absent from it is unknown to the ERP (allowed).
"""

from __future__ import annotations

from typing import Any

import pluggy
import pytest

from core.config import Settings
from core.models import Customer, LineItem, Order, Product, ProductVariant
from core.plugins import build_plugin_manager
from core.schemas.carts import CartResponse
from erpcommerce_erp.contract import PurchaseDecision
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin
from tests.api.store.carts_support import (
    add_item,
    checked,
    complete,
    create_cart,
    customer_token,
    error_of,
    initiate_payment,
)
from tests.plugin_fixture import erpcommerce_refuse_sku
from tests.plugins.erp.conftest import ErpStore
from tests.plugins.erp.fake_erp import FakeErp


@pytest.fixture
def erp_options() -> dict[str, object]:
    """Restriction alone (prices and stock have their own tests)."""
    return {"prices_on_line_items": False, "check_inventory": False, "recheck_prices_at_completion": False}


async def company_token(settings: Settings, company: str | None, email: str = "buyer@acme.example") -> str:
    customer_id, token = await customer_token(settings, email)
    await Customer.filter(id=customer_id).update(company_name=company)
    return token


def asked_products(fake: FakeErp) -> list[list[str]]:
    """Per check_purchase call: the product external ids asked about."""
    return [list(args[0]) for operation, args in fake.log if operation == "check_purchase"]


# -- on add --------------------------------------------------------------------------------------------


async def test_a_company_may_not_buy_a_restricted_product(
    client: Any, erp_store: ErpStore, settings: Settings
) -> None:
    erp_store.fake.allowed["T1"] = {"Globex Ltd"}
    token = await company_token(settings, "ACME GmbH")
    cart = await create_cart(client, erp_store.store, token=token)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, token=token)
    assert await error_of(resp, 400) == {"type": "not_allowed", "message": "ACME GmbH may not buy Shirt"}
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0
    customer = erp_store.fake.log[-1][1][1]
    assert (customer.email, customer.company_name) == ("buyer@acme.example", "ACME GmbH")


async def test_an_allowed_company_buys(client: Any, erp_store: ErpStore, settings: Settings) -> None:
    erp_store.fake.allowed["T1"] = {"ACME GmbH"}
    token = await company_token(settings, "ACME GmbH")
    cart = await create_cart(client, erp_store.store, token=token)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, token=token)
    assert len((await checked(resp, CartResponse))["cart"]["items"]) == 1


async def test_guests_may_not_buy_a_restricted_product(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.allowed["T1"] = {"ACME GmbH"}
    cart = await create_cart(client, erp_store.store)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_m)
    assert (await error_of(resp, 400))["message"] == "Guests may not buy Shirt"


async def test_the_erps_reason_and_company_name_are_shown(client: Any, erp_store: ErpStore, settings: Settings) -> None:
    erp_store.fake.malformed["check_purchase"] = [
        PurchaseDecision(product_external_id="T2", allowed=False, company_name="ACME GmbH (DE)", reason="export ban")
    ]
    token = await company_token(settings, "ACME GmbH")
    cart = await create_cart(client, erp_store.store, token=token)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.mug, token=token)
    assert (await error_of(resp, 400))["message"] == "ACME GmbH (DE) may not buy Mug (export ban)"


async def test_products_unknown_to_the_erp_are_allowed(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.allowed["T1"] = set()  # the shirt is restricted, the mug unknown
    cart = await create_cart(client, erp_store.store)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.mug)
    assert len((await checked(resp, CartResponse))["cart"]["items"]) == 1


async def test_products_without_external_id_are_not_asked_about(client: Any, erp_store: ErpStore) -> None:
    await ProductVariant.filter(id=erp_store.mug).update(external_id=None)
    await Product.filter(id=erp_store.store.product_ids[1]).update(external_id=None)
    cart = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.mug), CartResponse)
    assert erp_store.fake.calls["check_purchase"] == 0


async def test_several_items_are_checked_in_one_call(client: Any, erp_store: ErpStore, settings: Settings) -> None:
    erp_store.fake.allowed["T2"] = {"Globex Ltd"}
    token = await company_token(settings, "ACME GmbH")
    items = [
        {"variant_id": erp_store.shirt_s, "quantity": 1},
        {"variant_id": erp_store.shirt_m, "quantity": 1},
        {"variant_id": erp_store.mug, "quantity": 1},
    ]
    resp = await client.post("/store/carts", json={"items": items}, headers=erp_store.store.headers(token))
    assert (await error_of(resp, 400))["message"] == "ACME GmbH may not buy Mug"
    assert asked_products(erp_store.fake) == [["T1", "T2"]]


async def test_a_customer_without_company_is_named_by_email(
    client: Any, erp_store: ErpStore, settings: Settings
) -> None:
    erp_store.fake.allowed["T1"] = {"ACME GmbH"}
    token = await company_token(settings, None, email="solo@example.com")
    cart = await create_cart(client, erp_store.store, token=token)
    resp = await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, token=token)
    assert (await error_of(resp, 400))["message"] == "solo@example.com may not buy Shirt"


@pytest.mark.parametrize("erp_options", [{"restrict_purchases": False, "check_inventory": False}])
async def test_restriction_can_be_turned_off(client: Any, erp_store: ErpStore) -> None:
    erp_store.fake.allowed["T1"] = set()
    cart = await create_cart(client, erp_store.store)
    await checked(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), CartResponse)
    assert erp_store.fake.calls["check_purchase"] == 0


# -- the ERP failing -----------------------------------------------------------------------------------


async def test_erp_down_is_503_and_writes_nothing(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.down = True
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == "FakeERP could not be reached (check_purchase): connect to FakeERP refused"
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


@pytest.mark.parametrize("erp_options", [{"timeout_seconds": 0.05, "check_inventory": False}])
async def test_erp_too_slow_is_503(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.delay = 0.5
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == "FakeERP did not answer within 0.05 s (check_purchase); try again later"
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ({"T1": True}, "expected a list of PurchaseDecision, got dict"),
        ([PurchaseDecision(product_external_id="T9", allowed=True)], "a decision for T9, which was not asked for"),
    ],
)
async def test_malformed_erp_answers_are_503(client: Any, erp_store: ErpStore, answer: Any, detail: str) -> None:
    cart = await create_cart(client, erp_store.store)
    erp_store.fake.malformed["check_purchase"] = answer
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s), 503)
    assert body["message"] == f"FakeERP answered check_purchase with malformed data: {detail}"


# -- at completion ---------------------------------------------------------------------------------


async def test_completion_is_refused_when_the_erp_restricted_the_product_meanwhile(
    client: Any, erp_store: ErpStore, settings: Settings
) -> None:
    token = await company_token(settings, "ACME GmbH")
    items = [{"variant_id": erp_store.shirt_s, "quantity": 1}, {"variant_id": erp_store.mug, "quantity": 1}]
    cart = await create_cart(client, erp_store.store, token=token, items=items)
    await initiate_payment(client, erp_store.store, cart["id"], token=token)
    erp_store.fake.allowed["T2"] = {"Globex Ltd"}
    erp_store.fake.log.clear()
    body = await error_of(await complete(client, erp_store.store, cart["id"], token=token), 400)
    assert body == {"type": "not_allowed", "message": "ACME GmbH may not buy Mug"}
    assert asked_products(erp_store.fake) == [["T1", "T2"]]
    assert await Order.filter(cart_id=cart["id"]).count() == 0
    # allowed again: the cart completes (the refusal released the completion lease)
    erp_store.fake.allowed["T2"].add("ACME GmbH")
    assert (await complete(client, erp_store.store, cart["id"], token=token)).status == 200


async def test_completion_with_the_erp_down_is_503_and_places_no_order(client: Any, erp_store: ErpStore) -> None:
    cart = await create_cart(client, erp_store.store, items=[{"variant_id": erp_store.shirt_s, "quantity": 1}])
    await initiate_payment(client, erp_store.store, cart["id"])
    erp_store.fake.down = True
    body = await error_of(await complete(client, erp_store.store, cart["id"]), 503)
    assert "check_purchase" in body["message"]
    assert await Order.filter(cart_id=cart["id"]).count() == 0


# -- two restricting plugins -----------------------------------------------------------------------


@pytest.fixture
def plugins(settings: Settings, erp_plugin: ErpPlugin, fake_erp: FakeErp) -> pluggy.PluginManager:
    """The ERP plugin and the SKU-refusing test plugin, both restricting carts."""
    return build_plugin_manager(
        settings,
        load_entry_points=False,
        extra_plugins=((erp_plugin, PLUGIN_NAME), fake_erp, erpcommerce_refuse_sku),
    )


async def test_two_restricting_plugins_both_run(client: Any, erp_store: ErpStore, settings: Settings) -> None:
    await ProductVariant.filter(id=erp_store.mug).update(sku=erpcommerce_refuse_sku.FORBIDDEN_SKU)
    erp_store.fake.allowed["T1"] = {"Globex Ltd"}
    token = await company_token(settings, "ACME GmbH")
    cart = await create_cart(client, erp_store.store, token=token)
    # the ERP allows the mug (unknown to it): the SKU plugin refuses it
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.mug, token=token), 400)
    forbidden = erpcommerce_refuse_sku.FORBIDDEN_SKU
    assert body["message"] == f"Variant {erp_store.mug} ({forbidden}) may not be added to a cart"
    # the SKU plugin allows the shirt: the ERP refuses it
    body = await error_of(await add_item(client, erp_store.store, cart["id"], erp_store.shirt_s, token=token), 400)
    assert body["message"] == "ACME GmbH may not buy Shirt"
    # the SKU plugin (registered last) runs first: only the shirt reached the ERP
    assert asked_products(erp_store.fake) == [["T1"]]
    assert await LineItem.filter(cart_id=cart["id"]).count() == 0
