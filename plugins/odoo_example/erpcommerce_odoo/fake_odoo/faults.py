"""Fault injection: the reference's fault matrix, a global error rate and added latency.

Faults are switched on by name, optionally for the next ``times`` calls only (then they clear
themselves), only for one ``model``/``method`` (transport faults read the object call from the
request body) and only under one path prefix (transport faults). Everything can be changed at
run time (``POST /fake/faults``, see :mod:`.admin`) and from the command line
(``--fault serialization_failure:times=2,model=sale.order``).

RPC faults (raised inside object calls, answered in each protocol's own error format):
``access_denied``, ``access_error``, ``validation_error``, ``missing_record``,
``serialization_failure``. Login faults: ``auth_fail_login`` (``login`` answers False, the web
login raises AccessDenied) and ``login_cooldown``. Web faults: ``session_expired`` (code 100 on
``/web/dataset/call_kw`` and ``/web/session/get_session_info``). XML-RPC: ``none_result_xmlrpc``
(an object call returns None, which Odoo cannot marshal: fault 1). Transport faults (a
middleware): ``slow`` (waits ``seconds``), ``http_502`` (nginx-style HTML page), ``http_429``,
``invalid_json`` (the body is cut in half).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from .errors import AccessDenied, AccessError, MissingError, SerializationFailure, ValidationError

__all__ = [
    "FAULT_NAMES",
    "RPC_FAULTS",
    "TRANSPORT_FAULTS",
    "Fault",
    "Faults",
    "parse_fault",
]

RPC_FAULTS = ("access_denied", "access_error", "validation_error", "missing_record", "serialization_failure")
TRANSPORT_FAULTS = ("slow", "http_502", "http_429", "invalid_json")
FAULT_NAMES = frozenset({
    *RPC_FAULTS, *TRANSPORT_FAULTS, "auth_fail_login", "login_cooldown", "session_expired", "none_result_xmlrpc",
})


@dataclass
class Fault:
    """One switched-on fault.

    :param times: how many more times it fires (None: until cleared).
    :param model: RPC faults only fire for this model (None: any).
    :param method: RPC faults only fire for this method (None: any).
    :param path: transport faults only fire under this path prefix (None: every RPC endpoint).
    :param seconds: how long ``slow`` waits.
    """

    name: str
    times: int | None = None
    model: str | None = None
    method: str | None = None
    path: str | None = None
    seconds: float = 5.0

    def matches(self, model: str | None, method: str | None, path: str | None) -> bool:
        """Whether the fault applies to this call."""
        return (
            (self.model is None or self.model == model)
            and (self.method is None or self.method == method)
            and (self.path is None or path is None or path.startswith(self.path))
        )


def parse_fault(spec: str) -> Fault:
    """A fault from its command-line form ``name[:key=value,...]``."""
    name, _, options = spec.partition(":")
    values: dict[str, Any] = {}
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        values[key.strip()] = value.strip()
    return _fault(name.strip(), values)


def _fault(name: str, options: dict[str, Any]) -> Fault:
    if name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULT_NAMES))}")
    unknown = set(options) - {"times", "model", "method", "path", "seconds"}
    if unknown:
        raise ValueError(f"unknown fault options {sorted(unknown)}")
    times = options.get("times")
    return Fault(
        name,
        times=None if times in (None, "") else int(times),
        model=options.get("model") or None,
        method=options.get("method") or None,
        path=options.get("path") or None,
        seconds=float(options.get("seconds", 5.0)),
    )


class Faults:
    """The faults switched on, the global error rate and the added latency.

    :param error_rate: the share of RPC requests (0-1) answered with ``error_fault`` instead.
    :param latency: seconds added to every RPC request.
    :param seed: seeds the random draws of the error rate (deterministic runs).
    """

    def __init__(self, *, error_rate: float = 0.0, error_fault: str = "http_502", latency: float = 0.0,
                 seed: int = 0) -> None:
        self.active: dict[str, Fault] = {}
        self.error_rate = error_rate
        self.error_fault = error_fault
        self.latency = latency
        self.fired: dict[str, int] = {}
        self._random = random.Random(seed)

    def set(self, name: str, **options: Any) -> Fault:
        """Switch a fault on (replacing its previous settings)."""
        fault = _fault(name, options)
        self.active[name] = fault
        return fault

    def add(self, fault: Fault) -> None:
        """Switch on a parsed fault."""
        self.active[fault.name] = fault

    def clear(self, name: str | None = None) -> None:
        """Switch one fault, or all of them (and the error rate and latency), off."""
        if name is not None:
            self.active.pop(name, None)
            return
        self.active.clear()
        self.error_rate = 0.0
        self.latency = 0.0

    def trip(self, name: str, *, model: str | None = None, method: str | None = None,
             path: str | None = None) -> Fault | None:
        """The fault if it fires for this call (counting it down), else None."""
        fault = self.active.get(name)
        if fault is None or not fault.matches(model, method, path):
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                del self.active[name]
        self.fired[name] = self.fired.get(name, 0) + 1
        return fault

    def draw_error(self) -> str | None:
        """The transport fault the global error rate picks for this request, if any."""
        if self.error_rate > 0 and self._random.random() < self.error_rate:
            self.fired[self.error_fault] = self.fired.get(self.error_fault, 0) + 1
            return self.error_fault
        return None

    def raise_rpc(self, model: str, method: str) -> None:
        """Raise the first RPC fault that fires for ``model.method``."""
        for name in RPC_FAULTS:
            if self.trip(name, model=model, method=method):
                raise _rpc_error(name, model, method)

    def to_dict(self) -> dict[str, Any]:
        """The state, as the admin endpoint shows it."""
        return {
            "faults": {name: {k: v for k, v in asdict(f).items() if k != "name"} for name, f in self.active.items()},
            "error_rate": self.error_rate,
            "error_fault": self.error_fault,
            "latency": self.latency,
            "fired": dict(self.fired),
        }

    def update(self, payload: dict[str, Any]) -> None:
        """Apply an admin request: ``{"reset": bool, "faults": {name: {options} | true | null},
        "error_rate": float, "error_fault": name, "latency": float}``."""
        if payload.get("reset"):
            self.clear()
        for name, options in (payload.get("faults") or {}).items():
            if options is None or options is False:
                self.clear(name)
            else:
                self.add(_fault(name, options if isinstance(options, dict) else {}))
        if "error_rate" in payload:
            self.error_rate = float(payload["error_rate"])
        if "error_fault" in payload:
            if payload["error_fault"] not in TRANSPORT_FAULTS:
                raise ValueError(f"error_fault must be one of {TRANSPORT_FAULTS}")
            self.error_fault = payload["error_fault"]
        if "latency" in payload:
            self.latency = float(payload["latency"])


def _rpc_error(name: str, model: str, method: str) -> Exception:
    if name == "access_denied":
        return AccessDenied()
    if name == "access_error":
        return AccessError(
            f"You are not allowed to access '{model}' ({model}) records.\n\n"
            "This operation is allowed for the following groups:\n\t- Sales/Administrator"
        )
    if name == "validation_error":
        return ValidationError(f"The operation cannot be completed: {model}.{method} was refused (injected fault).")
    if name == "missing_record":
        return MissingError(f"Record does not exist or has been deleted.\n(Record: {model}(0,), User: 2)")
    return SerializationFailure()
