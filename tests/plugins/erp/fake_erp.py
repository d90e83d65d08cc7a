"""A fake ERP client for the ``erp`` plugin's tests: in-memory data, call counting, switchable faults.

Registered as a plugin implementing ``erp_client()``. Its data are plain dicts the tests edit;
``calls`` counts calls per operation (to prove batching) and ``log`` keeps their arguments.
Faults: ``fail(operation, error, times=1)`` raises ``error`` on the next calls of an operation
(``"*"``: any), ``down = True`` makes every call fail as a refused connection would, ``delay``
adds seconds to every call, ``malformed[operation]`` returns that value instead of the answer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from erpcommerce_erp.contract import (
    ErpClient,
    ErpCustomer,
    ErpOrder,
    ErpOrderRef,
    ErpOrderState,
    ErpProduct,
    Page,
    PriceQuote,
    PriceRequest,
    PurchaseDecision,
    StockLevel,
    VariantPrices,
)
from erpcommerce_erp.hookspecs import erp_hookimpl

__all__ = [
    "FakeErp",
    "FakeErpOrder",
]


@dataclass
class FakeErpOrder:
    external_id: str
    order: ErpOrder
    idempotency_key: str
    status: str = "sale"


@dataclass(eq=False)
class FakeErp(ErpClient):
    """The fake client and its data.

    :ivar prices: variant external id -> list of (min quantity, unit price) for everyone.
    :ivar company_prices: (company name, variant external id) -> list of (min quantity, unit price).
    :ivar allowed: product external id -> company names allowed to buy it (absent: anyone).
    :ivar stock: variant external id -> StockLevel.
    :ivar products: the catalogue, in stream order; ``price_changes`` and ``stock_changes`` the other
        streams (each page's cursor is the index reached, as a string).
    """

    name: str = "FakeERP"
    currency_code: str = "eur"
    prices: dict[str, list[tuple[int, Decimal]]] = field(default_factory=dict)
    company_prices: dict[tuple[str, str], list[tuple[int, Decimal]]] = field(default_factory=dict)
    allowed: dict[str, set[str]] = field(default_factory=dict)
    stock: dict[str, StockLevel] = field(default_factory=dict)
    products: list[ErpProduct] = field(default_factory=list)
    price_changes: list[VariantPrices] = field(default_factory=list)
    stock_changes: list[StockLevel] = field(default_factory=list)
    orders: dict[str, FakeErpOrder] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, Any]] = field(default_factory=list)
    down: bool = False
    delay: float = 0.0
    malformed: dict[str, Any] = field(default_factory=dict)
    _faults: list[list[Any]] = field(default_factory=list)
    _next_order: int = 1

    # -- the plugin side -----------------------------------------------------------------------

    @erp_hookimpl
    def erp_client(self) -> ErpClient:
        return self

    # -- faults --------------------------------------------------------------------------------

    def fail(self, operation: str, error: BaseException, times: int = 1) -> None:
        """Raise ``error`` on the next ``times`` calls of ``operation`` (``"*"``: any operation)."""
        self._faults.append([operation, error, times])

    async def _enter(self, operation: str, args: Any) -> Any:
        self.calls[operation] += 1
        self.log.append((operation, args))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ConnectionRefusedError(f"connect to {self.name} refused")
        for fault in self._faults:
            if fault[0] in (operation, "*") and fault[2] > 0:
                fault[2] -= 1
                raise fault[1]
        return self.malformed.get(operation, _ANSWER)

    # -- catalogue streams ----------------------------------------------------------------------

    def _page(self, items: list[Any], cursor: str | None, page: str | None, limit: int) -> Page[Any]:
        start = int(page if page is not None else (cursor or 0))
        chunk = items[start : start + limit]
        end = start + len(chunk)
        return Page(items=chunk, next_page=str(end) if end < len(items) else None, cursor=str(end))

    async def list_products(self, cursor: str | None, page: str | None, limit: int) -> Page[ErpProduct]:
        answer = await self._enter("list_products", (cursor, page, limit))
        return answer if answer is not _ANSWER else self._page(self.products, cursor, page, limit)

    async def count_products(self, cursor: str | None) -> int | None:
        return len(self.products) - int(cursor or 0)

    async def list_price_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[VariantPrices]:
        answer = await self._enter("list_price_changes", (cursor, page, limit))
        return answer if answer is not _ANSWER else self._page(self.price_changes, cursor, page, limit)

    async def list_stock_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[StockLevel]:
        answer = await self._enter("list_stock_changes", (cursor, page, limit))
        return answer if answer is not _ANSWER else self._page(self.stock_changes, cursor, page, limit)

    # -- cart questions --------------------------------------------------------------------------

    def unit_price(self, variant: str, quantity: int, company: str | None) -> Decimal | None:
        breaks = self.company_prices.get((company or "", variant)) or self.prices.get(variant)
        if not breaks:
            return None
        applicable = [price for minimum, price in sorted(breaks) if minimum <= quantity]
        return applicable[-1] if applicable else None

    async def get_prices(
        self, requests: list[PriceRequest], currency_code: str, customer: ErpCustomer | None
    ) -> list[PriceQuote]:
        answer = await self._enter("get_prices", (requests, currency_code, customer))
        if answer is not _ANSWER:
            return answer  # type: ignore[no-any-return]
        company = customer.company_name if customer else None
        quotes = []
        for request in requests:
            price = self.unit_price(request.variant_external_id, request.quantity, company)
            if price is not None:
                quotes.append(
                    PriceQuote(
                        variant_external_id=request.variant_external_id,
                        quantity=request.quantity,
                        unit_price=price,
                        currency_code=currency_code,
                    )
                )
        return quotes

    async def check_purchase(
        self, product_external_ids: list[str], customer: ErpCustomer | None
    ) -> list[PurchaseDecision]:
        answer = await self._enter("check_purchase", (product_external_ids, customer))
        if answer is not _ANSWER:
            return answer  # type: ignore[no-any-return]
        company = customer.company_name if customer else None
        decisions = []
        for product in product_external_ids:
            if product in self.allowed:
                decisions.append(
                    PurchaseDecision(
                        product_external_id=product,
                        allowed=company in self.allowed[product],
                        company_name=company,
                    )
                )
        return decisions

    async def get_stock(self, variant_external_ids: list[str]) -> list[StockLevel]:
        answer = await self._enter("get_stock", variant_external_ids)
        if answer is not _ANSWER:
            return answer  # type: ignore[no-any-return]
        return [self.stock[v] for v in variant_external_ids if v in self.stock]

    # -- orders ----------------------------------------------------------------------------------

    async def create_order(self, order: ErpOrder, idempotency_key: str) -> ErpOrderRef:
        answer = await self._enter("create_order", (order, idempotency_key))
        if answer is not _ANSWER:
            return answer  # type: ignore[no-any-return]
        for existing in self.orders.values():
            if existing.idempotency_key == idempotency_key and existing.status != "cancel":
                return ErpOrderRef(external_id=existing.external_id, name=f"S{existing.external_id}", status="sale")
        external_id = str(self._next_order)
        self._next_order += 1
        self.orders[external_id] = FakeErpOrder(external_id, order, idempotency_key)
        return ErpOrderRef(external_id=external_id, name=f"S{external_id}", status="sale")

    async def cancel_order(self, external_id: str, idempotency_key: str) -> None:
        await self._enter("cancel_order", (external_id, idempotency_key))
        if external_id in self.orders:
            self.orders[external_id].status = "cancel"

    async def list_orders_by_reference(self, references: list[str]) -> list[ErpOrderState]:
        answer = await self._enter("list_orders_by_reference", references)
        if answer is not _ANSWER:
            return answer  # type: ignore[no-any-return]
        wanted = set(references)
        return [
            ErpOrderState(reference=order.order.id, external_id=order.external_id, name=f"S{order.external_id}",
                          status=order.status)
            for order in self.orders.values() if order.order.id in wanted
        ]

    def live_orders(self) -> list[FakeErpOrder]:
        return [order for order in self.orders.values() if order.status != "cancel"]


_ANSWER: Any = object()
