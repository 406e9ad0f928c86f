"""HQ → store commands (catalog, prices, tax, policies, users/roles, BOPIS), via a cloud outbox.

`issue()` records a command in the `commands` table inside the caller's transaction, with a
per-(tenant, type) version that only grows; the publisher loop sends unpublished rows to the
tenant's command stream with `Nats-Msg-Id = command_id` and marks them after the PubAck. So a
command decided in a transaction (a BOPIS re-route during ingest) is never lost if NATS is
down, and never sent twice in effect (the store's inbox applies each `command_id` once).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError
from sqlalchemy import Connection, func, select, update

from cloud.clock import now_iso
from cloud.db import CloudDB
from cloud.schema import commands
from edge.contracts.envelope import command_stream_name, command_stream_subjects, subject_for_command
from edge.contracts.events import Command, encode_command

log = structlog.get_logger()

# What `POST /api/v1/hq/commands` may send. `policy.set` is not among them: policies change only
# through `/api/v1/hq/policies`, which validates, versions and audits them (cloud.policies).
COMMAND_TYPES = (
    "catalog.upsert",
    "price.set",
    "tax.set",
    "user.upsert",
    "role.set",
    "bopis.reserve",
    "bopis.cancel",
)


def command_stream_config(tenant_id: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=command_stream_name(tenant_id),
        subjects=command_stream_subjects(tenant_id),
        storage=StorageType.FILE,
        duplicate_window=120.0,
        max_age=90 * 86400.0,
        num_replicas=replicas,
    )


def issue(
    conn: Connection,
    tenant_id: str,
    store_id: str | None,
    type_: str,
    payload: dict[str, Any],
    *,
    actor: str,
    now: str,
) -> dict[str, Any]:
    current = (
        conn.execute(
            select(func.max(commands.c.version)).where(commands.c.tenant_id == tenant_id, commands.c.type == type_)
        )
    ).scalar()
    row = {
        "command_id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "store_id": store_id,
        "type": type_,
        "version": int(current or 0) + 1,
        "issued_at": now,
        "issued_by": actor,
        "payload": payload,
    }
    conn.execute(commands.insert().values(**row))
    return row


class CommandPublisher:
    """Publishes unpublished `commands` rows; one pass per tenant, oldest first."""

    def __init__(self, db: CloudDB, js: Any, *, ack_timeout_s: float = 5.0, replicas: int = 1):
        self.replicas = replicas
        self.db = db
        self.js = js
        self.ack_timeout_s = ack_timeout_s
        self._streams: set[str] = set()

    async def publish_pending(self, tenant_ids: list[str]) -> int:
        sent = 0
        for tenant in tenant_ids:
            async with self.db.tenant(tenant, write=False) as conn:
                rows = (
                    await conn.execute(
                        select(commands)
                        .where(commands.c.tenant_id == tenant, commands.c.published_at.is_(None))
                        .order_by(commands.c.issued_at, commands.c.version)
                        .limit(500)
                    )
                ).all()
            if not rows:
                continue
            await self._ensure_stream(tenant)
            done = []
            for r in rows:
                cmd = Command(
                    command_id=r.command_id,
                    tenant_id=r.tenant_id,
                    store_id=r.store_id,
                    type=r.type,
                    version=r.version,
                    issued_at=r.issued_at,
                    payload=r.payload,
                )
                subject = subject_for_command(r.tenant_id, r.store_id, r.type)
                try:
                    await asyncio.wait_for(
                        self.js.publish(subject, encode_command(cmd), headers={"Nats-Msg-Id": r.command_id}),
                        self.ack_timeout_s,
                    )
                except Exception as exc:  # unknown outcome: retried later under the same id
                    log.warning("commands.publish_failed", command_id=r.command_id, error=str(exc))
                    break
                done.append(r.command_id)
            if done:
                await self.db.write(_mark_published, done, now_iso(), tenant_id=tenant)
                sent += len(done)
        return sent

    async def _ensure_stream(self, tenant: str) -> None:
        if tenant in self._streams:
            return
        config = command_stream_config(tenant, self.replicas)
        try:
            await self.js.add_stream(config)
        except BadRequestError:
            await self.js.update_stream(config)
        self._streams.add(tenant)


def _mark_published(conn: Connection, command_ids: list[str], at: str) -> None:
    conn.execute(update(commands).where(commands.c.command_id.in_(command_ids)).values(published_at=at))
