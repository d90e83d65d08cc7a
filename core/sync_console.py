"""``erpcommerce sync NAME``: run a sync in this process with a progress bar, then print its summary.

The sync is started like any other (:func:`core.syncs.start_sync`, refused while one is running)
and executed here by an engine of this process. The progress bar follows the SyncRun row (records
per stream, out of what the other system announced when it did), so it shows the same progress
whoever executes the run: when another process claimed it first, this command only follows it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pluggy
from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.config import Settings
from core.models import SyncRun
from core.plugins import call_all
from core.syncs import COUNT_FIELDS, StreamProgress, fail_sync_run, run_error, start_sync, stream_progress
from core.workflows.durable import Engine, get_engine, set_engine

__all__ = [
    "POLL_SECONDS",
    "render_sync_summary",
    "run_sync_command",
    "run_sync_now",
]

POLL_SECONDS = 0.2


class _Bar:
    """One progress line per stream, fed from the SyncRun row."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[pages]} pages"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}

    def update(self, streams: dict[str, StreamProgress]) -> None:
        for stream, state in streams.items():
            if stream not in self.tasks:
                self.tasks[stream] = self.progress.add_task(stream, total=None, pages=0)
            total = state.expected if state.expected is not None else (state.seen if state.done else None)
            self.progress.update(
                self.tasks[stream], completed=state.seen, total=total, pages=state.pages,
                description=f"{stream} {'done' if state.done else '...'}",
            )


async def _follow(sync_run_id: str, execution: asyncio.Task[str | None], bar: _Bar) -> None:
    """Refresh ``bar`` until the run executed here ends, or (executed elsewhere) its row does."""
    while True:
        bar.update(await stream_progress(sync_run_id))
        if execution.done():
            if execution.result() is not None:  # executed here, to the end
                return
            state = await SyncRun.filter(id=sync_run_id).values_list("state", flat=True)
            if not state or state[0] != "running":
                return
            await asyncio.sleep(POLL_SECONDS)
        else:
            await asyncio.wait({execution}, timeout=POLL_SECONDS)  # returns as soon as the run ends


async def run_sync_now(
    engine: Engine, name: str, *, full: bool, dry_run: bool, console: Console
) -> SyncRun:
    """Start sync ``name`` and execute it here, showing its progress; return its final row.

    :raises core.errors.NotFound: no such sync.
    :raises core.syncs.SyncAlreadyRunning: one is already running.
    """
    sync_run = await start_sync(engine, name, full=full, dry_run=dry_run, trigger="cli")
    bar = _Bar(console)
    with bar.progress:
        execution = asyncio.create_task(engine.execute(sync_run.run_id), name=f"sync:{sync_run.id}")
        try:
            await _follow(sync_run.id, execution, bar)
        finally:
            if not execution.done():
                execution.cancel()
        final_state = await execution
    row = await SyncRun.get(id=sync_run.id)
    if row.state == "running" and final_state is not None:  # the run ended without recording it
        await fail_sync_run(row.id, await run_error(row.run_id) or f"workflow run ended {final_state}")
        row = await SyncRun.get(id=sync_run.id)
    return row


def _duration(row: SyncRun) -> str:
    finished: datetime | None = row.finished_at
    if finished is None:
        return "-"
    return f"{(finished - row.started_at).total_seconds():.1f} s"


def render_sync_summary(row: SyncRun, streams: dict[str, StreamProgress]) -> Group:
    """The summary of a sync run: counts per stream and in all, cursors, duration, error."""
    title = f"Sync {row.name} {row.state}" + (" (dry run: nothing written)" if row.dry_run else "")
    table = Table(title=title, title_justify="left")
    table.add_column("stream")
    table.add_column("pages", justify="right")
    for name in COUNT_FIELDS:
        table.add_column(name, justify="right")
    for stream, state in streams.items():
        table.add_row(stream, str(state.pages), *(str(getattr(state, name)) for name in COUNT_FIELDS))
    skipped = sum(state.skipped for state in streams.values())
    totals = [*(str(getattr(row, name)) for name in COUNT_FIELDS if name != "skipped"), str(skipped)]
    table.add_row("total", str(row.pages), *totals, style="bold")
    cursors = Table.grid(padding=(0, 2))
    before, after = row.cursors_before or {}, row.cursors_after or {}
    for cursor in sorted(set(before) | set(after)):
        cursors.add_row(cursor, f"{before.get(cursor)!s} -> {after.get(cursor, before.get(cursor))!s}")
    lines: list[object] = [table, f"run {row.run_id}, sync run {row.id}, duration {_duration(row)}", cursors]
    if row.error:
        lines.append(f"error: {row.error}")
    return Group(*lines)  # type: ignore[arg-type]


async def run_sync_command(
    settings: Settings, plugins: pluggy.PluginManager, name: str, *, full: bool, dry_run: bool
) -> SyncRun:
    """The ``sync`` command with the database open: plugins started, the sync run, its summary
    printed; the plugins are shut down again whatever happens. Returns the final row."""
    engine = Engine(settings=settings, plugins=plugins)
    try:
        previous: Engine | None = get_engine()
    except RuntimeError:
        previous = None
    set_engine(engine)
    await call_all(plugins.hook.startup)
    try:
        row = await run_sync_now(engine, name, full=full, dry_run=dry_run, console=Console(stderr=True))
        Console(highlight=False).print(render_sync_summary(row, await stream_progress(row.id)))
        return row
    finally:
        try:
            await call_all(plugins.hook.shutdown)
        finally:
            set_engine(previous)
