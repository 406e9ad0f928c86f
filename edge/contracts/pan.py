"""Card numbers (PANs): the one detector the edge and the cloud share (PCI, DESIGN §6).

NovaPOS never stores, logs or replicates a primary account number. Anything a person types can
hold one by mistake or on purpose (a product name, a void reason, a customer note, a header),
so every boundary asks this module: request bodies are refused, log events and ingested events
are masked.

What counts as a card number: 13-19 digits that pass the Luhn check, written as one run or as
groups of 2-6 digits separated by single spaces or dashes ("4111 1111 1111 1111",
"3782-822463-10005"), standing on their own: digits glued to letters are part of a token (a
hex hash, a UUID, "evt_…"), and groups longer than 6 digits never join a candidate, which keeps
dates and phone numbers from looking like cards. A product code
(barcode, GTIN, SKU) is checked against its own check digit first: a valid GTIN-13 is a
barcode, not a card, even when it also happens to pass Luhn.

Pure functions over the standard library, so `edge.domain`, `edge.api`, the log setup and the
cloud can all import it.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

# Digit groups joined by single spaces or dashes; each match is one maximal run.
_GROUPED_RUN = re.compile(r"\d+(?:[ -]\d+)*")
# Cheap pre-check: no 13 digits with at most single separators in between, no card number.
_CANDIDATE = re.compile(r"\d(?:[ -]?\d){12}")
_CANDIDATE_BYTES = re.compile(rb"\d(?:[ -]?\d){12}")
# Every candidate lies inside one run of 13+ ASCII digits, spaces and dashes that starts and ends
# on a digit; finding the runs first is linear, the candidate pattern alone backtracks on each digit.
_DIGIT_RUN_BYTES = re.compile(rb"[0-9][0-9 -]{11,}[0-9]")
_json_encoder = msgspec.json.Encoder()
# The run pattern's characters as one byte, everything else as another: a run of 13 is then a
# plain substring search.
_RUN_CHARS = bytes(48 if chr(b) in "0123456789 -" else 120 for b in range(256))
_THIRTEEN_RUN = b"0" * 13
_RUN_STRETCH = re.compile(rb"0{13,}")

MIN_DIGITS, MAX_DIGITS = 13, 19
_MAX_GROUP = 6  # the longest group in a written-out card number (Amex 4-6-5)

# Fields that hold product codes: their values are exempt when they are a valid GTIN.
CODE_FIELDS = frozenset({"barcode", "barcodes", "gtin", "ean", "upc", "sku"})
# Fields that are secrets: never stored in clear nor logged, so never scanned (a numeric
# password that passes Luhn is not a card number that reaches a table).
SECRET_FIELDS = frozenset({"password", "new_password", "pin", "override_pin", "totp", "code", "refresh_token",
                           "override_token", "access_token", "token", "secret"})

MASK = "*"
REFUSAL = ("a field looks like a card number; NovaPOS never accepts card numbers (use the payment terminal), "
           "remove it and send the request again")


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def gtin_valid(code: str) -> bool:
    """A GS1 code (GTIN-8, UPC-A, EAN-13, GTIN-14) with a correct check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    body, check = code[:-1], ord(code[-1]) - 48
    total = sum((ord(c) - 48) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every card number in `text`."""
    for run in _GROUPED_RUN.finditer(text):
        before = text[run.start() - 1] if run.start() else " "
        after = text[run.end()] if run.end() < len(text) else " "
        if before.isalnum() or after.isalnum():
            continue  # part of a longer token: a hex hash, an id like "evt_…", not a typed number
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\d+", run.group())]
        taken_until = -1
        for i, (start, end) in enumerate(groups):
            if start < taken_until:
                continue
            length = end - start
            if MIN_DIGITS <= length <= MAX_DIGITS and luhn_valid(text[start:end]):
                yield start, end
                taken_until = end
                continue
            if length > _MAX_GROUP:
                continue
            # A written-out number: consecutive short groups adding up to 13-19 digits.
            digits = ""
            for j in range(i, len(groups)):
                g_start, g_end = groups[j]
                if g_end - g_start > _MAX_GROUP:
                    break
                digits += text[g_start:g_end]
                if len(digits) > MAX_DIGITS:
                    break
                if j > i and len(digits) >= MIN_DIGITS and luhn_valid(digits):
                    yield start, g_end
                    taken_until = g_end
                    break


def looks_like_card_number(text: str) -> bool:
    if not _CANDIDATE.search(text):
        return False
    return next(_spans(text), None) is not None


def may_hold_card_number(raw: bytes) -> bool:
    """A fast test on raw bytes (a request body): False means certainly no card number.
    A JSON escape (`\\u0034` is "4") can spell digits the byte pattern does not see: maybe."""
    return b"\\u" in raw or _CANDIDATE_BYTES.search(raw) is not None


def value_may_hold_card_number(value: Any) -> bool:
    """A fast test on a decoded JSON value (an ingested event's payload): False means
    `card_number_fields(value)` is certainly empty, so the field-by-field walk can be skipped.

    msgspec writes ASCII text without escapes as itself, and every string, key and number in
    the encoding is bounded by a quote, comma, colon or bracket: neither a digit, a separator nor
    alphanumeric. So a card number in any of them is a card number in the encoded text, with the
    same neighbours, and `_spans` over each long digit run there finds it. Text with an escape
    (a newline before digits reads as "n") or outside ASCII (`str` patterns count other scripts'
    digits as digits) answers True: the walk then decides.
    """
    try:
        raw = _json_encoder.encode(value)
    except (TypeError, ValueError, OverflowError):
        return True
    return json_may_hold_card_number(raw)


def json_may_hold_card_number(raw: bytes) -> bool:
    """The same test on JSON text as it arrived (an ingested event's message), without decoding
    and re-encoding it: False means no string, key or integer decoded from `raw` holds a card number.

    The argument of `value_may_hold_card_number` holds for any valid JSON, not only msgspec's:
    unescaped ASCII text decodes to itself, an integer's digits are its decimal text (JSON allows
    no leading zeros or "+"), and tokens are separated by structural characters, whitespace
    never joining two numbers' digits. Text the decoder drops (a repeated key, an unknown field)
    can only add a True, and then the walk decides.
    """
    if not raw.isascii() or b"\\" in raw:
        return True
    shape = raw.translate(_RUN_CHARS)
    if _THIRTEEN_RUN not in shape:
        return False  # no 13 digits, spaces and dashes in a row: a byte search, no regex (most events)
    text = raw.decode("ascii")
    for stretch in _RUN_STRETCH.finditer(shape):  # the digit-run pattern only where one can be
        for run in _DIGIT_RUN_BYTES.finditer(raw, stretch.start(), stretch.end()):
            if next(_spans(text[max(0, run.start() - 1) : run.end() + 1]), None) is not None:
                return True
    return False


def _is_product_code(key: str | None, text: str) -> bool:
    return key is not None and key.lower() in CODE_FIELDS and gtin_valid(text.strip())


def card_number_fields(value: Any, path: str = "", *, key: str | None = None) -> list[str]:
    """Paths of every field (nested mappings and lists too) that holds a card number.

    Mapping keys are scanned as well as values: `{"4111…": 1}` stores the number just the same.
    A PAN sent as a JSON number is still a PAN.
    """
    if isinstance(value, Mapping):
        found = []
        for k, item in value.items():
            name = str(k)
            child = f"{path}.{name}" if path else name
            if looks_like_card_number(name):
                found.append(f"{path}.{mask_card_numbers(name)}" if path else mask_card_numbers(name))
            elif name.lower() not in SECRET_FIELDS:
                found += card_number_fields(item, child, key=name)
        return found
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in card_number_fields(item, f"{path}[{i}]", key=key)]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and looks_like_card_number(value) and not _is_product_code(key, value):
        return [path]
    return []


_CODE_LIST = re.compile(r"[|;,]")


def request_body_card_number_fields(body: bytes, content_type: str) -> list[str]:
    """Where a request body (JSON, or CSV for imports) holds a card number: field paths for
    JSON, `row N column` for CSV. Empty when there is none, or when the body is not parseable
    (the route's own decoding then answers with its 400)."""
    if not body or not may_hold_card_number(body):
        return []
    if content_type.split(";")[0].strip().lower() == "text/csv":
        return _csv_fields(body)
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []
    return card_number_fields(decoded)


def _csv_fields(body: bytes) -> list[str]:
    """`row N column` for each CSV cell holding a card number (the header is row 1)."""
    text = body.decode("utf-8-sig", errors="replace")
    found = []
    try:
        reader = csv.reader(io.StringIO(text))
        header = []
        for index, name in enumerate(h.strip() for h in next(reader, [])):
            if looks_like_card_number(name):
                found.append(f"row 1 column {index + 1}")
                name = f"column {index + 1}"
            header.append(name)
        for row_number, row in enumerate(reader, start=2):
            for index, cell in enumerate(row):
                if not _CANDIDATE.search(cell):
                    continue  # no 13-digit run in the cell, so none in any part of it (most cells)
                name = header[index] if index < len(header) else f"column {index + 1}"
                value: Any = _CODE_LIST.split(cell) if name.lower() in CODE_FIELDS else cell
                if card_number_fields({name: value}):
                    found.append(f"row {row_number} {name}")
    except csv.Error:
        return found  # a malformed file: the import itself says what is wrong
    return found


def mask_card_numbers(text: str) -> str:
    """The text with every card number's digits but the last four replaced by `*`."""
    if not _CANDIDATE.search(text):
        return text
    spans = list(_spans(text))
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        chunk = text[start:end]
        keep = len(chunk)
        seen = 0
        for index in range(len(chunk) - 1, -1, -1):  # find where the last four digits start
            if chunk[index].isdigit():
                seen += 1
                if seen == 4:
                    keep = index
                    break
        out.append("".join(MASK if c.isdigit() else c for c in chunk[:keep]) + chunk[keep:])
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_card_numbers_in(value: Any, *, key: str | None = None) -> Any:
    """A copy of a JSON-like value with every card number masked (product codes kept)."""
    if isinstance(value, str):
        return value if _is_product_code(key, value) else mask_card_numbers(value)
    if isinstance(value, Mapping):
        return {mask_card_numbers(str(k)) if isinstance(k, str) else k: mask_card_numbers_in(v, key=str(k))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_card_numbers_in(v, key=key) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and looks_like_card_number(str(value)):
        return mask_card_numbers(str(value))
    return value


def mask_card_numbers_processor(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: no log line carries a card number, whatever the caller bound.

    Run it after exceptions are formatted, so a traceback that quotes input is masked too.
    """
    for name, item in event.items():
        if isinstance(item, str):
            if _CANDIDATE.search(item):
                event[name] = mask_card_numbers(item)
        elif isinstance(item, Mapping | list | tuple):
            event[name] = mask_card_numbers_in(item)
    return event


class MaskCardNumbersFilter(logging.Filter):
    """The same masking for the standard library's loggers (uvicorn, nats, alembic)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CANDIDATE.search(message):
            record.msg, record.args = mask_card_numbers(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and _CANDIDATE.search(record.exc_text):
            record.exc_text = mask_card_numbers(record.exc_text)
        return True
