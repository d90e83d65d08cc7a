"""Plugins add ``erpcommerce`` sub-commands through the ``add_commands`` hook."""

from __future__ import annotations

import argparse
from typing import Any

import pluggy
import pytest

from core import hookspecs, plugins
from core.cli import load_command_settings, main
from core.hookspecs import hookimpl
from tests.cli_support import cli_terminal  # noqa: F401 - a fixture


class HelloCommand:
    """A plugin adding ``erpcommerce hello [--name N]``."""

    @hookimpl
    def add_commands(self, commands: Any, options: argparse.ArgumentParser) -> None:
        hello = commands.add_parser("hello", parents=[options], help="say hello")
        hello.add_argument("--name", default="world")
        hello.set_defaults(handler=self.run)

    def run(self, args: argparse.Namespace) -> int:
        settings = load_command_settings(args, check_secrets=False)
        print(f"hello {args.name} on port {settings.server.port}")
        return 3


def with_plugins(*extra: object) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for plugin in extra:
        pm.register(plugin)
    return pm


def test_a_plugin_command_runs_with_the_global_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cli_terminal: None
) -> None:
    monkeypatch.setattr(plugins, "command_plugin_manager", lambda: with_plugins(HelloCommand()))
    monkeypatch.setenv("ERPCOMMERCE_SERVER__PORT", "9123")
    assert main(["hello", "--name", "shop", "--log-level", "warning"]) == 3
    assert "hello shop on port 9123" in capsys.readouterr().out


def test_a_broken_plugin_leaves_the_core_commands_working(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cli_terminal: None
) -> None:
    def broken() -> pluggy.PluginManager:
        raise ImportError("No module named 'erpcommerce_broken'")

    monkeypatch.setattr(plugins, "command_plugin_manager", broken)
    with pytest.raises(SystemExit):
        main(["--help"])
    captured = capsys.readouterr()
    assert "plugin commands unavailable" in captured.err and "erpcommerce_broken" in captured.err
    assert "migrate" in captured.out
