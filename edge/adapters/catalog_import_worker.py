"""A large catalog CSV is parsed and validated in a child process, not in the server's.

Parsing and checking 100,000 rows is seconds of pure Python; on a reader thread of the server it
held the GIL that the event loop needs to answer the lanes (a lookup's p99 went from a few ms to
over 150 ms while a file was validated). The child opens the store's SQLite file read-only on its
own connection, runs the very same `validate_catalog_csv`, and hands back the rows msgpack-encoded
in blocks: the server keeps ~100 bytes objects instead of 100,000 structs (less memory on a Pi),
receives them with a copy, and each chunk of the import decodes only the block it applies.

The child is spawned for one file and exits after it (`max_tasks_per_child=1`), so it holds no
memory between imports; spawning costs about half a second of imports, on the other core.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import msgspec

from edge.adapters.child_process import in_child
from edge.domain.errors import ValidationFailed
from edge.service.catalog import CsvProduct, parse_catalog_csv, validate_catalog_csv
from edge.service.ports import Actor

BLOCK_ROWS = 1_000  # rows per encoded block: a chunk decodes one or two blocks
_encode = msgspec.msgpack.Encoder().encode
_decode_rows = msgspec.msgpack.Decoder(list[CsvProduct]).decode


class EncodedRows(Sequence[CsvProduct]):
    """The rows of a validated file as msgpack blocks, decoded a block at a time when sliced."""

    def __init__(self, blocks: list[bytes], count: int):
        self.blocks = blocks
        self.count = count
        self._cached: tuple[int, list[CsvProduct]] = (-1, [])

    @classmethod
    def of(cls, rows: list[CsvProduct]) -> EncodedRows:
        return cls([_encode(rows[i:i + BLOCK_ROWS]) for i in range(0, len(rows), BLOCK_ROWS)], len(rows))

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, index: int) -> CsvProduct: ...

    @overload
    def __getitem__(self, index: slice) -> list[CsvProduct]: ...

    def __getitem__(self, index: int | slice) -> CsvProduct | list[CsvProduct]:
        if isinstance(index, int):
            if index < 0:
                index += self.count
            if not 0 <= index < self.count:
                raise IndexError(index)
            return self._block(index // BLOCK_ROWS)[index % BLOCK_ROWS]
        start, stop, step = index.indices(self.count)
        if step != 1:
            raise ValueError("only contiguous slices")
        out: list[CsvProduct] = []
        at = start
        while at < stop:
            number = at // BLOCK_ROWS
            first = number * BLOCK_ROWS
            out += self._block(number)[at - first:stop - first]
            at = first + BLOCK_ROWS
        return out

    def _block(self, number: int) -> list[CsvProduct]:
        if self._cached[0] != number:
            self._cached = (number, _decode_rows(self.blocks[number]))
        return self._cached[1]


async def validate_in_child(db_path: Path, actor: Actor, text: str) -> EncodedRows:
    """`validate_catalog_csv` on the store's file, in a child process; raises the same
    ValidationFailed (every bad row) when the file is refused."""
    outcome = await in_child(_validate, str(db_path), actor, text)
    if outcome[0] == "invalid":
        _, detail, code, errors = outcome
        raise ValidationFailed(detail, code=code, errors=errors)
    _, blocks, count = outcome
    return EncodedRows(blocks, count)


async def parse_in_child(text: str) -> EncodedRows:
    """The rows of a file validated when its job was created (resuming a job)."""
    blocks, count = await in_child(_parse, text)
    return EncodedRows(blocks, count)


# -- in the child ---------------------------------------------------------------------------------
def _validate(db_path: str, actor: Actor, text: str) -> tuple[Any, ...]:
    from edge.adapters.db import make_engine
    from edge.adapters.uow import SqlUnitOfWork

    engine = make_engine(Path(db_path), writer=False)
    try:
        with engine.connect() as conn, conn.begin():
            try:
                rows = validate_catalog_csv(SqlUnitOfWork(conn, actor), text)
            except ValidationFailed as err:
                # Plain values back across the pipe: the exception's own pickling drops its fields.
                return ("invalid", err.detail, err.code, err.errors)
    finally:
        engine.dispose()
    encoded = EncodedRows.of(rows)
    return ("ok", encoded.blocks, encoded.count)


def _parse(text: str) -> tuple[list[bytes], int]:
    encoded = EncodedRows.of(parse_catalog_csv(text)[0])
    return encoded.blocks, encoded.count
