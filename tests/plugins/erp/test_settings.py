"""``[plugins.erp]``: validated with the key named, every key documented in config.toml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import ConfigError
from erpcommerce_erp.settings import ErpPluginSettings, load_plugin_settings

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config.toml"


def test_defaults_apply_without_a_section(settings: Settings) -> None:
    assert load_plugin_settings(settings.model_copy(update={"plugins": {}})) == ErpPluginSettings()


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"timeout_seconds": 0}, "plugins.erp.timeout_seconds"),
        ({"prices_on_line_items": "sometimes"}, "plugins.erp.prices_on_line_items"),
        ({"no_such_key": 1}, "plugins.erp.no_such_key"),
    ],
)
def test_a_bad_key_is_named(settings: Settings, section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_plugin_settings(settings.model_copy(update={"plugins": {"erp": section}}))
    assert error.value.key == key and key in str(error.value)


def test_config_toml_documents_every_key() -> None:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    section = text.split("# [plugins.erp]", 1)[1].split("\n#\n", 1)[0]
    for key in ErpPluginSettings.model_fields:
        assert re.search(rf"^# {key} = ", section, re.MULTILINE), f"config.toml does not show plugins.erp.{key}"
