"""Region request/response models (Store and Admin APIs share the region shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.schemas.paging import SearchListQuery, ValueList

__all__ = [
    "CountryOut",
    "CreateRegionBody",
    "RegionListResponse",
    "RegionOut",
    "RegionResponse",
    "RegionsQuery",
    "UpdateRegionBody",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountryOut(_Out):
    iso_2: str
    iso_3: str
    num_code: str
    name: str
    display_name: str
    region_id: str | None


class RegionOut(_Out):
    """A region; storefronts pick theirs by ``countries[].iso_2``."""

    id: str
    name: str
    currency_code: str
    automatic_taxes: bool
    metadata: dict[str, Any] | None
    countries: list[CountryOut]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class RegionResponse(_Out):
    region: RegionOut


class RegionListResponse(_Out):
    regions: list[RegionOut]
    count: int
    offset: int
    limit: int


class RegionsQuery(SearchListQuery):
    """``GET /store/regions`` and ``GET /admin/regions``: ``q`` searches the name."""

    id: ValueList = None
    name: ValueList = None
    currency_code: ValueList = None


def _lower_currency(value: str | None) -> str | None:
    return value.lower() if value is not None else None


class _RegionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    automatic_taxes: bool | None = None
    metadata: dict[str, Any] | None = None


class CreateRegionBody(_RegionFields):
    """``POST /admin/regions``: countries are ISO 3166 alpha-2 codes, each in one region only."""

    name: str = Field(min_length=1, max_length=255)
    currency_code: str = Field(min_length=3, max_length=3)
    countries: list[str] = Field(default_factory=list)

    _currency = field_validator("currency_code")(_lower_currency)


class UpdateRegionBody(_RegionFields):
    """``POST /admin/regions/{id}``: ``countries``, when given, replaces the region's countries."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    currency_code: str | None = Field(default=None, min_length=3, max_length=3)
    countries: list[str] | None = None

    _currency = field_validator("currency_code")(_lower_currency)
