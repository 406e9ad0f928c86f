"""A fake of Adyen's report download (Customer Area), serving Settlement details reports as CSV.

`GET /reports/download/MerchantAccount/<account>/<file>` with the report user's key in
`X-API-Key` answers the file's CSV, 401 with a wrong key, 404 for a file not published. The CSV
has the report's standard columns in Adyen's order; amounts are decimals in the gross currency,
dates `YYYY-MM-DD HH:MM:SS` in the account's time zone.
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import free_port

COLUMNS = ["Company Account", "Merchant Account", "Psp Reference", "Merchant Reference", "Payment Method",
           "Creation Date", "TimeZone", "Type", "Modification Reference", "Gross Currency", "Gross Debit (GC)",
           "Gross Credit (GC)", "Exchange Rate", "Net Currency", "Net Debit (NC)", "Net Credit (NC)",
           "Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)", "Payment Method Variant",
           "Modification Merchant Reference", "Batch Number", "Reserved4", "Reserved5", "Reserved6", "Reserved7",
           "Reserved8", "Reserved9", "Reserved10"]


def psp_reference() -> str:
    return f"{secrets.randbelow(10**16):016d}"


class FakeAdyenReports:
    def __init__(self, *, account: str, api_key: str, company: str = "NovaPOSCompany") -> None:
        self.account, self.api_key, self.company = account, api_key, company
        self.port = free_port()
        self.files: dict[str, list[dict[str, str]]] = {}
        self.downloads: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/reports/download/MerchantAccount/{self.account}/"

    def line(self, file: str, *, type: str, psp: str, merchant_ref: str, cents: int, at: datetime,
             modification: str = "", modification_merchant_ref: str = "", currency: str = "EUR",
             account: str | None = None) -> None:
        amount = str(Decimal(cents) / 100)
        fee = Decimal(cents) / 100 * Decimal("0.012")
        net = (Decimal(cents) / 100 - fee).quantize(Decimal("0.01"))
        credit = type == "Settled"
        self.files.setdefault(file, []).append({
            "Company Account": self.company, "Merchant Account": account or self.account, "Psp Reference": psp,
            "Merchant Reference": merchant_ref, "Payment Method": "visa",
            "Creation Date": at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), "TimeZone": "UTC", "Type": type,
            "Modification Reference": modification or psp, "Gross Currency": currency,
            "Gross Debit (GC)": "" if credit else amount, "Gross Credit (GC)": amount if credit else "",
            "Exchange Rate": "1", "Net Currency": currency, "Net Debit (NC)": "" if credit else str(net),
            "Net Credit (NC)": str(net) if credit else "", "Commission (NC)": str(fee.quantize(Decimal("0.01"))),
            "Markup (NC)": "", "Scheme Fees (NC)": "", "Interchange (NC)": "", "Payment Method Variant": "visacredit",
            "Modification Merchant Reference": modification_merchant_ref, "Batch Number": "42"})

    def fee_line(self, file: str) -> None:
        """A line that is not a capture or a refund (Adyen's fees are in the same report)."""
        self.files.setdefault(file, []).append({c: "" for c in COLUMNS} | {
            "Company Account": self.company, "Merchant Account": self.account, "Type": "Fee",
            "Creation Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "TimeZone": "UTC",
            "Gross Currency": "EUR", "Net Currency": "EUR", "Net Debit (NC)": "0.10",
            "Modification Reference": psp_reference()})

    def csv(self, file: str) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.files[file]:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
        return out.getvalue()

    def start(self) -> FakeAdyenReports:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                prefix = f"/reports/download/MerchantAccount/{fake.account}/"
                if self.headers.get("X-API-Key") != fake.api_key:
                    return self._send(401, "text/plain", "Unauthorized")
                name = self.path.removeprefix(prefix)
                if not self.path.startswith(prefix) or name not in fake.files:
                    return self._send(404, "text/plain", "Not Found")
                fake.downloads.append(name)
                return self._send(200, "text/csv", fake.csv(name))

            def _send(self, status: int, kind: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
