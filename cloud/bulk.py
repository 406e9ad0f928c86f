"""Multi-row INSERTs handed straight to the driver, for ingest's per-batch writes.

SQLAlchemy's executemany processes each row's parameters in Python (`construct_params`, a few
microseconds a row), and in a replication burst that was most of the cloud DB's work for the
event, sale, line, tender and stock-movement rows. A `BulkInsert` renders one
`INSERT ... VALUES (...), (...) [ON CONFLICT (...) DO NOTHING] [RETURNING ...]` per page of rows
in the dialect's own placeholders (`?` for sqlite3, `$n` for asyncpg) and runs it with
`exec_driver_sql`, in the caller's transaction. The table and column names come from the Core
`Table`, which stays the single definition of the schema.

Values go to the driver as they are: only plain columns (strings, integers, text) belong here,
exactly as they would be bound by SQLAlchemy's String/Integer types (which process nothing).
On Postgres the INSERT's target columns type the placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, String, Table, Text

_PLAIN = (String, Integer, BigInteger, Text)
MAX_PARAMS = 30_000  # below SQLite's 32,766 host parameters and Postgres's 32,767 per statement


class BulkInsert:
    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] = (),
        returning: str | None = None,
        update: Mapping[str, str] | None = None,
    ):
        """`update` turns the conflict clause into `DO UPDATE SET`: {column: "excluded"} takes the
        new row's value, {column: "add"} adds it to the stored one. A page must then not carry
        the same conflict key twice (Postgres refuses to update a row twice in one statement)."""
        for name in columns:
            if not isinstance(table.c[name].type, _PLAIN):
                raise TypeError(f"{table.name}.{name} is {table.c[name].type!r}: a BulkInsert runs no type processing")
        self.table = table
        self.columns = tuple(columns)
        self.conflict = tuple(conflict)
        self.returning = returning
        self.update = dict(update or {})
        if self.update and not self.conflict:
            raise ValueError("an upsert needs its conflict columns")
        for name, how in self.update.items():
            if how not in ("excluded", "add") or name not in self.columns:
                raise ValueError(f"cannot update {name!r} with {how!r}")
        self._sql_cache: dict[tuple[str, str, int], str] = {}
        self._row = itemgetter(*self.columns) if len(self.columns) > 1 else (lambda r: (r[self.columns[0]],))
        self.page = max(1, MAX_PARAMS // len(self.columns))

    def run(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Insert `rows` (dicts with at least `columns`); returns the `returning` column of the
        inserted rows (rows skipped by the conflict clause return nothing), else []."""
        if not rows:
            return []
        get = self._row
        out: list[Any] = []
        for start in range(0, len(rows), self.page):
            page = rows[start : start + self.page]
            params: list[Any] = []
            for row in page:
                params.extend(get(row))
            result = conn.exec_driver_sql(self._sql(conn, len(page)), tuple(params))
            if self.returning is not None:
                out.extend(r[0] for r in result)
        return out

    def _sql(self, conn: Connection, n: int) -> str:
        key = (conn.dialect.name, conn.dialect.paramstyle, n)
        sql = self._sql_cache.get(key)
        if sql is None:
            sql = self._render(conn, n)
            if len(self._sql_cache) < 256:  # a batch's row counts vary: keep the common ones
                self._sql_cache[key] = sql
        return sql

    def _render(self, conn: Connection, n: int) -> str:
        dialect = conn.dialect
        quote = dialect.identifier_preparer
        width = len(self.columns)
        if dialect.paramstyle == "qmark":
            group = "(" + ", ".join("?" * width) + ")"
            values = ", ".join([group] * n)
        elif dialect.paramstyle == "numeric_dollar":
            values = ", ".join(
                "(" + ", ".join(f"${i * width + j + 1}" for j in range(width)) + ")" for i in range(n)
            )
        else:  # pragma: no cover - the cloud runs on sqlite3 and asyncpg only
            raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
        # Names from the Table, quoted by the dialect; every value is a bound parameter.
        sql = (f"INSERT INTO {quote.format_table(self.table)} ({', '.join(quote.quote(c) for c in self.columns)}) "  # noqa: S608
               f"VALUES {values}")
        if self.conflict:
            sql += f" ON CONFLICT ({', '.join(quote.quote(c) for c in self.conflict)}) "
            if self.update:
                table = quote.format_table(self.table)
                sql += "DO UPDATE SET " + ", ".join(
                    f"{quote.quote(c)} = excluded.{quote.quote(c)}" if how == "excluded"
                    else f"{quote.quote(c)} = {table}.{quote.quote(c)} + excluded.{quote.quote(c)}"
                    for c, how in self.update.items()
                )
            else:
                sql += "DO NOTHING"
        if self.returning is not None:
            sql += f" RETURNING {quote.quote(self.returning)}"
        return sql
