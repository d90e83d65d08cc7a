"""The dashboard's Jinja2 environment (aiohttp-jinja2): templates from this package, filters, rendering.

Pages poll themselves for fresh figures: the browser asks the same URL again with the header
``X-Dashboard-Partial: 1`` and the server renders only the page's ``live`` block, which the page
swaps in (see ``static/dashboard.js``). So every page is one template and one handler.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from core.dashboard.masking import present
from core.dashboard.sessions import CSRF_FIELD, DashboardSession
from core.keys import SETTINGS
from core.workflows.leases import utcnow

__all__ = [
    "PARTIAL_HEADER",
    "render",
    "setup_templates",
]

PARTIAL_HEADER = "X-Dashboard-Partial"

STATE_CLASSES = {
    "done": "ok",
    "succeeded": "ok",
    "reverted": "warn",
    "compensating": "warn",
    "failed": "bad",
    "compensation_failed": "bad",
    "pending": "busy",
    "invoking": "busy",
    "running": "busy",
    "canceled": "mute",
}


def when(moment: datetime | None) -> str:
    """``2026-11-28 20:01:02`` (UTC) or ``-``."""
    return "-" if moment is None else moment.astimezone(utcnow().tzinfo).strftime("%Y-%m-%d %H:%M:%S")


def seconds_text(seconds: float | None) -> str:
    """A duration for humans: ``12.3 ms``, ``4.56 s``, ``3 min 20 s``, ``2 h 5 min``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def duration(started: datetime | None, finished: datetime | None) -> str:
    """The time between two moments, ``-`` if either is missing."""
    if started is None or finished is None:
        return "-"
    return seconds_text((finished - started).total_seconds())


def ago(moment: datetime | float | None) -> str:
    """How long ago ``moment`` (a datetime or unix seconds) was (``in …`` for the future)."""
    if moment is None:
        return "-"
    if isinstance(moment, int | float):
        seconds = time.time() - moment
    else:
        seconds = (utcnow() - moment).total_seconds()
    return f"{seconds_text(seconds)} ago" if seconds >= 0 else f"in {seconds_text(-seconds)}"


def first_line(text: str | None, limit: int = 120) -> str:
    """The first line of an error, shortened to ``limit`` characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def setup_templates(app: web.Application) -> None:
    """Attach the dashboard's Jinja2 environment to ``app`` (autoescaping on, undefined names fail)."""
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("core.dashboard", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        when=when, duration=duration, ago=ago, seconds=seconds_text, first_line=first_line, present=present,
        state_class=lambda state: STATE_CLASSES.get(str(state), ""),
    )


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    session: DashboardSession | None,
    status: int = 200,
    live: bool = True,
) -> web.Response:
    """Render ``template`` (its ``live`` block only when the page asks for a refresh).

    :param live: whether the page refreshes itself (``[dashboard] refresh_seconds``).
    """
    refresh = request.app[SETTINGS].dashboard.refresh_seconds if live else 0
    base = {
        "session": session,
        "csrf_field": CSRF_FIELD,
        "refresh_seconds": refresh,
        "partial": request.headers.get(PARTIAL_HEADER) == "1",
        "path": request.path,
        "now": utcnow(),
        "flash": request.query.get("done", ""),
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; "
        "img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return response
