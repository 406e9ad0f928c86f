"""A product name can never become a live formula in a manager's spreadsheet (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from edge.contracts.spreadsheet import csv_writer, formula_cells, safe_cell

FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,1)", "@SUM(1,1)", "-1+1", "\t=1+1", "=HYPERLINK(\"http://x\",\"y\")"]


def _catalog_csv(tax: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sku", "name", "price_cents", "tax_category"])
    writer.writerow(["PLAIN-1", "Plain bread", "250", tax])
    for n, name in enumerate(FORMULAS):
        writer.writerow([f"FORMULA-{n}", name, "100", tax])
    return buffer.getvalue()


@pytest.fixture
def imported(client, as_user):
    manager = as_user("manager")
    tax = client.get("/api/v1/products?limit=1", headers=manager).json()["items"][0]["tax_category"]
    response = client.post("/api/v1/products/import", content=_catalog_csv(tax).encode(),
                           headers={**manager, "content-type": "text/csv"})
    assert response.status_code == 200, response.text
    return response.json()


def test_formula_names_import_with_one_warning_per_row(imported):
    assert imported["created"] == 1 + len(FORMULAS)
    flagged = {(w["row"], w["sku"], w["field"]) for w in imported["warnings"]}
    assert flagged == {(n + 3, f"FORMULA-{n}", "name") for n in range(len(FORMULAS))}
    assert all(w["code"] == "csv-formula" for w in imported["warnings"])


def test_the_stock_export_escapes_every_formula_cell(client, as_user, imported):
    response = client.get("/api/v1/inventory/export.csv", headers=as_user("manager"))
    assert response.status_code == 200
    rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(response.text))}
    for n, name in enumerate(FORMULAS):
        cell = rows[f"FORMULA-{n}"]["name"]
        assert cell.startswith("'"), cell  # a spreadsheet shows it as text
        assert cell[1:] == name.strip()
    assert rows["PLAIN-1"]["name"] == "Plain bread"
    assert rows["PLAIN-1"]["on_hand"].lstrip("-").isdigit()  # numbers stay numbers


def test_the_orders_export_goes_through_the_same_writer(client, as_user):
    response = client.get("/api/v1/orders/export.csv", headers=as_user("manager"))
    assert response.status_code == 200
    assert next(csv.reader(io.StringIO(response.text)))[:3] == ["id", "number", "status"]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+1", "@A1", "\t=1", "\r=1"])
def test_every_owasp_prefix_is_neutralised_and_quoted(value):
    buffer = io.StringIO()
    csv_writer(buffer).writerow([value, -5, "a,b"])
    cells = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert cells == ["'" + value, "-5", "a,b"]
    assert safe_cell(-5) == -5 and safe_cell("plain") == "plain"


def test_import_flags_only_text_a_spreadsheet_would_run():
    assert formula_cells({"name": "=1+1", "sku": "A-1", "price_cents": "100", "note": " @x"}) == ["name", "note"]
