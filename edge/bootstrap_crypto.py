"""Composition of crypto checkout: picks the hosted-charge provider (`payments.crypto_provider`)
and the webhook verifiers its callbacks go through.

`edge.bootstrap_sales` builds it on start; route handlers reach it as `services.extras["crypto"]`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from edge.adapters.payments.btcpay import BtcpayClient, BtcpayProvider
from edge.adapters.payments.crypto_stub import CryptoStubProvider
from edge.adapters.secret_files import FixedSecrets, SecretRing, SecretUnavailable, WatchedSecret
from edge.adapters.webhooks_in import BtcpayVerifier, StubVerifier
from edge.service.incoming_webhooks import WebhookVerifier
from edge.settings import ConfigError

log = structlog.get_logger()


@dataclass
class CryptoRuntime:
    provider: Any  # HostedChargeProvider
    verifiers: dict[str, WebhookVerifier]


def _stub_secret(data_dir: Path) -> bytes:
    path = data_dir / "keys" / "crypto-stub.secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(secrets.token_hex(32).encode())
        path.chmod(0o600)
    return path.read_bytes().strip()


def build_crypto(settings: Any, callback_base: str) -> CryptoRuntime:
    """Raises `ConfigError` (naming the file, never its content) when a secret is missing."""
    pay = settings.payments
    if pay.crypto_provider == "btcpay":
        try:
            api_key = WatchedSecret(pay.btcpay_api_key_file, None)
            ring = SecretRing(pay.btcpay_webhook_secret_file, previous=pay.btcpay_webhook_secret_previous_file,
                              previous_until=pay.btcpay_webhook_secret_previous_until)
        except SecretUnavailable as err:
            raise ConfigError(f"config error: payments: {err}") from None
        client = BtcpayClient(pay.btcpay_url, pay.btcpay_store_id, api_key.value)
        provider = BtcpayProvider(client, invoice_minutes=pay.btcpay_invoice_minutes,
                                  item_desc=f"{settings.store.name} sale")
        log.info("crypto.provider", provider="btcpay", url=pay.btcpay_url, store=pay.btcpay_store_id,
                 rotating_secret=bool(pay.btcpay_webhook_secret_previous_file))
        return CryptoRuntime(provider=provider, verifiers={"btcpay": BtcpayVerifier(ring, pay.btcpay_store_id)})
    secret = _stub_secret(settings.data_dir)
    provider = CryptoStubProvider(secret, callback_url=f"{callback_base}/api/v1/payments/crypto/callback",
                                  confirm_after_s=pay.crypto_confirm_after_s)
    return CryptoRuntime(provider=provider, verifiers={"crypto-stub": StubVerifier(FixedSecrets(secret))})
