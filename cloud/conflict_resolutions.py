"""How each kind of HQ conflict case may be closed: a short code the stores and reports can
count on, and the words the dashboard shows for it.

A case is closed with one of its kind's resolutions and an optional note; free text is not a
resolution (a report of "how many negative-stock cases were written off" needs codes). A kind
this table does not know yet (raised by a newer hub) can still be accepted or dismissed.
"""

from __future__ import annotations

from typing import Any

from cloud.errors import InvalidInput

RESOLUTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "negative_stock": (
        ("counted", "Stock counted and corrected at the store"),
        ("adjusted", "Adjusted: a movement was missing"),
        ("written_off", "Written off"),
        ("accepted", "Accepted as it is"),
    ),
    "price_variance": (
        ("accepted", "Price accepted"),
        ("price_corrected", "Price corrected in the catalog"),
        ("customer_refunded", "Difference refunded to the customer"),
        ("written_off", "Difference written off"),
    ),
    "transfer_unreceived": (
        ("received_late", "Received late"),
        ("lost_in_transit", "Lost in transit, written off"),
        ("returned_to_sender", "Returned to the sending store"),
        ("cancelled", "Transfer cancelled"),
    ),
    "bopis": (
        ("fulfilled_elsewhere", "Fulfilled from another channel"),
        ("customer_refunded", "Customer refunded"),
        ("cancelled", "Cancelled with the customer"),
    ),
    "loyalty_overdraft": (  # cloud.loyalty.apply_resolution does what these say
        ("claw_back", "Claw back: the debt stays, future points repay it"),
        ("write_off", "Write off: HQ brings the balance back to zero"),
    ),
}
FALLBACK: tuple[tuple[str, str], ...] = (("accepted", "Accepted"), ("dismissed", "Dismissed: not a problem"))


def allowed(kind: str) -> tuple[tuple[str, str], ...]:
    return RESOLUTIONS.get(kind, FALLBACK)


def choices(kind: str) -> list[dict[str, Any]]:
    """The resolutions of `kind`, as the dashboard lists them."""
    return [{"code": code, "label": label} for code, label in allowed(kind)]


def label(kind: str, code: str | None) -> str | None:
    return dict(allowed(kind)).get(code or "", code)


def check(kind: str, resolution: str) -> None:
    codes = [code for code, _ in allowed(kind)]
    if resolution not in codes:
        raise InvalidInput(
            f"'{resolution}' does not resolve a {kind} case; choose one of {', '.join(codes)}",
            errors=[{"field": "resolution", "message": f"one of {', '.join(codes)}"}],
        )
