"""The customer rpc channel in accounts mode: a store's own user asks HQ for its tenant's key and
gets an answer on its private reply prefix; the broker refuses a store that asks in another
store's or another tenant's name, so no store ever obtains a key that is not its tenant's."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edge.contracts import pii
from edge.contracts.customers import TenantKeyReply, rpc_subject
from tests.cloud.test_broker_isolation import connect_as, hq  # noqa: F401  (the accounts-mode HQ fixture)

pytestmark = pytest.mark.slow


async def ask(nc, tenant: str, store: str) -> bytes:
    return pii.decode_key(msgspec.json.decode(
        (await nc.request(rpc_subject(tenant, store, "keys.tenant"), b"{}", timeout=5)).data,
        type=TenantKeyReply).tenant_key)


async def test_each_store_gets_its_own_tenants_key_and_cannot_ask_in_another_stores_name(hq):  # noqa: F811
    errors: dict[str, list[str]] = {s: [] for s in hq.seeds}
    conns = {s: await connect_as(hq.hub.url, hq.seeds[s], t, s, errors[s])
             for t, s in (("demo", "demo-001"), ("acme", "acme-001"), ("acme", "acme-002"))}
    try:
        demo_key = await ask(conns["demo-001"], "demo", "demo-001")
        acme_key = await ask(conns["acme-001"], "acme", "acme-001")
        assert await ask(conns["acme-002"], "acme", "acme-002") == acme_key  # one key per tenant
        assert demo_key != acme_key
        for store, (tenant, victim) in (("acme-001", ("demo", "demo-001")), ("acme-002", ("acme", "acme-001"))):
            with pytest.raises((NatsTimeout, NoRespondersError, asyncio.TimeoutError)):
                await conns[store].request(rpc_subject(tenant, victim, "keys.tenant"), b"{}", timeout=1)
            assert any("permissions violation" in e.lower() for e in errors[store]), errors[store]
    finally:
        for nc in conns.values():
            await nc.close()
