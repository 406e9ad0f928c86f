"""The accounting export: a daily journal per store and business day, balanced to the cent.

What a batch holds, all from the store events HQ ingested for that day:
- sales, net of tax and the tax, per tax rate (from each line of `order.completed`);
- voids and refunds, the same way (a void takes back its sale's lines; a return's lines carry
  their share of the original line's tax), and restocking fees kept;
- tenders per method, net (sales less voids and refunds, refunds paid in cash instead of card);
- cash over/short from each till's Z report (`till.closed`);
- rounding: whatever the money taken differs from what the lines add up to (normally 0),
  posted to its own account so the journal always balances.
The tender totals are HQ's own (`cloud.queries.tender_mix`, `sales_summary`) for that store and
day, because both read the same events with the same rules.

Exports are recorded (`journal_batches`, `journal_events`): the first export of a day is its
`original` batch; exporting again returns the same batches, unchanged. An event that arrives
after its day was exported (an offline sale replayed late) is never added to the past batch:
the next export, of any day of that store, records it in a new `correction` batch of that day.
"""

from __future__ import annotations

import datetime
import io
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, select

from cloud.errors import InvalidInput
from cloud.schema import events
from cloud.schema_journal import journal_batches, journal_events
from edge.contracts.spreadsheet import csv_writer

FORMAT = "novapos.journal/1"
JOURNAL_TYPES = ("order.completed", "order.voided", "return.created", "refund.settled_in_cash", "till.closed")
# Tender methods booked somewhere else than `tender:<method>` (any other method, known or not,
# gets its own `tender:<method>` account, so the journal still balances). Points are not money
# taken: redeeming them settles the loyalty liability the tenant carries for points earned, and
# the sale stays full-price revenue (a refund that restores points credits the liability back).
TENDER_ACCOUNTS = {"points": ("loyalty_liability", "loyalty points redeemed (the liability they settle)")}
CSV_COLUMNS = ("batch_id", "kind", "corrects", "store_id", "business_day", "currency", "account", "debit_cents",
               "credit_cents", "memo")


# -- exporting ----------------------------------------------------------------------------------------
def export(conn: Connection, tenant_id: str, store_id: str, business_day: str, *, actor: str, now: str
           ) -> dict[str, Any]:
    """Export one store's day: its batches (the original and any corrections), and correction
    batches for late events of days exported before. Runs in one transaction."""
    check_day(business_day)
    latest = (datetime.date.fromisoformat(now[:10]) + datetime.timedelta(days=1)).isoformat()
    if business_day > latest:  # a store ahead of UTC is at most a day ahead
        raise InvalidInput(f"business day {business_day} has not happened yet: export a day once it is over",
                           errors=[{"field": "business_day", "message": f"at most {latest}"}])
    created: list[dict[str, Any]] = []
    for day in _days_with_late_events(conn, tenant_id, store_id):
        created.append(_record(conn, tenant_id, store_id, day, actor=actor, now=now))
    if not _batches_of(conn, tenant_id, store_id, business_day):
        created.append(_record(conn, tenant_id, store_id, business_day, actor=actor, now=now))
    own = _batches_of(conn, tenant_id, store_id, business_day)
    others = [b for b in created if b["business_day"] != business_day]
    return {"format": FORMAT, "store_id": store_id, "business_day": business_day,
            "batches": [*others, *own], "new_batch_ids": [b["batch_id"] for b in created]}


def _record(conn: Connection, tenant_id: str, store_id: str, day: str, *, actor: str, now: str) -> dict[str, Any]:
    """Journal the day's events not yet in any batch as its next batch."""
    previous = _batches_of(conn, tenant_id, store_id, day)
    n = len(previous) + 1
    batch_id = f"J-{store_id}-{day}-{n:02d}"
    fresh = _unjournaled(conn, tenant_id, store_id, day)
    document = build(fresh, lambda order_id, same_day: _sale_of(conn, tenant_id, store_id, order_id,
                                                                  day if same_day else None))
    document = {"format": FORMAT, "batch_id": batch_id, "kind": "original" if n == 1 else "correction",
                "corrects": previous[0]["batch_id"] if previous else None, "tenant_id": tenant_id,
                "store_id": store_id, "business_day": day, "exported_at": now, **document}
    conn.execute(journal_batches.insert().values(tenant_id=tenant_id, batch_id=batch_id, store_id=store_id,
                                                 business_day=day, n=n, kind=document["kind"], exported_at=now,
                                                 exported_by=actor, document=document))
    if fresh:
        conn.execute(journal_events.insert(), [{"tenant_id": tenant_id, "event_id": e["event_id"],
                                                "batch_id": batch_id} for e in fresh])
    return document


