"""One fake Odoo database: its models, its clock, its version and who listens to its changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable

from .errors import UserError
from .fields import format_datetime

if TYPE_CHECKING:
    from .records import Model

__all__ = [
    "Change",
    "Database",
]


@dataclass(frozen=True)
class Change:
    """A tracked field of a record changed (what an Odoo automation rule "on update" sees)."""

    model: str
    record: dict[str, Any]
    before: dict[str, Any]


class Database:
    """The models of one database, by name (``db["sale.order"]``), as Odoo's registry.

    :param version: the Odoo version emulated, ``"17.0"`` or ``"18.0"``.
    :param clock: returns the current UTC time (``create_date``/``write_date``); tests may fix it.
    """

    def __init__(
        self,
        name: str = "demo",
        version: str = "17.0",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.major = int(version.split("~")[-1].split(".")[0])
        self.clock = clock or (lambda: datetime.now(UTC))
        self.models: dict[str, Model] = {}
        self.generation = 0
        self.listeners: list[Callable[[Change], None]] = []
        self._now: tuple[int, str] = (-1, "")

    def add(self, model_class: type[Model]) -> None:
        """Instantiate and register a model class under its ``_name``."""
        self.models[model_class._name] = model_class(self)

    def __getitem__(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
            raise UserError(f"Object {name} doesn't exist") from None

    def __contains__(self, name: object) -> bool:
        return name in self.models

    def now(self) -> str:
        """The current UTC time as Odoo writes it (second precision)."""
        moment = self.clock()
        second = int(moment.timestamp())
        if self._now[0] != second:
            self._now = (second, format_datetime(moment))
        return self._now[1]

    def changed(self) -> None:
        """Note that data changed (invalidates cached search results)."""
        self.generation += 1

    def emit(self, change: Change) -> None:
        """Tell the listeners (webhooks) that a tracked field changed."""
        for listener in self.listeners:
            listener(change)
