"""The dashboard's reads of the integrations: sync runs and cursors, webhook deliveries, the events outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.models import Event, SyncCursor, SyncRun, WebhookEvent, WorkflowRunRecord
from core.webhooks import WebhookFigures, webhook_figures

__all__ = [
    "OutboxView",
    "WebhookView",
    "outbox_view",
    "run_states",
    "sync_view",
    "webhook_view",
]

LIST_SIZE = 50


async def run_states(run_ids: list[str]) -> dict[str, str]:
    """The state of each of these workflow runs that still exists (pruned runs are absent)."""
    wanted = [run_id for run_id in run_ids if run_id]
    if not wanted:
        return {}
    rows = await WorkflowRunRecord.filter(id__in=wanted).values_list("id", "state")
    return {str(run_id): str(state) for run_id, state in rows}


async def sync_view(limit: int = LIST_SIZE) -> tuple[list[SyncRun], list[SyncCursor], dict[str, str]]:
    """The newest sync runs, every cursor, and the states of the runs' workflow runs."""
    runs = list(await SyncRun.all().order_by("-started_at").limit(limit))
    cursors = list(await SyncCursor.all().order_by("name"))
    return runs, cursors, await run_states([run.run_id for run in runs])


@dataclass(frozen=True, slots=True)
class WebhookView:
    """Accepted events (newest first) with their runs' states, and this process's delivery figures."""

    events: list[WebhookEvent]
    run_states: dict[str, str]
    figures: dict[str, WebhookFigures]
    accepted_total: int
    replayed_total: int


async def webhook_view(limit: int = LIST_SIZE) -> WebhookView:
    events = list(await WebhookEvent.all().order_by("-received_at").limit(limit))
    states = await run_states([event.run_id or "" for event in events])
    accepted = await WebhookEvent.all().count()
    replayed = await WebhookEvent.filter(deliveries__gt=1).count()
    return WebhookView(events, states, webhook_figures(), accepted, replayed)


@dataclass(frozen=True, slots=True)
class OutboxView:
    """The events outbox: pending events (not yet turned into delivery runs) and the newest events."""

    pending: int
    oldest_pending_at: datetime | None
    events: list[Event]


async def outbox_view(limit: int = LIST_SIZE) -> OutboxView:
    pending = Event.filter(dispatched_at__isnull=True)
    oldest = await pending.order_by("created_at").first()
    events = list(await Event.all().order_by("-created_at").limit(limit))
    return OutboxView(await pending.count(), oldest.created_at if oldest else None, events)
