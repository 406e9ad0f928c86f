"""Core statements compiled once and run straight on the SQLite driver connection.

For the checkout's hot statements SQLAlchemy's execution path (parameter processing, result
metadata, events) costs several times SQLite's own work. A `Prepared` keeps the Core construct
as the single definition of the SQL, compiles it once per dialect and set of parameter keys,
and hands the SQL string and positional values to the DBAPI connection of the same
`Connection`, so it runs in the same transaction (and savepoint) as everything else.

Only plain columns are allowed (strings, integers, booleans, text): nothing needs a type's
bind or result processing beyond what sqlite3 does itself (a bool is stored as 0/1, and reads
of boolean columns return 0/1, so callers convert). A JSON column may be written when it is
named in `json=`: its value is encoded here, as SQLAlchemy's JSON type would store it, except
that None is stored as SQL NULL. Every column with a Python-side default must be given: a
statement that would need SQLAlchemy to compute one is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

import msgspec
from sqlalchemy import JSON, Boolean, Connection, Integer, String, Text
from sqlalchemy.sql import ClauseElement

_PLAIN = (String, Integer, Boolean, Text)
_encode_json = msgspec.json.Encoder().encode


def _check_plain(statement: ClauseElement, json: tuple[str, ...]) -> None:
    table = getattr(statement, "table", None)
    columns = table.columns if table is not None else ()
    for column in columns:
        if column.key in json and isinstance(column.type, JSON):
            continue
        if not isinstance(column.type, _PLAIN):
            raise TypeError(f"{table.name}.{column.key} is {column.type!r}; a Prepared statement runs no type "
                            "processing")


# Rows per multi-row INSERT: bounds the distinct SQL texts (one per row count) that sqlite3's
# per-connection statement cache holds, and the bound parameters per statement.
ROWS_PER_STATEMENT = 32


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function from a row's parameters to its positional values, always a tuple: one
    `itemgetter` call instead of a Python loop over the names per row."""
    if len(names) == 1:
        name = names[0]
        return lambda params: (params[name],)
    if not names:
        return lambda params: ()
    return itemgetter(*names)


def _values_group(sql: str) -> tuple[str, str, str] | None:
    """(head, "(?, ?, …)", tail) of a single-row `INSERT … VALUES (?, …) [ON CONFLICT …]`, or
    None when the statement is anything else (then rows go through executemany)."""
    if not sql.startswith("INSERT") or " RETURNING " in sql:
        return None
    at = sql.find(" VALUES (")
    if at < 0:
        return None
    start = at + len(" VALUES ")
    end = sql.find(")", start) + 1
    group = sql[start:end]
    if not end or group.replace("?", "").replace(", ", "") != "()":
        return None
    return sql[:start], group, sql[end:]


_MAX_TEXTS = 256  # SQL texts kept per statement (IN lists come in many lengths)


def _bounded(texts: dict[tuple[str, Any], str], key: tuple[str, Any], text: str) -> str:
    """Keep `text` under `key`, forgetting them all once there are too many."""
    if len(texts) >= _MAX_TEXTS:
        texts.clear()
    texts[key] = text
    return text