def _batches_of(conn: Connection, tenant_id: str, store_id: str, day: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(journal_batches.c.document).where(
        journal_batches.c.tenant_id == tenant_id, journal_batches.c.store_id == store_id,
        journal_batches.c.business_day == day).order_by(journal_batches.c.n))
    return [r.document for r in rows]


def _unjournaled_query(tenant_id: str, store_id: str) -> Any:
    joined = events.outerjoin(journal_events, and_(journal_events.c.tenant_id == events.c.tenant_id,
                                                   journal_events.c.event_id == events.c.event_id))
    return joined, (events.c.tenant_id == tenant_id, events.c.store_id == store_id,
                    events.c.type.in_(JOURNAL_TYPES), journal_events.c.event_id.is_(None))


def _unjournaled(conn: Connection, tenant_id: str, store_id: str, day: str) -> list[dict[str, Any]]:
    joined, where = _unjournaled_query(tenant_id, store_id)
    rows = conn.execute(select(events.c.envelope).select_from(joined)
                        .where(*where, events.c.business_day == day).order_by(events.c.seq))
    return [json.loads(r.envelope) for r in rows]


def _days_with_late_events(conn: Connection, tenant_id: str, store_id: str) -> list[str]:
    exported = select(journal_batches.c.business_day).where(journal_batches.c.tenant_id == tenant_id,
                                                            journal_batches.c.store_id == store_id)
    joined, where = _unjournaled_query(tenant_id, store_id)
    rows = conn.execute(select(events.c.business_day).select_from(joined)
                        .where(*where, events.c.business_day.in_(exported)).distinct()
                        .order_by(events.c.business_day))
    return [r.business_day for r in rows]


def _sale_of(conn: Connection, tenant_id: str, store_id: str, order_id: str, day: str | None
             ) -> dict[str, Any] | None:
    """The `order.completed` payload of a sale (on `day` only, when given: a void is same-day)."""
    q = select(events.c.envelope).where(events.c.tenant_id == tenant_id, events.c.store_id == store_id,
                                        events.c.type == "order.completed",
                                        events.c.envelope.contains(order_id, autoescape=True))  # narrows the scan
    if day is not None:
        q = q.where(events.c.business_day == day)
    for row in conn.execute(q):
        payload = json.loads(row.envelope).get("payload") or {}
        if str(payload.get("order_id") or payload.get("id") or "") == order_id:
            return payload
    return None


# -- the journal of a set of events (pure) ---------------------------------------------------------------
class _Rates:
    """Net and tax per (rate, category), signed."""

    def __init__(self) -> None:
        self.by: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, rate: int | None, category: str, gross: int, tax: int, sign: int) -> None:
        entry = self.by[(rate, category)]
        entry[0] += sign * (gross - tax)
        entry[1] += sign * tax

    def rows(self) -> list[dict[str, Any]]:
        return [{"tax_rate_bp": rate, "tax_category": cat, "net_cents": net, "tax_cents": tax,
                 "gross_cents": net + tax}
                for (rate, cat), (net, tax) in sorted(self.by.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1]))]

    def gross(self) -> int:
        return sum(net + tax for net, tax in self.by.values())


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _line_rate(line: dict[str, Any]) -> tuple[int | None, str]:
    rate = line.get("tax_rate_bp")
    return (rate if isinstance(rate, int) else None), str(line.get("tax_category") or "")


