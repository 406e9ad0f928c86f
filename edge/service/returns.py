"""Voids, returns and exchanges.

Refunds go back to the original tenders: card and crypto through their ports (a refund row is
committed first, in state `created`, and the payment processor sends it afterwards — the same
persist-then-call rule as sales), cash out of the lane's drawer at once. An exchange is a
return and a new sale in one transaction: the refund is credited to the new sale first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec

from edge.domain.errors import Conflict, NotFound, OverrideRequired, ReturnExceedsSold, ValidationFailed
from edge.domain.ids import parse_iso, uuid7
from edge.domain.orders import Approval, Order, OrderStatus, require_transition, stock_units
from edge.domain.returns import Disposition, ReturnPlan, ReturnRequest, apply_return, plan_return
from edge.domain.tenders import CAPTURED_STATUSES
from edge.service import loyalty
from edge.service import orders as order_cases
from edge.service import payments as payment_cases
from edge.service.commands import Exchange, ItemsReturned, ReturnedLine, Sale
from edge.service.inventory import Movement, StockMove, append_movements
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import OrderLineRow, OrderRow, PaymentRow, ReturnLineRow, ReturnRow


def _return_requests(wanted: Sequence[ReturnedLine]) -> list[ReturnRequest]:
    problems = [{"field": f"lines[{i}].quantity", "message": "a whole number, 1 or more"}
                for i, item in enumerate(wanted) if item.quantity <= 0]
    if problems:
        raise ReturnExceedsSold("the return does not match what was sold", errors=problems)
    return [ReturnRequest(line_id=item.line_id, quantity=item.quantity, restock=item.restock) for item in wanted]


def _order(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    return order


def _approval(uow: UnitOfWork, override_by: str | None, *, system: bool = False) -> Approval:
    """Who consents: a supervisor whose PIN or token the route checked, the actor's own roles,
    or the system itself (an abandoned order expiring)."""
    if system:
        return Approval(approver_id="system", roles=frozenset({"supervisor"}))
    if override_by:
        return Approval(approver_id=override_by, roles=frozenset({"supervisor"}))
    return Approval(approver_id=uow.actor.user_id or uow.actor.username, roles=frozenset(uow.actor.roles))


def _refund_rows(uow: UnitOfWork, order: OrderRow, amount: int, *, void: bool,
                 return_id: str | None = None) -> list[PaymentRow]:
    """Refund `amount` to the order's approved tenders: electronic first, then cash, points last
    (so a partial return never turns points into money; the points come back as a `restore`)."""
    payments = uow.payments.of_order(order.id)
    refunded: dict[str, int] = {}
    for p in payments:
        if p.kind == "refund" and p.status not in order_cases.REFUND_UNPAID:
            refunded[p.original_payment_id] = refunded.get(p.original_payment_id, 0) + p.amount_cents
    sources = [p for p in payments if p.kind == "sale" and p.status in CAPTURED_STATUSES
               and p.method != "exchange_credit"]
    sources.sort(key=lambda p: (p.method == "points", p.method == "cash", p.id))
    rows: list[PaymentRow] = []
    left = amount
    for src in sources:
        room = src.approved_cents - refunded.get(src.id, 0)
        take = min(room, left)
        if take <= 0:
            continue
        left -= take
        if src.method == "cash":
            row = order_cases.new_payment(uow, order.id, "cash", take, status="refunded", approved=take,
                                          kind="refund", original=src.id, return_id=return_id)
            order_cases.record_drawer(uow, uow.actor.lane_id or order.lane_id, "cash_refund", -take, ref=order.id)
        elif src.method == "points":
            row = order_cases.new_payment(uow, order.id, "points", take, status="refunded", approved=take,
                                          kind="refund", original=src.id, return_id=return_id)
            loyalty.restore(uow, order.id, row.id, src.id, take + refunded.get(src.id, 0), src.approved_cents)
        else:
            reversal = void and src.method == "card" and take == src.approved_cents  # same day, in full
            row = order_cases.new_payment(uow, order.id, src.method, take, status="created", kind="refund",
                                          original=src.id, return_id=return_id,
                                          provider_ref="void" if reversal else None)
        rows.append(row)
    if left > 0:  # e.g. an exchange credit: what cannot go back to a tender is paid in cash
        rows.append(order_cases.new_payment(uow, order.id, "cash", left, status="refunded", approved=left,
                                            kind="refund", return_id=return_id))
        order_cases.record_drawer(uow, uow.actor.lane_id or order.lane_id, "cash_refund", -left, ref=order.id)
    uow.payments.insert_many(rows)
    return rows


def void_order(uow: UnitOfWork, order_id: str, reason: str, *, override_by: str | None = None,
               system: bool = False) -> dict[str, Any]:
    if not system and not (override_by or order_cases.is_supervisor(uow.actor.roles)):
        raise OverrideRequired("voiding an order needs a supervisor", code="void-override-required")
    if not reason or not reason.strip():
        raise ValidationFailed("a void needs a reason", errors=[{"field": "reason", "message": "required"}])
    orders = uow.orders
    order = _order(uow, order_id)
    lines = orders.lines(order_id)
    aggregate = order_cases.order_from_rows(order, lines)
    payments = uow.payments.of_order(order_id)
    if any(p.status in ("created", "timed_out") for p in payments):
        require_transition(order.status, OrderStatus.VOIDED, action="void", number=order.number)
        raise Conflict("a payment for this order is still in progress; wait for its outcome before voiding",
                       code="payment-in-progress")
    aggregate.void(reason=reason, approval=_approval(uow, override_by, system=system), at=parse_iso(uow.now),
                   today=date.fromisoformat(uow.business_day))
    for p in payments:
        if p.status == "awaiting":  # the crypto checkout is abandoned
            uow.payments.update(p.id, {"status": "expired", "updated_at": uow.now,
                                       "guidance": payment_cases.guidance(uow, p, "expired")})
    movements: list[Movement] = []
    if order.status == OrderStatus.COMPLETED:
        movements = append_movements(uow, order.store_id, [
            StockMove(product_id=ln.product_id, sku=ln.sku, kind="void", delta=order_cases.stock_units(ln),
                      ref=order_id, reason=reason) for ln in lines])
    else:
        order_cases.release_reservations(uow, order_id, "released")
    paid = sum(p.approved_cents for p in payments if p.kind == "sale"
               and p.status in CAPTURED_STATUSES)
    refunds = _refund_rows(uow, order, paid, void=True) if paid else []
    loyalty.on_voided(uow, order_id, order.number)
    orders.update(order_id, {"status": aggregate.status.value, "voided_at": uow.now, "void_reason": reason,
                             "override_by": override_by or order.override_by, "updated_at": uow.now,
                             "refunded_cents": paid})
    uow.audit("order.voided", "order", order_id, {"status": order.status},
              {"status": aggregate.status.value, "reason": reason, "override_by": override_by})
    uow.emit("order.voided", {"order_id": order_id, "number": order.number, "total_cents": order.total_cents,
                              "reason": reason, "movements": movements,
                              "refunds": [{"payment_id": r.id, "method": r.method,
                                           "amount_cents": r.amount_cents} for r in refunds]})
    view = order_cases.get_order(uow, order_id)
    return view | {"refunds": [order_cases.present_payment(r) for r in refunds] or view["refunds"]}


class PlannedReturn(msgspec.Struct, frozen=True, kw_only=True):
    """A return as it will be written, checked and priced by the domain before anything is."""

    plan: ReturnPlan
    order: Order  # the aggregate the return is applied to
    reason: str
    sold_lines: dict[str, OrderLineRow]  # the order's line rows, by id
    return_lines: list[ReturnLineRow]
    restock: list[StockMove]  # stock movements for what goes back on the shelf


def create_return(uow: UnitOfWork, order_id: str, cmd: ItemsReturned, *, override_by: str | None = None,
                  policy: order_cases.SalesPolicy = order_cases.POLICY) -> dict[str, Any]:
    """Take items back: plan (no writes), the exchange's new sale if any, persist, emit."""
    order = _order(uow, order_id)
    planned = plan_items_return(order, uow.orders.lines(order_id), cmd, approval=_approval(uow, override_by),
                                now=parse_iso(uow.now), policy=policy)
    exchange_view, credit = None, 0
    if cmd.exchange is not None:
        exchange_view, credit = _exchange(uow, order, cmd.exchange, planned, override_by=override_by, policy=policy)
    refunds, movements = _persist_return(uow, order, planned, exchange_view, credit, override_by=override_by)
    return _emit_return(uow, order, planned, refunds, movements, exchange_view, credit, override_by=override_by)


