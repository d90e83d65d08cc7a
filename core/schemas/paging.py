"""Query models shared by list routes: Medusa's ``fields``, ``limit``, ``offset``, ``order``.

Filters such as ``id`` arrive from the SDK either once (``id=x``) or as an array (``id[0]=x&id[1]=y``);
:data:`ValueList` accepts both and normalises them to a sorted list without duplicates, so two
spellings of the same filter are the same query (and the same cache key).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "MAX_LIMIT",
    "MAX_OFFSET",
    "ListQuery",
    "SearchListQuery",
    "ValueList",
]

MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1


def _as_sorted_list(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return sorted({str(item) for item in value if item != ""}) or None
    return value


ValueList = Annotated[list[str] | None, BeforeValidator(_as_sorted_list)]


class ListQuery(BaseModel):
    """``fields`` is accepted (the default field set is always returned); ``order`` is ``[-]field``."""

    model_config = ConfigDict(extra="ignore")

    fields: str | None = None
    limit: int = Field(default=20, ge=0, le=MAX_LIMIT)
    # Bounded by what a 64-bit SQL integer holds: a larger offset was a 500 (found by scripts/drill_fuzz.py).
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    order: str | None = Field(default=None, max_length=64)


class SearchListQuery(ListQuery):
    """A list query with a free-text search ``q``."""

    q: str | None = Field(default=None, max_length=255)
