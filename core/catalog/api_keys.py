"""Publishable API keys of the Admin API: create, list, revoke, link sales channels.

The routes clear the in-process publishable-key cache after a revocation or a channel change, so
the change applies to this process at once (other processes within the cache's TTL).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tortoise.transactions import in_transaction

from core.catalog.cache import bump_catalog_version
from core.catalog.paging import fetch_value_page
from core.catalog.sales_channels import SALES_CHANNEL_FIELDS, existing_sales_channels
from core.errors import NotAllowed, NotFound
from core.ids import new_token
from core.models import PublishableApiKey, SalesChannel
from core.schemas.api_keys import ApiKeySalesChannelsBody, ApiKeysQuery, CreateApiKeyBody

__all__ = [
    "create_api_key",
    "get_api_key",
    "list_api_keys",
    "revoke_api_key",
    "update_api_key_sales_channels",
]

API_KEY_FIELDS = ("id", "token", "title", "revoked_at", "created_at", "updated_at")
ORDER_FIELDS = ("id", "title", "created_at", "updated_at", "revoked_at")


def _redacted(token: str) -> str:
    return f"{token[:6]}***{token[-3:]}"


async def _render(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    channels = await (
        SalesChannel.filter(api_keys__id__in=[row["id"] for row in rows])
        .order_by("created_at", "id")
        .values(*SALES_CHANNEL_FIELDS, key_id="api_keys__id")
    )
    by_key: dict[str, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    for channel in channels:
        by_key[channel.pop("key_id")].append(channel)
    for row in rows:
        row["redacted"] = _redacted(row["token"])
        row["type"] = "publishable"
        row["sales_channels"] = by_key[row["id"]]
    return rows


async def list_api_keys(query: ApiKeysQuery) -> dict[str, Any]:
    """``{"api_keys", "count", "offset", "limit"}``."""
    queryset = PublishableApiKey.all()
    if query.q:
        queryset = queryset.filter(title__icontains=query.q)
    if query.revoked is not None:
        queryset = queryset.filter(revoked_at__isnull=not query.revoked)
    rows, count = await fetch_value_page(queryset, query, API_KEY_FIELDS, allowed_order=ORDER_FIELDS)
    keys = await _render(rows) if rows else []
    return {"api_keys": keys, "count": count, "offset": query.offset, "limit": query.limit}


async def get_api_key(key_id: str) -> dict[str, Any]:
    """``{"api_key"}``; :raises NotFound: for an unknown id."""
    rows = await PublishableApiKey.filter(id=key_id).values(*API_KEY_FIELDS)
    if not rows:
        raise NotFound(f"API key with id: {key_id} was not found")
    (key,) = await _render(rows)
    return {"api_key": key}


async def create_api_key(body: CreateApiKeyBody) -> dict[str, Any]:
    """A new publishable key (``pk_`` and 64 hex digits), linked to no sales channel yet."""
    key = await PublishableApiKey.create(title=body.title, token=new_token("pk"))
    bump_catalog_version()
    return await get_api_key(key.id)


async def revoke_api_key(key_id: str) -> dict[str, Any]:
    """Revoke a key: storefronts using it are refused from then on.

    :raises NotAllowed: when it is already revoked.
    """
    async with in_transaction():
        key = await PublishableApiKey.filter(id=key_id).select_for_update().first()
        if key is None:
            raise NotFound(f"API key with id: {key_id} was not found")
        if key.revoked_at is not None:
            raise NotAllowed(f"API key with id: {key_id} is already revoked")
        key.revoked_at = datetime.now(timezone.utc)
        await key.save(update_fields=["revoked_at", "updated_at"])
    bump_catalog_version()
    return await get_api_key(key_id)


async def update_api_key_sales_channels(key_id: str, body: ApiKeySalesChannelsBody) -> dict[str, Any]:
    """Link the ``add`` channels to the key and unlink the ``remove`` ones.

    :raises InvalidData: for an unknown sales channel id.
    """
    async with in_transaction():
        key = await PublishableApiKey.filter(id=key_id).select_for_update().first()
        if key is None:
            raise NotFound(f"API key with id: {key_id} was not found")
        added = await existing_sales_channels(body.add)
        removed = await existing_sales_channels(body.remove)
        if removed:
            await key.sales_channels.remove(*removed)
        if added:
            await key.sales_channels.add(*added)
    bump_catalog_version()
    return await get_api_key(key_id)
