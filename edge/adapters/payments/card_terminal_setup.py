"""Builds the configured production card terminal (`payments.card_provider`) for the sales runtime.

Secrets come from files only: a path, or the name of a systemd credential (`LoadCredential=`
puts it in `$CREDENTIALS_DIRECTORY`). They are read once at start, kept in memory, and never
logged, stored in the database or printed by `check-config`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import structlog

from edge.adapters.payments.adyen_lanes import AdyenLaneTerminals
from edge.adapters.payments.adyen_nexo import SharedKey
from edge.adapters.payments.adyen_settlement import AdyenSettlement, payment_resolver
from edge.adapters.payments.adyen_terminal import AdyenTerminal

log = structlog.get_logger()


class SecretUnavailable(Exception):
    """A configured secret file is missing or empty; the message names the setting, never the value."""


def read_secret(setting: str, name: str, environ: dict[str, str] | None = None) -> str:
    environ = dict(os.environ if environ is None else environ)
    path = Path(name)
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if not path.is_absolute() and credentials and (Path(credentials) / name).is_file():
        path = Path(credentials) / name
    try:
        value = path.read_text().strip()
    except OSError:
        raise SecretUnavailable(f"payments.{setting}: cannot read {path} (a file, or a LoadCredential= name)") from None
    if not value:
        raise SecretUnavailable(f"payments.{setting}: {path} is empty")
    return value


def payment_original_lookup(db: Any) -> Any:
    """The processor reference of a payment (what a reversal or a referenced refund names)."""

    async def original_of(payment_id: str) -> str | None:
        row = await db.read(lambda c: c.exec_driver_sql("SELECT provider_ref FROM payments WHERE id = ?",
                                                        (payment_id,)).first())
        return str(row[0]) if row is not None and row[0] else None

    return original_of


def lane_prompt_sink(services: Any) -> Any:
    """Prompts go out as `terminal_prompt` lane events: on the in-process hub's bus when there is
    one, else on the store server's own lane bus (hardware off, or a hub in another process), so
    the lane's event socket carries them whatever the hub mode."""
    from edge.adapters.hardware import runtime_of

    def publish(lane: str | None, ref: str, kind: str, text: str) -> None:
        if lane is None:
            return  # a payment of no lane (a web order): nobody to show it to
        bus = getattr(services.hardware, "bus", None) or runtime_of(services).local
        bus.publish(lane, "terminal_prompt", device_id="adyen", ref=ref, kind=kind, text=text)

    return publish


def build_card_terminal(services: Any) -> AdyenLaneTerminals | None:
    from edge.adapters.hardware import payment_lane_lookup

    settings = services.settings
    pay = settings.payments
    if pay.card_provider != "adyen":
        return None
    key = SharedKey(key_identifier=pay.adyen_key_identifier, key_version=pay.adyen_key_version,
                    passphrase=read_secret("adyen_key_passphrase_file", pay.adyen_key_passphrase_file))
    lane_of = payment_lane_lookup(services.db)

    def terminal(url: str, poiid: str) -> AdyenTerminal:
        return AdyenTerminal(
            url=url, poiid=poiid, sale_id=pay.adyen_sale_id or f"novapos-{settings.store.store_id}", key=key,
            original_of=payment_original_lookup(services.db), lane_of=lane_of, prompts=lane_prompt_sink(services),
            ca_file=pay.adyen_ca_file or None, payment_timeout_s=pay.adyen_payment_timeout_s,
            status_timeout_s=pay.adyen_status_timeout_s)

    default = terminal(pay.adyen_terminal_url, pay.adyen_poiid) if pay.adyen_terminal_url else None
    by_lane = {lane: terminal(t.url, t.poiid) for lane, t in pay.adyen_lanes.items()}
    terminals = AdyenLaneTerminals(by_lane, default, lane_of)
    terminals.notify_username = pay.adyen_notify_username
    if pay.adyen_notify_password_file:
        terminals.notify_password = read_secret("adyen_notify_password_file", pay.adyen_notify_password_file)
    for t in terminals.terminals:
        log.info("payments.card_terminal", provider="adyen", poiid=t.poiid, url=t.url,
                 lanes=[lane for lane, x in by_lane.items() if x is t] or "default",
                 key_identifier=pay.adyen_key_identifier, key_version=pay.adyen_key_version)
    return terminals


def build_adyen_settlement(services: Any) -> AdyenSettlement | None:
    """Adyen's settlement report as a reconciliation source, when card payments go to Adyen and a
    report URL is configured (without one, card days are not reconciled against Adyen)."""
    pay = services.settings.payments
    if pay.card_provider != "adyen" or not pay.adyen_report_url:
        return None
    source = AdyenSettlement(report_url=pay.adyen_report_url, merchant_account=pay.adyen_merchant_account,
                             api_key=read_secret("adyen_report_api_key_file", pay.adyen_report_api_key_file),
                             resolve=payment_resolver(services.db),
                             settles_after_days=pay.adyen_settlement_delay_days)
    log.info("settlement.source", provider="adyen", report_host=httpx.URL(pay.adyen_report_url).host,
             merchant_account=pay.adyen_merchant_account)
    return source
