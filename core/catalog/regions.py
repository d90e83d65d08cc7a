"""Regions: reads for the Store and Admin APIs, and admin writes.

A country belongs to at most one region; the claim is one conditional UPDATE, so two concurrent
writes cannot both take a country.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.catalog.cache import bump_catalog_version
from core.catalog.paging import fetch_value_page
from core.catalog.updates import changed_fields
from core.countries import ensure_countries
from core.errors import InvalidData, NotFound
from core.models import Country, Region
from core.schemas.regions import CreateRegionBody, RegionsQuery, UpdateRegionBody

__all__ = [
    "create_region",
    "get_region",
    "list_regions",
    "update_region",
]

REGION_FIELDS = (
    "id",
    "name",
    "currency_code",
    "automatic_taxes",
    "metadata",
    "created_at",
    "updated_at",
    "deleted_at",
)
COUNTRY_FIELDS = ("iso_2", "iso_3", "num_code", "name", "display_name", "region_id")
REGION_ORDER_FIELDS = ("id", "name", "currency_code", "created_at", "updated_at")


async def _with_countries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    countries = await (
        Country.filter(region_id__in=[row["id"] for row in rows]).order_by("iso_2").values(*COUNTRY_FIELDS)
    )
    by_region: dict[str, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    for country in countries:
        by_region[country["region_id"]].append(country)
    for row in rows:
        row["countries"] = by_region[row["id"]]
    return rows


async def list_regions(query: RegionsQuery) -> dict[str, Any]:
    """``{"regions", "count", "offset", "limit"}`` of the live regions matching ``query``."""
    queryset = Region.filter(deleted_at=None)
    if query.id:
        queryset = queryset.filter(id__in=query.id)
    if query.name:
        queryset = queryset.filter(name__in=query.name)
    if query.currency_code:
        queryset = queryset.filter(currency_code__in=[code.lower() for code in query.currency_code])
    if query.q:
        queryset = queryset.filter(name__icontains=query.q)
    rows, count = await fetch_value_page(queryset, query, REGION_FIELDS, allowed_order=REGION_ORDER_FIELDS)
    regions = await _with_countries(rows) if rows else []
    return {"regions": regions, "count": count, "offset": query.offset, "limit": query.limit}


async def get_region(region_id: str) -> dict[str, Any]:
    """``{"region"}``; :raises NotFound: for an unknown or deleted region."""
    rows = await Region.filter(id=region_id, deleted_at=None).values(*REGION_FIELDS)
    if not rows:
        raise NotFound(f"Region with id: {region_id} was not found")
    (region,) = await _with_countries(rows)
    return {"region": region}


async def _assign_countries(region_id: str, codes: Sequence[str]) -> None:
    """Make ``codes`` exactly the region's countries (inside the caller's transaction).

    :raises InvalidData: for an unknown code, or a country already in another region.
    """
    wanted = [code.lower() for code in codes]
    duplicates = sorted({code for code in wanted if wanted.count(code) > 1})
    if duplicates:
        raise InvalidData(f'Countries with codes: "{", ".join(duplicates)}" are already assigned to a region')
    countries = await ensure_countries(wanted)
    iso_codes = [country.iso_2 for country in countries]
    await Country.filter(region_id=region_id).exclude(iso_2__in=iso_codes).update(region_id=None)
    if not iso_codes:
        return
    free = Q(region_id=None) | Q(region_id=region_id)
    claimed = await Country.filter(free, iso_2__in=iso_codes).update(region_id=region_id)
    if claimed != len(iso_codes):
        taken = (
            await Country.filter(iso_2__in=iso_codes)
            .exclude(region_id=region_id)
            .values_list("iso_2", flat=True)
        )
        raise InvalidData(
            f'Countries with codes: "{", ".join(sorted(map(str, taken)))}" are already assigned to a region'
        )


async def create_region(body: CreateRegionBody) -> dict[str, Any]:
    """``POST /admin/regions``: the new region as ``{"region"}``."""
    async with in_transaction():
        region = await Region.create(
            name=body.name,
            currency_code=body.currency_code,
            automatic_taxes=True if body.automatic_taxes is None else body.automatic_taxes,
            metadata=body.metadata,
        )
        await _assign_countries(region.id, body.countries)
    bump_catalog_version()
    return await get_region(region.id)


async def update_region(region_id: str, body: UpdateRegionBody) -> dict[str, Any]:
    """``POST /admin/regions/{id}``: change the fields given; ``countries`` replaces the set."""
    changes = changed_fields(body, nullable=("metadata",), exclude=("countries",))
    async with in_transaction():
        region = await Region.filter(id=region_id, deleted_at=None).select_for_update().first()
        if region is None:
            raise NotFound(f"Region with id: {region_id} was not found")
        if changes:
            region.update_from_dict(changes)
            await region.save()
        if body.countries is not None:
            await _assign_countries(region.id, body.countries)
    bump_catalog_version()
    return await get_region(region_id)
