"""Admin users: creation with an emailpass identity (used by the CLI and the seed)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from core.auth.passwords import hash_password
from core.emails import checked_email
from core.errors import DuplicateError, InvalidData
from core.models import AuthIdentity, User

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "create_admin_user",
]

MIN_PASSWORD_LENGTH = 8


async def create_admin_user(email: str, password: str) -> User:
    """Create an admin user who logs in at ``POST /auth/user/emailpass``.

    :raises InvalidData: for an empty email or a password shorter than 8 characters.
    :raises DuplicateError: when a user with this email exists.
    """
    email = checked_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData(f"The password must have at least {MIN_PASSWORD_LENGTH} characters")
    if await User.exists(email=email):
        raise DuplicateError(f"User with email: {email}, already exists.")
    async with in_transaction():
        user = await User.create(email=email)
        await AuthIdentity.create(
            entity_id=email, actor_type="user", actor_id=user.id, password_hash=hash_password(password)
        )
    return user
