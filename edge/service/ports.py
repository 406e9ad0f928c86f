"""Ports the use cases depend on. Adapters implement them; fakes implement them in unit tests.

A use case is a plain function `def handler(uow: UnitOfWork, cmd) -> result`. It runs inside
one transaction in the writer thread: everything it writes (state, audit row, outbox events,
the idempotency record) commits together or not at all. It reaches storage through the unit
of work's repositories (`uow.orders`, `uow.stock`, ...), typed by `repository_ports`.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

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


class UnitOfWork(Protocol):
    actor: Actor
    now: str  # the transaction's timestamp (UTC ISO 8601), one value for every row it writes
    business_day: str  # the store-local business day of `now` (ISO date)

    # Repositories, built on first use and living as long as the transaction.
    audit_log: AuditLogRepository
    catalog: CatalogRepository
    idempotency: IdempotencyRepository
    lanes: LanesRepository
    orders: OrdersRepository
    payments: PaymentsRepository
    policy: PolicyRepository
    reservations: ReservationsRepository
    reviews: ReviewsRepository
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
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None: ...

    def emit(self, event_type: str, payload: dict[str, Any]) -> str:
        """Append an event to the outbox in this transaction; returns its event_id."""
        ...
