"""``GET /store/products`` and ``GET /store/products/{id}`` (served from the catalog response cache).

The cache key is the normalised query (``fields`` left out: the full field set is always returned),
the publishable key's sales channels and the region; see :mod:`core.catalog.cache`.
"""

from __future__ import annotations

from aiohttp import web

from core.api.endpoint import endpoint
from core.catalog.cache import cached_json_response
from core.catalog.listing import get_store_product, list_store_products
from core.keys import PUBLISHABLE_KEY
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


@routes.get("/store/products")
@endpoint(
    query=StoreProductsQuery,
    response=StoreProductListResponse,
    summary="List products",
    description="Published products of the publishable key's sales channels; `region_id` adds "
    "`variants[].calculated_price`.",
    tags=("Store", "Products"),
    errors=(400,),
)
async def list_products(request: web.Request, *, query: StoreProductsQuery) -> web.Response:
    channels = request[PUBLISHABLE_KEY].sales_channel_ids
    key = ("store-products", query.model_dump_json(exclude={"fields"}), channels)
    return await cached_json_response(request, key, lambda: list_store_products(query, channels))


@routes.get("/store/products/{id}")
@endpoint(
    query=ProductQuery,
    response=StoreProductResponse,
    summary="Retrieve a product",
    tags=("Store", "Products"),
    errors=(400, 404),
)
async def retrieve_product(request: web.Request, *, query: ProductQuery) -> web.Response:
    product_id = request.match_info["id"]
    channels = request[PUBLISHABLE_KEY].sales_channel_ids
    key = ("store-product", product_id, query.region_id, channels)
    return await cached_json_response(
        request, key, lambda: get_store_product(product_id, channels, query.region_id)
    )
