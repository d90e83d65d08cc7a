"""Odoo's generic model methods, callable over RPC on every fake model.

``search``/``search_read``/``search_count`` add the implicit ``('active', '=', True)`` unless
``context.active_test`` is False or the domain has a leaf on ``active``; results are sorted once
per (domain, order, context) and kept until the next change, so paging through 100k records by
``offset`` costs one scan. Each order's sorted ids are kept too: a first page (keyset paging, a new
domain each time) walks them from the domain's lower bound on the first key and stops at ``limit``,
and top-level ``id``/many2one ``=``/``in`` leaves narrow the candidates through the indexes. ``read`` follows Odoo's rules: rows in the order of the ids, ``id``
always present, many2one as ``[id, display_name]`` (a bare id with ``load='_classic_write'`` or
``None``), x2many as id lists, empty values ``False``, unknown fields ``ValueError``, missing
records ``MissingError``; archived records stay readable by id.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from . import api
from .api import Call
from .domain import ABOVE, compile_domain, conjuncts, lower_bound
from .errors import AccessError
from .fields import X2MANY
from .records import MAGIC_FIELDS, Getter, RecordStore

__all__ = [
    "Model",
]

CACHE_SIZE = 16


class _SortedIds:
    """Every id of a model in one order, with the leading sort keys' values for bisecting."""

    def __init__(self, model: RecordStore, recs: list[dict[str, Any]], keys: list[tuple[str, bool]]) -> None:
        self.ids = [rec["id"] for rec in recs]
        self._recs = recs
        # The leading ascending keys (at most two) a domain's lower bound can skip to.
        names = []
        for name, descending in keys[:2]:
            if descending or model.fields[name].type == "boolean":
                break
            names.append(name)
        self._names = names
        self._getters = [model._sort_key(name) for name in names]
        self._values: list[tuple[Any, ...]] | None = None
        self._rank: dict[int, int] | None = None

    def rank(self) -> dict[int, int]:
        """Position of each id in the order."""
        if self._rank is None:
            self._rank = {i: n for n, i in enumerate(self.ids)}
        return self._rank

    def start(self, model: RecordStore, domain: list[Any]) -> int:
        """Where matches of ``domain`` can begin: past the ids below its lower bound on the leading keys."""
        if not self._names:
            return 0
        bound = lower_bound(model, domain, self._names)
        if bound is None:
            return 0
        key = tuple(value if value is ABOVE else (False, value) for value in bound[: len(self._names)])
        if self._values is None:
            self._values = [tuple(get(rec) for get in self._getters) for rec in self._recs]
        try:
            return bisect_left(self._values, key)
        except TypeError:
            return 0


