"""``GET /store/products`` and ``GET /store/products/{id}`` (served from the catalog response cache).

The cache key is the normalised query (``fields`` left out: the full field set is always returned),
the publishable key's sales channels and the region; see :mod:`core.catalog.cache`. When a plugin
prices listings (``price_variants``, an ERP pricing per customer), prices depend on who asks: the
key then also holds the customer's id (None for guests).
"""

from __future__ import annotations

from aiohttp import web

from core.api.endpoint import endpoint
from core.api.store.carts import request_customer_id
from core.catalog.cache import cached_json_response
from core.catalog.listing import get_store_product, list_store_products
from core.catalog.pricing import PluginPricing, plugin_pricing
from core.keys import PLUGINS, PUBLISHABLE_KEY
from core.schemas.products import (
    ProductQuery,
    StoreProductListResponse,
    StoreProductResponse,
    StoreProductsQuery,
)

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


def _pricing(request: web.Request) -> PluginPricing | None:
    return plugin_pricing(request.app[PLUGINS], request_customer_id(request))


@routes.get("/store/products")
@endpoint(
    query=StoreProductsQuery,
    response=StoreProductListResponse,
    summary="List products",
    description="Published products of the publishable key's sales channels; `region_id` adds "
    "`variants[].calculated_price` (the ERP's price for the logged-in customer when an ERP plugin prices listings).",
    tags=("Store", "Products"),
    errors=(400, 503),
)
async def list_products(request: web.Request, *, query: StoreProductsQuery) -> web.Response:
    channels = request[PUBLISHABLE_KEY].sales_channel_ids
    pricing = _pricing(request)
    key: tuple[object, ...] = ("store-products", query.model_dump_json(exclude={"fields"}), channels)
    if pricing is not None:
        key += (pricing.customer_id,)
    return await cached_json_response(request, key, lambda: list_store_products(query, channels, pricing))


@routes.get("/store/products/{id}")
@endpoint(
    query=ProductQuery,
    response=StoreProductResponse,
    summary="Retrieve a product",
    tags=("Store", "Products"),
    errors=(400, 404, 503),
)
async def retrieve_product(request: web.Request, *, query: ProductQuery) -> web.Response:
    product_id = request.match_info["id"]
    channels = request[PUBLISHABLE_KEY].sales_channel_ids
    pricing = _pricing(request)
    key: tuple[object, ...] = ("store-product", product_id, query.region_id, channels)
    if pricing is not None:
        key += (pricing.customer_id,)
    return await cached_json_response(
        request, key, lambda: get_store_product(product_id, channels, query.region_id, pricing)
    )
