"""The durable workflows this process knows, by name (filled by ``@workflow(name, durable=True)``).

A worker can only execute runs of workflows registered here: importing the module that declares
a workflow registers it (core's own flows and the plugins' are imported at start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.workflows.engine import Workflow

__all__ = [
    "UnknownWorkflow",
    "durable_workflows",
    "get_workflow",
    "register_workflow",
]

_workflows: dict[str, Workflow[Any, Any]] = {}


class UnknownWorkflow(LookupError):
    """No durable workflow of this name is registered in this process.

    :param name: the workflow name asked for.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown durable workflow {name!r} (is the module declaring it imported?)")
        self.name = name


def _origin(workflow: Workflow[Any, Any]) -> str:
    body = workflow.body
    return f"{getattr(body, '__module__', '?')}:{getattr(body, '__qualname__', '?')}"


def register_workflow(workflow: Workflow[Any, Any]) -> None:
    """Make ``workflow`` executable by name; re-declaring the same function (a re-import) replaces it.

    :raises ValueError: when another function already uses the name.
    """
    known = _workflows.get(workflow.name)
    if known is not None and known is not workflow and _origin(known) != _origin(workflow):
        raise ValueError(
            f"durable workflow name {workflow.name!r} is used by both {_origin(known)} and {_origin(workflow)}"
        )
    _workflows[workflow.name] = workflow


def get_workflow(name: str) -> Workflow[Any, Any]:
    """The durable workflow registered as ``name``.

    :raises UnknownWorkflow: when none is.
    """
    try:
        return _workflows[name]
    except KeyError:
        raise UnknownWorkflow(name) from None


def durable_workflows() -> dict[str, Workflow[Any, Any]]:
    """A copy of the registry (name -> workflow)."""
    return dict(_workflows)
