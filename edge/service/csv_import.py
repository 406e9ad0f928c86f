"""Reading an uploaded CSV file with bounded fields, for the catalog and stock imports.

Python's csv module refuses a field over 128 KiB with a bare `csv.Error`; its limit is
process-wide, so it is not raised here. Instead every field is held to `MAX_FIELD_CHARS`, and
a file that breaks either limit is refused with the row and the column to fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from edge.domain.errors import ValidationFailed

# The longest field an import needs is a product's attributes (4 KiB of JSON, see
# edge.domain.catalog.MAX_ATTRIBUTES_BYTES); twice that leaves room for CSV quoting.
MAX_FIELD_CHARS = 8 * 1024


class _Lines:
    """The file's lines, remembering those of the record being read (to locate a bad field)."""

    def __init__(self, text: str):
        self._lines = iter(io.StringIO(text))
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.record.append(line)
        return line


class BoundedCsv:
    """`csv.DictReader` over `text` that yields `(row_number, row)`; the header is row 1."""

    def __init__(self, text: str):
        self._lines = _Lines(text)
        self._reader = csv.reader(self._lines)
        self.fieldnames: list[str] = []
        header = self._next_record(1)
        if header is not None:
            self.fieldnames = header

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        row = 1
        while True:
            row += 1
            values = self._next_record(row)
            if values is None:
                return
            if not values:
                continue  # an empty line, as DictReader skips it
            yield row, dict(zip(self.fieldnames, values, strict=False))

    def _next_record(self, row: int) -> list[str] | None:
        self._lines.record = []
        try:
            values = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as err:
            column = _column_of_long_field("".join(self._lines.record))
            if column is None:
                raise _refuse(row, "file", f"the CSV cannot be read here ({err})") from None
            raise _refuse(row, self._name(column), f"longer than {MAX_FIELD_CHARS} characters") from None
        for index, value in enumerate(values):
            if len(value) > MAX_FIELD_CHARS:
                raise _refuse(row, self._name(index), f"longer than {MAX_FIELD_CHARS} characters")
        return values

    def _name(self, index: int) -> str:
        return self.fieldnames[index] if index < len(self.fieldnames) else f"column {index + 1}"


def _refuse(row: int, field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"row {row}, {field}: {message}; nothing was imported", code="csv-invalid",
                            errors=[{"row": row, "errors": [{"field": field, "message": message}]}])


def _column_of_long_field(record: str) -> int | None:
    """The 0-based column whose field runs past MAX_FIELD_CHARS in one raw record, if any.

    Stops at the first long field, so it reads at most the short fields before it plus
    MAX_FIELD_CHARS characters.
    """
    column = length = 0
    quoted = False
    for char in record:
        if char == '"':
            quoted = not quoted  # a doubled quote toggles twice: still inside
            continue
        if not quoted and char == ",":
            column, length = column + 1, 0
            continue
        length += 1
        if length > MAX_FIELD_CHARS:
            return column
    return None
