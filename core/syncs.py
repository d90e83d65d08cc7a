"""Synchronisations from other systems (``erpcommerce sync products``): declaring, starting, recording.

A plugin declares a :class:`SyncSpec` through the ``register_syncs()`` hook: a short name
(``products``) and the durable workflow that does the work. :func:`start_sync` starts one run of
it, a durable run whose input is a :class:`SyncInput`, and refuses while another run of the same
sync is pending or running, so that two syncs never interleave. Each run is recorded in a
:class:`~core.models.SyncRun` row that the workflow keeps up to date through the functions below:

- :func:`begin_sync_run` (the workflow's first step) marks the row running, notes the cursors it
  starts from, and returns each stream's progress, so a retried run resumes where it stopped;
- :func:`record_page` adds one page's counts and progress, in the page's own transaction;
- :func:`save_cursor` stores where a stream stopped, once the whole stream was applied (never in a
  dry run);
- :func:`finish_sync_run` / :func:`fail_sync_run` end the row ``succeeded`` or ``failed``.

A stream is one change feed of the sync (``products``, ``prices``, ``stock``); its cursor is stored
in :class:`~core.models.SyncCursor` as ``<sync name>:<stream>`` (``products:prices``).
``SyncRun.details`` holds per-stream progress and counts (``{"streams": {name: StreamProgress}}``);
the row's columns hold the totals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel
from tortoise import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.errors import ConfigError, Conflict, NotFound
from core.models import SyncCursor, SyncRun, WorkflowRunRecord
from core.workflows.leases import RUNNABLE_STATES
from core.workflows.statements import dump_json

if TYPE_CHECKING:
    from core.workflows.durable import Engine

__all__ = [
    "COUNT_FIELDS",
    "StreamProgress",
    "SyncAlreadyRunning",
    "SyncCounts",
    "SyncInput",
    "SyncSpec",
    "begin_sync_run",
    "cursor_name",
    "declared_syncs",
    "fail_sync_run",
    "find_sync",
    "finish_sync_run",
    "read_cursors",
    "record_page",
    "run_error",
    "save_cursor",
    "set_expected",
    "start_sync",
    "stream_progress",
    "sync_run_prefix",
]

log = logging.getLogger(__name__)

COUNT_FIELDS = ("seen", "created", "updated", "unchanged", "archived", "failed", "skipped")
# The counts that are also columns of SyncRun (``skipped`` lives in ``details`` only).
COLUMN_COUNTS = ("seen", "created", "updated", "unchanged", "archived", "failed")


@dataclass(frozen=True)
class SyncSpec:
    """A sync a plugin offers: ``name`` (``erpcommerce sync <name>``), its durable ``workflow``.

    The workflow takes a :class:`SyncInput` and records its progress through this module.
    """

    name: str
    workflow: str
    description: str = ""


class SyncInput(BaseModel):
    """The input of every sync workflow run."""

    sync_run_id: str
    name: str
    full: bool = False
    dry_run: bool = False
    trigger: str = "manual"


class SyncCounts(BaseModel):
    """What a sync did with the records it read (one page, one stream or the whole run)."""

    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything was (or, in a dry run, would have been) written."""
        return bool(self.created or self.updated or self.archived)

    def plus(self, other: SyncCounts) -> SyncCounts:
        """The sum of both counts."""
        return SyncCounts(**{name: getattr(self, name) + getattr(other, name) for name in COUNT_FIELDS})


class StreamProgress(SyncCounts):
    """One stream of a sync run: where it started, how far it got, what it counted.

    ``next_page`` is the page token to read next (None with ``done`` False: the first page);
    ``cursor`` the last cursor the ERP gave; ``expected`` how many records it announced.
    """

    cursor_from: str | None = None
    next_page: str | None = None
    cursor: str | None = None
    done: bool = False
    pages: int = 0
    expected: int | None = None


class SyncAlreadyRunning(Conflict):
    """Another run of the same sync is pending or running (409)."""

    def __init__(self, name: str, run_id: str, state: str) -> None:
        super().__init__(
            f"A {name} sync is already running (run {run_id}, {state}): wait until it ends "
            f"(`erpcommerce runs show {run_id}`)"
        )
        self.name = name
        self.run_id = run_id


# -------------------------------------------------------------------------------------------------
# Declarations
# -------------------------------------------------------------------------------------------------


def declared_syncs(plugins: pluggy.PluginManager) -> list[SyncSpec]:
    """Every sync the plugins declare, in hook call order.

    :raises ConfigError: a declaration that is not a SyncSpec, or two syncs of one name.
    """
    specs: list[SyncSpec] = []
    owners: dict[str, str] = {}
    for impl in reversed(plugins.hook.register_syncs.get_hookimpls()):
        for spec in impl.function() or ():
            if not isinstance(spec, SyncSpec):
                raise ConfigError(f"plugin {impl.plugin_name}: register_syncs returned {spec!r}, not a SyncSpec")
            if spec.name in owners:
                raise ConfigError(
                    f"sync {spec.name!r} is declared twice (by plugins {owners[spec.name]} and {impl.plugin_name})"
                )
            owners[spec.name] = impl.plugin_name
            specs.append(spec)
    return specs


