"""The policy in force at the store: what HQ last decided, applied once and in version order.

HQ edits a tenant's policy and sends it down as a `policy.set` command. `apply_hq_policy`
runs in the inbox's transaction: it validates the document, keeps it only if its version is
newer than the one in force (commands can arrive late or twice), and audits before and after.
The sales runtime reads `in_force` after each commit, so the next sale, return or discount
follows the new policy without a restart. Without an HQ policy the built-in defaults apply.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from edge.contracts.policy import DEFAULT_POLICY, PolicyDocument, decode_policy, policy_dict
from edge.domain.errors import ValidationFailed
from edge.domain.money import Rounding
from edge.domain.orders import DiscountPolicy
from edge.service.orders import POLICY, SalesPolicy
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import PolicyRow

SALES = "sales"


class PolicyInForce(msgspec.Struct, frozen=True, kw_only=True):
    document: PolicyDocument
    version: int
    source: Literal["default", "hq"]
    command_id: str | None = None
    issued_at: str | None = None
    applied_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"policy": policy_dict(self.document), "version": self.version, "source": self.source,
                "command_id": self.command_id, "issued_at": self.issued_at, "applied_at": self.applied_at}


DEFAULTS = PolicyInForce(document=DEFAULT_POLICY, version=0, source="default")


def sales_policy(document: PolicyDocument, base: SalesPolicy = POLICY) -> SalesPolicy:
    """The rules the sales use cases take, from HQ's document; what HQ does not set stays as built in."""
    returns = msgspec.structs.replace(
        base.returns, window_days=document.return_window_days, restocking_fee_bps=document.restocking_fee_bps,
        restocking_fee_cents=document.restocking_fee_cents,
        override_over_cents=document.return_supervisor_over_cents)
    payout_limit = document.payout_supervisor_over_cents
    return msgspec.structs.replace(
        base, reservation_ttl_s=document.reservation_ttl_s, rounding=Rounding(document.rounding),
        discounts=DiscountPolicy(override_over_bps=document.discount_supervisor_over_bps,
                                 override_over_cents=base.discounts.override_over_cents),
        returns=returns,
        payout_supervisor_over_cents=base.payout_supervisor_over_cents if payout_limit is None else payout_limit)


def in_force(uow: UnitOfWork) -> PolicyInForce:
    row = uow.policy.get(SALES)
    if row is None:
        return DEFAULTS
    # Only `apply_hq_policy` writes the table, so a stored policy is always HQ's.
    return PolicyInForce(document=decode_policy(row.document), version=row.version, source="hq",
                         command_id=row.command_id, issued_at=row.issued_at, applied_at=row.applied_at)


def version_in_force(uow: UnitOfWork) -> int:
    row = uow.policy.get(SALES)
    return row.version if row else 0


def apply_hq_policy(uow: UnitOfWork, *, command_id: str, version: int, issued_at: str | None,
                    payload: dict[str, Any]) -> str:
    """Keep HQ's document if it is newer than the one in force: "applied" or "stale"."""
    try:
        document = decode_policy(payload)
    except msgspec.ValidationError as err:
        raise ValidationFailed(f"HQ policy refused: {err}", code="invalid-policy") from None
    before = in_force(uow)
    if before.source == "hq" and before.version >= version:
        return "stale"  # an older or repeated decision never replaces a newer one
    after = PolicyInForce(document=document, version=version, source="hq", command_id=command_id,
                          issued_at=issued_at, applied_at=uow.now)
    repo = uow.policy
    repo.put(PolicyRow(name=SALES, document=policy_dict(document), version=version, source="hq",
                       command_id=command_id, issued_at=issued_at, applied_at=uow.now))
    repo.set_manager_mfa(document.manager_mfa_required)
    uow.audit("policy.set", "policy", SALES, before.as_dict(), after.as_dict())
    return "applied"
