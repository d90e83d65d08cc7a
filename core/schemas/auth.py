"""Request/response models of the ``/auth`` routes (Medusa's emailpass provider)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EmailPassBody",
    "TokenResponse",
]

MAX_PASSWORD_LENGTH = 1024


class EmailPassBody(BaseModel):
    """Credentials for registering or logging in with the ``emailpass`` provider."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class TokenResponse(BaseModel):
    """A bearer JWT with ``actor_id`` (empty until bound), ``actor_type`` and ``auth_identity_id``."""

    token: str
