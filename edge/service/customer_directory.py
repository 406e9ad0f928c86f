"""The store's customer directory: its own cache first, HQ when HQ answers.

- **Keys.** A store with HQ configured gets its tenant key from HQ (`keys.tenant`) on first
  contact and, until then, answers a sign-up with 503. A store without HQ (the demo, a standalone
  shop) mints its own tenant key.
- **Sign-up** works offline: the id and the data key are minted here; the data key and blind
  indexes go to HQ over the rpc channel (`keys.escrow`) as soon as it answers (the sweep retries).
- **Lookup** reads the local blind index; a miss asks HQ (`customers.lookup`) and caches the answer.
- **360** merges this store's orders, returns and holds with HQ's half (`customers.view`): every
  store's purchases and the ledger balance. `source` says whose profile and balance are shown,
  `offline` whether HQ could be asked.
- **Erasure first.** Any HQ answer saying a customer is erased makes the store erase them at once,
  before it serves them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from edge.contracts import pii
from edge.contracts.customers import (
    RPC_ESCROW,
    RPC_FETCH_KEYS,
    RPC_LOOKUP,
    RPC_TENANT_KEY,
    RPC_VIEW,
    BlindIndex,
    EscrowReply,
    FetchKeysReply,
    FetchKeysRequest,
    LookupReply,
    LookupRequest,
    TenantKeyReply,
    ViewReply,
    ViewRequest,
)
from edge.contracts.loyalty import LoyaltyProgram
from edge.domain.errors import NotFound
from edge.service import customers as cases
from edge.service import loyalty
from edge.service.customer_ports import (
    CustomerChanges,
    CustomerVault,
    HqLink,
    HqRefused,
    HqUnavailable,
    IndexEntry,
    NewCustomer,
)
from edge.service.ports import Actor

log = structlog.get_logger()

EVICT_EVERY_S = 60.0


class CustomerDirectory:
    def __init__(self, uow: Any, vault: CustomerVault, hq: HqLink | None, *, tenant_id: str, store_id: str,
                 region: str, cache_max: int, cache_days: int,
                 program: Callable[[], LoyaltyProgram] = LoyaltyProgram):
        self.uow = uow
        self.vault = vault
        self.hq = hq  # None: no HQ configured (a standalone store)
        self.tenant_id = tenant_id
        self.store_id = store_id
        self.region = region
        self.cache_max = cache_max
        self.cache_days = cache_days
        self.program = program
        self._evicted_at = float("-inf")

    @property
    def offline(self) -> bool:
        return self.hq is not None and not self.hq.available

    def system(self, reason: str) -> Actor:
        return Actor.system(self.tenant_id, self.store_id, reason)

    async def _ask(self, op: str, body: Any, reply_type: type) -> Any:
        """HQ's answer, or None when HQ is not configured or does not answer."""
        if self.hq is None or not self.hq.available:
            return None
        try:
            return await self.hq.request(op, body, reply_type)
        except HqUnavailable:
            return None
        except HqRefused as refused:
            log.warning("customers.hq_refused", op=op, code=refused.code)
            return None

    # -- keys -----------------------------------------------------------------------------------
    async def ensure_tenant_key(self) -> bool:
        """True once the store holds its tenant key (minted here when there is no HQ)."""
        if self.vault.tenant_keys(self.tenant_id) is not None:
            return True
        if self.hq is None:
            self.vault.put_tenant_key(self.tenant_id, pii.new_key(), "local")  # type: ignore[attr-defined]
            log.info("customers.tenant_key_minted", tenant_id=self.tenant_id)
            return True
        if self.hq is not None:  # ask even while `available` is unknown: this is the first contact
            try:
                reply = await self.hq.request(RPC_TENANT_KEY, None, TenantKeyReply)
            except (HqUnavailable, HqRefused):
                return False
            self.vault.put_tenant_key(self.tenant_id, pii.decode_key(reply.tenant_key), "hq")  # type: ignore[attr-defined]
            log.info("customers.tenant_key_received", tenant_id=self.tenant_id)
        return True

    # -- sign-up and changes ----------------------------------------------------------------------
    async def prepare_create(self, actor: Actor, new: NewCustomer) -> None:
        """Before a sign-up's transaction (`customers.create_customer`): the tenant key, and the
        customers HQ knows with this email or phone (signed up at another store), cached here so
        the sign-up finds them (409) instead of duplicating them."""
        if self.vault.tenant_keys(actor.tenant_id) is None:
            await self.ensure_tenant_key()
        keys = self.vault.tenant_keys(actor.tenant_id)
        if keys is not None and self.hq is not None:
            await self._pull_matches(actor, keys, new.email, new.phone)

    async def _pull_matches(self, actor: Actor, keys: pii.TenantKeys, email: str | None, phone: str | None) -> None:
        for kind, raw in (("email", email), ("phone", phone)):
            if not raw:
                continue
            try:
                value = pii.normalize(kind, raw, self.region)  # type: ignore[arg-type]
            except pii.PiiError:
                continue  # the use case names the bad field
            await self._lookup_hq(actor, IndexEntry(kind, pii.blind_index(keys, kind, value)))  # type: ignore[arg-type]

    async def patch(self, actor: Actor, customer_id: str, changes: CustomerChanges) -> None:
        await self._erase_if_erased(actor, customer_id)
        await self.uow.run(actor, lambda u: cases.patch_customer(u, self.vault, customer_id, changes,
                                                                 region=self.region))
        await self.escrow_pending()

    # -- lookup ---------------------------------------------------------------------------------
    async def search(self, actor: Actor, q: str) -> list[dict[str, Any]]:
        keys = self.vault.tenant_keys(actor.tenant_id)
        if keys is None and not await self.ensure_tenant_key():
            return []  # no key: nothing can have been cached here, and HQ does not answer
        keys = self.vault.tenant_keys(actor.tenant_id)
        assert keys is not None
        entry = cases.lookup_entry(keys, q, self.region)
        row = await self.uow.read(actor, lambda u: cases.find_local(u, entry))
        if row is not None:
            if await self._erase_if_erased(actor, row.customer_id):
                row = None
        ids = [row.customer_id] if row is not None else await self._lookup_hq(actor, entry)
        if not ids:
            return []
        await self.uow.run(actor, lambda u: cases.touch(u, ids))
        out = []
        for customer_id in ids:
            try:
                opened = await self.uow.read(actor, lambda u, c=customer_id: cases.open_customer(u, self.vault, c))
            except NotFound:
                continue
            block = await self.uow.read(actor, lambda u, c=customer_id: loyalty.block(u, c, offline=self.offline))
            # The balance the lane lists is the ledger's (HQ's cached balance plus this store's entries since).
            out.append({**cases.summary(opened, block["tier"]), "balance_points": block["balance_points"]})
        return out

    async def _lookup_hq(self, actor: Actor, entry: IndexEntry) -> list[str]:
        reply = await self._ask(RPC_LOOKUP, LookupRequest(index=BlindIndex(entry.kind, entry.digest)),  # type: ignore[arg-type]
                                LookupReply)
        if reply is None or not reply.customers:
            return []
        return await self.uow.run(actor, lambda u: cases.cache_records(u, self.vault, reply.customers))

    async def _erase_if_erased(self, actor: Actor, customer_id: str) -> bool:
        """Ask HQ (when it answers) whether this customer was erased; if so, erase here first."""
        reply = await self._ask(RPC_FETCH_KEYS, FetchKeysRequest(customer_ids=[customer_id]), FetchKeysReply)
        if reply is None or customer_id not in reply.erased:
            return False
        await self.uow.run(self.system("customer-erase"),
                           lambda u: cases.erase_customer(u, self.vault, customer_id, None))
        return True

    # -- the 360 view ---------------------------------------------------------------------------
    async def view(self, actor: Actor, customer_id: str) -> dict[str, Any]:
        hq = await self._ask(RPC_VIEW, ViewRequest(customer_id=customer_id), ViewReply)
        if hq is not None and hq.erased:
            await self.uow.run(self.system("customer-erase"),
                               lambda u: cases.erase_customer(u, self.vault, customer_id, None))
            raise NotFound("no such customer", code="customer-not-found")
        if hq is not None and hq.found:
            await self.uow.run(actor, lambda u: u.customers.update(customer_id, {
                "balance_points": hq.balance_points, "balance_as_of": hq.as_of or u.now, "last_seen_at": u.now,
                "earned_in_window": hq.earned_in_window}))
        else:
            await self.uow.run(actor, lambda u: cases.touch(u, [customer_id]))

        def local(u: Any) -> tuple[cases.OpenedCustomer, dict[str, list[dict[str, Any]]]]:
            return cases.open_customer(u, self.vault, customer_id), cases.local_history(u, customer_id)

        opened, history = await self.uow.read(actor, local)
        offline = self.offline
        view = cases.present(opened)
        # HQ's balance cached above plus this store's entries since (edge.service.loyalty).
        view["loyalty"] = await self.uow.read(actor, lambda u: loyalty.block(u, customer_id, offline=offline))
        view["loyalty"]["balance_as_of"] = opened.row.balance_as_of
        purchases = {p["order_id"]: p for p in history["recent_purchases"]}
        returns = {r["return_id"]: r for r in history["returns"]}
        pickups = {p["order_id"]: p for p in history["open_pickups"]}
        if hq is not None and hq.found:
            for p in hq.recent_purchases:
                purchases.setdefault(p.order_id, {"order_id": p.order_id, "store_id": p.store_id, "at": p.at,
                                                  "total_cents": p.total_cents, "currency": p.currency,
                                                  "status": p.status, "points_earned": p.points_earned})
            for r in hq.returns:
                returns.setdefault(r.return_id, {"return_id": r.return_id, "order_id": r.order_id,
                                                 "store_id": r.store_id, "at": r.at, "refund_cents": r.refund_cents})
            for k in hq.open_pickups:
                pickups.setdefault(k.order_id, {"order_id": k.order_id, "store_id": k.store_id,
                                                "status": k.status, "at": k.at})
        view["recent_purchases"] = sorted(purchases.values(), key=lambda p: p["at"], reverse=True)[:cases.RECENT_ORDERS]
        view["returns"] = sorted(returns.values(), key=lambda r: r["at"], reverse=True)
        view["open_pickups"] = sorted(pickups.values(), key=lambda p: p["at"], reverse=True)
        view["source"] = "hq" if hq is not None and hq.found else "cache"
        view["offline"] = offline
        return view

    # -- background: escrow and the bounded cache ---------------------------------------------------
    async def escrow_pending(self) -> int:
        """Hand HQ the keys and indexes of customers created or changed here; True per accepted one."""
        if self.hq is None or self.vault.tenant_keys(self.tenant_id) is None:
            return 0
        actor = self.system("customer-escrow")
        items = await self.uow.read(actor, lambda u: cases.escrow_requests(u, self.vault))
        done = 0
        for item in items:
            try:
                reply = await self.hq.request(RPC_ESCROW, item.request, EscrowReply)
            except HqUnavailable:
                return done  # try again on the next sweep
            except HqRefused as refused:
                log.warning("customers.escrow_refused", customer_id=item.request.customer_id, code=refused.code)
                continue
            customer_id = item.request.customer_id
            if reply.erased:
                await self.uow.run(actor, lambda u, c=customer_id: cases.erase_customer(u, self.vault, c, None))
            elif reply.ok:
                await self.uow.run(actor, lambda u, c=customer_id, v=item.version: cases.mark_escrowed(u, c, v))
                done += 1
        if done:
            log.info("customers.escrowed", count=done)
        return done

    async def evict(self) -> int:
        return await self.uow.run(self.system("customer-cache"), lambda u: cases.evict(
            u, self.vault, cache_max=self.cache_max, cache_days=self.cache_days))

    async def sweep(self) -> None:
        if self.vault.tenant_keys(self.tenant_id) is None:
            await self.ensure_tenant_key()
        await self.escrow_pending()
        now = time.monotonic()
        if now - self._evicted_at >= EVICT_EVERY_S:  # the bound is loose by design: a minute's sign-ups
            self._evicted_at = now
            await self.evict()
