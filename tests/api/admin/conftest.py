"""Admin API fixtures: an admin's bearer headers, a client bound to them, a customer's headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from core.auth.tokens import AuthContext, issue_token
from core.config import Settings
from core.users import create_admin_user


@pytest.fixture
async def admin(settings: Settings, db: None) -> dict[str, str]:
    """``Authorization`` headers of a logged-in admin user."""
    user = await create_admin_user("admin@example.com", "correct horse battery")
    context = AuthContext(actor_id=user.id, actor_type="user", auth_identity_id="authid_admin")
    return {"Authorization": f"Bearer {issue_token(settings.auth, context)}"}


@pytest.fixture
def customer_headers(settings: Settings) -> dict[str, str]:
    """A valid customer token, which admin routes must refuse."""
    context = AuthContext(actor_id="cus_1", actor_type="customer", auth_identity_id="authid_customer")
    return {"Authorization": f"Bearer {issue_token(settings.auth, context)}"}


@dataclass
class AdminApi:
    """Calls the Admin API as the admin; asserts the status and validates the body's model."""

    client: Any
    headers: dict[str, str]

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        status: int = 200,
        model: type[BaseModel] | None = None,
    ) -> Any:
        resp = await self.client.request(method, path, headers=self.headers, json=json)
        body = await resp.json()
        assert resp.status == status, body
        if model is not None:
            model.model_validate(body)
        return body

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.request("POST", path, json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)


@pytest.fixture
def admin_api(client: Any, admin: dict[str, str]) -> AdminApi:
    return AdminApi(client, admin)
