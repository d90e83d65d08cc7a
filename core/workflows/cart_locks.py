"""In-process per-cart locks: mutations of one cart in this process run one at a time.

Workflows that change a cart hold its lock from loading the cart to committing the change, so
concurrent requests on one cart (a double-clicked "add") queue instead of racing, and no database
lock is held while hooks call out to an ERP. Other processes are caught by the optimistic check in
:func:`core.workflows.cart_steps.claim_cart` (409 instead of a lost update).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

__all__ = [
    "cart_lock",
]

_locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()


@asynccontextmanager
async def cart_lock(cart_id: str) -> AsyncIterator[None]:
    """Hold this process's lock of ``cart_id`` (a lock lives only while someone holds or awaits it)."""
    lock = _locks.get(cart_id)
    if lock is None:
        lock = _locks[cart_id] = asyncio.Lock()
    async with lock:
        yield
