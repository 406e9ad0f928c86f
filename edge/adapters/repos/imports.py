"""Catalog import jobs, per tenant."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select, update

from edge.adapters.tables_imports import catalog_imports
from edge.service.import_ports import ImportJobRow
from edge.service.ports import Actor

_COLUMNS = [catalog_imports.c[name] for name in ImportJobRow.__struct_fields__]
_WARNINGS = msgspec.json.Decoder(list[dict[str, Any]])


def _row(mapping: Any) -> ImportJobRow:
    return ImportJobRow(**(dict(mapping) | {"warnings": _WARNINGS.decode(mapping["warnings"])}))


class SqlImportJobsRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def get(self, job_id: str) -> ImportJobRow | None:
        found = self.conn.execute(select(*_COLUMNS).where(
            catalog_imports.c.tenant_id == self.tenant_id, catalog_imports.c.id == job_id)).mappings().first()
        return _row(found) if found else None

    def insert(self, job: ImportJobRow) -> None:
        values = msgspec.structs.asdict(job)
        values["warnings"] = msgspec.json.encode(job.warnings).decode()
        self.conn.execute(insert(catalog_imports).values(tenant_id=self.tenant_id, **values))

    def update(self, job_id: str, values: dict[str, Any]) -> None:
        if "warnings" in values:
            values = values | {"warnings": msgspec.json.encode(values["warnings"]).decode()}
        self.conn.execute(update(catalog_imports).where(
            catalog_imports.c.tenant_id == self.tenant_id, catalog_imports.c.id == job_id).values(**values))

    def running(self) -> ImportJobRow | None:
        found = self.conn.execute(select(*_COLUMNS).where(
            catalog_imports.c.tenant_id == self.tenant_id, catalog_imports.c.status == "running")
            .order_by(catalog_imports.c.created_at).limit(1)).mappings().first()
        return _row(found) if found else None
