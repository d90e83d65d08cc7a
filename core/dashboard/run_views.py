"""The overview (``/dashboard``), the runs list, a run's detail, and the retry / cancel actions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from aiohttp import web
from pydantic import ValidationError

from core.dashboard.cron_status import cron_status
from core.dashboard.guard import action, page, refusal, see_other
from core.dashboard.run_queries import RunFilters, page_of_runs, recent_failures, state_counts, workflow_names
from core.dashboard.sessions import DashboardSession
from core.dashboard.templating import render
from core.dashboard.throughput import hourly_throughput
from core.dashboard.timeline import timeline
from core.errors import NotAllowed, NotFound
from core.keys import ENGINE, PLUGINS, SETTINGS
from core.queue_status import read_queue_status
from core.runs import RUN_STATES, load_run_detail
from core.workflows.leases import FINISHED_STATES

__all__ = [
    "routes",
]

routes = web.RouteTableDef()


@routes.get("/dashboard")
@page
async def overview(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Runs by state, the last day's runs per hour and failures, the queue and the workers, the scheduled jobs."""
    counts, (failure_count, failures), queue, crons, hours = await asyncio.gather(
        state_counts(),
        recent_failures(),
        read_queue_status(request.app[ENGINE]),
        cron_status(request.app[PLUGINS], request.app[SETTINGS]),
        hourly_throughput(),
    )
    context = {
        "counts": counts,
        "states": RUN_STATES,
        "failure_count": failure_count,
        "failures": failures,
        "queue": queue,
        "crons": crons,
        "hours": hours,
        "recovery_interval": request.app[SETTINGS].workflows.recovery_interval_seconds,
    }
    return render(request, "overview.html", context, session=session)


@routes.get("/dashboard/runs")
@page
async def runs_list(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Runs, newest first, filtered by workflow, state, id prefix and creation time; 50 per page."""
    try:
        filters = RunFilters.model_validate(dict(request.query))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'query'}: {e['msg']}" for e in exc.errors())
        return refusal(request, 400, f"Invalid filter: {problems}", session)
    runs_page, names = await asyncio.gather(page_of_runs(filters), workflow_names())
    kept = filters.model_dump(exclude={"before"}, exclude_none=True, mode="json")
    next_url = None
    if runs_page.next_cursor:
        next_url = f"/dashboard/runs?{urlencode({**kept, 'before': runs_page.next_cursor})}"
    context = {
        "filters": filters,
        "runs": runs_page.runs,
        "next_url": next_url,
        "first_url": f"/dashboard/runs?{urlencode(kept)}" if filters.before else None,
        "workflows": names,
        "states": RUN_STATES,
    }
    return render(request, "runs.html", context, session=session)


@routes.get("/dashboard/runs/{run_id}")
@page
async def run_detail(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """A run: its fields, its steps on a time axis, compensations, errors with tracebacks, actions."""
    try:
        detail = await load_run_detail(request.match_info["run_id"])
    except NotFound as exc:
        return refusal(request, 404, exc.message, session)
    run = detail.run
    context = {
        "run": run,
        "bars": timeline(run, detail.invocations),
        "compensations": timeline(run, detail.compensations),
        "finished": run.state in FINISHED_STATES,
        "can_retry": run.state in ("failed", "reverted", "canceled"),
        "can_cancel": run.state == "pending",
    }
    return render(request, "run.html", context, session=session, live=run.state not in FINISHED_STATES)


async def _operate(
    request: web.Request, session: DashboardSession, operation: Callable[[str], Awaitable[object]], done: str
) -> web.StreamResponse:
    """Apply an engine operation to the run of the URL; back to its page, or an error page (nothing changed)."""
    run_id = request.match_info["run_id"]
    try:
        await operation(run_id)
    except NotFound as exc:
        return refusal(request, 404, exc.message, session)
    except NotAllowed as exc:
        return refusal(request, 409, exc.message, session)
    return see_other(f"/dashboard/runs/{quote(run_id, safe='')}?{urlencode({'done': done})}")


@routes.post("/dashboard/runs/{run_id}/retry")
@action
async def retry_run(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Run a failed, reverted or canceled run again from its first step."""
    return await _operate(request, session, request.app[ENGINE].retry, "retried")


@routes.post("/dashboard/runs/{run_id}/cancel")
@action
async def cancel_run(request: web.Request, session: DashboardSession) -> web.StreamResponse:
    """Cancel a run that has not started yet."""
    return await _operate(request, session, request.app[ENGINE].cancel, "canceled")
