"""The ``complete-cart`` workflow: turn a cart into an order, exactly once.

Steps: ``acquire-completion-lease`` → ``load-cart`` → ``validate-cart-items`` →
``validate-cart-payments`` → ``validate-complete-cart`` (hook) → ``create-order``.

Exactly once: the lease (``Cart.completing_until``, taken by one conditional UPDATE) makes a
concurrent completion a 409 while it runs, and expires so a crashed completion cannot block the
cart forever. A completed cart returns its order (idempotent). ``create-order`` is one transaction
that starts by marking the cart completed (a conditional UPDATE that also locks the row), then
takes the stock, numbers the order from the ``order_display_id`` counter, writes the order, its
items, the payment status and the ``order.placed`` outbox event; ``Order.cart_id`` is unique as a
last line of defence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.catalog.cache import bump_catalog_version
from core.errors import Conflict, InvalidData
from core.inventory import decrement_inventory
from core.models import Cart, Event, Order, OrderItem, PaymentCollection, PaymentSession
from core.plugins import call_all
from core.schemas.items import address_snapshot
from core.workflows.cart_data import LoadedCart, cart_not_found, customer_view, ensure_cart_access
from core.workflows.cart_locks import cart_lock
from core.workflows.cart_steps import CONFLICT_MESSAGE, LoadCartInput, load_cart_step
from core.workflows.counters import ORDER_DISPLAY_ID, next_counter_value
from core.workflows.engine import StepContext, StepResponse, step, workflow

__all__ = [
    "LEASE_SECONDS",
    "CompleteCartInput",
    "PlacedOrder",
    "complete_cart",
    "load_placed_order",
]

LEASE_SECONDS = 30
ORDER_PLACED = "order.placed"
PROCESSABLE_SESSION_STATUSES = frozenset(
    {"pending", "requires_more", "authorized", "captured", "pending_authorization"}
)


@dataclass(frozen=True, slots=True)
class CompleteCartInput:
    cart_id: str
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """The order a cart became, with its items."""

    order: Order
    items: list[OrderItem]


async def load_placed_order(cart_id: str) -> PlacedOrder | None:
    """The order made from ``cart_id``, if any (two queries)."""
    order = await Order.get_or_none(cart_id=cart_id)
    if order is None:
        return None
    return PlacedOrder(order, list(await OrderItem.filter(order_id=order.id).order_by("id")))


@dataclass(frozen=True, slots=True)
class Lease:
    cart_id: str
    until: datetime


@step("acquire-completion-lease")
async def acquire_lease(input: CompleteCartInput) -> StepResponse[PlacedOrder | None]:
    """Take the cart's completion lease; or return its order when it is already completed.

    :raises Conflict: while another request holds the lease.
    """
    now = timezone.now()
    until = now + timedelta(seconds=LEASE_SECONDS)
    taken = (
        await Cart.filter(id=input.cart_id, completed_at=None)
        .filter(Q(completing_until=None) | Q(completing_until__lt=now))
        .update(completing_until=until)
    )
    if taken:
        return StepResponse(None, compensate_input=Lease(input.cart_id, until))
    cart = await Cart.get_or_none(id=input.cart_id)
    if cart is None:
        raise cart_not_found(input.cart_id)
    ensure_cart_access(cart, input.customer_id)
    if cart.completed_at is None:
        raise Conflict(CONFLICT_MESSAGE)
    placed = await load_placed_order(input.cart_id)
    if placed is None:
        raise InvalidData(f"Cart {input.cart_id} is already completed.")
    return StepResponse(placed, compensate_input=None)


@acquire_lease.compensate
async def release_lease(lease: Lease | None) -> None:
    """Give the lease back (only if it is still ours)."""
    if lease is not None:
        await Cart.filter(id=lease.cart_id, completing_until=lease.until).update(completing_until=None)


@step("validate-cart-items")
async def validate_cart_items(loaded: LoadedCart) -> None:
    if not loaded.items:
        raise InvalidData("Cannot complete a cart with no items")


@step("validate-cart-payments")
async def validate_cart_payments(loaded: LoadedCart) -> list[PaymentSession]:
    """The sessions to authorize; none needed when the total is 0."""
    if loaded.total() <= 0:
        return []
    if loaded.payment_collection is None:
        raise InvalidData("Payment collection has not been initiated for cart")
    sessions = [s for s in loaded.payment_sessions if s.status in PROCESSABLE_SESSION_STATUSES]
    if not sessions:
        raise InvalidData("Payment sessions are required to complete cart")
    return sessions


@step("validate-complete-cart")
async def validate_complete_cart(loaded: LoadedCart, ctx: StepContext) -> None:
    """Every ``validate_complete_cart`` implementation (core's inventory check runs last)."""
    await call_all(
        ctx.run.hooks.validate_complete_cart, cart=loaded.view(), customer=customer_view(loaded.customer)
    )


def _new_order(loaded: LoadedCart, display_id: int, paid: bool) -> Order:
    cart = loaded.cart
    total = loaded.total()
    return Order(
        display_id=display_id,
        cart_id=cart.id,
        status="pending",
        payment_status="authorized" if paid else "not_paid",
        region_id=cart.region_id,  # type: ignore[attr-defined]
        customer_id=cart.customer_id,  # type: ignore[attr-defined]
        sales_channel_id=cart.sales_channel_id,  # type: ignore[attr-defined]
        email=cart.email,
        currency_code=cart.currency_code,
        item_total=total,
        subtotal=total,
        total=total,
        tax_total=Decimal(0),
        shipping_total=Decimal(0),
        discount_total=Decimal(0),
        shipping_address=address_snapshot(loaded.shipping_address),
        billing_address=address_snapshot(loaded.billing_address),
        metadata=cart.metadata,
    )


def _order_items(loaded: LoadedCart, order: Order) -> list[OrderItem]:
    return [
        OrderItem(
            order_id=order.id,
            line_item_id=line.id,
            title=line.title,
            subtitle=line.subtitle,
            thumbnail=line.thumbnail,
            quantity=line.quantity,
            unit_price=line.unit_price,
            is_custom_price=line.is_custom_price,
            is_tax_inclusive=line.is_tax_inclusive,
            requires_shipping=line.requires_shipping,
            variant_id=line.variant_id,
            product_id=line.product_id,
            product_title=line.product_title,
            product_handle=line.product_handle,
            variant_title=line.variant_title,
            variant_sku=line.variant_sku,
            metadata=line.metadata,
            created_at=order.created_at,
            updated_at=order.created_at,
        )
        for line in loaded.items
    ]


async def _authorize_payment(loaded: LoadedCart, sessions: list[PaymentSession]) -> None:
    """The system provider authorizes at once: mark the sessions and the collection."""
    if not sessions or loaded.payment_collection is None:
        return
    await PaymentSession.filter(id__in=[s.id for s in sessions]).update(status="authorized")
    await PaymentCollection.filter(id=loaded.payment_collection.id).update(status="authorized")


@dataclass(frozen=True, slots=True)
class CreateOrderInput:
    loaded: LoadedCart
    sessions: list[PaymentSession]


@step("create-order")
async def create_order(input: CreateOrderInput) -> PlacedOrder:
    """One transaction: cart completed, stock taken, order numbered and written, event recorded."""
    loaded = input.loaded
    now = timezone.now()
    quantities: Counter[str] = Counter()
    for line in loaded.items:
        if line.variant_id is not None:
            quantities[line.variant_id] += line.quantity
    try:
        async with in_transaction():
            completed = await Cart.filter(id=loaded.id, completed_at=None).update(
                completed_at=now, completing_until=None, updated_at=now
            )
            if not completed:
                raise Conflict(CONFLICT_MESSAGE)
            stock_changed = await decrement_inventory(quantities)
            order = _new_order(loaded, await next_counter_value(ORDER_DISPLAY_ID), bool(input.sessions))
            await order.save()
            items = _order_items(loaded, order)
            await OrderItem.bulk_create(items)
            await _authorize_payment(loaded, input.sessions)
            await Event.create(name=ORDER_PLACED, payload={"id": order.id})
    except IntegrityError:
        raise Conflict(CONFLICT_MESSAGE) from None
    if stock_changed:
        bump_catalog_version()  # the stock the catalog shows changed
    return PlacedOrder(order, items)


@workflow("complete-cart")
async def complete_cart(input: CompleteCartInput) -> PlacedOrder:
    """Complete the cart (or return the order it already became)."""
    async with cart_lock(input.cart_id):
        existing = await acquire_lease(input)
        if existing is not None:
            return existing
        loaded = await load_cart_step(LoadCartInput(input.cart_id, input.customer_id))
        await validate_cart_items(loaded)
        sessions = await validate_cart_payments(loaded)
        await validate_complete_cart(loaded)
        return await create_order(CreateOrderInput(loaded, sessions))
