"""Ordering and slicing of list queries (``order``, ``offset``, ``limit``) with an exact ``count``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.errors import InvalidData
from core.schemas.paging import ListQuery

__all__ = [
    "fetch_page",
    "fetch_value_page",
    "ordering",
]

M = TypeVar("M", bound=Model)


def ordering(order: str | None, allowed: Collection[str], default: str = "created_at") -> list[str]:
    """Tortoise ``order_by`` terms for Medusa's ``order`` (``"-created_at"``, ``"title,-id"``).

    A final ``id`` term (in the direction of the last term) makes paging stable.

    :raises InvalidData: for a field not in ``allowed``.
    """
    terms = [term.strip() for term in (order or default).split(",") if term.strip()]
    for term in terms:
        if term.lstrip("-") not in allowed:
            raise InvalidData(f"Order field {term.lstrip('-')} is not valid")
    if not terms:
        terms = [default]
    if all(term.lstrip("-") != "id" for term in terms):
        terms.append("-id" if terms[-1].startswith("-") else "id")
    return terms


def _count_from_page(rows: int, query: ListQuery) -> int | None:
    """The total when the page itself tells it (a short, non-empty or first page), else None."""
    if query.limit and rows < query.limit and (rows or not query.offset):
        return query.offset + rows
    return None


async def fetch_value_page(
    queryset: QuerySet[M],
    query: ListQuery,
    fields: Collection[str],
    *,
    allowed_order: Collection[str],
    default_order: str = "created_at",
) -> tuple[list[dict[str, Any]], int]:
    """One page of ``queryset`` as ``.values(*fields)`` dicts, and the total count."""
    rows: list[dict[str, Any]] = []
    if query.limit:
        ordered = queryset.order_by(*ordering(query.order, allowed_order, default_order))
        rows = await ordered.offset(query.offset).limit(query.limit).values(*fields)
    count = _count_from_page(len(rows), query)
    return rows, count if count is not None else await queryset.count()


async def fetch_page(
    queryset: QuerySet[M],
    query: ListQuery,
    *,
    allowed_order: Collection[str],
    default_order: str = "created_at",
) -> tuple[list[M], int]:
    """One page of ``queryset`` as model instances (prefetches declared on it apply), and the total."""
    rows: list[M] = []
    if query.limit:
        ordered = queryset.order_by(*ordering(query.order, allowed_order, default_order))
        rows = list(await ordered.offset(query.offset).limit(query.limit))
    count = _count_from_page(len(rows), query)
    return rows, count if count is not None else await queryset.count()
