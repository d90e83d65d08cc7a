"""Plugins: the async hook helpers of core.plugins, and a real plugin distribution installed with pip.

The distribution in tests/plugin_fixture registers an ``erpcommerce.plugins`` entry point whose
``validate_add_to_cart`` refuses the variant with SKU ``FORBIDDEN-SKU``. It is pip-installed into
the running interpreter for this module's tests and uninstalled afterwards.
"""

from __future__ import annotations

import gc
import importlib
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pluggy
import pytest

from core.app import create_app
from core.config import SAMPLE_JWT_SECRET, Settings
from core.errors import NotAllowed
from core.hookspecs import hookimpl
from core.models import Price, Product, ProductVariant, SalesChannel
from core.plugins import build_plugin_manager, call_all, call_first, describe_plugins

FIXTURE = Path(__file__).resolve().parent / "plugin_fixture"
DISTRIBUTION = "erpcommerce-refuse-sku"
MODULE = "erpcommerce_refuse_sku"
ENTRY_POINT = "refuse_sku"
CONSOLE_SCRIPT = Path(sys.executable).with_name("erpcommerce")

Manager = pluggy.PluginManager


# -------------------------------------------------------------------------------------------------
# call_all / call_first
# -------------------------------------------------------------------------------------------------


class Recorder:
    """Implementations of ``handle_event`` that record the order they ran in."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def sync_impl(self, label: str, result: Any = None, *, tryfirst: bool = False) -> object:
        recorder = self

        class SyncPlugin:
            @hookimpl(tryfirst=tryfirst)
            def handle_event(self, name: str, payload: dict[str, Any]) -> Any:
                recorder.calls.append(label)
                return result

        return SyncPlugin()

    def async_impl(
        self, label: str, result: Any = None, error: Exception | None = None, *, trylast: bool = False
    ) -> object:
        recorder = self

        class AsyncPlugin:
            @hookimpl(trylast=trylast)
            async def handle_event(self, name: str, payload: dict[str, Any]) -> Any:
                recorder.calls.append(label)
                if error is not None:
                    raise error
                return result

        return AsyncPlugin()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def register(pm: pluggy.PluginManager, *plugins: object) -> None:
    for plugin in plugins:
        pm.register(plugin)


async def test_call_all_runs_every_impl_in_pluggy_order(plugins: Manager, recorder: Recorder) -> None:
    register(
        plugins,
        recorder.sync_impl("first registered", "a"),
        recorder.async_impl("second registered", "b"),
        recorder.sync_impl("tryfirst", "c", tryfirst=True),
        recorder.async_impl("trylast", "d", trylast=True),
    )
    results = await call_all(plugins.hook.handle_event, name="order.placed", payload={"id": "order_1"})
    assert recorder.calls == ["tryfirst", "second registered", "first registered", "trylast"]
    assert results == ["c", "b", "a", "d"]


async def test_call_all_awaits_async_results_and_drops_none(plugins: Manager, recorder: Recorder) -> None:
    register(plugins, recorder.async_impl("none"), recorder.sync_impl("sync", 1))
    register(plugins, recorder.async_impl("async", 2))
    results = await call_all(plugins.hook.handle_event, name="x", payload={})
    assert results == [2, 1]
    assert len(recorder.calls) == 3


async def test_call_all_stops_at_the_first_exception(plugins: Manager, recorder: Recorder) -> None:
    register(
        plugins,
        recorder.async_impl("runs last: never reached"),
        recorder.sync_impl("never reached either"),
        recorder.async_impl("refuses", error=NotAllowed("no")),
        recorder.sync_impl("runs first", tryfirst=True),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(NotAllowed, match="no"):
            await call_all(plugins.hook.handle_event, name="x", payload={})
        gc.collect()
    assert recorder.calls == ["runs first", "refuses"]
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_call_first_returns_the_first_non_none_and_stops(plugins: Manager, recorder: Recorder) -> None:
    register(
        plugins,
        recorder.async_impl("not reached", "later"),
        recorder.async_impl("wins", "winner"),
        recorder.sync_impl("says nothing", None, tryfirst=True),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await call_first(plugins.hook.handle_event, name="x", payload={}) == "winner"
        gc.collect()
    assert recorder.calls == ["says nothing", "wins"]
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_call_first_returns_none_when_every_impl_does(plugins: Manager, recorder: Recorder) -> None:
    register(plugins, recorder.sync_impl("a"), recorder.async_impl("b"))
    assert await call_first(plugins.hook.handle_event, name="x", payload={}) is None
    assert recorder.calls == ["b", "a"]


async def test_call_first_propagates_an_exception(plugins: Manager, recorder: Recorder) -> None:
    register(plugins, recorder.sync_impl("not reached", "x"))
    register(plugins, recorder.async_impl("boom", error=NotAllowed("no")))
    with pytest.raises(NotAllowed):
        await call_first(plugins.hook.handle_event, name="x", payload={})
    assert recorder.calls == ["boom"]


async def test_call_all_with_no_impl_returns_empty(plugins: pluggy.PluginManager) -> None:
    assert await call_all(plugins.hook.handle_event, name="x", payload={}) == []


def test_describe_plugins_lists_core_defaults(plugins: pluggy.PluginManager) -> None:
    infos = {info.name: info for info in describe_plugins(plugins)}
    assert "price_line_items" in infos["core.pricing"].hooks
    assert infos["core.pricing"].distribution is None


# -------------------------------------------------------------------------------------------------
# A real distribution found through its entry point
# -------------------------------------------------------------------------------------------------


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pip-install tests/plugin_fixture (a copy, so the build leaves nothing in the repository)."""
    source = tmp_path_factory.mktemp("plugin") / "plugin_fixture"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    result = _pip("install", "--quiet", "--no-deps", "--no-build-isolation", str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    importlib.invalidate_caches()
    try:
        yield DISTRIBUTION
    finally:
        _pip("uninstall", "--quiet", "--yes", DISTRIBUTION)
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()


def test_entry_point_plugin_is_loaded_with_its_hook(installed_plugin: str, settings: Settings) -> None:
    pm = build_plugin_manager(settings)
    infos = {info.name: info for info in describe_plugins(pm)}
    assert infos[ENTRY_POINT].hooks == ("validate_add_to_cart",)
    assert infos[ENTRY_POINT].distribution == f"{installed_plugin} 0.1.0"


def test_entry_point_plugins_are_skipped_on_request(installed_plugin: str, settings: Settings) -> None:
    pm = build_plugin_manager(settings, load_entry_points=False)
    assert ENTRY_POINT not in {info.name for info in describe_plugins(pm)}


def test_plugins_command_lists_the_installed_plugin(installed_plugin: str, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'[server]\nenvironment = "development"\n[auth]\njwt_secret = "{SAMPLE_JWT_SECRET}"\n'
    )
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("ERPCOMMERCE_")}
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "plugins"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    position = lines.index(f"{ENTRY_POINT} ({installed_plugin} 0.1.0)")
    assert lines[position + 1].strip() == "hooks: validate_add_to_cart"