class Model(RecordStore):
    """Base of the fake's models: the generic RPC methods (``fields_get``, ``search_read``...)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict[tuple[str, str, str], list[int]] = {}
        self._cache_generation = -1
        self._sorted: dict[str, _SortedIds] = {}

    # ---------------------------------------------------------------------------------------------
    # Searching and reading (internal)
    # ---------------------------------------------------------------------------------------------

    def search_ids(
        self, call: Call, domain: list[Any] | None, offset: int = 0, limit: int | None = None, order: str | None = None
    ) -> list[int]:
        """Ids of the records matching ``domain``, sorted by ``order`` (default ``_order``), paged.

        A first page (``offset`` 0 with a ``limit``) of a domain not seen since the last change
        stops after ``limit`` matches instead of sorting every match.
        """
        start = int(offset or 0)
        if limit and int(limit) > 0 and not start:
            domain, keys, key = self._search_plan(call, domain, order)
            cached = self._cache.get(key)
            if cached is not None:
                return cached[: int(limit)]
            return self._matching(call, domain, keys, int(limit))
        ids = self._search_all(call, domain, order)
        return ids[start : start + int(limit)] if limit else ids[start:]

    def _search_all(self, call: Call, domain: list[Any] | None, order: str | None) -> list[int]:
        domain, keys, key = self._search_plan(call, domain, order)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        ids = self._matching(call, domain, keys, None)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = ids
        return ids

    def _search_plan(
        self, call: Call, domain: list[Any] | None, order: str | None
    ) -> tuple[list[Any], list[tuple[str, bool]], tuple[str, str, str]]:
        """The effective domain (with the implicit ``active`` leaf), the sort keys and the cache key."""
        domain = list(domain or [])
        if "active" in self.fields and call.active_test and not any(
            isinstance(term, (list, tuple)) and term and term[0] == "active" for term in domain
        ):
            domain = [("active", "=", True), *domain]
        keys = self._order_keys(order or self._order)
        if self._cache_generation != self.db.generation:
            self._cache.clear()
            self._sorted.clear()
            self._cache_generation = self.db.generation
        return domain, keys, (repr(domain), repr(keys), call.cache_key())

    def _matching(self, call: Call, domain: list[Any], keys: list[tuple[str, bool]], limit: int | None) -> list[int]:
        """Ids matching ``domain`` in ``keys`` order, the first ``limit`` only if given.

        Top-level ``id``/many2one ``=``/``in`` leaves narrow the candidates through the indexes;
        a lower bound on the first (ascending) sort key skips the sorted prefix below it. The whole
        domain is still evaluated on every candidate.
        """
        predicate = compile_domain(self, domain, call)
        terms = conjuncts(domain)
        order = self._sorted_order(keys)
        candidates = self._candidates(terms)
        if candidates is not None:
            rank = order.rank()
            ranked = sorted((i for i in candidates if i in rank), key=rank.__getitem__)
            walk: Any = ranked
        else:
            walk = order.ids[order.start(self, domain) :] if terms else order.ids
        records, found = self.records, []
        for i in walk:
            if predicate(records[i]):
                found.append(i)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _candidates(self, terms: list[Any]) -> set[int] | None:
        """A superset of the matching ids from indexed top-level leaves, or None (no such leaf)."""
        found: set[int] | None = None
        for term in terms:
            ids = self._indexed(term)
            if ids is not None:
                found = ids if found is None else found & ids
        return found

    def _indexed(self, term: Any) -> set[int] | None:
        if not isinstance(term, (list, tuple)) or len(term) != 3 or not isinstance(term[0], str):
            return None
        name, operator, value = term
        field = self.fields.get(name)
        if field is None or not field.searchable or str(operator).lower() not in ("=", "in"):
            return None
        values = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return None
        if name == "id":
            return {v for v in values if v in self.records}
        index = self._index.get(name)
        if index is None or field.related or field.compute:
            return None
        found: set[int] = set()
        for v in values:
            found |= index.get(v, set())
        return found

    def _sorted_order(self, keys: list[tuple[str, bool]]) -> _SortedIds:
        """All ids sorted by ``keys`` (kept until the next change)."""
        cache_key = repr(keys)
        order = self._sorted.get(cache_key)
        if order is None:
            found = list(self.records.values())
            for name, descending in reversed(keys):
                found.sort(key=self._sort_key(name), reverse=descending)
            order = self._sorted[cache_key] = _SortedIds(self, found, keys)
        return order

    def _order_keys(self, order: str) -> list[tuple[str, bool]]:
        keys = []
        for part in str(order).split(","):
            words = part.split()
            if not words:
                continue
            direction = words[1].lower() if len(words) > 1 else "asc"
            field = self.fields.get(words[0])
            if direction not in ("asc", "desc") or field is None or not field.store or field.type in X2MANY:
                raise ValueError(f"Invalid \"order\" specified ({order}) on model {self._name}")
            keys.append((words[0], direction == "desc"))
        return keys

    def _sort_key(self, name: str) -> Getter:
        if self.fields[name].type == "boolean":
            return lambda rec: bool(rec.get(name))
        return lambda rec: ((value := rec.get(name, False)) is False, value)

    def read_rows(
        self, call: Call, recs: list[dict[str, Any]], fields: list[str] | None = None, load: str | None = "_classic_read"
    ) -> list[dict[str, Any]]:
        """Rows as ``read`` returns them for stored records ``recs``."""
        names = self._field_names(fields)
        readers = [(name, self._reader(name, load, call)) for name in names]
        rows = []
        for rec in recs:
            row: dict[str, Any] = {"id": rec["id"]}
            for name, reader in readers:
                row[name] = reader(rec)
            rows.append(row)
        return rows

    def _field_names(self, fields: list[str] | None) -> list[str]:
        if not fields:
            return [name for name in self.fields if name != "id"]
        if isinstance(fields, str):
            fields = [fields]
        for name in fields:
            if name not in self.fields:
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")
        return [name for name in dict.fromkeys(fields) if name != "id"]

    def _reader(self, name: str, load: str | None, call: Call) -> Getter:
        field = self.fields[name]
        get = self.getter(name, call)
        if field.type == "many2one" and load == "_classic_read":
            comodel = self.db[str(field.relation)]
            targets = comodel.records

            def read_many2one(rec: dict[str, Any]) -> Any:
                target = targets.get(get(rec) or 0)
                return False if target is None else [target["id"], comodel.display_name_of(target, call)]

            return read_many2one
        if field.type in X2MANY:
            return lambda rec: list(get(rec))
        return get

    # ---------------------------------------------------------------------------------------------
    # Public RPC methods
    # ---------------------------------------------------------------------------------------------

    @api.model
    def fields_get(self, call: Call, allfields: list[str] | None = None, attributes: list[str] | None = None) -> Any:
        """``{field: {"type", "string", "relation"...}}`` for all (or ``allfields``) fields."""
        result = {}
        for name, field in self.fields.items():
            if allfields and name not in allfields:
                continue
            info = field.describe()
            result[name] = {k: v for k, v in info.items() if k in attributes} if attributes else info
        return result

    @api.model
    def search(
        self, call: Call, domain: list[Any] | None = None, offset: int = 0, limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        """Ids matching ``domain``."""
        return self.search_ids(call, domain, offset, limit, order)

    @api.model
    def search_count(self, call: Call, domain: list[Any] | None = None, limit: int | None = None) -> int:
        """How many records match ``domain`` (at most ``limit``)."""
        count = len(self._search_all(call, domain, None))
        return min(count, int(limit)) if limit else count

    @api.model
    def search_read(
        self, call: Call, domain: list[Any] | None = None, fields: list[str] | None = None, offset: int = 0,
        limit: int | None = None, order: str | None = None, load: str | None = "_classic_read",
    ) -> list[dict[str, Any]]:
        """``search`` then ``read`` in one call."""
        names = self._field_names(fields)
        ids = self.search_ids(call, domain, offset, limit, order)
        return self.read_rows(call, [self.records[i] for i in ids], names, load)

    @api.records
    def read(
        self, call: Call, ids: list[int], fields: list[str] | None = None, load: str | None = "_classic_read"
    ) -> list[dict[str, Any]]:
        """The values of ``fields`` (default: all) of records ``ids``."""
        self._check_access(call, "read")
        return self.read_rows(call, self.browse(ids), fields, load)

    @api.model
    def create(self, call: Call, vals_list: Any) -> Any:
        """Create one record (dict → id) or several (list of dicts → ids)."""
        self._check_access(call, "create")
        if isinstance(vals_list, list):
            return [self.create_record(call, vals) for vals in vals_list]
        return self.create_record(call, vals_list)

    @api.records
    def write(self, call: Call, ids: list[int], vals: dict[str, Any]) -> bool:
        """Write ``vals`` on records ``ids``."""
        self._check_access(call, "write")
        self.write_records(call, ids, vals)
        return True

    @api.records
    def unlink(self, call: Call, ids: list[int]) -> bool:
        """Delete records ``ids``."""
        self._check_access(call, "unlink")
        self.unlink_records(call, ids)
        return True

    @api.records
    def copy(self, call: Call, ids: list[int], default: dict[str, Any] | None = None) -> int:
        """Duplicate one record (stored, non-magic fields), with ``default`` values on top."""
        self._check_access(call, "create")
        rec = self.browse(ids[:1])[0]
        vals = {f.name: rec[f.name] for f in self._stored if f.type != "many2many"}
        vals.update({f.name: [(6, 0, rec[f.name])] for f in self._stored if f.type == "many2many"})
        return self.create_record(call, {**vals, **(default or {})})

    @api.records
    def exists(self, call: Call, ids: list[int]) -> list[int]:
        """The ids that still exist."""
        return [i for i in ids if i in self.records]

    @api.model
    def default_get(self, call: Call, fields_list: list[str]) -> dict[str, Any]:
        """Default values of the requested fields that have one."""
        return {
            name: self.fields[name].initial(self, call)
            for name in fields_list
            if name in self.fields and self.fields[name].default is not None and name not in MAGIC_FIELDS
        }

    @api.model
    def name_search(
        self, call: Call, name: str = "", args: list[Any] | None = None, operator: str = "ilike",
        limit: int = 100, domain: list[Any] | None = None,
    ) -> list[list[Any]]:
        """``[[id, display_name], ...]`` of records whose name matches ``name``."""
        terms = list(domain if domain is not None else args or [])
        if name:
            terms += self._name_search_domain(name, operator)
        ids = self.search_ids(call, terms, 0, limit)
        return [[i, self.display_name_of(self.records[i], call)] for i in ids]

    def _name_search_domain(self, name: str, operator: str) -> list[Any]:
        return [(self._rec_name or "display_name", operator, name)]

    @api.records(until=17)
    def name_get(self, call: Call, ids: list[int]) -> list[list[Any]]:
        """``[[id, display_name], ...]`` (Odoo 17 and earlier)."""
        return [[rec["id"], self.display_name_of(rec, call)] for rec in self.browse(ids)]

    @api.model
    def check_access_rights(self, call: Call, operation: str, raise_exception: bool = True) -> bool:
        """Whether the user may ``operation`` on this model (AccessError if not and ``raise_exception``)."""
        try:
            self._check_access(call, operation)
        except AccessError:
            if raise_exception:
                raise
            return False
        return True

    @api.records(since=18)
    def check_access(self, call: Call, ids: list[int], operation: str) -> None:
        """Raise AccessError unless the user may ``operation`` on the records (Odoo 18+; returns None)."""
        self.browse(ids)
        self._check_access(call, operation)

    @api.records(since=18)
    def has_access(self, call: Call, ids: list[int], operation: str) -> bool:
        """Whether the user may ``operation`` on the records (Odoo 18+)."""
        return self.check_access_rights(call, operation, raise_exception=False)

    @api.records
    def web_read(self, call: Call, ids: list[int], specification: dict[str, Any]) -> list[dict[str, Any]]:
        """Records as nested dicts following a web ``specification`` (the 17+ web client's read)."""
        return self._web_rows(call, self.browse(ids), specification)

    @api.model
    def web_search_read(
        self, call: Call, domain: list[Any] | None = None, specification: dict[str, Any] | None = None,
        offset: int = 0, limit: int | None = None, order: str | None = None, count_limit: int | None = None,
    ) -> dict[str, Any]:
        """``{"length": total, "records": [...]}`` with records shaped by ``specification``."""
        all_ids = self._search_all(call, domain, order)
        ids = self.search_ids(call, domain, offset, limit, order)
        rows = self._web_rows(call, [self.records[i] for i in ids], specification or {})
        return {"length": len(all_ids), "records": rows}

    def _web_rows(self, call: Call, recs: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
        names = self._field_names(list(spec))
        getters = {name: self.getter(name, call) for name in names}
        rows = []
        for rec in recs:
            row: dict[str, Any] = {"id": rec["id"]}
            for name in names:
                row[name] = self._web_value(call, name, getters[name](rec), spec[name] or {})
            rows.append(row)
        return rows

    def _web_value(self, call: Call, name: str, value: Any, spec: dict[str, Any]) -> Any:
        field = self.fields[name]
        if field.type not in ("many2one", *X2MANY):
            return value
        comodel = self.db[str(field.relation)]
        sub = spec.get("fields")
        inner = Call(call.uid, {**call.context, **(spec.get("context") or {})})
        if field.type == "many2one":
            if not value or value not in comodel.records:
                return False
            return comodel._web_rows(inner, [comodel.records[value]], sub)[0] if sub else value
        return comodel._web_rows(inner, [comodel.records[i] for i in value], sub) if sub else list(value)
