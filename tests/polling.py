"""Waiting in tests for work done elsewhere (an app's own runner, a fake's webhooks)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = [
    "wait_until",
]


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll ``condition`` every 20 ms until it holds.

    :raises AssertionError: when it does not within ``timeout`` seconds.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)
