"""The quick card-number test ingest runs on every event payload before the field-by-field walk:
it may say "maybe" for a payload without a card number, never "no" for one with a card number."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from cloud.ingest import without_card_numbers
from edge.contracts.envelope import EventEnvelope
from edge.contracts.pan import card_number_fields, request_body_card_number_fields, value_may_hold_card_number

HOLDING = [
    {"note": "4111111111111111"},
    {"note": "card 4111 1111 1111 1111 please"},
    {"note": "3782-822463-10005"},
    {"lines": [{"name": "x", "memo": {"deep": ["ok", "5555555555554444"]}}]},
    {"4111111111111111": 1},  # a card number as a key
    {"amount_cents": 4111111111111111},  # a card number as a JSON number
    {"amount_cents": -4111111111111111},
    {"note": "ré 4111111111111111"},  # non-ASCII text around a plain card number
    {"note": "line one\n4111111111111111"},  # JSON writes the newline as "\\n", glued to the digits
    {"note": "tab\t4111-1111-1111-1111\t"},
    {"sku": "4111111111111111"},  # a code field holding a card number that is not a GTIN
    {"refund": {"amount_cents": 100, "ref": "x", "card": "5555 5555 5555 4444"}},
]

CLEAN = [
    {},
    {"order_id": "0193a0f4-2c1e-7000-8000-000000000000", "total_cents": 1999, "currency": "USD"},
    {"note": "call 555-123-4567 on 2026-11-30"},
    {"sku": "4006381333931", "barcode": "4006381333931"},  # a GTIN-13 product code
    {"note": "1234567890123"},  # 13 digits failing Luhn
    {"flag": True, "ratio": 4111111111111111.0, "none": None},  # floats are never card numbers
    {"order_id": "ab4111111111111111", "ref": "4111111111111111cd"},  # glued to a token
]


@pytest.mark.parametrize("payload", HOLDING)
def test_a_payload_holding_a_card_number_is_never_passed_as_clean(payload: dict[str, Any]) -> None:
    assert card_number_fields(payload)
    assert value_may_hold_card_number(payload)


def test_digits_of_other_scripts_are_left_to_the_walk() -> None:
    # `str` patterns read Arabic-Indic digits as digits; the quick test only knows ASCII ones.
    assert value_may_hold_card_number({"note": "\u0664" + "\u0661" * 15})


@pytest.mark.parametrize("payload", CLEAN)
def test_payloads_without_a_card_number_stay_unmasked(payload: dict[str, Any]) -> None:
    env = EventEnvelope(event_id="e", tenant_id="t", store_id="s", seq=1, type="x", occurred_at="",
                        business_day="", payload=payload)
    assert card_number_fields(payload) == []
    assert without_card_numbers(env).payload == payload


def test_a_typical_sale_takes_the_quick_path() -> None:
    sale = {"order_id": str(uuid.uuid4()), "currency": "USD", "total_cents": 1999,
            "lines": [{"sku": "4006381333931", "name": "Tea 20 x 2g", "quantity": 2, "total_cents": 1999}],
            "tenders": [{"method": "card", "amount_cents": 1999}],
            "movements": [{"id": str(uuid.uuid4()), "location_id": "s1", "sku": "4006381333931", "delta": -2}]}
    assert not value_may_hold_card_number(sale)


def random_digit_payload(rng: random.Random) -> Any:
    """A payload holding a random run of digit groups (some of them card numbers) as a value, a
    key, a nested value or a JSON number."""
    separators = ["", " ", "-", "  ", "/", ".", "\n", " - "]
    groups = [str(rng.randrange(10 ** rng.randint(1, 8))).zfill(rng.randint(1, 6)) for _ in range(rng.randint(1, 6))]
    text = rng.choice(separators).join(groups)
    note = rng.choice(["", "x", " ", "a-", "-", "\n"]) + text + rng.choice(["", "y", " ", "-", "\t"])
    digits = text.replace(" ", "").replace("-", "")
    return rng.choice([{"note": note, "id": str(uuid.UUID(int=rng.getrandbits(128)))},
                       {note: 1}, {"lines": [{"name": note}]},
                       {"n": int(digits[:19]) if digits.isdigit() else note}])


def test_random_digit_strings_never_slip_past_the_quick_test() -> None:
    rng = random.Random(15)
    cards = 0
    for _ in range(3000):
        payload = random_digit_payload(rng)
        if card_number_fields(payload):
            cards += 1
            assert value_may_hold_card_number(payload), payload
    assert cards > 20  # the draw does hold card numbers


def test_ingest_still_masks_a_card_number_and_keeps_a_clean_event_as_it_is() -> None:
    def env(payload: dict[str, Any]) -> EventEnvelope:
        return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="t", store_id="s", seq=1, type="order.completed",
                             occurred_at="2026-11-30T10:00:00.000Z", business_day="2026-11-30", payload=payload)

    clean = env({"order_id": "o-1", "total_cents": 100})
    assert without_card_numbers(clean) is clean
    masked = without_card_numbers(env({"order_id": "o-2", "note": "paid with 4111 1111 1111 1111"}))
    assert masked.payload["note"] == "paid with **** **** **** 1111"


def test_a_request_body_spelling_the_digits_as_json_escapes_is_still_caught() -> None:
    body = b'{"note": "4111\\u00201111\\u00201111\\u00201111"}'  # decodes to "4111 1111 1111 1111"
    assert request_body_card_number_fields(body, "application/json") == ["note"]
    assert request_body_card_number_fields(b'{"note": "caf\\u00e9 at 10"}', "application/json") == []
