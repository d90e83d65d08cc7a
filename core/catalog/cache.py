"""A response cache for the Store API's catalog reads, invalidated by a catalog version.

Every catalog write in this process (admin routes, product sync) calls :func:`bump_catalog_version`
after it commits; cached bodies built under an older version are never served again. Writes made by
*other* processes cannot bump this counter, so each entry also expires after a short TTL
(``[server] catalog_cache_seconds``, 2 s by default): that bounds their staleness. Concurrent misses
of one key share a single build (no stampede when an entry expires under load), and a hot entry
is rebuilt in the background during the second half of its TTL, so requests rarely wait at all.

Entries hold the encoded JSON body, so a hit costs a dict lookup and no encoding.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pydantic_core
from aiohttp import web

from core.errors import CommerceError

__all__ = [
    "CATALOG_CACHE",
    "DEFAULT_TTL_SECONDS",
    "ResponseCache",
    "bump_catalog_version",
    "cached_json_response",
    "catalog_version",
]

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 2.0
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

_version = 0


def catalog_version() -> int:
    """This process's catalog version: it changes after every catalog write made here."""
    return _version


def bump_catalog_version() -> None:
    """Declare the catalog changed: call after the write has committed."""
    global _version
    _version += 1


@dataclass(frozen=True, slots=True)
class _Entry:
    version: int
    expires_at: float
    body: bytes


class ResponseCache:
    """Encoded response bodies by key, valid for their catalog version and at most ``ttl`` seconds.

    :param ttl: seconds an entry may be served; 0 turns the cache off.
    :param max_entries: the oldest entries are dropped beyond this many...
    :param max_bytes: ...or beyond this many bytes of bodies in all.
    """

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.ttl = ttl
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: dict[Hashable, _Entry] = {}
        self._building: dict[tuple[Hashable, int], asyncio.Future[bytes]] = {}
        self._refreshing: set[asyncio.Task[bytes]] = set()

    async def get_or_build(self, key: Hashable, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached body for ``key``, or ``await build()`` (stored unless it raises).

        An entry past half its TTL is still served while one background build replaces it, so
        under steady traffic a hot key is never rebuilt with requests waiting on it.
        """
        if self.ttl <= 0:
            return await build()
        version = _version
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry.version == version and entry.expires_at > now:
            if entry.expires_at - now < self.ttl / 2 and (key, version) not in self._building:
                self._refresh(key, version, build)
            return entry.body
        building = self._building.get((key, version))
        if building is not None:
            return await asyncio.shield(building)
        return await self._build(key, version, self._begin(key, version), build)

    def _begin(self, key: Hashable, version: int) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[(key, version)] = future
        return future

    async def _build(
        self,
        key: Hashable,
        version: int,
        future: asyncio.Future[bytes],
        build: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        started = time.monotonic()  # the data may be as old as this: the TTL counts from here
        try:
            body = await build()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; nobody waiting must not warn
            raise
        finally:
            del self._building[(key, version)]
        future.set_result(body)
        self._store(key, _Entry(version, started + self.ttl, body))
        return body

    def _refresh(self, key: Hashable, version: int, build: Callable[[], Awaitable[bytes]]) -> None:
        task = asyncio.get_running_loop().create_task(
            self._build(key, version, self._begin(key, version), build)
        )
        self._refreshing.add(task)
        task.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Task[bytes]) -> None:
        self._refreshing.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, CommerceError):
            log.warning("refreshing a cached catalog response failed: %r", error)

    def _store(self, key: Hashable, entry: _Entry) -> None:
        if len(entry.body) > self._max_bytes:
            return
        self._drop(key)
        while self._entries and (
            len(self._entries) >= self._max_entries or self._bytes + len(entry.body) > self._max_bytes
        ):
            self._drop(next(iter(self._entries)))
        self._entries[key] = entry
        self._bytes += len(entry.body)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


CATALOG_CACHE = web.AppKey("catalog_cache", ResponseCache)


async def cached_json_response(
    request: web.Request, key: Hashable, load: Callable[[], Awaitable[Any]]
) -> web.Response:
    """A 200 JSON response of ``await load()``, served from the app's catalog cache under ``key``.

    ``key`` must name everything the body depends on (route, normalised query, sales channels...).
    Errors ``load`` raises are not cached.
    """

    async def build() -> bytes:
        return pydantic_core.to_json(await load())

    body = await request.app[CATALOG_CACHE].get_or_build(key, build)
    return web.Response(body=body, content_type="application/json")
