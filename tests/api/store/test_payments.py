"""Store payment routes: providers, payment collections and sessions."""

from __future__ import annotations

from typing import Any

from tortoise import timezone

from core.models import Cart, PaymentCollection, PaymentSession
from core.schemas.carts import CartResponse
from core.schemas.payments import PaymentCollectionResponse, PaymentProvidersResponse

from .carts_support import add_item, checked, create_cart, customer_token, error_of


async def create_collection(client: Any, store: Any, cart_id: str, token: str | None = None) -> Any:
    return await client.post("/store/payment-collections", json={"cart_id": cart_id}, headers=store.headers(token))


async def create_session(client: Any, store: Any, collection_id: str, provider_id: str = "pp_system_default") -> Any:
    url = f"/store/payment-collections/{collection_id}/payment-sessions"
    return await client.post(url, json={"provider_id": provider_id, "data": {"note": 1}}, headers=store.headers())


async def test_payment_providers_of_a_region(client: Any, store: Any) -> None:
    resp = await client.get(f"/store/payment-providers?region_id={store.region_id}", headers=store.headers())
    body = await checked(resp, PaymentProvidersResponse)
    assert body == {
        "payment_providers": [{"id": "pp_system_default", "is_enabled": True}],
        "count": 1,
        "offset": 0,
        "limit": 20,
    }


async def test_payment_providers_need_a_known_region(client: Any, store: Any) -> None:
    body = await error_of(await client.get("/store/payment-providers", headers=store.headers()), 400)
    assert 'at "region_id"' in body["message"]
    resp = await client.get("/store/payment-providers?region_id=reg_nope", headers=store.headers())
    assert (await error_of(resp, 404))["type"] == "not_found"


async def test_payment_collection_is_created_for_the_cart_total_once(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    await add_item(client, store, cart["id"], store.variant_ids[0], 3)
    first = (await checked(await create_collection(client, store, cart["id"]), PaymentCollectionResponse))[
        "payment_collection"
    ]
    assert (first["amount"], first["currency_code"], first["status"], first["payment_sessions"]) == (
        30.0, "eur", "not_paid", [],
    )  # fmt: skip
    again = (await checked(await create_collection(client, store, cart["id"]), PaymentCollectionResponse))[
        "payment_collection"
    ]
    assert again["id"] == first["id"]
    assert await PaymentCollection.filter(cart_id=cart["id"]).count() == 1
    shown = (await checked(await client.get(f"/store/carts/{cart['id']}", headers=store.headers()), CartResponse))
    assert shown["cart"]["payment_collection"]["id"] == first["id"]


async def test_payment_collection_of_unknown_or_foreign_cart_is_not_found(
    client: Any, store: Any, settings: Any
) -> None:
    assert (await error_of(await create_collection(client, store, "cart_nope"), 404))["message"] == (
        "Cart with id 'cart_nope' not found"
    )
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    cart = await create_cart(client, store, token=ada)
    await error_of(await create_collection(client, store, cart["id"], token=bob), 404)


async def test_payment_collection_of_completed_cart_is_refused(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    await Cart.filter(id=cart["id"]).update(completed_at=timezone.now())
    body = await error_of(await create_collection(client, store, cart["id"]), 400)
    assert body["message"] == f"Cart {cart['id']} is already completed."


async def test_payment_collection_body_is_strict(client: Any, store: Any) -> None:
    resp = await client.post("/store/payment-collections", json={"cart": "x"}, headers=store.headers())
    assert (await error_of(resp, 400))["type"] == "invalid_data"


async def test_payment_session_is_pending_and_replaces_the_previous_one(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    await add_item(client, store, cart["id"], store.variant_ids[0])
    collection = (await (await create_collection(client, store, cart["id"])).json())["payment_collection"]
    first = (await checked(await create_session(client, store, collection["id"]), PaymentCollectionResponse))[
        "payment_collection"
    ]
    (session,) = first["payment_sessions"]
    assert (session["provider_id"], session["status"], session["amount"], session["data"]) == (
        "pp_system_default", "pending", 10.0, {"note": 1},
    )  # fmt: skip
    await add_item(client, store, cart["id"], store.variant_ids[0])
    second = (await checked(await create_session(client, store, collection["id"]), PaymentCollectionResponse))[
        "payment_collection"
    ]
    assert second["amount"] == 20.0 and second["payment_sessions"][0]["amount"] == 20.0
    assert await PaymentSession.filter(collection_id=collection["id"]).count() == 1
    shown = (await (await client.get(f"/store/carts/{cart['id']}", headers=store.headers())).json())["cart"]
    assert shown["payment_collection"]["payment_sessions"][0]["id"] == second["payment_sessions"][0]["id"]


async def test_payment_session_with_unknown_provider_or_collection_is_not_found(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    collection = (await (await create_collection(client, store, cart["id"])).json())["payment_collection"]
    body = await error_of(await create_session(client, store, collection["id"], "pp_stripe"), 404)
    assert body == {"type": "not_found", "message": "Payment provider with id: pp_stripe was not found"}
    body = await error_of(await create_session(client, store, "pay_col_nope"), 404)
    assert body["message"] == "Payment collection with id: pay_col_nope was not found"


async def test_payment_session_of_completed_cart_is_refused(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    collection = (await (await create_collection(client, store, cart["id"])).json())["payment_collection"]
    await Cart.filter(id=cart["id"]).update(completed_at=timezone.now())
    await error_of(await create_session(client, store, collection["id"]), 400)


async def test_payment_session_body_is_strict(client: Any, store: Any) -> None:
    cart = await create_cart(client, store)
    collection = (await (await create_collection(client, store, cart["id"])).json())["payment_collection"]
    url = f"/store/payment-collections/{collection['id']}/payment-sessions"
    assert (await client.post(url, json={}, headers=store.headers())).status == 400


async def test_payment_session_on_another_customers_cart_is_not_found(client: Any, store: Any, settings: Any) -> None:
    _, ada = await customer_token(settings, "ada@example.com")
    _, bob = await customer_token(settings, "bob@example.com")
    cart = await create_cart(client, store, token=ada)
    collection = (await (await create_collection(client, store, cart["id"], token=ada)).json())["payment_collection"]
    url = f"/store/payment-collections/{collection['id']}/payment-sessions"
    resp = await client.post(url, json={"provider_id": "pp_system_default"}, headers=store.headers(bob))
    await error_of(resp, 404)
    assert await PaymentSession.filter(collection_id=collection["id"]).count() == 0
