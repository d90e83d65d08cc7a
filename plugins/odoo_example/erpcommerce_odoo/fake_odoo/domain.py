"""Odoo's domain language, compiled to a Python predicate over stored records.

A domain is a list in Polish notation: ``'&'``/``'|'`` take two operands, ``'!'`` one, and
neighbouring terms are AND-ed. A leaf is ``(path, operator, value)``; ``path`` may follow
relations (``'product_tmpl_id.default_code'``); on an x2many path a positive operator means "some
related record matches" and a negative one "no related record matches". ``False`` stands for
NULL: ``('f', '=', False)`` is "not set", and ``!=``/``not in``/``not like`` also match unset
values, as Odoo's SQL does. ``(1, '=', 1)`` and ``(0, '=', 1)`` are the TRUE and FALSE leaves.
A leaf on a non-searchable field counts as TRUE (Odoo logs an error and ignores it).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

from .api import Call
from .fields import X2MANY, Field

if TYPE_CHECKING:
    from .records import RecordStore

__all__ = [
    "ABOVE",
    "OPERATORS",
    "Predicate",
    "compile_domain",
    "conjuncts",
    "lower_bound",
    "normalize",
]

Predicate = Callable[[dict[str, Any]], bool]
OPERATORS = frozenset({
    "=", "!=", "<>", ">", ">=", "<", "<=", "=?", "in", "not in", "like", "ilike", "not like", "not ilike",
    "=like", "=ilike", "child_of", "parent_of", "any", "not any",
})
NEGATIVE = {"!=": "=", "<>": "=", "not in": "in", "not like": "like", "not ilike": "ilike", "not any": "any"}
LOGIC = ("&", "|", "!")


def _true(rec: dict[str, Any]) -> bool:
    return True


def _false(rec: dict[str, Any]) -> bool:
    return False


def _is_null(value: Any) -> bool:
    return value is False or value is None or value == "" and isinstance(value, str)


def normalize(domain: list[Any]) -> list[Any]:
    """The domain with the implicit ANDs made explicit (Odoo's ``normalize_domain``)."""
    if not isinstance(domain, (list, tuple)):
        raise ValueError(f"Invalid domain {domain!r}")
    result: list[Any] = []
    expected = 1
    for token in domain:
        if expected == 0:
            result[0:0] = ["&"]
            expected = 1
        if isinstance(token, str) and token in LOGIC:
            expected += 0 if token == "!" else 1
        else:
            expected -= 1
        result.append(token)
    if expected not in (0, 1) or (expected == 1 and result):
        raise ValueError(f"Invalid domain {domain!r}")
    return result


def compile_domain(model: RecordStore, domain: list[Any] | None, call: Call) -> Predicate:
    """A predicate telling whether a record of ``model`` matches ``domain``."""
    tokens = normalize(list(domain or []))
    if not tokens:
        return _true
    predicate, end = _parse(model, tokens, 0, call)
    if end != len(tokens):
        raise ValueError(f"Invalid domain {domain!r}")
    return predicate


def _parse(model: RecordStore, tokens: list[Any], pos: int, call: Call) -> tuple[Predicate, int]:
    if pos >= len(tokens):
        raise ValueError("Invalid domain: missing operand")
    token = tokens[pos]
    if isinstance(token, str) and token in LOGIC:
        first, pos = _parse(model, tokens, pos + 1, call)
        if token == "!":
            return (lambda rec: not first(rec)), pos
        second, pos = _parse(model, tokens, pos, call)
        if token == "&":
            return (lambda rec: first(rec) and second(rec)), pos
        return (lambda rec: first(rec) or second(rec)), pos
    return compile_leaf(model, token, call), pos + 1


def compile_leaf(model: RecordStore, leaf: Any, call: Call) -> Predicate:
    """A predicate for one ``(path, operator, value)`` leaf of ``model``."""
    if not isinstance(leaf, (list, tuple)) or len(leaf) != 3:
        raise ValueError(f"Invalid leaf {leaf!r}")
    path, operator, value = leaf
    if isinstance(path, int):
        return _true if (path == value) == (operator == "=") else _false
    operator = str(operator).lower()
    if operator not in OPERATORS:
        raise ValueError(f"Invalid operator {operator!r} in leaf {leaf!r}")
    name, _, rest = str(path).partition(".")
    field = model.fields.get(name)
    if field is None:
        raise ValueError(f"Invalid field {model._name}.{name} in leaf {leaf!r}")
    if not field.searchable:
        return _true
    if rest:
        return _path_leaf(model, field, rest, operator, value, call)
    if operator in ("any", "not any"):
        comodel = _comodel(model, field)
        inner = compile_domain(comodel, value, call)
        return _related(model, field, inner, call, negate=operator == "not any")
    getter = model.getter(name, call)
    if operator in ("child_of", "parent_of"):
        return _hierarchy(model, field, operator, value, getter)
    if field.type == "many2one" or field.type in X2MANY:
        return _relational(model, field, operator, value, getter, call)
    return _scalar(field, operator, _coerce(field, value), getter)


def _comodel(model: RecordStore, field: Field) -> RecordStore:
    if not field.relation:
        raise ValueError(f"Field {model._name}.{field.name} is not relational")
    return model.db[field.relation]


def _path_leaf(model: RecordStore, field: Field, rest: str, operator: str, value: Any, call: Call) -> Predicate:
    comodel = _comodel(model, field)
    negate = field.type in X2MANY and operator in NEGATIVE and operator != "not any"
    inner = compile_leaf(comodel, (rest, NEGATIVE[operator] if negate else operator, value), call)
    return _related(model, field, inner, call, negate=negate)


def _related(model: RecordStore, field: Field, inner: Predicate, call: Call, *, negate: bool) -> Predicate:
    targets = _comodel(model, field).records
    getter = model.getter(field.name, call)
    if field.type == "many2one":
        def matches(rec: dict[str, Any]) -> bool:
            target = targets.get(getter(rec) or 0)
            return target is not None and inner(target)
    else:
        def matches(rec: dict[str, Any]) -> bool:
            return any(inner(targets[i]) for i in getter(rec) if i in targets)
    if negate:
        return lambda rec: not matches(rec)
    return matches


def _coerce(field: Field, value: Any) -> Any:
    if field.type in ("datetime", "date") and isinstance(value, (str, date, datetime)):
        return field.convert(value)
    if isinstance(value, (list, tuple)):
        return [_coerce(field, item) for item in value]
    return value


def _scalar(field: Field, operator: str, value: Any, get: Callable[[dict[str, Any]], Any]) -> Predicate:
    null = (lambda v: not v) if field.type == "boolean" else _is_null
    if operator == "=?":
        if value is False or value is None:
            return _true
        operator = "="
    if operator in NEGATIVE:
        positive = _scalar(field, NEGATIVE[operator], value, get)
        return lambda rec: not positive(rec)
    if operator == "=":
        if value is False or value is None:
            return lambda rec: null(get(rec))
        return lambda rec: not null(v := get(rec)) and v == value
    if operator == "in":
        values = value if isinstance(value, (list, tuple)) else [value]
        with_null = any(v is False or v is None for v in values)
        members = {v for v in values if v is not False and v is not None}
        return lambda rec: (null(v := get(rec)) and with_null) or (not null(v) and v in members)
    if operator in ("like", "ilike", "=like", "=ilike"):
        match = _like(operator, value)
        return lambda rec: not null(v := get(rec)) and match(str(v))
    compare = _COMPARE[operator]
    if value is False or value is None:
        return _false
    return lambda rec: not null(v := get(rec)) and compare(v, value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _like(operator: str, value: Any) -> Callable[[str], bool]:
    pattern = str(value)
    exact = operator.startswith("=")
    insensitive = operator.endswith("ilike")
    if not exact and "%" not in pattern and "_" not in pattern:
        if insensitive:
            needle = pattern.lower()
            return lambda text: needle in text.lower()
        return lambda text: pattern in text
    return _like_regex(pattern if exact else f"%{pattern}%", insensitive).fullmatch  # type: ignore[return-value]


@lru_cache(maxsize=256)
def _like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    parts = ["." * (c == "_") + ".*" * (c == "%") if c in "%_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if insensitive else re.DOTALL)


def _name_ids(comodel: RecordStore, operator: str, name: str, call: Call) -> set[int]:
    match = compile_leaf(comodel, ("display_name", operator, name), call)
    return {rec["id"] for rec in comodel.records.values() if match(rec)}


def _relational(
    model: RecordStore, field: Field, operator: str, value: Any, get: Callable[[dict[str, Any]], Any], call: Call
) -> Predicate:
    if operator in NEGATIVE:
        positive = _relational(model, field, NEGATIVE[operator], value, get, call)
        return lambda rec: not positive(rec)
    if operator == "=?":
        if value is False or value is None:
            return _true
        operator = "="
    many = field.type in X2MANY
    if value is False or value is None:
        if operator == "=":
            return lambda rec: not get(rec)
        return _false
    values = value if isinstance(value, (list, tuple)) else [value]
    if operator in ("like", "ilike", "=like", "=ilike") or any(isinstance(v, str) for v in values):
        name_operator = operator if operator not in ("=", "in") else "="
        ids: set[int] = set()
        for item in values:
            ids |= _name_ids(_comodel(model, field), name_operator, str(item), call)
    elif operator in ("=", "in"):
        ids = {int(v) for v in values if v is not False and v is not None}
        if any(v is False or v is None for v in values):
            return lambda rec: not get(rec) or _hit(get(rec), ids, many)
    else:
        return _scalar(field, operator, value, get)
    return lambda rec: _hit(get(rec), ids, many)


def _hit(current: Any, ids: set[int], many: bool) -> bool:
    if many:
        return any(i in ids for i in current)
    return bool(current) and current in ids


def _hierarchy(
    model: RecordStore, field: Field, operator: str, value: Any, get: Callable[[dict[str, Any]], Any]
) -> Predicate:
    target = model if field.name == "id" else _comodel(model, field)
    roots = {int(v) for v in (value if isinstance(value, (list, tuple)) else [value]) if v}
    parents = {rec["id"]: rec.get(target._parent_name) or 0 for rec in target.records.values()}

    def ancestry(node: int) -> set[int]:
        seen: set[int] = set()
        while node and node not in seen:
            seen.add(node)
            node = parents.get(node, 0)
        return seen

    if operator == "child_of":
        def matches(node: int) -> bool:
            return bool(ancestry(node) & roots)
    else:
        above = set().union(*(ancestry(root) for root in roots)) if roots else set()

        def matches(node: int) -> bool:
            return node in above

    if field.type in X2MANY:
        return lambda rec: any(matches(i) for i in get(rec))
    return lambda rec: bool(node := get(rec)) and matches(node)


# -------------------------------------------------------------------------------------------------
# Analysis (for the ORM's search planner: what a domain implies, never what it matches)
# -------------------------------------------------------------------------------------------------


def conjuncts(domain: list[Any]) -> list[Any]:
    """The top-level AND-ed terms of ``domain`` (leaves, or normalized ``'|'``/``'!'`` subtrees)."""
    tokens = normalize(list(domain))
    terms: list[Any] = []

    def walk(pos: int) -> int:
        if pos >= len(tokens):
            raise ValueError(f"Invalid domain {domain!r}")
        if tokens[pos] == "&":
            return walk(walk(pos + 1))
        end = _skip(tokens, pos)
        terms.append(tokens[pos] if end == pos + 1 else tokens[pos:end])
        return end

    if tokens:
        walk(0)
    return terms


def _skip(tokens: list[Any], pos: int) -> int:
    if pos >= len(tokens):
        raise ValueError("Invalid domain: missing operand")
    token = tokens[pos]
    if isinstance(token, str) and token in LOGIC:
        end = _skip(tokens, pos + 1)
        return end if token == "!" else _skip(tokens, end)
    return pos + 1


class _Above:
    """Greater than any value: ends a lower bound that excludes its own prefix (``>``)."""

    def __lt__(self, other: Any) -> bool:
        return False

    def __le__(self, other: Any) -> bool:
        return other is self

    def __gt__(self, other: Any) -> bool:
        return other is not self

    def __ge__(self, other: Any) -> bool:
        return True

    def __repr__(self) -> str:
        return "ABOVE"


ABOVE = _Above()


def lower_bound(model: RecordStore, domain: list[Any], names: list[str]) -> tuple[Any, ...] | None:
    """A lexicographic lower bound on ``(names[0], names[1])`` of the records matching ``domain``.

    The result ``b`` (a tuple of one or two values, possibly ending with :data:`ABOVE` for a
    strict bound) means every match has its first field set and ``(first, second) >= b`` as far
    as ``b`` goes; None if the domain implies no such bound. It understands ``>``/``>=``/``=``
    leaves combined by ``&`` and ``|``, as in keyset paging
    (``['|', (k1, '>', a), '&', (k1, '=', a), (k2, '>', b)]`` gives ``(a, b)``).
    """
    fields = [model.fields.get(name) for name in names[:2]]
    if not fields or not all(_bounded(f) for f in fields):
        return None
    tokens = normalize(list(domain))
    if not tokens:
        return None

    def leaf(token: Any, index: int) -> tuple[str, Any] | None:
        if not (isinstance(token, (list, tuple)) and len(token) == 3 and token[0] == names[index]):
            return None
        value = _coerce(fields[index], token[2])  # type: ignore[arg-type]
        operator = str(token[1]).lower()
        if operator not in (">", ">=", "=") or _is_null(value) or isinstance(value, list):
            return None
        return operator, value

    def bound(pos: int) -> tuple[tuple[Any, ...] | None, Any, Any, int]:
        """(bound on the keys, value of an ``=`` on the first key, bound on the second key, end)."""
        token = tokens[pos]
        if isinstance(token, str) and token in LOGIC:
            if token == "!":
                return None, None, None, _skip(tokens, pos + 1)
            first, equal1, low1, end = bound(pos + 1)
            second, equal2, low2, end = bound(end)
            if token == "|":
                both = None if first is None or second is None else min(first, second)
                return both, None, None, end
            found = [b for b in (first, second) if b is not None]
            equal = equal1 if equal1 is not None else equal2
            low = low1 if low2 is None else low2 if low1 is None else max(low1, low2)
            if equal is not None and low is not None:
                found.append((equal, low))
            return (max(found) if found else None), equal, low, end
        head = leaf(token, 0)
        if head is not None:
            operator, value = head
            return ((value, ABOVE) if operator == ">" else (value,)), (value if operator == "=" else None), None, pos + 1
        tail = leaf(token, 1) if len(fields) > 1 else None
        return None, None, (tail[1] if tail else None), pos + 1

    try:
        return bound(0)[0]
    except (TypeError, IndexError):
        return None


def _bounded(field: Field | None) -> bool:
    return not (field is None or field.type in ("boolean", "many2one", *X2MANY) or field.related or field.compute)
