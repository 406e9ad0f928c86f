"""A stand-in for HQ's side of the store's rpc channel: a tiny NATS responder on its own thread.

It answers `keys.tenant` with one tenant key, keeps what stores escrow, answers `keys.fetch` and
`customers.view` with the erasures it was told about, and `customers.lookup` from what was
escrowed (no profile: enough to say "not found here"). The real responder is HQ's
(cloud/customer_rpc.py); this one lets the store's tests run without the cloud.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import msgspec
import nats

from edge.contracts import pii
from edge.contracts.customers import (
    CustomerRecord,
    EscrowReply,
    EscrowRequest,
    FetchKeysReply,
    FetchKeysRequest,
    LookupReply,
    LookupRequest,
    TenantKeyReply,
    ViewReply,
    ViewRequest,
    parse_rpc_subject,
    rpc_subject_filter,
)


class FakeHq:
    def __init__(self, nats_url: str, tenant_key: bytes | None = None):
        self.nats_url = nats_url
        self.tenant_key = tenant_key or pii.new_key()
        self.escrowed: dict[str, EscrowRequest] = {}
        self.erased: set[str] = set()
        self.records: dict[tuple[str, str], CustomerRecord] = {}  # (kind, digest) -> a customer of another store
        self.requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._nc: Any = None

    def start(self) -> FakeHq:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._nc = await nats.connect(self.nats_url, name="fake-hq")
        await self._nc.subscribe(rpc_subject_filter(), cb=self._answer)

    async def _answer(self, msg: Any) -> None:
        parsed = parse_rpc_subject(msg.subject)
        op = parsed[2] if parsed else ""
        self.requests.append(op)
        reply: msgspec.Struct
        if op == "keys.tenant":
            reply = TenantKeyReply(tenant_key=pii.encode_key(self.tenant_key))
        elif op == "keys.escrow":
            req = msgspec.json.decode(msg.data, type=EscrowRequest)
            if req.customer_id in self.erased:
                reply = EscrowReply(ok=False, erased=True)
            else:
                self.escrowed[req.customer_id] = req
                reply = EscrowReply(ok=True)
        elif op == "keys.fetch":
            fetch = msgspec.json.decode(msg.data, type=FetchKeysRequest)
            reply = FetchKeysReply(keys={c: self.escrowed[c].data_key for c in fetch.customer_ids
                                         if c in self.escrowed and c not in self.erased},
                                   erased=[c for c in fetch.customer_ids if c in self.erased])
        elif op == "customers.view":
            view = msgspec.json.decode(msg.data, type=ViewRequest)
            reply = ViewReply(found=False, erased=view.customer_id in self.erased)
        elif op == "customers.lookup":
            lookup = msgspec.json.decode(msg.data, type=LookupRequest)
            found = self.records.get((lookup.index.kind, lookup.index.digest))
            reply = LookupReply(customers=[found] if found and found.customer_id not in self.erased else [])
        else:
            await msg.respond(b'{"error": "bad_request"}')
            return
        await msg.respond(msgspec.json.encode(reply))

    def add_customer_of_another_store(self, tenant_id: str, customer_id: str, profile: pii.CustomerProfile,
                                      balance_points: int = 0) -> CustomerRecord:
        """A customer HQ holds (signed up elsewhere), found by their email, phone and card code."""
        keys, data_key = pii.TenantKeys(self.tenant_key), pii.new_key()
        record = CustomerRecord(customer_id=customer_id, data_key=pii.encode_key(data_key),
                                profile=pii.seal_profile(data_key, tenant_id, customer_id, profile),
                                home_store_id="store-elsewhere", created_at="2026-01-02T03:04:05.000Z",
                                updated_at="2026-01-02T03:04:05.000Z", balance_points=balance_points,
                                as_of="2026-11-30T00:00:00.000Z")
        for kind, value in (("email", profile.email), ("phone", profile.phone), ("card", profile.card_code)):
            if value:
                self.records[(kind, pii.blind_index(keys, kind, value))] = record  # type: ignore[arg-type]
        return record

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def _close() -> None:
            if self._nc is not None:
                await self._nc.close()

        asyncio.run_coroutine_threadsafe(_close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
