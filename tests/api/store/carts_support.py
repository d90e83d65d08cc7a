"""Helpers for the cart, line item, payment and order tests (not fixtures: plain functions)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from core.auth.tokens import AuthContext, issue_token
from core.config import Settings
from core.models import Customer
from core.schemas.carts import CartResponse

__all__ = [
    "add_item",
    "add_variant",
    "checked",
    "complete",
    "create_cart",
    "customer_token",
    "error_of",
    "initiate_payment",
]


async def checked(resp: Any, model: type[BaseModel], status: int = 200) -> dict[str, Any]:
    """The JSON body of a successful response, validated against its response model."""
    body = await resp.json()
    assert resp.status == status, body
    model.model_validate(body)
    return body  # type: ignore[no-any-return]


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    """The JSON error body of a failed response, after checking its status."""
    body = await resp.json()
    assert resp.status == status, body
    return body  # type: ignore[no-any-return]


async def customer_token(settings: Settings, email: str = "ada@example.com") -> tuple[str, str]:
    """A customer and a bearer token bound to them: ``(customer_id, token)``."""
    customer = await Customer.create(email=email, has_account=True, first_name="Ada")
    context = AuthContext(actor_id=customer.id, actor_type="customer", auth_identity_id=f"authid_{customer.id}")
    return customer.id, issue_token(settings.auth, context)


async def create_cart(client: TestClient, store: Any, token: str | None = None, **body: Any) -> dict[str, Any]:
    """``POST /store/carts`` with ``body``; the created cart."""
    resp = await client.post("/store/carts", json=body, headers=store.headers(token))
    return (await checked(resp, CartResponse))["cart"]  # type: ignore[no-any-return]


async def add_item(
    client: TestClient, store: Any, cart_id: str, variant_id: str, quantity: int = 1, token: str | None = None
) -> Any:
    """``POST /store/carts/{id}/line-items``; the raw response."""
    return await client.post(
        f"/store/carts/{cart_id}/line-items",
        json={"variant_id": variant_id, "quantity": quantity},
        headers=store.headers(token),
    )


async def initiate_payment(client: TestClient, store: Any, cart_id: str, token: str | None = None) -> dict[str, Any]:
    """Create the cart's payment collection and a ``pp_system_default`` session; the collection."""
    headers = store.headers(token)
    resp = await client.post("/store/payment-collections", json={"cart_id": cart_id}, headers=headers)
    collection = (await resp.json())["payment_collection"]
    assert resp.status == 200, collection
    resp = await client.post(
        f"/store/payment-collections/{collection['id']}/payment-sessions",
        json={"provider_id": "pp_system_default"},
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["payment_collection"]  # type: ignore[no-any-return]


async def complete(client: TestClient, store: Any, cart_id: str, token: str | None = None) -> Any:
    """``POST /store/carts/{id}/complete`` without a body (as the SDK sends it); the raw response."""
    headers = {**store.headers(token), "content-type": "application/json"}
    return await client.post(f"/store/carts/{cart_id}/complete", headers=headers)


async def add_variant(
    store: Any,
    *,
    title: str = "Poster",
    status: str = "published",
    in_channel: bool = True,
    prices: dict[str, str] | None = None,
    **variant_fields: Any,
) -> str:
    """A new product with one variant (priced in EUR 7.00 unless ``prices`` says otherwise); its id."""
    from decimal import Decimal

    from core.models import Price, Product, ProductVariant, SalesChannel

    product = await Product.create(title=title, handle=title.lower().replace(" ", "-"), status=status)
    if in_channel:
        await product.sales_channels.add(await SalesChannel.get(id=store.sales_channel_id))
    variant = await ProductVariant.create(product=product, title="Default", **variant_fields)
    for currency, amount in (prices if prices is not None else {"eur": "7.00"}).items():
        await Price.create(variant=variant, currency_code=currency, amount=Decimal(amount))
    return variant.id
