"""Workflows: the engine (:mod:`core.workflows.engine`) and one module per domain flow."""

from __future__ import annotations

from core.workflows.engine import (
    RetryPolicy,
    Step,
    StepContext,
    StepResponse,
    Workflow,
    WorkflowRun,
    current_workflow,
    step,
    workflow,
)

__all__ = [
    "RetryPolicy",
    "Step",
    "StepContext",
    "StepResponse",
    "Workflow",
    "WorkflowRun",
    "current_workflow",
    "step",
    "workflow",
]
