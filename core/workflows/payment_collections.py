"""Payment collections and sessions of carts, and the payment providers of a region.

The only provider is Medusa's built-in manual one, ``pp_system_default``: its sessions start
``pending`` and are authorized when the cart completes. A cart has at most one collection
(creating it again returns it); a collection has at most one session (initiating a session
replaces the previous one, as Medusa does).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import NotFound
from core.models import Cart, LineItem, PaymentCollection, PaymentSession, Region
from core.workflows.cart_data import cart_not_found, ensure_cart_access
from core.workflows.cart_locks import cart_lock
from core.workflows.cart_steps import ensure_cart_open

__all__ = [
    "PAYMENT_PROVIDERS",
    "CollectionWithSessions",
    "create_payment_collection",
    "create_payment_session",
    "list_payment_providers",
]

PAYMENT_PROVIDERS = ("pp_system_default",)


@dataclass(frozen=True, slots=True)
class CollectionWithSessions:
    collection: PaymentCollection
    sessions: list[PaymentSession]


async def list_payment_providers(region_id: str) -> list[str]:
    """The ids of the providers enabled in the region.

    :raises NotFound: for an unknown region.
    """
    if not await Region.exists(id=region_id, deleted_at=None):
        raise NotFound(f"Region with id: {region_id} was not found")
    return list(PAYMENT_PROVIDERS)


async def _cart_total(cart_id: str) -> Decimal:
    lines = await LineItem.filter(cart_id=cart_id).values_list("unit_price", "quantity")
    return sum((Decimal(price) * quantity for price, quantity in lines), Decimal(0))


async def _sessions(collection: PaymentCollection) -> list[PaymentSession]:
    return list(await PaymentSession.filter(collection_id=collection.id).order_by("created_at", "id"))


async def create_payment_collection(cart_id: str, customer_id: str | None) -> CollectionWithSessions:
    """The cart's payment collection, created (for the cart's total) if it has none yet.

    :raises NotFound: for an unknown cart, or another customer's.
    :raises InvalidData: for a completed cart without a collection.
    """
    async with cart_lock(cart_id):
        cart = await Cart.get_or_none(id=cart_id)
        if cart is None:
            raise cart_not_found(cart_id)
        ensure_cart_access(cart, customer_id)
        collection = await PaymentCollection.get_or_none(cart_id=cart_id)
        if collection is not None:
            return CollectionWithSessions(collection, await _sessions(collection))
        ensure_cart_open(cart)
        total = await _cart_total(cart_id)
        try:
            collection = await PaymentCollection.create(cart_id=cart_id, currency_code=cart.currency_code, amount=total)
        except IntegrityError:  # created meanwhile by another process
            collection = await PaymentCollection.get(cart_id=cart_id)
            return CollectionWithSessions(collection, await _sessions(collection))
        return CollectionWithSessions(collection, [])


async def create_payment_session(
    collection_id: str, provider_id: str, data: dict[str, Any] | None, customer_id: str | None
) -> CollectionWithSessions:
    """Initiate a session with ``provider_id`` for the collection's current amount.

    :raises NotFound: for an unknown collection (or another customer's) or provider.
    :raises InvalidData: when the cart is completed.
    """
    collection = await PaymentCollection.get_or_none(id=collection_id).select_related("cart")
    if collection is None:
        raise NotFound(f"Payment collection with id: {collection_id} was not found")
    cart: Cart = collection.cart
    ensure_cart_access(cart, customer_id)
    if provider_id not in PAYMENT_PROVIDERS:
        raise NotFound(f"Payment provider with id: {provider_id} was not found")
    async with cart_lock(cart.id):
        cart = await Cart.get(id=cart.id)
        ensure_cart_open(cart)
        total = await _cart_total(cart.id)
        async with in_transaction():
            if Decimal(collection.amount) != total:
                collection.amount = total
                await collection.save(update_fields=["amount", "updated_at"])
            await PaymentSession.filter(collection_id=collection.id).delete()
            session = await PaymentSession.create(
                collection_id=collection.id,
                provider_id=provider_id,
                currency_code=collection.currency_code,
                amount=total,
                data=data or {},
            )
    return CollectionWithSessions(collection, [session])
