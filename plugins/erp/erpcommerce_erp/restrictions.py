"""Purchase restriction: may the customer's company buy these products? (``restrict_purchases``)

The ERP decides per product, for the customer's company (a guest has none); a product the ERP does
not know, or does not answer about, may be bought. One ERP call per check, whatever the number
of products.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import NotAllowed
from core.views import CustomerView
from erpcommerce_erp.contract import PurchaseDecision
from erpcommerce_erp.customers import erp_customer
from erpcommerce_erp.gateway import ErpGateway

__all__ = [
    "check_purchases",
]


async def check_purchases(gateway: ErpGateway, products: Mapping[str, str], customer: CustomerView | None) -> None:
    """Refuse when the ERP forbids one of ``products`` (external id -> title) to ``customer``.

    :raises NotAllowed: naming the company (or guests) and every refused product.
    :raises core.errors.ErpUnavailable: when the ERP cannot be asked (503).
    """
    if not products:
        return
    decisions = await gateway.check_purchase(list(products), erp_customer(customer))
    refused = [d for d in (decisions.get(external_id) for external_id in products) if d is not None and not d.allowed]
    if refused:
        raise NotAllowed(_refusal(refused, products, customer))


def _buyer(decision: PurchaseDecision, customer: CustomerView | None) -> str:
    if customer is None:
        return "Guests"
    return decision.company_name or customer.company_name or customer.email


def _refusal(refused: list[PurchaseDecision], products: Mapping[str, str], customer: CustomerView | None) -> str:
    titles = []
    for decision in refused:
        title = products[decision.product_external_id]
        titles.append(f"{title} ({decision.reason})" if decision.reason else title)
    return f"{_buyer(refused[0], customer)} may not buy {', '.join(titles)}"
