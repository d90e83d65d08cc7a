"""Authentication: passwords and API keys of ``res.users``, the login cooldown, web sessions.

As in Odoo, ``common.login``/``authenticate`` answer ``False`` for bad credentials (and during a
cooldown), object calls with a bad uid or password raise ``AccessDenied``, and after
``cooldown_after`` failed logins of one login further logins are refused for
``cooldown_seconds`` ("Too many login failures, please wait a bit before trying again.").
API keys are accepted for RPC calls but not for the interactive ``/web/session/authenticate``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import AccessDenied, OperationalError
from .registry import Database

__all__ = [
    "COOLDOWN_MESSAGE",
    "Security",
    "Session",
]

COOLDOWN_MESSAGE = "Too many login failures, please wait a bit before trying again."


@dataclass
class Session:
    """A ``/web`` session (cookie ``session_id``)."""

    sid: str
    uid: int
    login: str
    db: str


@dataclass
class Security:
    """Checks credentials against the users of ``db`` and keeps web sessions."""

    db: Database
    cooldown_after: int = 5
    cooldown_seconds: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    sessions: dict[str, Session] = field(default_factory=dict)
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def check_db(self, name: Any) -> None:
        """Raise as PostgreSQL would if ``name`` is not this database."""
        if name != self.db.name:
            raise OperationalError(f'connection to server failed: FATAL:  database "{name}" does not exist')

    def _user(self, login: str) -> dict[str, Any] | None:
        for user in self.db.models["res.users"].records.values():
            if user["login"] == login and user["active"]:
                return user
        return None

    def authenticate(self, db_name: Any, login: Any, password: Any, *, interactive: bool = False) -> int:
        """The uid for these credentials; raises AccessDenied (also during a cooldown)."""
        self.check_db(db_name)
        login = str(login)
        count, since = self._failures.get(login, (0, 0.0))
        if count >= self.cooldown_after and self.monotonic() - since < self.cooldown_seconds:
            raise AccessDenied(COOLDOWN_MESSAGE)
        user = self._user(login)
        if user is None or not self._valid(user, password, interactive=interactive):
            count = count + 1 if self.monotonic() - since < self.cooldown_seconds else 1
            self._failures[login] = (count, self.monotonic() if count == 1 else since)
            raise AccessDenied()
        self._failures.pop(login, None)
        return int(user["id"])

    def check(self, db_name: Any, uid: Any, password: Any) -> None:
        """Raise AccessDenied unless ``uid`` and ``password`` (or an API key) match an active user."""
        self.check_db(db_name)
        user = self.db.models["res.users"].records.get(uid) if isinstance(uid, int) else None
        if user is None or not user["active"] or not self._valid(user, password, interactive=False):
            raise AccessDenied()

    @staticmethod
    def _valid(user: dict[str, Any], password: Any, *, interactive: bool) -> bool:
        if not isinstance(password, str) or not password:
            return False
        if secrets.compare_digest(password, str(user.get("_password", ""))):
            return True
        return not interactive and any(secrets.compare_digest(password, key) for key in user.get("_api_keys", ()))

    def open_session(self, uid: int, login: str) -> Session:
        """A new web session for ``uid``."""
        session = Session(secrets.token_hex(20), uid, login, self.db.name)
        self.sessions[session.sid] = session
        return session

    def session(self, sid: str | None) -> Session | None:
        """The session of a cookie value, if it is still open."""
        return self.sessions.get(sid or "")
