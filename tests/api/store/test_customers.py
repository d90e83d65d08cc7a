"""``/store/customers``: account creation from a registration token, ``/me`` read and update."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import jwt
import pytest

from core.auth.accounts import identity_context, register_identity
from core.auth.tokens import issue_token
from core.config import Settings
from core.models import AuthIdentity, Customer
from core.schemas.customers import CustomerResponse
from core.users import create_admin_user

PASSWORD = "correct horse battery"
UNAUTHORIZED = {"message": "Unauthorized"}


@pytest.fixture
def token_for(settings: Settings) -> Any:
    """Register an identity (``email``) and return a token for it, as the register route would."""

    async def make(email: str = "jane@example.com", actor_type: str = "customer") -> str:
        identity = await register_identity(actor_type, email, PASSWORD)
        return issue_token(settings.auth, identity_context(identity))

    return make


async def create_account(
    client: Any, store: Any, token: str, payload: dict[str, Any], status: int = 200
) -> Any:
    resp = await client.post("/store/customers", json=payload, headers=store.headers(token))
    body = await resp.json()
    assert resp.status == status, body
    if status == 200:
        return CustomerResponse.model_validate(body).customer
    return body


async def bound_token(client: Any, store: Any, token_for: Any, email: str = "jane@example.com") -> str:
    await create_account(client, store, await token_for(email), {"first_name": "Jane"})
    resp = await client.post("/auth/customer/emailpass", json={"email": email, "password": PASSWORD})
    return str((await resp.json())["token"])


# --- POST /store/customers -----------------------------------------------------------------------


async def test_create_customer_binds_the_identity(client: Any, store: Any, token_for: Any) -> None:
    token = await token_for()
    payload = {
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "+49 30 123",
        "company_name": "Acme GmbH",
        "metadata": {"source": "web"},
    }
    customer = await create_account(client, store, token, payload)
    assert customer.id.startswith("cus_")
    assert customer.email == "jane@example.com"
    assert customer.has_account is True
    assert (customer.first_name, customer.last_name, customer.phone) == ("Jane", "Doe", "+49 30 123")
    assert customer.company_name == "Acme GmbH"
    assert customer.metadata == {"source": "web"}
    assert customer.addresses == []
    assert customer.deleted_at is None
    identity = await AuthIdentity.get(entity_id="jane@example.com")
    assert identity.actor_id == customer.id


async def test_create_customer_accepts_the_registered_email_in_any_case(
    client: Any, store: Any, token_for: Any
) -> None:
    customer = await create_account(client, store, await token_for(), {"email": "JANE@Example.com"})
    assert customer.email == "jane@example.com"


async def test_create_customer_refuses_another_email(client: Any, store: Any, token_for: Any) -> None:
    body = await create_account(client, store, await token_for(), {"email": "other@example.com"}, 400)
    assert body["type"] == "invalid_data"
    assert await Customer.all().count() == 0


async def test_create_customer_with_a_bound_token_is_refused(client: Any, store: Any, token_for: Any) -> None:
    token = await bound_token(client, store, token_for)
    body = await create_account(client, store, token, {}, 400)
    assert body == {"type": "invalid_data", "message": "Request already authenticated as a customer."}


async def test_create_customer_twice_with_the_registration_token_is_refused(
    client: Any, store: Any, token_for: Any
) -> None:
    token = await token_for()
    await create_account(client, store, token, {})
    body = await create_account(client, store, token, {}, 400)
    assert body == {"type": "invalid_data", "message": "Request already authenticated as a customer."}
    assert await Customer.all().count() == 1


async def test_create_customer_when_the_email_already_has_an_account(
    client: Any, store: Any, token_for: Any
) -> None:
    await Customer.create(email="jane@example.com", has_account=True)
    body = await create_account(client, store, await token_for(), {}, 422)
    assert body == {
        "type": "duplicate_error",
        "code": "invalid_request_error",
        "message": "Customer with this email already has an account",
    }


async def test_create_customer_alongside_a_guest_customer(client: Any, store: Any, token_for: Any) -> None:
    guest = await Customer.create(email="jane@example.com", has_account=False)
    customer = await create_account(client, store, await token_for(), {})
    assert customer.id != guest.id


async def test_create_customer_without_token_is_unauthorized(client: Any, store: Any) -> None:
    resp = await client.post("/store/customers", json={"first_name": "Jane"}, headers=store.headers())
    assert resp.status == 401
    assert await resp.json() == UNAUTHORIZED


async def test_create_customer_with_an_admin_token_is_unauthorized(
    client: Any, store: Any, settings: Settings
) -> None:
    await create_admin_user("admin@example.com", PASSWORD)
    identity = await AuthIdentity.get(entity_id="admin@example.com")
    token = issue_token(settings.auth, identity_context(identity))
    body = await create_account(client, store, token, {}, 401)
    assert body == UNAUTHORIZED


async def test_create_customer_needs_a_publishable_key(client: Any, token_for: Any) -> None:
    token = await token_for()
    resp = await client.post("/store/customers", json={}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 400
    assert (await resp.json())["type"] == "not_allowed"


@pytest.mark.parametrize(
    "payload",
    [{"password": "x"}, {"first_name": 5}, {"metadata": "text"}, {"phone": "1" * 65}],
    ids=["unknown-field", "bad-name", "bad-metadata", "long-phone"],
)
async def test_create_customer_refuses_invalid_data(
    client: Any, store: Any, token_for: Any, payload: dict[str, Any]
) -> None:
    body = await create_account(client, store, await token_for(), payload, 400)
    assert body["type"] == "invalid_data"


# --- GET / POST /store/customers/me --------------------------------------------------------------


async def test_retrieve_me_returns_the_customer(client: Any, store: Any, token_for: Any) -> None:
    token = await bound_token(client, store, token_for)
    resp = await client.get(
        "/store/customers/me", headers=store.headers(token), params={"fields": "*addresses"}
    )
    assert resp.status == 200
    customer = CustomerResponse.model_validate(await resp.json()).customer
    assert (customer.email, customer.first_name, customer.has_account) == ("jane@example.com", "Jane", True)


async def test_retrieve_me_with_actor_less_token_is_unauthorized(
    client: Any, store: Any, token_for: Any
) -> None:
    resp = await client.get("/store/customers/me", headers=store.headers(await token_for()))
    assert resp.status == 401
    assert await resp.json() == UNAUTHORIZED


async def test_retrieve_me_without_token_is_unauthorized(client: Any, store: Any) -> None:
    resp = await client.get("/store/customers/me", headers=store.headers())
    assert resp.status == 401
    assert await resp.json() == UNAUTHORIZED


async def test_retrieve_me_of_a_deleted_customer_is_not_found(
    client: Any, store: Any, token_for: Any
) -> None:
    token = await bound_token(client, store, token_for)
    await Customer.all().update(deleted_at=datetime.now(timezone.utc))
    resp = await client.get("/store/customers/me", headers=store.headers(token))
    assert resp.status == 404
    assert (await resp.json())["type"] == "not_found"


async def test_update_me_changes_only_the_given_fields(client: Any, store: Any, token_for: Any) -> None:
    token = await bound_token(client, store, token_for)
    changes = {"last_name": "Doe", "company_name": "Acme", "phone": None, "metadata": {"tier": "gold"}}
    resp = await client.post("/store/customers/me", json=changes, headers=store.headers(token))
    assert resp.status == 200
    customer = CustomerResponse.model_validate(await resp.json()).customer
    assert (customer.first_name, customer.last_name, customer.company_name) == ("Jane", "Doe", "Acme")
    assert customer.phone is None
    assert customer.metadata == {"tier": "gold"}
    stored = await Customer.get(id=customer.id)
    assert (stored.last_name, stored.metadata) == ("Doe", {"tier": "gold"})
    assert customer.updated_at >= customer.created_at


async def test_update_me_refuses_an_email_change(client: Any, store: Any, token_for: Any) -> None:
    token = await bound_token(client, store, token_for)
    resp = await client.post(
        "/store/customers/me", json={"email": "new@example.com"}, headers=store.headers(token)
    )
    assert resp.status == 400
    assert (await resp.json())["type"] == "invalid_data"
    assert await Customer.get(email="jane@example.com")


async def test_update_me_with_actor_less_token_is_unauthorized(
    client: Any, store: Any, token_for: Any
) -> None:
    resp = await client.post(
        "/store/customers/me", json={"first_name": "X"}, headers=store.headers(await token_for())
    )
    assert resp.status == 401
    assert await resp.json() == UNAUTHORIZED


async def test_customers_of_two_accounts_stay_apart(client: Any, store: Any, token_for: Any) -> None:
    jane = await bound_token(client, store, token_for, "jane@example.com")
    john = await bound_token(client, store, token_for, "john@example.com")
    await client.post("/store/customers/me", json={"first_name": "Johnny"}, headers=store.headers(john))
    resp = await client.get("/store/customers/me", headers=store.headers(jane))
    assert (await resp.json())["customer"]["first_name"] == "Jane"


# --- the storefront flow, over HTTP only ---------------------------------------------------------


@pytest.mark.parametrize("rebind", ["login", "refresh"])
async def test_register_create_login_me_flow(
    client: Any, store: Any, settings: Settings, rebind: str
) -> None:
    credentials = {"email": "Jane@Example.com", "password": PASSWORD}
    resp = await client.post("/auth/customer/emailpass/register", json=credentials)
    registration = (await resp.json())["token"]
    resp = await client.post(
        "/store/customers",
        json={"email": "jane@example.com", "first_name": "Jane"},
        headers=store.headers(registration),
    )
    created = (await resp.json())["customer"]
    if rebind == "login":
        resp = await client.post("/auth/customer/emailpass", json=credentials)
    else:
        resp = await client.post("/auth/token/refresh", headers={"Authorization": f"Bearer {registration}"})
    token = (await resp.json())["token"]
    assert jwt.decode(token, settings.auth.jwt_secret, algorithms=["HS256"])["actor_id"] == created["id"]
    resp = await client.get("/store/customers/me", headers=store.headers(token))
    assert resp.status == 200
    assert (await resp.json())["customer"] == created
