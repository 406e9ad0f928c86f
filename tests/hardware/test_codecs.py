"""Codec tests against golden fixture files: the bytes a real device sends or expects."""

from __future__ import annotations

import pytest
from evdev import InputEvent

from hardware.codecs import display, escpos, hid, scale, terminal
from hardware.codecs.escpos_text import escpos_to_text
from hardware.errors import ChecksumError, FrameError, ProtocolError
from hardware.transports.input_device import INPUT_EVENT

from .conftest import FIXTURES

# --- ESC/POS ---------------------------------------------------------------------------------


def test_receipt_rendering_matches_the_golden_receipt_byte_for_byte(fixture_bytes):
    rendered = escpos.render_text_receipt(
        "NovaPOS",
        ["1 x Kaffee        3,50 €", "1 x Croissant     2,20 €", "TOTAL             5,70 €"],
        "Danke!",
        qr="https://r.novapos.example/abc",
    )
    assert rendered == fixture_bytes("escpos/receipt_de.bin")


def test_golden_receipt_decodes_to_the_text_on_the_paper_including_the_euro_sign(fixture_bytes):
    text = escpos_to_text(fixture_bytes("escpos/receipt_de.bin"))
    assert text == (FIXTURES / "escpos/receipt_de.txt").read_text()
    assert "TOTAL             5,70 €" in text
    assert "[qr https://r.novapos.example/abc]" in text
    assert text.rstrip().endswith("[cut]")


def test_drawer_kick_is_esc_p_with_the_pulse_in_two_millisecond_units(fixture_bytes):
    assert escpos.drawer_kick(2, on_ms=100, off_ms=200) == fixture_bytes("escpos/drawer_kick_pin2_100ms.bin")
    assert escpos.drawer_kick(5, on_ms=250, off_ms=250) == b"\x1bp\x01\x7d\x7d"


@pytest.mark.parametrize(
    ("printer", "offline", "paper", "expected"),
    [
        (0x12, 0x12, 0x12, escpos.PrinterStatus()),
        (0x12, 0x12, 0x1E, escpos.PrinterStatus(paper="low")),
        (0x1A, 0x32, 0x72, escpos.PrinterStatus(online=False, paper="out")),
        (0x1A, 0x16, 0x12, escpos.PrinterStatus(online=False, cover_open=True)),
        (0x16, 0x12, 0x12, escpos.PrinterStatus(drawer_open=True)),
    ],
)
def test_dle_eot_replies_decode_to_online_paper_and_cover_state(printer, offline, paper, expected):
    assert escpos.combine_status(printer, offline, paper) == expected


def test_status_decoding_matches_python_escpos_masks_for_paper():
    from escpos.constants import RT_MASK_LOWPAPER, RT_MASK_NOPAPER, RT_MASK_PAPER

    assert escpos.decode_paper_status(RT_MASK_PAPER) == "ok"
    assert escpos.decode_paper_status(RT_MASK_LOWPAPER) == "low"
    assert escpos.decode_paper_status(RT_MASK_NOPAPER) == "out"


def test_a_byte_without_the_fixed_status_bits_is_not_taken_for_a_status():
    with pytest.raises(ProtocolError):
        escpos.decode_printer_status(ord("A"))


def test_encoded_status_round_trips_through_the_decoder():
    for state in (escpos.PrinterStatus(paper="low"), escpos.PrinterStatus(online=False, paper="out")):
        replies = escpos.encode_status_bytes(state)
        assert escpos.combine_status(replies[1], replies[2], replies[4]) == state


# --- scanner keymaps -----------------------------------------------------------------------


def _events(raw: bytes) -> list[InputEvent]:
    return [InputEvent(*INPUT_EVENT.unpack_from(raw, at)) for at in range(0, len(raw), INPUT_EVENT.size)]


def _decode(events, layout="us", gap_ms=100) -> list[str]:
    decoder = hid.ScanDecoder(layout, gap_ms)
    out = [decoder.feed(ev.type, ev.code, ev.value, ev.timestamp()) for ev in events]
    return [barcode for barcode in out if barcode]


def test_a_german_scanner_recording_decodes_with_the_german_layout(fixture_bytes):
    assert _decode(_events(fixture_bytes("scanner/de_scanner_Zy-12.bin")), "de") == ["Zy-12"]


def test_the_same_recording_read_as_us_swaps_y_and_z_which_is_why_layout_is_configurable(fixture_bytes):
    assert _decode(_events(fixture_bytes("scanner/de_scanner_Zy-12.bin")), "us") == ["Yz/12"]


def test_caps_lock_inverts_shift_for_letters_but_not_digits():
    from evdev import ecodes as e

    decoder = hid.ScanDecoder("us")
    keys = [(e.KEY_CAPSLOCK, 1), (e.KEY_CAPSLOCK, 0), (e.KEY_A, 1), (e.KEY_A, 0), (e.KEY_LEFTSHIFT, 1),
            (e.KEY_B, 1), (e.KEY_B, 0), (e.KEY_1, 1), (e.KEY_1, 0), (e.KEY_LEFTSHIFT, 0), (e.KEY_2, 1),
            (e.KEY_ENTER, 1)]
    results = [decoder.feed(e.EV_KEY, code, value, 0.0) for code, value in keys]
    assert results[-1] == "Ab!2"


def test_a_gap_longer_than_the_limit_drops_the_partial_scan():
    events = [(t, c, v) for t, c, v in hid.keystrokes_for("999", "us", enter=False)]
    decoder = hid.ScanDecoder("us", gap_ms=50)
    for etype, code, value in events:
        decoder.feed(etype, code, value, 10.0)
    result = None
    for etype, code, value in hid.keystrokes_for("12", "us"):
        result = decoder.feed(etype, code, value, 10.2) or result  # 200 ms later
    assert result == "12"


