"""Settlement reports and the payment rows a reconciliation compares (see `tables_settlement`)."""

from __future__ import annotations

import msgspec
from sqlalchemy import Connection, delete, insert, select

from edge.adapters.tables_sales import payments
from edge.adapters.tables_settlement import settlement_reports
from edge.service.ports import Actor
from edge.service.repository_ports import PaymentRow, SettlementReportRow

_PAYMENT_COLUMNS = [payments.c[name] for name in PaymentRow.__struct_fields__]
_REPORT_COLUMNS = [settlement_reports.c[name] for name in SettlementReportRow.__struct_fields__]


class SqlSettlementRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def payments_between(self, method: str, start: str, end: str) -> list[PaymentRow]:
        """The method's sale and refund rows created in [start, end) (UTC ISO 8601)."""
        rows = self.conn.execute(select(*_PAYMENT_COLUMNS).where(
            payments.c.tenant_id == self.tenant_id, payments.c.method == method,
            payments.c.created_at >= start, payments.c.created_at < end).order_by(payments.c.id)).mappings()
        return [PaymentRow(**r) for r in rows]

    def save_report(self, report: SettlementReportRow) -> None:
        """Replace the provider's report for that business day (a day is reconciled again when
        the provider's figures change)."""
        self.conn.execute(delete(settlement_reports).where(
            settlement_reports.c.tenant_id == self.tenant_id, settlement_reports.c.provider == report.provider,
            settlement_reports.c.business_day == report.business_day))
        self.conn.execute(insert(settlement_reports).values(tenant_id=self.tenant_id,
                                                            **msgspec.structs.asdict(report)))

    def reports(self, *, business_day: str | None, provider: str | None, limit: int) -> list[SettlementReportRow]:
        stmt = select(*_REPORT_COLUMNS).where(
            settlement_reports.c.tenant_id == self.tenant_id)
        if business_day:
            stmt = stmt.where(settlement_reports.c.business_day == business_day)
        if provider:
            stmt = stmt.where(settlement_reports.c.provider == provider)
        stmt = stmt.order_by(settlement_reports.c.business_day.desc(), settlement_reports.c.provider).limit(limit)
        return [SettlementReportRow(**r) for r in self.conn.execute(stmt).mappings()]
