"""Admin publishable API keys: list, retrieve, create, revoke, link sales channels.

Revoking a key or changing its channels clears this process's publishable-key cache, so the
change applies to the very next store request here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.api.middleware import PUBLISHABLE_KEYS
from core.catalog.api_keys import (
    create_api_key,
    get_api_key,
    list_api_keys,
    revoke_api_key,
    update_api_key_sales_channels,
)
from core.schemas.api_keys import (
    ApiKeyListResponse,
    ApiKeyResponse,
    ApiKeySalesChannelsBody,
    ApiKeysQuery,
    CreateApiKeyBody,
)
from core.schemas.paging import ListQuery

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Admin", "API keys")


@routes.get("/admin/api-keys")
@endpoint(
    query=ApiKeysQuery,
    response=ApiKeyListResponse,
    summary="List publishable API keys",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_list_api_keys(request: web.Request, *, query: ApiKeysQuery) -> dict[str, Any]:
    return await list_api_keys(query)


@routes.post("/admin/api-keys")
@endpoint(
    body=CreateApiKeyBody,
    response=ApiKeyResponse,
    summary="Create a publishable API key",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_create_api_key(request: web.Request, *, body: CreateApiKeyBody) -> dict[str, Any]:
    return await create_api_key(body)


@routes.get("/admin/api-keys/{id}")
@endpoint(
    query=ListQuery,
    response=ApiKeyResponse,
    summary="Retrieve a publishable API key",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_retrieve_api_key(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    return await get_api_key(request.match_info["id"])


@routes.post("/admin/api-keys/{id}/revoke")
@endpoint(
    response=ApiKeyResponse,
    summary="Revoke a publishable API key",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401, 404),
)
async def admin_revoke_api_key(request: web.Request) -> dict[str, Any]:
    revoked = await revoke_api_key(request.match_info["id"])
    request.app[PUBLISHABLE_KEYS].clear()
    return revoked


@routes.post("/admin/api-keys/{id}/sales-channels")
@endpoint(
    body=ApiKeySalesChannelsBody,
    response=ApiKeyResponse,
    summary="Link or unlink sales channels of a publishable API key",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401, 404),
)
async def admin_api_key_sales_channels(
    request: web.Request, *, body: ApiKeySalesChannelsBody
) -> dict[str, Any]:
    updated = await update_api_key_sales_channels(request.match_info["id"], body)
    request.app[PUBLISHABLE_KEYS].clear()
    return updated
