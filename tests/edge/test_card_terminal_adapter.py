"""The Adyen adapter on its own against the fake terminal: a misconfigured shared key is
refused by the terminal and reported as such, never taken for an unknown outcome."""

from __future__ import annotations

import asyncio

from edge.adapters.payments.adyen_nexo import SharedKey
from edge.adapters.payments.adyen_terminal import AdyenTerminal
from tests.edge.card_terminal_support import KEY, POIID
from tests.fakes.adyen_terminal import FakeAdyenTerminal
from tests.support import free_port


async def _nobody(ref: str) -> str | None:
    return None


def _adapter(url: str, key: SharedKey) -> AdyenTerminal:
    return AdyenTerminal(url=url, poiid=POIID, sale_id="novapos-test", key=key, original_of=_nobody,
                         lane_of=_nobody, payment_timeout_s=10, status_timeout_s=3)


def test_a_wrong_shared_key_is_refused_by_the_terminal_and_charges_nothing():
    fake = FakeAdyenTerminal(KEY, port=free_port(), poiid=POIID).start()
    try:
        async def run() -> tuple:
            wrong = _adapter(fake.url, SharedKey(KEY.key_identifier, KEY.key_version, "not the passphrase"))
            try:
                return await wrong.sale("pay-wrong-key", 500, "EUR"), await wrong.diagnose()
            finally:
                await wrong.close()

        outcome, diagnosis = asyncio.run(run())
    finally:
        fake.stop()
    assert outcome.status == "not_found" and outcome.reason == "terminal_refused"
    assert diagnosis["ok"] is False and "shared key" in diagnosis["detail"]
    assert fake.bad_requests == 2 and fake.payments_received["pay-wrong-key"] == 0


def test_the_right_key_sells_and_a_status_inquiry_finds_the_sale():
    fake = FakeAdyenTerminal(KEY, port=free_port(), poiid=POIID).start()
    try:
        async def run() -> tuple:
            adapter = _adapter(fake.url, KEY)
            try:
                return await adapter.sale("pay-right-key", 1250, "EUR"), await adapter.last("pay-right-key"), \
                    await adapter.last("pay-never-sent")
            finally:
                await adapter.close()

        sold, asked, unknown = asyncio.run(run())
    finally:
        fake.stop()
    assert sold.status == "approved" and sold.approved_cents == 1250 and sold.card_last4
    assert asked.status == "approved" and asked.processor_ref == sold.processor_ref
    assert unknown.status == "not_found"
    assert fake.payments_received["pay-right-key"] == 1


def test_a_void_sent_again_reverses_the_sale_only_once():
    fake = FakeAdyenTerminal(KEY, port=free_port(), poiid=POIID).start()
    refs: dict[str, str] = {}

    async def original_of(ref: str) -> str | None:
        return refs.get(ref)

    try:
        async def run() -> tuple:
            adapter = AdyenTerminal(url=fake.url, poiid=POIID, sale_id="novapos-test", key=KEY,
                                    original_of=original_of, lane_of=_nobody, payment_timeout_s=10,
                                    status_timeout_s=3)
            try:
                sold = await adapter.sale("pay-void-twice", 900, "EUR")
                refs["pay-void-twice"] = sold.processor_ref
                return await adapter.void("pay-void-twice"), await adapter.void("pay-void-twice")
            finally:
                await adapter.close()

        first, second = asyncio.run(run())
    finally:
        fake.stop()
    assert first.status == "reversed" and second.status == "reversed"
    assert len(fake.reversals) == 1 and fake.charged_cents("pay-void-twice") == 0
