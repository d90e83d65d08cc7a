"""Turning a partial-update body into the column changes it asks for."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

__all__ = [
    "changed_fields",
]


def changed_fields(
    body: BaseModel, *, nullable: Collection[str], exclude: Collection[str] = ()
) -> dict[str, Any]:
    """The fields the client sent, minus ``exclude``; an explicit null counts only for ``nullable`` ones.

    A null sent for a column that cannot be empty (a title, a flag) means "no change".
    """
    sent = body.model_dump(exclude_unset=True, exclude=set(exclude))
    return {name: value for name, value in sent.items() if value is not None or name in nullable}
