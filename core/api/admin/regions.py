"""Admin regions: list, retrieve, create, update."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.catalog.regions import create_region, get_region, list_regions, update_region
from core.schemas.paging import ListQuery
from core.schemas.regions import (
    CreateRegionBody,
    RegionListResponse,
    RegionResponse,
    RegionsQuery,
    UpdateRegionBody,
)

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Admin", "Regions")


@routes.get("/admin/regions")
@endpoint(
    query=RegionsQuery,
    response=RegionListResponse,
    summary="List regions",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_list_regions(request: web.Request, *, query: RegionsQuery) -> dict[str, Any]:
    return await list_regions(query)


@routes.post("/admin/regions")
@endpoint(
    body=CreateRegionBody,
    response=RegionResponse,
    summary="Create a region",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_create_region(request: web.Request, *, body: CreateRegionBody) -> dict[str, Any]:
    return await create_region(body)


@routes.get("/admin/regions/{id}")
@endpoint(
    query=ListQuery,
    response=RegionResponse,
    summary="Retrieve a region",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_retrieve_region(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    return await get_region(request.match_info["id"])


@routes.post("/admin/regions/{id}")
@endpoint(
    body=UpdateRegionBody,
    response=RegionResponse,
    summary="Update a region",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401, 404),
)
async def admin_update_region(request: web.Request, *, body: UpdateRegionBody) -> dict[str, Any]:
    return await update_region(request.match_info["id"], body)
