"""Ports the use cases depend on. Adapters implement them; fakes implement them in unit tests.

A use case is a plain function `def handler(uow: UnitOfWork, cmd) -> result`. It runs inside
one transaction in the writer thread: everything it writes (state, audit row, outbox events,
the idempotency record) commits together or not at all. It reaches storage through the unit
of work's repositories (`uow.orders`, `uow.stock`, ...), typed by `repository_ports`.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from edge.service.customer_ports import CustomersRepository
from edge.service.import_ports import ImportJobsRepository
from edge.service.loyalty_ports import LoyaltyRepository
from edge.service.pickup_ports import PickupsRepository
from edge.service.repository_ports import (
    AuditLogRepository,
    CatalogRepository,
    IdempotencyRepository,
    LanesRepository,
    OrdersRepository,
    PaymentsRepository,
    PolicyRepository,
    ReservationsRepository,
    ReviewsRepository,
    SaleProductsRepository,
    SettlementRepository,
    StockRepository,
    StoresRepository,
    TillsRepository,
    UsersRepository,
)


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is acting, where. Tenant and store always come from verified token claims."""

    tenant_id: str
    store_id: str | None
    user_id: str | None
    username: str
    roles: tuple[str, ...] = ()
    lane_id: str | None = None
    device_id: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, tenant_id: str, store_id: str | None, reason: str = "system") -> Actor:
        return cls(tenant_id=tenant_id, store_id=store_id, user_id=None, username=reason, roles=("system",))


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a signed access token says about its holder: the only source of an `Actor`'s tenant,
    store and roles. The token service adds and checks the registered claims (iss, aud, exp, ...)."""

    sub: str  # the user id
    sid: str | None = None  # the session (refresh-token family): revoking it refuses the token
    username: str | None = None
    tenant_id: str
    store_id: str | None = None
    roles: tuple[str, ...] = ()
    lane_id: str | None = None  # a lane-bound sign-in (PIN at a lane)
    mfa_enroll: bool = False  # may only enrol MFA until it has

    def actor(self, request_id: str | None = None) -> Actor:
        return Actor(tenant_id=self.tenant_id, store_id=self.store_id, user_id=self.sub,
                     username=self.username or self.sub, roles=self.roles, lane_id=self.lane_id,
                     request_id=request_id)


class UnitOfWork(Protocol):
    actor: Actor
    now: str  # the transaction's timestamp (UTC ISO 8601), one value for every row it writes
    business_day: str  # the store-local business day of `now` (ISO date)

    # Repositories, built on first use and living as long as the transaction.
    audit_log: AuditLogRepository
    catalog: CatalogRepository
    customers: CustomersRepository
    idempotency: IdempotencyRepository
    imports: ImportJobsRepository
    lanes: LanesRepository
    loyalty: LoyaltyRepository
    orders: OrdersRepository
    payments: PaymentsRepository
    pickups: PickupsRepository
    policy: PolicyRepository
    reservations: ReservationsRepository
    reviews: ReviewsRepository
    settlement: SettlementRepository
    sale_products: SaleProductsRepository
    stock: StockRepository
    stores: StoresRepository
    tills: TillsRepository
    users: UsersRepository

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: str | None,
        before: dict[str, Any] | msgspec.Struct | None,  # JSON snapshots: a dict or a Struct of JSON values
        after: dict[str, Any] | msgspec.Struct | None,
    ) -> None: ...

    def emit(self, event_type: str, payload: dict[str, Any]) -> str:
        """Append an event to the outbox in this transaction; returns its event_id."""
        ...
