"""Loyalty at the store: earning on completed sales, paying with points, giving them back on voids,
returns and refunds, supervisor adjustments, expiry, and the balance the lane shows.

Every entry goes into the store's ledger and out as a `loyalty.entry` event (through the outbox,
in the same transaction as the sale), with an id derived from what caused it plus its kind, so a
replayed request or a redelivered event never counts twice. The customer is found through the
ledger itself after the sale (the order's earn or redeem entry), so voids, returns and refunds
follow the points even if the order's link to the person is later dropped.

Balance = HQ's last balance (from the rpc replies) + this store's entries made after it. While
HQ is out of reach a points tender may take at most min(that balance, the offline cap, less
what this customer already redeemed offline here); those entries say `offline: true`, and if two
stores spent the same points HQ opens an overdraft case when the entries meet (see cloud.loyalty).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

import msgspec
import structlog

from edge.contracts.customers import LOYALTY_ENTRY, RPC_VIEW, LoyaltyEntry, ViewReply, ViewRequest
from edge.contracts.loyalty import TIER_KINDS, LoyaltyProgram
from edge.contracts.policy import decode_policy
from edge.domain import loyalty as rules
from edge.domain.errors import Forbidden, NotFound, ValidationFailed
from edge.domain.ids import iso, parse_iso, uuid7
from edge.service import customers as customer_cases
from edge.service.customer_ports import HqLink, HqRefused, HqUnavailable
from edge.service.loyalty_ports import LedgerRow
from edge.service.loyalty_view import loyalty_block
from edge.service.ports import Actor, UnitOfWork

log = structlog.get_logger()

SUPERVISORS = frozenset({"supervisor", "store_manager", "tenant_admin"})
MAX_ADJUST_POINTS = 1_000_000
MAX_REDEEM_POINTS = 10_000_000
EARN_KINDS = TIER_KINDS  # what counts towards a tier


class HqReach(Protocol):
    """How a points tender learns whether HQ can be asked: `refresh` fetches the customer's HQ
    balance onto the customer's row (via `record_hq_balance`) and says True, or says False when HQ
    is out of reach (the redemption is then capped by the offline allowance)."""

    async def refresh(self, actor: Actor, customer_id: str) -> bool: ...


class Standalone:
    """A store without HQ: its own ledger is the whole truth, so it is never "offline"."""

    async def refresh(self, actor: Actor, customer_id: str) -> bool:
        return True


class Unreachable:
    """A store configured for HQ with no way (yet) to ask it: every redemption is offline-capped."""

    async def refresh(self, actor: Actor, customer_id: str) -> bool:
        return False


class LinkReach:
    """Asks HQ over the customers' rpc channel (`customers.view`) for the balance just before a
    points tender, and caches it on the customer's row. No link configured: a standalone store."""

    def __init__(self, uow: Any, hq: HqLink | None):
        self.uow = uow
        self.hq = hq

    async def refresh(self, actor: Actor, customer_id: str) -> bool:
        if self.hq is None:
            return True
        if not self.hq.available:
            return False
        try:
            reply = await self.hq.request(RPC_VIEW, ViewRequest(customer_id=customer_id), ViewReply)
        except (HqUnavailable, HqRefused):
            return False
        if reply.erased:
            raise NotFound("no such customer", code="customer-not-found")
        if reply.found:
            await self.uow.run(actor, lambda u: record_hq_balance(u, customer_id, reply.balance_points,
                                                                  reply.as_of or u.now, reply.earned_in_window))
        return True


# -- reading ------------------------------------------------------------------------------------------------
def program_in_force(uow: UnitOfWork) -> LoyaltyProgram:
    row = uow.policy.get("sales")
    return decode_policy(row.document).loyalty if row is not None else LoyaltyProgram()


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    balance_points: int
    earned_in_window: int
    offline_redeemed: int  # redeemed here offline since HQ's last balance
    hq_as_of: str | None


def _hq_balance(uow: UnitOfWork, customer_id: str) -> tuple[int, str, int] | None:
    """HQ's last word on the balance and on the points earned over the tier window (every
    store's), cached on the customer's row by the rpc replies."""
    row = uow.customers.get(customer_id)
    return ((row.balance_points, row.balance_as_of, row.earned_in_window)
            if row is not None and row.balance_as_of else None)


