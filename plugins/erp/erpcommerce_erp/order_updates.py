"""ERP -> order: the durable run ``sync-order-from-erp`` applying one order update the ERP reported.

The webhook (:mod:`erpcommerce_erp.webhook`) stores one run per event id
(``sync-order-from-erp:<event id>``); its single transactional step, ``apply-erp-order-update``,
runs exactly once:

- the order is the one whose ``metadata.external_id`` is the ERP order's id (written by
  :mod:`erpcommerce_erp.order_export`). None is retried (``[plugins.erp] order_update_*``): the ERP
  may report its order before the export stored the ERP id (Odoo posts the confirmation while the
  export still waits for ``action_confirm``'s answer); still none after the retries, or several,
  fails the run naming the ERP order;
- the ERP status becomes the order's ``status`` through the ERP client's
  :attr:`~erpcommerce_erp.contract.ErpClient.order_status_map` overridden by ``[plugins.erp]
  status_map`` (a store status maps to itself); an unknown status fails the run naming it.
  ``canceled`` sets ``canceled_at`` (any other status clears it: the ERP reopened the order);
- ``fulfillment_status``: the update's own (a store fulfillment status, or an ERP one mapped by
  ``fulfillment_status_map``), else the map's entry for the ERP order status, else unchanged (but
  a ``canceled`` fulfillment becomes ``not_fulfilled`` when the ERP reopens the order);
- the update's ``metadata`` is merged into ``metadata["erp"]``, and ``metadata["erp_last_update"]``
  records the ERP status, event id and signed timestamp applied.

Order of updates: an update older than the last applied one is skipped (the run succeeds with
``applied: false``). With signed webhooks the signed timestamp settles it; token-mode updates carry
no trusted time, so the time the webhook received them does (an update that waited for its order
to be linked does not undo a newer one applied meanwhile).

A recheck (``recheck`` in the input, started by :mod:`erpcommerce_erp.order_update_recheck` for a
repeated body the store cannot tell from a new change) first reads the order's current state from
the ERP (``read-erp-order-state``, ``list_orders_by_reference``) and applies that, as received then.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from tortoise import connections, timezone
from tortoise.expressions import RawSQL

from core.errors import PermanentError, RetryableError
from core.models import Order
from core.workflows.engine import RetryPolicy, StepContext, step, workflow
from erpcommerce_erp.contract import OrderUpdate
from erpcommerce_erp.order_export import EXTERNAL_ID_KEY

if TYPE_CHECKING:
    from erpcommerce_erp.plugin import ErpPlugin

__all__ = [
    "ERP_METADATA_KEY",
    "FULFILLMENT_STATUSES",
    "LAST_UPDATE_KEY",
    "ORDER_STATUSES",
    "SYNC_ORDER_FROM_ERP",
    "AppliedUpdate",
    "OrderNotLinkedYet",
    "OrderUpdateInput",
    "find_order_by_external_id",
    "order_update_retry",
    "read_erp_order_state",
    "store_fulfillment_status",
    "store_order_status",
    "sync_order_from_erp",
    "sync_order_from_erp_run_id",
]

SYNC_ORDER_FROM_ERP = "sync-order-from-erp"
ORDER_STATUSES = frozenset({"pending", "completed", "canceled", "archived", "requires_action"})
FULFILLMENT_STATUSES = frozenset(
    {
        "not_fulfilled",
        "partially_fulfilled",
        "fulfilled",
        "partially_shipped",
        "shipped",
        "partially_delivered",
        "delivered",
        "partially_returned",
        "returned",
        "canceled",
        "requires_action",
    }
)
# The order's metadata keys the run writes: the ERP's own data, and what was last applied.
ERP_METADATA_KEY = "erp"
LAST_UPDATE_KEY = "erp_last_update"

# ``metadata.external_id`` as text (a number written by hand matches too), per dialect: Tortoise's
# JSON filters do not support SQLite. Migration 0003 indexes exactly these expressions.
_EXTERNAL_ID_SQL = {
    "postgres": f"metadata->>'{EXTERNAL_ID_KEY}'",
    "sqlite": f"CAST(json_extract(metadata, '$.{EXTERNAL_ID_KEY}') AS TEXT)",
}


class OrderUpdateInput(BaseModel):
    """The run's input: the verified update, the signed timestamp (signed webhooks), when it arrived."""

    update: OrderUpdate
    sent_at: int | None = None
    received_at: float | None = None
    recheck: bool = False  # a repeated body: apply the ERP's current state instead (read first)


