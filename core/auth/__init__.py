"""Authentication: password hashing, JWTs, request auth context, rate limits."""

from __future__ import annotations

__all__: list[str] = []
