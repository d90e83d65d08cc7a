"""Resolving ``x-publishable-api-key`` to its sales channels, with a short in-process cache.

Revoking a key through the Admin API clears this process's cache at once; other processes see the
revocation within ``TTL_SECONDS``.
"""

from __future__ import annotations

import time

from core.keys import PublishableKeyContext
from core.models import PublishableApiKey

__all__ = [
    "PublishableKeyCache",
]

TTL_SECONDS = 5.0


class PublishableKeyCache:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, PublishableKeyContext | None]] = {}

    async def resolve(self, token: str) -> PublishableKeyContext | None:
        """The key's context, or None when it is unknown or revoked."""
        now = time.monotonic()
        cached = self._entries.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        context = await self._load(token)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token] = (now + self._ttl, context)
        return context

    def clear(self) -> None:
        self._entries.clear()

    @staticmethod
    async def _load(token: str) -> PublishableKeyContext | None:
        key = await PublishableApiKey.get_or_none(token=token, revoked_at=None).prefetch_related(
            "sales_channels"
        )
        if key is None:
            return None
        channels = tuple(sorted(channel.id for channel in key.sales_channels))
        return PublishableKeyContext(key_id=key.id, sales_channel_ids=channels)
