"""Order -> ERP: every placed order created once in the ERP, its ERP id kept in the order's metadata.

``handle_event("order.placed", {"id": ...})`` (delivered at least once, see :mod:`core.events`)
starts the durable run ``sync-order-to-erp:<order id>``: a second delivery of the event finds the
existing run. The run's steps:

1. ``read-order``: the order, its items, customer and addresses as an :class:`ErpOrder`. A line is
   sent with its variant's and product's ERP ids; a line whose variant has no ERP id (a product
   the store sells on its own) is sent by its SKU, for the ERP client to match or refuse; a line
   with neither fails the run at once, naming the lines (give them an ERP id or a SKU, then
   ``erpcommerce retry RUN``);
2. ``create-erp-order``: the ERP creates the order with the step's idempotency key, so a retry, a
   resumed run or ``erpcommerce retry`` never makes a second ERP order. An unreachable ERP is
   retried with backoff (``order_sync_max_retries``, ``order_sync_backoff_seconds``,
   ``order_sync_max_backoff_seconds``), then the run fails and can be retried. Its compensation
   cancels the ERP order;
3. ``store-erp-reference``: the ERP id and name merged into the order's metadata (``external_id``,
   ``erp_name``). If it fails (the order was deleted meanwhile) the ERP order is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from core.errors import PermanentError
from core.models import Customer, Order, OrderItem, Product, ProductVariant
from core.workflows.cart_data import customer_view
from core.workflows.durable import get_engine
from core.workflows.engine import RetryPolicy, StepContext, StepResponse, step, workflow
from erpcommerce_erp.contract import ErpAddress, ErpOrder, ErpOrderLine, ErpOrderRef
from erpcommerce_erp.customers import erp_customer

if TYPE_CHECKING:
    from erpcommerce_erp.gateway import ErpGateway
    from erpcommerce_erp.plugin import ErpPlugin

__all__ = [
    "ERP_NAME_KEY",
    "EXTERNAL_ID_KEY",
    "ORDER_PLACED",
    "SYNC_ORDER_TO_ERP",
    "OrderToErp",
    "handle_event",
    "sync_order_to_erp",
    "sync_order_to_erp_run_id",
]

log = logging.getLogger("erpcommerce.erp")

SYNC_ORDER_TO_ERP = "sync-order-to-erp"
ORDER_PLACED = "order.placed"
# The order's metadata keys the run writes: the ERP's order id and its name.
EXTERNAL_ID_KEY = "external_id"
ERP_NAME_KEY = "erp_name"


class OrderToErp(BaseModel):
    """The run's input: the store order to create in the ERP."""

    order_id: str


class ErpReference(BaseModel):
    """The ERP order to remember on the store order."""

    order_id: str
    ref: ErpOrderRef


def sync_order_to_erp_run_id(order_id: str) -> str:
    """``sync-order-to-erp:<order id>``: the run's id and idempotency key."""
    return f"{SYNC_ORDER_TO_ERP}:{order_id}"


async def handle_event(erp: ErpPlugin, name: str, payload: dict[str, Any], event_id: str) -> None:
    """Start the order's ``sync-order-to-erp`` run on ``order.placed`` (other events: nothing).

    :raises PermanentError: when the payload names no order.
    """
    if name != ORDER_PLACED or erp.gateway is None:
        return
    order_id = payload.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise PermanentError(f"Event {event_id} ({name}) names no order id: {payload!r}")
    run_id = sync_order_to_erp_run_id(order_id)
    await get_engine().start(sync_order_to_erp, OrderToErp(order_id=order_id), run_id=run_id)


# -------------------------------------------------------------------------------------------------
# Steps
# -------------------------------------------------------------------------------------------------


def _erp(ctx: StepContext) -> ErpPlugin:
    from erpcommerce_erp.plugin import erp_plugin  # the plugin module imports this one

    return erp_plugin(ctx.run.plugins)


def _gateway(ctx: StepContext) -> ErpGateway:
    gateway = _erp(ctx).gateway
    if gateway is None:
        raise PermanentError("No ERP client is configured (no plugin implements erp_client)")
    return gateway


def order_sync_retry(ctx: StepContext) -> RetryPolicy:
    """``[plugins.erp] order_sync_*``: how an unreachable ERP is retried."""
    settings = _erp(ctx).settings
    return RetryPolicy(
        max_retries=settings.order_sync_max_retries,
        backoff_seconds=settings.order_sync_backoff_seconds,
        max_backoff_seconds=settings.order_sync_max_backoff_seconds,
    )