class OrderNotLinkedYet(RetryableError):
    """No store order carries this ERP order's id (yet): retried, then the run fails naming it."""


class AppliedUpdate(BaseModel):
    """What the run did to the order (``applied`` False: an older update, skipped)."""

    order_id: str
    status: str
    fulfillment_status: str
    applied: bool = True


def sync_order_from_erp_run_id(event_id: str) -> str:
    """``sync-order-from-erp:<event id>``: the run's id and idempotency key."""
    return f"{SYNC_ORDER_FROM_ERP}:{event_id}"


# -------------------------------------------------------------------------------------------------
# Status mapping
# -------------------------------------------------------------------------------------------------


def store_order_status(update: OrderUpdate, status_map: Mapping[str, str], erp_name: str = "ERP") -> str:
    """The store order status for the update's ERP status (a store status maps to itself).

    :raises PermanentError: when the ERP status is unknown or maps to no store status.
    """
    mapped = status_map.get(update.status)
    if mapped is None:
        if update.status in ORDER_STATUSES:
            return update.status
        raise PermanentError(
            f"Unknown {erp_name} order status {update.status!r} for ERP order {update.external_id}: "
            "map it to a store order status in [plugins.erp] status_map"
        )
    if mapped not in ORDER_STATUSES:
        raise PermanentError(
            f"{erp_name} order status {update.status!r} maps to {mapped!r}, which is not a store order status "
            f"(one of {', '.join(sorted(ORDER_STATUSES))})"
        )
    return mapped


def store_fulfillment_status(update: OrderUpdate, fulfillment_map: Mapping[str, str]) -> str | None:
    """The store fulfillment status the update sets (None: it leaves it unchanged).

    :raises PermanentError: when the update's fulfillment status is neither a store one nor mapped,
        or a mapping gives no store fulfillment status.
    """
    if update.fulfillment_status is not None:
        wanted = fulfillment_map.get(update.fulfillment_status, update.fulfillment_status)
        source = f"fulfillment status {update.fulfillment_status!r}"
    elif update.status in fulfillment_map:
        wanted = fulfillment_map[update.status]
        source = f"order status {update.status!r}"
    else:
        return None
    if wanted not in FULFILLMENT_STATUSES:
        raise PermanentError(
            f"Unknown fulfillment status {wanted!r} (from the ERP's {source}, ERP order {update.external_id}): "
            "map it in [plugins.erp] fulfillment_status_map"
        )
    return wanted


# -------------------------------------------------------------------------------------------------
# The order
# -------------------------------------------------------------------------------------------------


async def find_order_by_external_id(external_id: str, *, for_update: bool = False) -> list[Order]:
    """The orders whose ``metadata.external_id`` is ``external_id`` (at most two: one is expected)."""
    dialect = connections.get("default").capabilities.dialect
    expression = _EXTERNAL_ID_SQL.get(dialect)
    if expression is None:
        raise RuntimeError(f"finding orders by ERP id is not supported on {dialect}")
    query = Order.annotate(erp_external_id=RawSQL(expression)).filter(erp_external_id=external_id).limit(2)
    if for_update:
        query = query.select_for_update()
    return list(await query)


def _erp(ctx: StepContext) -> ErpPlugin:
    from erpcommerce_erp.plugin import erp_plugin  # the plugin module imports this one

    return erp_plugin(ctx.run.plugins)


def order_update_retry(ctx: StepContext) -> RetryPolicy:
    """``[plugins.erp] order_update_*``: how long an update waits for its order to be linked."""
    settings = _erp(ctx).settings
    return RetryPolicy(
        max_retries=settings.order_update_max_retries,
        backoff_seconds=settings.order_update_backoff_seconds,
        max_backoff_seconds=settings.order_update_max_backoff_seconds,
    )


def _is_older(input: OrderUpdateInput, last: object) -> bool:
    """Whether the update is older than the last applied one (signed time first, else arrival)."""
    if not isinstance(last, dict):
        return False
    last_sent_at, last_received_at = last.get("sent_at"), last.get("received_at")
    if input.sent_at is not None and isinstance(last_sent_at, int):
        return input.sent_at < last_sent_at
    if input.received_at is not None and isinstance(last_received_at, int | float):
        return input.received_at < last_received_at
    return False


