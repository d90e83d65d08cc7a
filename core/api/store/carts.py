"""``/store/carts``: create, retrieve, update and complete carts (Medusa v2 Store API)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from core.api.endpoint import endpoint
from core.auth.tokens import AuthContext
from core.events import notify_events_written
from core.keys import AUTH, ENGINE, PLUGINS, PUBLISHABLE_KEY
from core.schemas.carts import AddressIn, CartQuery, CartResponse, CreateCartBody, UpdateCartBody, render_cart
from core.schemas.orders import OrderOut, render_order
from core.workflows.add_to_cart import RequestedItem
from core.workflows.cart_data import ensure_cart_access, load_cart
from core.workflows.complete_cart import CompleteCartInput, complete_cart
from core.workflows.create_cart import CreateCartInput, create_cart
from core.workflows.update_cart import CART_FIELDS, UpdateCartInput, update_cart

__all__ = [
    "CompleteCartResponse",
    "address_fields",
    "request_customer_id",
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Store Carts",)


class CompleteCartResponse(BaseModel):
    """``POST /store/carts/{id}/complete`` on success (the system provider never fails payment)."""

    type: Literal["order"]
    order: OrderOut


def request_customer_id(request: web.Request) -> str | None:
    """The id of the customer whose bearer token came with the request, or None."""
    auth: AuthContext | None = request.get(AUTH)
    if auth is None or auth.actor_type != "customer" or not auth.actor_id:
        return None
    return auth.actor_id


def address_fields(address: AddressIn | None) -> dict[str, Any] | None:
    """The columns an address payload sets (its ``id`` only names the address to update)."""
    if address is None:
        return None
    return address.model_dump(exclude={"id"}, exclude_unset=True)


def _key_channels(request: web.Request) -> tuple[str, ...]:
    return request[PUBLISHABLE_KEY].sales_channel_ids


@routes.post("/store/carts")
@endpoint(
    body=CreateCartBody,
    query=CartQuery,
    response=CartResponse,
    summary="Create a cart",
    description="The region defaults to the oldest one, the sales channel to the publishable key's first.",
    tags=TAGS,
    errors=(400, 404),
)
async def create_store_cart(request: web.Request, *, body: CreateCartBody, query: CartQuery) -> dict[str, Any]:
    items = tuple(RequestedItem(i.variant_id, i.quantity, i.metadata) for i in body.items or ())
    request_input = CreateCartInput(
        key_sales_channel_ids=_key_channels(request),
        customer_id=request_customer_id(request),
        region_id=body.region_id,
        currency_code=body.currency_code,
        sales_channel_id=body.sales_channel_id,
        email=body.email,
        shipping_address=address_fields(body.shipping_address),
        billing_address=address_fields(body.billing_address),
        metadata=body.metadata,
        locale=body.locale,
        items=items,
    )
    loaded = await create_cart.run(request_input, plugins=request.app[PLUGINS])
    return {"cart": render_cart(loaded)}


@routes.get("/store/carts/{id}")
@endpoint(query=CartQuery, response=CartResponse, summary="Retrieve a cart", tags=TAGS, errors=(404,))
async def retrieve_store_cart(request: web.Request, *, query: CartQuery) -> dict[str, Any]:
    loaded = await load_cart(request.match_info["id"])
    ensure_cart_access(loaded.cart, request_customer_id(request))
    return {"cart": render_cart(loaded)}


@routes.post("/store/carts/{id}")
@endpoint(
    body=UpdateCartBody,
    query=CartQuery,
    response=CartResponse,
    summary="Update a cart",
    description="A region change changes the currency and re-prices the items; addresses are upserted.",
    tags=TAGS,
    errors=(400, 404, 409),
)
async def update_store_cart(request: web.Request, *, body: UpdateCartBody, query: CartQuery) -> dict[str, Any]:
    request_input = UpdateCartInput(
        cart_id=request.match_info["id"],
        key_sales_channel_ids=_key_channels(request),
        customer_id=request_customer_id(request),
        fields=body.model_dump(include=set(CART_FIELDS), exclude_unset=True),
        region_id=body.region_id,
        sales_channel_id=body.sales_channel_id,
        shipping_address=address_fields(body.shipping_address),
        billing_address=address_fields(body.billing_address),
    )
    loaded = await update_cart.run(request_input, plugins=request.app[PLUGINS])
    return {"cart": render_cart(loaded)}


@routes.post("/store/carts/{id}/complete")
@endpoint(
    query=CartQuery,
    response=CompleteCartResponse,
    summary="Complete a cart",
    description="Idempotent: completing a completed cart returns its order. 409 while another request completes it.",
    tags=TAGS,
    errors=(400, 404, 409),
)
async def complete_store_cart(request: web.Request, *, query: CartQuery) -> dict[str, Any]:
    request_input = CompleteCartInput(request.match_info["id"], request_customer_id(request))
    placed = await complete_cart.run(request_input, plugins=request.app[PLUGINS])
    await notify_events_written(request.app[ENGINE])
    return {"type": "order", "order": render_order(placed.order, placed.items)}
