"""Replication wiring for the edge process: the outbox relay up, the command inbox down.

On only when `sync.nats_url` (or NOVAPOS_NATS_URL) is set. HQ commands are applied through the
same use cases the API uses, inside the inbox's transaction, so an HQ catalog change is
audited, versioned and visible in a lane's `since=` delta exactly like a local one.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import Connection

from edge.adapters.customer_commands import customer_handlers
from edge.adapters.inbox import Handler, Inbox, InboxConfig
from edge.adapters.relay import Relay, RelayConfig
from edge.adapters.uow import SqlUnitOfWork
from edge.contracts.events import Command
from edge.service import bopis, catalog, policy, users
from edge.service.ports import Actor

log = structlog.get_logger()


def _uow(conn: Connection, command: Command, settings: Any) -> SqlUnitOfWork:
    actor = Actor(tenant_id=settings.store.tenant_id, store_id=settings.store.store_id, user_id=None,
                  username=f"hq:{command.command_id}", roles=("system",))
    return SqlUnitOfWork(conn, actor, timezone=settings.store.timezone, day_start_hour=settings.store.day_start_hour)


def hq_handlers(settings: Any) -> dict[str, Handler]:
    """Down-command handlers: (conn, command) -> outcome, run in the inbox's transaction."""

    def catalog_command(conn: Connection, command: Command) -> str:
        return catalog.apply_hq_catalog(_uow(conn, command, settings), command.type, command.version,
                                        dict(command.payload))

    def user_command(conn: Connection, command: Command) -> str:
        uow = _uow(conn, command, settings)
        payload = command.payload
        existing = uow.users.by_username(payload["username"])
        if existing is None:
            # HQ never ships passwords: the account can sign in once a manager sets one locally.
            users.add_user(uow, username=payload["username"], password_hash=payload.get("password_hash") or "!",
                           roles=list(payload.get("roles") or ["cashier"]), store_id=settings.store.store_id)
            if payload.get("disabled"):
                users.change_user(uow, username=payload["username"], disabled=True)
            return "applied"
        users.change_user(uow, username=payload["username"], roles=payload.get("roles"),
                          disabled=payload.get("disabled"))
        return "applied"

    def policy_command(conn: Connection, command: Command) -> str:
        return policy.apply_hq_policy(_uow(conn, command, settings), command_id=command.command_id,
                                      version=command.version, issued_at=command.issued_at,
                                      payload=dict(command.payload))

    def bopis_reserve(conn: Connection, command: Command) -> str:
        return bopis.receive(_uow(conn, command, settings), command.command_id, dict(command.payload))

    def bopis_cancel(conn: Connection, command: Command) -> str:
        return bopis.cancel_from_hq(_uow(conn, command, settings), dict(command.payload))

    return {
        "bopis.reserve": bopis_reserve,
        "bopis.cancel": bopis_cancel,
        "catalog.upsert": catalog_command,
        "price.set": catalog_command,
        "tax.set": catalog_command,
        "user.upsert": user_command,
        "role.set": user_command,
        "policy.set": policy_command,
        **customer_handlers(settings),
        **EXTRA_HANDLERS,
    }


# Feature packages (e.g. BOPIS reservations) add their command handlers here.
EXTRA_HANDLERS: dict[str, Handler] = {}


async def start_replication(services: Any) -> None:
    settings = services.settings
    if not settings.sync.nats_url:
        log.info("replication.off", reason="no sync.nats_url configured")
        return
    cfg = settings.store
    # With its own NATS user the store may publish and read, not create streams or consumers:
    # HQ provisions both when the store enrolls.
    credentials = settings.sync.credentials or None
    manage = settings.sync.manage_stream and credentials is None
    services.relay = Relay(services.db, RelayConfig(
        nats_url=settings.sync.nats_url, tenant_id=cfg.tenant_id, store_id=cfg.store_id,
        in_flight=settings.sync.in_flight, manage_stream=manage, credentials=credentials))
    inbox = Inbox(services.db, InboxConfig(nats_url=settings.sync.nats_url, tenant_id=cfg.tenant_id,
                                           store_id=cfg.store_id, hub_domain=settings.sync.hub_domain or None,
                                           manage_stream=manage, manage_consumer=credentials is None,
                                           credentials=credentials),
                  handlers=hq_handlers(settings))
    services.extras["inbox"] = inbox
    await services.relay.start()
    await inbox.start()
    log.info("replication.on", nats_url=settings.sync.nats_url, store=cfg.store_id)


async def stop_replication(services: Any) -> None:
    inbox = (services.extras or {}).get("inbox")
    if inbox is not None:
        await inbox.stop()
    if services.relay is not None:
        await services.relay.stop()
