"""Hooks ``plugins/erp`` adds for ERP-specific plugins (added through core's ``add_hookspecs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from core.hookspecs import PROJECT_NAME

if TYPE_CHECKING:
    from erpcommerce_erp.contract import ErpClient

__all__ = [
    "erp_client",
    "erp_hookimpl",
]

erp_hookspec = pluggy.HookspecMarker(PROJECT_NAME)
erp_hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@erp_hookspec(firstresult=True)
def erp_client() -> ErpClient | None:
    """The ERP client this process uses (one instance, created once per process).

    Called once, after ``configure``; the first implementation returning a client wins. With no
    implementation the ERP plugin stays inactive (its hooks do nothing).
    """