def plan_items_return(order: OrderRow, line_rows: list[OrderLineRow], cmd: ItemsReturned, *,
                      approval: Approval, now: datetime, policy: order_cases.SalesPolicy) -> PlannedReturn:
    """Check the return against the order and the policy, and price it (the domain's
    `plan_return`), with no I/O. Raises what refuses it."""
    # Checked before the quantities, so a fully returned order answers 409 rather than 422.
    require_transition(order.status, OrderStatus.PARTIALLY_REFUNDED, action="return items of",
                       number=order.number)
    reason = cmd.reason.strip()
    if not reason:
        raise ValidationFailed("a return needs a reason", errors=[{"field": "reason", "message": "required"}])
    if not cmd.lines:
        raise ValidationFailed("a return needs lines", errors=[{"field": "lines", "message": "empty"}])
    requests = _return_requests(cmd.lines)
    sold = {ln.id: ln for ln in line_rows}
    if any(r.line_id not in sold for r in requests):
        raise ReturnExceedsSold("the return names a line that is not on this order", errors=[
            {"field": f"lines[{i}].line_id", "message": "not a line of this order"}
            for i, r in enumerate(requests) if r.line_id not in sold])
    aggregate = order_cases.order_from_rows(order, line_rows)
    return_id = uuid7()
    plan = plan_return(aggregate, requests, policy.returns, return_id=return_id, now=now, approval=approval,
                       rounding=policy.rounding, reason=reason)
    return_lines = [ReturnLineRow(id=uuid7(), return_id=return_id, order_line_id=rl.line_id, quantity=rl.quantity,
                                  restock=rl.disposition is Disposition.RESTOCK, refund_cents=rl.refund_cents)
                    for rl in plan.lines]
    restock = [StockMove(product_id=rl.product_id, sku=rl.sku, kind="return",
                         delta=stock_units(rl.quantity, sold[rl.line_id].weight_grams),
                         ref=return_id, reason=reason) for rl in plan.lines if rl.disposition is Disposition.RESTOCK]
    return PlannedReturn(plan=plan, order=aggregate, reason=reason, sold_lines=sold, return_lines=return_lines,
                         restock=restock)


