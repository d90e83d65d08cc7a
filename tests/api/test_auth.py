"""``/auth``: registration, login (customers and admin users), token refresh, rate limiting."""

from __future__ import annotations

import statistics
import time
from typing import Any

import jwt
import pluggy
import pytest
from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.app import create_app
from core.auth.ratelimit import SlidingWindowLimiter
from core.auth.tokens import AuthContext, issue_token
from core.config import AuthSettings, Settings
from core.hookspecs import hookimpl
from core.models import AuthIdentity
from core.schemas.auth import TokenResponse
from core.users import create_admin_user

PASSWORD = "correct horse battery"
UNAUTHORIZED = {"message": "Unauthorized"}
INVALID_CREDENTIALS = {"type": "unauthorized", "message": "Invalid email or password"}


def claims(token: str, settings: Settings) -> dict[str, Any]:
    return jwt.decode(token, settings.auth.jwt_secret, algorithms=["HS256"])


async def post_token(client: Any, path: str, payload: dict[str, Any], status: int = 200) -> Any:
    resp = await client.post(path, json=payload)
    body = await resp.json()
    assert resp.status == status, body
    if status == 200:
        TokenResponse.model_validate(body)
        return body["token"]
    return body


async def register(client: Any, email: str, password: str = PASSWORD) -> str:
    return await post_token(
        client, "/auth/customer/emailpass/register", {"email": email, "password": password}
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- registration ---------------------------------------------------------------------------------


async def test_register_returns_actor_less_customer_token(client: Any, settings: Settings) -> None:
    token = await register(client, "jane@example.com")
    payload = claims(token, settings)
    identity = await AuthIdentity.get(id=payload["auth_identity_id"])
    assert payload["actor_id"] == ""
    assert payload["actor_type"] == "customer"
    assert payload["exp"] > payload["iat"]
    assert identity.entity_id == "jane@example.com"
    assert identity.actor_id is None
    assert PASSWORD not in identity.password_hash


async def test_register_lowercases_the_email(client: Any) -> None:
    await register(client, "  Jane@Example.COM ")
    assert await AuthIdentity.exists(entity_id="jane@example.com", actor_type="customer")


async def test_register_existing_email_is_unauthorized(client: Any) -> None:
    await register(client, "jane@example.com")
    body = await post_token(
        client,
        "/auth/customer/emailpass/register",
        {"email": "JANE@example.com", "password": "another password"},
        status=401,
    )
    assert body == {"type": "unauthorized", "message": "Identity with email already exists"}


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "jane@example.com", "password": "short"},
        {"email": "jane@example.com"},
        {"email": "jane@example.com", "password": PASSWORD, "role": "admin"},
    ],
    ids=["bad-email", "short-password", "missing-password", "unknown-field"],
)
async def test_register_refuses_invalid_data(client: Any, payload: dict[str, Any]) -> None:
    body = await post_token(client, "/auth/customer/emailpass/register", payload, status=400)
    assert body["type"] == "invalid_data"
    assert await AuthIdentity.all().count() == 0


async def test_register_does_not_need_a_publishable_key(client: Any) -> None:
    resp = await client.post(
        "/auth/customer/emailpass/register", json={"email": "jane@example.com", "password": PASSWORD}
    )
    assert resp.status == 200


# --- customer login ------------------------------------------------------------------------------


async def test_login_before_account_creation_gives_actor_less_token(client: Any, settings: Settings) -> None:
    registered = claims(await register(client, "jane@example.com"), settings)
    token = await post_token(
        client, "/auth/customer/emailpass", {"email": "Jane@Example.com", "password": PASSWORD}
    )
    payload = claims(token, settings)
    assert payload["actor_id"] == ""
    assert payload["auth_identity_id"] == registered["auth_identity_id"]


async def test_login_after_account_creation_is_bound_to_the_customer(
    client: Any, store: Any, settings: Settings
) -> None:
    token = await register(client, "jane@example.com")
    resp = await client.post("/store/customers", json={"first_name": "Jane"}, headers=store.headers(token))
    customer_id = (await resp.json())["customer"]["id"]
    login = await post_token(
        client, "/auth/customer/emailpass", {"email": "jane@example.com", "password": PASSWORD}
    )
    payload = claims(login, settings)
    assert payload["actor_id"] == customer_id
    assert payload["actor_type"] == "customer"
    assert payload["app_metadata"] == {"customer_id": customer_id}


async def test_login_with_wrong_password_is_unauthorized(client: Any) -> None:
    await register(client, "jane@example.com")
    body = await post_token(
        client, "/auth/customer/emailpass", {"email": "jane@example.com", "password": "wrong password"}, 401
    )
    assert body == INVALID_CREDENTIALS


