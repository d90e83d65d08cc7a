"""``/dashboard/syncs``, ``/dashboard/webhooks`` and ``/dashboard/events``: the integrations' side of the work."""

from __future__ import annotations

from aiohttp import web

from core.dashboard.guard import page
from core.dashboard.integration_queries import outbox_view, run_states, sync_view, webhook_view
from core.dashboard.sessions import DashboardSession
from core.dashboard.templating import render
from core.events import event_run_id, event_subscribers
from core.keys import PLUGINS

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


@routes.get("/dashboard/syncs")
@page
async def syncs(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Sync runs (counts, duration, cursors reached) and the stored cursors."""
    runs, cursors, states = await sync_view()
    return render(request, "syncs.html", {"runs": runs, "cursors": cursors, "run_states": states}, session=session)


@routes.get("/dashboard/webhooks")
@page
async def webhooks(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Webhook deliveries: accepted events with their runs, replays, and rejections by reason."""
    return render(request, "webhooks.html", {"view": await webhook_view()}, session=session)


@routes.get("/dashboard/events")
@page
async def events(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """The events outbox and each event's delivery run per subscriber."""
    view = await outbox_view()
    subscribers = event_subscribers(request.app[PLUGINS])
    deliveries = {event.id: {name: event_run_id(event.id, name) for name in subscribers} for event in view.events}
    states = await run_states([run_id for runs in deliveries.values() for run_id in runs.values()])
    context = {"view": view, "subscribers": subscribers, "deliveries": deliveries, "run_states": states}
    return render(request, "events.html", context, session=session)
