"""HTTP API: the Store API (Medusa-compatible), the Admin API and authentication routes."""

from __future__ import annotations

__all__: list[str] = []
