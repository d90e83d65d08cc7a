"""The in-memory record store under every fake model: create, write, unlink, values, x2many commands.

Records are plain dicts in ``store.records`` (id -> dict), in id order. Every many2one is indexed
(target id -> record ids) so one2many values and inverse lookups cost no scan. Writes stamp
``write_date`` (UTC, second precision) and ``write_uid``; a change of a field listed in
``_tracked`` is reported to the database's listeners (webhooks). These are the internal
operations (no access checks); :mod:`.orm` puts Odoo's public RPC methods on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from .api import Call
from .errors import AccessError, MissingError, ValidationError
from .fields import Char, Datetime, Field, Integer, Many2one
from .registry import Change

if TYPE_CHECKING:
    from .registry import Database

__all__ = [
    "MAGIC_FIELDS",
    "RecordStore",
]

MAGIC_FIELDS = frozenset({"id", "display_name", "create_date", "create_uid", "write_date", "write_uid"})
Getter = Callable[[dict[str, Any]], Any]


class RecordStore:
    """Storage and internal CRUD of one model (subclassed by :class:`.orm.Model`)."""

    _name: ClassVar[str] = ""
    _description: ClassVar[str] = ""
    _order: ClassVar[str] = "id"
    _rec_name: ClassVar[str | None] = "name"
    _parent_name: ClassVar[str] = "parent_id"
    _tracked: ClassVar[tuple[str, ...]] = ()
    _declared: ClassVar[dict[str, Field]] = {}

    id = Integer("ID", readonly=True)
    display_name = Char("Display Name", compute="_compute_display_name", searchable=True)
    create_date = Datetime("Created on", readonly=True)
    create_uid = Many2one("res.users", "Created by", readonly=True)
    write_date = Datetime("Last Updated on", readonly=True)
    write_uid = Many2one("res.users", "Last Updated by", readonly=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared: dict[str, Field] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Field):
                    declared[name] = value
        cls._declared = declared

    def __init__(self, db: Database) -> None:
        self.db = db
        self.fields = {name: f for name, f in self._declared.items() if f.exists_in(db.major)}
        self.records: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        self._stored = [f for f in self.fields.values() if f.store and f.name not in MAGIC_FIELDS]
        self._index: dict[str, dict[int, set[int]]] = {
            f.name: {} for f in self.fields.values() if f.type == "many2one" and f.store and f.name not in MAGIC_FIELDS
        }

    # ---------------------------------------------------------------------------------------------
    # Lookups
    # ---------------------------------------------------------------------------------------------

    def browse(self, ids: list[int]) -> list[dict[str, Any]]:
        """The records of ``ids``, in that order; raises MissingError if one does not exist."""
        missing = [i for i in ids if i not in self.records]
        if missing:
            raise MissingError(
                "Record does not exist or has been deleted.\n"
                f"(Record: {self._name}({', '.join(map(str, missing))},), User: 2)"
            )
        return [self.records[i] for i in ids]

    def referencing(self, fname: str, target: int) -> set[int]:
        """Ids of the records whose many2one ``fname`` is ``target``."""
        return self._index[fname].get(target, set())

    def display_name_of(self, rec: dict[str, Any], call: Call | None = None) -> str:
        """The ``display_name`` of a record (models override :meth:`_display_name`)."""
        return self._display_name(rec, call)

    def _display_name(self, rec: dict[str, Any], call: Call | None) -> str:
        value = rec.get(self._rec_name) if self._rec_name else False
        return str(value) if value else f"{self._name},{rec['id']}"

    def _compute_display_name(self, rec: dict[str, Any], call: Call) -> str:
        return self._display_name(rec, call)

    def getter(self, fname: str, call: Call) -> Getter:
        """A function giving the value of ``fname`` of a record in stored form (ids for relations)."""
        field = self.fields[fname]
        if field.related:
            return self._related_getter(field, call)
        if field.type == "one2many":
            return self._one2many_getter(field, call)
        if field.compute:
            compute = getattr(self, field.compute)
            return lambda rec: compute(rec, call)
        if field.type == "many2many":
            return self._many2many_getter(field, call)
        empty = field.empty()
        return lambda rec: rec.get(fname, empty)

    def _related_getter(self, field: Field, call: Call) -> Getter:
        link, rest = str(field.related).split(".", 1)
        comodel = self.db[str(self.fields[link].relation)]
        inner, targets, empty = comodel.getter(rest, call), comodel.records, field.empty()

        def get(rec: dict[str, Any]) -> Any:
            target = targets.get(rec.get(link) or 0)
            return empty if target is None else inner(target)

        return get

    def _one2many_getter(self, field: Field, call: Call) -> Getter:
        comodel = self.db[str(field.relation)]
        index, targets = comodel._index[str(field.inverse_name)], comodel.records
        hide = "active" in comodel.fields and call.active_test
        return lambda rec: sorted(
            i for i in index.get(rec["id"], ()) if not hide or targets[i].get("active")
        )

    def _many2many_getter(self, field: Field, call: Call) -> Getter:
        comodel = self.db[str(field.relation)]
        targets, name = comodel.records, field.name
        hide = "active" in comodel.fields and call.active_test
        return lambda rec: [
            i for i in rec.get(name, ()) if (t := targets.get(i)) is not None and (not hide or t.get("active"))
        ]

    # ---------------------------------------------------------------------------------------------
    # Create / write / unlink
    # ---------------------------------------------------------------------------------------------

    def create_record(self, call: Call, vals: dict[str, Any]) -> int:
        """Create one record from client values; returns its id."""
        if not isinstance(vals, dict):
            raise TypeError(f"create() expects a dict of values, got {type(vals).__name__}")
        self._check_names(vals)
        rec: dict[str, Any] = {"id": self.next_id}
        for field in self._stored:
            if field.name in vals:
                rec[field.name] = self._convert(field, vals[field.name], [], call)
            else:
                rec[field.name] = field.initial(self, call)
        now = self.db.now()
        rec.update(create_date=now, write_date=now, create_uid=call.uid, write_uid=call.uid)
        self._prepare_create(rec, vals, call)
        self._check_required(rec)
        self.next_id += 1
        self.records[rec["id"]] = rec
        self._index_add(rec)
        self._write_unstored(rec, vals, call)
        self._after_create(rec, vals, call)
        self.db.changed()
        return int(rec["id"])

    def write_records(self, call: Call, ids: list[int], vals: dict[str, Any]) -> None:
        """Write client values on records (stamping ``write_date``)."""
        if not isinstance(vals, dict):
            raise TypeError(f"write() expects a dict of values, got {type(vals).__name__}")
        self._check_names(vals)
        recs = self.browse(ids)
        self._before_write(recs, vals, call)
        now = self.db.now()
        for rec in recs:
            before = {name: rec.get(name) for name in self._tracked}
            self._index_remove(rec)
            for name, value in vals.items():
                field = self.fields[name]
                if field.store and name not in MAGIC_FIELDS:
                    rec[name] = self._convert(field, value, rec.get(name, []), call)
            self._index_add(rec)
            rec["write_date"], rec["write_uid"] = now, call.uid
            self._check_required(rec)
            self._write_unstored(rec, vals, call)
            self._after_write(rec, vals, call)
            if any(before[name] != rec.get(name) for name in self._tracked):
                self.db.emit(Change(self._name, rec, before))
        self.db.changed()

    def unlink_records(self, call: Call, ids: list[int]) -> None:
        """Delete records; one2many children are deleted too when their inverse is required, else detached."""
        recs = self.browse(ids)
        self._before_unlink(recs, call)
        for rec in recs:
            for field in self.fields.values():
                if field.type == "one2many":
                    self._detach_children(call, field, rec["id"], delete=False)
            self._index_remove(rec)
            del self.records[rec["id"]]
        self.db.changed()

    # Hooks for models ---------------------------------------------------------------------------

    def _prepare_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        """Fill values that depend on others before a new record is validated."""

    def _after_create(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        """React to a new record (its relations are written)."""

    def _before_write(self, recs: list[dict[str, Any]], vals: dict[str, Any], call: Call) -> None:
        """Refuse a write (UserError...) before anything changes."""

    def _after_write(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        """React to a written record."""

    def _before_unlink(self, recs: list[dict[str, Any]], call: Call) -> None:
        """Refuse a deletion before anything changes."""

    def _check_access(self, call: Call, operation: str) -> None:
        """Raise AccessError if the calling user may not ``operation`` (read/write/create/unlink)."""
        user = self.db.models["res.users"].records.get(call.uid, {})
        if operation != "read" and user.get("_read_only"):
            raise AccessError(
                f"You are not allowed to {'modify' if operation == 'write' else operation} "
                f"'{self._description}' ({self._name}) records.\n\n"
                "This operation is allowed for the following groups:\n\t- Administration/Settings"
            )

    # Internals ----------------------------------------------------------------------------------

    def _check_names(self, vals: dict[str, Any]) -> None:
        for name in vals:
            if name not in self.fields:
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")

    def _check_required(self, rec: dict[str, Any]) -> None:
        for field in self._stored:
            if field.required and field.type != "boolean" and rec.get(field.name) in (False, None, ""):
                raise ValidationError(
                    "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
                    f"\nModel: {self._description} ({self._name})\nField: {field.string} ({field.name})"
                )

    def _check_ids(self, relation: str, ids: list[int]) -> None:
        targets = self.db[relation].records
        for target in ids:
            if target not in targets:
                raise ValidationError(
                    f"The operation cannot be completed: {relation} record {target} does not exist "
                    f"(referenced from {self._name})."
                )

    def _convert(self, field: Field, value: Any, current: list[int], call: Call) -> Any:
        if field.type == "many2many":
            return self._many2many_value(field, value, current, call)
        converted = field.convert(value)
        if field.type == "many2one" and converted:
            self._check_ids(str(field.relation), [converted])
        return converted

    def _index_add(self, rec: dict[str, Any]) -> None:
        for fname, index in self._index.items():
            target = rec.get(fname)
            if target:
                index.setdefault(target, set()).add(rec["id"])

    def _index_remove(self, rec: dict[str, Any]) -> None:
        for fname, index in self._index.items():
            target = rec.get(fname)
            if target and target in index:
                index[target].discard(rec["id"])

    def _write_unstored(self, rec: dict[str, Any], vals: dict[str, Any], call: Call) -> None:
        for name, value in vals.items():
            field = self.fields[name]
            if field.store or name in MAGIC_FIELDS:
                continue
            if field.related:
                link, rest = field.related.split(".", 1)
                if rec.get(link):
                    self.db[str(self.fields[link].relation)].write_records(call, [rec[link]], {rest: value})
            elif field.type == "one2many":
                self._one2many_commands(call, field, rec, value)
            elif field.inverse:
                getattr(self, field.inverse)(rec, value, call)

    def _detach_children(self, call: Call, field: Field, parent: int, *, delete: bool, only: int | None = None) -> None:
        comodel = self.db[str(field.relation)]
        inverse = str(field.inverse_name)
        children = [only] if only is not None else sorted(comodel.referencing(inverse, parent))
        if not children:
            return
        if delete or comodel.fields[inverse].required:
            comodel.unlink_records(call, [c for c in children if c in comodel.records])
        else:
            comodel.write_records(call, children, {inverse: False})

    def _one2many_commands(self, call: Call, field: Field, rec: dict[str, Any], commands: Any) -> None:
        comodel, inverse, parent = self.db[str(field.relation)], str(field.inverse_name), rec["id"]
        for code, target, vals in _commands(commands):
            if code == 0:
                comodel.create_record(call, {**vals, inverse: parent})
            elif code == 1:
                comodel.write_records(call, [target], vals)
            elif code == 2:
                comodel.unlink_records(call, [target])
            elif code == 3:
                self._detach_children(call, field, parent, delete=False, only=target)
            elif code == 4:
                comodel.write_records(call, [target], {inverse: parent})
            elif code == 5:
                self._detach_children(call, field, parent, delete=False)
            elif code == 6:
                keep = set(vals)
                for child in sorted(comodel.referencing(inverse, parent) - keep):
                    self._detach_children(call, field, parent, delete=False, only=child)
                if vals:
                    comodel.write_records(call, list(vals), {inverse: parent})

    def _many2many_value(self, field: Field, value: Any, current: list[int], call: Call) -> list[int]:
        relation = str(field.relation)
        ids = list(current)
        for code, target, vals in _commands(value):
            if code == 0:
                ids.append(self.db[relation].create_record(call, vals))
            elif code == 1:
                self.db[relation].write_records(call, [target], vals)
            elif code in (2, 3):
                if code == 2:
                    self.db[relation].unlink_records(call, [target])
                ids = [i for i in ids if i != target]
            elif code == 4:
                self._check_ids(relation, [target])
                ids = ids if target in ids else [*ids, target]
            elif code == 5:
                ids = []
            elif code == 6:
                self._check_ids(relation, list(vals))
                ids = list(dict.fromkeys(vals))
        return ids


def _commands(value: Any) -> list[tuple[int, int, Any]]:
    """Normalise x2many commands (full and short forms, or a bare id list meaning SET)."""
    if value is False or value is None:
        return [(5, 0, None)]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"Invalid x2many value {value!r}")
    if all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        return [(6, 0, [int(i) for i in value])]
    normalised = []
    for command in value:
        if not isinstance(command, (list, tuple)) or not command:
            raise ValueError(f"Invalid x2many command {command!r}")
        code = int(command[0])
        target = int(command[1]) if len(command) > 1 and command[1] else 0
        payload = command[2] if len(command) > 2 else None
        if code in (0, 1) and not isinstance(payload, dict):
            raise ValueError(f"Invalid x2many command {command!r}")
        if code == 6:
            payload = [int(i) for i in (payload or [])]
        if code not in range(7):
            raise ValueError(f"Invalid x2many command {command!r}")
        normalised.append((code, target, payload))
    return normalised
