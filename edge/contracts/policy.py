"""The store policy document HQ edits and sends down in a `policy.set` command.

One Struct, decoded by HQ when a tenant admin edits it and again by the store when it applies
it, so both ends refuse the same bad values. Fields are only ever appended, with defaults: a
store running older code ignores nothing it understands and a newer HQ never breaks it.
Every number is bounded; the bounds are what a real chain could want, not what fits an int.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from edge.contracts.loyalty import LoyaltyProgram

Percent_bps = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]  # a million in major units
ShiftChange = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]  # store-local "HH:MM"


class PolicyDocument(msgspec.Struct, frozen=True, kw_only=True):
    # A cashier may give up to this share of a line (or the order) without a supervisor.
    discount_supervisor_over_bps: Percent_bps = 2_000
    return_window_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    # A restocking fee in basis points of the restocked refund, or flat per return: not both.
    restocking_fee_bps: Percent_bps = 0
    restocking_fee_cents: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    return_supervisor_over_cents: Cents | None = 20_000  # refunds above this need a manager
    reservation_ttl_s: Annotated[int, msgspec.Meta(ge=60, le=7 * 86_400)] = 900
    manager_mfa_required: bool = True
    rounding: Literal["half_up", "half_even"] = "half_up"
    payout_supervisor_over_cents: Cents | None = None  # None: the store's built-in limit
    # The lane as a kiosk: it locks after this long without a touch or a scan (0: never), keeping
    # the sale; a cashier's sign-in lasts at most this long, and ends at any shift change.
    lane_idle_lock_s: Annotated[int, msgspec.Meta(ge=0, le=3_600)] = 120
    lane_session_max_s: Annotated[int, msgspec.Meta(ge=900, le=86_400)] = 10 * 3_600
    lane_shift_changes: Annotated[tuple[ShiftChange, ...], msgspec.Meta(max_length=12)] = ()
    # Removing a scanned line asks the cashier why (recorded for loss prevention).
    line_removal_reason_required: bool = True
    # The tenant's loyalty program (edge.contracts.loyalty); off until HQ turns it on.
    loyalty: LoyaltyProgram = LoyaltyProgram()

    def __post_init__(self) -> None:
        if self.restocking_fee_bps and self.restocking_fee_cents:
            raise ValueError("a restocking fee in basis points or in cents, not both")


DEFAULT_POLICY = PolicyDocument()


def decode_policy(raw: object) -> PolicyDocument:
    """Validate a JSON-shaped value; raises msgspec.ValidationError naming the bad field.

    Unknown fields are ignored here, so a store still applies what it understands of a
    document from a newer HQ; HQ refuses them on input with `unknown_fields`.
    """
    return msgspec.convert(raw, PolicyDocument)


def unknown_fields(raw: dict[str, object]) -> list[str]:
    return sorted(set(raw) - set(PolicyDocument.__struct_fields__))


def policy_dict(policy: PolicyDocument) -> dict[str, object]:
    return msgspec.to_builtins(policy)