def build(envelopes: list[dict[str, Any]], sale_of: Any) -> dict[str, Any]:
    """The journal of these events. `sale_of(order_id, same_day)` finds a sale's payload."""
    sales, voided, returned = _Rates(), _Rates(), _Rates()
    tenders: dict[str, int] = defaultdict(int)
    counts = {"sales": 0, "voids": 0, "refunds": 0}
    fees = 0
    tills: list[dict[str, Any]] = []
    currency = None
    for env in envelopes:
        p, kind = env.get("payload") or {}, env.get("type")
        currency = currency or p.get("currency")
        if kind == "order.completed":
            counts["sales"] += 1
            for line in p.get("lines") or []:
                sales.add(*_line_rate(line), _int(line.get("total_cents")), _int(line.get("tax_cents")), 1)
            for t in p.get("tenders") or []:
                tenders[str(t.get("method") or "unknown")] += _int(t.get("amount_cents"))
        elif kind == "order.voided":
            sale = sale_of(str(p.get("order_id") or ""), True)
            if sale is None:
                continue  # never completed, never counted: nothing to take back (as at HQ)
            counts["voids"] += 1
            currency = currency or sale.get("currency")
            for line in sale.get("lines") or []:
                voided.add(*_line_rate(line), _int(line.get("total_cents")), _int(line.get("tax_cents")), 1)
            for t in sale.get("tenders") or []:
                tenders[str(t.get("method") or "unknown")] -= _int(t.get("amount_cents"))
        elif kind == "return.created":
            counts["refunds"] += 1
            sale = sale_of(str(p.get("order_id") or ""), False) or {}
            sold = {str(ln.get("line_id") or ln.get("id")): ln for ln in sale.get("lines") or []}
            for line in p.get("lines") or []:
                original = sold.get(str(line.get("line_id")), {})
                gross = _int(line.get("total_cents"))
                whole, whole_tax = _int(original.get("total_cents")), _int(original.get("tax_cents"))
                tax = (2 * whole_tax * gross + whole) // (2 * whole) if whole else 0  # its share, half up
                returned.add(*_line_rate(original), gross, tax, 1)
            fees += _int(p.get("fee_cents"))
            for r in p.get("refunds") or []:
                tenders[str(r.get("method") or "unknown")] -= _int(r.get("amount_cents"))
            if _int(p.get("credit_cents")):
                tenders["exchange_credit"] -= _int(p.get("credit_cents"))
        elif kind == "refund.settled_in_cash":
            for r in p.get("refunds") or []:
                tenders[str(r.get("replaced_method") or "unknown")] += _int(r.get("amount_cents"))
                tenders["cash"] -= _int(r.get("amount_cents"))
        elif kind == "till.closed":
            tills.append({k: p.get(k) for k in ("session_id", "lane_id", "expected_cents", "counted_cents",
                                                 "variance_cents")})
    takings = sum(tenders.values())
    revenue = sales.gross() - voided.gross() - returned.gross() + fees
    rounding = takings - revenue
    over_short = sum(_int(t["variance_cents"]) for t in tills)
    return {
        "currency": currency,
        "events": len(envelopes),
        "sales": sales.rows(),
        "voids": {"count": counts["voids"], "by_rate": voided.rows(), "gross_cents": voided.gross()},
        "refunds": {"count": counts["refunds"], "by_rate": returned.rows(), "gross_cents": returned.gross(),
                    "fees_cents": fees, "refunded_cents": returned.gross() - fees},
        "tenders": [{"method": m, "amount_cents": a} for m, a in sorted(tenders.items()) if a],
        "cash_over_short": {"total_cents": over_short, "tills": tills},
        "rounding_cents": rounding,
        "totals": {"sales": counts["sales"], "takings_cents": takings, "revenue_cents": revenue},
        "entries": _entries(sales, voided, returned, fees, tenders, over_short, rounding),
    }


def _entries(sales: _Rates, voided: _Rates, returned: _Rates, fees: int, tenders: dict[str, int],
             over_short: int, rounding: int) -> list[dict[str, Any]]:
    """Double entry: money taken on the debit side, what it was for on the credit side."""
    out: list[dict[str, Any]] = []

    def post(account: str, debit: int, memo: str) -> None:
        if debit:
            out.append({"account": account, "debit_cents": max(debit, 0), "credit_cents": max(-debit, 0),
                        "memo": memo})

    for method, amount in sorted(tenders.items()):
        account, memo = TENDER_ACCOUNTS.get(method, (f"tender:{method}", f"takings by {method}"))
        post(account, amount, memo)
    post("tender:cash", over_short, "cash over (+) or short (-) at till close")
    net: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0, 0])
    for rates, sign in ((sales, 1), (voided, -1), (returned, -1)):
        for key, (n, t) in rates.by.items():
            net[key][0] += sign * n
            net[key][1] += sign * t
    for (rate, cat), (n, t) in sorted(net.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        label = f"{rate}bp" if rate is not None else f"category:{cat}"
        post(f"sales:{label}", -n, f"net sales at {label}, less voids and refunds")
        post(f"tax:{label}", -t, f"tax at {label}, less voids and refunds")
    post("restocking_fees", -fees, "restocking fees kept on returns")
    post("cash_over_short", -over_short, "till count differences")
    post("rounding", -rounding, "money taken beyond the lines' totals")
    return out


# -- formats ------------------------------------------------------------------------------------------------
def to_csv(result: dict[str, Any]) -> str:
    """One row per journal entry of every batch, batch columns repeated (spreadsheet-safe)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for b in result["batches"]:
        for e in b["entries"]:
            writer.writerow([b["batch_id"], b["kind"], b["corrects"] or "", b["store_id"], b["business_day"],
                             b["currency"] or "", e["account"], e["debit_cents"], e["credit_cents"], e["memo"]])
    return buffer.getvalue()


def check_day(business_day: str) -> str:
    try:
        datetime.date.fromisoformat(business_day)
    except ValueError:
        raise InvalidInput("business_day must be a date like 2026-11-30",
                           errors=[{"field": "business_day", "message": "YYYY-MM-DD"}]) from None
    return business_day

