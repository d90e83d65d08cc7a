"""Sales channels of the Admin API: list, retrieve, create."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.catalog.cache import bump_catalog_version
from core.catalog.paging import fetch_value_page
from core.errors import InvalidData, NotFound
from core.models import SalesChannel
from core.schemas.paging import SearchListQuery
from core.schemas.sales_channels import CreateSalesChannelBody

__all__ = [
    "SALES_CHANNEL_FIELDS",
    "create_sales_channel",
    "existing_sales_channels",
    "get_sales_channel",
    "list_sales_channels",
]

SALES_CHANNEL_FIELDS = ("id", "name", "description", "is_disabled", "created_at", "updated_at")
ORDER_FIELDS = ("id", "name", "created_at", "updated_at")


async def list_sales_channels(query: SearchListQuery) -> dict[str, Any]:
    """``{"sales_channels", "count", "offset", "limit"}``; ``q`` searches the name."""
    queryset = SalesChannel.all()
    if query.q:
        queryset = queryset.filter(name__icontains=query.q)
    rows, count = await fetch_value_page(queryset, query, SALES_CHANNEL_FIELDS, allowed_order=ORDER_FIELDS)
    return {"sales_channels": rows, "count": count, "offset": query.offset, "limit": query.limit}


async def get_sales_channel(channel_id: str) -> dict[str, Any]:
    """``{"sales_channel"}``; :raises NotFound: for an unknown id."""
    rows = await SalesChannel.filter(id=channel_id).values(*SALES_CHANNEL_FIELDS)
    if not rows:
        raise NotFound(f"Sales channel with id: {channel_id} was not found")
    return {"sales_channel": rows[0]}


async def create_sales_channel(body: CreateSalesChannelBody) -> dict[str, Any]:
    """``POST /admin/sales-channels``: ``{"sales_channel"}``."""
    channel = await SalesChannel.create(**body.model_dump())
    bump_catalog_version()
    return await get_sales_channel(channel.id)


async def existing_sales_channels(channel_ids: Iterable[str]) -> list[SalesChannel]:
    """The sales channels with these ids.

    :raises InvalidData: naming the ids that do not exist.
    """
    ids = list(dict.fromkeys(channel_ids))
    channels = await SalesChannel.filter(id__in=ids)
    missing = sorted(set(ids) - {channel.id for channel in channels})
    if missing:
        raise InvalidData(f"Sales channels with ids: {', '.join(missing)} were not found")
    return channels
