"""HQ's side of the stores' request/reply channel: tenant keys, data-key escrow, lookups, 360.

One subscription per hub link on `novapos.<tenant>.*.rpc.>` (`rpc_subject_filter`): in accounts
mode the link is the tenant's account, so only that tenant's stores can publish there (the broker
lets each store publish only on its own `novapos.<tenant>.<store>.rpc.>`); in dev mode one
subscription sees every tenant. Either way a request is answered only when the subject's tenant
is the link's tenant (accounts mode) and the store belongs to that tenant (`store_owners`; a
store first heard of here is claimed for it, as ingest does). Replies go to the store's private
reply prefix, core NATS only: no stream ever keeps a key or a blind index.

Answers are msgspec JSON: the op's reply type, or `RpcError{error}` with a stable code. Nothing
personal is logged: customer ids and ops only.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import structlog
from sqlalchemy import Connection, select

from cloud import customers
from cloud.clock import now_iso
from cloud.db import CloudDB
from cloud.projections import dialect_insert
from cloud.schema import store_owners
from edge.contracts import pii
from edge.contracts.customers import (
    RPC_ESCROW,
    RPC_FETCH_KEYS,
    RPC_LOOKUP,
    RPC_TENANT_KEY,
    RPC_VIEW,
    EscrowRequest,
    FetchKeysRequest,
    LookupRequest,
    RpcError,
    TenantKeyReply,
    ViewRequest,
    encode,
    parse_rpc_subject,
    rpc_subject_filter,
)
from edge.contracts.envelope import _token

log = structlog.get_logger()

MAX_REQUEST_BYTES = 64 * 1024


class Refused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class CustomerRpc:
    def __init__(self, db: CloudDB, keys: Any):
        self.db = db
        self.keys = keys
        self._owners: dict[str, str] = {}
        self._subs: dict[str | None, Any] = {}
        self.answered = 0

    async def attach(self, link: Any) -> None:
        """Answer the stores' requests arriving on this link (idempotent per link)."""
        if link.tenant_id in self._subs:
            return

        async def on_request(msg: Any) -> None:
            await self._answer(link.tenant_id, msg)

        # A queue group: with HQ scaled out, one instance answers each request, not all of them.
        self._subs[link.tenant_id] = await link.nc.subscribe(rpc_subject_filter(link.tenant_id),
                                                             queue="novapos-hq-rpc", cb=on_request)

    async def _answer(self, account_tenant: str | None, msg: Any) -> None:
        if not msg.reply:
            return
        parsed = parse_rpc_subject(msg.subject)
        op = parsed[2] if parsed else "?"
        try:
            if parsed is None or len(msg.data) > MAX_REQUEST_BYTES:
                raise Refused("bad_request")
            tenant, store = await self._authorise(account_tenant, parsed[0], parsed[1])
            reply = await self.handle(tenant, store, op, msg.data)
        except Refused as exc:
            log.warning("customer_rpc.refused", op=op, reason=exc.code, subject=msg.subject[:200])
            reply = RpcError(error=exc.code)
        except (msgspec.ValidationError, msgspec.DecodeError, pii.PiiError):
            reply = RpcError(error="bad_request")
        except Exception as exc:
            log.warning("customer_rpc.failed", op=op, error=type(exc).__name__)
            reply = RpcError(error="unavailable")
        try:
            await msg.respond(encode(reply))
            self.answered += 1
        except Exception as exc:  # the store gave up waiting or the link dropped: it retries
            log.info("customer_rpc.reply_lost", op=op, error=type(exc).__name__)

    async def _authorise(self, account_tenant: str | None, tenant_token: str, store_token: str) -> tuple[str, str]:
        if account_tenant is not None and tenant_token != _token(account_tenant):
            raise Refused("forbidden")  # cannot happen through the broker's permissions; checked anyway
        tenant = account_tenant or tenant_token
        owner = self._owners.get(store_token)
        if owner is None:
            owner = await self.db.write(_claim_store, store_token, tenant, now_iso(), system=True)
            self._owners[store_token] = owner
        if owner != tenant:
            raise Refused("forbidden")
        return tenant, store_token

    async def handle(self, tenant: str, store: str, op: str, data: bytes) -> Any:
        """One request's answer (the reply struct); also what tests call without NATS."""
        now = now_iso()
        keys = self.keys
        if op == RPC_TENANT_KEY:
            key = await self.db.write(lambda c: keys.tenant_key(c, tenant, now), tenant_id=tenant)
            log.info("customer_rpc.tenant_key", tenant_id=tenant, store_id=store)
            return TenantKeyReply(tenant_key=pii.encode_key(key))
        if op == RPC_ESCROW:
            req = msgspec.json.decode(data, type=EscrowRequest)
            return await self.db.write(customers.escrow, keys, tenant, store, req, now, tenant_id=tenant)
        if op == RPC_LOOKUP:
            lreq = msgspec.json.decode(data, type=LookupRequest)
            return await self.db.write(customers.lookup, keys, tenant, store, lreq.index, now, tenant_id=tenant)
        if op == RPC_FETCH_KEYS:
            freq = msgspec.json.decode(data, type=FetchKeysRequest)
            return await self.db.write(customers.fetch_keys, keys, tenant, store, list(freq.customer_ids), now,
                                       tenant_id=tenant)
        if op == RPC_VIEW:
            vreq = msgspec.json.decode(data, type=ViewRequest)
            return await self.db.write(customers.view_reply, tenant, store, vreq.customer_id, now, tenant_id=tenant)
        raise Refused("bad_request")

    async def close(self) -> None:
        for sub in self._subs.values():
            with contextlib.suppress(Exception):  # the link is closing anyway
                await asyncio.wait_for(sub.unsubscribe(), 2)
        self._subs.clear()


def _claim_store(conn: Connection, store_id: str, tenant_id: str, now: str) -> str:
    """The store's owning tenant; a store first heard of here is claimed by the tenant it spoke for
    (in accounts mode the broker already proved that)."""
    conn.execute(dialect_insert(conn, store_owners).values(store_id=store_id, tenant_id=tenant_id, claimed_at=now,
                                                           claimed_by="rpc")
                 .on_conflict_do_nothing(index_elements=["store_id"]))
    return conn.execute(select(store_owners.c.tenant_id).where(store_owners.c.store_id == store_id)).scalar_one()
