"""Pydantic request/response models of the HTTP API, and the functions rendering ORM objects into them."""

from __future__ import annotations

__all__: list[str] = []
