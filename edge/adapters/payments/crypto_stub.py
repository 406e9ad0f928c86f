"""A stub hosted-charge provider (crypto checkout) that confirms through a signed callback.

`create_charge` returns a checkout URL at once; after `confirm_after_s` the stub marks the
charge confirmed and POSTs a signed event to the edge's callback route, retrying while the
edge does not answer 2xx (providers deliver at least once, so the edge dedupes by event id).

Signature (Stripe-style): header `X-Stub-Signature: t=<unix seconds>,v1=<hex>` where
v1 = HMAC-SHA256(secret, "<t>." + raw body). The edge checks it with
`edge.adapters.webhooks_in.StubVerifier`, through the one incoming-webhook mechanism.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
import structlog

from edge.service.payment_ports import HostedCharge

log = structlog.get_logger()

SIGNATURE_HEADER = "x-stub-signature"


def sign(secret: bytes, raw_body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class CryptoStubProvider:
    name = "crypto-stub"

    def __init__(self, secret: bytes, *, callback_url: str | None = None, confirm_after_s: float = 1.0,
                 deliver: Callable[[bytes, dict[str, str]], Awaitable[int]] | None = None,
                 clock: Callable[[], float] = time.time, outcome: str = "confirmed"):
        self.secret = secret
        self.callback_url = callback_url
        self.confirm_after_s = confirm_after_s
        self.outcome = outcome
        self.clock = clock
        self._deliver = deliver or self._post
        self.charges: dict[str, HostedCharge] = {}
        self.delivered: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task] = set()

    async def create_charge(self, ref: str, amount_cents: int, currency: str) -> HostedCharge:
        existing = self.charges.get(ref)
        if existing is not None:  # the same reference never makes a second charge
            return existing
        charge_id = f"ch_{uuid.uuid4().hex[:16]}"
        charge = HostedCharge(charge_id=charge_id, ref=ref, status="pending", amount_cents=amount_cents,
                              checkout_url=f"https://pay.example.invalid/c/{charge_id}")
        self.charges[ref] = charge
        if self.confirm_after_s >= 0:
            task = asyncio.create_task(self._confirm_later(ref))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return charge

    async def _confirm_later(self, ref: str) -> None:
        await asyncio.sleep(self.confirm_after_s)
        self.settle(ref, self.outcome)
        charge = self.charges[ref]
        event = {"id": f"evt_{uuid.uuid4().hex[:16]}", "type": f"charge.{charge.status}", "ref": ref,
                 "charge_id": charge.charge_id, "status": charge.status, "amount_cents": charge.amount_cents}
        body = json.dumps(event, separators=(",", ":")).encode()
        for attempt in range(8):
            headers = {SIGNATURE_HEADER: sign(self.secret, body, int(self.clock())),
                       "content-type": "application/json"}
            try:
                status = await self._deliver(body, headers)
            except Exception as err:  # the edge may be restarting: try again later
                log.info("crypto_stub.delivery_failed", ref=ref, error=type(err).__name__)
                status = 0
            if 200 <= status < 300:
                self.delivered.append(event)
                return
            await asyncio.sleep(min(0.2 * 2 ** attempt, 5))

    def settle(self, ref: str, status: str, amount_cents: int | None = None) -> None:
        """Test hook: the customer paid (`confirmed`) or walked away (`expired`). A wallet can
        send another amount than asked (`amount_cents`): the edge must believe only that."""
        charge = self.charges[ref]
        paid = charge.amount_cents if amount_cents is None else amount_cents
        self.charges[ref] = HostedCharge(charge_id=charge.charge_id, ref=ref, status=status,
                                         amount_cents=paid, checkout_url=charge.checkout_url)

    async def _post(self, body: bytes, headers: dict[str, str]) -> int:
        if not self.callback_url:
            return 0
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.post(self.callback_url, content=body, headers=headers)).status_code

    async def query(self, ref: str) -> HostedCharge | None:
        return self.charges.get(ref)

    async def refund(self, ref: str, amount_cents: int, *, refund_ref: str | None = None) -> HostedCharge:
        charge = self.charges.get(ref)
        if charge is None:
            return HostedCharge(charge_id="", ref=ref, status="failed", amount_cents=amount_cents)
        return HostedCharge(charge_id=charge.charge_id, ref=ref, status="refunded", amount_cents=amount_cents)

    async def cancel(self, ref: str) -> HostedCharge | None:
        charge = self.charges.get(ref)
        if charge is not None and charge.status == "pending":
            charge = self.charges[ref] = msgspec.structs.replace(charge, status="failed")
        return charge

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
