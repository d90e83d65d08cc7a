"""The ERP client for Odoo 17/18 over JSON-RPC: the contract of :mod:`erpcommerce_erp.contract`.

Ids are Odoo's: a product is a ``product.template`` (its id is the product's ``external_id``),
a variant a ``product.product``, a customer's company a ``res.partner``, an order a ``sale.order``.
The cart calls cost one JSON-RPC call each once partners and pricelists are cached (see
:class:`~erpcommerce_odoo.reference.OdooReference`); the sync streams are in
:mod:`~erpcommerce_odoo.product_stream`, :mod:`~erpcommerce_odoo.price_stream` and
:mod:`~erpcommerce_odoo.stock`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from core.errors import PermanentError
from erpcommerce_erp.contract import (
    ErpClient,
    ErpCustomer,
    ErpOrder,
    ErpOrderRef,
    ErpOrderState,
    ErpProduct,
    OrderUpdate,
    Page,
    PriceQuote,
    PriceRequest,
    PurchaseDecision,
    StockLevel,
    VariantPrices,
    WebhookMode,
)
from erpcommerce_odoo import orders, price_stream, product_stream, stock
from erpcommerce_odoo.partners import Partners
from erpcommerce_odoo.pricelists import PricelistError
from erpcommerce_odoo.reference import ALL, OdooReference
from erpcommerce_odoo.rpc import OdooRpc
from erpcommerce_odoo.settings import OdooSettings

__all__ = [
    "OdooClient",
]

log = logging.getLogger("erpcommerce.odoo")


class OdooClient(ErpClient):
    """Odoo as the store's ERP (one per process).

    :param settings: ``[plugins.odoo]``.
    """

    name = "Odoo"
    webhook_mode: WebhookMode = "token"
    # Odoo 17/18 sale.order states (16 and older also had "done").
    order_status_map: ClassVar[dict[str, str]] = {
        "draft": "pending",
        "sent": "pending",
        "sale": "pending",
        "done": "completed",
        "cancel": "canceled",
    }
    # sale_stock's delivery_status (when the webhook sends it), and a cancelled order.
    fulfillment_status_map: ClassVar[dict[str, str]] = {
        "pending": "not_fulfilled",
        "started": "partially_fulfilled",
        "partial": "partially_shipped",
        "full": "shipped",
        "cancel": "canceled",
    }

    def __init__(self, settings: OdooSettings) -> None:
        self.settings = settings
        # Odoo has no idempotency key: a create whose answer was lost may run on until Odoo's
        # limit_time_real; the order sync waits that long before looking the order up again.
        self.order_create_settle_seconds = settings.request_time_limit_seconds
        self.rpc = OdooRpc(settings)
        self.reference = OdooReference(self.rpc, settings)
        self.partners = Partners(self.rpc, settings.cache_seconds)

    async def start(self) -> None:
        await self.rpc.start()

    async def close(self) -> None:
        await self.rpc.close()

    # -- product sync --------------------------------------------------------------------------

    async def list_products(self, cursor: str | None, page: str | None, limit: int) -> Page[ErpProduct]:
        return await product_stream.list_products(self.reference, cursor, page, limit)

    async def count_products(self, cursor: str | None) -> int | None:
        return await product_stream.count_products(self.reference, cursor)

    async def list_price_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[VariantPrices]:
        return await price_stream.list_price_changes(self.reference, cursor, page, limit)

    async def list_stock_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[StockLevel]:
        return await stock.list_stock_changes(self.reference, cursor, page, limit)

    # -- the cart ------------------------------------------------------------------------------

    async def get_prices(
        self, requests: list[PriceRequest], currency_code: str, customer: ErpCustomer | None
    ) -> list[PriceQuote]:
        """The customer's pricelist (its company's; guests: the public one) at each quantity.

        No quotes when that pricelist is in another currency than ``currency_code``.
        """
        buyer = await self.partners.buyer(customer)
        pricelist_id = buyer.pricelist_id if buyer else None
        if pricelist_id is None:
            pricelist_id = await self.reference.public_pricelist_id()
        variants = await self.reference.variants(_ids(r.variant_external_id for r in requests))
        book = await self.reference.book_for(pricelist_id)
        currency = book.pricelists[pricelist_id].currency_code if pricelist_id else book.company_currency
        if currency != currency_code.lower():
            log.info("odoo pricelist currency differs", extra={"pricelist": pricelist_id, "currency": currency})
            return []
        facts = await self.reference.facts(v for v in variants.values() if v.active)
        now = datetime.now(UTC).replace(tzinfo=None)
        quotes = []
        for request in requests:
            variant_id = int(request.variant_external_id) if request.variant_external_id.isdigit() else None
            if variant_id not in facts:
                continue
            product = facts[variant_id]
            try:
                price = (book.price(pricelist_id, product, request.quantity, now) if pricelist_id
                         else product.list_price)
            except PricelistError as exc:
                raise PermanentError(f"Odoo pricelist {pricelist_id} cannot be evaluated: {exc}") from None
            list_price = product.list_price if currency == book.company_currency else None
            quotes.append(
                PriceQuote(
                    variant_external_id=request.variant_external_id,
                    quantity=request.quantity,
                    unit_price=price,
                    currency_code=currency,
                    compare_at_unit_price=list_price if list_price is not None and list_price > price else None,
                )
            )
        return quotes

    async def check_purchase(
        self, product_external_ids: list[str], customer: ErpCustomer | None
    ) -> list[PurchaseDecision]:
        """Restricted templates (a non-empty ``allowed_partners_field``) only for the listed companies."""
        field = self.settings.allowed_partners_field
        ids = _ids(product_external_ids)
        if not field or not ids:
            return []
        await self.reference.require_field("product.template", field, "allowed_partners_field")
        rows = await self.rpc.execute_kw(
            "product.template", "search_read", [[("id", "in", ids)], ["name", field]], ALL
        )
        restricted = [row for row in rows if row.get(field)]
        buyer = await self.partners.buyer(customer) if restricted and customer is not None else None
        company = (buyer.company_name if buyer else None) or (customer.company_name if customer else None)
        decisions = [PurchaseDecision(product_external_id=str(row["id"]), allowed=True, company_name=company)
                     for row in rows if not row.get(field)]
        for row in restricted:
            allowed_ids = {int(i) for i in row[field]}
            allowed = buyer is not None and bool({buyer.commercial_id, buyer.partner_id} & allowed_ids)
            decisions.append(
                PurchaseDecision(
                    product_external_id=str(row["id"]),
                    allowed=allowed,
                    company_name=company,
                    reason=None if allowed else _refusal(customer),
                )
            )
        return decisions

    async def get_stock(self, variant_external_ids: list[str]) -> list[StockLevel]:
        return await stock.stock_levels(self.reference, _ids(variant_external_ids))

    # -- orders ----------------------------------------------------------------------------------

    async def create_order(self, order: ErpOrder, idempotency_key: str) -> ErpOrderRef:
        return await orders.create_order(self.rpc, self.partners, order, self.settings.company_id)

    async def cancel_order(self, external_id: str, idempotency_key: str) -> None:
        await orders.cancel_order(self.rpc, external_id)

    async def list_orders_by_reference(self, references: list[str]) -> list[ErpOrderState]:
        return await orders.orders_by_reference(self.rpc, references)

    def parse_order_update(self, body: bytes, *, event_id: str | None = None) -> OrderUpdate:
        return orders.parse_order_update(body, event_id)

    # -- helpers ---------------------------------------------------------------------------------


def _ids(external_ids: Any) -> list[int]:
    """The Odoo ids among ``external_ids`` (others cannot be Odoo's: left out), without duplicates."""
    return list(dict.fromkeys(int(i) for i in external_ids if str(i).isdigit()))


def _refusal(customer: ErpCustomer | None) -> str:
    """Why a restricted product is refused (the store's message already names the buyer and product)."""
    if customer is None:
        return "sold only to approved companies: sign in with your company account"
    return "sold only to approved companies"