async def test_login_with_unknown_email_is_unauthorized(client: Any) -> None:
    body = await post_token(
        client, "/auth/customer/emailpass", {"email": "nobody@example.com", "password": PASSWORD}, 401
    )
    assert body == INVALID_CREDENTIALS


async def test_login_with_unknown_email_costs_a_password_check(client: Any) -> None:
    await register(client, "jane@example.com")

    async def duration(email: str) -> float:
        started = time.perf_counter()
        await post_token(
            client, "/auth/customer/emailpass", {"email": email, "password": "wrong password"}, 401
        )
        return time.perf_counter() - started

    await duration("warm-up@example.com")
    known = statistics.median([await duration("jane@example.com") for _ in range(3)])
    unknown = statistics.median([await duration(f"nobody{i}@example.com") for i in range(3)])
    assert unknown > known * 0.5


async def test_customer_credentials_do_not_open_admin_login(client: Any) -> None:
    await register(client, "jane@example.com")
    body = await post_token(
        client, "/auth/user/emailpass", {"email": "jane@example.com", "password": PASSWORD}, 401
    )
    assert body == INVALID_CREDENTIALS


async def test_login_refuses_unknown_fields(client: Any) -> None:
    body = await post_token(
        client, "/auth/customer/emailpass", {"email": "a@example.com", "password": PASSWORD, "x": 1}, 400
    )
    assert body["type"] == "invalid_data"


# --- admin login ---------------------------------------------------------------------------------


async def test_admin_login_returns_user_token(client: Any, settings: Settings) -> None:
    user = await create_admin_user("admin@example.com", PASSWORD)
    token = await post_token(
        client, "/auth/user/emailpass", {"email": "Admin@Example.com", "password": PASSWORD}
    )
    payload = claims(token, settings)
    assert payload["actor_type"] == "user"
    assert payload["actor_id"] == user.id
    assert payload["app_metadata"] == {"user_id": user.id}


async def test_admin_login_with_wrong_password_is_unauthorized(client: Any) -> None:
    await create_admin_user("admin@example.com", PASSWORD)
    body = await post_token(
        client, "/auth/user/emailpass", {"email": "admin@example.com", "password": "nope nope"}, 401
    )
    assert body == INVALID_CREDENTIALS


async def test_admin_credentials_do_not_open_customer_login(client: Any) -> None:
    await create_admin_user("admin@example.com", PASSWORD)
    body = await post_token(
        client, "/auth/customer/emailpass", {"email": "admin@example.com", "password": PASSWORD}, 401
    )
    assert body == INVALID_CREDENTIALS


class AdminProbe:
    """A plugin adding one admin-only route, to check who gets through ``Access.ADMIN``."""

    @hookimpl
    def add_routes(self, app: web.Application) -> None:
        @endpoint(access=Access.ADMIN)
        async def probe(request: web.Request) -> dict[str, str]:
            return {"status": "admin"}

        app.router.add_get("/admin/auth-probe", probe)


@pytest.fixture
async def probe_client(
    aiohttp_client: Any, settings: Settings, plugins: pluggy.PluginManager, db: None
) -> Any:
    plugins.register(AdminProbe())
    return await aiohttp_client(create_app(settings, plugins, manage_database=False))


async def test_customer_token_does_not_open_admin_routes(probe_client: Any, store: Any) -> None:
    token = await register(probe_client, "jane@example.com")
    await probe_client.post("/store/customers", json={}, headers=store.headers(token))
    bound = await post_token(
        probe_client, "/auth/customer/emailpass", {"email": "jane@example.com", "password": PASSWORD}
    )
    for candidate in (token, bound):
        resp = await probe_client.get("/admin/auth-probe", headers=bearer(candidate))
        assert resp.status == 401
        assert await resp.json() == UNAUTHORIZED


async def test_admin_token_opens_admin_routes(probe_client: Any) -> None:
    await create_admin_user("admin@example.com", PASSWORD)
    token = await post_token(
        probe_client, "/auth/user/emailpass", {"email": "admin@example.com", "password": PASSWORD}
    )
    resp = await probe_client.get("/admin/auth-probe", headers=bearer(token))
    assert resp.status == 200


# --- token refresh and invalid tokens --------------------------------------------------------------


async def test_refresh_without_token_is_unauthorized(client: Any) -> None:
    resp = await client.post("/auth/token/refresh")
    assert resp.status == 401
    assert await resp.json() == UNAUTHORIZED


async def test_refresh_after_account_creation_binds_the_token(
    client: Any, store: Any, settings: Settings
) -> None:
    token = await register(client, "jane@example.com")
    resp = await client.post("/store/customers", json={}, headers=store.headers(token))
    customer_id = (await resp.json())["customer"]["id"]
    resp = await client.post("/auth/token/refresh", headers=bearer(token))
    assert resp.status == 200
    refreshed = (await resp.json())["token"]
    assert claims(refreshed, settings)["actor_id"] == customer_id


