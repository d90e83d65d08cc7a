"""Store customers as Odoo partners: found for prices and permissions, found or created for orders.

A customer is the partner whose id is the customer's ``external_id``, else the partner with the
customer's email (exactly, case aside; with several, the one whose company has the customer's
company name, else the oldest). Prices and permissions belong to its commercial partner (the
company, or the person when there is none): ``commercial_partner_id`` and that partner's
``property_product_pricelist``. Lookups are cached for ``cache_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from erpcommerce_erp.contract import ErpAddress, ErpCustomer, ErpOrder
from erpcommerce_odoo.cache import TtlCache
from erpcommerce_odoo.records import Partner, m2o_name
from erpcommerce_odoo.rpc import OdooRpc

__all__ = [
    "Buyer",
    "Partners",
]


@dataclass(frozen=True)
class Buyer:
    """A customer's partner, its commercial partner's id and name, and the pricelist they buy on."""

    partner_id: int
    commercial_id: int
    company_name: str | None
    pricelist_id: int | None


class Partners:
    """Partner lookups through ``rpc``, cached for ``cache_seconds``."""

    def __init__(self, rpc: OdooRpc, cache_seconds: float) -> None:
        self.rpc = rpc
        self._buyers: TtlCache[tuple[Buyer | None]] = TtlCache(cache_seconds)

    async def buyer(self, customer: ErpCustomer | None) -> Buyer | None:
        """The customer's :class:`Buyer` (None: a guest, or nobody Odoo knows)."""
        if customer is None:
            return None
        cached = self._buyers.get(customer.cache_key)
        if cached is None:
            cached = self._buyers.put(customer.cache_key, (await self._resolve(customer),))
        return cached[0]

    async def _resolve(self, customer: ErpCustomer) -> Buyer | None:
        partner = await self._by_id(customer.external_id)
        if partner is None:
            partner = await self._by_email(customer.email, customer.company_name)
        if partner is None:
            return None
        commercial = partner
        if partner.commercial_id != partner.id:
            commercial = await self._by_id(str(partner.commercial_id)) or partner
        return Buyer(
            partner_id=partner.id,
            commercial_id=commercial.id,
            company_name=commercial.name if commercial.id != partner.id else customer.company_name,
            pricelist_id=commercial.property_product_pricelist or partner.property_product_pricelist,
        )

    async def _by_id(self, external_id: str | None) -> Partner | None:
        if external_id is None or not external_id.isdigit():
            return None
        domain = [("id", "=", int(external_id))]
        rows = await self.rpc.execute_kw("res.partner", "search_read", [domain, Partner.FIELDS])
        return Partner.model_validate(rows[0]) if rows else None

    async def _by_email(self, email: str, company_name: str | None) -> Partner | None:
        # ilike, then an exact comparison here: "_" and "%" are wildcards to Odoo's (i)like.
        rows = await self.rpc.execute_kw(
            "res.partner", "search_read", [[("email", "ilike", email)], Partner.FIELDS], {"order": "id asc"}
        )
        partners = [p for p in (Partner.model_validate(row) for row in rows) if (p.email or "").lower() == email.lower()]
        if company_name:
            for partner in partners:
                if (m2o_name(partner.commercial_partner_id) or "").lower() == company_name.lower():
                    return partner
        return partners[0] if partners else None

    # -- orders --------------------------------------------------------------------------------

    async def for_order(self, order: ErpOrder) -> int:
        """The partner to sell ``order`` to: the customer's, found or created (with its company)."""
        customer = order.customer
        email = order.email or (customer.email if customer else None)
        company = (customer.company_name if customer else None) or _company(order.billing_address)
        found = await self._by_id(customer.external_id if customer else None)
        if found is None and email:
            found = await self._by_email(email, company)
        if found is not None:
            return found.id
        parent_id = await self._company(company) if company else None
        vals: dict[str, Any] = {
            "name": _person_name(customer, order.billing_address) or email or f"Order {order.display_id}",
            "email": email or False,
            "phone": (customer.phone if customer else None) or False,
            "type": "contact",
            **_address_vals(order.billing_address or order.shipping_address),
        }
        if parent_id is not None:
            vals["parent_id"] = parent_id
        created = await self.rpc.execute_kw("res.partner", "create", [vals])
        return int(created)

    async def _company(self, name: str) -> int:
        rows = await self.rpc.execute_kw(
            "res.partner", "search_read", [[("is_company", "=", True), ("name", "ilike", name)], ["name"]],
            {"order": "id asc"},
        )
        for row in rows:
            if str(row.get("name", "")).lower() == name.lower():
                return int(row["id"])
        return int(await self.rpc.execute_kw("res.partner", "create", [{"name": name, "is_company": True}]))


def _company(address: ErpAddress | None) -> str | None:
    return address.company if address and address.company else None


def _person_name(customer: ErpCustomer | None, address: ErpAddress | None) -> str | None:
    for source in (customer, address):
        if source is not None:
            name = " ".join(part for part in (source.first_name, source.last_name) if part)
            if name:
                return name
    return None


def _address_vals(address: ErpAddress | None) -> dict[str, Any]:
    if address is None:
        return {}
    vals = {"street": address.address_1, "street2": address.address_2, "city": address.city, "zip": address.postal_code}
    return {key: value for key, value in vals.items() if value}
