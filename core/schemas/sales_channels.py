"""Sales channel request/response models (Admin API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CreateSalesChannelBody",
    "SalesChannelListResponse",
    "SalesChannelOut",
    "SalesChannelResponse",
]


class SalesChannelOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    description: str | None
    is_disabled: bool
    created_at: datetime
    updated_at: datetime


class SalesChannelResponse(BaseModel):
    sales_channel: SalesChannelOut


class SalesChannelListResponse(BaseModel):
    sales_channels: list[SalesChannelOut]
    count: int
    offset: int
    limit: int


class CreateSalesChannelBody(BaseModel):
    """``POST /admin/sales-channels``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    is_disabled: bool = False
