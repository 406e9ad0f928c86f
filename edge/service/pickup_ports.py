"""The port of BOPIS pickups: the typed row and the repository the use cases read and write."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from edge.contracts.bopis import PickupLine


class PickupRow(msgspec.Struct, frozen=True, kw_only=True):
    """A web order HQ allocated to this store (its tenant is the repository's)."""

    order_id: str
    status: str
    lines: list[PickupLine]  # as HQ sent them (a JSON column)
    prepaid: bool
    hold_hours: int
    reservation_id: str | None
    sale_order_id: str | None
    reason: str | None
    command_id: str
    received_at: str
    updated_at: str


class PickupsRepository(Protocol):
    def get(self, order_id: str) -> PickupRow | None: ...
    def insert(self, pickup: PickupRow) -> None: ...
    def update(self, order_id: str, values: dict[str, Any]) -> None: ...
    def by_reservation(self, reservation_id: str) -> PickupRow | None: ...
    def search(self, *, statuses: list[str] | None, limit: int) -> list[PickupRow]: ...
