"""Admin products: list, retrieve, create, update, update a variant, soft delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.catalog.admin import create_product, delete_product, update_product, update_variant
from core.catalog.listing import get_admin_product, list_admin_products
from core.schemas.paging import ListQuery
from core.schemas.products import (
    AdminProductListResponse,
    AdminProductResponse,
    AdminProductsQuery,
    CreateProductBody,
    ProductDeletedResponse,
    UpdateProductBody,
    UpdateVariantBody,
)

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Admin", "Products")


@routes.get("/admin/products")
@endpoint(
    query=AdminProductsQuery,
    response=AdminProductListResponse,
    summary="List products",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_list_products(request: web.Request, *, query: AdminProductsQuery) -> dict[str, Any]:
    return await list_admin_products(query)


@routes.post("/admin/products")
@endpoint(
    body=CreateProductBody,
    response=AdminProductResponse,
    summary="Create a product",
    description="Options, variants (with prices) and sales channels in one transaction.",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401, 422),
)
async def admin_create_product(request: web.Request, *, body: CreateProductBody) -> dict[str, Any]:
    return await create_product(body)


@routes.get("/admin/products/{id}")
@endpoint(
    query=ListQuery,
    response=AdminProductResponse,
    summary="Retrieve a product",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_retrieve_product(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    return await get_admin_product(request.match_info["id"])


@routes.post("/admin/products/{id}")
@endpoint(
    body=UpdateProductBody,
    response=AdminProductResponse,
    summary="Update a product",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401, 404, 422),
)
async def admin_update_product(request: web.Request, *, body: UpdateProductBody) -> dict[str, Any]:
    return await update_product(request.match_info["id"], body)


@routes.post("/admin/products/{id}/variants/{variant_id}")
@endpoint(
    body=UpdateVariantBody,
    response=AdminProductResponse,
    summary="Update a variant",
    description="`prices`, when given, replaces the variant's prices. Returns the product.",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401, 404, 422),
)
async def admin_update_variant(request: web.Request, *, body: UpdateVariantBody) -> dict[str, Any]:
    return await update_variant(request.match_info["id"], request.match_info["variant_id"], body)


@routes.delete("/admin/products/{id}")
@endpoint(
    response=ProductDeletedResponse,
    summary="Delete a product (soft)",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_delete_product(request: web.Request) -> dict[str, Any]:
    return await delete_product(request.match_info["id"])