def _exchange(uow: UnitOfWork, order: OrderRow, exchange: Exchange, planned: PlannedReturn, *,
              override_by: str | None, policy: order_cases.SalesPolicy) -> tuple[dict[str, Any], int]:
    """The new sale of an exchange, in this transaction: the refund pays for it first."""
    priced, _, _ = order_cases.build_lines(uow, exchange.lines, order_discount_cents=0, honour_lane_prices=False,
                                           policy=policy)
    credit = min(planned.plan.refund_cents, priced.total_cents)
    # The customer of the original sale carries over (so the new sale earns and shows in their
    # history), if this store still knows them: one erased or evicted since just means no link.
    customer_id = order.customer_id if order.customer_id and uow.customers.exists(order.customer_id) else None
    new_sale = Sale(lane_id=uow.actor.lane_id or order.lane_id, lines=exchange.lines, tenders=exchange.tenders,
                    customer_id=customer_id)
    view = order_cases.create_order(uow, new_sale, override_by=override_by, policy=policy, credit_cents=credit,
                                    exchange_of=planned.plan.return_id)
    return view, credit


def _persist_return(uow: UnitOfWork, order: OrderRow, planned: PlannedReturn,
                    exchange_view: dict[str, Any] | None, credit: int, *, override_by: str | None
                    ) -> tuple[list[PaymentRow], list[Movement]]:
    """Write the return, the returned quantities, the restock movements and the refunds of what
    the exchange did not spend; the order moves to PARTIALLY_REFUNDED or REFUNDED."""
    plan, orders = planned.plan, uow.orders
    orders.insert_return(ReturnRow(id=plan.return_id, order_id=order.id, reason=planned.reason,
                                   refund_cents=plan.refund_cents, fee_cents=plan.fee_cents,
                                   exchange_order_id=exchange_view["id"] if exchange_view else None,
                                   override_by=override_by, actor=uow.actor.username, created_at=uow.now),
                         planned.return_lines)
    loyalty.on_returned(uow, order, list(planned.sold_lines.values()), plan.return_id, plan.quantities)
    for line_id, quantity in plan.quantities.items():
        orders.add_returned(line_id, quantity)
    movements = append_movements(uow, order.store_id, planned.restock) if planned.restock else []
    owed = plan.refund_cents - credit
    refunds = _refund_rows(uow, order, owed, void=False, return_id=plan.return_id) if owed > 0 else []
    apply_return(planned.order, plan, at=parse_iso(uow.now))
    orders.update(order.id, {"status": planned.order.status.value,
                                "refunded_cents": order.refunded_cents + plan.refund_cents, "updated_at": uow.now})
    return refunds, movements


