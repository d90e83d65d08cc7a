"""The ``odoo`` plugin: ``[plugins.odoo]`` validated, the one Odoo client handed to the ERP plugin."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from core.config import Settings
from core.errors import ConfigError
from core.plugins import build_plugin_manager
from erpcommerce_erp.plugin import PLUGIN_NAME as ERP, ErpPlugin, erp_plugin
from erpcommerce_odoo.client import OdooClient
from erpcommerce_odoo.plugin import PLUGIN_NAME, OdooPlugin
from erpcommerce_odoo.settings import OdooSettings


def with_odoo(settings: Settings, section: dict[str, object] | None) -> Settings:
    plugins = {} if section is None else {PLUGIN_NAME: section}
    return settings.model_copy(update={"plugins": plugins})


def test_the_entry_point_is_the_plugin() -> None:
    (found,) = [ep for ep in entry_points(group="erpcommerce.plugins") if ep.name == "odoo"]
    assert isinstance(found.load(), OdooPlugin)


def test_the_erp_plugin_gets_the_one_odoo_client(settings: Settings) -> None:
    odoo = OdooPlugin()
    pm = build_plugin_manager(with_odoo(settings, {"url": "http://odoo.test:8069/", "max_parallel_calls": 2}),
                              load_entry_points=False, extra_plugins=((ErpPlugin(), ERP), (odoo, PLUGIN_NAME)))
    gateway = erp_plugin(pm).gateway
    assert gateway is not None and isinstance(gateway.client, OdooClient)
    assert gateway.client is odoo.erp_client()
    assert gateway.client.settings.url == "http://odoo.test:8069"
    assert gateway.client.settings.max_parallel_calls == 2
    assert gateway.name == "Odoo"


def test_without_a_section_the_plugin_supplies_no_client(settings: Settings) -> None:
    odoo = OdooPlugin()
    pm = build_plugin_manager(with_odoo(settings, None), load_entry_points=False,
                              extra_plugins=((ErpPlugin(), ERP), (odoo, PLUGIN_NAME)))
    assert odoo.erp_client() is None
    assert erp_plugin(pm).gateway is None


def test_an_empty_section_takes_the_defaults(settings: Settings) -> None:
    odoo = OdooPlugin()
    odoo.configure(with_odoo(settings, {}))
    assert odoo.settings == OdooSettings()
    assert odoo.settings is not None
    assert (odoo.settings.url, odoo.settings.database, odoo.settings.page_size) == ("http://127.0.0.1:8069", "demo", 500)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"max_parallel_calls": 0}, "plugins.odoo.max_parallel_calls"),
        ({"url": "odoo.test"}, "plugins.odoo.url"),
        ({"stock_field": "virtual_available"}, "plugins.odoo.stock_field"),
        ({"allowed_partners_field": "x-bad name"}, "plugins.odoo.allowed_partners_field"),
        ({"pasword": "typo"}, "plugins.odoo.pasword"),
    ],
)
def test_bad_settings_name_the_key(settings: Settings, section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        OdooPlugin().configure(with_odoo(settings, section))
    assert caught.value.key == key
    assert str(caught.value).startswith(key)
