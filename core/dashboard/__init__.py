"""The operators' dashboard at ``/dashboard``: server-rendered pages behind an admin login.

:func:`setup_dashboard` adds its templates, routes and static files to the app.
"""

from __future__ import annotations

from core.dashboard.setup import setup_dashboard

__all__ = [
    "setup_dashboard",
]
