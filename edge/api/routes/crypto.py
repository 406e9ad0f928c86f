"""Crypto checkout at the lane, and the provider webhooks that settle it.

Webhook routes are public, but every byte is authenticated by the provider's verifier (see
`edge.service.incoming_webhooks`): a bad signature or a stale delivery gets 400 and changes
nothing; a replayed delivery is answered `duplicate` and changes nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar import Request, Response, get, post

from edge.adapters.qr_code import qr_data_url
from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, requires
from edge.contracts.bounds import Note
from edge.domain.errors import NotFound
from edge.service import crypto_payments
from edge.service.incoming_webhooks import ProviderUnavailable, VerifiedEvent
from edge.service.orders import present_payment
from edge.service.payment_ports import HostedCharge
from edge.service.ports import Actor

log = structlog.get_logger()

# A store that does not run the provider answers 404; a provider that cannot be asked, 503.
WEBHOOK_OPT = {"public": True, "request_media_type": "application/json", "problems": (404, 503)}


def _crypto(request: Request) -> Any:
    return services(request).extras["crypto"]


def _system(request: Request, reason: str) -> Actor:
    cfg = services(request).settings.store
    return Actor.system(cfg.tenant_id, cfg.store_id, reason)


async def _verified(request: Request, provider: str) -> VerifiedEvent:
    raw = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    event = _crypto(request).verifiers[provider].verify(raw, headers, time.time())
    log.info("webhook.received", provider=provider, type=event.type, event_id=event.event_id, ref=event.ref)
    return event


@post("/api/v1/payments/webhooks/btcpay", opt=WEBHOOK_OPT, operation_id="btcpayWebhook", status_code=200,
      request_max_body_size=64 * 1024)
async def btcpay_webhook(request: Request) -> dict[str, Any]:
    """BTCPay Server invoice webhooks (`BTCPay-Sig`). The delivery only says which invoice
    changed; its state is then read from BTCPay, so a forged or stale body can claim nothing."""
    crypto = _crypto(request)
    if "btcpay" not in crypto.verifiers:
        raise NotFound("this store does not take BTCPay payments", code="provider-not-configured")
    event = await _verified(request, "btcpay")
    if not event.ref or not event.type.startswith("Invoice"):
        return {"status": "ignored"}
    try:
        charge = await crypto.provider.query(event.ref)
    except ConnectionError:
        raise ProviderUnavailable("BTCPay could not be asked about the invoice; deliver again later") from None
    if charge is None:
        return {"status": "ignored"}
    return await services(request).uow.run(_system(request, "btcpay-webhook"),
                                           lambda u: crypto_payments.apply_charge(u, event, charge))


@post("/api/v1/payments/crypto/callback", opt=WEBHOOK_OPT, operation_id="cryptoCallback", status_code=200,
      request_max_body_size=64 * 1024)
async def crypto_callback(request: Request) -> dict[str, Any]:
    """The demo crypto stub's signed callback (`X-Stub-Signature`, ±300 s)."""
    crypto = _crypto(request)
    if "crypto-stub" not in crypto.verifiers:
        raise NotFound("this store does not run the crypto stub", code="provider-not-configured")
    event = await _verified(request, "crypto-stub")
    body = event.body
    amount = body.get("amount_cents")
    charge = HostedCharge(charge_id=event.charge_id or "", ref=event.ref or "", status=str(body.get("status") or ""),
                          amount_cents=amount if isinstance(amount, int) else 0,
                          received_cents=amount if isinstance(amount, int) else 0)
    return await services(request).uow.run(_system(request, "crypto-callback"),
                                           lambda u: crypto_payments.apply_charge(u, event, charge))


@get("/api/v1/payments/{payment_id:str}/checkout", guards=[requires(*STORE_STAFF)], operation_id="getCryptoCheckout")
async def crypto_checkout(request: Request, payment_id: str) -> dict[str, Any]:
    """What the lane shows the customer: the QR of the checkout, and how long it stays open."""
    row = await services(request).uow.read(actor(request), lambda u: u.payments.get(payment_id))
    if row is None or row.method != "crypto" or row.kind != "sale":
        raise NotFound("no such crypto payment", code="payment-not-found")
    out = present_payment(row) | {"order_id": row.order_id, "expires_at": None, "seconds_left": None,
                                  "payment_link": None, "provider_status": None, "qr": None}
    if row.status != "awaiting":
        return out
    try:
        charge = await _crypto(request).provider.query(payment_id)
    except ConnectionError:
        charge = None  # the lane keeps the checkout link it has and asks again
    if charge is not None:
        out |= {"checkout_url": charge.checkout_url or row.checkout_url, "expires_at": charge.expires_at,
                "payment_link": charge.payment_link, "provider_status": charge.provider_status}
        if charge.expires_at:
            left = datetime.fromisoformat(charge.expires_at.replace("Z", "+00:00")) - datetime.now(UTC)
            out["seconds_left"] = max(int(left.total_seconds()), 0)
    target = out.get("checkout_url")
    if target:
        out["qr"] = qr_data_url(target)
    return out


class WithdrawIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Note = "the customer did not pay by crypto"


@post("/api/v1/payments/{payment_id:str}/cancel", guards=[requires(*STORE_STAFF)], operation_id="cancelCryptoPayment",
      status_code=200, opt={"problems": (503,)})
async def cancel_crypto_payment(request: Request, payment_id: str, data: WithdrawIn) -> Response:
    """Stop waiting for a crypto payment: the provider withdraws the invoice first, so nothing
    can be paid to it; an order with nothing else paid is then cancelled. If the customer paid
    meanwhile, the payment is recorded instead (and a later payment becomes a refund owed)."""
    s, who = services(request), actor(request)
    await s.uow.read(who, lambda u: crypto_payments.crypto_sale(u, payment_id))
    try:
        charge = await _crypto(request).provider.cancel(payment_id)
    except ConnectionError:
        raise ProviderUnavailable("the crypto provider could not be reached to withdraw the invoice; "
                                  "try again (the customer must not pay meanwhile)") from None
    reason = data.reason.strip() or WithdrawIn().reason
    return await s.idempotency.run(
        request, who, lambda u: crypto_payments.cancel_after_withdrawal(u, payment_id, charge, reason),
        status_code=200)


ROUTES = [btcpay_webhook, crypto_callback, crypto_checkout, cancel_crypto_payment]
