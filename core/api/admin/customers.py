"""Admin customers: list (``q`` searches the email) and retrieve."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from core.api.endpoint import Access, endpoint
from core.catalog.paging import fetch_page
from core.errors import NotFound
from core.models import Customer
from core.schemas.customers import CustomerOut, CustomerResponse, render_customer
from core.schemas.paging import ListQuery, SearchListQuery

__all__ = [
    "CustomerListResponse",
    "routes",
]

routes = web.RouteTableDef()

TAGS = ("Admin", "Customers")
ORDER_FIELDS = ("id", "email", "first_name", "last_name", "company_name", "created_at", "updated_at")


class CustomerListResponse(BaseModel):
    customers: list[CustomerOut]
    count: int
    offset: int
    limit: int


@routes.get("/admin/customers")
@endpoint(
    query=SearchListQuery,
    response=CustomerListResponse,
    summary="List customers",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(400, 401),
)
async def admin_list_customers(request: web.Request, *, query: SearchListQuery) -> dict[str, Any]:
    customers = Customer.filter(deleted_at=None)
    if query.q:
        customers = customers.filter(email__icontains=query.q)
    page, count = await fetch_page(customers, query, allowed_order=ORDER_FIELDS)
    return {
        "customers": [render_customer(customer) for customer in page],
        "count": count,
        "offset": query.offset,
        "limit": query.limit,
    }


@routes.get("/admin/customers/{id}")
@endpoint(
    query=ListQuery,
    response=CustomerResponse,
    summary="Retrieve a customer",
    tags=TAGS,
    access=Access.ADMIN,
    errors=(401, 404),
)
async def admin_retrieve_customer(request: web.Request, *, query: ListQuery) -> dict[str, Any]:
    customer_id = request.match_info["id"]
    customer = await Customer.get_or_none(id=customer_id, deleted_at=None)
    if customer is None:
        raise NotFound(f"Customer with id: {customer_id} was not found")
    return {"customer": render_customer(customer)}
