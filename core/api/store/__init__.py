"""The Store API: Medusa v2 compatible routes under /store."""

from __future__ import annotations

__all__: list[str] = []
