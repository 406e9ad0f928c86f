"""The payment state machine and the processor that drives terminals and hosted charges.

    created ──sale──► approved | partially_approved | declined
       │                 timeout ──► timed_out ──last(ref)──► approved | declined | failed (never arrived)
       └──charge──► awaiting ──callback or query──► approved | underpaid | overpaid | expired | failed
    refund rows: created ──void/refund──► refunded | failed (a review case opens) | timed_out -> last(ref)
                 failed ──retry──► retried (a new refund row replaces it)
                 failed ──cash, by a supervisor──► settled_in_cash (a cash refund row replaces it)

A confirmed hosted charge is believed for the amount it reports, never for the amount asked:
less is `underpaid` (it counts, the rest is still due, the order stays PENDING), more is
`overpaid` (the order completes and a review case holds the surplus owed back).

Rule that closes the "charged twice" gap: a payment row, keyed by its own id, is committed
*before* the terminal or provider hears of it (`create_order` / `add_tenders` do that), and
the id is the reference they get. Any doubt afterwards (a timeout, a crash, a restart) is
settled by asking about that reference — a second SALE is never sent for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import msgspec
import structlog

from edge.domain.errors import Conflict, NotFound, OverrideRequired, ValidationFailed
from edge.domain.money import format_cents
from edge.domain.orders import OrderStatus
from edge.domain.tenders import (
    CAPTURED_STATUSES,
    SettlementStatus,
    cashier_guidance,
    plan_tenders,
    settle_hosted_charge,
)
from edge.service import loyalty
from edge.service import orders as order_cases
from edge.service.card_outcomes import card_guidance
from edge.service.commands import TenderIn
from edge.service.payment_ports import HostedCharge, HostedChargeProvider, PaymentTerminal, TerminalOutcome
from edge.service.ports import Actor, UnitOfWork
from edge.service.repository_ports import PaymentRow

log = structlog.get_logger()

IN_FLIGHT = ("created", "timed_out", "awaiting")

SALE_STATUS = {"approved": "approved", "partial": "partially_approved", "declined": "declined",
               "timeout": "timed_out", "not_found": "failed", "reversed": "reversed"}
REFUND_STATUS = {"approved": "refunded", "reversed": "refunded", "partial": "refunded", "declined": "failed",
                 "timeout": "timed_out", "not_found": "failed"}
CHARGE_STATUS = {"pending": "awaiting", "confirmed": "approved", "expired": "expired", "failed": "failed",
                 "refunded": "refunded"}


# -- use cases (one transaction each) -----------------------------------------------------------
def add_tenders(uow: UnitOfWork, order_id: str, tenders: Sequence[TenderIn], *,
                points_online: bool = True) -> dict[str, Any]:
    """More tenders for an OPEN or PENDING order (after a decline or a partial approval)."""
    orders = uow.orders
    order = orders.get(order_id)
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    if order.status not in (OrderStatus.OPEN, OrderStatus.PENDING):
        raise Conflict(f"an order that is {order.status} takes no more tenders", code="illegal-transition")
    payments = uow.payments.of_order(order_id)
    if any(p.status in IN_FLIGHT for p in payments):
        raise Conflict("a payment for this order is still in progress; wait for its outcome",
                       code="payment-in-progress")
    paid = sum(p.approved_cents for p in payments if p.kind == "sale")
    priced, redemption = loyalty.price_tenders(uow, getattr(order, "customer_id", None), tenders,
                                               online=points_online)
    requests = order_cases.tender_requests(priced)
    plan = plan_tenders(order.total_cents, requests, already_paid_cents=paid)
    new: list[PaymentRow] = []
    if plan.points and redemption is not None:
        points_cents = sum(t.amount_cents for t in plan.points)
        new.append(order_cases.new_payment(uow, order_id, "points", points_cents, status="approved",
                                           approved=points_cents))
    if plan.cash_tendered_cents:
        new.append(order_cases.new_payment(uow, order_id, "cash", plan.cash_kept_cents, status="approved",
                                           approved=plan.cash_kept_cents, tendered=plan.cash_tendered_cents,
                                           change=plan.change_due_cents))
        order_cases.record_drawer(uow, order.lane_id, "cash_sale", plan.cash_kept_cents, ref=order_id)
    for tender in plan.electronic:
        new.append(order_cases.new_payment(uow, order_id, tender.method.value, tender.amount_cents,
                                           status="created"))
    uow.payments.insert_many(new)
    if redemption is not None:
        loyalty.record_redemption(uow, order_id, next(p.id for p in new if p.method == "points"), redemption)
    methods = ",".join(sorted(set(filter(None, order.tender_methods.split(","))) | {t.method.value for t in requests}))
    values = {"tender_methods": methods, "change_due_cents": order.change_due_cents + plan.change_due_cents,
              "updated_at": uow.now}
    if order.status == OrderStatus.OPEN:
        values["status"] = OrderStatus.PENDING.value
    orders.update(order_id, values)
    uow.audit("order.tendered", "order", order_id, None,
              {"tenders": [{"method": t.method.value, "amount_cents": t.amount_cents} for t in requests]})
    return order_cases.complete_if_paid(uow, order_id)


def record_outcome(uow: UnitOfWork, payment_id: str, status: str, details: dict[str, Any]) -> PaymentRow:
    """Record a terminal or provider answer. Only an in-flight payment changes, so a late or
    repeated answer is harmless."""
    repo = uow.payments
    payment = repo.get(payment_id)
    if payment is None:
        raise NotFound("no such payment", code="payment-not-found")
    if payment.status not in IN_FLIGHT or payment.status == status:
        return payment
    values = {"status": status, "updated_at": uow.now, "attempts": payment.attempts + 1, **details}
    if status == "approved" and payment.kind == "sale" and "approved_cents" not in details:
        values["approved_cents"] = payment.amount_cents
    if status == "refunded" and "approved_cents" not in details:
        values["approved_cents"] = payment.amount_cents
    if "guidance" not in details:  # a terminal's own reason (card_outcomes) is more precise than the table
        values["guidance"] = guidance(uow, payment, status, values.get("approved_cents", payment.approved_cents),
                                      values.get("tendered_cents", payment.tendered_cents))
    if not repo.update(payment_id, values, expect_status=IN_FLIGHT):
        return payment
    after = msgspec.structs.replace(payment, **values)
    uow.audit(f"payment.{status}", "payment", payment_id, {"status": payment.status},
              {k: getattr(after, k) for k in ("status", "method", "kind", "amount_cents", "approved_cents", "order_id")})
    uow.emit(f"payment.{status}", {"payment_id": payment_id, "order_id": payment.order_id, "kind": payment.kind,
                                   "method": payment.method, "amount_cents": payment.amount_cents,
                                   "approved_cents": after.approved_cents, "status": status})
    if payment.kind == "sale" and status == SettlementStatus.OVERPAID:
        surplus = after.tendered_cents - after.amount_cents
        uow.reviews.open_case(uow, "payment_overpaid", payment.order_id, None,
                                      f"a {payment.method} payment was overpaid by "
                                      f"{format_cents(surplus, order_cases.store_currency(uow))}: owed back",
                                      {"payment_id": payment_id, "method": payment.method,
                                       "amount_cents": payment.amount_cents,
                                       "received_cents": after.tendered_cents, "surplus_cents": surplus})
    if payment.kind == "sale" and status in CAPTURED_STATUSES:
        order_cases.complete_if_paid(uow, payment.order_id)
    elif payment.kind == "refund" and status == "refunded" and payment.original_payment_id:
        original = repo.get(payment.original_payment_id)
        if original is not None and details.get("provider_ref") == "void":
            repo.update(original.id, {"status": "reversed", "guidance": guidance(uow, original, "reversed"),
                                      "updated_at": uow.now})
    elif payment.kind == "refund" and status == "failed":
        uow.reviews.open_case(uow, "payment_unresolved", payment.order_id, None,
                                      f"a {payment.method} refund of {payment.amount_cents} cents failed",
                                      {"payment_id": payment_id, "method": payment.method,
                                       "amount_cents": payment.amount_cents})
    return after


def settle_failed_refunds(uow: UnitOfWork, order_id: str, how: str, *, reason: str = "",
                          override_by: str | None = None) -> dict[str, Any]:
    """Deal with refunds the processor refused: send them again (`original`), or pay them out of
    the lane's drawer (`cash`, a supervisor's decision, since cash leaves the till). Each failed
    row is closed and replaced by a new refund row, so the history shows both attempts."""
    if how not in ("original", "cash"):
        raise ValidationFailed("settle a failed refund by retrying it (original) or in cash",
                               errors=[{"field": "settle", "message": "original or cash"}])
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    repo = uow.payments
    failed = [p for p in repo.of_order(order_id) if p.kind == "refund" and p.status == SettlementStatus.FAILED]
    if not failed:
        raise Conflict(f"order {order.number} owes the customer no failed refund", code="no-failed-refund")
    if how == "cash":
        if not (override_by or order_cases.is_supervisor(uow.actor.roles)):
            raise OverrideRequired("paying a refund in cash needs a supervisor", code="refund-cash-override-required")
        if not reason.strip():
            raise ValidationFailed("say why the refund is paid in cash",
                                   errors=[{"field": "reason", "message": "required"}])
    closed_as = SettlementStatus.SETTLED_IN_CASH if how == "cash" else SettlementStatus.RETRIED
    replacements: list[PaymentRow] = []
    for p in failed:
        if not repo.update(p.id, {"status": closed_as.value, "guidance": guidance(uow, p, closed_as),
                                  "updated_at": uow.now}, expect_status=(SettlementStatus.FAILED.value,)):
            raise Conflict("the refund changed while it was being settled", code="refund-changed")
        if how == "cash":
            row = order_cases.new_payment(uow, order_id, "cash", p.amount_cents, status="refunded",
                                          approved=p.amount_cents, kind="refund", original=p.original_payment_id,
                                          return_id=p.return_id)
            order_cases.record_drawer(uow, order.lane_id, "cash_refund", -p.amount_cents, ref=order_id)
        else:
            row = order_cases.new_payment(uow, order_id, p.method, p.amount_cents, status="created",
                                          kind="refund", original=p.original_payment_id, return_id=p.return_id,
                                          provider_ref=p.provider_ref if p.provider_ref == "void" else None)
        replacements.append(row)
    repo.insert_many(replacements)
    owed = sum(p.amount_cents for p in failed)
    uow.audit("refund.settled", "order", order_id, {"refund_state": "failed", "owed_cents": owed},
              {"settle": how, "reason": reason or None, "override_by": override_by,
               "payments": [r.id for r in replacements]})
    if how == "cash":
        uow.emit("refund.settled_in_cash", {"order_id": order_id, "number": order.number, "amount_cents": owed,
                                            "refunds": [{"payment_id": r.id, "method": "cash",
                                                         "amount_cents": r.amount_cents,
                                                         "replaces": p.id, "replaced_method": p.method}
                                                        for r, p in zip(replacements, failed, strict=True)]})
    log.info("refund.settled", order_id=order_id, settle=how, owed_cents=owed)
    return order_cases.get_order(uow, order_id)


def guidance(uow: UnitOfWork, payment: PaymentRow, status: str, approved_cents: int | None = None,
             received_cents: int | None = None) -> str:
    return cashier_guidance(status, payment.method, amount_cents=payment.amount_cents,
                            approved_cents=payment.approved_cents if approved_cents is None else approved_cents,
                            received_cents=payment.tendered_cents if received_cents is None else received_cents,
                            currency=order_cases.store_currency(uow), kind=payment.kind)


def terminal_details(outcome: TerminalOutcome) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if outcome.status in ("approved", "partial"):
        details["approved_cents"] = outcome.approved_cents
    for key, value in (("auth_code", outcome.auth_code), ("card_brand", outcome.card_brand),
                       ("card_last4", outcome.card_last4), ("entry_mode", outcome.entry_mode),
                       ("provider_ref", outcome.processor_ref)):
        if value:
            details[key] = value
    precise = card_guidance(outcome.status, reason=outcome.reason, signature_required=outcome.signature_required,
                            fallback=outcome.fallback)
    if precise:
        details["guidance"] = precise
    return details


def record_charge(uow: UnitOfWork, payment_id: str, charge: HostedCharge) -> PaymentRow | None:
    status = CHARGE_STATUS.get(charge.status, "failed")
    details: dict[str, Any] = {"provider_ref": charge.charge_id}
    if charge.checkout_url:
        details["checkout_url"] = charge.checkout_url
    if status == "approved":
        payment = uow.payments.get(payment_id)
        asked = payment.amount_cents if payment else charge.amount_cents
        settled = settle_hosted_charge(asked, charge.amount_cents)
        status = str(settled.status)
        details |= {"approved_cents": settled.approved_cents, "tendered_cents": settled.received_cents}
        if settled.received_cents != asked:
            log.warning("payment.amount_mismatch", payment_id=payment_id, asked_cents=asked,
                        received_cents=settled.received_cents, status=status)
    if status == "awaiting":
        repo = uow.payments
        payment = repo.get(payment_id)
        if payment and payment.status == "created":
            repo.update(payment_id, {"status": "awaiting", "guidance": guidance(uow, payment, "awaiting"),
                                     "updated_at": uow.now, **details})
            uow.audit("payment.awaiting", "payment", payment_id, {"status": "created"}, {"status": "awaiting"})
            return msgspec.structs.replace(payment, status="awaiting", **details)
        return payment
    return record_outcome(uow, payment_id, status, details)


# -- the processor: calls outside any transaction -----------------------------------------------
class PaymentProcessor:
    def __init__(self, runner: Any, terminal: PaymentTerminal, provider: HostedChargeProvider, *, currency: str,
                 call_timeout_s: float = 60.0, recheck_delays_s: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)):
        self.runner = runner
        self.terminal = terminal
        self.provider = provider
        self.currency = currency
        self.call_timeout_s = call_timeout_s
        self.recheck_delays_s = recheck_delays_s
        self._busy: set[str] = set()

    async def drive_order(self, actor: Actor, order_id: str) -> None:
        """Send every `created` payment of an order to its terminal or provider, once."""
        payments = await self.runner.read(actor, lambda u: u.payments.of_order(order_id))
        for p in payments:
            if p.status == "created":
                await self.drive(actor, p)

    async def drive(self, actor: Actor, p: PaymentRow) -> None:
        if p.id in self._busy:
            return
        self._busy.add(p.id)
        try:
            if p.method == "card":
                await self._card(actor, p)
            elif p.method == "crypto":
                await self._crypto(actor, p)
            elif p.method == "cash" and p.kind == "refund":
                await self.runner.run(actor, lambda u: record_outcome(u, p.id, "refunded", {}))
        except Exception:  # the row stays in flight; recovery asks again later
            log.exception("payment.drive_failed", payment_id=p.id)
        finally:
            self._busy.discard(p.id)

    async def _call(self, call: Awaitable[TerminalOutcome], ref: str) -> TerminalOutcome:
        try:
            return await asyncio.wait_for(call, self.call_timeout_s)
        except (TimeoutError, ConnectionError, OSError) as err:
            log.warning("payment.terminal_no_answer", ref=ref, error=type(err).__name__)
            return TerminalOutcome(status="timeout", ref=ref)

    async def _card(self, actor: Actor, p: PaymentRow) -> None:
        table = SALE_STATUS if p.kind == "sale" else REFUND_STATUS
        if p.kind == "sale":
            outcome = await self._call(self.terminal.sale(p.id, p.amount_cents, self.currency), p.id)
        elif p.provider_ref == "void":  # a same-day void reverses the original sale
            outcome = await self._call(self.terminal.void(p.original_payment_id), p.id)
        else:
            outcome = await self._call(self.terminal.refund(p.id, p.original_payment_id, p.amount_cents,
                                                            self.currency), p.id)
        if outcome.status == "timeout":
            await self.runner.run(actor, lambda u: record_outcome(u, p.id, "timed_out", {}))
            outcome = await self._ask_terminal(p)
            if outcome is None:
                return  # still unknown: the recovery loop keeps asking
        details = terminal_details(outcome)
        if p.provider_ref == "void":
            details["provider_ref"] = "void"
        await self.runner.run(actor, lambda u: record_outcome(u, p.id, table[outcome.status], details))

    async def _ask_terminal(self, p: PaymentRow) -> TerminalOutcome | None:
        ref = p.original_payment_id if p.provider_ref == "void" else p.id
        for delay in self.recheck_delays_s:
            await asyncio.sleep(delay)
            outcome = await self._call(self.terminal.last(ref), ref)
            if outcome.status != "timeout":
                if p.provider_ref == "void" and outcome.status == "approved":
                    return None  # the original sale still stands: the void did not arrive
                return outcome
        return None

    async def _crypto(self, actor: Actor, p: PaymentRow) -> None:
        if p.kind == "sale":
            charge = await self.provider.create_charge(p.id, p.amount_cents, self.currency)
        else:
            charge = await self.provider.refund(p.original_payment_id, p.amount_cents, refund_ref=p.id)
            if charge.status == "refunded":
                await self.runner.run(actor, lambda u: record_outcome(u, p.id, "refunded",
                                                                      {"provider_ref": charge.charge_id}))
                return
        await self.runner.run(actor, lambda u: record_charge(u, p.id, charge))

    async def recover(self, actor: Actor) -> int:
        """Settle every payment whose outcome is unknown by asking about its reference."""
        pending = await self.runner.read(actor, lambda u: u.payments.in_flight())
        settled = 0
        for p in pending:
            if p.id in self._busy:
                continue
            self._busy.add(p.id)
            try:
                settled += await self._recover_one(actor, p)
            except Exception:
                log.exception("payment.recover_failed", payment_id=p.id)
            finally:
                self._busy.discard(p.id)
        return settled

    async def _recover_one(self, actor: Actor, p: PaymentRow) -> int:
        if p.method == "card":
            ref = p.original_payment_id if p.provider_ref == "void" else p.id
            outcome = await self._call(self.terminal.last(ref), ref)
            if outcome.status == "timeout":
                return 0
            if p.kind == "refund" and outcome.status == "not_found":
                # The terminal never saw this refund: sending it now cannot pay out twice.
                self._busy.discard(p.id)
                await self.drive(actor, p)
                return 1
            if p.provider_ref == "void":
                status = "refunded" if outcome.status == "reversed" else None
                if status is None:
                    self._busy.discard(p.id)
                    await self.drive(actor, p)
                    return 1
                await self.runner.run(actor, lambda u: record_outcome(u, p.id, status, {"provider_ref": "void"}))
                return 1
            table = SALE_STATUS if p.kind == "sale" else REFUND_STATUS
            details = terminal_details(outcome)
            await self.runner.run(actor, lambda u: record_outcome(u, p.id, table[outcome.status], details))
            log.info("payment.recovered", payment_id=p.id, outcome=outcome.status)
            return 1
        if p.method == "crypto":
            ref = p.original_payment_id if p.kind == "refund" else p.id
            charge = await self.provider.query(ref)
            if charge is None:
                if p.kind == "sale":
                    await self.runner.run(actor, lambda u: record_outcome(u, p.id, "failed", {}))
                else:
                    self._busy.discard(p.id)
                    await self.drive(actor, p)
                return 1
            if p.kind == "refund":
                if charge.status == "refunded":
                    await self.runner.run(actor, lambda u: record_outcome(u, p.id, "refunded", {}))
                    return 1
                self._busy.discard(p.id)
                await self.drive(actor, p)
                return 1
            if charge.status == "pending" and p.status == "awaiting":
                return 0
            await self.runner.run(actor, lambda u: record_charge(u, p.id, charge))
            return 1
        if p.method == "cash" and p.kind == "refund":
            await self.runner.run(actor, lambda u: record_outcome(u, p.id, "refunded", {}))
            return 1
        return 0
