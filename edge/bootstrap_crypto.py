"""Composition of crypto checkout and settlement: picks the hosted-charge provider
(`payments.crypto_provider`), the webhook verifiers its callbacks go through, and the settlement
sources the daily reconciliation asks.

`edge.bootstrap_sales` builds them on start; route handlers reach them as
`services.extras["crypto"]` and `services.extras["settlement"]`.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from edge.adapters.payments.btcpay import BtcpayClient, BtcpayProvider
from edge.adapters.payments.card_terminal_setup import build_adyen_settlement
from edge.adapters.payments.crypto_stub import CryptoStubProvider
from edge.adapters.payments.simulated_terminal import SimulatedTerminal
from edge.adapters.secret_files import FixedSecrets, SecretRing, SecretUnavailable, WatchedSecret
from edge.adapters.settlement_sources import BtcpaySettlement, TerminalJournal
from edge.adapters.webhooks_in import BtcpayVerifier, StubVerifier
from edge.domain.business_day import business_day
from edge.service.incoming_webhooks import ProviderUnavailable, WebhookVerifier
from edge.service.ports import Actor
from edge.service.settlement import reconcile_day
from edge.service.settlement_ports import SettlementSource
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


@dataclass
class SettlementRuntime:
    sources: list[SettlementSource]


def settlement_sources(crypto: CryptoRuntime, terminal: Any) -> list[SettlementSource]:
    sources: list[SettlementSource] = []
    if isinstance(crypto.provider, BtcpayProvider):
        sources.append(BtcpaySettlement(crypto.provider))
    if isinstance(terminal, SimulatedTerminal):
        sources.append(TerminalJournal(terminal))
    return sources


def start_settlement(services: Any, sales: Any) -> None:
    """Register the settlement sources and the daily run (stopped with the sales loops)."""
    runtime = SettlementRuntime(sources=settlement_sources(services.extras["crypto"], sales.terminal))
    adyen = build_adyen_settlement(services)
    if adyen is not None:
        runtime.sources.append(adyen)
    services.extras["settlement"] = runtime
    every_s = services.settings.payments.settlement_check_interval_s
    sales.tasks.append(asyncio.create_task(_daily(services, runtime, every_s), name="settlement-daily"))


async def _daily(services: Any, runtime: SettlementRuntime, every_s: float) -> None:
    """Reconcile the business day that ended, once per provider, as soon as it has ended."""
    store = services.settings.store
    actor = Actor.system(store.tenant_id, store.store_id, "settlement")
    while True:
        yesterday = business_day(datetime.now(UTC), store.timezone, store.day_start_hour) - timedelta(days=1)
        for source in runtime.sources:
            # An acquirer settles days later: its day is reconciled once its report can hold it.
            day = yesterday - timedelta(days=getattr(source, "settles_after_days", 0))
            try:
                done = await services.uow.read(actor, lambda u, p=source.provider, d=day.isoformat():
                                               u.settlement.reports(business_day=d, provider=p, limit=1))
                if not done:
                    await reconcile_day(services.uow, actor, source, day, timezone=store.timezone,
                                        day_start_hour=store.day_start_hour, currency=store.currency)
            except ProviderUnavailable as err:
                log.warning("settlement.provider_unavailable", provider=source.provider, detail=err.detail)
            except Exception:  # a background loop must keep going
                log.exception("settlement.failed", provider=source.provider)
        await asyncio.sleep(every_s)
