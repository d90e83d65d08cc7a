"""The plugin manager and the async helpers through which core calls hooks.

pluggy is synchronous: calling an ``async def`` implementation only creates a coroutine. These
helpers call the implementations one at a time, in pluggy's order, awaiting each result before the
next implementation starts, so an implementation that raises stops the ones after it and no
coroutine is left un-awaited. Hook wrappers are not supported on these hooks.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pluggy

from core import hookspecs
from core.config import Settings
from core.errors import ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "build_plugin_manager",
    "command_plugin_manager",
    "call_all",
    "call_first",
    "describe_plugins",
]

ENTRY_POINT_GROUP = "erpcommerce.plugins"

# Core's own behaviour, registered as ordinary (mostly trylast) hook implementations.
CORE_PLUGINS = ("core.pricing", "core.inventory")


def build_plugin_manager(
    settings: Settings,
    *,
    load_entry_points: bool = True,
    extra_plugins: tuple[object, ...] = (),
) -> pluggy.PluginManager:
    """A plugin manager with core's defaults, installed plugins and ``extra_plugins``; configured.

    :param load_entry_points: discover distributions registering ``erpcommerce.plugins``.
    :param extra_plugins: objects or modules to register in addition (tests use this); a
        ``(plugin, name)`` pair registers under that name (as an entry point's name would).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module_name in CORE_PLUGINS:
        pm.register(__import__(module_name, fromlist=["_"]), name=module_name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        if isinstance(plugin, tuple):
            pm.register(plugin[0], name=plugin[1])
        else:
            pm.register(plugin)
    pm.hook.add_hookspecs(plugin_manager=pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(
            f"plugin {exc.plugin!r}: {exc} (is a plugin it extends, such as erpcommerce-erp, missing?)",
            key="plugins",
        ) from None
    pm.hook.configure(settings=settings, plugin_manager=pm)
    return pm


def command_plugin_manager() -> pluggy.PluginManager:
    """The installed plugins, unconfigured: only for ``add_commands`` while the command line is parsed."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def _call_order(hook: pluggy.HookCaller) -> list[Any]:
    # pluggy runs the last implementation in this list first.
    return list(reversed(hook.get_hookimpls()))


async def _invoke(impl: Any, kwargs: dict[str, Any]) -> Any:
    result = impl.function(*[kwargs[name] for name in impl.argnames])
    if inspect.isawaitable(result):
        result = await result
    return result


async def call_all(hook: pluggy.HookCaller, **kwargs: Any) -> list[Any]:
    """Run every implementation of ``hook`` in order; return their non-None results.

    An exception from one implementation propagates at once; later ones do not run.
    """
    results = []
    for impl in _call_order(hook):
        result = await _invoke(impl, kwargs)
        if result is not None:
            results.append(result)
    return results


async def call_first(hook: pluggy.HookCaller, **kwargs: Any) -> Any:
    """Run implementations in order until one returns something other than None; return it."""
    for impl in _call_order(hook):
        result = await _invoke(impl, kwargs)
        if result is not None:
            return result
    return None


@dataclass(frozen=True)
class PluginInfo:
    name: str
    hooks: tuple[str, ...]
    distribution: str | None


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin, the hooks it implements and the distribution it came from."""
    distributions = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        callers = pm.get_hookcallers(plugin) or []
        dist = distributions.get(id(plugin))
        dist_name = f"{dist.project_name} {dist.version}" if dist is not None else None
        infos.append(PluginInfo(name, tuple(sorted(c.name for c in callers)), dist_name))
    return infos
