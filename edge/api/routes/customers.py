"""Customers at the store: sign-up at the lane, lookup by phone, email or card, the 360 view.

Any store staff may serve a customer (the cashier in front of them sees their full contact
details; the lane masks them until tapped). A sign-up is a POST with an Idempotency-Key, like
every other; the stored answer holds the new customer's id only, never their details.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.params import Parameter

from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, requires
from edge.api.routes.orders import was_replayed
from edge.contracts.pii import Email, Name, Phone
from edge.service import customers as cases
from edge.service.customer_directory import CustomerDirectory

KEY = "customers"
Query = Annotated[str, Parameter(min_length=3, max_length=254)]
CustomerIdPath = Annotated[str, Parameter(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ConsentsIn(msgspec.Struct, forbid_unknown_fields=True):
    marketing: bool = False
    e_receipts: bool = False


class CustomerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    consents: ConsentsIn | None = None


class ConsentsPatch(msgspec.Struct, forbid_unknown_fields=True):
    marketing: bool | None = None  # None: unchanged
    e_receipts: bool | None = None


class CustomerPatchIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET  # null removes it (a phone must remain)
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    consents: ConsentsPatch | msgspec.UnsetType = msgspec.UNSET


def directory(request: Request) -> CustomerDirectory:
    return services(request).extras[KEY]


@post("/api/v1/customers", guards=[requires(*STORE_STAFF)], operation_id="createCustomer",
      opt={"problems": (409, 503)})  # 409: a customer with this email or phone; 503: no keys from HQ yet
async def create_customer(request: Request, data: CustomerIn) -> Response:
    s, who, d = services(request), actor(request), directory(request)
    await d.prepare_create(who, data)
    response = await s.idempotency.run(request, who, lambda u: {
        "customer_id": cases.create_customer(u, d.vault, data, region=d.region).customer_id})
    if response.status_code >= 300:
        return response
    customer_id = msgspec.json.decode(response.content)["customer_id"]
    await d.escrow_pending()
    view = await d.view(who, customer_id)
    headers = {"Idempotent-Replayed": "true"} if was_replayed(response) else {}
    return Response(content=view, status_code=201, headers=headers)


@get("/api/v1/customers", guards=[requires(*STORE_STAFF)], operation_id="searchCustomers")
async def search_customers(request: Request, q: Query) -> dict[str, Any]:
    return {"items": await directory(request).search(actor(request), q)}


@get("/api/v1/customers/{customer_id:str}", guards=[requires(*STORE_STAFF)], operation_id="getCustomer",
     opt={"problems": (404,)})
async def get_customer(request: Request, customer_id: CustomerIdPath) -> dict[str, Any]:
    return await directory(request).view(actor(request), customer_id)


@patch("/api/v1/customers/{customer_id:str}", guards=[requires(*STORE_STAFF)], operation_id="changeCustomer",
       opt={"problems": (404, 409, 503)})
async def change_customer(request: Request, customer_id: CustomerIdPath, data: CustomerPatchIn) -> dict[str, Any]:
    d, who = directory(request), actor(request)
    await d.patch(who, customer_id, data)
    return await d.view(who, customer_id)


ROUTES = [create_customer, search_customers, get_customer, change_customer]
