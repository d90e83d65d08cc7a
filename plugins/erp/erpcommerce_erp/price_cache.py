"""A short-lived, in-process cache of ERP price quotes, and the one place prices are asked for.

Storefronts ask for the same prices again and again (a listing page, an add, the next add). Each
quote is kept for ``[erp] price_cache_seconds`` (0 turns the cache off), keyed by everything a
price depends on: variant, quantity, currency and customer (company). A variant the ERP did not
price is remembered too, so an unknown variant is not asked about on every request.

:func:`PriceCache.quotes` asks the ERP only about the misses, in one batched call. A process keeps
its cache for its lifetime; entries of other processes are independent, so the TTL bounds how
stale a price can be anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from erpcommerce_erp.contract import ErpCustomer, PriceQuote, PriceRequest
from erpcommerce_erp.gateway import ErpGateway

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "PriceCache",
    "PriceKey",
]

DEFAULT_MAX_ENTRIES = 50_000

# (variant external id, quantity, currency code, customer cache key or None for guests)
PriceKey = tuple[str, int, str, str | None]


class PriceCache:
    """ERP quotes (or their absence) by :data:`PriceKey`, each valid ``ttl`` seconds.

    :param ttl: seconds a quote is reused; 0 (or less) turns the cache off.
    :param max_entries: beyond this many entries the oldest are dropped.
    """

    def __init__(self, ttl: float = 0.0, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[PriceKey, tuple[float, PriceQuote | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(variant_external_id: str, quantity: int, currency_code: str, customer: ErpCustomer | None) -> PriceKey:
        """The key of a price for ``customer`` (None: a guest)."""
        return (variant_external_id, quantity, currency_code.lower(), None if customer is None else customer.cache_key)

    def get(self, key: PriceKey) -> tuple[bool, PriceQuote | None]:
        """``(True, quote)`` for a live entry (the quote None: the ERP does not price it), else ``(False, None)``."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return False, None
        return True, entry[1]

    def put(self, key: PriceKey, quote: PriceQuote | None) -> None:
        """Remember ``quote`` (None: the ERP gave no price) for ``ttl`` seconds."""
        if self.ttl <= 0:
            return
        self._entries.pop(key, None)
        while len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (time.monotonic() + self.ttl, quote)

    def clear(self) -> None:
        self._entries.clear()

    async def quotes(
        self,
        gateway: ErpGateway,
        requests: Iterable[PriceRequest],
        currency_code: str,
        customer: ErpCustomer | None,
        *,
        fresh: bool = False,
    ) -> dict[tuple[str, int], PriceQuote]:
        """Quotes by (variant external id, quantity): cached ones, the misses asked in one call.

        :param fresh: ask the ERP about every request (the answers still refresh the cache).
        :raises core.errors.ErpUnavailable: when the ERP cannot be asked (nothing is cached then).
        """
        found: dict[tuple[str, int], PriceQuote] = {}
        missing: dict[tuple[str, int], PriceRequest] = {}
        for request in requests:
            wanted = (request.variant_external_id, request.quantity)
            if wanted in found or wanted in missing:
                continue
            hit, quote = (False, None) if fresh else self.get(self.key(*wanted, currency_code, customer))
            if not hit:
                missing[wanted] = request
            elif quote is not None:
                found[wanted] = quote
        if missing:
            answered = await gateway.get_prices(list(missing.values()), currency_code, customer)
            for wanted in missing:
                quote = answered.get(wanted)
                self.put(self.key(*wanted, currency_code, customer), quote)
                if quote is not None:
                    found[wanted] = quote
        return found

