"""Across a restart, a crypto sale paid while the store server was down settles by asking BTCPay;
during a webhook-secret rotation the store accepts deliveries signed with either secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fakes.btcpay import FakeBtcpay
from tests.fakes.btcpay_store import WEBHOOK, btcpay_env, btcpay_store, crypto_order, staff
from tests.support import EdgeServer, free_port, login, wait_until


@pytest.fixture
def fake() -> Iterator[FakeBtcpay]:
    server = FakeBtcpay(webhook_secret="secret-new").start()
    yield server
    server.stop()


def test_a_sale_paid_while_the_store_server_was_down_settles_when_it_starts_again(demo_dir: Path, fake, tmp_path):
    server = EdgeServer(demo_dir, free_port(), extra_env=btcpay_env(fake, tmp_path / "secrets"))
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            cashier = login(client, "cashier")
            order = crypto_order(client, cashier)  # type: ignore[arg-type]
        server.stop()
        invoice = fake.invoice_of(order["tenders"][0]["id"])
        fake.webhook_url = server.url + WEBHOOK
        for event in fake.pay(invoice["id"], invoice["amount"]):
            with pytest.raises(httpx.ConnectError):  # nobody is listening: the deliveries are lost
                fake.deliver(event)
        server.start()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            cashier = login(client, "cashier")
            done = wait_until(lambda: client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()["status"]
                              == "COMPLETED", what="the order settled by asking BTCPay on start")
            assert done
    finally:
        server.stop()


def test_during_a_rotation_deliveries_signed_with_the_old_or_the_new_secret_are_accepted(demo_dir: Path, fake,
                                                                                          tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "previous").write_text("secret-old\n")
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    with btcpay_store(demo_dir, fake, secrets, NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_PREVIOUS_FILE=str(
            secrets / "previous"), NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_PREVIOUS_UNTIL=until) as client:
        cashier = staff(client)
        first, second = crypto_order(client, cashier, 1), crypto_order(client, cashier, 2)
        for order, secret in ((first, "secret-old"), (second, "secret-new")):
            invoice = fake.invoice_of(order["tenders"][0]["id"])
            for event in fake.pay(invoice["id"], invoice["amount"]):
                assert fake.deliver(event, secret=secret) == 200
            assert client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()["status"] == "COMPLETED"
        third = crypto_order(client, cashier, 3)
        invoice = fake.invoice_of(third["tenders"][0]["id"])
        assert fake.deliver(fake.pay(invoice["id"], invoice["amount"])[-1], secret="secret-older") == 400
