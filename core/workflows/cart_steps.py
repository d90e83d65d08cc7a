"""Steps and write helpers shared by the cart workflows.

Hook steps call **every** implementation (:func:`core.plugins.call_all`) with pydantic views.
Writes happen in one transaction per workflow, which starts with :func:`claim_cart`: a single
conditional UPDATE that locks the cart row (PostgreSQL) and proves nobody changed the cart since
it was loaded, so a concurrent change from another process is a 409, never a lost update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise import timezone
from tortoise.expressions import Q

from core.errors import Conflict, InvalidData, NotFound
from core.models import Cart, LineItem, Product, ProductVariant, Region
from core.plugins import call_all
from core.views import CartView, CustomerView, ItemToAdd, LinePrice, PricingPurpose, VariantView
from core.workflows.cart_data import (
    LoadedCart,
    cart_not_found,
    customer_view,
    ensure_cart_access,
    load_cart,
    load_customer,
)
from core.workflows.cart_statements import (
    DELETE_PAYMENT_SESSIONS,
    claim_cart_row,
    model_from_row,
    select_variant_rows,
    update_payment_collection,
)
from core.workflows.engine import StepContext, step
from core.workflows.statements import fetch

__all__ = [
    "CONFLICT_MESSAGE",
    "PRICE_FIELDS",
    "CartHookInput",
    "GetVariantsInput",
    "LoadCartInput",
    "claim_cart",
    "ensure_cart_open",
    "find_region",
    "get_variants",
    "hook_input",
    "load_cart_step",
    "new_line_item",
    "price_line_items",
    "refresh_payment_collection",
    "set_line_price",
    "validate_add_to_cart",
    "validate_cart",
    "variant_view",
]

# Medusa's error handler replaces every conflict's message with this one.
CONFLICT_MESSAGE = (
    "The request conflicted with another request. You may retry the request with the provided Idempotency-Key."
)


def ensure_cart_open(cart: Cart, now: datetime | None = None) -> None:
    """Refuse to change a completed cart (400) or one being completed right now (409)."""
    if cart.completed_at is not None:
        raise InvalidData(f"Cart {cart.id} is already completed.")
    lease = cart.completing_until
    if lease is not None and lease > (now or timezone.now()):
        raise Conflict(CONFLICT_MESSAGE)


@dataclass(frozen=True, slots=True)
class LoadCartInput:
    cart_id: str
    customer_id: str | None


@step("load-cart")
async def load_cart_step(input: LoadCartInput) -> LoadedCart:
    """The cart (404 if it is another customer's) and the requesting customer."""
    loaded = await load_cart(input.cart_id)
    ensure_cart_access(loaded.cart, input.customer_id)
    loaded.customer = await load_customer(input.customer_id)
    return loaded


@step("validate-cart")
async def validate_cart(loaded: LoadedCart) -> None:
    ensure_cart_open(loaded.cart)


async def find_region(region_id: str | None) -> Region:
    """The region ``region_id``, or the oldest region when None.

    :raises NotFound: for an unknown region id.
    :raises InvalidData: when there is no region at all.
    """
    if region_id is not None:
        region = await Region.get_or_none(id=region_id, deleted_at=None)
        if region is None:
            raise NotFound(f"Region with id: {region_id} was not found")
        return region
    region = await Region.filter(deleted_at=None).order_by("created_at", "id").first()
    if region is None:
        raise InvalidData("No regions found")
    return region


@dataclass(frozen=True, slots=True)
class GetVariantsInput:
    variant_ids: tuple[str, ...]
    sales_channel_id: str | None


def _product_id(variant: ProductVariant) -> str:
    product_id: str = variant.product_id  # type: ignore[attr-defined]
    return product_id


@step("get-variants")
async def get_variants(input: GetVariantsInput) -> dict[str, ProductVariant]:
    """The variants (with their product) by id; each must be sellable in the cart's sales channel.

    One statement (variants joined with their products) when every variant is sellable; one more
    to tell what is wrong when one is not.
    """
    ids = list(dict.fromkeys(input.variant_ids))
    variants: dict[str, ProductVariant] = {}
    products: dict[str, Product] = {}
    for row in await select_variant_rows(ProductVariant, Product, ids, input.sales_channel_id):
        variant = model_from_row(ProductVariant, row, "v")
        if variant is None:
            continue
        variants[variant.id] = variant
        product = model_from_row(Product, row, "p") if row["sellable"] else None
        if product is not None:
            products[product.id] = product
    refused = [vid for vid in ids if vid not in variants or _product_id(variants[vid]) not in products]
    if refused:
        await _explain_refusal(refused, variants, input.sales_channel_id)
    for variant in variants.values():
        variant.product = products[_product_id(variant)]
    return variants


async def _explain_refusal(
    refused: list[str], variants: dict[str, ProductVariant], channel: str | None
) -> None:
    """Raise Medusa's error for variants that are unknown or unpublished, else for the channel."""
    candidates = [_product_id(variants[vid]) for vid in refused if vid in variants]
    rows = await Product.filter(id__in=candidates, status="published", deleted_at=None).values_list("id", flat=True)
    published = {str(product_id) for product_id in rows}
    unknown = [vid for vid in refused if vid not in variants or _product_id(variants[vid]) not in published]
    if unknown:
        raise InvalidData(
            f"Variants {', '.join(unknown)} do not exist or belong to a product that is not published"
        )
    raise InvalidData(f"Variants with IDs {', '.join(refused)} are not available in sales channel {channel}")


def variant_view(variant: ProductVariant) -> VariantView:
    """A variant (with its product loaded) as hook implementations see it."""
    product: Product = variant.product
    return VariantView(
        id=variant.id,
        title=variant.title,
        sku=variant.sku,
        external_id=variant.external_id,
        product_id=product.id,
        product_title=product.title,
        product_external_id=product.external_id,
        manage_inventory=variant.manage_inventory,
        allow_backorder=variant.allow_backorder,
        inventory_quantity=variant.inventory_quantity,
    )


@dataclass(frozen=True, slots=True)
class CartHookInput:
    """The arguments of the cart hooks: the cart, the items concerned, the customer (and why items are priced)."""

    cart: CartView
    items: tuple[ItemToAdd, ...]
    customer: CustomerView | None
    purpose: PricingPurpose = "line-item"


def hook_input(loaded: LoadedCart, items: Iterable[ItemToAdd], purpose: PricingPurpose = "line-item") -> CartHookInput:
    return CartHookInput(loaded.view(), tuple(items), customer_view(loaded.customer), purpose)


@step("validate-add-to-cart")
async def validate_add_to_cart(input: CartHookInput, ctx: StepContext) -> None:
    """Every ``validate_add_to_cart`` implementation (core's inventory check runs last)."""
    await call_all(
        ctx.run.hooks.validate_add_to_cart, cart=input.cart, items=list(input.items), customer=input.customer
    )


@step("price-line-items")
async def price_line_items(input: CartHookInput, ctx: StepContext) -> dict[str, LinePrice]:
    """A price per variant: for each variant the first implementation to price it wins.

    For ``custom-line-item`` only custom prices (``is_custom_price``) count. An item already
    custom-priced being re-priced (``quantity-update``) takes only a custom price, and may get none
    (it keeps its price).

    :raises InvalidData: when some variant that needs a price has none in the cart's currency.
    """
    if not input.items:
        return {}
    currency = input.cart.currency_code.lower()
    results = await call_all(
        ctx.run.hooks.price_line_items,
        cart=input.cart,
        items=list(input.items),
        customer=input.customer,
        purpose=input.purpose,
    )
    custom_only = {item.variant.id for item in input.items if item.is_custom_price}
    prices: dict[str, LinePrice] = {}
    for result in results:
        for price in result:
            if price.currency_code.lower() != currency:
                continue
            if price.variant_id in custom_only and not price.is_custom_price:
                continue
            prices.setdefault(price.variant_id, price)
    needed = [item.variant.id for item in input.items if input.purpose != "quantity-update" or not item.is_custom_price]
    missing = list(dict.fromkeys(variant_id for variant_id in needed if variant_id not in prices))
    if missing and input.purpose == "custom-line-item":
        raise InvalidData(
            f"Variants with IDs {', '.join(missing)} have no custom price for currency {input.cart.currency_code}: "
            "custom line items are priced by a pricing plugin (an ERP), and none priced them"
        )
    if missing:
        raise InvalidData(
            f"Variants with IDs {', '.join(missing)} do not have a price for currency {input.cart.currency_code}"
        )
    return prices


PRICE_FIELDS = ("unit_price", "compare_at_unit_price", "is_custom_price")


def set_line_price(line: LineItem, price: LinePrice) -> None:
    """Give an existing line item ``price`` (the columns of ``PRICE_FIELDS``)."""
    line.unit_price = price.unit_price
    line.compare_at_unit_price = price.compare_at_unit_price
    line.is_custom_price = price.is_custom_price


def new_line_item(
    cart_id: str,
    variant: ProductVariant,
    quantity: int,
    price: LinePrice,
    metadata: dict[str, Any] | None,
) -> LineItem:
    """An unsaved line item snapshotting the variant and its product (Medusa's field mapping)."""
    product: Product = variant.product
    now = timezone.now()
    return LineItem(
        cart_id=cart_id,
        title=product.title,
        subtitle=variant.title,
        thumbnail=product.thumbnail,
        quantity=quantity,
        unit_price=price.unit_price,
        compare_at_unit_price=price.compare_at_unit_price,
        is_custom_price=price.is_custom_price,
        variant_id=variant.id,
        product_id=product.id,
        product_title=product.title,
        product_description=product.description,
        product_subtitle=product.subtitle,
        product_handle=product.handle,
        variant_title=variant.title,
        variant_sku=variant.sku,
        variant_barcode=variant.barcode,
        metadata=metadata if metadata is not None else {},
        created_at=now,
        updated_at=now,
    )


async def claim_cart(loaded: LoadedCart, **changes: Any) -> None:
    """First statement of a cart write transaction: lock the row, check it is unchanged, touch it.

    ``changes`` are cart columns written by the same UPDATE (and on the loaded cart).

    :raises InvalidData: when the cart was completed meanwhile.
    :raises Conflict: when it is being completed, or another process changed it since it was loaded.
    """
    cart = loaded.cart
    now = timezone.now()
    if changes:
        claimed = (
            await Cart.filter(id=cart.id, updated_at=cart.updated_at, completed_at=None)
            .filter(Q(completing_until=None) | Q(completing_until__lt=now))
            .update(updated_at=now, **changes)
        )
    else:
        claimed = await claim_cart_row(cart.id, cart.updated_at, now)
    if not claimed:
        current = await Cart.get_or_none(id=cart.id)
        if current is None:
            raise cart_not_found(cart.id)
        ensure_cart_open(current, now)
        raise Conflict(CONFLICT_MESSAGE)
    cart.updated_at = now
    for name, value in changes.items():
        setattr(cart, name, value)


async def refresh_payment_collection(loaded: LoadedCart) -> None:
    """Inside a cart write: align the payment collection with the new total.

    As in Medusa, a changed amount invalidates the existing payment sessions (they are deleted and
    the storefront initiates a new one).
    """
    collection = loaded.payment_collection
    if collection is None:
        return
    total = loaded.total()
    if Decimal(collection.amount) == total and collection.currency_code == loaded.cart.currency_code:
        return
    await update_payment_collection(collection.id, total, loaded.cart.currency_code)
    if loaded.payment_sessions:
        await fetch(DELETE_PAYMENT_SESSIONS, [collection.id])
        loaded.payment_sessions = []
    collection.amount = total
    collection.currency_code = loaded.cart.currency_code
