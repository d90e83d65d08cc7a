"""The store customer as the ERP is asked about it."""

from __future__ import annotations

from core.views import CustomerView
from erpcommerce_erp.contract import ErpCustomer

__all__ = [
    "EXTERNAL_ID_KEY",
    "erp_customer",
]

# A customer's ``metadata["external_id"]``: the ERP's partner id, when the store knows it.
EXTERNAL_ID_KEY = "external_id"


def erp_customer(customer: CustomerView | None) -> ErpCustomer | None:
    """``customer`` for the ERP client (None for a guest)."""
    if customer is None:
        return None
    external_id = (customer.metadata or {}).get(EXTERNAL_ID_KEY)
    return ErpCustomer(
        id=customer.id,
        email=customer.email,
        company_name=customer.company_name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
        external_id=None if external_id in (None, "") else str(external_id),
    )