async def _forbidden_variant(store: Any) -> str:
    """A published, priced variant with the SKU the plugin refuses, in the store's sales channel."""
    product = await Product.create(title="Contraband", handle="contraband", status="published")
    await product.sales_channels.add(await SalesChannel.get(id=store.sales_channel_id))
    variant = await ProductVariant.create(product=product, title="Default", sku="FORBIDDEN-SKU")
    await Price.create(variant=variant, currency_code="eur", amount=Decimal("3.00"))
    return str(variant.id)


async def test_store_api_refuses_the_forbidden_variant_and_accepts_another(
    installed_plugin: str, settings: Settings, store: Any, aiohttp_client: Any
) -> None:
    pm = build_plugin_manager(settings)  # with entry points: the installed plugin is in
    client = await aiohttp_client(create_app(settings, pm, manage_database=False))
    forbidden = await _forbidden_variant(store)
    created = await client.post("/store/carts", json={"region_id": store.region_id}, headers=store.headers())
    assert created.status == 200, await created.text()
    cart_id = (await created.json())["cart"]["id"]

    refused = await client.post(
        f"/store/carts/{cart_id}/line-items",
        json={"variant_id": forbidden, "quantity": 1},
        headers=store.headers(),
    )
    assert refused.status == 400
    body = await refused.json()
    assert body["type"] == "not_allowed"
    assert "FORBIDDEN-SKU" in body["message"]

    accepted = await client.post(
        f"/store/carts/{cart_id}/line-items",
        json={"variant_id": store.variant_ids[0], "quantity": 2},
        headers=store.headers(),
    )
    assert accepted.status == 200, await accepted.text()
    items = (await accepted.json())["cart"]["items"]
    assert [(item["variant_id"], item["quantity"]) for item in items] == [(store.variant_ids[0], 2)]
