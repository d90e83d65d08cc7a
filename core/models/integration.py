"""State of the integrations with other systems: sync runs, sync cursors, received webhook events.

Written by plugins through :mod:`core.syncs` and :mod:`core.webhooks`, read by the CLI and the
dashboard. The ERP's own data lives in the catalog and order tables (``external_id`` columns).
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from core.models.base import id_field

__all__ = [
    "SyncCursor",
    "SyncRun",
    "WebhookEvent",
]


class SyncRun(Model):
    """One run of a sync (``products``): what it did, how far it got, the cursors it started from and reached.

    States: running, succeeded, failed. Counts are updated page by page while it runs.
    """

    id = id_field("sync")
    name = fields.CharField(max_length=64)
    run_id = fields.CharField(max_length=255, unique=True)
    trigger = fields.CharField(max_length=32, default="manual", db_default="manual")
    full = fields.BooleanField(default=False, db_default=False)
    dry_run = fields.BooleanField(default=False, db_default=False)
    state = fields.CharField(max_length=16, default="running", db_default="running")
    pages = fields.IntField(default=0, db_default=0)
    seen = fields.IntField(default=0, db_default=0)
    expected = fields.IntField(null=True)
    created = fields.IntField(default=0, db_default=0)
    updated = fields.IntField(default=0, db_default=0)
    unchanged = fields.IntField(default=0, db_default=0)
    archived = fields.IntField(default=0, db_default=0)
    failed = fields.IntField(default=0, db_default=0)
    details: fields.JSONField[Any] = fields.JSONField(null=True)
    cursors_before: fields.JSONField[Any] = fields.JSONField(null=True)
    cursors_after: fields.JSONField[Any] = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    started_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sync_run"
        indexes = (Index(fields=("name", "started_at")),)


class SyncCursor(Model):
    """Where the last successful sync of one stream stopped (``products:prices``), opaque to core."""

    name = fields.CharField(primary_key=True, max_length=128)
    value = fields.TextField(null=True)
    sync_run_id = fields.CharField(max_length=64, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sync_cursor"


class WebhookEvent(Model):
    """An accepted inbound webhook event, by its event id: the replay guard and the delivery record.

    ``deliveries`` counts how often it was received (more than 1: replays answered without effect).
    """

    event_id = fields.CharField(primary_key=True, max_length=255)
    source = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=64)
    subject = fields.CharField(max_length=255, null=True)
    run_id = fields.CharField(max_length=255, null=True)
    deliveries = fields.IntField(default=1, db_default=1)
    received_at = fields.DatetimeField(auto_now_add=True)
    last_received_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_event"
        indexes = (Index(fields=("source", "received_at")),)
