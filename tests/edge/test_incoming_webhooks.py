"""The one incoming-webhook mechanism: secrets rotate with an overlap window, files are re-read
when replaced, timestamps are checked both ways, and the demo stub's callback goes through it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.adapters.secret_files import FixedSecrets, SecretRing, SecretUnavailable, read_secret
from edge.adapters.webhooks_in import BtcpayVerifier, StubVerifier
from edge.service.incoming_webhooks import WebhookRejected


def btcpay_delivery(secret: str, *, timestamp: float | None = None, store: str = "S1") -> tuple[bytes, dict]:
    body = json.dumps({"deliveryId": "d1", "webhookId": "w1", "originalDeliveryId": "d1", "isRedelivery": False,
                       "type": "InvoiceSettled", "timestamp": int(timestamp or time.time()), "storeId": store,
                       "invoiceId": "inv1", "metadata": {"orderId": "pay-1"}, "manuallyMarked": False,
                       "overPaid": False}).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"btcpay-sig": f"sha256={mac}"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def secret_files(tmp_path: Path) -> Path:
    (tmp_path / "current").write_text("new-secret\n")
    (tmp_path / "previous").write_text("old-secret\n")
    return tmp_path


def test_during_the_overlap_window_both_the_old_and_the_new_secret_verify(secret_files):
    clock = Clock()
    ring = SecretRing(str(secret_files / "current"), previous=str(secret_files / "previous"),
                      previous_until="2026-11-30T18:00:00Z", clock=clock)
    verifier = BtcpayVerifier(ring, "S1")
    for secret in ("new-secret", "old-secret"):
        body, headers = btcpay_delivery(secret)
        event = verifier.verify(body, headers, time.time())
        assert event.event_id == "d1" and event.ref == "pay-1" and event.charge_id == "inv1"
    clock.now += timedelta(hours=7)  # the window is over: only the new secret verifies
    body, headers = btcpay_delivery("old-secret")
    with pytest.raises(WebhookRejected):
        verifier.verify(body, headers, time.time())
    body, headers = btcpay_delivery("new-secret")
    assert verifier.verify(body, headers, time.time()).type == "InvoiceSettled"


def test_a_replaced_secret_file_takes_effect_without_a_restart(secret_files):
    ring = SecretRing(str(secret_files / "current"))
    verifier = BtcpayVerifier(ring, "S1")
    body, headers = btcpay_delivery("rotated-secret")
    with pytest.raises(WebhookRejected):
        verifier.verify(body, headers, time.time())
    replacement = secret_files / "current.tmp"
    replacement.write_text("rotated-secret\n")
    os.replace(replacement, secret_files / "current")
    assert verifier.verify(body, headers, time.time()).event_id == "d1"


def test_timestamps_too_old_or_in_the_future_are_refused(secret_files):
    verifier = BtcpayVerifier(SecretRing(str(secret_files / "current")), "S1")
    now = time.time()
    for skew in (-901, 901):
        body, headers = btcpay_delivery("new-secret", timestamp=now + skew)
        with pytest.raises(WebhookRejected) as refused:
            verifier.verify(body, headers, now)
        assert refused.value.code == "signature-stale"
    body, headers = btcpay_delivery("new-secret", timestamp=now - 600)  # BTCPay's 10-minute retry
    assert verifier.verify(body, headers, now).event_id == "d1"


def test_malformed_deliveries_are_refused_with_a_reason(secret_files):
    verifier = BtcpayVerifier(SecretRing(str(secret_files / "current")), "S1")
    for header in ({}, {"btcpay-sig": "md5=abc"}, {"btcpay-sig": "sha256=ünïcode"}, {"btcpay-sig": "sha256="}):
        with pytest.raises(WebhookRejected):
            verifier.verify(b"{}", header, time.time())
    mac = hmac.new(b"new-secret", b"[1,2]", hashlib.sha256).hexdigest()
    with pytest.raises(WebhookRejected) as refused:
        verifier.verify(b"[1,2]", {"btcpay-sig": f"sha256={mac}"}, time.time())
    assert refused.value.code == "webhook-malformed"
    body, headers = btcpay_delivery("new-secret", store="another-store")
    with pytest.raises(WebhookRejected) as refused:
        verifier.verify(body, headers, time.time())
    assert refused.value.code == "webhook-wrong-store"


def test_the_stub_verifier_uses_the_same_checks():
    from edge.adapters.payments.crypto_stub import sign

    verifier = StubVerifier(FixedSecrets(b"s3cret"))
    body = json.dumps({"id": "evt_1", "type": "charge.confirmed", "ref": "pay-9"}).encode()
    assert verifier.verify(body, {"x-stub-signature": sign(b"s3cret", body, int(time.time()))}, time.time()).ref == "pay-9"
    for header in (sign(b"other", body, int(time.time())), sign(b"s3cret", body, int(time.time()) - 301), "t=x"):
        with pytest.raises(WebhookRejected):
            verifier.verify(body, {"x-stub-signature": header}, time.time())


def test_secrets_come_from_files_or_systemd_credentials_and_errors_never_show_them(tmp_path):
    (tmp_path / "btcpay-api-key").write_text("tok-123\n")
    assert read_secret("btcpay-api-key", {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == b"tok-123"
    assert read_secret(str(tmp_path / "btcpay-api-key"), {}) == b"tok-123"
    with pytest.raises(SecretUnavailable, match="CREDENTIALS_DIRECTORY"):
        read_secret("btcpay-api-key", {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretUnavailable, match="empty"):
        read_secret(str(tmp_path / "empty"), {})


def test_the_stub_callback_rides_the_same_mechanism_and_a_bad_body_is_a_clear_400(client):
    from edge.adapters.payments.crypto_stub import sign

    secret = client.app.state.services.extras["crypto"].provider.secret
    body = b"not json"
    answer = client.post("/api/v1/payments/crypto/callback", content=body,
                         headers={"x-stub-signature": sign(secret, body, int(time.time()))})
    assert answer.status_code == 400 and answer.json()["type"].endswith("/webhook-malformed")
    assert "Traceback" not in answer.text
    event = json.dumps({"id": "evt_unknown", "type": "charge.confirmed", "ref": "no-such-payment",
                        "status": "confirmed", "amount_cents": 100}).encode()
    ok = client.post("/api/v1/payments/crypto/callback", content=event,
                     headers={"x-stub-signature": sign(secret, event, int(time.time()))})
    assert ok.json() == {"status": "ignored"}
    again = client.post("/api/v1/payments/crypto/callback", content=event,
                        headers={"x-stub-signature": sign(secret, event, int(time.time()))})
    assert again.json() == {"status": "duplicate"}
    # This store runs the stub: the BTCPay route exists but has no verifier to trust.
    assert client.post("/api/v1/payments/webhooks/btcpay", content=b"{}").status_code == 404
