"""Email/password identities and the customer accounts bound to them (Medusa's emailpass flow).

Registering creates an *actor-less* identity; ``POST /store/customers`` then creates the customer
and binds the identity to it (``AuthIdentity.actor_id``). Logging in yields the identity, bound or
not. Password hashing runs in a worker thread (scrypt releases the GIL), so it never blocks the
event loop; login does the same hashing work whether or not the email is known.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.auth.passwords import hash_password, verify_password
from core.auth.tokens import AuthContext
from core.emails import checked_email, normalise_email
from core.errors import DuplicateError, InvalidData, NotFound, Unauthorized
from core.models import AuthIdentity, Customer
from core.users import MIN_PASSWORD_LENGTH

__all__ = [
    "ACCOUNT_EXISTS",
    "ALREADY_AUTHENTICATED",
    "EMAIL_MISMATCH",
    "IDENTITY_EXISTS",
    "INVALID_CREDENTIALS",
    "authenticate",
    "create_customer_account",
    "get_account_customer",
    "identity_context",
    "refresh_context",
    "register_identity",
    "update_account_customer",
]

IDENTITY_EXISTS = "Identity with email already exists"
INVALID_CREDENTIALS = "Invalid email or password"
ALREADY_AUTHENTICATED = "Request already authenticated as a customer."
ACCOUNT_EXISTS = "Customer with this email already has an account"
EMAIL_MISMATCH = "The email must be the one the account was registered with"


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches in practice, verified when the email is unknown (equal timing)."""
    return hash_password("unknown-identity-dummy-password")


def _matches(password: str, stored: str | None) -> bool:
    """Verify against ``stored``, or against the dummy hash (and fail) when there is none."""
    if stored is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)


def identity_context(identity: AuthIdentity) -> AuthContext:
    """The token context of ``identity``: actor-less (``actor_id == ""``) until it is bound."""
    actor_id = identity.actor_id or ""
    app_metadata = {f"{identity.actor_type}_id": actor_id} if actor_id else {}
    return AuthContext(
        actor_id=actor_id,
        actor_type=identity.actor_type,
        auth_identity_id=identity.id,
        app_metadata=app_metadata,
    )


async def register_identity(actor_type: str, email: str, password: str) -> AuthIdentity:
    """Create an actor-less emailpass identity.

    :raises InvalidData: for a malformed email or a password shorter than 8 characters.
    :raises Unauthorized: when an identity with this email exists for ``actor_type`` (as Medusa).
    """
    entity_id = checked_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData(f"The password must have at least {MIN_PASSWORD_LENGTH} characters")
    if await AuthIdentity.exists(entity_id=entity_id, actor_type=actor_type):
        raise Unauthorized(IDENTITY_EXISTS)
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        return await AuthIdentity.create(
            entity_id=entity_id, actor_type=actor_type, actor_id=None, password_hash=password_hash
        )
    except IntegrityError:  # registered concurrently
        raise Unauthorized(IDENTITY_EXISTS) from None


async def authenticate(actor_type: str, email: str, password: str) -> AuthIdentity:
    """The identity these credentials open.

    :raises Unauthorized: ``Invalid email or password`` for an unknown email or a wrong password.
    """
    identity = await AuthIdentity.get_or_none(
        entity_id=normalise_email(email), actor_type=actor_type, provider="emailpass"
    )
    stored = identity.password_hash if identity is not None else None
    matches = await asyncio.to_thread(_matches, password, stored)
    if identity is None or not matches:
        raise Unauthorized(INVALID_CREDENTIALS)
    return identity


async def refresh_context(auth: AuthContext) -> AuthContext:
    """A fresh context for a token's identity, re-read (so it reflects a binding made since).

    :raises Unauthorized: when the identity no longer exists.
    """
    identity = await AuthIdentity.get_or_none(id=auth.auth_identity_id, actor_type=auth.actor_type)
    if identity is None:
        raise Unauthorized("Unauthorized")
    return identity_context(identity)


async def create_customer_account(auth: AuthContext, email: str | None, profile: dict[str, Any]) -> Customer:
    """Create the customer of a registered, still actor-less identity and bind the identity to it.

    :param email: defaults to the identity's email; when given it must be that email.
    :param profile: other customer fields (``first_name``, ``metadata``...).
    :raises InvalidData: the token or identity is already bound, or the email differs.
    :raises DuplicateError: a customer with this email already has an account.
    """
    if auth.actor_id:
        raise InvalidData(ALREADY_AUTHENTICATED)
    async with in_transaction() as conn:
        identity = (
            await AuthIdentity.select_for_update()
            .using_db(conn)
            .get_or_none(id=auth.auth_identity_id, actor_type="customer")
        )
        if identity is None:
            raise Unauthorized("Unauthorized")
        if identity.actor_id:
            raise InvalidData(ALREADY_AUTHENTICATED)
        if email is not None and normalise_email(email) != identity.entity_id:
            raise InvalidData(EMAIL_MISMATCH)
        taken = Customer.filter(email=identity.entity_id, has_account=True, deleted_at=None)
        if await taken.using_db(conn).exists():
            raise DuplicateError(ACCOUNT_EXISTS)
        customer = await Customer.create(using_db=conn, email=identity.entity_id, has_account=True, **profile)
        identity.actor_id = customer.id
        await identity.save(using_db=conn, update_fields=["actor_id", "updated_at"])
    return customer


async def get_account_customer(customer_id: str) -> Customer:
    """The (not deleted) customer a token is bound to.

    :raises NotFound: when it does not exist or was deleted.
    """
    customer = await Customer.get_or_none(id=customer_id, deleted_at=None)
    if customer is None:
        raise NotFound(f"Customer with id: {customer_id} was not found")
    return customer


async def update_account_customer(customer_id: str, changes: dict[str, Any]) -> Customer:
    """Apply profile ``changes`` (only the fields given) to the token's customer.

    :raises NotFound: when the customer does not exist or was deleted.
    """
    customer = await get_account_customer(customer_id)
    if changes:
        customer.update_from_dict(changes)
        await customer.save(update_fields=[*changes, "updated_at"])
    return customer
