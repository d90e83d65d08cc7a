"""``POST /erp/order-updates``: the ERP reports an order change (DESIGN §7).

The raw body (at most ``[server] max_body_bytes``, else 413) is authenticated **before** it is
parsed, with ``[erp] webhook_secret`` (empty: every call is refused), in the form the ERP client
declares (:attr:`~erpcommerce_erp.contract.ErpClient.webhook_mode`):

- ``signed``: ``X-Erp-Timestamp: <unix seconds>`` and ``X-Erp-Signature: sha256=<hex HMAC-SHA256
  of "<timestamp>.<raw body>">``, the timestamp within ``[plugins.erp] webhook_tolerance_seconds``;
- ``token``: ``?token=<webhook_secret>``; the event id is the SHA-256 of the raw body unless the
  client finds one in it.

Missing, wrong or stale credentials: 401 ``unauthorized``. A body the client cannot parse: 400
``invalid_data``. Then :func:`core.webhooks.accept_event` records the event and its durable run
``sync-order-from-erp:<event id>`` (:mod:`erpcommerce_erp.order_updates`) in one transaction: 202
``accepted``; an event id received before: 200 ``duplicate``, without effect, unless another update
of the order came after it (:mod:`erpcommerce_erp.order_update_recheck`): 202 ``rechecked``. The route is not
under ``/store``: no publishable key, no bearer token.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

from aiohttp import web
from pydantic import BaseModel, ValidationError

from core.api.endpoint import endpoint, json_response
from core.errors import InvalidData, NotFound
from core.keys import ENGINE
from core.webhooks import accept_event, body_event_id, count_rejection, verify_signature, verify_token
from erpcommerce_erp.contract import OrderUpdate
from erpcommerce_erp.order_update_recheck import recheck_repeated_update
from erpcommerce_erp.order_updates import OrderUpdateInput, sync_order_from_erp, sync_order_from_erp_run_id

if TYPE_CHECKING:
    from erpcommerce_erp.contract import ErpClient
    from erpcommerce_erp.plugin import ErpPlugin

__all__ = [
    "ERP_PLUGIN",
    "ORDER_UPDATES_PATH",
    "SIGNATURE_HEADER",
    "SOURCE",
    "TIMESTAMP_HEADER",
    "OrderUpdateReceipt",
    "add_routes",
    "routes",
]

ORDER_UPDATES_PATH = "/erp/order-updates"
TIMESTAMP_HEADER = "X-Erp-Timestamp"
SIGNATURE_HEADER = "X-Erp-Signature"
SOURCE = "erp"
ORDER_UPDATED = "order.updated"
SECRET_SETTING = "[erp] webhook_secret"

ERP_PLUGIN: web.AppKey[ErpPlugin] = web.AppKey("erp_plugin")
routes = web.RouteTableDef()


class OrderUpdateReceipt(BaseModel):
    """The answer to an order update: ``accepted`` (202, queued), ``rechecked`` (202, a repeated
    body the store rechecks with the ERP) or ``duplicate`` (200, no effect)."""

    event_id: str
    run_id: str | None
    status: Literal["accepted", "rechecked", "duplicate"]


def add_routes(erp: ErpPlugin, app: web.Application) -> None:
    """Add ``POST /erp/order-updates`` to ``app``, answered for ``erp``."""
    app[ERP_PLUGIN] = erp
    app.router.add_routes(routes)


@routes.post(ORDER_UPDATES_PATH)
@endpoint(
    response=OrderUpdateReceipt,
    status=202,
    summary="Receive an order update from the ERP",
    description=(
        "Authenticated by the ERP plugin's webhook mode, before the body is read as JSON: signed "
        f"(`{TIMESTAMP_HEADER}` and `{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of \"<timestamp>.<raw body>\">` "
        "with `[erp] webhook_secret`) or token (`?token=<webhook_secret>`). Signed body: "
        '`{"event_id", "type": "order.updated", "order": {"external_id", "status", "fulfillment_status"?, '
        '"metadata"?}}`; token-mode ERPs send their own format. 202: the update is durably queued; '
        "202 with status `rechecked`: this event id was received before, but another update of the order "
        "came after it, so the store reads the order's current state from the ERP; "
        "200 with status `duplicate`: this event id was received before, nothing done."
    ),
    tags=("ERP",),
    errors=(400, 401, 404, 413),
)
async def receive_order_update(request: web.Request) -> web.StreamResponse | OrderUpdateReceipt:
    """Receive an order update from the ERP (see the module doc)."""
    erp = request.app[ERP_PLUGIN]
    gateway = erp.gateway
    if gateway is None:
        raise NotFound("No ERP plugin is installed: order updates cannot be received")
    body = await request.read()
    update, sent_at = _authenticated_update(erp, gateway.client, request, body)
    receipt = await accept_event(
        request.app[ENGINE],
        source=SOURCE,
        kind=ORDER_UPDATED,
        event_id=update.event_id,
        subject=update.external_id,
        workflow=sync_order_from_erp,
        input=OrderUpdateInput(update=update, sent_at=sent_at, received_at=time.time()),
        run_id=sync_order_from_erp_run_id(update.event_id),
    )
    if receipt.duplicate:
        recheck = await recheck_repeated_update(
            request.app[ENGINE], gateway.client, SOURCE, update, receipt.first_received_at
        )
        if recheck is not None:
            return OrderUpdateReceipt(event_id=receipt.event_id, run_id=recheck, status="rechecked")
        duplicate = OrderUpdateReceipt(event_id=receipt.event_id, run_id=receipt.run_id, status="duplicate")
        return json_response(duplicate, 200)
    return OrderUpdateReceipt(event_id=receipt.event_id, run_id=receipt.run_id, status="accepted")


def _authenticated_update(
    erp: ErpPlugin, client: ErpClient, request: web.Request, body: bytes
) -> tuple[OrderUpdate, int | None]:
    """The update in ``body`` once its credentials are checked, and its signed timestamp (if signed)."""
    secret = erp.core_settings.erp.webhook_secret if erp.core_settings is not None else ""
    if client.webhook_mode == "token":
        verify_token(source=SOURCE, secret=secret, token=request.query.get("token"), setting=SECRET_SETTING)
        return _parse(client, body, body_event_id(body)), None
    sent_at = verify_signature(
        source=SOURCE,
        secret=secret,
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature=request.headers.get(SIGNATURE_HEADER),
        body=body,
        tolerance_seconds=erp.settings.webhook_tolerance_seconds,
        setting=SECRET_SETTING,
    )
    return _parse(client, body, None), sent_at


def _parse(client: ErpClient, body: bytes, event_id: str | None) -> OrderUpdate:
    """The client's reading of an authenticated body; anything it cannot read is 400 (and counted)."""
    try:
        update = client.parse_order_update(body, event_id=event_id)
    except InvalidData:
        count_rejection(SOURCE, "malformed")
        raise
    except ValidationError as exc:  # a client validating its own model without the contract's wrapper
        count_rejection(SOURCE, "malformed")
        raise InvalidData(f"Malformed order update: {exc.errors(include_url=False)[0]['msg']}") from None
    if not isinstance(update, OrderUpdate):
        count_rejection(SOURCE, "malformed")
        raise InvalidData(f"{client.name} could not read the order update (got {type(update).__name__})")
    if _holds_nul(update.model_dump()):
        # PostgreSQL text and JSON cannot store U+0000: it was a 500 there (found by drill_webhook.py)
        count_rejection(SOURCE, "malformed")
        raise InvalidData("Malformed order update: a value contains a NUL character")
    return update


def _holds_nul(value: object) -> bool:
    """Whether a string anywhere in ``value`` (keys of dicts included) contains U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False
