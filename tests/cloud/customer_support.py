"""A store's side of the customer channel, in a test: mint a data key, seal a profile, compute
blind indexes with the tenant key HQ hands out, and build the events a store would send."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import msgspec

from cloud.customer_rpc import CustomerRpc
from edge.contracts import pii
from edge.contracts.customers import BlindIndex, EscrowRequest, LookupRequest, TenantKeyReply
from edge.contracts.envelope import EventEnvelope

_seq = itertools.count(1)


def event(tenant: str, store: str, type_: str, payload: dict[str, Any], *, at: str = "2026-03-02T10:00:00.000Z",
          ) -> EventEnvelope:
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=next(_seq), type=type_,
                         occurred_at=at, business_day=at[:10], payload=payload)


class FakeStore:
    def __init__(self, rpc: CustomerRpc, tenant: str, store: str):
        self.rpc, self.tenant, self.store = rpc, tenant, store
        self.keys: pii.TenantKeys | None = None

    async def call(self, op: str, req: Any = None) -> Any:
        return await self.rpc.handle(self.tenant, self.store, op, msgspec.json.encode(req) if req else b"{}")

    async def tenant_keys(self) -> pii.TenantKeys:
        if self.keys is None:
            reply: TenantKeyReply = await self.call("keys.tenant")
            self.keys = pii.TenantKeys(pii.decode_key(reply.tenant_key))
        return self.keys

    async def index(self, kind: pii.LookupKind, raw: str) -> BlindIndex:
        keys = await self.tenant_keys()
        return BlindIndex(kind=kind, digest=pii.blind_index(keys, kind, pii.normalize(kind, raw)))

    async def create(self, name: str, email: str, phone: str, *, customer_id: str | None = None,
                     marketing: bool = False, updated_at: str = "2026-03-02T09:00:00.000Z", version: int = 1,
                     ) -> tuple[str, bytes, pii.CustomerProfile, EventEnvelope]:
        """Escrow a new customer's key and indexes (rpc) and return their `customer.upserted` event."""
        customer_id = customer_id or f"c{uuid.uuid4().hex[:20]}"
        data_key = pii.new_key()
        profile = pii.CustomerProfile(name=name, email=pii.normalize_email(email), phone=pii.normalize_phone(phone),
                                      card_code=pii.new_card_code())
        index = [await self.index("email", email), await self.index("phone", phone),
                 await self.index("card", profile.card_code or "")]
        reply = await self.call("keys.escrow", EscrowRequest(customer_id=customer_id,
                                                             data_key=pii.encode_key(data_key), index=index))
        assert reply.ok, reply
        return customer_id, data_key, profile, self.upserted(customer_id, data_key, profile, marketing=marketing,
                                                             updated_at=updated_at, version=version)

    def upserted(self, customer_id: str, data_key: bytes, profile: pii.CustomerProfile, *, marketing: bool = False,
                 updated_at: str = "2026-03-02T09:00:00.000Z", version: int = 1) -> EventEnvelope:
        return event(self.tenant, self.store, "customer.upserted", {
            "customer_id": customer_id, "profile": pii.seal_profile(data_key, self.tenant, customer_id, profile),
            "consents": {"marketing": marketing, "marketing_at": updated_at if marketing else None,
                         "e_receipts": True, "e_receipts_at": updated_at},
            "home_store_id": self.store, "created_at": "2026-03-02T09:00:00.000Z", "updated_at": updated_at,
            "version": version}, at=updated_at)

    async def lookup(self, kind: pii.LookupKind, raw: str) -> Any:
        return await self.call("customers.lookup", LookupRequest(index=await self.index(kind, raw)))

    def sale(self, order_id: str, total: int, customer_id: str | None, *, at: str = "2026-03-02T10:00:00.000Z",
             ) -> EventEnvelope:
        payload: dict[str, Any] = {"order_id": order_id, "total_cents": total, "currency": "USD",
                                   "lines": [{"sku": "TEA", "name": "Tea", "quantity": 1, "total_cents": total}],
                                   "tenders": [{"method": "cash", "amount_cents": total}]}
        if customer_id:
            payload["customer_id"] = customer_id
        return event(self.tenant, self.store, "order.completed", payload, at=at)

    def points(self, entry_id: str, customer_id: str, points: int, order_id: str | None = None) -> EventEnvelope:
        return event(self.tenant, self.store, "loyalty.entry", {
            "entry_id": entry_id, "customer_id": customer_id, "store_id": self.store,
            "kind": "earn" if points > 0 else "redeem", "points": points, "order_id": order_id,
            "at": "2026-03-02T10:00:00Z"})

    def erased(self, request_id: str, customer_id: str) -> EventEnvelope:
        return event(self.tenant, self.store, "customer.erased",
                     {"request_id": request_id, "customer_id": customer_id, "at": "2026-03-02T12:00:00.000Z"})
