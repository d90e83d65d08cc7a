"""The erp plugin registers its hooks and finds the ERP client another plugin supplies."""

from __future__ import annotations

import pluggy

from core.config import Settings
from core.plugins import build_plugin_manager
from erpcommerce_erp.plugin import PLUGIN_NAME, ErpPlugin, erp_plugin
from tests.plugins.erp.fake_erp import FakeErp


def test_the_client_comes_from_the_erp_client_hook(plugins: pluggy.PluginManager, fake_erp: FakeErp) -> None:
    gateway = erp_plugin(plugins).gateway
    assert gateway is not None and gateway.client is fake_erp


def test_without_an_erp_client_the_plugin_is_inactive(settings: Settings) -> None:
    pm = build_plugin_manager(settings, load_entry_points=False, extra_plugins=((ErpPlugin(), PLUGIN_NAME),))
    assert erp_plugin(pm).gateway is None
