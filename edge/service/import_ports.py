"""The port of catalog import jobs: the typed row and the repository the use cases read and write."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from edge.service.repository_ports import ProductRow


class ImportJobRow(msgspec.Struct, kw_only=True):
    """A catalog import job (its tenant is the repository's)."""

    id: str
    store_id: str | None
    status: str  # running | done | failed
    file_name: str
    rows_total: int
    rows_done: int
    created: int
    updated: int
    warnings: list[dict[str, Any]]
    actor_id: str | None
    actor: str
    created_at: str
    updated_at: str
    finished_at: str | None = None


class CatalogBulkRepository(Protocol):
    """Set-based catalog reads and writes for an import chunk."""

    def by_skus(self, skus: list[str]) -> dict[str, ProductRow]: ...
    def barcode_owners(self, barcodes: list[str]) -> dict[str, str]: ...
    def take_versions(self, n: int) -> int: ...
    def insert_many(self, rows: list[ProductRow]) -> None: ...
    def update_many(self, changes: list[tuple[str, dict[str, Any]]]) -> None: ...
    def replace_barcodes(self, barcodes: list[tuple[str, list[str]]]) -> None: ...


class ImportJobsRepository(Protocol):
    def get(self, job_id: str) -> ImportJobRow | None: ...
    def insert(self, job: ImportJobRow) -> None: ...
    def update(self, job_id: str, values: dict[str, Any]) -> None: ...
    def running(self) -> ImportJobRow | None: ...
