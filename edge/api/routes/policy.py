"""The policy in force at this store, and where it came from (HQ command and version, or defaults)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from edge.api.deps import services
from edge.api.guards import MANAGERS, requires


@get("/api/v1/policy", guards=[requires(*MANAGERS)], operation_id="policyInForce")
async def policy_in_force(request: Request) -> dict[str, Any]:
    runtime = (services(request).extras or {})["sales"]
    current = runtime.policy_in_force
    effective = runtime.policy
    return {
        **current.as_dict(),
        # What the sales rules actually use, so a manager can check a number against a till slip.
        "effective": {
            "discount_supervisor_over_bps": effective.discounts.override_over_bps,
            "return_window_days": effective.returns.window_days,
            "restocking_fee_bps": effective.returns.restocking_fee_bps,
            "restocking_fee_cents": effective.returns.restocking_fee_cents,
            "return_supervisor_over_cents": effective.returns.override_over_cents,
            "reservation_ttl_s": effective.reservation_ttl_s,
            "rounding": str(effective.rounding),
            "payout_supervisor_over_cents": effective.payout_supervisor_over_cents,
        },
    }


ROUTES = [policy_in_force]