def standing(uow: UnitOfWork, customer_id: str, program: LoyaltyProgram) -> Standing:
    repo = uow.loyalty
    hq = _hq_balance(uow, customer_id)
    since = iso(parse_iso(uow.now) - timedelta(days=program.tier_window_days))
    # HQ's balance holds what it had ingested when it answered: add what was made here after that,
    # and anything whose event has not even left this store yet (else a redemption made just before
    # the answer, still on its way to HQ, would be counted by neither and could be spent twice).
    local = repo.entries(customer_id, since=hq[1] if hq else None, or_unsent=True)
    window = repo.entries(customer_id, since=since) if hq is None or since < hq[1] else local
    here = max(sum(e.points for e in window if e.kind in TIER_KINDS), 0)
    # The tier counts every store's earnings: HQ's window figure plus this store's entries HQ had
    # not seen. This store's own window is the floor (an HQ that sent no figure, or a window that
    # moved on since HQ answered, never shows less than what was earned here).
    earned = max(hq[2] + sum(e.points for e in local if e.kind in TIER_KINDS), here) if hq else here
    return Standing(balance_points=(hq[0] if hq else 0) + sum(e.points for e in local),
                    earned_in_window=max(earned, 0),
                    offline_redeemed=-sum(e.points for e in local if e.kind == "redeem" and e.offline),
                    hq_as_of=hq[1] if hq else None)


def block(uow: UnitOfWork, customer_id: str, *, offline: bool) -> dict[str, Any]:
    """The 360 view's `loyalty` block for a customer, as this store knows it now."""
    program = program_in_force(uow)
    s = standing(uow, customer_id, program)
    return loyalty_block(program, s.balance_points, s.earned_in_window, offline, s.offline_redeemed)


def record_hq_balance(uow: UnitOfWork, customer_id: str, balance_points: int, as_of: str,
                      earned_in_window: int = 0) -> None:
    """HQ said this customer's balance was `balance_points` at `as_of` (an rpc reply), having
    earned `earned_in_window` over the tier window at every store; an older answer arriving late
    never replaces a newer one."""
    row = uow.customers.get(customer_id)
    if row is not None and as_of and (row.balance_as_of or "") <= as_of:
        uow.customers.update(customer_id, {"balance_points": balance_points, "balance_as_of": as_of,
                                           "earned_in_window": earned_in_window})


def ledger(uow: UnitOfWork, customer_id: str, limit: int = 500) -> dict[str, Any]:
    program = program_in_force(uow)
    s = standing(uow, customer_id, program)
    entries = uow.loyalty.entries(customer_id, limit=limit)
    return {"customer_id": customer_id, "balance_points": s.balance_points, "hq_as_of": s.hq_as_of,
            "items": [msgspec.structs.asdict(e) for e in reversed(entries)]}


# -- writing ------------------------------------------------------------------------------------------------
def _write(uow: UnitOfWork, entries: Sequence[LedgerRow]) -> list[LedgerRow]:
    """Keep new entries and send each one to HQ; an entry id seen before is a replay: nothing."""
    repo = uow.loyalty
    new = repo.add([e for e in entries if e.points != 0])
    for e in new:
        event_id = uow.emit(LOYALTY_ENTRY, msgspec.to_builtins(LoyaltyEntry(
            entry_id=e.entry_id, customer_id=e.customer_id, store_id=e.store_id, kind=e.kind,  # type: ignore[arg-type]
            points=e.points, order_id=e.order_id, reason=e.reason, at=e.at, offline=e.offline)))
        repo.set_event(e.entry_id, event_id)
    return new


def _entry(uow: UnitOfWork, entry_id: str, customer_id: str, kind: str, points: int, *, order_id: str | None,
           reason: str = "", offline: bool = False) -> LedgerRow:
    return LedgerRow(entry_id=entry_id, customer_id=customer_id, store_id=uow.actor.store_id or "", order_id=order_id,
                     kind=kind, points=points, reason=reason, offline=offline, actor=uow.actor.username, at=uow.now)


