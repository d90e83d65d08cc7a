"""Email addresses: the one normal form (trimmed, lower case) and the one validity check."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from core.errors import InvalidData

__all__ = [
    "MAX_EMAIL_LENGTH",
    "EmailAddress",
    "checked_email",
    "normalise_email",
]

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_email(email: str) -> str:
    """``email`` trimmed and lower-cased (the form identities, customers and carts store)."""
    return email.strip().lower()


def _is_valid(normalised: str) -> bool:
    return len(normalised) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(normalised) is not None


def checked_email(email: str) -> str:
    """The normal form of ``email``.

    :raises InvalidData: when it is not a plausible address.
    """
    normalised = normalise_email(email)
    if not _is_valid(normalised):
        raise InvalidData(f"'{email}' is not a valid email address")
    return normalised


def _validate(value: str) -> str:
    normalised = normalise_email(value)
    if not _is_valid(normalised):
        raise ValueError("Invalid email")
    return normalised


# A pydantic field type: validated and normalised on input.
EmailAddress = Annotated[str, AfterValidator(_validate)]
