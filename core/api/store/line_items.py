"""``/store/carts/{id}/line-items``: add, update and delete a cart's line items.

``/store/carts/{id}/custom-line-items`` (the ERP extension) adds an item at the price a pricing
plugin (the ERP) gives for this variant, quantity, currency and customer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import endpoint
from core.api.store.carts import request_customer_id
from core.keys import PLUGINS
from core.schemas.carts import (
    AddCustomLineItemBody,
    AddLineItemBody,
    CartQuery,
    CartResponse,
    LineItemDeletedResponse,
    UpdateLineItemBody,
    render_cart,
)
from core.workflows.add_to_cart import AddToCartInput, RequestedItem, add_to_cart
from core.workflows.delete_line_item import DeleteLineItemInput, delete_line_item
from core.workflows.update_line_item import UpdateLineItemInput, update_line_item

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Store Carts",)


@routes.post("/store/carts/{id}/line-items")
@endpoint(
    body=AddLineItemBody,
    query=CartQuery,
    response=CartResponse,
    summary="Add a line item",
    description="Merges with the cart's line of the same variant (and metadata) by summing quantities.",
    tags=TAGS,
    errors=(400, 404, 409),
)
async def add_line_item(request: web.Request, *, body: AddLineItemBody, query: CartQuery) -> dict[str, Any]:
    return await _add(request, body, custom_prices=False)


async def _add(
    request: web.Request, body: AddLineItemBody | AddCustomLineItemBody, *, custom_prices: bool
) -> dict[str, Any]:
    """Run add-to-cart with the one item of ``body``; the cart as it is after."""
    item = RequestedItem(body.variant_id, body.quantity, body.metadata)
    request_input = AddToCartInput(
        request.match_info["id"], (item,), request_customer_id(request), custom_prices=custom_prices
    )
    loaded = await add_to_cart.run(request_input, plugins=request.app[PLUGINS])
    return {"cart": render_cart(loaded)}


@routes.post("/store/carts/{id}/custom-line-items")
@endpoint(
    body=AddCustomLineItemBody,
    query=CartQuery,
    response=CartResponse,
    summary="Add a line item at the ERP's price",
    description=(
        "Adds the variant at the unit price the ERP gives for this variant, quantity, currency and customer "
        "(company); the line item has `is_custom_price: true`. Merges with the cart's custom-priced line of the "
        "same variant and metadata, re-priced at the summed quantity. 400 when no pricing plugin prices the "
        "variant, 503 when the ERP cannot be reached (nothing is written)."
    ),
    tags=TAGS,
    errors=(400, 404, 409, 503),
)
async def add_custom_line_item(
    request: web.Request, *, body: AddCustomLineItemBody, query: CartQuery
) -> dict[str, Any]:
    return await _add(request, body, custom_prices=True)


@routes.post("/store/carts/{id}/line-items/{line_id}")
@endpoint(
    body=UpdateLineItemBody,
    query=CartQuery,
    response=CartResponse,
    summary="Update a line item's quantity",
    description="A quantity of 0 removes the line item.",
    tags=TAGS,
    errors=(400, 404, 409),
)
async def update_store_line_item(
    request: web.Request, *, body: UpdateLineItemBody, query: CartQuery
) -> dict[str, Any]:
    request_input = UpdateLineItemInput(
        cart_id=request.match_info["id"],
        line_item_id=request.match_info["line_id"],
        quantity=body.quantity,
        metadata=body.metadata,
        customer_id=request_customer_id(request),
    )
    loaded = await update_line_item.run(request_input, plugins=request.app[PLUGINS])
    return {"cart": render_cart(loaded)}


@routes.delete("/store/carts/{id}/line-items/{line_id}")
@endpoint(
    query=CartQuery,
    response=LineItemDeletedResponse,
    summary="Delete a line item",
    description="Responds with the cart as `parent`.",
    tags=TAGS,
    errors=(400, 404, 409),
)
async def delete_store_line_item(request: web.Request, *, query: CartQuery) -> dict[str, Any]:
    line_id = request.match_info["line_id"]
    request_input = DeleteLineItemInput(request.match_info["id"], line_id, request_customer_id(request))
    loaded = await delete_line_item.run(request_input, plugins=request.app[PLUGINS])
    return {"id": line_id, "object": "line-item", "deleted": True, "parent": render_cart(loaded)}
