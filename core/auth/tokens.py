"""JWTs in Medusa's shape: ``actor_id``, ``actor_type``, ``auth_identity_id``, ``app_metadata``.

Signed with HS256 and ``[auth] jwt_secret``; they expire after ``[auth] jwt_ttl_seconds``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from core.config import AuthSettings

__all__ = [
    "AuthContext",
    "decode_token",
    "issue_token",
]


@dataclass(frozen=True)
class AuthContext:
    """Who a bearer token speaks for. ``actor_id`` is ``""`` for an actor-less (just registered) token."""

    actor_id: str
    actor_type: str
    auth_identity_id: str
    app_metadata: dict[str, Any] = field(default_factory=dict)


def issue_token(settings: AuthSettings, context: AuthContext) -> str:
    now = int(time.time())
    claims = {
        "actor_id": context.actor_id,
        "actor_type": context.actor_type,
        "auth_identity_id": context.auth_identity_id,
        "auth_provider": "emailpass",
        "app_metadata": context.app_metadata,
        "user_metadata": {},
        "iat": now,
        "exp": now + settings.jwt_ttl_seconds,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(settings: AuthSettings, token: str) -> AuthContext | None:
    """The context of a valid, unexpired token; None for anything else."""
    try:
        claims = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], options={"require": ["exp", "iat"]}
        )
        return AuthContext(
            actor_id=str(claims.get("actor_id") or ""),
            actor_type=str(claims["actor_type"]),
            auth_identity_id=str(claims["auth_identity_id"]),
            app_metadata=dict(claims.get("app_metadata") or {}),
        )
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
