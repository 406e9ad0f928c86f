"""`GET /api/v1/sync/status`: what the outbox holds, read from the DB, plus the relay's link state.

Counts come from the database, not the relay's memory, so the answer is right after a restart
and when replication is switched off (then `link` is "disabled" and the outbox only grows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.adapters.db import Database
from edge.adapters.relay import RelayStatus, pending_count
from edge.domain.ids import parse_iso, utc_now

if TYPE_CHECKING:
    from edge.adapters.relay import Relay


async def sync_status(db: Database, relay: Relay | None) -> RelayStatus:
    pending, oldest = await db.read(pending_count)
    age = None
    if oldest is not None:
        age = round(max(0.0, (utc_now() - parse_iso(oldest)).total_seconds()), 3)
    if relay is None:
        return RelayStatus(
            outbox_pending=pending, oldest_pending_age_s=age, last_ack_at=None, link="disabled"
        )
    return RelayStatus(
        outbox_pending=pending,
        oldest_pending_age_s=age,
        last_ack_at=relay.last_ack_at,
        link=relay.link,
        recent_errors=list(relay.recent_errors),
    )
