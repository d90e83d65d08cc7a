"""``GET /health``: liveness and database reachability for load balancers."""

from __future__ import annotations

from aiohttp import web
from tortoise import connections

from core.api.endpoint import endpoint
from core.errors import RetryableError

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


@routes.get("/health")
@endpoint(summary="Liveness and database check", tags=("Health",))
async def health(request: web.Request) -> dict[str, str]:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        raise RetryableError(f"database unreachable: {exc.__class__.__name__}") from None
    return {"status": "ok"}
