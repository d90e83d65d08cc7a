"""Dashboard actions: retry a failed run, cancel a pending one; refusals change nothing."""

from __future__ import annotations

from aiohttp import web

from core.keys import ENGINE
from core.models import WorkflowRunRecord
from tests.dashboard.conftest import Dashboard
from tests.dashboard.dashboard_workflows import PAYMENT_WORKFLOW, Payment, PaymentSwitch
from tests.polling import wait_until

RUN_ID = "payment:order_1"


async def _state(run_id: str) -> str:
    return (await WorkflowRunRecord.get(id=run_id)).state


async def _failed_payment(app: web.Application) -> None:
    payment = Payment(order_id="order_1", amount=1250, card_token="tok_visa_secret")
    await app[ENGINE].start(PAYMENT_WORKFLOW, payment, run_id=RUN_ID)

    async def ended() -> bool:
        return await _state(RUN_ID) in ("failed", "reverted")

    await wait_until(ended)


async def test_retry_runs_a_failed_run_again_to_success(
    logged_in: Dashboard, app: web.Application, declining_card: type[PaymentSwitch]
) -> None:
    await _failed_payment(app)
    _, html = await logged_in.page(f"/dashboard/runs/{RUN_ID}")
    assert "card declined for order order_1" in html
    assert "hold_order_1" in declining_card.released  # the reservation was compensated
    assert "tok_visa_secret" not in html
    declining_card.declining = False
    response = await logged_in.act(f"/dashboard/runs/{RUN_ID}/retry")
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/runs/payment%3Aorder_1?done=retried"

    async def done() -> bool:
        return await _state(RUN_ID) == "done"

    await wait_until(done)
    _, html = await logged_in.page(f"/dashboard/runs/{RUN_ID}?done=retried")
    assert "Run retried." in html
    assert "sk_live_do_not_show" not in html


async def test_retry_without_csrf_token_is_403_and_changes_nothing(
    logged_in: Dashboard, app: web.Application, declining_card: type[PaymentSwitch]
) -> None:
    await _failed_payment(app)
    for token in ("", "forged-token"):
        response = await logged_in.act(f"/dashboard/runs/{RUN_ID}/retry", csrf=token)
        assert response.status == 403, token
    assert await _state(RUN_ID) in ("failed", "reverted")


async def test_retry_from_another_site_is_403(
    logged_in: Dashboard, app: web.Application, declining_card: type[PaymentSwitch]
) -> None:
    await _failed_payment(app)
    response = await logged_in.act(f"/dashboard/runs/{RUN_ID}/retry", headers={"Origin": "https://evil.example"})
    assert response.status == 403
    assert await _state(RUN_ID) in ("failed", "reverted")


async def test_actions_without_session_are_401(dashboard: Dashboard, app: web.Application,
                                               declining_card: type[PaymentSwitch]) -> None:
    await _failed_payment(app)
    response = await dashboard.act(f"/dashboard/runs/{RUN_ID}/retry", csrf="anything")
    assert response.status == 401
    assert await _state(RUN_ID) in ("failed", "reverted")


async def test_retry_of_a_run_that_did_not_fail_is_409(logged_in: Dashboard) -> None:
    await WorkflowRunRecord.create(id="done-run", workflow_name="w", state="done")
    response = await logged_in.act("/dashboard/runs/done-run/retry")
    assert response.status == 409
    assert "only failed, reverted or canceled runs can be retried" in await response.text()
    assert await _state("done-run") == "done"


async def test_actions_on_an_unknown_run_are_404(logged_in: Dashboard) -> None:
    for verb in ("retry", "cancel"):
        response = await logged_in.act(f"/dashboard/runs/nope/{verb}")
        assert response.status == 404, verb


async def test_cancel_a_pending_run(logged_in: Dashboard) -> None:
    await WorkflowRunRecord.create(id="waiting-run", workflow_name="w", state="pending")
    _, html = await logged_in.page("/dashboard/runs/waiting-run")
    assert "Cancel run" in html
    response = await logged_in.act("/dashboard/runs/waiting-run/cancel")
    assert response.status == 303
    assert await _state("waiting-run") == "canceled"
    _, html = await logged_in.page("/dashboard/runs/waiting-run?done=canceled")
    assert "Run canceled." in html and "Retry run" in html


async def test_cancel_of_a_running_or_finished_run_is_409(logged_in: Dashboard) -> None:
    await WorkflowRunRecord.create(id="finished-run", workflow_name="w", state="done")
    response = await logged_in.act("/dashboard/runs/finished-run/cancel")
    assert response.status == 409
    assert await _state("finished-run") == "done"
