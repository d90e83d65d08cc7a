"""A real headless Chromium (Debian's ``chromium``, driven by Playwright) logs in, retries a failed run.

Playwright drives the browser installed at ``/usr/bin/chromium`` (``CHROMIUM`` overrides); it
never downloads one. Without that browser the test is skipped, unless ``REQUIRE_CHROMIUM=1``
(CI) makes it a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from core.config import DashboardSettings, Settings
from core.keys import ENGINE
from core.models import WorkflowRunRecord
from tests.dashboard.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.dashboard.dashboard_workflows import PAYMENT_WORKFLOW, Payment, PaymentSwitch
from tests.polling import wait_until

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
RUN_ID = "payment:order_browser"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Pages refresh every half second, so the retried run's new state shows up quickly."""
    return settings.model_copy(update={"dashboard": DashboardSettings(refresh_seconds=0.5)})


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            await browser.close()


async def test_operator_logs_in_opens_the_failed_run_and_retries_it(
    client: TestClient, app: web.Application, admin_user: None, declining_card: type[PaymentSwitch],
    browser_page: Any,
) -> None:
    expect = playwright_api.expect
    await app[ENGINE].start(PAYMENT_WORKFLOW, Payment(order_id="order_browser", amount=990, card_token="tok_x"),
                            run_id=RUN_ID)

    async def ended() -> bool:
        return (await WorkflowRunRecord.get(id=RUN_ID)).state in ("failed", "reverted")

    await wait_until(ended)
    page = browser_page
    base = str(client.make_url("")).rstrip("/")

    await page.goto(f"{base}/dashboard")
    await expect(page).to_have_url(f"{base}/dashboard/login?next=%2Fdashboard")
    await page.get_by_label("Email").fill(ADMIN_EMAIL)
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    await page.get_by_role("link", name=RUN_ID).first.click()
    # "reverted": the run failed and its completed step was compensated (the funds hold released).
    await expect(page.locator("#run-state")).to_have_text(re.compile(r"^(failed|reverted)$"))
    await expect(page.get_by_text("card declined for order order_browser").first).to_be_visible()

    declining_card.declining = False
    await page.get_by_role("button", name="Retry run").click()
    await expect(page.get_by_text("Run retried.")).to_be_visible()
    await expect(page.locator("#run-state")).to_have_text("done")
    await expect(page.get_by_role("cell", name="charge-card")).to_be_visible()
    assert (await WorkflowRunRecord.get(id=RUN_ID)).state == "done"
