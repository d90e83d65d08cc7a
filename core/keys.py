"""Typed keys for application and request state (the only way state is stored on them)."""

from __future__ import annotations

from dataclasses import dataclass

import pluggy
from aiohttp import web

from core.auth.tokens import AuthContext
from core.config import Settings
from core.workflows.durable import Engine

__all__ = [
    "AUTH",
    "ENGINE",
    "PLUGINS",
    "PUBLISHABLE_KEY",
    "SETTINGS",
    "PublishableKeyContext",
]


@dataclass(frozen=True)
class PublishableKeyContext:
    """The publishable key of a ``/store`` request and the sales channels it opens."""

    key_id: str
    sales_channel_ids: tuple[str, ...]


SETTINGS = web.AppKey("settings", Settings)
PLUGINS = web.AppKey("plugins", pluggy.PluginManager)
# The durable workflow engine; its executor is attached while the app runs (core.workflows.executors).
ENGINE = web.AppKey("engine", Engine)

PUBLISHABLE_KEY = web.RequestKey("publishable_key", PublishableKeyContext)
AUTH = web.RequestKey("auth", AuthContext)
