"""``GET /store/regions`` and ``GET /store/regions/{id}`` (served from the catalog response cache)."""

from __future__ import annotations

from aiohttp import web

from core.api.endpoint import endpoint
from core.catalog.cache import cached_json_response
from core.catalog.regions import get_region, list_regions
from core.schemas.paging import ListQuery
from core.schemas.regions import RegionListResponse, RegionResponse, RegionsQuery

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


@routes.get("/store/regions")
@endpoint(
    query=RegionsQuery,
    response=RegionListResponse,
    summary="List regions",
    tags=("Store", "Regions"),
    errors=(400,),
)
async def list_store_regions(request: web.Request, *, query: RegionsQuery) -> web.Response:
    key = ("store-regions", query.model_dump_json(exclude={"fields"}))
    return await cached_json_response(request, key, lambda: list_regions(query))


@routes.get("/store/regions/{id}")
@endpoint(
    query=ListQuery,
    response=RegionResponse,
    summary="Retrieve a region",
    tags=("Store", "Regions"),
    errors=(400, 404),
)
async def retrieve_store_region(request: web.Request, *, query: ListQuery) -> web.Response:
    region_id = request.match_info["id"]
    return await cached_json_response(request, ("store-region", region_id), lambda: get_region(region_id))