def test_autorepeat_and_key_up_events_add_no_characters():
    from evdev import ecodes as e

    decoder = hid.ScanDecoder("us")
    for value in (1, 2, 2, 0):
        decoder.feed(e.EV_KEY, e.KEY_7, value, 0.0)
    assert decoder.feed(e.EV_KEY, e.KEY_ENTER, 1, 0.0) == "7"


def test_unknown_layout_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match="us, de"):
        hid.ScanDecoder("dvorak")


# --- scales ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "status", "weight", "net"),
    [
        ("toledo_1234.bin", "stable", 1234, False),
        ("toledo_net_0500.bin", "stable", 500, True),
        ("toledo_motion.bin", "motion", None, False),
        ("toledo_over_capacity.bin", "over_capacity", None, False),
        ("toledo_under_zero.bin", "under_zero", None, False),
        ("toledo_motion_under_zero_outside_range.bin", "under_zero", None, False),
    ],
)
def test_toledo_frames_decode_to_distinct_results(fixture_bytes, fixture, status, weight, net):
    reading = scale.decode_toledo(fixture_bytes(f"scale/{fixture}"))
    assert (reading.status, reading.weight_milli, reading.net) == (status, weight, net)


def test_toledo_frame_without_stx_is_rejected():
    with pytest.raises(FrameError):
        scale.decode_toledo(b"01.234\r")


@pytest.mark.parametrize(
    ("fixture", "status", "weight"),
    [
        ("adam_stable.bin", "stable", 1234),
        ("adam_prefixed_stable.bin", "stable", 750),
        ("adam_unstable.bin", "motion", None),
        ("adam_overload.bin", "over_capacity", None),
    ],
)
def test_adam_replies_decode_to_distinct_results(fixture_bytes, fixture, status, weight):
    reading = scale.decode_adam(fixture_bytes(f"scale/{fixture}"))
    assert (reading.status, reading.weight_milli) == (status, weight)


def test_weights_are_integer_thousandths_never_floats():
    assert scale.parse_decimal_milli("01.2") == 1200
    assert scale.parse_decimal_milli("-0.005") == -5


# --- payment terminal ------------------------------------------------------------------------


def test_sale_request_frame_matches_the_golden_bytes(fixture_bytes):
    assert terminal.encode_frame(terminal.sale("ORD-1", 1250, "EUR")) == fixture_bytes("terminal/sale_request.bin")


def test_lrc_is_the_xor_of_body_and_etx(fixture_bytes):
    frame = fixture_bytes("terminal/sale_request.bin")
    assert terminal.lrc(frame[1:-1]) == frame[-1]


def test_approved_reply_gives_auth_code_brand_and_only_the_last_four_digits(fixture_bytes):
    reply = terminal.parse_message(terminal.decode_frame(fixture_bytes("terminal/approved_reply.bin")))
    assert (reply.status, reply.approved_cents, reply.auth_code, reply.brand, reply.last4) == (
        "APPROVED", 1250, "A1B2C3", "VISA", "4242")
    assert "4242" in repr(reply) and "*" not in repr(reply)


def test_partial_approval_carries_the_approved_amount(fixture_bytes):
    reply = terminal.parse_message(terminal.decode_frame(fixture_bytes("terminal/partial_reply.bin")))
    assert (reply.status, reply.requested_cents, reply.approved_cents, reply.last4) == ("PARTIAL", 5000, 3000, "0005")


def test_declined_reply_has_no_card_data(fixture_bytes):
    reply = terminal.parse_message(terminal.decode_frame(fixture_bytes("terminal/declined_reply.bin")))
    assert (reply.status, reply.approved_cents, reply.last4) == ("DECLINED", 0, "")


def test_an_unmasked_pan_is_refused_and_not_echoed(fixture_bytes):
    with pytest.raises(ProtocolError) as caught:
        terminal.parse_message(terminal.decode_frame(fixture_bytes("terminal/unmasked_pan_reply.bin")))
    assert "4111" not in str(caught.value)


def test_corrupted_frame_fails_the_lrc_check(fixture_bytes):
    frame = bytearray(fixture_bytes("terminal/approved_reply.bin"))
    frame[5] ^= 0x01
    with pytest.raises(ChecksumError):
        terminal.decode_frame(bytes(frame))


def test_frame_reader_splits_ack_prompt_and_result_arriving_in_pieces(fixture_bytes):
    stream = b"\x06" + fixture_bytes("terminal/prompt_insert_card.bin") + fixture_bytes("terminal/approved_reply.bin")
    reader = terminal.FrameReader()
    items = [item for at in range(0, len(stream), 7) for item in reader.feed(stream[at : at + 7])]
    assert isinstance(items[0], terminal.Ack)
    assert items[1] == terminal.Frame(["PRM", "ORD-1", "INSERT CARD"])
    assert items[2].fields[2] == "APPROVED"


def test_frame_reader_reports_a_bad_lrc_so_the_receiver_can_nak():
    frame = bytearray(terminal.encode_frame(["PRM", "X", "HELLO"]))
    frame[-1] ^= 0xFF
    assert list(terminal.FrameReader().feed(bytes(frame))) == [terminal.BadFrame(bytes(frame))]


# --- pole display -----------------------------------------------------------------------------


def test_display_lines_are_padded_to_twenty_and_cut_beyond():
    data = display.show("TOTAL", "EUR 12,50 and a very long line")
    decoder = display.DisplayDecoder()
    decoder.feed(display.initialize() + data)
    assert decoder.lines == ["TOTAL".ljust(20), "EUR 12,50 and a very"]
