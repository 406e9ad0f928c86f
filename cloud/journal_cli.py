"""`novapos-cloud export-journal`: the accounting journal of one store's business day, from the
hub's database, as CSV or JSON on stdout or in a file. The same export as the HQ API's."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

EPILOG = """\
Exporting a day records it: exporting it again prints the same batches. Sales that reach HQ
after their day was exported (a lane that was offline) are never added to the past: the next
export of that store prints them as a correction batch of their own day, with its own id.

examples:
  novapos-cloud export-journal --tenant acme --store store-017 --business-day 2026-11-30
  novapos-cloud export-journal --tenant acme --store store-017 --business-day 2026-11-30 \\
      --format json --out journal-2026-11-30.json
"""


def add_parser(sub: argparse._SubParsersAction, db_url_help: str) -> None:
    p = sub.add_parser("export-journal", help="export a store's daily accounting journal (CSV or JSON)",
                       description="Export the accounting journal of one store and business day: sales net "
                                   "by tax rate and the tax, tenders by method, refunds and voids, cash over/"
                                   "short from till closes, and rounding, as balanced debit/credit entries.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tenant", required=True, help="the tenant that owns the store, e.g. acme")
    p.add_argument("--store", required=True, help="the store id, e.g. store-017")
    p.add_argument("--business-day", required=True, metavar="YYYY-MM-DD",
                   help="the store-local business day to export, e.g. 2026-11-30")
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="csv: one row per entry of every batch; json: the documented batch documents "
                        "(default: csv)")
    p.add_argument("--out", default="-", help="file to write (default: stdout)")
    p.add_argument("--actor", default="cli", help="who is recorded as having exported it (default: cli)")
    p.add_argument("--db-url", default=None, help=db_url_help)


def run(args: argparse.Namespace, default_db_url: str) -> int:
    from cloud.errors import InvalidInput
    from cloud.journal import check_day

    try:
        check_day(args.business_day)
    except InvalidInput as exc:
        print(f"novapos-cloud: error: {exc.detail}", file=sys.stderr)
        return 2
    result = asyncio.run(_export(args, args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or default_db_url))
    from cloud.journal import to_csv

    text = to_csv(result) if args.format == "csv" else json.dumps(result, indent=2, sort_keys=True) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(f"exported {len(result['batches'])} batch(es), new: {', '.join(result['new_batch_ids']) or 'none'}",
          file=sys.stderr)
    return 0


async def _export(args: argparse.Namespace, db_url: str) -> dict:
    from cloud import journal
    from cloud.clock import now_iso
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    db = CloudDB(db_url)
    try:
        await create_schema(db)
        return await db.write(journal.export, args.tenant, args.store, args.business_day, actor=args.actor,
                              now=now_iso(), tenant_id=args.tenant)
    finally:
        await db.close()
