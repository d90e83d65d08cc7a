"""Inbound webhooks: authenticate the raw body, then record each event once and queue its durable run.

Any integration receiving calls from another system uses the same three moves, in this order:

1. authenticate the **raw** body before parsing it, with a shared secret, in one of two forms:
   :func:`verify_signature` (``HMAC-SHA256`` of ``"<timestamp>.<raw body>"``, hex, with a
   timestamp tolerance against replays of old captures) or :func:`verify_token` (a token on the
   URL, compared in constant time, for senders that cannot sign). Failures raise
   :class:`WebhookRejected` (401 ``unauthorized``); an empty secret refuses every call;
2. parse it (a malformed body: the caller counts it with :func:`count_rejection` and answers 400);
3. :func:`accept_event`: in **one** transaction insert the :class:`~core.models.WebhookEvent` row
   (its primary key is the event id: the replay guard, also between concurrent deliveries) and
   create the durable run that handles the event, submitted once committed. A replayed event id
   changes nothing but the row's ``deliveries`` count.

Every outcome is counted per source in this process (:func:`webhook_figures`), rejections by
reason, for the dashboard. :func:`sign` makes a signature the way a sender must (for senders and
tests).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.errors import Unauthorized
from core.models import WebhookEvent
from core.workflows.durable import Engine
from core.workflows.engine import Workflow

__all__ = [
    "SIGNATURE_SCHEME",
    "WebhookFigures",
    "WebhookReceipt",
    "WebhookRejected",
    "accept_event",
    "body_event_id",
    "count_rejection",
    "sign",
    "verify_signature",
    "verify_token",
    "webhook_figures",
]

log = logging.getLogger(__name__)

SIGNATURE_SCHEME = "sha256"


# -------------------------------------------------------------------------------------------------
# Figures
# -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class WebhookFigures:
    """Deliveries of one source since the process started: accepted, replayed, rejected by reason."""

    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


_figures: dict[str, WebhookFigures] = {}


def _figures_of(source: str) -> WebhookFigures:
    return _figures.setdefault(source, WebhookFigures())


def webhook_figures() -> dict[str, WebhookFigures]:
    """A copy of the figures of every source that received a delivery, by source name."""
    return {
        source: WebhookFigures(figures.accepted, figures.duplicates, Counter(figures.rejected))
        for source, figures in _figures.items()
    }


def count_rejection(source: str, reason: str) -> None:
    """Count a delivery of ``source`` refused for ``reason`` (``malformed``, ``bad_signature``...)."""
    _figures_of(source).rejected[reason] += 1
    log.warning("webhook delivery rejected", extra={"source": source, "reason": reason})


# -------------------------------------------------------------------------------------------------
# Authentication
# -------------------------------------------------------------------------------------------------


class WebhookRejected(Unauthorized):
    """A delivery whose credentials are missing, wrong or stale (401), counted as rejected.

    :param source: the sending system's name (``erp``).
    :param reason: a short machine reason (``not_configured``, ``missing_signature``,
        ``malformed_signature``, ``bad_signature``, ``stale_timestamp``, ``missing_token``,
        ``bad_token``).
    """

    def __init__(self, source: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.source = source
        self.reason = reason


def _reject(source: str, reason: str, message: str) -> WebhookRejected:
    count_rejection(source, reason)
    return WebhookRejected(source, reason, message)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value of ``body`` sent at ``timestamp``: ``sha256=<hex HMAC>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


def _require_secret(source: str, secret: str, setting: str) -> None:
    if not secret:
        raise _reject(
            source, "not_configured", f"Webhooks from {source} are refused: {setting} is not configured"
        )


def verify_signature(
    *,
    source: str,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    tolerance_seconds: float,
    setting: str = "the webhook secret",
    now: float | None = None,
) -> int:
    """Check ``signature`` (``sha256=<hex>``) of ``"<timestamp>.<body>"``; return the timestamp.

    The timestamp (unix seconds) must be within ``tolerance_seconds`` of ``now`` (either way).

    :param setting: the configuration key of the secret, named when it is empty.
    :raises WebhookRejected: when the secret is empty or the headers are missing, malformed,
        wrong or stale.
    """
    _require_secret(source, secret, setting)
    if not timestamp or not signature:
        raise _reject(source, "missing_signature", "Missing webhook timestamp or signature header")
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise _reject(source, "malformed_signature", "The webhook timestamp is not unix seconds") from None
    scheme, _, given = signature.strip().partition("=")
    if scheme != SIGNATURE_SCHEME or not given:
        raise _reject(
            source, "malformed_signature", f"The webhook signature must read {SIGNATURE_SCHEME}=<hex digest>"
        )
    expected = sign(secret, sent_at, body).encode()
    if not hmac.compare_digest(expected, f"{SIGNATURE_SCHEME}={given.lower()}".encode()):
        raise _reject(source, "bad_signature", "The webhook signature does not match the body")
    age = (time.time() if now is None else now) - sent_at
    if abs(age) > tolerance_seconds:
        raise _reject(
            source,
            "stale_timestamp",
            f"The webhook timestamp is {abs(age):.0f} s {'old' if age > 0 else 'ahead'}, "
            f"more than the {tolerance_seconds:g} s tolerated",
        )
    return sent_at


def verify_token(*, source: str, secret: str, token: str | None, setting: str = "the webhook secret") -> None:
    """Check a token sent on the URL against ``secret``, in constant time.

    :raises WebhookRejected: when the secret is empty or the token is missing or wrong.
    """
    _require_secret(source, secret, setting)
    if not token:
        raise _reject(source, "missing_token", "Missing webhook token (?token=...)")
    if not hmac.compare_digest(token.encode(), secret.encode()):
        raise _reject(source, "bad_token", "The webhook token is wrong")


def body_event_id(body: bytes) -> str:
    """The event id of a body carrying none: its SHA-256, hex (the same body is the same event)."""
    return hashlib.sha256(body).hexdigest()


# -------------------------------------------------------------------------------------------------
# Recording
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """What became of a delivery: its event's run, and whether the event had been received before."""

    event_id: str
    run_id: str | None
    duplicate: bool
    first_received_at: datetime | None = None  # a duplicate: when the event was first received


