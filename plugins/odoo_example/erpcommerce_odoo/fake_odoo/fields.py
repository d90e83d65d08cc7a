"""Field declarations of the fake's models, and how their values are stored and converted.

A model declares fields as class attributes (``name = Char("Name", required=True)``), as Odoo
does. Stored values live in plain dicts: ``False`` for empty (many2one, char, date...), ids for
many2one, lists of ids for many2many, ``'YYYY-MM-DD HH:MM:SS'`` UTC strings for datetimes. A
field is *computed* (``compute="_compute_x"``, a model method ``(record, call) -> value``),
*related* (``related="product_tmpl_id.name"``: read and written through the many2one) or stored;
one2many fields are always computed from their inverse many2one.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import Any, Callable

__all__ = [
    "Boolean",
    "Char",
    "Date",
    "Datetime",
    "Field",
    "Float",
    "Integer",
    "Many2many",
    "Many2one",
    "Monetary",
    "One2many",
    "Selection",
    "Text",
    "format_datetime",
]

RELATIONAL = ("many2one", "one2many", "many2many")
X2MANY = ("one2many", "many2many")


def format_datetime(value: datetime) -> str:
    """Odoo's wire form of a UTC datetime: ``YYYY-MM-DD HH:MM:SS``."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(eq=False)
class Field:
    """One field of a model: its type, label and behaviour (see the module docstring)."""

    type: str
    string: str = ""
    relation: str | None = None
    inverse_name: str | None = None
    selection: tuple[tuple[str, str], ...] | None = None
    required: bool = False
    readonly: bool = False
    default: Any = None
    compute: str | None = None
    inverse: str | None = None
    related: str | None = None
    searchable: bool = True
    company_dependent: bool = False
    help: str = ""
    since: int | None = None
    until: int | None = None
    name: str = ""
    store: bool = dc_field(init=False, default=True)

    def __post_init__(self) -> None:
        # Whether the value lives in the record dict (and so can be used in ``order``).
        self.store = self.compute is None and self.related is None and self.type != "one2many"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if not self.string:
            self.string = name.replace("_", " ").title()

    def exists_in(self, major: int) -> bool:
        """Whether the field exists in Odoo ``major`` (17, 18...)."""
        return (self.since is None or major >= self.since) and (self.until is None or major <= self.until)

    def empty(self) -> Any:
        """The stored value of an unset field."""
        if self.type == "integer":
            return 0
        if self.type in ("float", "monetary"):
            return 0.0
        if self.type in X2MANY:
            return []
        return False

    def initial(self, model: Any, call: Any) -> Any:
        """The default value for a new record (``default`` may be a callable ``(model, call)``)."""
        if callable(self.default):
            return self.default(model, call)
        if self.default is not None:
            return self.default
        return self.empty()

    def convert(self, value: Any) -> Any:
        """The stored form of a scalar value written by a client; raises ``ValueError`` if invalid."""
        if value is None or (value is False and self.type != "boolean"):
            return self.empty()
        kind = self.type
        if kind in ("char", "text", "html"):
            return str(value)
        if kind == "integer":
            return int(value)
        if kind in ("float", "monetary"):
            return float(value)
        if kind == "boolean":
            return bool(value)
        if kind == "datetime":
            return _datetime(value)
        if kind == "date":
            return value.strftime("%Y-%m-%d") if isinstance(value, date) else str(value)[:10]
        if kind == "selection":
            if self.selection and value not in {key for key, _ in self.selection}:
                raise ValueError(f"Wrong value for {self.name}: {value!r}")
            return value
        if kind == "many2one":
            if isinstance(value, (list, tuple)):
                value = value[0]
            return int(value)
        return value

    def describe(self) -> dict[str, Any]:
        """The entry of ``fields_get`` for this field."""
        info: dict[str, Any] = {
            "type": self.type,
            "string": self.string,
            "help": self.help,
            "required": self.required,
            "readonly": self.readonly or (self.compute is not None and self.inverse is None),
            "store": self.store,
            "searchable": self.searchable,
            "sortable": self.store,
            "company_dependent": self.company_dependent,
            "name": self.name,
        }
        if self.relation:
            info["relation"] = self.relation
        if self.inverse_name:
            info["relation_field"] = self.inverse_name
        if self.selection is not None:
            info["selection"] = [list(pair) for pair in self.selection]
        return info


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    text = str(value).replace("T", " ")
    if len(text) == 10:
        return text + " 00:00:00"
    return text[:19]


def _factory(kind: str) -> Callable[..., Field]:
    def make(string: str = "", **options: Any) -> Field:
        return Field(kind, string, **options)

    make.__name__ = kind.title()
    make.__doc__ = f"A ``{kind}`` field."
    return make


Char = _factory("char")
Text = _factory("text")
Integer = _factory("integer")
Float = _factory("float")
Monetary = _factory("monetary")
Boolean = _factory("boolean")
Date = _factory("date")
Datetime = _factory("datetime")


def Selection(selection: list[tuple[str, str]], string: str = "", **options: Any) -> Field:  # noqa: N802
    """A ``selection`` field with ``[(key, label), ...]``."""
    return Field("selection", string, selection=tuple(selection), **options)


def Many2one(relation: str, string: str = "", **options: Any) -> Field:  # noqa: N802
    """A ``many2one`` field to ``relation``."""
    return Field("many2one", string, relation=relation, **options)


def One2many(relation: str, inverse_name: str, string: str = "", **options: Any) -> Field:  # noqa: N802
    """A ``one2many`` field: the ``relation`` records whose ``inverse_name`` is this record."""
    return Field("one2many", string, relation=relation, inverse_name=inverse_name, **options)


def Many2many(relation: str, string: str = "", **options: Any) -> Field:  # noqa: N802
    """A ``many2many`` field to ``relation`` (stored as a list of ids)."""
    return Field("many2many", string, relation=relation, **options)
