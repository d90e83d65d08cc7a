"""The ``update-cart`` workflow: email, region, sales channel, addresses, metadata, locale.

Steps: ``load-cart`` → ``validate-cart`` → (region change: ``find-region`` → ``get-variants`` →
``price-line-items`` at the new currency) → (channel change: ``find-sales-channel``) →
``write-cart`` (one transaction: addresses upserted, cart fields, re-priced lines, payment
collection refreshed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tortoise import timezone
from tortoise.transactions import in_transaction

from core.models import Address, LineItem, Region
from core.views import ItemToAdd, LinePrice
from core.workflows.cart_data import REGIONS, LoadedCart
from core.workflows.cart_locks import cart_lock
from core.workflows.cart_steps import (
    GetVariantsInput,
    LoadCartInput,
    claim_cart,
    find_region,
    get_variants,
    hook_input,
    load_cart_step,
    price_line_items,
    refresh_payment_collection,
    validate_cart,
    variant_view,
)
from core.workflows.create_cart import SalesChannelInput, find_sales_channel
from core.workflows.engine import step, workflow

__all__ = [
    "CART_FIELDS",
    "UpdateCartInput",
    "update_cart",
]

# The cart columns a storefront may set directly.
CART_FIELDS = ("email", "metadata", "locale")


@dataclass(frozen=True, slots=True)
class UpdateCartInput:
    """The changes of ``POST /store/carts/{id}``: only the keys present in ``fields`` change."""

    cart_id: str
    key_sales_channel_ids: tuple[str, ...]
    customer_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    region_id: str | None = None
    sales_channel_id: str | None = None
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None


@step("find-region")
async def find_new_region(region_id: str) -> Region:
    return await find_region(region_id)


async def _reprice(loaded: LoadedCart, region: Region) -> list[tuple[LineItem, LinePrice]]:
    """Prices of the cart's (non-custom) lines in the new region's currency."""
    lines = [line for line in loaded.items if line.variant_id is not None and not line.is_custom_price]
    if not lines:
        return []
    variant_ids = tuple(line.variant_id for line in lines if line.variant_id is not None)
    variants = await get_variants(GetVariantsInput(variant_ids, loaded.sales_channel_id))
    items = [
        ItemToAdd(
            variant=variant_view(variants[line.variant_id]),
            quantity=line.quantity,
            added_quantity=0,
            metadata=line.metadata,
            line_item_id=line.id,
        )
        for line in lines
        if line.variant_id is not None
    ]
    prices = await price_line_items(hook_input(loaded, items))
    return [(line, prices[line.variant_id]) for line in lines if line.variant_id is not None]


@dataclass(frozen=True, slots=True)
class WriteCartInput:
    loaded: LoadedCart
    changes: dict[str, Any]
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    repriced: tuple[tuple[LineItem, LinePrice], ...]


async def _upsert_address(current: Address | None, data: dict[str, Any]) -> Address:
    """Update the cart's address in place with the fields sent, or create it."""
    if current is None:
        return await Address.create(**data)
    if data:
        for name, value in data.items():
            setattr(current, name, value)
        current.updated_at = timezone.now()
        await current.save(update_fields=[*data, "updated_at"])
    return current


@step("write-cart")
async def write_cart(input: WriteCartInput) -> LoadedCart:
    """One transaction: addresses, the cart's columns, re-priced lines, the payment collection."""
    loaded = input.loaded
    changes = dict(input.changes)
    async with in_transaction():
        if input.shipping_address is not None:
            address = await _upsert_address(loaded.shipping_address, input.shipping_address)
            changes["shipping_address_id"] = address.id
            loaded.cart.shipping_address = address
        if input.billing_address is not None:
            address = await _upsert_address(loaded.billing_address, input.billing_address)
            changes["billing_address_id"] = address.id
            loaded.cart.billing_address = address
        await claim_cart(loaded, **changes)
        if input.repriced:
            for line, price in input.repriced:
                line.unit_price = price.unit_price
                line.compare_at_unit_price = price.compare_at_unit_price
                line.is_custom_price = price.is_custom_price
                line.updated_at = loaded.cart.updated_at
            lines = [line for line, _ in input.repriced]
            fields = ["unit_price", "compare_at_unit_price", "is_custom_price", "updated_at"]
            await LineItem.bulk_update(lines, fields=fields)
        await refresh_payment_collection(loaded)
    return loaded


@workflow("update-cart")
async def update_cart(input: UpdateCartInput) -> LoadedCart:
    """Apply the changes; returns the cart as it is after them."""
    async with cart_lock(input.cart_id):
        loaded = await load_cart_step(LoadCartInput(input.cart_id, input.customer_id))
        await validate_cart(loaded)
        changes = {name: value for name, value in input.fields.items() if name in CART_FIELDS}
        repriced: list[tuple[LineItem, LinePrice]] = []
        if input.region_id is not None and input.region_id != loaded.cart.region_id:  # type: ignore[attr-defined]
            region = await find_new_region(input.region_id)
            loaded.cart.region = region
            loaded.cart.currency_code = region.currency_code.lower()
            _, loaded.countries = await REGIONS.get(region.id)
            changes.update(region_id=region.id, currency_code=loaded.cart.currency_code)
            repriced = await _reprice(loaded, region)
        if input.sales_channel_id is not None:
            request = SalesChannelInput(input.sales_channel_id, input.key_sales_channel_ids)
            changes["sales_channel_id"] = await find_sales_channel(request)
        write = WriteCartInput(loaded, changes, input.shipping_address, input.billing_address, tuple(repriced))
        return await write_cart(write)
