"""BTCPay configuration: what is missing is named with an example, and the API key and webhook
secrets reach neither `check-config` nor the logs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edge.settings import ConfigError, load_settings
from tests.fakes.btcpay import FakeBtcpay
from tests.fakes.btcpay_store import btcpay_env, btcpay_store, crypto_order, staff

EXE = Path(sys.executable).parent / "novapos-edge"


@pytest.fixture
def fake() -> Iterator[FakeBtcpay]:
    server = FakeBtcpay(api_key="apikey-SENSITIVE-1234", webhook_secret="whsec-SENSITIVE-5678").start()
    yield server
    server.stop()


@pytest.mark.parametrize("missing", ["NOVAPOS_PAYMENTS_BTCPAY_URL", "NOVAPOS_PAYMENTS_BTCPAY_STORE_ID",
                                     "NOVAPOS_PAYMENTS_BTCPAY_API_KEY_FILE",
                                     "NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_FILE"])
def test_a_btcpay_store_without_a_required_setting_is_refused_naming_it(fake, tmp_path, missing):
    env = btcpay_env(fake, tmp_path / "secrets", NOVAPOS_DATA_DIR=str(tmp_path))
    del env[missing]
    with pytest.raises(ConfigError) as refused:
        load_settings(environ=env)
    key = "payments." + missing.removeprefix("NOVAPOS_PAYMENTS_").lower()
    assert key in str(refused.value) and "example" in str(refused.value)


def test_a_missing_secret_file_or_a_half_configured_rotation_is_refused(fake, tmp_path):
    env = btcpay_env(fake, tmp_path / "secrets", NOVAPOS_DATA_DIR=str(tmp_path))
    with pytest.raises(ConfigError, match="btcpay_api_key_file"):
        load_settings(environ={**env, "NOVAPOS_PAYMENTS_BTCPAY_API_KEY_FILE": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match="previous_until"):
        load_settings(environ={**env, "NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_PREVIOUS_FILE":
                               env["NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_FILE"]})
    with pytest.raises(ConfigError, match="previous_until"):
        load_settings(environ={**env, "NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_PREVIOUS_FILE":
                               env["NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_FILE"],
                               "NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_PREVIOUS_UNTIL": "tomorrow"})


def test_check_config_shows_where_the_secrets_are_never_what_they_are(fake, tmp_path):
    env = btcpay_env(fake, tmp_path / "secrets", NOVAPOS_DATA_DIR=str(tmp_path))
    result = subprocess.run([str(EXE), "check-config"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    assert '"crypto_provider": "btcpay"' in result.stdout and "btcpay-api-key" in result.stdout
    assert "SENSITIVE" not in result.stdout + result.stderr
    proxied = fake.url.replace("http://", "http://ops:SENSITIVE-pw@")
    result = subprocess.run([str(EXE), "check-config"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env, "NOVAPOS_PAYMENTS_BTCPAY_URL": proxied})
    assert result.returncode == 0 and "SENSITIVE" not in result.stdout + result.stderr


def test_a_whole_btcpay_sale_logs_neither_the_api_key_nor_the_webhook_secret(demo_dir, fake, tmp_path):
    with capture_logs() as logs, btcpay_store(demo_dir, fake, tmp_path / "secrets") as client:
        order = crypto_order(client, staff(client))
        invoice = fake.invoice_of(order["tenders"][0]["id"])
        for event in fake.pay(invoice["id"], invoice["amount"]):
            assert fake.deliver(event) == 200
        body, headers = fake.signed(fake.expire(invoice["id"]) or {"deliveryId": "x"}, secret="wrong")
        client.post("/api/v1/payments/webhooks/btcpay", content=body, headers=headers)
    assert any(e["event"] == "btcpay.invoice_created" for e in logs)
    assert any(e["event"] == "webhook.received" for e in logs)
    assert "SENSITIVE" not in repr(logs)
    assert fake.unauthorized == 0