def find_sync(plugins: pluggy.PluginManager, name: str) -> SyncSpec:
    """The sync called ``name``.

    :raises NotFound: naming the syncs that exist.
    """
    specs = declared_syncs(plugins)
    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(sorted(spec.name for spec in specs)) or "none: is an ERP plugin installed and configured?"
    raise NotFound(f"No sync named {name!r} (known: {known})")


def sync_run_prefix(name: str) -> str:
    """The prefix of the durable run ids of sync ``name``: ``sync:<name>:``."""
    return f"sync:{name}:"


def cursor_name(sync_name: str, stream: str) -> str:
    """The cursor of one stream: ``<sync name>:<stream>``."""
    return f"{sync_name}:{stream}"


# -------------------------------------------------------------------------------------------------
# Starting
# -------------------------------------------------------------------------------------------------


async def _lock_sync(name: str) -> None:
    """Serialise starts of sync ``name`` until the current transaction ends."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SELECT pg_advisory_xact_lock(hashtext($1))", [f"erpcommerce-sync:{name}"])
    else:  # a write takes SQLite's database write lock for the rest of the transaction
        await connection.execute_query("UPDATE sync_run SET name = name WHERE name = ?", [name])


async def _active_run(name: str, *, other_than: str | None = None) -> WorkflowRunRecord | None:
    runs = WorkflowRunRecord.filter(id__startswith=sync_run_prefix(name), state__in=RUNNABLE_STATES)
    if other_than is not None:
        runs = runs.exclude(id=other_than)
    return await runs.order_by("created_at").first()


async def _close_abandoned(name: str) -> None:
    """SyncRun rows still ``running`` whose durable run ended without them (canceled): failed."""
    open_runs = await SyncRun.filter(name=name, state="running").values_list("id", "run_id")
    if not open_runs:
        return
    ended = dict(
        await WorkflowRunRecord.filter(
            id__in=[run_id for _, run_id in open_runs], state__not_in=RUNNABLE_STATES
        ).values_list("id", "state")
    )
    for sync_run_id, run_id in open_runs:
        if run_id in ended:
            await fail_sync_run(sync_run_id, f"its workflow run {run_id} ended {ended[run_id]}")


async def start_sync(
    engine: Engine,
    name: str,
    *,
    full: bool = False,
    dry_run: bool = False,
    trigger: str = "manual",
    key: str | None = None,
) -> SyncRun:
    """Start a run of sync ``name`` (a durable run ``sync:<name>:<key or SyncRun id>``); return its row.

    :param full: read every stream from the start, and archive what the other system no longer lists.
    :param dry_run: read and count, write nothing but the SyncRun row.
    :param trigger: who started it (``cli``, ``schedule``...), recorded on the row.
    :param key: an idempotency key: starting again with the same key returns the same run.
    :raises NotFound: no sync is called ``name``.
    :raises SyncAlreadyRunning: another run of this sync is pending or running.
    """
    spec = find_sync(engine.plugins, name)
    run_id = f"{sync_run_prefix(name)}{key}" if key else None
    if run_id is not None:
        existing = await SyncRun.get_or_none(run_id=run_id)
        if existing is not None:
            return existing
    async with in_transaction():
        await _lock_sync(name)
        await _close_abandoned(name)
        active = await _active_run(name)
        if active is not None:
            raise SyncAlreadyRunning(name, active.id, active.state)
        sync_run = SyncRun(name=name, trigger=trigger, full=full, dry_run=dry_run)
        sync_run.run_id = run_id or f"{sync_run_prefix(name)}{sync_run.id}"
        await sync_run.save(force_create=True)
        sync = SyncInput(sync_run_id=sync_run.id, name=name, full=full, dry_run=dry_run, trigger=trigger)
        await engine.start(spec.workflow, sync, run_id=sync_run.run_id)
    await engine.submit(sync_run.run_id)
    log.info("sync started", extra={"sync": name, "sync_run": sync_run.id, "run_id": sync_run.run_id})
    return sync_run


# -------------------------------------------------------------------------------------------------
# Recording (called by the sync workflows' steps)
# -------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _streams(details: Any) -> dict[str, StreamProgress]:
    raw = (details or {}).get("streams", {})
    return {stream: StreamProgress.model_validate(value) for stream, value in raw.items()}


async def _save_streams(sync_run_id: str, streams: dict[str, StreamProgress], **changes: Any) -> None:
    details = {"streams": {stream: progress.model_dump() for stream, progress in streams.items()}}
    await SyncRun.filter(id=sync_run_id).update(details=dump_json(details), updated_at=_now(), **changes)


async def read_cursors(names: Iterable[str]) -> dict[str, str | None]:
    """The stored cursors of these streams (None: never synced)."""
    names = list(names)
    stored = dict(await SyncCursor.filter(name__in=names).values_list("name", "value"))
    return {name: stored.get(name) for name in names}


async def begin_sync_run(
    sync: SyncInput, run_id: str, streams: Sequence[str], *, restart: Iterable[str] = ()
) -> dict[str, StreamProgress]:
    """Mark the sync run running and return each stream's progress (resumed after a retry).

    The first time, each stream starts from its stored cursor (None on a full sync) and the
    cursors are noted as ``cursors_before``. A retried run keeps the progress of its pages;
    ``restart`` names streams that must be read again from their first page (their counts reset).

    :raises NotFound: no SyncRun ``sync.sync_run_id``.
    :raises SyncAlreadyRunning: another run of this sync is pending or running (a retried old run).
    """
    other = await _active_run(sync.name, other_than=run_id)
    if other is not None:
        raise SyncAlreadyRunning(sync.name, other.id, other.state)
    row = await SyncRun.filter(id=sync.sync_run_id).select_for_update().first()
    if row is None:
        raise NotFound(f"Sync run {sync.sync_run_id} was not found")
    progress = _streams(row.details)
    changes: dict[str, Any] = {}
    if row.cursors_before is None:
        before = await read_cursors(cursor_name(sync.name, stream) for stream in streams)
        changes["cursors_before"] = dump_json(before)
        for stream in streams:
            start = None if sync.full else before[cursor_name(sync.name, stream)]
            progress.setdefault(stream, StreamProgress(cursor_from=start))
    for stream in restart:
        old = progress[stream]
        if not old.done:
            for field in COLUMN_COUNTS:
                changes[field] = F(field) - getattr(old, field)
            changes["pages"] = F("pages") - old.pages
            progress[stream] = StreamProgress(cursor_from=old.cursor_from, expected=old.expected)
    await _save_streams(sync.sync_run_id, progress, state="running", error=None, finished_at=None, **changes)
    return progress


async def stream_progress(sync_run_id: str) -> dict[str, StreamProgress]:
    """Each stream's progress as recorded on the SyncRun row."""
    details = await SyncRun.filter(id=sync_run_id).values_list("details", flat=True)
    return _streams(details[0] if details else None)


