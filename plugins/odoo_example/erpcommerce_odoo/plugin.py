"""The ``odoo`` plugin: reads ``[plugins.odoo]`` and supplies the ERP plugin's client.

Registered through the ``erpcommerce.plugins`` entry point as ``odoo``. It is active when the
configuration has a ``[plugins.odoo]`` section (an empty one takes every default: the fake
Odoo's address and credentials); without one, ``erp_client()`` returns None, so installing the
package alone never makes the server call an Odoo.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.config import Settings
from core.hookspecs import hookimpl
from erpcommerce_erp.contract import ErpClient
from erpcommerce_erp.hookspecs import erp_hookimpl
from erpcommerce_odoo.client import OdooClient
from erpcommerce_odoo.demo_command import add_demo_command
from erpcommerce_odoo.settings import SECTION, OdooSettings, load_settings

__all__ = [
    "PLUGIN_NAME",
    "OdooPlugin",
    "plugin",
]

PLUGIN_NAME = SECTION


class OdooPlugin:
    """The plugin's state in one process: its settings and the one :class:`OdooClient`."""

    def __init__(self) -> None:
        self.settings: OdooSettings | None = None
        self._client: OdooClient | None = None

    @hookimpl
    def configure(self, settings: Settings) -> None:
        """Validate ``[plugins.odoo]``.

        :raises core.errors.ConfigError: naming ``plugins.odoo.<key>``.
        """
        raw = settings.plugins.get(SECTION)
        self.settings = None if raw is None else load_settings(raw)
        self._client = None

    @hookimpl
    def add_commands(self, commands: Any, options: argparse.ArgumentParser) -> None:
        """``erpcommerce demo``."""
        add_demo_command(commands, options)

    @erp_hookimpl
    def erp_client(self) -> ErpClient | None:
        """The process's Odoo client (None while ``[plugins.odoo]`` is absent)."""
        if self.settings is None:
            return None
        if self._client is None:
            self._client = OdooClient(self.settings)
        return self._client


# The instance the entry point registers.
plugin = OdooPlugin()
