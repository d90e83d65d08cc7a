"""Publishable API key request/response models (Admin API)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas.paging import SearchListQuery
from core.schemas.sales_channels import SalesChannelOut

__all__ = [
    "ApiKeyListResponse",
    "ApiKeyOut",
    "ApiKeyResponse",
    "ApiKeySalesChannelsBody",
    "ApiKeysQuery",
    "CreateApiKeyBody",
]


class ApiKeyOut(BaseModel):
    """A publishable key: its token is meant to be public (storefronts send it on every request)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    token: str
    redacted: str
    title: str
    type: Literal["publishable"]
    revoked_at: datetime | None
    sales_channels: list[SalesChannelOut]
    created_at: datetime
    updated_at: datetime


class ApiKeyResponse(BaseModel):
    api_key: ApiKeyOut


class ApiKeyListResponse(BaseModel):
    api_keys: list[ApiKeyOut]
    count: int
    offset: int
    limit: int


class ApiKeysQuery(SearchListQuery):
    """``GET /admin/api-keys``: ``q`` searches the title; ``revoked`` filters by state."""

    revoked: bool | None = None


class CreateApiKeyBody(BaseModel):
    """``POST /admin/api-keys``: only publishable keys exist here (admins log in with tokens)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=255)
    type: Literal["publishable"]


class ApiKeySalesChannelsBody(BaseModel):
    """``POST /admin/api-keys/{id}/sales-channels``: channel ids to link and to unlink."""

    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
