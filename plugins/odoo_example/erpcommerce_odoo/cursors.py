"""Sync cursors and page tokens: keyset pagination over Odoo's ``(write_date, id)``.

A stream's cursor holds, for each model it follows, the key ``(write_date, id)`` of the last row it
read (rows are read in ``write_date asc, id asc`` order); the next sync reads strictly after it, so
a catalogue whose rows share one stamp (a bulk import) is not read again. With
``cursor_overlap_seconds`` set, the next sync instead re-reads from ``write_date - overlap``
(inclusive; the upserts are idempotent). ``write_date`` has second precision, so a row written
again within the second it was read keeps its key: a key whose stamp is less than
:data:`SETTLE_SECONDS` old when read is kept as ``(write_date, 0)``, which the next sync reads
from inclusively (those few rows once more). A cursor written before keys (a bare stamp) reads from
that stamp, inclusive. Pages follow each other by the last key read, so rows written during a
sync never shift a page. Cursors and tokens are JSON (opaque to the store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import InvalidData
from erpcommerce_odoo.records import DATETIME_FORMAT, parse_datetime

__all__ = [
    "KEYSET_ORDER",
    "Cursor",
    "Key",
    "Mark",
    "Token",
    "after_domain",
    "keyset_domain",
    "odoo_now",
    "SETTLE_SECONDS",
    "resume_domain",
    "row_key",
    "settled",
]

KEYSET_ORDER = "write_date asc, id asc"
SETTLE_SECONDS = 2
"""A stamp this recent (our clock) may still be written again with the same ``write_date``."""

Key = tuple[str, int]
"""A row's ``(write_date, id)``, in the order streams read rows."""

Mark = Key | str
"""Where a delta resumes in one model: after a key, or from a bare stamp (an older cursor)."""


class Token(BaseModel):
    """Where a stream is: its phase, the last key read, and the cursor it will end with.

    :ivar after: the last ``(write_date, id)`` read (or ``("", id)`` for id-only phases).
    :ivar cursor: the stream's next cursor so far (a stamp or an encoded cursor, per stream).
    :ivar keys: the last key read per model so far (the stream's next :class:`Cursor`).
    :ivar started: the UTC time the stream started (price date windows are checked up to it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: str
    after: tuple[str, int] | None = None
    cursor: str | None = None
    keys: dict[str, tuple[str, int]] | None = None
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


class Cursor(BaseModel):
    """A stream's cursor: the last key read per model, or the bare stamp of an older cursor.

    :ivar keys: per model (``"templates"``, ``"variants"``, ``"quants"``), the last key read.
    :ivar stamp: an older cursor's stamp: models without a key are read from it, inclusive.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: dict[str, tuple[str, int]] = {}
    stamp: str | None = None

    def mark(self, model: str) -> Mark | None:
        """Where ``model`` resumes (None: from the start)."""
        return self.keys.get(model) or self.stamp

    def advanced(self, keys: dict[str, tuple[str, int]] | None, now: str) -> Cursor:
        """This cursor with the later of its keys and ``keys`` per model, :func:`settled` at ``now``."""
        merged = dict(self.keys)
        for model, key in (keys or {}).items():
            merged[model] = settled(max(merged.get(model, key), key), now)
        return Cursor(keys=merged, stamp=self.stamp)

    def encode(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def decode(cls, cursor: str | None) -> Cursor:
        """The cursor (empty when None); a bare stamp is an older cursor.

        :raises InvalidData: when the cursor was not made here.
        """
        if cursor is None:
            return cls()
        if not cursor.startswith("{"):
            _stamp(cursor)
            return cls(stamp=cursor)
        try:
            return cls.model_validate_json(cursor)
        except ValidationError:
            raise InvalidData(f"Not an Odoo sync cursor: {cursor[:80]!r}") from None


def resume_domain(mark: Mark | None, overlap_seconds: int) -> list[Any]:
    """The Odoo domain of the rows a delta reads after ``mark`` (None: every row).

    After a key: strictly after it, or ``write_date >= stamp - overlap`` when an overlap is set.
    After a bare stamp: ``write_date >= stamp - overlap``.

    :raises InvalidData: when the stamp is not one.
    """
    if mark is None:
        return []
    if isinstance(mark, str) or overlap_seconds > 0:
        stamp = mark if isinstance(mark, str) else mark[0]
        start = (_stamp(stamp) - timedelta(seconds=overlap_seconds)).strftime(DATETIME_FORMAT)
        return [("write_date", ">=", start)]
    return after_domain(mark)


def after_domain(key: Key | None) -> list[Any]:
    """``(write_date, id) > key`` as an Odoo domain (None: every row)."""
    if key is None:
        return []
    stamp, last_id = key
    return ["|", ("write_date", ">", stamp), "&", ("write_date", "=", stamp), ("id", ">", last_id)]


def keyset_domain(mark: Mark | None, after: Key | None, overlap_seconds: int = 0) -> list[Any]:
    """The rows after the cursor's ``mark`` and after the page's ``after`` key, as one domain."""
    return [*resume_domain(mark, overlap_seconds), *after_domain(after)]


def row_key(row: dict[str, Any]) -> Key:
    """A ``search_read`` row's key."""
    return str(row["write_date"]), int(row["id"])


def settled(key: Key, now: str) -> Key:
    """``key``, or ``(write_date, 0)`` (read again from its stamp) when the stamp is not
    :data:`SETTLE_SECONDS` older than ``now``: that second's rows may still be written again.
    """
    stamp, _ = key
    if _stamp(stamp) > _stamp(now) - timedelta(seconds=SETTLE_SECONDS):
        return stamp, 0
    return key


def odoo_now() -> str:
    """Now, UTC, as Odoo writes datetimes."""
    return datetime.now(UTC).strftime(DATETIME_FORMAT)


def _stamp(text: str) -> datetime:
    try:
        return parse_datetime(text)
    except ValueError:
        raise InvalidData(f"Not an Odoo sync cursor: {text[:80]!r}") from None
