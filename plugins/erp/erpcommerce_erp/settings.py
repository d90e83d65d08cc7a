"""``[plugins.erp]``: what the ERP plugin does, validated when the plugin is configured."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.config import Settings, plugin_settings

__all__ = [
    "ErpPluginSettings",
    "load_plugin_settings",
]

SECTION = "erp"


class ErpPluginSettings(BaseModel):
    """Every key of ``[plugins.erp]`` with its default (documented in the README)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long one ERP call on a storefront request may take before it fails with 503.
    timeout_seconds: float = Field(default=5.0, gt=0)
    # How long one ERP call of a background run (a sync page, an order) may take; then it is retried.
    sync_timeout_seconds: float = Field(default=120.0, gt=0)
    # ERP prices in POST /store/carts/{id}/line-items (custom-line-items always use them).
    prices_on_line_items: bool = True
    # ERP prices when a line item's quantity changes (custom-priced lines are always re-priced).
    prices_on_quantity_update: bool = True
    # ERP prices in product listings' calculated_price (listings are then cached per customer).
    prices_in_listings: bool = False
    # Ask the ERP again at completion and refuse the cart if a price changed.
    recheck_prices_at_completion: bool = True
    # Ask the ERP whether the customer's company may buy each product.
    restrict_purchases: bool = True
    # Check the ERP's live stock on add and at completion.
    check_inventory: bool = True
    # Records per ERP page in product sync.
    sync_page_size: int = Field(default=200, ge=1, le=10_000)
    # Product sync: retries of an ERP page call before the run fails, and their backoff.
    sync_max_retries: int = Field(default=5, ge=0)
    sync_backoff_seconds: float = Field(default=2.0, gt=0)
    sync_max_backoff_seconds: float = Field(default=300.0, gt=0)
    # Order -> ERP: retries of the ERP call before the run fails, and their backoff.
    order_sync_max_retries: int = Field(default=8, ge=0)
    order_sync_backoff_seconds: float = Field(default=2.0, gt=0)
    order_sync_max_backoff_seconds: float = Field(default=300.0, gt=0)
    # ERP -> order: an update for an ERP order no store order is linked to (yet) is retried this
    # many times with this backoff (the export may not have stored the ERP id yet), then fails.
    order_update_max_retries: int = Field(default=10, ge=0)
    order_update_backoff_seconds: float = Field(default=2.0, gt=0)
    order_update_max_backoff_seconds: float = Field(default=60.0, gt=0)
    # Signed webhooks: how old X-Erp-Timestamp may be, in seconds.
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    # ERP order status -> store order status, over the ERP client's own map.
    status_map: dict[str, str] = Field(default_factory=dict)
    # ERP order status -> store fulfillment status, over the ERP client's own map.
    fulfillment_status_map: dict[str, str] = Field(default_factory=dict)


def load_plugin_settings(settings: Settings) -> ErpPluginSettings:
    """``[plugins.erp]`` validated.

    :raises ConfigError: naming the first bad key.
    """
    return plugin_settings(ErpPluginSettings, SECTION, settings.plugins.get(SECTION, {}))
