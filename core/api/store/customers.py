"""``/store/customers``: create the account of a registered identity, read and update one's profile."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.api.endpoint import Access, endpoint
from core.auth.accounts import create_customer_account, get_account_customer, update_account_customer
from core.keys import AUTH
from core.schemas.customers import (
    CreateCustomerBody,
    CustomerQuery,
    CustomerResponse,
    UpdateCustomerBody,
    render_customer,
)

__all__ = [
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Store Customers",)


@routes.post("/store/customers")
@endpoint(
    body=CreateCustomerBody,
    query=CustomerQuery,
    response=CustomerResponse,
    summary="Create the customer of a registered identity",
    description=(
        "Needs the actor-less token of `POST /auth/customer/emailpass/register`; binds it to the new "
        "customer (log in again or refresh the token to get a token carrying the customer id)."
    ),
    tags=TAGS,
    access=Access.CUSTOMER_IDENTITY,
    errors=(400, 401, 422),
)
async def create_customer(
    request: web.Request, *, body: CreateCustomerBody, query: CustomerQuery
) -> dict[str, Any]:
    profile = body.model_dump(exclude_unset=True, exclude={"email"})
    customer = await create_customer_account(request[AUTH], body.email, profile)
    return {"customer": render_customer(customer)}


@routes.get("/store/customers/me")
@endpoint(
    query=CustomerQuery,
    response=CustomerResponse,
    summary="The logged-in customer",
    tags=TAGS,
    access=Access.CUSTOMER,
    errors=(401, 404),
)
async def retrieve_me(request: web.Request, *, query: CustomerQuery) -> dict[str, Any]:
    customer = await get_account_customer(request[AUTH].actor_id)
    return {"customer": render_customer(customer)}


@routes.post("/store/customers/me")
@endpoint(
    body=UpdateCustomerBody,
    query=CustomerQuery,
    response=CustomerResponse,
    summary="Update the logged-in customer's profile",
    description="Updates `company_name`, `first_name`, `last_name`, `phone` and `metadata`; not the email.",
    tags=TAGS,
    access=Access.CUSTOMER,
    errors=(400, 401, 404),
)
async def update_me(
    request: web.Request, *, body: UpdateCustomerBody, query: CustomerQuery
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    customer = await update_account_customer(request[AUTH].actor_id, changes)
    return {"customer": render_customer(customer)}
