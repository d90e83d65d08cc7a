"""A repeated order-update body: a redelivery, or a new change the ERP described identically.

Without event ids of its own (token mode), an update's event id is the SHA-256 of its body, and
Odoo's body names the order's state and its ``write_date``, to the second: an order confirmed,
cancelled and confirmed again within one second posts the first body twice. Answering the second
"duplicate" would leave the store order cancelled. So a body received before is rechecked when
another update of the same ERP order arrived after its first receipt (else it is a plain
redelivery, without effect): a run reads the order's current state from the ERP and applies it
(:func:`erpcommerce_erp.order_updates.read_erp_order_state`). One recheck per (repeated event,
newest other event): replays add none. Needs the client's ``list_orders_by_reference``; without
it, the repeat is only counted, as before.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime

from core.models import WebhookEvent
from core.workflows.durable import Engine
from erpcommerce_erp.contract import ErpClient, OrderUpdate
from erpcommerce_erp.order_updates import OrderUpdateInput, sync_order_from_erp, sync_order_from_erp_run_id

__all__ = [
    "recheck_repeated_update",
]

log = logging.getLogger("erpcommerce.erp.webhook")


async def recheck_repeated_update(
    engine: Engine, client: ErpClient, source: str, update: OrderUpdate, first_received_at: datetime | None
) -> str | None:
    """Start the recheck of a repeated ``update``, first received at ``first_received_at``, when one
    is due (see the module doc); its run id."""
    if first_received_at is None or type(client).list_orders_by_reference is ErpClient.list_orders_by_reference:
        return None
    newer = (
        await WebhookEvent.filter(source=source, subject=update.external_id, received_at__gte=first_received_at)
        .exclude(event_id=update.event_id)
        .order_by("-received_at")
        .first()
    )
    if newer is None:
        return None
    key = hashlib.sha256(f"{update.event_id}\n{newer.event_id}".encode()).hexdigest()[:32]
    run_id = f"{sync_order_from_erp_run_id(update.event_id)[:200]}:recheck:{key}"
    work = OrderUpdateInput(update=update, received_at=time.time(), recheck=True)
    record = await engine.start(sync_order_from_erp, work, run_id=run_id)
    log.info("erp order update repeated after a newer one: rechecking the order",
             extra={"event_id": update.event_id, "external_id": update.external_id, "run_id": record.id})
    return record.id
