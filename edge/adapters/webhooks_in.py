"""Webhook verifiers, one per provider, plugged into `edge.service.incoming_webhooks`.

    BtcpayVerifier   BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, raw body)>; the body's
                     `timestamp` (signed with it) must be within 15 minutes, since BTCPay retries
                     a failed delivery after 10 s, 1 min and 10 min with the same body
    StubVerifier     X-Stub-Signature: t=<unix s>,v1=<hex HMAC(secret, "<t>." + raw body)>, ±300 s
"""

from __future__ import annotations

from edge.service.incoming_webhooks import (
    Secrets,
    VerifiedEvent,
    WebhookRejected,
    check_window,
    decode_json_object,
    hmac_matches,
)

BTCPAY_SIGNATURE_HEADER = "btcpay-sig"
BTCPAY_TOLERANCE_S = 900
STUB_SIGNATURE_HEADER = "x-stub-signature"
STUB_TOLERANCE_S = 300


class BtcpayVerifier:
    provider = "btcpay"

    def __init__(self, secrets: Secrets, store_id: str, *, tolerance_s: float = BTCPAY_TOLERANCE_S):
        self.secrets = secrets
        self.store_id = store_id
        self.tolerance_s = tolerance_s

    def verify(self, raw_body: bytes, headers: dict[str, str], now_s: float) -> VerifiedEvent:
        header = headers.get(BTCPAY_SIGNATURE_HEADER, "")
        scheme, _, given = header.partition("=")
        if scheme.strip().lower() != "sha256" or not given:
            raise WebhookRejected("missing or malformed BTCPay-Sig header")
        if not hmac_matches(self.secrets, raw_body, given):
            raise WebhookRejected("signature mismatch")
        body = decode_json_object(raw_body)
        delivery = body.get("originalDeliveryId") or body.get("deliveryId")
        kind = body.get("type")
        timestamp = body.get("timestamp")
        if not isinstance(delivery, str) or not isinstance(kind, str) or not isinstance(timestamp, int | float):
            raise WebhookRejected("not a BTCPay webhook event (deliveryId, type, timestamp)", code="webhook-malformed")
        check_window(float(timestamp), now_s, self.tolerance_s)
        if body.get("storeId") not in (None, self.store_id):
            raise WebhookRejected("the event belongs to another BTCPay store", code="webhook-wrong-store")
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        ref = metadata.get("orderId")
        invoice = body.get("invoiceId")
        return VerifiedEvent(provider=self.provider, event_id=delivery[:128], type=kind[:64],
                             ref=ref[:64] if isinstance(ref, str) else None,
                             charge_id=invoice[:128] if isinstance(invoice, str) else None, body=body)


class StubVerifier:
    provider = "crypto-stub"

    def __init__(self, secrets: Secrets, *, tolerance_s: float = STUB_TOLERANCE_S):
        self.secrets = secrets
        self.tolerance_s = tolerance_s

    def verify(self, raw_body: bytes, headers: dict[str, str], now_s: float) -> VerifiedEvent:
        header = headers.get(STUB_SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected("missing signature")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
            given = parts["v1"]
        except (KeyError, ValueError):
            raise WebhookRejected("malformed signature header") from None
        check_window(timestamp, now_s, self.tolerance_s)
        if not hmac_matches(self.secrets, f"{timestamp}.".encode() + raw_body, given):
            raise WebhookRejected("signature mismatch")
        body = decode_json_object(raw_body)
        if not isinstance(body.get("id"), str):
            raise WebhookRejected("not an event", code="webhook-malformed")
        ref = body.get("ref")
        return VerifiedEvent(provider=self.provider, event_id=body["id"][:128], type=str(body.get("type", ""))[:64],
                             ref=ref[:64] if isinstance(ref, str) else None,
                             charge_id=str(body.get("charge_id") or "")[:128] or None, body=body)
