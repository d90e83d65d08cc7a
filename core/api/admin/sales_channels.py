"""Admin sales channels: list, retrieve, create."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.catalog.sales_channels import create_sales_channel, get_sales_channel, list_sales_channels
from core.schemas.paging import ListQuery, SearchListQuery
from core.schemas.sales_channels import (
    CreateSalesChannelBody,
    SalesChannelListResponse,
    SalesChannelResponse,
)

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Admin", "Sales channels")


@routes.get("/admin/sales-channels")
@endpoint(
    query=SearchListQuery,
    response=SalesChannelListResponse,
    summary="List sales channels",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_list_sales_channels(request: web.Request, *, query: SearchListQuery) -> dict[str, Any]:
    return await list_sales_channels(query)


@routes.post("/admin/sales-channels")
@endpoint(
    body=CreateSalesChannelBody,
    response=SalesChannelResponse,
    summary="Create a sales channel",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_create_sales_channel(request: web.Request, *, body: CreateSalesChannelBody) -> dict[str, Any]:
    return await create_sales_channel(body)


@routes.get("/admin/sales-channels/{id}")
@endpoint(
    query=ListQuery,
    response=SalesChannelResponse,
    summary="Retrieve a sales channel",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_retrieve_sales_channel(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    return await get_sales_channel(request.match_info["id"])
