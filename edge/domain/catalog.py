"""Catalog rules: what a valid product, barcode, tax category and price override are.

Pure: the same checks serve the API, the CSV import and HQ's catalog commands.
"""

from __future__ import annotations

import json
import re
from typing import Any

from edge.domain.errors import ValidationFailed

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
CODE_RE = re.compile(r"^[A-Za-z0-9-]{1,48}$")
TAX_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_PRICE_CENTS = 100_000_000  # one million in major units: a typo guard, not a business limit
MAX_NAME_LENGTH = 200
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # NUL, line breaks and other controls: never in a name
# Attributes are a free JSON object (colour, size, HQ's version), printed and replicated with
# the product: shallow and small is all they need, and deep JSON breaks encoders downstream.
MAX_ATTRIBUTES_DEPTH = 4
MAX_ATTRIBUTES_BYTES = 4096


def gtin_check_digit_ok(code: str) -> bool:
    """GS1 check digit for EAN-8, UPC-A, EAN-13 and GTIN-14."""
    # Weights 3, 1, 3, ... from the digit next to the check digit leftwards. Summed by slices, not
    # digit by digit: a 100,000-row import checks every barcode, and the per-digit loop was the
    # largest single cost of validating such a file.
    body = code[-2::-1]
    total = 3 * sum(map(int, body[0::2])) + sum(map(int, body[1::2]))
    return (10 - total % 10) % 10 == int(code[-1])


def barcode_problem(code: str) -> str | None:
    if code.isdigit() and len(code) in (8, 12, 13, 14):
        return None if gtin_check_digit_ok(code) else f"{code} has a wrong check digit"
    if not CODE_RE.fullmatch(code):
        return f"{code!r} is not a barcode (digits, letters and '-', up to 48)"
    return None


def ean13(prefix12: str) -> str:
    """Complete a 12-digit body with its check digit."""
    for check in range(10):
        if gtin_check_digit_ok(prefix12 + str(check)):
            return prefix12 + str(check)
    raise AssertionError("unreachable")


def product_problems(fields: dict[str, Any], *, partial: bool = False) -> list[dict[str, str]]:
    """Field problems of a product create (or, with partial=True, a patch)."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if "sku" in fields or not partial:
        sku = fields.get("sku")
        if not isinstance(sku, str) or not SKU_RE.fullmatch(sku):
            bad("sku", "1-64 letters, digits or . _ / -, starting with a letter or digit")
    if "name" in fields or not partial:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            bad("name", f"1-{MAX_NAME_LENGTH} characters")
        elif CONTROL_RE.search(name):
            bad("name", "one line without control characters")
    if "price_cents" in fields or not partial:
        price = fields.get("price_cents")
        if not isinstance(price, int) or isinstance(price, bool) or not 0 <= price <= MAX_PRICE_CENTS:
            bad("price_cents", f"an integer number of cents from 0 to {MAX_PRICE_CENTS}")
    if "tax_category" in fields or not partial:
        tax = fields.get("tax_category")
        if not isinstance(tax, str) or not TAX_CODE_RE.fullmatch(tax):
            bad("tax_category", "a tax category code")
    if "barcodes" in fields:
        codes = fields.get("barcodes")
        if not isinstance(codes, list) or len(codes) > 20:
            bad("barcodes", "a list of up to 20 barcodes")
        else:
            if len(set(codes)) != len(codes):
                bad("barcodes", "a barcode is listed twice")
            for code in codes:
                problem = barcode_problem(code) if isinstance(code, str) else "not a string"
                if problem:
                    bad("barcodes", problem)
    if "attributes" in fields:
        problem = attributes_problem(fields["attributes"])
        if problem:
            bad("attributes", problem)
    if "low_stock_threshold" in fields:
        threshold = fields["low_stock_threshold"]
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            bad("low_stock_threshold", "a whole number of units, 0 or more")
    return errors


def attributes_problem(attributes: Any) -> str | None:
    """Why a product's attributes cannot be stored, or None."""
    if not isinstance(attributes, dict):
        return "a JSON object"
    if _depth(attributes) > MAX_ATTRIBUTES_DEPTH:
        return f"at most {MAX_ATTRIBUTES_DEPTH} levels of nesting"
    try:
        size = len(json.dumps(attributes, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return "JSON values only"
    if size > MAX_ATTRIBUTES_BYTES:
        return f"at most {MAX_ATTRIBUTES_BYTES} bytes as JSON"
    return None


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion (a hostile value may be very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_ATTRIBUTES_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def require_valid_product(fields: dict[str, Any], *, partial: bool = False) -> None:
    errors = product_problems(fields, partial=partial)
    if errors:
        raise ValidationFailed("the product is not valid", errors=errors)


def override_problems(price_cents: Any, valid_from: str, valid_to: str | None) -> list[dict[str, str]]:
    errors = []
    if not isinstance(price_cents, int) or isinstance(price_cents, bool) or not 0 <= price_cents <= MAX_PRICE_CENTS:
        errors.append({"field": "price_cents", "message": "an integer number of cents"})
    if valid_to is not None and valid_to <= valid_from:
        errors.append({"field": "valid_to", "message": "must be after valid_from"})
    return errors
