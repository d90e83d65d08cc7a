"""Every call to the ERP client goes through here: timeouts, error mapping, answer checks, figures.

The client may fail in any way (a timeout, a refused connection, an HTML page instead of JSON, an
answer about variants nobody asked for). Here each failure becomes an error core knows:
:class:`~core.errors.ErpUnavailable` for anything transient or malformed (503 on a storefront
request, nothing written; retried with backoff by durable runs), while
:class:`~core.errors.PermanentError`, :class:`~core.errors.CommerceError` and
:class:`~core.errors.ConfigError` raised by the client pass through unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from core.errors import CommerceError, ConfigError, ErpUnavailable
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
from erpcommerce_erp.metrics import observe_call
from erpcommerce_erp.settings import ErpPluginSettings

__all__ = [
    "CallFigures",
    "ErpGateway",
]

log = logging.getLogger("erpcommerce.erp")

T = TypeVar("T")


@dataclass(slots=True)
class CallFigures:
    """Per operation, since the process started: calls, failures, total and slowest duration."""

    calls: int = 0
    failures: int = 0
    seconds: float = 0.0
    slowest: float = 0.0


class ErpGateway:
    """The ERP client behind timeouts and checks. One per process, shared by every request.

    :param client: the ERP plugin's client.
    :param settings: ``[plugins.erp]``.
    """

    def __init__(self, client: ErpClient, settings: ErpPluginSettings) -> None:
        self.client = client
        self.settings = settings
        self.figures: dict[str, CallFigures] = {}

    @property
    def name(self) -> str:
        return self.client.name

    # -- the generic call -------------------------------------------------------------------

    async def call(
        self, operation: str, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float, **kwargs: Any
    ) -> T:
        """``await fn(*args, **kwargs)`` within ``timeout`` seconds, failures mapped (see module doc)."""
        figures = self.figures.setdefault(operation, CallFigures())
        started = time.perf_counter()
        figures.calls += 1
        error: str | None = None  # the kind of failure, for the Prometheus metrics
        try:
            async with asyncio.timeout(timeout):
                return await fn(*args, **kwargs)
        except (CommerceError, ConfigError, NotImplementedError) as exc:  # NotImplementedError: an optional call
            figures.failures += 1
            error = _error_kind(exc)
            raise
        except TimeoutError:
            figures.failures += 1
            error = "timeout"
            raise ErpUnavailable(
                f"{self.name} did not answer within {timeout:g} s ({operation}); try again later"
            ) from None
        except ValidationError as exc:
            figures.failures += 1
            error = "malformed"
            raise self.malformed(operation, _describe_validation(exc)) from None
        except Exception as exc:  # transport errors and client bugs alike: fail closed
            figures.failures += 1
            error = "unavailable"
            log.warning("erp call failed", extra={"operation": operation, "error": repr(exc)})
            raise ErpUnavailable(f"{self.name} could not be reached ({operation}): {_one_line(exc)}") from None
        finally:
            elapsed = time.perf_counter() - started
            figures.seconds += elapsed
            figures.slowest = max(figures.slowest, elapsed)
            observe_call(operation, elapsed, error)

    def malformed(self, operation: str, detail: str) -> ErpUnavailable:
        """The error for an answer that does not fit the contract."""
        log.warning("erp answer malformed", extra={"operation": operation, "detail": detail})
        return ErpUnavailable(f"{self.name} answered {operation} with malformed data: {detail}")

    def _expect_list(self, operation: str, result: Any, model: type[T]) -> list[T]:
        if not isinstance(result, list) or not all(isinstance(item, model) for item in result):
            raise self.malformed(operation, f"expected a list of {model.__name__}, got {type(result).__name__}")
        return result

    # -- cart questions (storefront timeout) ---------------------------------------------------

    async def _storefront_call(self, operation: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """A call for a storefront request: within ``timeout_seconds``; a configuration error (the
        ERP refused the store's credentials) is logged for the operator and answered 503."""
        try:
            return await self.call(operation, fn, *args, timeout=self.settings.timeout_seconds)
        except ConfigError as exc:
            log.error("erp configuration error", extra={"operation": operation, "error": str(exc)})
            raise ErpUnavailable(
                f"{self.name} is unavailable ({operation}): the store's connection to it is misconfigured"
            ) from None

    async def get_prices(
        self, requests: list[PriceRequest], currency_code: str, customer: ErpCustomer | None
    ) -> dict[tuple[str, int], PriceQuote]:
        """Quotes by (variant external id, quantity); only for what was asked, in ``currency_code``."""
        if not requests:
            return {}
        result = await self._storefront_call(
            "get_prices", self.client.get_prices, requests, currency_code.lower(), customer
        )
        asked = {(request.variant_external_id, request.quantity) for request in requests}
        quotes: dict[tuple[str, int], PriceQuote] = {}
        for quote in self._expect_list("get_prices", result, PriceQuote):
            key = (quote.variant_external_id, quote.quantity)
            if key not in asked:
                raise self.malformed("get_prices", f"a price for {key[0]} x {key[1]}, which was not asked for")
            if quote.currency_code != currency_code.lower():
                raise self.malformed("get_prices", f"a price in {quote.currency_code}, {currency_code.lower()} asked")
            quotes[key] = quote
        return quotes

    async def check_purchase(
        self, product_external_ids: Iterable[str], customer: ErpCustomer | None
    ) -> dict[str, PurchaseDecision]:
        """Decisions by product external id (a product left out is unknown to the ERP: allowed)."""
        ids = list(dict.fromkeys(product_external_ids))
        if not ids:
            return {}
        result = await self._storefront_call("check_purchase", self.client.check_purchase, ids, customer)
        decisions = {d.product_external_id: d for d in self._expect_list("check_purchase", result, PurchaseDecision)}
        unasked = set(decisions) - set(ids)
        if unasked:
            raise self.malformed("check_purchase", f"a decision for {sorted(unasked)[0]}, which was not asked for")
        return decisions

    async def get_stock(self, variant_external_ids: Iterable[str]) -> dict[str, StockLevel]:
        """Stock by variant external id (a variant left out is unknown to the ERP)."""
        ids = list(dict.fromkeys(variant_external_ids))
        if not ids:
            return {}
        result = await self._storefront_call("get_stock", self.client.get_stock, ids)
        return self._stock_levels(ids, result)

    def _stock_levels(self, asked: list[str], result: Any) -> dict[str, StockLevel]:
        levels = {level.variant_external_id: level for level in self._expect_list("get_stock", result, StockLevel)}
        unasked = set(levels) - set(asked)
        if unasked:
            raise self.malformed("get_stock", f"stock of {sorted(unasked)[0]}, which was not asked for")
        return levels

    # -- background calls (sync timeout) ------------------------------------------------------

    async def _page(self, operation: str, fn: Callable[..., Awaitable[Any]], cursor: str | None,
                    page: str | None, limit: int, model: type[Any]) -> Page[Any]:
        result = await self.call(operation, fn, cursor, page, limit, timeout=self.settings.sync_timeout_seconds)
        if not isinstance(result, Page):
            raise self.malformed(operation, f"expected a Page, got {type(result).__name__}")
        self._expect_list(operation, result.items, model)
        return result

    async def list_products(self, cursor: str | None, page: str | None, limit: int) -> Page[ErpProduct]:
        return await self._page("list_products", self.client.list_products, cursor, page, limit, ErpProduct)

    async def list_price_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[VariantPrices]:
        return await self._page(
            "list_price_changes", self.client.list_price_changes, cursor, page, limit, VariantPrices
        )

    async def list_stock_changes(self, cursor: str | None, page: str | None, limit: int) -> Page[StockLevel]:
        return await self._page("list_stock_changes", self.client.list_stock_changes, cursor, page, limit, StockLevel)

    async def get_stock_for_sync(self, variant_external_ids: Iterable[str]) -> list[StockLevel]:
        """:meth:`get_stock` for the product sync: within the sync timeout, in the order asked."""
        ids = list(dict.fromkeys(variant_external_ids))
        if not ids:
            return []
        result = await self.call("get_stock", self.client.get_stock, ids, timeout=self.settings.sync_timeout_seconds)
        levels = self._stock_levels(ids, result)
        return [levels[external_id] for external_id in ids if external_id in levels]

    async def count_products(self, cursor: str | None) -> int | None:
        result = await self.call(
            "count_products", self.client.count_products, cursor, timeout=self.settings.sync_timeout_seconds
        )
        if result is not None and (not isinstance(result, int) or result < 0):
            raise self.malformed("count_products", f"expected a count, got {result!r}")
        return result

    async def create_order(self, order: ErpOrder, idempotency_key: str) -> ErpOrderRef:
        """Create the order; a transient failure is retried no sooner than the client's settle time.

        The answer of a failed call is unknown (the ERP may still be creating the order), so the
        next call waits :attr:`~erpcommerce_erp.contract.ErpClient.order_create_settle_seconds`.
        """
        settle = self.client.order_create_settle_seconds
        try:
            result = await self.call(
                "create_order",
                self.client.create_order,
                order,
                idempotency_key,
                timeout=self.settings.sync_timeout_seconds,
            )
        except ErpUnavailable as exc:
            if settle and not exc.retry_after:
                exc.retry_after = settle
            raise
        if not isinstance(result, ErpOrderRef):
            raise self.malformed("create_order", f"expected an ErpOrderRef, got {type(result).__name__}")
        return result

    async def cancel_order(self, external_id: str, idempotency_key: str) -> None:
        await self.call(
            "cancel_order",
            self.client.cancel_order,
            external_id,
            idempotency_key,
            timeout=self.settings.sync_timeout_seconds,
        )


    async def list_orders_by_reference(self, references: Iterable[str]) -> list[ErpOrderState]:
        """The ERP orders made for the store orders ``references`` (only those asked about).

        :raises NotImplementedError: when the client cannot answer (see the contract).
        """
        asked = list(dict.fromkeys(references))
        if not asked:
            return []
        result = await self.call("list_orders_by_reference", self.client.list_orders_by_reference, asked,
                                 timeout=self.settings.sync_timeout_seconds)
        found = self._expect_list("list_orders_by_reference", result, ErpOrderState)
        unasked = {state.reference for state in found} - set(asked)
        if unasked:
            raise self.malformed("list_orders_by_reference", f"an order for {sorted(unasked)[0]}, which was not asked for")
        return found


def _error_kind(exc: Exception) -> str:
    """The ``error`` label of a failure the client raised as one of core's errors."""
    if isinstance(exc, ErpUnavailable):
        return "unavailable"
    return "not_implemented" if isinstance(exc, NotImplementedError) else "refused"


def _describe_validation(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return f"{exc.title}.{where}: {error['msg']}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__
