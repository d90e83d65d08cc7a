"""How durable runs store Python values as JSON and get them back.

Outputs, compensation inputs and run inputs are stored with :func:`pydantic_core.to_jsonable_python`
and restored through the consuming function's annotation (a pydantic ``TypeAdapter``): a step's
output through its return annotation (``StepResponse[T]`` unwrapped to ``T``), a compensation
input through the compensation's first parameter, a run input through the body's first parameter.
Without a usable annotation the JSON value itself is returned.

Hook-registered compensations are stored as references ``"module:qualname"`` to module-level
functions, so that another process can call them after a crash.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

__all__ = [
    "function_ref",
    "param_adapter",
    "resolve_function",
    "restore",
    "return_adapter",
    "to_json",
]

_NOTHING: Any = object()
_return_adapters: dict[Callable[..., Any], TypeAdapter[Any] | None] = {}
_param_adapters: dict[Callable[..., Any], TypeAdapter[Any] | None] = {}


def to_json(value: Any) -> Any:
    """``value`` as JSON-able data (pydantic models, dataclasses, Decimal, datetime...)."""
    return to_jsonable_python(value)


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # names only resolvable in a local scope: fall back to raw JSON
        return {}


def _adapter(annotation: Any) -> TypeAdapter[Any] | None:
    if annotation is _NOTHING or annotation is Any or annotation is None or annotation is type(None):
        return None
    try:
        return TypeAdapter(annotation)
    except Exception:
        return None


def return_adapter(fn: Callable[..., Any]) -> TypeAdapter[Any] | None:
    """The adapter restoring ``fn``'s output (``StepResponse[T]`` -> ``T``), cached per function."""
    try:
        return _return_adapters[fn]
    except KeyError:
        pass
    from core.workflows.engine import StepResponse  # the engine imports this module

    annotation = _hints(fn).get("return", _NOTHING)
    if typing.get_origin(annotation) is StepResponse or annotation is StepResponse:
        args = typing.get_args(annotation)
        annotation = args[0] if args else _NOTHING
    adapter = _return_adapters[fn] = _adapter(annotation)
    return adapter


def param_adapter(fn: Callable[..., Any]) -> TypeAdapter[Any] | None:
    """The adapter restoring ``fn``'s first positional argument, cached per function."""
    try:
        return _param_adapters[fn]
    except KeyError:
        pass
    parameters = list(inspect.signature(fn).parameters)
    annotation = _hints(fn).get(parameters[0], _NOTHING) if parameters else _NOTHING
    adapter = _param_adapters[fn] = _adapter(annotation)
    return adapter


def restore(adapter: TypeAdapter[Any] | None, value: Any) -> Any:
    """``value`` (stored JSON) validated back into its Python type when an adapter is known."""
    if adapter is None or value is None:
        return value
    return adapter.validate_python(value)


def function_ref(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a module-level function (or a class's static/class method).

    :raises TypeError: for lambdas, closures, bound methods of instances and other callables
        another process could not find again.
    """
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise TypeError(
            f"durable workflows can only register module-level functions as compensations, not {fn!r}"
        )
    ref = f"{module}:{qualname}"
    try:
        found = resolve_function(ref)
    except (ImportError, AttributeError):
        found = None
    if found != fn:
        raise TypeError(f"compensation {ref} cannot be found again by its name: use a module-level function")
    return ref


def resolve_function(ref: str) -> Callable[..., Any]:
    """The function named by :func:`function_ref`'s ``"module:qualname"``."""
    module_name, _, qualname = ref.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{ref} is not callable")
    return typing.cast(Callable[..., Any], target)
