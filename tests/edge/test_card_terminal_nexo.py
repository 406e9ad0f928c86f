"""The Adyen nexo message protection and the reading of terminal answers, without a network."""

from __future__ import annotations

import base64
import subprocess
from decimal import Decimal

import pytest

from edge.adapters.payments import adyen_nexo as nexo
from edge.adapters.payments.adyen_nexo import NexoError, SharedKey
from edge.service.card_outcomes import adyen_reason, card_guidance
from tests.support import BIN

KEY = SharedKey(key_identifier="key-1", key_version=3, passphrase="terminal shared passphrase")


def _request() -> dict:
    return nexo.payment_request("pay-0001", 1234, "EUR", sale_id="novapos-store-1", poiid="V400m-1")


def test_a_protected_message_round_trips_and_hides_everything_but_the_header():
    request = _request()
    wire = nexo.protect(request, KEY)
    outer = nexo.loads(wire)["SaleToPOIRequest"]
    assert set(outer) == {"MessageHeader", "NexoBlob", "SecurityTrailer"}
    assert b"RequestedAmount" not in wire and b"pay-0001" not in wire
    assert outer["SecurityTrailer"]["KeyIdentifier"] == "key-1" and outer["SecurityTrailer"]["KeyVersion"] == 3
    assert nexo.unprotect(wire, KEY) == nexo.loads(nexo.dumps(request))


def test_amounts_travel_as_exact_decimals_in_the_major_unit():
    body = nexo.loads(nexo.dumps(_request()))["SaleToPOIRequest"]["PaymentRequest"]
    assert body["PaymentTransaction"]["AmountsReq"]["RequestedAmount"] == Decimal("12.34")
    assert nexo.to_cents(Decimal("0.07"), "EUR") == 7 and nexo.to_cents(Decimal("1500"), "JPY") == 1500
    assert nexo.to_decimal(1500, "JPY") == Decimal("1500")


@pytest.mark.parametrize("tamper", ["blob", "hmac", "key", "plain"])
def test_a_tampered_or_foreign_message_is_never_believed(tamper):
    outer = nexo.loads(nexo.protect(_request(), KEY))
    body = outer["SaleToPOIRequest"]
    if tamper == "blob":
        raw = bytearray(base64.b64decode(body["NexoBlob"]))
        raw[5] ^= 1
        body["NexoBlob"] = base64.b64encode(bytes(raw)).decode()
    elif tamper == "hmac":
        body["SecurityTrailer"]["Hmac"] = base64.b64encode(b"\0" * 32).decode()
    elif tamper == "key":
        outer = nexo.loads(nexo.protect(_request(), SharedKey("key-1", 3, "another passphrase")))
    else:
        outer = _request()  # an unprotected answer
    with pytest.raises(NexoError):
        nexo.unprotect(nexo.dumps(outer), KEY)


def test_service_ids_fit_nexo_and_can_be_rebuilt_after_a_crash():
    first = nexo.service_id("0192f0a1-7c4e-7d2a-9b1e-3f5a6b7c8d9e", "Payment")
    assert len(first) <= 10 and first == nexo.service_id("0192f0a1-7c4e-7d2a-9b1e-3f5a6b7c8d9e", "Payment")
    assert first != nexo.service_id("0192f0a1-7c4e-7d2a-9b1e-3f5a6b7c8d9e", "Reversal")


def test_only_the_last_four_digits_of_the_masked_card_are_read():
    body = {"Response": {"Result": "Success"},
            "PaymentResult": {"PaymentInstrumentData": {"CardData": {"MaskedPan": "541333******9999",
                                                                     "PaymentBrand": "mc", "EntryMode": ["Tapped"]}},
                              "AmountsResp": {"AuthorizedAmount": Decimal("10.00"), "Currency": "EUR"}},
            "POIData": {"POITransactionID": {"TransactionID": "abc.8815", "TimeStamp": "2026-11-30T10:00:00.000Z"}}}
    result = nexo.read_result(body, "EUR")
    assert result.last4 == "9999" and result.authorized_cents == 1000
    assert "541333" not in repr(result)
    assert result.poi_transaction.as_ref() == "abc.8815 2026-11-30T10:00:00.000Z"


@pytest.mark.parametrize(("refusal", "condition", "reason"), [
    ("12:Not enough balance", "Refusal", "insufficient_funds"),
    ("Not enough balance", "Refusal", "insufficient_funds"),
    ("37:Contactless fallback", "Refusal", "insert_card"),
    (None, "Busy", "terminal_busy"),
    (None, "Cancel", "cancelled_by_customer"),
    ("99:Something new", "Refusal", "refused"),
])
def test_adyen_refusal_reasons_map_to_cashier_guidance(refusal, condition, reason):
    assert adyen_reason(refusal, condition) == reason
    assert card_guidance("declined", reason=reason) or card_guidance("not_found", reason=reason)


def test_check_config_names_the_secret_files_but_never_prints_a_secret(tmp_path):
    secret = tmp_path / "passphrase"
    secret.write_text("never-print-this-passphrase\n")
    env = {"PATH": "/usr/bin:/bin", "NOVAPOS_DATA_DIR": str(tmp_path / "data"), "NOVAPOS_PAYMENTS_CARD_PROVIDER": "adyen",
           "NOVAPOS_PAYMENTS_ADYEN_TERMINAL_URL": "https://192.168.1.40:8443/nexo",
           "NOVAPOS_PAYMENTS_ADYEN_POIID": "V400m-1", "NOVAPOS_PAYMENTS_ADYEN_KEY_IDENTIFIER": "key-1",
           "NOVAPOS_PAYMENTS_ADYEN_KEY_PASSPHRASE_FILE": str(secret)}
    done = subprocess.run([str(BIN / "novapos-edge"), "check-config"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert str(secret) in done.stdout and "never-print-this-passphrase" not in done.stdout + done.stderr
    missing = subprocess.run([str(BIN / "novapos-edge"), "check-config"], capture_output=True, text=True, timeout=60,
                             env={**env, "NOVAPOS_PAYMENTS_ADYEN_POIID": ""})
    assert missing.returncode == 2 and "payments.adyen_poiid" in missing.stderr + missing.stdout