class Redemption(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    points: int
    amount_cents: int
    offline: bool


class PricedTender(msgspec.Struct, frozen=True):
    """A tender with its amount known: a points tender priced at the program's point value."""

    method: str
    amount_cents: int


def price_tenders(uow: UnitOfWork, customer_id: str | None, tenders: Sequence[Any], *, online: bool,
                  replay: bool = False) -> tuple[list[Any], Redemption | None]:
    """Turn `{"method": "points", "points": N}` tenders into N times the point value in cents, after checking
    the customer may spend N points now. Other tenders pass through unchanged.

    `replay`: a sale a lane made while it could not reach this server, already handed over. Like
    its stock, it is never refused for the balance: the redemption is recorded as offline, and if
    it overdraws the customer, HQ's overdraft case is where a person deals with it."""
    asked = [t for t in tenders if t.method == "points"]
    if not asked:
        return list(tenders), None
    if not customer_id:
        raise ValidationFailed("paying with points needs a customer on the sale: look the customer up first",
                               code="loyalty-needs-customer",
                               errors=[{"field": "customer_id", "message": "required for a points tender"}])
    problems = [{"field": f"tenders[{i}].points", "message": "a whole number of points, more than 0"}
                for i, t in enumerate(tenders) if t.method == "points"
                and (not isinstance(getattr(t, "points", None), int) or not 0 < t.points <= MAX_REDEEM_POINTS)]
    if problems:
        raise ValidationFailed("the points tender is not valid", code="invalid-tender", errors=problems)
    program = program_in_force(uow)
    points = sum(t.points for t in asked)
    s = standing(uow, customer_id, program)
    if replay:
        online = False
        room = rules.Allowance(points=points, offline=True)
    else:
        room = rules.allowance(program, balance=s.balance_points, offline=not online,
                               offline_redeemed=s.offline_redeemed)
    rules.check_redemption(program, points, room)
    priced = [PricedTender("points", t.points * program.point_value_cents) if t.method == "points" else t
              for t in tenders]
    return priced, Redemption(customer_id=customer_id, points=points, amount_cents=points * program.point_value_cents,
                              offline=not online)


def record_redemption(uow: UnitOfWork, order_id: str, payment_id: str, redemption: Redemption) -> None:
    _write(uow, [_entry(uow, f"{payment_id}:redeem", redemption.customer_id, "redeem", -redemption.points,
                        order_id=order_id, offline=redemption.offline,
                        reason="redeemed offline" if redemption.offline else "")])


def _eligible(program: LoyaltyProgram, lines: Sequence[dict[str, Any]], total_cents: int, points_cents: int) -> int:
    return rules.eligible_cents(program, [rules.EarnLine(sku=ln["sku"], tax_category=ln.get("tax_category") or "",
                                                         net_cents=ln["total_cents"] - ln["tax_cents"])
                                          for ln in lines], total_cents=total_cents, points_paid_cents=points_cents)


def on_completed(uow: UnitOfWork, view: dict[str, Any]) -> None:
    """A completed sale with a customer earns, at the tier they are in before it (an offline sale
    earns when the store accepts it, which is when it completes here)."""
    customer_id = view.get("customer_id")
    if not customer_id:
        return
    program = program_in_force(uow)
    if not program.enabled:
        return
    points_cents = sum(t["approved_cents"] for t in view["tenders"] if t["method"] == "points")
    eligible = _eligible(program, view["lines"], view["total_cents"], points_cents)
    earned = rules.points_earned(program, eligible, earned_in_window=standing(uow, customer_id, program).earned_in_window)
    _write(uow, [_entry(uow, f"{view['id']}:earn", customer_id, "earn", earned, order_id=view["id"],
                        reason=f"sale {view['number']}")])


def on_voided(uow: UnitOfWork, order_id: str, number: str) -> None:
    """A void takes back what the sale earned (less what returns already took back)."""
    entries = uow.loyalty.of_order(order_id)
    earned = [e for e in entries if e.kind == "earn"]
    if not earned:
        return
    left = sum(e.points for e in entries if e.kind in EARN_KINDS)
    _write(uow, [_entry(uow, f"{order_id}:void", earned[0].customer_id, "void", -left, order_id=order_id,
                        reason=f"sale {number} voided")])


def on_returned(uow: UnitOfWork, order: Any, lines: Sequence[Any], return_id: str,
                returned: dict[str, int]) -> None:
    """A return claws back pro rata: the eligible net of everything returned so far against the sale's.

    `returned`: the quantity of each line returned by *this* return (lines carry what earlier
    returns took, in `returned_quantity`, before this one is added)."""
    entries = uow.loyalty.of_order(order.id)
    earned = [e for e in entries if e.kind == "earn"]
    if not earned:
        return
    program = program_in_force(uow)
    skus, categories = set(program.excluded_skus), set(program.excluded_tax_categories)

    def eligible(ln: Any, quantity: int) -> int:
        if ln.sku in skus or ln.tax_category in categories or ln.quantity <= 0:
            return 0
        return (ln.total_cents - ln.tax_cents) * quantity // ln.quantity

    sold = sum(eligible(ln, ln.quantity) for ln in lines)
    so_far = sum(eligible(ln, min(ln.returned_quantity + returned.get(ln.id, 0), ln.quantity)) for ln in lines)
    clawed = -sum(e.points for e in entries if e.kind == "clawback")
    take = rules.clawback_points(sum(e.points for e in earned), eligible_sold_cents=sold,
                                 eligible_returned_cents=so_far, already_clawed=clawed)
    _write(uow, [_entry(uow, f"{return_id}:clawback", earned[0].customer_id, "clawback", -take, order_id=order.id,
                        reason=f"return on sale {order.number}")])


def restore(uow: UnitOfWork, order_id: str, refund_id: str, source_payment_id: str, refunded_cents: int,
            source_cents: int) -> None:
    """A refund of a points tender gives the points back, pro rata to the part of the tender
    refunded so far (`refunded_cents`, this refund included), so refunding it all in steps gives
    back exactly what was spent."""
    redeemed = next((e for e in uow.loyalty.of_order(order_id) if e.entry_id == f"{source_payment_id}:redeem"), None)
    if redeemed is None:
        return
    spent = -redeemed.points
    already = sum(e.points for e in uow.loyalty.of_order(order_id)
                  if e.kind == "restore" and e.reason == f"refund of {source_payment_id}")
    target = spent if refunded_cents >= source_cents else spent * refunded_cents // max(source_cents, 1)
    points = max(target - already, 0)
    _write(uow, [_entry(uow, f"{refund_id}:restore", redeemed.customer_id, "restore", points, order_id=order_id,
                        reason=f"refund of {source_payment_id}")])


class Adjustment(Protocol):
    points: int
    reason: str


def adjust(uow: UnitOfWork, customer_id: str, cmd: Adjustment) -> dict[str, Any]:
    """A supervisor corrects a balance, with a reason; audited with the customer id only."""
    if not SUPERVISORS.intersection(uow.actor.roles):
        raise Forbidden("only a supervisor can adjust points", code="loyalty-adjust-forbidden")
    reason = cmd.reason.strip()
    problems = []
    if cmd.points == 0 or abs(cmd.points) > MAX_ADJUST_POINTS:
        problems.append({"field": "points", "message": f"a whole number of points, not 0, at most {MAX_ADJUST_POINTS}"})
    if not reason:
        problems.append({"field": "reason", "message": "say why"})
    if problems:
        raise ValidationFailed("the adjustment is not valid", errors=problems)
    if not uow.customers.exists(customer_id):
        raise NotFound("no such customer at this store; look the customer up first", code="customer-not-found")
    program = program_in_force(uow)
    if cmd.points < 0 and standing(uow, customer_id, program).balance_points + cmd.points < 0:
        raise ValidationFailed("that would take the balance below zero", code="loyalty-insufficient-points",
                               errors=[{"field": "points", "message": "more than the balance"}])
    entry = _entry(uow, f"adjust:{uuid7()}", customer_id, "adjust", cmd.points, order_id=None, reason=reason)
    _write(uow, [entry])
    uow.audit("loyalty.adjusted", "customer", customer_id, None,
              {"entry_id": entry.entry_id, "points": cmd.points, "reason": reason})
    log.info("loyalty.adjusted", customer_id=customer_id, points=cmd.points)
    return msgspec.structs.asdict(entry) | {"balance_points": standing(uow, customer_id, program).balance_points}


def expire_due(uow: UnitOfWork, limit: int = 500) -> int:
    """The expiry sweep: lapse what is left of lots older than the program's expiry, oldest first.
    Each expire entry's id derives from the lot it lapses, so running the sweep twice is harmless."""
    program = program_in_force(uow)
    if not program.enabled or program.expiry_days <= 0:
        return 0
    now = parse_iso(uow.now)
    cutoff = iso(now - timedelta(days=program.expiry_days))
    lapsed = 0
    for customer_id in uow.loyalty.customers_with_credits_before(cutoff, limit):
        lines = [rules.LedgerLine(entry_id=e.entry_id, kind=e.kind, points=e.points, at=parse_iso(e.at))
                 for e in uow.loyalty.entries(customer_id, limit=100_000)]
        # This store sees only its own lots; points already spent at other stores (in HQ's
        # balance) are not there to lapse, so never take more than the balance holds.
        room = max(standing(uow, customer_id, program).balance_points, 0)
        entries = []
        for x in rules.expiring(program, lines, now=now):
            points, room = min(x.points, room), room - min(x.points, room)
            entries.append(_entry(uow, f"{x.lot_entry_id}:expire", customer_id, "expire", -points, order_id=None,
                                  reason=f"expired after {program.expiry_days} days"))
        lapsed += sum(e.points for e in _write(uow, entries))
    return -lapsed


def erase(uow: UnitOfWork, customer_id: str) -> int:
    """Crypto-shredding's loyalty part: entries keep their points under a random pseudonym (the
    store's figures still add up; nobody can tell whose they were). The cached HQ balance goes
    with the customer's row."""
    return uow.loyalty.erase(customer_id, f"erased-{uuid7()}")


if erase not in customer_cases.ERASE_HOOKS:  # an erasure (at HQ's command or on an rpc reply) runs it
    customer_cases.ERASE_HOOKS.append(erase)
