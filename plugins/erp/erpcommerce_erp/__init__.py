"""erpcommerce's ERP integration plugin.

It defines the ERP client contract (:mod:`erpcommerce_erp.contract`) and implements the five use
cases on it: product sync, ERP prices, purchase restriction, inventory validation, and two-way
order sync. An ERP-specific plugin supplies the client by implementing the ``erp_client()`` hook
(:mod:`erpcommerce_erp.hookspecs`).
"""

from erpcommerce_erp.contract import ErpClient
from erpcommerce_erp.hookspecs import erp_hookimpl

__all__ = [
    "ErpClient",
    "erp_hookimpl",
]
