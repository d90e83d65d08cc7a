"""``GET /store/shipping-options``: no item requires shipping yet, so there are no options.

Storefronts (the Next.js starter) list a cart's options during checkout; an empty list lets them
proceed straight to payment.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from core.api.endpoint import endpoint
from core.api.store.carts import request_customer_id
from core.models import Cart
from core.workflows.cart_data import cart_not_found, ensure_cart_access

__all__ = [
    "ShippingOptionsQuery",
    "ShippingOptionsResponse",
    "routes",
]

routes = web.RouteTableDef()


class ShippingOptionsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cart_id: str | None = None
    fields: str | None = None


class ShippingOptionsResponse(BaseModel):
    shipping_options: list[dict[str, Any]]


@routes.get("/store/shipping-options")
@endpoint(
    query=ShippingOptionsQuery,
    response=ShippingOptionsResponse,
    summary="List the shipping options of a cart",
    description="Always empty: line items do not require shipping.",
    tags=("Store Shipping",),
    errors=(404,),
)
async def list_shipping_options(request: web.Request, *, query: ShippingOptionsQuery) -> dict[str, Any]:
    if query.cart_id is not None:
        cart = await Cart.get_or_none(id=query.cart_id)
        if cart is None:
            raise cart_not_found(query.cart_id)
        ensure_cart_access(cart, request_customer_id(request))
    return {"shipping_options": []}
