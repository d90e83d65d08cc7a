"""The orders half of ``erpcommerce reconcile``: every store order against the ERP's orders for it.

Store orders are read in id order, :data:`BATCH` at a time; the ERP is asked once per batch for
every order made for them (:meth:`~erpcommerce_erp.contract.ErpClient.list_orders_by_reference`,
cancelled ones included). An order should be in the ERP once it is placed, unless it was cancelled
in the store before it was exported (canceled, no ERP id): that one must have no live ERP order.
For the others:

- no ERP order: ``order.missing_in_erp`` (the detail says how its export run stands);
- more than one live ERP order (not cancelled once mapped): ``order.duplicated``;
- the store has no ERP id while the ERP has the order: ``order.unlinked``; the store's ERP id is not
  among the ERP's orders for it: ``order.link``;
- the ERP order's status mapped to a store status exactly as the order-update webhook maps it
  (:func:`~erpcommerce_erp.order_updates.store_order_status`, the client's map under
  ``[plugins.erp] status_map``) differs from the store's: ``order.status``; likewise the
  fulfillment status when the mapping gives one: ``order.fulfillment``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from core.errors import PermanentError
from core.models import Order, WorkflowRunRecord
from erpcommerce_erp.contract import ErpOrderState, OrderUpdate
from erpcommerce_erp.gateway import ErpGateway
from erpcommerce_erp.order_export import EXTERNAL_ID_KEY, sync_order_to_erp_run_id
from erpcommerce_erp.order_updates import store_fulfillment_status, store_order_status
from erpcommerce_erp.reconcile_report import ReconcileReport
from erpcommerce_erp.settings import ErpPluginSettings

__all__ = [
    "BATCH",
    "OrderCheck",
]

BATCH = 200
CANCELED = "canceled"
FindOrders = Callable[[list[str]], Awaitable[list[ErpOrderState]]]


@dataclass(frozen=True, slots=True)
class Mapped:
    """An ERP order with its statuses in the store's terms (``error``: the mapping failed)."""

    state: ErpOrderState
    status: str | None
    fulfillment: str | None
    error: str | None = None

    @property
    def live(self) -> bool:
        return self.status != CANCELED


class OrderCheck:
    """Compares the store's orders with the ERP's (see the module doc)."""

    def __init__(self, gateway: ErpGateway, settings: ErpPluginSettings, report: ReconcileReport) -> None:
        self.gateway = gateway
        self.report = report
        client = gateway.client
        self.status_map: Mapping[str, str] = {**client.order_status_map, **settings.status_map}
        self.fulfillment_map: Mapping[str, str] = {**client.fulfillment_status_map,
                                                   **settings.fulfillment_status_map}

    async def run(self, find: FindOrders) -> None:
        """Every store order, batch by batch; ``find`` asks the ERP for a batch's orders."""
        after = ""
        while True:
            orders = await Order.filter(id__gt=after).order_by("id").limit(BATCH)
            if not orders:
                return
            after = orders[-1].id
            found = await find([order.id for order in orders])
            by_order: dict[str, list[Mapped]] = defaultdict(list)
            for state in sorted(found, key=lambda s: (len(s.external_id), s.external_id)):
                by_order[state.reference].append(self._mapped(state))
            missing = [order for order in orders if self._check(order, by_order.get(order.id, []))]
            await self._report_missing(missing)

    def _mapped(self, state: ErpOrderState) -> Mapped:
        update = OrderUpdate(event_id="reconcile", external_id=state.external_id, status=state.status,
                             fulfillment_status=state.fulfillment_status)
        try:
            status = store_order_status(update, self.status_map, self.gateway.name)
            fulfillment = store_fulfillment_status(update, self.fulfillment_map)
        except PermanentError as exc:
            return Mapped(state, None, None, exc.message)
        return Mapped(state, status, fulfillment)

    def _check(self, order: Order, erp: Sequence[Mapped]) -> bool:
        """Compare one order; True when it is missing in the ERP (reported by the caller, in a batch)."""
        self.report.checked["orders"] += 1
        linked = (order.metadata or {}).get(EXTERNAL_ID_KEY)
        linked = None if linked is None else str(linked)
        live = [mapped for mapped in erp if mapped.live]
        report = self.report
        if order.status == CANCELED and linked is None:  # cancelled before it was exported
            for mapped in live:
                report.add("order.status", mapped.state.external_id, store_id=order.id, field="status",
                           store=order.status, erp=mapped.state.status,
                           detail="cancelled in the store before export, live in the ERP")
            return False
        if not erp:
            return True
        if len(live) > 1:
            report.add("order.duplicated", ", ".join(m.state.external_id for m in live), store_id=order.id,
                       detail=f"{len(live)} live ERP orders: " + ", ".join(m.state.name or "?" for m in live))
        matched = next((m for m in erp if m.state.external_id == linked), None)
        if linked is None:
            report.add("order.unlinked", erp[0].state.external_id, store_id=order.id, field=EXTERNAL_ID_KEY)
        elif matched is None:
            report.add("order.link", linked, store_id=order.id, field=EXTERNAL_ID_KEY, store=linked,
                       erp=", ".join(m.state.external_id for m in erp))
        matched = matched or (live[0] if live else erp[-1])
        self._check_status(order, matched)
        return False

    def _check_status(self, order: Order, erp: Mapped) -> None:
        external_id = erp.state.external_id
        if erp.error is not None:
            self.report.add("order.status", external_id, store_id=order.id, field="status", store=order.status,
                            erp=erp.state.status, detail=erp.error)
            return
        self.report.compare("order.status", external_id, order.id, "status", order.status, erp.status)
        if erp.fulfillment is not None:
            self.report.compare("order.fulfillment", external_id, order.id, "fulfillment_status",
                                order.fulfillment_status, erp.fulfillment)

    async def _report_missing(self, orders: list[Order]) -> None:
        """``order.missing_in_erp`` for each, saying how its export run stands (one query)."""
        if not orders:
            return
        run_ids = {sync_order_to_erp_run_id(order.id): order for order in orders}
        runs = {run_id: (state, error) for run_id, state, error in
                await WorkflowRunRecord.filter(id__in=list(run_ids)).values_list("id", "state", "error")}
        for run_id, order in run_ids.items():
            state, error = runs.get(run_id, (None, None))
            detail = "no export run" if state is None else f"export run {state}" + (f": {error}" if error else "")
            self.report.add("order.missing_in_erp", None, store_id=order.id, field="display_id",
                            store=order.display_id, detail=detail[:300])
