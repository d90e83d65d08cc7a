"""Store payment routes: providers of a region, payment collections and sessions of carts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import endpoint
from core.api.store.carts import request_customer_id
from core.schemas.carts import CartQuery
from core.schemas.payments import (
    CreatePaymentCollectionBody,
    CreatePaymentSessionBody,
    PaymentCollectionResponse,
    PaymentProvidersQuery,
    PaymentProvidersResponse,
    render_payment_collection,
)
from core.workflows.payment_collections import (
    create_payment_collection,
    create_payment_session,
    list_payment_providers,
)

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Store Payments",)


@routes.get("/store/payment-providers")
@endpoint(
    query=PaymentProvidersQuery,
    response=PaymentProvidersResponse,
    summary="List the payment providers of a region",
    tags=TAGS,
    errors=(400, 404),
)
async def list_store_payment_providers(request: web.Request, *, query: PaymentProvidersQuery) -> dict[str, Any]:
    providers = await list_payment_providers(query.region_id)
    page = providers[query.offset : query.offset + query.limit]
    return {
        "payment_providers": [{"id": provider, "is_enabled": True} for provider in page],
        "count": len(providers),
        "offset": query.offset,
        "limit": query.limit,
    }


@routes.post("/store/payment-collections")
@endpoint(
    body=CreatePaymentCollectionBody,
    query=CartQuery,
    response=PaymentCollectionResponse,
    summary="Create the payment collection of a cart",
    description="Idempotent per cart: returns the cart's collection when it has one.",
    tags=TAGS,
    errors=(400, 404),
)
async def create_store_payment_collection(
    request: web.Request, *, body: CreatePaymentCollectionBody, query: CartQuery
) -> dict[str, Any]:
    result = await create_payment_collection(body.cart_id, request_customer_id(request))
    return {"payment_collection": render_payment_collection(result.collection, result.sessions)}


@routes.post("/store/payment-collections/{id}/payment-sessions")
@endpoint(
    body=CreatePaymentSessionBody,
    query=CartQuery,
    response=PaymentCollectionResponse,
    summary="Initiate a payment session",
    description="Replaces the collection's previous session; the only provider is `pp_system_default`.",
    tags=TAGS,
    errors=(400, 404),
)
async def create_store_payment_session(
    request: web.Request, *, body: CreatePaymentSessionBody, query: CartQuery
) -> dict[str, Any]:
    result = await create_payment_session(
        request.match_info["id"], body.provider_id, body.data, request_customer_id(request)
    )
    return {"payment_collection": render_payment_collection(result.collection, result.sessions)}