async def accept_event(
    engine: Engine,
    *,
    source: str,
    kind: str,
    event_id: str,
    subject: str | None,
    workflow: Workflow[Any, Any],
    input: Any,
    run_id: str,
) -> WebhookReceipt:
    """Record event ``event_id`` and create its durable run ``run_id``, once.

    A new event: its row and its run are inserted in one transaction, then the run is submitted.
    An event received before (also one being accepted concurrently): only its ``deliveries``
    count grows, and the receipt says ``duplicate``.
    """
    figures = _figures_of(source)
    try:
        async with in_transaction():
            await WebhookEvent.create(event_id=event_id, source=source, kind=kind, subject=subject, run_id=run_id)
            record = await engine.start(workflow, input, run_id=run_id)
    except IntegrityError:
        return await _replayed(event_id, figures)
    figures.accepted += 1
    if record.state == "pending":
        await engine.submit(run_id)
    return WebhookReceipt(event_id, run_id, duplicate=False)


async def _replayed(event_id: str, figures: WebhookFigures) -> WebhookReceipt:
    await WebhookEvent.filter(event_id=event_id).update(
        deliveries=F("deliveries") + 1, last_received_at=timezone.now()
    )
    existing = await WebhookEvent.get_or_none(event_id=event_id)
    if existing is None:  # not a replay: the insert failed for another reason
        raise RuntimeError(f"webhook event {event_id} could not be recorded")
    figures.duplicates += 1
    return WebhookReceipt(event_id, existing.run_id, duplicate=True, first_received_at=existing.received_at)
