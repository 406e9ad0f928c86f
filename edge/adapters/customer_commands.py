"""HQ's customer commands at the store, applied through the inbox exactly once.

`customer.erase` (GDPR): the customer's data key, row, indexes and cached balance go; the store's
orders keep their amounts and lose the link; `customer.erased` confirms it to HQ with the request
id. A store that was offline applies it from its durable consumer when it reconnects.
`customer.unlink` (retention): orders lose the link to customers inactive past the retention.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection

from edge.adapters.customer_keys import key_cache_for
from edge.adapters.inbox import Handler
from edge.adapters.uow import SqlUnitOfWork
from edge.contracts.customers import CMD_CUSTOMER_ERASE, CMD_CUSTOMER_UNLINK, EraseCustomer, UnlinkCustomers
from edge.contracts.events import Command
from edge.service import customers as cases
from edge.service.ports import Actor


def customer_handlers(settings: Any) -> dict[str, Handler]:
    def uow(conn: Connection, command: Command) -> SqlUnitOfWork:
        actor = Actor(tenant_id=settings.store.tenant_id, store_id=settings.store.store_id, user_id=None,
                      username=f"hq:{command.command_id}", roles=("system",))
        return SqlUnitOfWork(conn, actor, timezone=settings.store.timezone,
                             day_start_hour=settings.store.day_start_hour)

    def erase(conn: Connection, command: Command) -> str:
        cmd = msgspec.convert(dict(command.payload), EraseCustomer)
        vault = key_cache_for(settings.data_dir, settings.customers.kek_file)
        return cases.erase_customer(uow(conn, command), vault, cmd.customer_id, cmd.request_id)

    def unlink(conn: Connection, command: Command) -> str:
        cmd = msgspec.convert(dict(command.payload), UnlinkCustomers)
        cases.unlink_customers(uow(conn, command), cmd.request_id, list(cmd.customer_ids))
        return "applied"

    return {CMD_CUSTOMER_ERASE: erase, CMD_CUSTOMER_UNLINK: unlink}
