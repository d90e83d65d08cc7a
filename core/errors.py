"""Errors the server raises, shaped like Medusa's ``MedusaError``.

Every domain error carries a Medusa error ``type``, an HTTP status and a message; one middleware
(:mod:`core.api.middleware`) turns them into ``{"type", "message"[, "code"]}`` bodies. Failures the
workflow engine should retry (:class:`RetryableError` and its subclasses) are a different family
from permanent ones, so the engine never has to guess.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CommerceError",
    "ConfigError",
    "Conflict",
    "DuplicateError",
    "ErpUnavailable",
    "Forbidden",
    "InvalidData",
    "NotAllowed",
    "NotFound",
    "PermanentError",
    "RetryableError",
    "TooManyRequests",
    "Unauthorized",
]


class CommerceError(Exception):
    """Base of every error with a Medusa error body.

    :param message: human readable, shown to API clients as ``message``.
    :param code: optional machine code (``insufficient_inventory``, ``invalid_state_error``...).
    """

    type: str = "unknown_error"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers for this error (none by default)."""
        return {}

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            body["code"] = self.code
        return body


class InvalidData(CommerceError):
    """The request is well-formed JSON but its content is not acceptable (400)."""

    type = "invalid_data"
    status = 400


class NotAllowed(CommerceError):
    """A business rule refuses the operation (400), e.g. a purchase restriction or missing stock."""

    type = "not_allowed"
    status = 400


class NotFound(CommerceError):
    """The addressed resource does not exist or is not visible to the caller (404)."""

    type = "not_found"
    status = 404


class Unauthorized(CommerceError):
    """Missing or invalid credentials (401)."""

    type = "unauthorized"
    status = 401


class TooManyRequests(CommerceError):
    """Too many attempts from one client or for one account (429, with ``Retry-After``).

    :param retry_after: whole seconds until an attempt is accepted again.
    """

    type = "not_allowed"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts, try again in {retry_after} seconds")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Forbidden(CommerceError):
    """Valid credentials that do not grant this action (403)."""

    type = "forbidden"
    status = 403


class DuplicateError(CommerceError):
    """A unique value is already taken (422, Medusa's ``duplicate_error``)."""

    type = "duplicate_error"
    status = 422

    def __init__(self, message: str, *, code: str | None = "invalid_request_error") -> None:
        super().__init__(message, code=code)


class Conflict(CommerceError):
    """Another request holds the resource (409); the client may retry."""

    type = "conflict"
    status = 409

    def __init__(self, message: str, *, code: str | None = "invalid_state_error") -> None:
        super().__init__(message, code=code)


class RetryableError(CommerceError):
    """A transient failure: the workflow engine retries the step with backoff.

    :param retry_after: the least number of seconds before trying again (the engine waits the
        longer of this and its backoff), e.g. until a call whose answer was lost has surely ended.
    """

    type = "unexpected_state"
    status = 503

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ErpUnavailable(RetryableError):
    """The ERP could not be reached or answered with a transient error (503 to API clients)."""


class PermanentError(CommerceError):
    """A failure retrying cannot fix: the workflow engine compensates at once."""

    type = "unexpected_state"
    status = 500


class ConfigError(Exception):
    """The configuration is invalid; raised at start-up with the offending key in the message.

    :param key: dotted path of the key (``server.port``), or ``None`` for file-level problems.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