@step("read-order")
async def read_order(input: OrderToErp) -> ErpOrder:
    """The order as the ERP receives it.

    :raises PermanentError: when the order does not exist, or has lines the ERP cannot know.
    """
    order = await Order.get_or_none(id=input.order_id)
    if order is None:
        raise PermanentError(f"Order {input.order_id} was not found")
    items = await OrderItem.filter(order_id=order.id).order_by("created_at", "id")
    customer = await Customer.get_or_none(id=order.customer_id) if order.customer_id else None
    return ErpOrder(
        id=order.id,
        display_id=order.display_id,
        email=order.email,
        currency_code=order.currency_code,
        customer=erp_customer(customer_view(customer)),
        items=await _order_lines(order, items),
        shipping_address=_address(order.shipping_address),
        billing_address=_address(order.billing_address),
        total=order.total,
        created_at=order.created_at,
        metadata=order.metadata,
    )


async def _order_lines(order: Order, items: list[OrderItem]) -> list[ErpOrderLine]:
    variant_ids = {item.variant_id for item in items if item.variant_id}
    product_ids = {item.product_id for item in items if item.product_id}
    variants = dict(await ProductVariant.filter(id__in=variant_ids).values_list("id", "external_id"))
    products = dict(await Product.filter(id__in=product_ids).values_list("id", "external_id"))
    lines: list[ErpOrderLine] = []
    unknown: list[str] = []
    for item in items:
        variant_external_id = variants.get(item.variant_id) if item.variant_id else None
        if not variant_external_id and not item.variant_sku:
            unknown.append(f"{item.id} ({item.title}, variant {item.variant_id or 'none'})")
        lines.append(
            ErpOrderLine(
                line_id=item.id,
                variant_external_id=variant_external_id or None,
                product_external_id=(products.get(item.product_id) if item.product_id else None) or None,
                sku=item.variant_sku,
                title=item.title,
                quantity=item.quantity,
                unit_price=item.unit_price,
            )
        )
    if unknown:
        raise PermanentError(
            f"Order {order.id} has lines with neither an ERP id nor a SKU, the ERP cannot know them: "
            + ", ".join(unknown)
        )
    return lines


def _address(snapshot: dict[str, Any] | None) -> ErpAddress | None:
    if not snapshot:
        return None
    return ErpAddress(**{name: snapshot.get(name) for name in ErpAddress.model_fields})


@step("create-erp-order", retry=order_sync_retry)
async def create_erp_order(order: ErpOrder, ctx: StepContext) -> StepResponse[ErpOrderRef]:
    """Create the order in the ERP, once per run (the step's idempotency key).

    Resumed after a crash in this very step, the earlier call may still be running in the ERP:
    the step first waits the client's ``order_create_settle_seconds`` (0 for ERPs that deduplicate
    by key atomically), so that call has ended and the new one finds its order.
    """
    gateway = _gateway(ctx)
    settle = gateway.client.order_create_settle_seconds
    if ctx.resumed and settle:
        log.warning(
            "order create resumed after a crash: waiting for the earlier call to settle",
            extra={"order": order.id, "seconds": settle},
        )
        await asyncio.sleep(settle)
    ref = await gateway.create_order(order, ctx.idempotency_key)
    return StepResponse(ref, compensate_input=ref.external_id)


@create_erp_order.compensate
async def cancel_erp_order(external_id: str | None, ctx: StepContext) -> None:
    """Cancel the ERP order the step made (None: it made none)."""
    if external_id is not None:
        await _gateway(ctx).cancel_order(external_id, f"{ctx.idempotency_key}:cancel")


@step("store-erp-reference", transactional=True)
async def store_erp_reference(input: ErpReference) -> ErpOrderRef:
    """Merge the ERP order's id and name into the order's metadata.

    :raises PermanentError: when the order no longer exists (the ERP order is then cancelled).
    """
    order = await Order.filter(id=input.order_id).select_for_update().first()
    if order is None:
        raise PermanentError(
            f"Order {input.order_id} no longer exists: ERP order {input.ref.external_id} is cancelled"
        )
    metadata = dict(order.metadata or {})
    metadata[EXTERNAL_ID_KEY] = input.ref.external_id
    if input.ref.name is not None:
        metadata[ERP_NAME_KEY] = input.ref.name
    order.metadata = metadata
    await order.save(update_fields=["metadata", "updated_at"])
    return input.ref


@workflow(SYNC_ORDER_TO_ERP, durable=True)
async def sync_order_to_erp(input: OrderToErp) -> ErpOrderRef:
    """Create the store order in the ERP and remember the ERP's id on it."""
    order = await read_order(input)
    ref = await create_erp_order(order)
    return await store_erp_reference(ErpReference(order_id=input.order_id, ref=ref))
