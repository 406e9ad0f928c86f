"""CSV that is safe to open in a spreadsheet (OWASP "CSV injection").

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets: a product named `=HYPERLINK(...)` or `=cmd|' /C calc'!A0` runs
on the manager's desktop when they open the export. Every CSV export on the edge and the cloud
writes through `csv_writer`, which prefixes such cells with a single quote and quotes
properly; imports call `formula_cells` to warn about them.

Numbers are written as numbers: `-150` (a negative stock level) is data, not a formula, so only
text cells are escaped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def is_formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """`csv.writer` with every text cell escaped; the same writerow/writerows calls."""

    def __init__(self, stream: Any, **fmtparams: Any):
        self._writer = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any, **fmtparams: Any) -> SafeCsvWriter:
    return SafeCsvWriter(stream, **fmtparams)


def formula_cells(row: Mapping[str, Any]) -> list[str]:
    """The columns of an imported row whose text a spreadsheet would run as a formula."""
    return [name for name, value in row.items() if isinstance(value, str) and is_formula(value.lstrip(" "))]
