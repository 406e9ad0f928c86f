"""The quick card-number test on an ingested message's own bytes (no decode and re-encode): for
any JSON a store may send (its own spacing, a key twice, escapes, other scripts), a payload the
walk finds a card number in is never passed as clean, and ingest masks it before storing."""

from __future__ import annotations

import random
import uuid

import msgspec
import pytest

from cloud.ingest import without_card_numbers
from edge.contracts.envelope import EventEnvelope, decode_envelope, encode_envelope
from edge.contracts.pan import card_number_fields, json_may_hold_card_number
from tests.edge.test_card_number_precheck import random_digit_payload

HOLDING_RAW = [
    b'{"note": "4111111111111111"}',
    b'{ "note" : "card 4111 1111 1111 1111 please" }',
    b'{"amount_cents":  4111111111111111 , "x": 1}',
    b'{"amount_cents":\n-4111111111111111}',
    b'{"4111111111111111": 1}',
    b'{"note": "4111\\u00201111\\u00201111\\u00201111"}',  # escapes spell the spaces
    b'{"note": "\\u0034111111111111111"}',  # an escape spells the first digit
    b'{"note": "r\xc3\xa9 4111111111111111"}',  # UTF-8 around the digits
    b'{"note": "x", "note": "5555 5555 5555 4444"}',  # the key twice: the last value is the one kept
    b'{"lines": [{"name": "x", "memo": {"deep": ["ok", "3782-822463-10005"]}}]}',
]


def _raw_envelope(payload_json: bytes) -> bytes:
    head = (b'{"event_id": "%s", "tenant_id": "t", "store_id": "s", "seq": 7, "type": "order.completed", '
            b'"occurred_at": "2026-11-30T10:00:00.000Z", "business_day": "2026-11-30", "payload": ')
    return head % str(uuid.uuid4()).encode() + payload_json + b"}"


@pytest.mark.parametrize("payload_json", HOLDING_RAW)
def test_a_message_holding_a_card_number_is_never_passed_as_clean(payload_json: bytes) -> None:
    raw = _raw_envelope(payload_json)
    env = decode_envelope(raw)
    assert card_number_fields(env.payload)
    assert json_may_hold_card_number(raw)
    masked = without_card_numbers(env, raw)
    assert card_number_fields(masked.payload) == []
    assert b"4111111111111111" not in encode_envelope(masked)  # what ingest stores


def test_a_typical_sale_message_takes_the_quick_path_and_is_kept_as_it_is() -> None:
    payload = {"order_id": str(uuid.uuid4()), "currency": "USD", "total_cents": 1999,
               "lines": [{"sku": "4006381333931", "name": "Tea", "quantity": 2, "total_cents": 1999}],
               "movements": [{"id": str(uuid.uuid4()), "location_id": "s1", "sku": "4006381333931", "delta": -2}]}
    env = EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="t", store_id="s", seq=1, type="order.completed",
                        occurred_at="2026-11-30T10:00:00.000Z", business_day="2026-11-30", payload=payload)
    raw = encode_envelope(env)
    assert not json_may_hold_card_number(raw)
    decoded = decode_envelope(raw)
    assert without_card_numbers(decoded, raw) is decoded


def test_random_messages_never_slip_past_the_quick_test() -> None:
    rng = random.Random(23)
    cards = 0
    for _ in range(3000):
        body = msgspec.json.encode(random_digit_payload(rng))
        if rng.random() < 0.5:  # another encoder's spacing
            body = body.replace(b'":', b'" : ').replace(b",", b" ,\n ")
        raw = _raw_envelope(body)
        env = decode_envelope(raw)
        if card_number_fields(env.payload):
            cards += 1
            assert json_may_hold_card_number(raw), raw
            assert card_number_fields(without_card_numbers(env, raw).payload) == []
    assert cards > 20  # the draw does hold card numbers
