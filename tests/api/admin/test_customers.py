"""Admin customers: list (``q`` on the email), retrieve."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from core.api.admin.customers import CustomerListResponse
from core.models import Customer
from core.schemas.customers import CustomerResponse


async def test_list_customers_and_search_by_email(admin_api: Any) -> None:
    for email in ("ann@acme.test", "bob@acme.test", "carl@other.test"):
        await Customer.create(email=email, has_account=True)
    await Customer.create(email="gone@acme.test", deleted_at=datetime.now(timezone.utc))
    body = await admin_api.get("/admin/customers?order=email", model=CustomerListResponse)
    assert [c["email"] for c in body["customers"]] == ["ann@acme.test", "bob@acme.test", "carl@other.test"]
    found = await admin_api.get("/admin/customers?q=ACME&order=-email")
    assert [c["email"] for c in found["customers"]] == ["bob@acme.test", "ann@acme.test"] and found[
        "count"
    ] == 2
    page = await admin_api.get("/admin/customers?limit=1&offset=2&order=email")
    assert [c["email"] for c in page["customers"]] == ["carl@other.test"] and page["count"] == 3


async def test_retrieve_customer(admin_api: Any) -> None:
    customer = await Customer.create(email="ann@acme.test", first_name="Ann", company_name="Acme")
    body = await admin_api.get(f"/admin/customers/{customer.id}", model=CustomerResponse)
    assert body["customer"]["email"] == "ann@acme.test" and body["customer"]["company_name"] == "Acme"


async def test_retrieve_unknown_or_deleted_customer_is_not_found(admin_api: Any) -> None:
    body = await admin_api.get("/admin/customers/cus_nope", status=404)
    assert body == {"type": "not_found", "message": "Customer with id: cus_nope was not found"}
    gone = await Customer.create(email="gone@acme.test", deleted_at=datetime.now(timezone.utc))
    await admin_api.get(f"/admin/customers/{gone.id}", status=404)


async def test_list_customers_refuses_unknown_order(admin_api: Any) -> None:
    body = await admin_api.get("/admin/customers?order=password", status=400)
    assert body["message"] == "Order field password is not valid"