class Prepared:
    def __init__(self, statement: ClauseElement, *, expanding: Sequence[str] = (), json: Sequence[str] = ()):
        self.json = tuple(json)  # JSON columns this statement writes; encoded before binding
        _check_plain(statement, self.json)
        self.statement = statement
        self.expanding = tuple(expanding)  # IN (...) parameters, given as lists
        self._compiled: dict[tuple[str, ...], tuple[Any, str, tuple[str, ...], dict[str, Any]]] = {}
        self._multi_row: dict[str, tuple[str, str, str] | None] = {}  # SQL -> its split VALUES group
        # The SQL text for a number of rows (multi-row INSERT) or of IN-list items (expanding),
        # built once and reused as the same str object: sqlite3 finds its cached statement by the
        # text, and a str built afresh per call is hashed afresh (a multi-row INSERT is 1-2 KB).
        self._texts: dict[tuple[str, Any], str] = {}
        # Per set of parameter keys: (dialect, SQL, values getter, literals), for a statement
        # without expanding parameters (every checkout statement): its hot path.
        self._fast: dict[tuple[str, ...], tuple[Any, str, Callable[[dict[str, Any]], tuple[Any, ...]],
                                                dict[str, Any]]] = {}

    def _fast_path(self, conn: Connection, keys: tuple[str, ...]
                   ) -> tuple[Any, str, Callable[[dict[str, Any]], tuple[Any, ...]], dict[str, Any]] | None:
        hit = self._fast.get(keys)
        if hit is not None and hit[0] is conn.dialect:
            return hit
        if self.expanding:
            return None
        dialect, sql, names, literals = self._compile(conn, keys)
        hit = self._fast[keys] = (dialect, sql, _getter(names), literals)
        return hit

    def _compile(self, conn: Connection, keys: tuple[str, ...]) -> tuple[Any, str, tuple[str, ...], dict[str, Any]]:
        hit = self._compiled.get(keys)
        if hit is not None and hit[0] is conn.dialect:
            return hit
        done = self.statement.compile(dialect=conn.dialect, column_keys=list(keys))
        if getattr(done, "insert_prefetch", None) or getattr(done, "update_prefetch", None):
            raise ValueError(f"give every defaulted column: {[c.key for c in done.insert_prefetch]}")
        sql = str(done)
        for name in self.expanding:  # rendered as a placeholder; expanded per call below
            sql = sql.replace(f"(__[POSTCOMPILE_{name}])", "(\x00" + name + "\x00)")
        literals = {name: bind.value for name, bind in done.binds.items() if name not in keys}
        hit = self._compiled[keys] = (conn.dialect, sql, tuple(done.positiontup or ()), literals)
        return hit

    def _encoded(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.json:
            return params
        params = dict(params)
        for name in self.json:
            value = params.get(name)
            if value is not None:
                params[name] = _encode_json(value).decode()
        return params

    def _sql_args(self, conn: Connection, params: dict[str, Any]) -> tuple[str, list[Any]]:
        params = self._encoded(params)
        _, sql, names, literals = self._compile(conn, tuple(params))
        values = literals | params if literals else params
        if not self.expanding:
            return sql, [values[n] for n in names]
        args: list[Any] = []
        lengths: list[int] = []
        for n in names:
            if n in self.expanding:
                items = list(values[n])
                if not items:
                    raise ValueError(f"{n}: an empty IN list")
                lengths.append(len(items))
                args.extend(items)
            else:
                args.append(values[n])
        key = (sql, tuple(lengths))
        expanded = self._texts.get(key)
        if expanded is None:
            expanded = sql
            for n, length in zip([n for n in names if n in self.expanding], lengths, strict=True):
                expanded = expanded.replace("(\x00" + n + "\x00)", "(" + ", ".join("?" * length) + ")", 1)
            expanded = _bounded(self._texts, key, expanded)
        return expanded, args

    def execute(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Run once; returns the sqlite3 cursor."""
        # The pool's `dbapi_connection` is a plain attribute, and for pysqlite the same object as
        # its `driver_connection` (two properties deep), read about fifteen times a checkout.
        fast = self._fast_path(conn, tuple(params))
        if fast is not None:
            _, sql, get, literals = fast
            params = self._encoded(params)
            return conn.connection.dbapi_connection.execute(sql, get(literals | params if literals else params))
        sql, args = self._sql_args(conn, params)
        return conn.connection.dbapi_connection.execute(sql, args)

    def execute_many(self, conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
        """Run for every row (rows share their keys).

        An INSERT goes as one multi-row `VALUES (…), (…)` statement per `ROWS_PER_STATEMENT`
        rows rather than an executemany: each sqlite3 step releases and retakes the GIL, and on
        the writer thread every retake waits for the event loop (a checkout's lines, stock
        movements and level bumps were nine steps; now three). Other statements run as an
        executemany.
        """
        rows = [self._encoded(r) for r in rows] if self.json else list(rows)
        if not rows:
            return
        keys = tuple(rows[0])
        fast = self._fast_path(conn, keys)
        if fast is not None:
            _, sql, get, literals = fast
            values: list[Any] = [get(literals | r) for r in rows] if literals else [get(r) for r in rows]
        else:
            _, sql, names, literals = self._compile(conn, keys)
            values = [[(literals | r)[n] for n in names] if literals else [r[n] for n in names] for r in rows]
        driver = conn.connection.dbapi_connection
        parts = self._multi_row.get(sql)
        if parts is None:
            parts = self._multi_row[sql] = _values_group(sql)
        if not parts or len(values) == 1:
            driver.executemany(sql, values)
            return
        head, group, tail = parts
        for start in range(0, len(values), ROWS_PER_STATEMENT):
            chunk = values[start:start + ROWS_PER_STATEMENT]
            key = (sql, len(chunk))
            text = self._texts.get(key)
            if text is None:
                text = _bounded(self._texts, key, head + ", ".join([group] * len(chunk)) + tail)
            driver.execute(text, [v for row in chunk for v in row])
