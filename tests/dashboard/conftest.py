"""Dashboard fixtures: an admin user, a browser-like client that logs in through the form, a failing run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from core.users import create_admin_user
from tests.dashboard.dashboard_workflows import PaymentSwitch

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def hidden_value(pattern: re.Pattern[str], html: str) -> str:
    found = pattern.search(html)
    assert found is not None, "the page has no such hidden field"
    return found.group(1)


@dataclass
class Dashboard:
    """The test client used as a browser: cookies kept, forms posted with their hidden fields."""

    client: TestClient
    csrf_token: str = ""

    async def login(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, next_path: str = "/dashboard"
                    ) -> ClientResponse:
        form = await self.client.get("/dashboard/login")
        token = hidden_value(LOGIN_CSRF, await form.text())
        data = {"login_csrf": token, "email": email, "password": password, "next": next_path}
        return await self.client.post("/dashboard/login", data=data, allow_redirects=False)

    async def page(self, path: str, **kwargs: Any) -> tuple[int, str]:
        response = await self.client.get(path, allow_redirects=False, **kwargs)
        text = await response.text()
        if response.status == 200 and CSRF.search(text):
            self.csrf_token = hidden_value(CSRF, text)
        return response.status, text

    async def act(self, path: str, *, csrf: str | None = None, **kwargs: Any) -> ClientResponse:
        """POST a dashboard form with the session's CSRF token (or ``csrf`` instead; ``""`` for none)."""
        token = self.csrf_token if csrf is None else csrf
        data = {"csrf_token": token} if token else {}
        return await self.client.post(path, data=data, allow_redirects=False, **kwargs)


@pytest.fixture
async def admin_user(db: None) -> None:
    await create_admin_user(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def dashboard(client: TestClient, admin_user: None) -> Dashboard:
    """A client with an admin user to log in as (not logged in yet)."""
    return Dashboard(client)


@pytest.fixture
async def logged_in(dashboard: Dashboard) -> Dashboard:
    response = await dashboard.login()
    assert response.status == 303
    status, _ = await dashboard.page("/dashboard")
    assert status == 200
    return dashboard


@pytest.fixture
def declining_card() -> Iterator[type[PaymentSwitch]]:
    """The test payment workflow fails until the test flips ``PaymentSwitch.declining``."""
    PaymentSwitch.declining = True
    PaymentSwitch.released = []
    yield PaymentSwitch
    PaymentSwitch.declining = True
