"""Run a fake Odoo in a background thread (for blocking clients such as odoorpc and xmlrpc.client).

::

    with FakeOdooThread(seed="demo") as server:
        odoo = odoorpc.ODOO("127.0.0.1", port=server.port)
        server.fake.faults.set("http_502", times=1)

The server gets its own event loop and a free port (``port=0``); ``server.url`` is its base URL.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from .server import FakeOdoo, create_app, fake_of

__all__ = [
    "FakeOdooThread",
]


class FakeOdooThread:
    """A fake Odoo served from a daemon thread; ``options`` go to :func:`create_app`."""

    def __init__(self, seed: str | int | None = "demo", *, host: str = "127.0.0.1", port: int = 0,
                 app: web.Application | None = None, **options: Any) -> None:
        self.app = app if app is not None else create_app(seed, **options)
        self.fake: FakeOdoo = fake_of(self.app)
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-odoo", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeOdooThread:
        """Start serving; returns once the port is bound."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop (e.g. ``fake.webhooks.join()``) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            self.run(self._runner.cleanup())
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> FakeOdooThread:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