async def test_refresh_keeps_an_admin_token_an_admin_token(client: Any, settings: Settings) -> None:
    user = await create_admin_user("admin@example.com", PASSWORD)
    token = await post_token(
        client, "/auth/user/emailpass", {"email": "admin@example.com", "password": PASSWORD}
    )
    resp = await client.post("/auth/token/refresh", headers=bearer(token))
    payload = claims((await resp.json())["token"], settings)
    assert (payload["actor_type"], payload["actor_id"]) == ("user", user.id)


async def test_refresh_for_a_deleted_identity_is_unauthorized(client: Any) -> None:
    token = await register(client, "jane@example.com")
    await AuthIdentity.all().delete()
    resp = await client.post("/auth/token/refresh", headers=bearer(token))
    assert resp.status == 401
    assert await resp.json() == {"type": "unauthorized", "message": "Unauthorized"}


def forged_token(settings: Settings, identity_id: str) -> str:
    other = AuthSettings(jwt_secret="another-secret-0123456789abcdef-0123456789")
    return issue_token(other, AuthContext(actor_id="", actor_type="customer", auth_identity_id=identity_id))


def expired_token(settings: Settings, identity_id: str) -> str:
    past = int(time.time()) - 3600
    payload = {
        "actor_id": "",
        "actor_type": "customer",
        "auth_identity_id": identity_id,
        "iat": past - 60,
        "exp": past,
    }
    return jwt.encode(payload, settings.auth.jwt_secret, algorithm="HS256")


@pytest.mark.parametrize("make_token", [forged_token, expired_token], ids=["forged", "expired"])
async def test_invalid_tokens_count_as_no_token(
    client: Any, store: Any, settings: Settings, make_token: Any
) -> None:
    identity_id = claims(await register(client, "jane@example.com"), settings)["auth_identity_id"]
    token = make_token(settings, identity_id)
    for method, path in (
        ("POST", "/auth/token/refresh"),
        ("POST", "/store/customers"),
        ("GET", "/store/customers/me"),
    ):
        resp = await client.request(method, path, json={}, headers=store.headers(token))
        assert resp.status == 401, path
        assert await resp.json() == UNAUTHORIZED


# --- rate limiting -------------------------------------------------------------------------------


async def test_login_is_rate_limited_per_email(client: Any, settings: Settings) -> None:
    limit = settings.auth.login_attempts_per_minute
    payload = {"email": "jane@example.com", "password": "wrong password"}
    for _ in range(limit):
        await post_token(client, "/auth/customer/emailpass", payload, 401)
    resp = await client.post("/auth/customer/emailpass", json={**payload, "email": "JANE@example.com"})
    assert resp.status == 429
    body = await resp.json()
    assert body["type"] == "not_allowed"
    seconds = int(resp.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert body["message"] == f"Too many attempts, try again in {seconds} seconds"


async def test_attempts_are_rate_limited_per_client_address(client: Any, settings: Settings) -> None:
    limit = settings.auth.login_attempts_per_minute
    for index in range(limit):
        await post_token(
            client,
            "/auth/customer/emailpass",
            {"email": f"user{index}@example.com", "password": PASSWORD},
            401,
        )
    resp = await client.post(
        "/auth/customer/emailpass/register", json={"email": "fresh@example.com", "password": PASSWORD}
    )
    assert resp.status == 429
    assert "Retry-After" in resp.headers
    assert not await AuthIdentity.exists(entity_id="fresh@example.com")


async def test_admin_login_is_rate_limited(client: Any, settings: Settings) -> None:
    payload = {"email": "admin@example.com", "password": "wrong password"}
    for _ in range(settings.auth.login_attempts_per_minute):
        await post_token(client, "/auth/user/emailpass", payload, 401)
    resp = await client.post("/auth/user/emailpass", json=payload)
    assert resp.status == 429


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_window_slides() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60.0, clock=clock)
    assert limiter.acquire("a") is None
    clock.now += 30
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 30
    clock.now += 30.5
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 30


def test_limiter_refused_attempts_are_not_recorded() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 60.0, clock=clock)
    assert limiter.acquire("address", "email-1") is None
    assert limiter.acquire("address", "email-2") == 60
    clock.now += 61
    assert limiter.acquire("email-2") is None
    assert limiter.acquire("address") is None


def test_limiter_forgets_least_recently_used_keys_beyond_its_bound() -> None:
    limiter = SlidingWindowLimiter(1, 60.0, max_keys=3, clock=FakeClock())
    for key in ("a", "b", "c", "d"):
        assert limiter.acquire(key) is None
    assert len(limiter) == 3
    assert limiter.acquire("a") is None
    assert limiter.acquire("d") is not None


def test_limiter_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0)
