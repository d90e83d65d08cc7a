"""Shared model pieces: prefixed ids, timestamps, money columns."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from core.ids import new_id

__all__ = [
    "ID_PREFIXES",
    "PrefixedId",
    "TimestampedModel",
    "id_field",
    "money_field",
]


class PrefixedId:
    """A callable default producing ``<prefix>_<ULID>``; a class (not a lambda) so migrations can name it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.__name__ = f"new_{prefix}_id"
        self.__module__ = __name__

    def __call__(self) -> str:
        return new_id(self.prefix)

    def __repr__(self) -> str:
        return f"PrefixedId({self.prefix!r})"



# Every id prefix in use. Each default is a module attribute (``new_cart_id``...) so that
# migrations can import it by name.
ID_PREFIXES = (
    "apk", "authid", "caaddr", "cali", "cart", "cus", "evt", "img", "opt", "optval", "order",
    "ordli", "pay_col", "payses", "price", "prod", "reg", "sc", "sync", "user", "variant",
)
_DEFAULTS = {prefix: PrefixedId(prefix) for prefix in ID_PREFIXES}
globals().update({default.__name__: default for default in _DEFAULTS.values()})


def id_field(prefix: str) -> fields.CharField:
    """The primary key of a model whose ids look like ``<prefix>_01J...`` (prefix in ``ID_PREFIXES``)."""
    return fields.CharField(primary_key=True, max_length=64, default=_DEFAULTS[prefix])


def money_field(*, null: bool = False, default: Any = None) -> fields.DecimalField:
    """An exact amount in major units (10.5 means 10.50)."""
    kwargs: dict[str, Any] = {"max_digits": 20, "decimal_places": 4, "null": null}
    if default is not None:
        kwargs["default"] = default
        kwargs["db_default"] = default
    return fields.DecimalField(**kwargs)


class TimestampedModel(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
