"""Dashboard login: the form, its CSRF value, the session cookie, refusals, logout."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from core.auth.tokens import AuthContext, issue_token
from core.config import Settings
from core.dashboard.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from core.models import AuthIdentity, User
from tests.dashboard.conftest import ADMIN_EMAIL, Dashboard


async def test_pages_send_a_visitor_without_session_to_the_login_form(client: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/runs?state=failed", "/dashboard/runs/run_x", "/dashboard/syncs",
                 "/dashboard/webhooks", "/dashboard/events"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/dashboard/login?next=%2Fdashboard"), path


async def test_refresh_of_an_ended_session_is_refused_with_401(client: TestClient) -> None:
    response = await client.get("/dashboard", headers={"X-Dashboard-Partial": "1"})
    assert response.status == 401


async def test_login_opens_a_session_and_returns_to_the_asked_page(dashboard: Dashboard) -> None:
    response = await dashboard.login(next_path="/dashboard/runs?state=failed")
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/runs?state=failed"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    status, html = await dashboard.page("/dashboard")
    assert status == 200
    assert ADMIN_EMAIL in html


async def test_session_cookie_is_secure_unless_the_host_is_loopback(dashboard: Dashboard) -> None:
    form = await dashboard.client.get("/dashboard/login", headers={"Host": "shop.example.com"})
    assert form.cookies[LOGIN_CSRF_COOKIE]["secure"] is True
    local = await dashboard.client.get("/dashboard/login")
    assert not local.cookies[LOGIN_CSRF_COOKIE]["secure"]


async def test_login_never_redirects_to_another_site(dashboard: Dashboard) -> None:
    for target in ("https://evil.example/", "//evil.example/dashboard", "/store/products", "/dashboard\\@evil"):
        dashboard.client.session.cookie_jar.clear()
        response = await dashboard.login(next_path=target)
        assert response.headers["Location"] == "/dashboard", target


async def test_wrong_password_is_refused_without_a_session(dashboard: Dashboard) -> None:
    response = await dashboard.login(password="not the password")
    assert response.status == 401
    assert "Invalid email or password." in await response.text()
    assert SESSION_COOKIE not in response.cookies
    status, _ = await dashboard.page("/dashboard")
    assert status == 303


async def test_customer_credentials_do_not_open_the_dashboard(dashboard: Dashboard) -> None:
    await dashboard.client.post(
        "/auth/customer/emailpass/register", json={"email": "buyer@example.com", "password": "buyer password"}
    )
    response = await dashboard.login(email="buyer@example.com", password="buyer password")
    assert response.status == 401


async def test_login_without_its_form_value_is_refused(dashboard: Dashboard) -> None:
    data = {"email": ADMIN_EMAIL, "password": "correct horse battery"}
    response = await dashboard.client.post("/dashboard/login", data=data, allow_redirects=False)
    assert response.status == 403
    assert SESSION_COOKIE not in response.cookies


async def test_login_from_another_site_is_refused(dashboard: Dashboard) -> None:
    form = await dashboard.client.get("/dashboard/login")
    token = (await form.text()).split('name="login_csrf" value="')[1].split('"')[0]
    data = {"login_csrf": token, "email": ADMIN_EMAIL, "password": "correct horse battery"}
    response = await dashboard.client.post(
        "/dashboard/login", data=data, headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert response.status == 403


async def test_login_attempts_are_rate_limited(dashboard: Dashboard, settings: Settings) -> None:
    statuses = [
        (await dashboard.login(password=f"wrong password {n}")).status
        for n in range(settings.auth.login_attempts_per_minute + 1)
    ]
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {401}


async def test_empty_form_is_a_400_with_the_form_again(dashboard: Dashboard) -> None:
    response = await dashboard.login(email="", password="")
    assert response.status == 400
    assert "Enter your email and password." in await response.text()


async def test_logout_needs_the_csrf_token_and_ends_the_session(logged_in: Dashboard) -> None:
    refused = await logged_in.act("/dashboard/logout", csrf="")
    assert refused.status == 403
    assert (await logged_in.page("/dashboard"))[0] == 200
    response = await logged_in.act("/dashboard/logout")
    assert response.status == 303
    assert (await logged_in.page("/dashboard"))[0] == 303


async def test_tampered_or_foreign_cookies_are_not_a_session(client: TestClient, settings: Settings,
                                                             admin_user: None) -> None:
    identity = await AuthIdentity.get(entity_id=ADMIN_EMAIL)
    api_token = issue_token(settings.auth, AuthContext(identity.actor_id or "", "user", identity.id))
    for value in ("garbage", api_token, api_token[:-2] + "xx"):
        client.session.cookie_jar.update_cookies({SESSION_COOKIE: value})
        response = await client.get("/dashboard", allow_redirects=False)
        assert response.status == 303, value


async def test_admin_bearer_token_does_not_open_the_dashboard(client: TestClient, settings: Settings,
                                                              admin_user: None) -> None:
    identity = await AuthIdentity.get(entity_id=ADMIN_EMAIL)
    token = issue_token(settings.auth, AuthContext(identity.actor_id or "", "user", identity.id))
    response = await client.get("/dashboard", headers={"Authorization": f"Bearer {token}"}, allow_redirects=False)
    assert response.status == 303


async def test_session_ends_when_the_admin_user_is_deleted(logged_in: Dashboard) -> None:
    identity: Any = await AuthIdentity.get(entity_id=ADMIN_EMAIL)
    await identity.delete()
    await User.filter(email=ADMIN_EMAIL).delete()
    assert (await logged_in.page("/dashboard"))[0] == 303


async def test_a_logged_in_admin_skips_the_login_form(logged_in: Dashboard) -> None:
    response = await logged_in.client.get("/dashboard/login?next=/dashboard/syncs", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/syncs"
