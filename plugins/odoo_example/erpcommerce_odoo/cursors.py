"""Sync cursors and page tokens: keyset pagination over Odoo's ``(write_date, id)``.

A stream's cursor is the greatest ``write_date`` it has read (``YYYY-MM-DD HH:MM:SS``, UTC); the
next sync reads ``write_date >= cursor`` again (``write_date`` has second precision, and the
upserts are idempotent), less ``cursor_overlap_seconds``. Pages follow each other by the last
``(write_date, id)`` read, in ``write_date asc, id asc`` order, so rows written during a sync
never shift a page. Tokens are JSON (opaque to the store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import InvalidData
from erpcommerce_odoo.records import DATETIME_FORMAT, parse_datetime

__all__ = [
    "KEYSET_ORDER",
    "Token",
    "keyset_domain",
    "later",
    "odoo_now",
    "since",
]

KEYSET_ORDER = "write_date asc, id asc"


class Token(BaseModel):
    """Where a stream is: its phase, the last key read, and the cursor it will end with.

    :ivar after: the last ``(write_date, id)`` read (or ``("", id)`` for id-only phases).
    :ivar cursor: the greatest stamp read so far (the stream's next cursor).
    :ivar started: the UTC time the stream started (price date windows are checked up to it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: str
    after: tuple[str, int] | None = None
    cursor: str | None = None
    started: str | None = None

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def decode(cls, token: str | None, default_phase: str) -> Token:
        """The token, or the first page's when ``token`` is None.

        :raises InvalidData: when the token was not made here.
        """
        if token is None:
            return cls(phase=default_phase)
        try:
            return cls.model_validate_json(token)
        except ValidationError:
            raise InvalidData(f"Not an Odoo page token: {token[:80]!r}") from None


def keyset_domain(since_stamp: str | None, after: tuple[str, int] | None) -> list[Any]:
    """``write_date >= since`` and ``(write_date, id) > after``, as an Odoo domain."""
    domain: list[Any] = []
    if since_stamp is not None:
        domain.append(("write_date", ">=", since_stamp))
    if after is not None:
        stamp, last_id = after
        domain += ["|", ("write_date", ">", stamp), "&", ("write_date", "=", stamp), ("id", ">", last_id)]
    return domain


def since(cursor: str | None, overlap_seconds: int) -> str | None:
    """The ``write_date`` to read from for ``cursor`` (None: everything).

    :raises InvalidData: when the cursor is not a stamp.
    """
    if cursor is None:
        return None
    try:
        stamp = parse_datetime(cursor)
    except ValueError:
        raise InvalidData(f"Not an Odoo sync cursor: {cursor[:80]!r}") from None
    return (stamp - timedelta(seconds=overlap_seconds)).strftime(DATETIME_FORMAT)


def later(a: str | None, b: str | None) -> str | None:
    """The later of two stamps (None is the earliest)."""
    if a is None or b is None:
        return a or b
    return max(a, b)


def odoo_now() -> str:
    """Now, UTC, as Odoo writes datetimes."""
    return datetime.now(UTC).strftime(DATETIME_FORMAT)
