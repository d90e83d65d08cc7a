"""``/store/carts``: create, retrieve and update carts; ``/store/shipping-options``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise import timezone

from core.countries import ensure_countries
from core.models import Address, Cart, LineItem, Price, Region, SalesChannel
from core.schemas.carts import CartResponse

from .carts_support import (
    add_item,
    checked,
    complete,
    create_cart,
    customer_token,
    error_of,
    initiate_payment,
)

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address_1": "1 Analytical Street",
    "city": "Berlin",
    "country_code": "DE",
    "postal_code": "10115",
}


async def dollar_region() -> Region:
    """A newer region in USD (the US), where only the shirts have prices."""
    region = await Region.create(name="Americas", currency_code="usd")
    for country in await ensure_countries(["us"]):
        country.region = region
        await country.save(update_fields=["region_id"])
    return region


# -- create ----------------------------------------------------------------------------------------


async def test_create_cart_defaults_to_oldest_region_and_keys_first_channel(client: Any, store: Any) -> None:
    await dollar_region()
    cart = await create_cart(client, store)
    assert cart["id"].startswith("cart_")
    assert (cart["region_id"], cart["currency_code"]) == (store.region_id, "eur")
    assert cart["sales_channel_id"] == store.sales_channel_id
    assert [c["iso_2"] for c in cart["region"]["countries"]] == ["de", "dk", "fr"]
    assert cart["region"]["countries"][0]["display_name"] == "Germany"
    assert (cart["items"], cart["total"], cart["payment_collection"], cart["customer_id"]) == ([], 0.0, None, None)
    assert (cart["shipping_methods"], cart["promotions"], cart["completed_at"]) == ([], [], None)


async def test_create_cart_in_a_given_region_takes_its_currency(client: Any, store: Any) -> None:
    region = await dollar_region()
    cart = await create_cart(client, store, region_id=region.id)
    assert (cart["region_id"], cart["currency_code"], cart["region"]["name"]) == (region.id, "usd", "Americas")
    assert [c["iso_2"] for c in cart["region"]["countries"]] == ["us"]


async def test_create_cart_with_unknown_region_is_not_found(client: Any, store: Any) -> None:
    resp = await client.post("/store/carts", json={"region_id": "reg_nope"}, headers=store.headers())
    assert await error_of(resp, 404) == {"type": "not_found", "message": "Region with id: reg_nope was not found"}


async def test_create_cart_without_any_region_is_invalid(client: Any, store: Any) -> None:
    await Region.all().update(deleted_at=timezone.now())
    resp = await client.post("/store/carts", json={}, headers=store.headers())
    assert await error_of(resp, 400) == {"type": "invalid_data", "message": "No regions found"}


async def test_create_cart_with_another_currency_than_the_regions_is_invalid(client: Any, store: Any) -> None:
    resp = await client.post("/store/carts", json={"currency_code": "usd"}, headers=store.headers())
    assert (await error_of(resp, 400))["type"] == "invalid_data"
    cart = await create_cart(client, store, currency_code="EUR")
    assert cart["currency_code"] == "eur"


async def test_create_cart_in_a_channel_outside_the_key_is_invalid(client: Any, store: Any) -> None:
    other = await SalesChannel.create(name="Wholesale")
    resp = await client.post("/store/carts", json={"sales_channel_id": other.id}, headers=store.headers())
    assert await error_of(resp, 400) == {
        "type": "invalid_data",
        "message": "Requested sales channel is not part of the publishable key mappings",
    }
    assert await Cart.all().count() == 0


async def test_create_cart_in_a_disabled_channel_is_invalid(client: Any, store: Any) -> None:
    await SalesChannel.filter(id=store.sales_channel_id).update(is_disabled=True)
    resp = await client.post("/store/carts", json={"sales_channel_id": store.sales_channel_id}, headers=store.headers())
    assert (await error_of(resp, 400))["message"] == "Unable to assign cart to disabled Sales Channel: Webshop"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"email": "not-an-email"}, 'at "email"'),
        ({"colour": "red"}, "Unrecognized fields: 'colour'"),
        ({"items": [{"variant_id": "v", "quantity": 0}]}, 'at "items.0.quantity"'),
        ({"shipping_address": {"street": "x"}}, "'shipping_address.street'"),
    ],
)
async def test_create_cart_rejects_invalid_bodies(
    client: Any, store: Any, payload: dict[str, Any], fragment: str
) -> None:
    resp = await client.post("/store/carts", json=payload, headers=store.headers())
    body = await error_of(resp, 400)
    assert body["type"] == "invalid_data" and fragment in body["message"]


async def test_create_cart_takes_customer_and_email_from_the_token(client: Any, store: Any, settings: Any) -> None:
    customer_id, token = await customer_token(settings)
    cart = await create_cart(client, store, token=token)
    assert (cart["customer_id"], cart["email"]) == (customer_id, "ada@example.com")
    cart = await create_cart(client, store, token=token, email="Other@Example.com")
    assert cart["email"] == "other@example.com"


async def test_create_cart_with_items_and_addresses(client: Any, store: Any) -> None:
    shirt_s, shirt_m, _ = store.variant_ids
    items = [
        {"variant_id": shirt_s, "quantity": 1},
        {"variant_id": shirt_m, "quantity": 2},
        {"variant_id": shirt_s, "quantity": 1},
    ]
    addresses = {"shipping_address": ADDRESS, "billing_address": ADDRESS}
    cart = await create_cart(client, store, items=items, metadata={"a": 1}, **addresses)
    assert sorted((i["variant_id"], i["quantity"]) for i in cart["items"]) == sorted([(shirt_s, 2), (shirt_m, 2)])
    assert cart["total"] == 45.0 and cart["metadata"] == {"a": 1}
    assert cart["shipping_address"]["country_code"] == "de"
    assert cart["shipping_address"]["id"] == cart["shipping_address_id"] != cart["billing_address_id"]
    assert (await checked(await client.get(f"/store/carts/{cart['id']}", headers=store.headers()), CartResponse))[
        "cart"
    ] == cart


async def test_create_cart_with_an_invalid_item_creates_nothing(client: Any, store: Any) -> None:
    payload = {"items": [{"variant_id": "variant_nope", "quantity": 1}], "shipping_address": ADDRESS}
    resp = await client.post("/store/carts", json=payload, headers=store.headers())
    assert (await error_of(resp, 400))["type"] == "invalid_data"
    assert (await Cart.all().count(), await Address.all().count()) == (0, 0)


async def test_create_cart_with_items_beyond_stock_is_refused(client: Any, store: Any) -> None:
    payload = {"items": [{"variant_id": store.variant_ids[2], "quantity": 4}]}
    resp = await client.post("/store/carts", json=payload, headers=store.headers())
    assert (await error_of(resp, 400))["code"] == "insufficient_inventory"


# -- retrieve --------------------------------------------------------------------------------------


async def test_retrieve_cart_accepts_fields(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    await add_item(client, store, cart["id"], store.variant_ids[0])
    resp = await client.get(f"/store/carts/{cart['id']}?fields=*items,+total", headers=store.headers())
    body = await checked(resp, CartResponse)
    assert body["cart"]["id"] == cart["id"] and len(body["cart"]["items"]) == 1


async def test_retrieve_unknown_cart_is_not_found(client: Any, store: Any) -> None:
    resp = await client.get("/store/carts/cart_nope", headers=store.headers())
    assert await error_of(resp, 404) == {"type": "not_found", "message": "Cart with id 'cart_nope' not found"}


async def test_customer_cart_is_hidden_from_other_customers(client: Any, store: Any, settings: Any) -> None:
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    cart = await create_cart(client, store, token=ada)
    assert (await client.get(f"/store/carts/{cart['id']}", headers=store.headers(bob))).status == 404
    assert (await client.get(f"/store/carts/{cart['id']}", headers=store.headers(ada))).status == 200
    assert (await update(client, store, cart["id"], {"email": "bob@example.com"}, token=bob)).status == 404


async def test_retrieve_needs_the_publishable_key(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    assert (await error_of(await client.get(f"/store/carts/{cart['id']}"), 400))["type"] == "not_allowed"


# -- update ----------------------------------------------------------------------------------------


async def update(client: Any, store: Any, cart_id: str, payload: dict[str, Any], token: str | None = None) -> Any:
    return await client.post(f"/store/carts/{cart_id}", json=payload, headers=store.headers(token))


async def test_update_cart_email_metadata_and_locale(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    resp = await update(client, store, cart["id"], {"email": "Ada@Example.com", "locale": "de-DE"})
    body = await checked(resp, CartResponse)
    assert (body["cart"]["email"], body["cart"]["locale"]) == ("ada@example.com", "de-DE")
    body = await checked(await update(client, store, cart["id"], {"metadata": {"note": "x"}}), CartResponse)
    assert (body["cart"]["email"], body["cart"]["metadata"]) == ("ada@example.com", {"note": "x"})
    body = await checked(await update(client, store, cart["id"], {"email": None}), CartResponse)
    assert body["cart"]["email"] is None


async def test_update_cart_with_invalid_email_is_refused(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    body = await error_of(await update(client, store, cart["id"], {"email": "nope"}), 400)
    assert body["type"] == "invalid_data" and 'at "email"' in body["message"]


async def test_update_cart_upserts_addresses(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    body = await checked(await update(client, store, cart["id"], {"shipping_address": ADDRESS}), CartResponse)
    address = body["cart"]["shipping_address"]
    assert (address["city"], address["country_code"], body["cart"]["billing_address"]) == ("Berlin", "de", None)
    change = {"shipping_address": {"id": address["id"], "city": "Hamburg"}, "billing_address": {"city": "Paris"}}
    body = await checked(await update(client, store, cart["id"], change), CartResponse)
    moved = body["cart"]["shipping_address"]
    assert (moved["id"], moved["city"], moved["first_name"]) == (address["id"], "Hamburg", "Ada")
    assert body["cart"]["billing_address"]["city"] == "Paris"
    assert await Address.all().count() == 2


async def test_update_cart_region_changes_currency_and_reprices_items(client: Any, store: Any) -> None:
    region = await dollar_region()
    shirt_s = store.variant_ids[0]
    await Price.create(variant_id=shirt_s, currency_code="usd", amount=Decimal("11.00"))
    cart = await create_cart(client, store, items=[{"variant_id": shirt_s, "quantity": 2}])
    await initiate_payment(client, store, cart["id"])
    body = await checked(await update(client, store, cart["id"], {"region_id": region.id}), CartResponse)
    moved = body["cart"]
    assert (moved["region_id"], moved["currency_code"], moved["region"]["name"]) == (region.id, "usd", "Americas")
    assert (moved["items"][0]["unit_price"], moved["total"]) == (11.0, 22.0)
    collection = moved["payment_collection"]
    assert (collection["currency_code"], collection["amount"], collection["payment_sessions"]) == ("usd", 22.0, [])


async def test_update_cart_region_without_prices_changes_nothing(client: Any, store: Any) -> None:
    region = await dollar_region()
    cart = await create_cart(client, store, items=[{"variant_id": store.variant_ids[2], "quantity": 1}])
    body = await error_of(await update(client, store, cart["id"], {"region_id": region.id, "email": "a@b.co"}), 400)
    assert body["message"] == f"Variants with IDs {store.variant_ids[2]} do not have a price for currency usd"
    stored = await Cart.get(id=cart["id"])
    assert (stored.currency_code, stored.email) == ("eur", None)


async def test_update_cart_with_unknown_region_is_not_found(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    body = await error_of(await update(client, store, cart["id"], {"region_id": "reg_nope"}), 404)
    assert body["type"] == "not_found"


async def test_update_cart_sales_channel_must_be_the_keys(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    other = await SalesChannel.create(name="Wholesale")
    await error_of(await update(client, store, cart["id"], {"sales_channel_id": other.id}), 400)
    resp = await update(client, store, cart["id"], {"sales_channel_id": store.sales_channel_id})
    body = await checked(resp, CartResponse)
    assert body["cart"]["sales_channel_id"] == store.sales_channel_id


async def test_update_completed_cart_is_refused(client: Any, store: Any) -> None:
    cart = await create_cart(client, store, items=[{"variant_id": store.variant_ids[0], "quantity": 1}])
    await initiate_payment(client, store, cart["id"])
    assert (await complete(client, store, cart["id"])).status == 200
    body = await error_of(await update(client, store, cart["id"], {"email": "a@b.co"}), 400)
    assert body == {"type": "invalid_data", "message": f"Cart {cart['id']} is already completed."}


async def test_update_cart_being_completed_is_a_conflict(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    await Cart.filter(id=cart["id"]).update(completing_until=timezone.now() + timedelta(seconds=30))
    assert (await error_of(await update(client, store, cart["id"], {"email": "a@b.co"}), 409))["type"] == "conflict"


async def test_update_unknown_cart_is_not_found(client: Any, store: Any) -> None:
    await error_of(await update(client, store, "cart_nope", {"email": "a@b.co"}), 404)


async def test_update_cart_keeps_custom_prices_when_the_region_changes(client: Any, store: Any) -> None:
    region = await dollar_region()
    cart = await create_cart(client, store)
    await LineItem.create(cart_id=cart["id"], title="Custom", quantity=1, unit_price=Decimal("3"), is_custom_price=True)
    body = await checked(await update(client, store, cart["id"], {"region_id": region.id}), CartResponse)
    assert body["cart"]["items"][0]["unit_price"] == 3.0


# -- shipping options ------------------------------------------------------------------------------


async def test_shipping_options_are_empty(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    resp = await client.get(f"/store/shipping-options?cart_id={cart['id']}", headers=store.headers())
    assert (resp.status, await resp.json()) == (200, {"shipping_options": []})
    resp = await client.get("/store/shipping-options?cart_id=cart_nope", headers=store.headers())
    assert (await error_of(resp, 404))["message"] == "Cart with id 'cart_nope' not found"



async def test_a_nul_character_anywhere_in_the_request_is_invalid_data(client: Any, store: Any) -> None:
    # found by scripts/drill_fuzz.py: PostgreSQL cannot store or compare U+0000 (it was a 500 there)
    calls = [
        client.post("/store/carts", json={"email": "a\u0000@example.com"}, headers=store.headers()),
        client.post("/store/carts", json={"metadata": {"k\u0000": 1}}, headers=store.headers()),
        client.get("/store/carts/cart_%00", headers=store.headers()),
        client.get("/store/products?q=%00", headers=store.headers()),
    ]
    for call in calls:
        resp = await call
        body = await resp.json()
        assert resp.status == 400 and body["type"] == "invalid_data" and "NUL" in body["message"], body
    assert await Cart.all().count() == 0
