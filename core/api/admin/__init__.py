"""The Admin API: routes under /admin, behind an admin bearer token."""

from __future__ import annotations

__all__: list[str] = []
