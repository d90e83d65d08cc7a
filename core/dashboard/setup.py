"""Adding the dashboard to the application: templates, page routes, static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from core.dashboard import integration_views, login_views, run_views
from core.dashboard.templating import setup_templates

__all__ = [
    "STATIC_PATH",
    "setup_dashboard",
]

STATIC_PATH = "/dashboard/static"
STATIC_DIRECTORY = Path(__file__).parent / "static"


def setup_dashboard(app: web.Application) -> None:
    """Serve the dashboard from ``app`` (no I/O: templates are loaded on first use)."""
    setup_templates(app)
    for module in (login_views, run_views, integration_views):
        app.router.add_routes(module.routes)
    app.router.add_static(STATIC_PATH, STATIC_DIRECTORY, name="dashboard-static")
