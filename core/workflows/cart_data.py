"""A cart with everything its rendering and its workflows need, loaded in few queries.

:func:`load_cart` issues two statements (the cart joined with its addresses and payment
collection; its line items), three when the cart has a payment collection (its sessions); regions
and their countries come from a short-lived cache (:class:`RegionCache`). Workflows mutate the loaded
objects as they write, so the response is rendered without reading the cart again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.catalog.cache import DEFAULT_TTL_SECONDS, catalog_version
from core.errors import NotFound
from core.models import (
    Address,
    Cart,
    Country,
    Customer,
    LineItem,
    PaymentCollection,
    PaymentSession,
    Region,
)
from core.schemas.regions import CountryOut
from core.views import CartItemView, CartView, CustomerView
from core.workflows.cart_statements import (
    SELECT_LINE_ITEMS,
    SELECT_PAYMENT_SESSIONS,
    load_models,
    model_from_row,
    select_cart_row,
)

__all__ = [
    "REGIONS",
    "LoadedCart",
    "RegionCache",
    "cart_not_found",
    "customer_view",
    "ensure_cart_access",
    "load_cart",
    "load_countries",
    "load_customer",
]

COUNTRY_FIELDS = tuple(CountryOut.model_fields)


def cart_not_found(cart_id: str) -> NotFound:
    """Medusa's 404 for a cart that does not exist (or is not the caller's)."""
    return NotFound(f"Cart with id '{cart_id}' not found")


@dataclass(slots=True)
class LoadedCart:
    """A cart and its related rows; ``items`` are ordered by creation."""

    cart: Cart
    items: list[LineItem]
    countries: list[dict[str, Any]]
    payment_collection: PaymentCollection | None = None
    payment_sessions: list[PaymentSession] = field(default_factory=list)
    # The customer making the request (None for a guest), for the hook views.
    customer: Customer | None = None

    @property
    def id(self) -> str:
        return str(self.cart.id)

    @property
    def sales_channel_id(self) -> str | None:
        channel_id: str | None = self.cart.sales_channel_id  # type: ignore[attr-defined]
        return channel_id

    @property
    def region(self) -> Region:
        region: Region = self.cart.region  # attached by load_cart
        return region

    @property
    def shipping_address(self) -> Address | None:
        address = self.cart.shipping_address
        return address if isinstance(address, Address) else None

    @property
    def billing_address(self) -> Address | None:
        address = self.cart.billing_address
        return address if isinstance(address, Address) else None

    def item_total(self) -> Decimal:
        """The sum of the items' subtotals (no taxes, discounts or shipping yet)."""
        return sum((Decimal(i.unit_price) * i.quantity for i in self.items), Decimal(0))

    def total(self) -> Decimal:
        return self.item_total()

    def view(self) -> CartView:
        """The cart as hook implementations see it."""
        cart = self.cart
        return CartView(
            id=cart.id,
            region_id=cart.region_id,  # type: ignore[attr-defined]
            currency_code=cart.currency_code,
            email=cart.email,
            customer_id=cart.customer_id,  # type: ignore[attr-defined]
            sales_channel_id=cart.sales_channel_id,  # type: ignore[attr-defined]
            completed_at=cart.completed_at,
            metadata=cart.metadata,
            items=[
                CartItemView(
                    id=item.id,
                    variant_id=item.variant_id,
                    product_id=item.product_id,
                    quantity=item.quantity,
                    unit_price=Decimal(item.unit_price),
                    is_custom_price=item.is_custom_price,
                    metadata=item.metadata,
                )
                for item in self.items
            ],
        )


async def load_countries(region_id: str) -> list[dict[str, Any]]:
    """A region's countries as :class:`~core.schemas.regions.CountryOut` dicts (one query)."""
    rows: list[dict[str, Any]] = await Country.filter(region_id=region_id).order_by("iso_2").values(*COUNTRY_FIELDS)
    return rows


class RegionCache:
    """Regions with their countries, kept for ``ttl`` seconds and dropped by any catalog write here.

    Every cart response shows its region; regions change rarely. Writes made in this process bump
    the catalog version (:func:`core.catalog.cache.bump_catalog_version`) and invalidate at once;
    the TTL bounds the staleness of writes made by other processes.
    """

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = 1000) -> None:
        self.ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[int, float, Region, list[dict[str, Any]]]] = {}

    async def get(self, region_id: str) -> tuple[Region, list[dict[str, Any]]]:
        """The region and its countries (two queries on a miss).

        :raises NotFound: when the region does not exist.
        """
        version, now = catalog_version(), time.monotonic()
        entry = self._entries.get(region_id)
        if entry is not None and entry[0] == version and entry[1] > now:
            return entry[2], entry[3]
        region = await Region.get_or_none(id=region_id)
        if region is None:
            raise NotFound(f"Region with id: {region_id} was not found")
        countries = await load_countries(region_id)
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[region_id] = (version, now + self.ttl, region, countries)
        return region, countries


REGIONS = RegionCache()


async def load_cart(cart_id: str) -> LoadedCart:
    """The cart with its region, addresses, items, countries and payment collection.

    Two statements when the cart has no payment collection, three when it has (its sessions),
    plus two when its region is not cached.

    :raises NotFound: when there is no such cart.
    """
    row = await select_cart_row(Cart, Address, PaymentCollection, cart_id)
    cart = model_from_row(Cart, row, "c") if row is not None else None
    if row is None or cart is None:
        raise cart_not_found(cart_id)
    cart.region, countries = await REGIONS.get(cart.region_id)  # type: ignore[attr-defined]
    cart.shipping_address = model_from_row(Address, row, "sa")
    cart.billing_address = model_from_row(Address, row, "ba")
    items = await load_models(LineItem, SELECT_LINE_ITEMS, [cart_id])
    loaded = LoadedCart(cart, items, countries)
    collection = model_from_row(PaymentCollection, row, "pc")
    if collection is not None:
        loaded.payment_collection = collection
        loaded.payment_sessions = await load_models(PaymentSession, SELECT_PAYMENT_SESSIONS, [collection.id])
    return loaded


def ensure_cart_access(cart: Cart, customer_id: str | None) -> None:
    """A cart bound to a customer is invisible (404) to a *different* logged-in customer.

    Guests reach any cart by its unguessable id, as in Medusa.
    """
    owner = cart.customer_id  # type: ignore[attr-defined]
    if owner is not None and customer_id is not None and owner != customer_id:
        raise cart_not_found(cart.id)


async def load_customer(customer_id: str | None) -> Customer | None:
    """The logged-in customer, or None for a guest (or a token whose customer is gone)."""
    if customer_id is None:
        return None
    return await Customer.get_or_none(id=customer_id, deleted_at=None)


def customer_view(customer: Customer | None) -> CustomerView | None:
    """The customer as hook implementations see it."""
    if customer is None:
        return None
    return CustomerView(
        id=customer.id,
        email=customer.email,
        company_name=customer.company_name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
        metadata=customer.metadata,
    )
