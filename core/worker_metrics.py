"""A worker's own ``/metrics``: ``erpcommerce worker`` has no HTTP server, so it starts a tiny one.

With ``[workflows] metrics_port`` set (0 = off), each worker serves its in-process metrics — the
durable step attempts it executed, the ERP calls it made, its process figures — at
``http://<[server] host>:<metrics_port>/metrics``, behind ``[server] metrics_token`` like the
server's page. The database and queue gauges are the server's (``GET /metrics``): they describe
the shared state, not one process, so they are exported once. Prometheus scrapes every server and
every worker on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from core.api.metrics import require_metrics_token
from core.api.middleware import error_middleware
from core.config import Settings
from core.keys import SETTINGS
from core.metrics import exposition

__all__ = [
    "metrics_app",
    "serving_worker_metrics",
]


async def _metrics(request: web.Request) -> web.Response:
    require_metrics_token(request, request.app[SETTINGS].server.metrics_token)
    body, content_type = exposition(accept=request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})


def metrics_app(settings: Settings) -> web.Application:
    """The worker's metrics application: ``GET /metrics`` only, Medusa error bodies."""
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app.router.add_get("/metrics", _metrics)
    return app


@contextlib.asynccontextmanager
async def serving_worker_metrics(settings: Settings) -> AsyncIterator[int | None]:
    """Serve the worker's ``/metrics`` while the block runs; yield the port (None when off).

    :raises OSError: when the port cannot be bound (the worker then does not start).
    """
    port = settings.workflows.metrics_port
    if not port:
        yield None
        return
    runner = web.AppRunner(metrics_app(settings), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.server.host, port).start()
        yield port
    finally:
        await runner.cleanup()
