"""``[plugins.odoo]``: where Odoo is and how the client talks to it, validated at configure time."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.config import plugin_settings

__all__ = [
    "SECTION",
    "OdooSettings",
    "load_settings",
]

SECTION = "odoo"


class OdooSettings(BaseModel):
    """Every key of ``[plugins.odoo]`` with its default (the fake Odoo's own defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Odoo's base URL; the client posts to <url>/jsonrpc.
    url: str = "http://127.0.0.1:8069"
    database: str = Field(default="demo", min_length=1)
    login: str = Field(default="admin", min_length=1)
    # The user's password or, better, an API key (Preferences > Account Security).
    password: str = Field(default="admin", min_length=1)
    # How long one JSON-RPC call may take (the erp plugin also bounds whole operations).
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Odoo's limit_time_real (120 s by default) plus a margin: how long a request whose answer was
    # lost may still run in Odoo. An order create that failed is not tried again sooner.
    request_time_limit_seconds: float = Field(default=130.0, ge=0)
    # Calls in flight at once: Odoo has few workers.
    max_parallel_calls: int = Field(default=4, ge=1, le=64)
    # The most records one search_read page reads (the sync's own page size is a cap too).
    page_size: int = Field(default=500, ge=1, le=10_000)
    # Many2many product.template -> res.partner of the companies allowed to buy it ("" = no restriction).
    allowed_partners_field: str = "x_allowed_partner_ids"
    # The product.product quantity offered for sale.
    stock_field: Literal["free_qty", "qty_available"] = "free_qty"
    # The pricelist of guests and of the store's own prices (None: the first active pricelist).
    public_pricelist_id: int | None = Field(default=None, ge=1)
    # The company the client acts for (None: the user's current company).
    company_id: int | None = Field(default=None, ge=1)
    # How long partners, pricelists and categories read from Odoo are reused.
    cache_seconds: float = Field(default=30.0, ge=0)
    # Incremental syncs re-read this many seconds before their cursor (Odoo stamps write_date at
    # the start of a transaction, so a long transaction may commit rows older than the cursor).
    cursor_overlap_seconds: int = Field(default=0, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")

    @field_validator("allowed_partners_field")
    @classmethod
    def _field_name(cls, name: str) -> str:
        if name and not name.replace("_", "").isalnum():
            raise ValueError("must be a field name (letters, digits, underscores) or empty")
        return name


def load_settings(raw: dict[str, Any]) -> OdooSettings:
    """``[plugins.odoo]`` validated.

    :raises ConfigError: naming the first bad key (``plugins.odoo.<key>``).
    """
    return plugin_settings(OdooSettings, SECTION, raw)
