"""What the client reads from Odoo often and Odoo changes rarely, cached for ``cache_seconds``.

The company currency, product categories (for category price rules), pricelists with their
rules, the public pricelist, and which optional fields this Odoo has (``is_storable`` in 18,
``detailed_type`` in 17, ``allow_out_of_stock_order`` with website_sale_stock, the restriction
field): one ``fields_get`` per model per process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.errors import ConfigError, PermanentError
from erpcommerce_odoo.cache import TtlCache
from erpcommerce_odoo.pricelists import Pricelist, PricelistBook, ProductFacts, rule_order
from erpcommerce_odoo.records import Category, PricelistItem, PricelistRecord, VariantRecord, m2o_name
from erpcommerce_odoo.rpc import OdooRpc
from erpcommerce_odoo.settings import SECTION, OdooSettings

__all__ = [
    "ALL",
    "OdooReference",
]

# search_read's context to include archived records.
ALL = {"context": {"active_test": False}}
# How deep base pricelists may nest before the client gives up loading them.
MAX_PRICELIST_DEPTH = 8


class OdooReference:
    """Cached reference data of one Odoo database.

    :param rpc: the JSON-RPC connection.
    :param settings: ``[plugins.odoo]``.
    """

    def __init__(self, rpc: OdooRpc, settings: OdooSettings) -> None:
        self.rpc = rpc
        self.settings = settings
        self._cache: TtlCache[Any] = TtlCache(settings.cache_seconds)
        self._pricelists: TtlCache[Pricelist] = TtlCache(settings.cache_seconds)
        self._fields: dict[str, set[str]] = {}
        self._currency: str | None = None

    def clear(self) -> None:
        """Forget everything cached (the next reads go to Odoo)."""
        self._cache.clear()
        self._pricelists.clear()
        self._fields.clear()
        self._currency = None

    # -- models and fields ---------------------------------------------------------------------

    async def fields(self, model: str) -> set[str]:
        """The field names of ``model`` (``fields_get``, once per process)."""
        if model not in self._fields:
            result = await self.rpc.execute_kw(model, "fields_get", [], {"attributes": ["type"]})
            if not isinstance(result, dict):
                raise ValueError(f"fields_get of {model} answered {type(result).__name__}, not an object")
            self._fields[model] = set(result)
        return self._fields[model]

    async def require_field(self, model: str, name: str, key: str) -> None:
        """:raises ConfigError: naming ``plugins.odoo.<key>`` when ``model`` has no field ``name``."""
        if name not in await self.fields(model):
            raise ConfigError(
                f"plugins.{SECTION}.{key}: Odoo's {model} has no field {name!r} (create it, or change the key)",
                key=f"plugins.{SECTION}.{key}",
            )

    # -- company and categories ------------------------------------------------------------------

    async def company_currency(self) -> str:
        """The company's currency code, lower case (list prices and costs are in it)."""
        if self._currency is None:
            company_id = self.settings.company_id
            if company_id is None:
                users = await self.rpc.execute_kw(
                    "res.users", "search_read", [[("id", "=", await self.rpc.uid())], ["company_id"]]
                )
                company_id = _first(users, "res.users")["company_id"][0]
            companies = await self.rpc.execute_kw(
                "res.company", "search_read", [[("id", "=", company_id)], ["currency_id"]]
            )
            self._currency = str(_first(companies, "res.company")["currency_id"][1]).lower()
        return self._currency

    async def categories(self) -> dict[int, Category]:
        """Every product category by id."""

        async def load() -> dict[int, Category]:
            rows = await self.rpc.execute_kw("product.category", "search_read", [[], Category.FIELDS])
            return {c.id: c for c in (Category.model_validate(row) for row in rows)}

        return await self._cache.get_or_load("categories", load)

    # -- pricelists ----------------------------------------------------------------------------------

    async def public_pricelist_id(self) -> int | None:
        """The pricelist of guests and of the store's prices: the configured one, else the first active."""
        if self.settings.public_pricelist_id is not None:
            return self.settings.public_pricelist_id

        async def load() -> list[int]:
            ids = await self.rpc.execute_kw("product.pricelist", "search", [self._company_domain()], {"limit": 1})
            return [int(i) for i in ids]

        found = await self._cache.get_or_load("public-pricelist", load)
        return found[0] if found else None

    async def book(self, pricelist_ids: Iterable[int], *, fresh: bool = False) -> PricelistBook:
        """A :class:`PricelistBook` with ``pricelist_ids`` and every pricelist their rules are based on.

        :param fresh: read the pricelists again even if they are cached.
        """
        book = PricelistBook(company_currency=await self.company_currency())
        wanted = set(pricelist_ids)
        for _ in range(MAX_PRICELIST_DEPTH):
            missing = set()
            for pricelist_id in wanted - set(book.pricelists):
                cached = None if fresh else self._pricelists.get(pricelist_id)
                if cached is None:
                    missing.add(pricelist_id)
                else:
                    book.pricelists[pricelist_id] = cached
            if missing:
                for pricelist in await self._load_pricelists(sorted(missing)):
                    book.pricelists[pricelist.id] = self._pricelists.put(pricelist.id, pricelist)
            wanted = {
                item.base_pricelist_id
                for pricelist in book.pricelists.values()
                for item in pricelist.items
                if item.base == "pricelist" and item.base_pricelist_id is not None
            } - set(book.pricelists)
            if not wanted:
                break
        return book

    async def book_for(self, pricelist_id: int | None, *, fresh: bool = False) -> PricelistBook:
        """:meth:`book` with ``pricelist_id`` (None: an empty book, list prices only).

        :raises ConfigError: when the configured public pricelist does not exist.
        :raises PermanentError: when another pricelist does not exist.
        """
        if pricelist_id is None:
            return PricelistBook(company_currency=await self.company_currency())
        book = await self.book([pricelist_id], fresh=fresh)
        if pricelist_id not in book.pricelists:
            if pricelist_id == self.settings.public_pricelist_id:
                raise ConfigError(
                    f"plugins.{SECTION}.public_pricelist_id: Odoo has no pricelist {pricelist_id}",
                    key=f"plugins.{SECTION}.public_pricelist_id",
                )
            raise PermanentError(f"Odoo pricelist {pricelist_id} does not exist")
        return book

    async def _load_pricelists(self, ids: list[int]) -> list[Pricelist]:
        rows = await self.rpc.execute_kw(
            "product.pricelist", "search_read", [[("id", "in", ids)], PricelistRecord.FIELDS], ALL
        )
        records = [PricelistRecord.model_validate(row) for row in rows]
        item_rows = await self.rpc.execute_kw(
            "product.pricelist.item", "search_read", [[("pricelist_id", "in", ids)], PricelistItem.FIELDS]
        )
        items = [PricelistItem.model_validate(row) for row in item_rows]
        names = complete_names(await self.categories())
        return [
            Pricelist(
                id=record.id,
                name=record.name,
                currency_code=(m2o_name(record.currency_id) or "").lower(),
                items=rule_order((item for item in items if item.pricelist_id == record.id), names),
            )
            for record in records
        ]

    # -- products ---------------------------------------------------------------------------------

    async def variants(self, ids: Iterable[int]) -> dict[int, VariantRecord]:
        """``product.product`` records by id (archived ones included, unknown ids left out)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = await self.rpc.execute_kw(
            "product.product", "search_read", [[("id", "in", wanted)], VariantRecord.FIELDS], ALL
        )
        return {v.id: v for v in (VariantRecord.model_validate(row) for row in rows)}

    async def facts(self, variants: Iterable[VariantRecord]) -> dict[int, ProductFacts]:
        """What pricelist rules look at, per variant id."""
        categories = await self.categories()
        return {
            v.id: ProductFacts(
                variant_id=v.id,
                template_id=v.product_tmpl_id or 0,
                category_ids=ancestors(categories, v.categ_id),
                list_price=v.lst_price,
                standard_price=v.standard_price,
            )
            for v in variants
        }

    def _company_domain(self) -> list[Any]:
        if self.settings.company_id is None:
            return []
        return ["|", ("company_id", "=", False), ("company_id", "=", self.settings.company_id)]


def ancestors(categories: dict[int, Category], categ_id: int | None) -> frozenset[int]:
    """``categ_id`` and its parents (a loop in the data stops the walk)."""
    found: list[int] = []
    while categ_id is not None and categ_id not in found:
        found.append(categ_id)
        parent = categories.get(categ_id)
        categ_id = parent.parent_id if parent is not None else None
    return frozenset(found)


def descendants(categories: dict[int, Category], roots: Iterable[int]) -> set[int]:
    """``roots`` and every category below them."""
    return {c for c in categories if ancestors(categories, c) & set(roots)} | set(roots)


def complete_names(categories: dict[int, Category]) -> dict[int, str]:
    """Each category's full name, ``All / Saleable / Office``, as Odoo sorts categories."""
    names: dict[int, str] = {}
    for categ_id in categories:
        chain: list[str] = []
        current: int | None = categ_id
        seen: set[int] = set()
        while current is not None and current in categories and current not in seen:
            seen.add(current)
            chain.append(categories[current].name)
            current = categories[current].parent_id
        names[categ_id] = " / ".join(reversed(chain))
    return names


def _first(rows: Any, model: str) -> dict[str, Any]:
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        raise ValueError(f"Odoo answered a {model} read with {str(rows)[:100]}")
    return rows[0]
