"""Catalog import jobs (migration 0006_catalog_import).

`catalog_imports`: one row per large catalog CSV import. The file itself is kept under the data
directory (owner-only) until the job ends; `rows_done` moves forward in the same transaction as
the products each chunk writes, so after a crash the job resumes after its last committed chunk.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from edge.adapters.tables import metadata

IMPORTS = {"migration": "0006_catalog_import"}

catalog_imports = Table(
    "catalog_imports",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),
    Column("status", String, nullable=False),  # running | done | failed
    Column("file_name", String, nullable=False),  # under <data_dir>/imports/, never a path from a client
    Column("rows_total", Integer, nullable=False),
    Column("rows_done", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("warnings", String, nullable=False),  # JSON list: formula cells, rows refused meanwhile
    Column("actor_id", String, nullable=True),  # who started it: the chunks' audit rows name them
    Column("actor", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("finished_at", String, nullable=True),
    Index("ix_catalog_imports_status", "status"),
    info=IMPORTS,
)