async def set_expected(sync_run_id: str, stream: str, expected: int | None) -> None:
    """Note how many records ``stream`` announced (for progress bars); the row's ``expected`` is their sum."""
    streams = await stream_progress(sync_run_id)
    streams[stream] = streams.get(stream, StreamProgress()).model_copy(update={"expected": expected})
    known = [progress.expected for progress in streams.values() if progress.expected is not None]
    await _save_streams(sync_run_id, streams, expected=sum(known) if known else None)


async def record_page(
    sync_run_id: str,
    stream: str,
    counts: SyncCounts,
    *,
    next_page: str | None,
    cursor: str | None,
) -> StreamProgress:
    """Add one applied page's counts and progress (call it in the page's transaction).

    :param next_page: the token of the page to read next; None: the stream is done.
    :param cursor: the cursor the page carried (None keeps the previous one).
    :return: the stream's progress after this page.
    """
    row = await SyncRun.filter(id=sync_run_id).select_for_update().first()
    if row is None:
        raise NotFound(f"Sync run {sync_run_id} was not found")
    streams = _streams(row.details)
    old = streams.get(stream, StreamProgress())
    totals = old.plus(counts)
    streams[stream] = old.model_copy(
        update={
            **totals.model_dump(),
            "next_page": next_page,
            "cursor": cursor if cursor is not None else old.cursor,
            "done": next_page is None,
            "pages": old.pages + 1,
        }
    )
    increments = {field: F(field) + getattr(counts, field) for field in COLUMN_COUNTS if getattr(counts, field)}
    await _save_streams(sync_run_id, streams, pages=F("pages") + 1, **increments)
    return streams[stream]


async def save_cursor(sync_name: str, stream: str, value: str | None, sync_run_id: str) -> None:
    """Store where ``stream`` stopped; the next (non-full) sync reads it from there."""
    await SyncCursor.update_or_create(
        name=cursor_name(sync_name, stream), defaults={"value": value, "sync_run_id": sync_run_id}
    )


async def finish_sync_run(sync_run_id: str) -> SyncRun:
    """End the sync run ``succeeded``, noting the cursors it reached."""
    row = await SyncRun.get(id=sync_run_id)
    after = await read_cursors(cursor_name(row.name, stream) for stream in _streams(row.details))
    await SyncRun.filter(id=sync_run_id).update(
        state="succeeded", cursors_after=dump_json(after), finished_at=_now(), updated_at=_now(), error=None
    )
    return await SyncRun.get(id=sync_run_id)


async def fail_sync_run(sync_run_id: str, error: str | None) -> None:
    """End the sync run ``failed`` with ``error`` (its applied pages stay; its cursors did not move)."""
    await SyncRun.filter(id=sync_run_id).update(
        state="failed", error=error or "failed", finished_at=_now(), updated_at=_now()
    )
    log.warning("sync run failed", extra={"sync_run": sync_run_id, "error": error})


async def run_error(run_id: str) -> str | None:
    """The error a durable run failed with (for a compensation that records it)."""
    errors = await WorkflowRunRecord.filter(id=run_id).values_list("error", flat=True)
    return errors[0] if errors else None
