"""The ``create-cart`` workflow: a new cart, optionally with addresses and initial items.

Steps: ``find-region`` → ``find-sales-channel`` → ``find-customer`` → (with items:
``get-variants`` → ``validate-add-to-cart`` → ``price-line-items``) → ``create-cart`` (one
transaction: addresses, cart, line items).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise import timezone
from tortoise.transactions import in_transaction

from core.errors import InvalidData
from core.ids import new_id
from core.models import Address, Cart, Customer, Region, SalesChannel
from core.views import LinePrice
from core.workflows.add_to_cart import (
    PlannedLine,
    RequestedItem,
    add_planned_lines,
    plan_lines,
    validate_and_price,
)
from core.workflows.cart_data import REGIONS, LoadedCart, load_customer
from core.workflows.cart_steps import GetVariantsInput, find_region, get_variants
from core.workflows.engine import step, workflow

__all__ = [
    "CreateCartInput",
    "SalesChannelInput",
    "create_cart",
    "find_sales_channel",
]

UNKNOWN_CHANNEL = "Requested sales channel is not part of the publishable key mappings"


@dataclass(frozen=True, slots=True)
class CreateCartInput:
    """What ``POST /store/carts`` asks for; addresses are plain field dicts."""

    key_sales_channel_ids: tuple[str, ...]
    customer_id: str | None = None
    region_id: str | None = None
    currency_code: str | None = None
    sales_channel_id: str | None = None
    email: str | None = None
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    locale: str | None = None
    items: tuple[RequestedItem, ...] = field(default_factory=tuple)


@step("find-region")
async def find_region_step(input: CreateCartInput) -> Region:
    """The requested region (or the oldest); a requested currency must be the region's."""
    region = await find_region(input.region_id)
    if input.currency_code is not None and input.currency_code.lower() != region.currency_code.lower():
        raise InvalidData(
            f"Currency {input.currency_code.lower()} is not the currency of region {region.id} "
            f"({region.currency_code})"
        )
    return region


@dataclass(frozen=True, slots=True)
class SalesChannelInput:
    requested: str | None
    key_sales_channel_ids: tuple[str, ...]


@step("find-sales-channel")
async def find_sales_channel(input: SalesChannelInput) -> str | None:
    """The requested channel, which the publishable key must open; by default the key's first."""
    channel_id = input.requested
    if channel_id is None:
        return input.key_sales_channel_ids[0] if input.key_sales_channel_ids else None
    if channel_id not in input.key_sales_channel_ids:
        raise InvalidData(UNKNOWN_CHANNEL)
    channel = await SalesChannel.get_or_none(id=channel_id)
    if channel is None:
        raise InvalidData(UNKNOWN_CHANNEL)
    if channel.is_disabled:
        raise InvalidData(f"Unable to assign cart to disabled Sales Channel: {channel.name}")
    return channel_id


@step("find-customer")
async def find_customer(customer_id: str | None) -> Customer | None:
    return await load_customer(customer_id)


def _new_cart(input: CreateCartInput, region: Region, channel_id: str | None, customer: Customer | None) -> Cart:
    now = timezone.now()
    return Cart(
        id=new_id("cart"),
        region=region,
        currency_code=region.currency_code.lower(),
        email=input.email or (customer.email if customer is not None else None),
        customer_id=customer.id if customer is not None else None,
        sales_channel_id=channel_id,
        locale=input.locale,
        metadata=input.metadata,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True, slots=True)
class InsertCartInput:
    loaded: LoadedCart
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    plan: tuple[PlannedLine, ...]
    prices: Mapping[str, LinePrice]


@step("create-cart")
async def insert_cart(input: InsertCartInput) -> LoadedCart:
    """One transaction: the addresses, the cart, its line items."""
    cart = input.loaded.cart
    async with in_transaction():
        if input.shipping_address is not None:
            cart.shipping_address = await Address.create(**input.shipping_address)
        if input.billing_address is not None:
            cart.billing_address = await Address.create(**input.billing_address)
        await cart.save(force_create=True)
        await add_planned_lines(input.loaded, input.plan, input.prices)
    return input.loaded


async def _priced_plan(
    loaded: LoadedCart, items: Sequence[RequestedItem]
) -> tuple[list[PlannedLine], Mapping[str, LinePrice]]:
    if not items:
        return [], {}
    variant_ids = tuple(item.variant_id for item in items)
    variants = await get_variants(GetVariantsInput(variant_ids, loaded.sales_channel_id))
    plan = plan_lines(loaded, items, variants)
    return plan, await validate_and_price(loaded, plan)


@workflow("create-cart")
async def create_cart(input: CreateCartInput) -> LoadedCart:
    """Create the cart; returns it as stored."""
    region = await find_region_step(input)
    channel_id = await find_sales_channel(SalesChannelInput(input.sales_channel_id, input.key_sales_channel_ids))
    customer = await find_customer(input.customer_id)
    cart = _new_cart(input, region, channel_id, customer)
    _, countries = await REGIONS.get(region.id)
    loaded = LoadedCart(cart, [], countries, customer=customer)
    plan, prices = await _priced_plan(loaded, input.items)
    insert = InsertCartInput(loaded, input.shipping_address, input.billing_address, tuple(plan), prices)
    return await insert_cart(insert)
