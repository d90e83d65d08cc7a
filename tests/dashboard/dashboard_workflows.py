"""A durable workflow whose last step fails while a switch is on: a failed run the dashboard retries."""

from __future__ import annotations

from pydantic import BaseModel

from core.errors import PermanentError
from core.workflows.engine import StepContext, StepResponse, step, workflow

__all__ = [
    "PAYMENT_WORKFLOW",
    "Payment",
    "PaymentSwitch",
    "capture_payment",
]

PAYMENT_WORKFLOW = "dashboard-test-payment"


class PaymentSwitch:
    """While ``declining`` is True the ``charge-card`` step fails permanently."""

    declining = True
    released: list[str] = []


class Payment(BaseModel):
    order_id: str
    amount: int
    card_token: str


@step("reserve-funds")
async def reserve_funds(payment: Payment, ctx: StepContext) -> StepResponse[str]:
    return StepResponse(f"hold_{payment.order_id}", compensate_input=f"hold_{payment.order_id}")


@reserve_funds.compensate
async def release_funds(hold_id: str, ctx: StepContext) -> None:
    PaymentSwitch.released.append(hold_id)


@step("charge-card")
async def charge_card(payment: Payment, ctx: StepContext) -> dict[str, object]:
    if PaymentSwitch.declining:
        raise PermanentError(f"card declined for order {payment.order_id}")
    return {"charged": payment.amount, "api_key": "sk_live_do_not_show"}


@workflow(PAYMENT_WORKFLOW, durable=True)
async def capture_payment(payment: Payment) -> dict[str, object]:
    await reserve_funds(payment)
    return await charge_card(payment)
