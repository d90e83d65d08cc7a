"""A small time-to-live cache for what the client reads often and Odoo changes rarely."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = [
    "TtlCache",
]

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values by key for ``seconds`` (0: nothing is kept), at most ``max_entries`` of them.

    :param clock: seconds, monotonic (tests may pass their own).
    """

    def __init__(self, seconds: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        """The value stored under ``key`` if it has not expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: Hashable, value: V) -> V:
        """Keep ``value`` under ``key``; returns it."""
        if self.seconds > 0:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (self._clock() + self.seconds, value)
        return value

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or ``await load()`` stored."""
        value = self.get(key)
        if value is None:
            value = self.put(key, await load())
        return value

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