@step("apply-erp-order-update", transactional=True, retry=order_update_retry)
async def apply_order_update(input: OrderUpdateInput, ctx: StepContext) -> AppliedUpdate:
    """Set the order's statuses and ERP metadata from the update (see the module doc).

    :raises PermanentError: naming the ERP order or status when either is unknown.
    """
    erp = _erp(ctx)
    if erp.gateway is None:
        raise PermanentError("No ERP client is configured (no plugin implements erp_client)")
    client, update = erp.gateway.client, input.update
    status = store_order_status(update, {**client.order_status_map, **erp.settings.status_map}, client.name)
    fulfillment = store_fulfillment_status(
        update, {**client.fulfillment_status_map, **erp.settings.fulfillment_status_map}
    )
    found = await find_order_by_external_id(update.external_id, for_update=True)
    if not found:
        raise OrderNotLinkedYet(
            f"{client.name} order {update.external_id} matches no store order (metadata.external_id)"
        )
    if len(found) > 1:
        orders = ", ".join(order.id for order in found)
        raise PermanentError(
            f"{client.name} order {update.external_id} matches several store orders ({orders}) (metadata.external_id)"
        )
    order = found[0]
    metadata: dict[str, Any] = dict(order.metadata or {})
    last = metadata.get(LAST_UPDATE_KEY)
    if _is_older(input, last):
        return AppliedUpdate(
            order_id=order.id, status=order.status, fulfillment_status=order.fulfillment_status, applied=False
        )
    _apply(order, metadata, input, last if isinstance(last, dict) else {}, status, fulfillment)
    await order.save(update_fields=["status", "fulfillment_status", "canceled_at", "metadata", "updated_at"])
    return AppliedUpdate(order_id=order.id, status=order.status, fulfillment_status=order.fulfillment_status)


def _apply(
    order: Order,
    metadata: dict[str, Any],
    input: OrderUpdateInput,
    last: dict[str, Any],
    status: str,
    fulfillment: str | None,
) -> None:
    update = input.update
    order.status = status
    if status == "canceled":
        order.canceled_at = order.canceled_at or timezone.now()
    else:
        order.canceled_at = None
    if fulfillment is not None:
        order.fulfillment_status = fulfillment
    elif status != "canceled" and order.fulfillment_status == "canceled":
        order.fulfillment_status = "not_fulfilled"  # reopened: the cancellation's status no longer holds
    previous = metadata.get(ERP_METADATA_KEY)
    metadata[ERP_METADATA_KEY] = {**(previous if isinstance(previous, dict) else {}), **(update.metadata or {})}
    metadata[LAST_UPDATE_KEY] = {
        "status": update.status,
        "event_id": update.event_id,
        "sent_at": input.sent_at if input.sent_at is not None else last.get("sent_at"),
        "received_at": input.received_at if input.received_at is not None else last.get("received_at"),
    }
    order.metadata = metadata


@step("read-erp-order-state", retry=order_update_retry)
async def read_erp_order_state(input: OrderUpdateInput, ctx: StepContext) -> OrderUpdateInput:
    """The update with the order's current status in the ERP, as received when read (a recheck).

    :raises PermanentError: when no client is configured or the ERP does not know the order.
    """
    erp = _erp(ctx)
    if erp.gateway is None:
        raise PermanentError("No ERP client is configured (no plugin implements erp_client)")
    update = input.update
    found = await find_order_by_external_id(update.external_id)
    if len(found) != 1:
        raise OrderNotLinkedYet(f"{erp.gateway.name} order {update.external_id} matches {len(found)} store orders")
    states = await erp.gateway.list_orders_by_reference([found[0].id])
    state = next((state for state in states if state.external_id == update.external_id), None)
    if state is None:
        raise PermanentError(f"{erp.gateway.name} no longer lists order {update.external_id} for {found[0].id}")
    current = update.model_copy(update={"status": state.status, "fulfillment_status": state.fulfillment_status})
    return OrderUpdateInput(update=current, received_at=time.time())


@workflow(SYNC_ORDER_FROM_ERP, durable=True)
async def sync_order_from_erp(input: OrderUpdateInput) -> AppliedUpdate:
    """Apply one ERP order update to the store order (a recheck: the ERP's current state)."""
    if input.recheck:
        input = await read_erp_order_state(input)
    return await apply_order_update(input)
