"""core.webhooks: signatures and tokens checked on the raw body, each event recorded and run once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import pluggy
import pytest
from pydantic import BaseModel

from core.config import Settings
from core.models import WebhookEvent, WorkflowRunRecord
from core.webhooks import (
    WebhookReceipt,
    WebhookRejected,
    accept_event,
    body_event_id,
    count_rejection,
    sign,
    verify_signature,
    verify_token,
    webhook_figures,
)
from core.workflows.durable import Engine
from core.workflows.engine import step, workflow
from workflows.durable_support import RecordingExecutor  # tests/ is on sys.path

SECRET = "whsec-core-0123456789abcdef"
BODY = b'{"event_id":"evt_1","type":"order.updated"}'
NOW = 1_700_000_000


class Ping(BaseModel):
    value: str


@step("record-ping")
async def record_ping(ping: Ping) -> str:
    return ping.value


@workflow("test-webhook-ping", durable=True)
async def ping_flow(ping: Ping) -> str:
    return await record_ping(ping)


def rejected_count(source: str, reason: str) -> int:
    figures = webhook_figures().get(source)
    return 0 if figures is None else figures.rejected[reason]


def check(signature: str | None, timestamp: str | None = str(NOW), *, secret: str = SECRET, now: float = NOW) -> int:
    return verify_signature(
        source="core-test",
        secret=secret,
        timestamp=timestamp,
        signature=signature,
        body=BODY,
        tolerance_seconds=300,
        setting="[erp] webhook_secret",
        now=now,
    )


# -------------------------------------------------------------------------------------------------
# Signatures
# -------------------------------------------------------------------------------------------------


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"


def test_a_valid_signature_returns_its_timestamp() -> None:
    assert check(sign(SECRET, NOW, BODY)) == NOW
    assert check(sign(SECRET, NOW, BODY).upper().replace("SHA256=", "sha256="), now=NOW + 299) == NOW
    assert check(sign(SECRET, NOW, BODY), now=NOW - 299) == NOW  # a sender's clock slightly ahead


@pytest.mark.parametrize(
    ("signature", "timestamp", "now", "reason", "message"),
    [
        (None, str(NOW), NOW, "missing_signature", "Missing webhook timestamp or signature header"),
        (sign(SECRET, NOW, BODY), None, NOW, "missing_signature", "Missing webhook timestamp or signature header"),
        (sign(SECRET, NOW, BODY), "yesterday", NOW, "malformed_signature", "not unix seconds"),
        ("md5=abc", str(NOW), NOW, "malformed_signature", "must read sha256=<hex digest>"),
        ("sha256=", str(NOW), NOW, "malformed_signature", "must read sha256=<hex digest>"),
        (sign("another-secret", NOW, BODY), str(NOW), NOW, "bad_signature", "does not match the body"),
        (sign(SECRET, NOW + 1, BODY), str(NOW), NOW, "bad_signature", "does not match the body"),
        ("sha256=" + "é" * 64, str(NOW), NOW, "bad_signature", "does not match the body"),
        (sign(SECRET, NOW, BODY), str(NOW), NOW + 301, "stale_timestamp", "301 s old, more than the 300 s tolerated"),
        (sign(SECRET, NOW, BODY), str(NOW), NOW - 400, "stale_timestamp", "400 s ahead"),
    ],
)
def test_bad_signatures_are_rejected_and_counted(
    signature: str | None, timestamp: str | None, now: int, reason: str, message: str
) -> None:
    before = rejected_count("core-test", reason)
    with pytest.raises(WebhookRejected) as caught:
        check(signature, timestamp, now=now)
    assert (caught.value.status, caught.value.type, caught.value.reason) == (401, "unauthorized", reason)
    assert message in caught.value.message
    assert rejected_count("core-test", reason) == before + 1


def test_a_signature_of_another_body_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="does not match the body"):
        verify_signature(
            source="core-test",
            secret=SECRET,
            timestamp=str(NOW),
            signature=sign(SECRET, NOW, BODY),
            body=BODY.replace(b"evt_1", b"evt_2"),
            tolerance_seconds=300,
            now=NOW,
        )


def test_an_empty_secret_refuses_every_call() -> None:
    with pytest.raises(WebhookRejected) as caught:
        check(sign("", NOW, BODY), secret="")
    assert caught.value.reason == "not_configured"
    assert caught.value.message == "Webhooks from core-test are refused: [erp] webhook_secret is not configured"
    with pytest.raises(WebhookRejected, match="is not configured"):
        verify_token(source="core-test", secret="", token="")


def test_the_default_tolerance_uses_the_clock() -> None:
    fresh = int(time.time())
    assert verify_signature(
        source="core-test", secret=SECRET, timestamp=str(fresh), signature=sign(SECRET, fresh, BODY), body=BODY,
        tolerance_seconds=300,
    ) == fresh


# -------------------------------------------------------------------------------------------------
# Tokens
# -------------------------------------------------------------------------------------------------


def test_the_right_token_passes() -> None:
    verify_token(source="core-test", secret=SECRET, token=SECRET)


@pytest.mark.parametrize(
    ("token", "reason"),
    [(None, "missing_token"), ("", "missing_token"), ("wrong", "bad_token"), (SECRET + "x", "bad_token"),
     ("ü" * 10, "bad_token")],
)
def test_wrong_tokens_are_rejected(token: str | None, reason: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_token(source="core-test", secret=SECRET, token=token)
    assert caught.value.reason == reason


def test_a_body_without_event_id_is_identified_by_its_hash() -> None:
    assert body_event_id(BODY) == hashlib.sha256(BODY).hexdigest()
    assert body_event_id(BODY) != body_event_id(BODY + b" ")


def test_figures_are_copies_by_source() -> None:
    count_rejection("core-figures", "malformed")
    figures = webhook_figures()["core-figures"]
    figures.rejected["malformed"] += 10
    assert webhook_figures()["core-figures"].rejected["malformed"] == 1


# -------------------------------------------------------------------------------------------------
# Recording events
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def executor() -> RecordingExecutor:
    return RecordingExecutor()


@pytest.fixture
def engine(settings: Settings, plugins: pluggy.PluginManager, db: None, executor: RecordingExecutor) -> Engine:
    engine = Engine(settings=settings, plugins=plugins)
    engine.executor = executor
    return engine


async def accept(engine: Engine, event_id: str, value: str = "x") -> WebhookReceipt:
    return await accept_event(
        engine,
        source="core-events",
        kind="ping",
        event_id=event_id,
        subject="thing_1",
        workflow=ping_flow,
        input=Ping(value=value),
        run_id=f"ping:{event_id}",
    )


async def test_a_new_event_is_recorded_with_its_run_then_submitted(engine: Engine, executor: RecordingExecutor) -> None:
    accepted_before = webhook_figures().get("core-events")
    receipt = await accept(engine, "evt_new")

    assert receipt == WebhookReceipt(event_id="evt_new", run_id="ping:evt_new", duplicate=False)
    assert executor.submitted == ["ping:evt_new"]
    event = await WebhookEvent.get(event_id="evt_new")
    assert (event.source, event.kind, event.subject, event.run_id, event.deliveries) == (
        "core-events", "ping", "thing_1", "ping:evt_new", 1
    )
    run = await WorkflowRunRecord.get(id="ping:evt_new")
    assert (run.workflow_name, run.state, run.input) == ("test-webhook-ping", "pending", {"value": "x"})
    assert await engine.execute("ping:evt_new") == "done"
    figures = webhook_figures()["core-events"]
    assert figures.accepted == (accepted_before.accepted if accepted_before else 0) + 1


async def test_a_replayed_event_only_counts_a_delivery(engine: Engine, executor: RecordingExecutor) -> None:
    await accept(engine, "evt_replayed", "first")
    first = await WebhookEvent.get(event_id="evt_replayed")

    receipt = await accept(engine, "evt_replayed", "second")

    assert receipt.duplicate
    assert receipt.run_id == "ping:evt_replayed"
    assert executor.submitted == ["ping:evt_replayed"]
    event = await WebhookEvent.get(event_id="evt_replayed")
    assert event.deliveries == 2
    assert event.last_received_at >= first.last_received_at
    assert (await WorkflowRunRecord.get(id="ping:evt_replayed")).input == {"value": "first"}
    assert await WorkflowRunRecord.all().count() == 1


async def test_concurrent_deliveries_of_one_event_make_one_run(engine: Engine, executor: RecordingExecutor) -> None:
    receipts = await asyncio.gather(*(accept(engine, "evt_race", str(i)) for i in range(4)))

    assert sorted(receipt.duplicate for receipt in receipts) == [False, True, True, True]
    assert executor.submitted == ["ping:evt_race"]
    assert (await WebhookEvent.get(event_id="evt_race")).deliveries == 4
    assert await WorkflowRunRecord.all().count() == 1
