"""`python -m edge.adapters.migrations <db> [revision]`: the upgrade `serve` runs in a child
process, so the server itself never imports Alembic. Prints one JSON line: {"backup": path|null}."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edge.adapters.migrations import migrate


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print("usage: python -m edge.adapters.migrations <database file> [revision]", file=sys.stderr)
        return 2
    try:
        backup = migrate(Path(argv[0]), revision=argv[1] if len(argv) > 1 else "head")
    except Exception as err:  # the parent shows the last stderr line to the technician
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"backup": backup}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
