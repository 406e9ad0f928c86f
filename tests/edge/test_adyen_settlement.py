"""Card days reconciled against Adyen's Settlement details report: a store server process taking
card payments on a fake Adyen terminal, and a fake of Adyen's report download serving the CSV.
Each difference is one review case; a rerun adds none."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.settings import ConfigError, load_settings
from tests.edge.card_terminal_support import CardStore
from tests.fakes.adyen_reports import FakeAdyenReports, psp_reference
from tests.support import wait_until

REPORTS = "/api/v1/settlement/reports"
ACCOUNT = "NovaPOSStoreEUR"
REPORT_KEY = "AQEyhmfxK4-report-user-key-3c1d"
FILE = "settlement_detail_report_batch_42.csv"
EXE = Path(sys.executable).parent / "novapos-edge"


@pytest.fixture
def store(demo_template: Path, tmp_path: Path) -> Iterator[tuple[CardStore, FakeAdyenReports]]:
    reports = FakeAdyenReports(account=ACCOUNT, api_key=REPORT_KEY).start()
    card = CardStore(tmp_path, demo_template)
    (tmp_path / "credentials" / "adyen-report-key").write_text(REPORT_KEY + "\n")
    card.server.env.update({
        "NOVAPOS_PAYMENTS_ADYEN_REPORT_URL": reports.base + FILE,
        "NOVAPOS_PAYMENTS_ADYEN_REPORT_API_KEY_FILE": "adyen-report-key",
        "NOVAPOS_PAYMENTS_ADYEN_MERCHANT_ACCOUNT": ACCOUNT,
    })
    card.start()
    try:
        yield card, reports
    finally:
        card.stop()
        reports.stop()


def card_payment(order: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in order["tenders"] if t["method"] == "card")


def psp_of(card: CardStore, payment_id: str) -> str:
    """Adyen's PSP reference of a sale: the part after the dot of the terminal's POI TransactionID."""
    poi_id = next(poi for poi, t in card.fake.transactions.items() if t["ref"] == payment_id)
    return poi_id.split(".")[1]


def refund_psp_of(card: CardStore, refund_id: str) -> str:
    """A refund's own PSP reference: from the reversal's POI TransactionID the store kept for it."""
    with contextlib.closing(sqlite3.connect(f"file:{card.data_dir / 'store.db'}?mode=ro", uri=True)) as conn:
        [provider_ref] = conn.execute("SELECT provider_ref FROM payments WHERE id = ?", (refund_id,)).fetchone()
    return provider_ref.split(" ")[0].split(".")[1]


def settled(card: CardStore, reports: FakeAdyenReports, order: dict[str, Any], *, cents: int | None = None,
            merchant_ref: str | None = None) -> str:
    payment = card_payment(order)
    psp = psp_of(card, payment["id"])
    # Adyen settles a day or two later: the booking date is not the sale's day.
    reports.line(FILE, type="Settled", psp=psp, merchant_ref=payment["id"] if merchant_ref is None else merchant_ref,
                 cents=payment["amount_cents"] if cents is None else cents, at=datetime.now(UTC) + timedelta(days=2))
    return psp


def reconcile(card: CardStore, day: str):
    return card.call("POST", REPORTS, "manager", {"business_day": day, "provider": "adyen"}, idem=False)


def cases(card: CardStore) -> list[dict[str, Any]]:
    return card.call("GET", "/api/v1/reviews?kind=settlement_difference", "manager").json()["items"]


def test_a_day_adyen_settled_as_the_store_recorded_it_is_matched(store):
    card, reports = store
    sku = card.product(3)["sku"]
    a, b = card.card_sale(sku), card.card_sale(sku, 2)
    line = b["lines"][0]
    returned = card.call("POST", f"/api/v1/orders/{b['id']}/returns", "manager",
                         {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "unwanted"})
    assert returned.status_code == 201, returned.text
    b = wait_until(lambda: (o := card.order(b["id"]))["refunds"] and
                   all(r["status"] == "refunded" for r in o["refunds"]) and o, what="the refund settles")
    refund = b["refunds"][0]
    settled(card, reports, a)
    # A line without our merchant reference still finds its sale by the PSP reference.
    psp_b = settled(card, reports, b, merchant_ref="")
    reports.line(FILE, type="Refunded", psp=psp_b, merchant_ref=card_payment(b)["id"], cents=refund["amount_cents"],
                 modification=psp_reference(), modification_merchant_ref=refund["id"], at=datetime.now(UTC))
    reports.fee_line(FILE)
    # Another merchant account of the company is not this store's.
    reports.line(FILE, type="Settled", psp=psp_reference(), merchant_ref="other-shop-1", cents=999,
                 at=datetime.now(UTC), account="NovaPOSWebshop")

    # A refund line without our reference finds its refund by its own PSP reference.
    returned = card.call("POST", f"/api/v1/orders/{a['id']}/returns", "manager",
                         {"lines": [{"line_id": a["lines"][0]["id"], "quantity": 1}], "reason": "unwanted"})
    assert returned.status_code == 201, returned.text
    a = wait_until(lambda: (o := card.order(a["id"]))["refunds"] and
                   all(r["status"] == "refunded" for r in o["refunds"]) and o, what="the second refund settles")
    second = a["refunds"][0]
    reports.line(FILE, type="Refunded", psp=psp_of(card, card_payment(a)["id"]), merchant_ref=card_payment(a)["id"],
                 cents=second["amount_cents"], modification=refund_psp_of(card, second["id"]), at=datetime.now(UTC))

    answer = reconcile(card, a["business_day"])
    assert answer.status_code == 200, answer.text
    [report] = answer.json()["items"]
    assert report["provider"] == "adyen" and report["status"] == "matched", report
    assert report["captured_cents"] == report["provider_captured_cents"] == \
        card_payment(a)["amount_cents"] + card_payment(b)["amount_cents"]
    assert report["refunded_cents"] == report["provider_refunded_cents"] == \
        refund["amount_cents"] + second["amount_cents"]
    assert cases(card) == []
    assert reports.downloads == [FILE]
    listed = card.call("GET", f"{REPORTS}?business_day={a['business_day']}", "manager").json()
    assert "adyen" in listed["providers"] and [r["status"] for r in listed["items"]] == ["matched"]


def test_each_difference_with_adyen_is_one_review_case_and_a_rerun_adds_none(store):
    card, reports = store
    sku = card.product(4)["sku"]
    agreed, unsettled, corrected, refunded_there = (card.card_sale(sku) for _ in range(4))
    settled(card, reports, agreed)
    # `unsettled` never reaches Adyen's report: money the store counted that Adyen does not hold.
    settled(card, reports, corrected, cents=card_payment(corrected)["amount_cents"] - 150)
    psp = settled(card, reports, refunded_there)
    # Refunded in Adyen's Customer Area: the store never recorded it.
    reports.line(FILE, type="Refunded", psp=psp, merchant_ref=card_payment(refunded_there)["id"], cents=200,
                 modification=psp_reference(), at=datetime.now(UTC))

    report = reconcile(card, agreed["business_day"]).json()["items"][0]
    assert report["status"] == "differences"
    found = {(d["kind"], d["item"], d["ref"]): d for d in report["differences"]}
    assert set(found) == {("missing_at_provider", "capture", card_payment(unsettled)["id"]),
                          ("amount_differs", "capture", card_payment(corrected)["id"]),
                          ("missing_here", "refund", card_payment(refunded_there)["id"])}
    assert found[("amount_differs", "capture", card_payment(corrected)["id"])]["provider_cents"] == \
        card_payment(corrected)["amount_cents"] - 150
    assert found[("missing_here", "refund", card_payment(refunded_there)["id"])]["provider_cents"] == 200
    opened = cases(card)
    assert {c["id"] for c in opened} == {d["case_id"] for d in report["differences"]}
    assert {c["order_id"] for c in opened} == {unsettled["id"], corrected["id"], refunded_there["id"]}

    again = reconcile(card, agreed["business_day"]).json()["items"][0]
    assert len(again["differences"]) == 3 and all(d["case_id"] is None for d in again["differences"])
    assert len(cases(card)) == 3


def test_a_report_adyen_will_not_give_changes_nothing_and_says_why(store):
    card, reports = store
    order = card.card_sale(card.product(5)["sku"])
    answer = reconcile(card, order["business_day"])  # the batch file is not published yet
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "not published" in answer.json()["detail"]
    reports.files[FILE] = []
    reports.api_key = "a-revoked-key"
    answer = reconcile(card, order["business_day"])
    assert answer.status_code == 503 and "API key" in answer.json()["detail"]
    assert REPORT_KEY not in answer.text
    listed = card.call("GET", f"{REPORTS}?business_day={order['business_day']}", "manager").json()
    assert listed["items"] == [] and cases(card) == []


def adyen_env(tmp_path: Path) -> dict[str, str]:
    secrets_dir = tmp_path / "credentials"
    secrets_dir.mkdir(exist_ok=True)
    (secrets_dir / "adyen-passphrase").write_text("a passphrase\n")
    (secrets_dir / "adyen-report-key").write_text(REPORT_KEY + "\n")
    return {"NOVAPOS_DATA_DIR": str(tmp_path), "CREDENTIALS_DIRECTORY": str(secrets_dir),
            "NOVAPOS_PAYMENTS_CARD_PROVIDER": "adyen",
            "NOVAPOS_PAYMENTS_ADYEN_TERMINAL_URL": "https://192.168.1.40:8443/nexo",
            "NOVAPOS_PAYMENTS_ADYEN_POIID": "V400m-324688179", "NOVAPOS_PAYMENTS_ADYEN_KEY_IDENTIFIER": "key",
            "NOVAPOS_PAYMENTS_ADYEN_KEY_PASSPHRASE_FILE": "adyen-passphrase",
            "NOVAPOS_PAYMENTS_ADYEN_REPORT_URL":
                f"https://ca-live.adyen.com/reports/download/MerchantAccount/{ACCOUNT}/{FILE}",
            "NOVAPOS_PAYMENTS_ADYEN_REPORT_API_KEY_FILE": "adyen-report-key",
            "NOVAPOS_PAYMENTS_ADYEN_MERCHANT_ACCOUNT": ACCOUNT}


@pytest.mark.parametrize("missing", ["NOVAPOS_PAYMENTS_ADYEN_MERCHANT_ACCOUNT",
                                     "NOVAPOS_PAYMENTS_ADYEN_REPORT_API_KEY_FILE"])
def test_a_report_url_without_its_account_or_key_is_refused_naming_it(tmp_path, missing):
    env = adyen_env(tmp_path)
    del env[missing]
    with pytest.raises(ConfigError) as refused:
        load_settings(environ=env)
    assert "payments." + missing.removeprefix("NOVAPOS_PAYMENTS_").lower() in str(refused.value)
    assert "example" in str(refused.value)


def test_check_config_never_shows_the_report_key_or_a_password_in_the_url(tmp_path):
    env = adyen_env(tmp_path)
    env["NOVAPOS_PAYMENTS_ADYEN_REPORT_URL"] = env["NOVAPOS_PAYMENTS_ADYEN_REPORT_URL"].replace(
        "https://", "https://report_user:SENSITIVE-pw@")
    result = subprocess.run([str(EXE), "check-config"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    assert "adyen-report-key" in result.stdout and ACCOUNT in result.stdout
    assert REPORT_KEY not in result.stdout + result.stderr and "SENSITIVE" not in result.stdout + result.stderr


def test_report_dates_and_files_follow_adyens_time_zone_and_the_days_asked():
    from edge.adapters.payments.adyen_settlement import AdyenSettlement, booked_at

    # Adyen writes the account's time zone as an abbreviation, or an IANA name.
    assert booked_at("2026-11-30 00:30:00", "CET") == booked_at("2026-11-29 23:30:00", "UTC")
    assert booked_at("2026-07-01 12:00:00", "Europe/Amsterdam") == booked_at("2026-07-01 10:00:00", "GMT")
    assert booked_at("30/11/2026", "CET") is None

    async def resolve(refs: set[str], psps: set[str]) -> tuple[set[str], dict[str, str]]:
        return set(), {}

    source = AdyenSettlement(report_url="https://ca-live.adyen.com/reports/download/MerchantAccount/A/"
                             "received_payments_report_{date}.csv", api_key="k", merchant_account="A",
                             resolve=resolve)
    start = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # a Berlin business day from midnight
    assert [u.rsplit("/", 1)[1] for u in source.urls(start, start + timedelta(days=1))] == [
        "received_payments_report_2026_11_29.csv", "received_payments_report_2026_11_30.csv"]
