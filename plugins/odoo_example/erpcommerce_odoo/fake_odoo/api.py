"""What may be called over RPC, and how ``execute_kw`` arguments reach a model method.

Public methods are marked, as in Odoo, as *model* methods (``@api.model``: ``args`` are the
parameters) or *record* methods (``@api.records``: ``args[0]`` is the id list, an int is also
accepted). :func:`call_kw` is Odoo's ``api.call_kw``: it refuses private names (AccessError),
answers an unknown method with Python's AttributeError (fault 1), strips ``kwargs["context"]``
into the :class:`Call`, and for ``create`` returns an int for one dict and a list for a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .errors import AccessError

if TYPE_CHECKING:
    from .records import Model

__all__ = [
    "Call",
    "call_kw",
    "model",
    "records",
]

F = TypeVar("F", bound=Callable[..., Any])
MARK = "_rpc_kind"


@dataclass
class Call:
    """Who calls and with which context (Odoo's ``env.uid`` and ``env.context``)."""

    uid: int
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def active_test(self) -> bool:
        """Whether searches hide archived records (``context.active_test``, default True)."""
        return self.context.get("active_test", True) is not False

    def cache_key(self) -> str:
        """The context values that change what a search returns."""
        keys = ("active_test", "allowed_company_ids", "location", "warehouse_id", "warehouse")
        return repr([(key, self.context.get(key)) for key in keys])


def _mark(kind: str, since: int | None, until: int | None) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        setattr(func, MARK, (kind, since, until))
        return func

    return decorate


def model(func: F | None = None, *, since: int | None = None, until: int | None = None) -> Any:
    """Mark a public model method (``@api.model``); ``since``/``until`` bound the Odoo versions."""
    if func is not None:
        return _mark("model", None, None)(func)
    return _mark("model", since, until)


def records(func: F | None = None, *, since: int | None = None, until: int | None = None) -> Any:
    """Mark a public record method: the first RPC argument is the id list."""
    if func is not None:
        return _mark("records", None, None)(func)
    return _mark("records", since, until)


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        raise TypeError(f"Invalid ids {value!r}")
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return [int(item) for item in value]
    raise TypeError(f"Invalid ids {value!r}")


def call_kw(target: Model, method: str, args: list[Any], kwargs: dict[str, Any], uid: int) -> Any:
    """Call ``method`` of ``target`` as Odoo's ``execute_kw`` would; returns the raw result."""
    if method.startswith("_"):
        raise AccessError(f"Private methods (such as '{target._name}.{method}') cannot be called remotely.")
    kwargs = dict(kwargs or {})
    context = kwargs.pop("context", None) or {}
    if not isinstance(context, dict):
        raise TypeError("context must be a dictionary")
    func = getattr(target, method, None)
    mark = getattr(func, MARK, None)
    if mark is None or not _available(mark, target.db.major):
        raise AttributeError(f"The method '{target._name}.{method}' does not exist")
    call = Call(uid, dict(context))
    args = list(args or [])
    if mark[0] == "records":
        if not args:
            raise TypeError(f"{target._name}.{method}() missing 1 required positional argument: 'ids'")
        return func(call, _ids(args[0]), *args[1:], **kwargs)
    return func(call, *args, **kwargs)


def _available(mark: tuple[str, int | None, int | None], major: int) -> bool:
    _, since, until = mark
    return (since is None or major >= since) and (until is None or major <= until)