def _emit_return(uow: UnitOfWork, order: OrderRow, planned: PlannedReturn, refunds: list[PaymentRow],
                 movements: list[Movement], exchange_view: dict[str, Any] | None, credit: int, *,
                 override_by: str | None) -> dict[str, Any]:
    """Audit the return, tell the outbox (`return.created`), and answer with the return."""
    plan, sold, status = planned.plan, planned.sold_lines, planned.order.status.value
    order_id, return_id = order.id, plan.return_id
    uow.audit("return.created", "order", order_id, {"status": order.status},
              {"status": status, "return_id": return_id, "refund_cents": plan.refund_cents,
               "override_by": override_by})
    uow.emit("return.created", {"order_id": order_id, "return_id": return_id, "refund_cents": plan.refund_cents,
                                "fee_cents": plan.fee_cents, "credit_cents": credit, "reason": planned.reason,
                                "lines": [{"line_id": rl.order_line_id, "sku": sold[rl.order_line_id].sku,
                                           "name": sold[rl.order_line_id].name, "quantity": rl.quantity,
                                           "restock": rl.restock, "total_cents": rl.refund_cents}
                                          for rl in planned.return_lines],
                                "movements": movements,
                                "refunds": [{"payment_id": r.id, "method": r.method,
                                             "amount_cents": r.amount_cents} for r in refunds],
                                "exchange_order_id": exchange_view["id"] if exchange_view else None})
    return {"id": return_id, "order_id": order_id, "order_status": status, "reason": planned.reason,
            "refund_cents": plan.refund_cents, "fee_cents": plan.fee_cents, "credit_cents": credit,
            "lines": [{"id": rl.id, "order_line_id": rl.order_line_id, "quantity": rl.quantity, "restock": rl.restock,
                       "refund_cents": rl.refund_cents} for rl in planned.return_lines],
            "refunds": [order_cases.present_payment(r) for r in refunds], "movements": movements,
            "exchange_order": exchange_view, "created_at": uow.now}
