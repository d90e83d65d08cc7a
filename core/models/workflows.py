"""Durable workflow runs and their step checkpoints (the durable engine's whole state).

A run's id is the caller's idempotency key. Each step call of a run is one row, numbered by its
call order (``seq``): the checkpoint a resumed run replays instead of invoking the step again.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

__all__ = [
    "WorkflowRunRecord",
    "WorkflowStepRecord",
]


class WorkflowRunRecord(Model):
    """One execution of a durable workflow, leased by one owner at a time while it runs.

    States: pending, invoking, compensating (runnable), done, reverted, failed, canceled (finished).
    """

    id = fields.CharField(primary_key=True, max_length=255)
    workflow_name = fields.CharField(max_length=255, db_index=True)
    state = fields.CharField(max_length=32, default="pending", db_default="pending")
    input: fields.JSONField[Any] = fields.JSONField(null=True)
    output: fields.JSONField[Any] = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    error_traceback = fields.TextField(null=True)
    attempts = fields.IntField(default=0, db_default=0)
    owner = fields.CharField(max_length=255, null=True)
    lease_until = fields.DatetimeField(null=True)
    wake_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    finished_at = fields.DatetimeField(null=True)

    steps: fields.ReverseRelation[WorkflowStepRecord]

    class Meta:
        table = "workflow_run"
        indexes = (
            Index(fields=("state", "lease_until")),
            Index(fields=("finished_at",)),
        )


class WorkflowStepRecord(Model):
    """One step call (``invoke``) or compensation (``compensate``) of a run, numbered by ``seq``.

    States: invoking, done, failed, reverted, compensation_failed.
    """

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[WorkflowRunRecord] = fields.ForeignKeyField(
        "commerce.WorkflowRunRecord", related_name="steps", on_delete=fields.CASCADE
    )
    run_id: str
    seq = fields.IntField()
    name = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=16, default="invoke", db_default="invoke")
    compensates_seq = fields.IntField(null=True)
    state = fields.CharField(max_length=32)
    attempts = fields.IntField(default=0, db_default=0)
    output: fields.JSONField[Any] = fields.JSONField(null=True)
    compensate_input: fields.JSONField[Any] = fields.JSONField(null=True)
    compensations: fields.JSONField[Any] = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    error_traceback = fields.TextField(null=True)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "workflow_step"
        unique_together = (("run", "seq"),)
