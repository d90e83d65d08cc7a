"""``GET /metrics``: this server's Prometheus metrics, plus what the database and the queue say now.

What the page holds is described in :mod:`core.metrics`. Read at scrape time: runs by workflow
and state (one ``GROUP BY``), the queue status (:func:`core.queue_status.read_queue_status`) and
this process's webhook figures. A database or Redis failure does not fail the scrape: its
``*_up`` gauge says 0 and the in-process metrics are still served.

Open by default, the Prometheus convention; with ``[server] metrics_token`` set, a scrape must send
``Authorization: Bearer <token>`` (401 otherwise).
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from core.api.endpoint import endpoint
from core.errors import Unauthorized
from core.keys import ENGINE, SETTINGS
from core.metrics import database_families, exposition, queue_families, webhook_families
from core.queue_status import read_queue_status
from core.runs import count_runs_by_state
from core.webhooks import webhook_figures

__all__ = [
    "require_metrics_token",
    "runs_by_state",
    "routes",
]

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


def require_metrics_token(request: web.Request, token: str) -> None:
    """Refuse the request unless ``token`` is empty or sent as ``Authorization: Bearer <token>``.

    :raises Unauthorized: a missing or wrong token.
    """
    if not token:
        return
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
        raise Unauthorized("A valid metrics token is required: Authorization: Bearer <[server] metrics_token>")


async def runs_by_state() -> dict[tuple[str, str], int] | None:
    """:func:`core.runs.count_runs_by_state`, or None when the database cannot be read."""
    try:
        return await count_runs_by_state()
    except Exception as exc:  # any driver's error: the scrape says database_up 0
        log.warning("metrics: workflow runs not counted: %s", exc)
        return None


@routes.get("/metrics")
@endpoint(
    summary="Prometheus metrics",
    description="Prometheus text format (OpenMetrics when the Accept header asks for it).",
    tags=("Operations",),
    errors=(401,),
    content_type="text/plain",
)
async def metrics(request: web.Request) -> web.Response:
    require_metrics_token(request, request.app[SETTINGS].server.metrics_token)
    runs = await runs_by_state()
    status = await read_queue_status(request.app[ENGINE])
    families = [*database_families(runs), *queue_families(status), *webhook_families(webhook_figures())]
    body, content_type = exposition(families, request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})
